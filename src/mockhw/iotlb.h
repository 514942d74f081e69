/* iotlb.h — private to src/mockhw: the set-associative IOTLB of one mock IOMMU instance.
 *
 * Entries are tagged by (domain ID, PASID, IOVA >> leaf shift, leaf shift) and hold the leaf's
 * output address and permissions. The set index depends on (domain ID, IOVA page, shift) only,
 * so an invalidation of a domain's range (all PASIDs) can probe exactly the sets involved.
 * Per-domain counters live in the domain (struct mock_iotlb_stats) and are updated under the
 * IOTLB lock; every entry points to the counters of its domain so that an eviction by another
 * domain keeps `entries` exact. */
#ifndef IOASID_MOCKHW_IOTLB_H
#define IOASID_MOCKHW_IOTLB_H

#include <stdbool.h>
#include <stdint.h>

#include "mock_iommu.h"

#define IOTLB_DEFAULT_SETS 64u
#define IOTLB_DEFAULT_WAYS 8u
#define IOTLB_MAX_ENTRIES  (1u << 20)

struct iotlb;

/* One cached translation: the whole leaf. */
struct iotlb_xlate {
	uint64_t iova;          /* first IOVA of the leaf */
	uint64_t paddr;         /* first output address of the leaf */
	unsigned int shift;     /* 12, 21 or 30 */
	int prot;               /* MOCK_PROT_* */
};

/* sets, ways: 0 selects the default; -EINVAL when sets * ways > IOTLB_MAX_ENTRIES; -ENOMEM. */
int iotlb_create(unsigned int sets, unsigned int ways, struct iotlb **out);
void iotlb_destroy(struct iotlb *tlb);
unsigned int iotlb_sets(const struct iotlb *tlb);
unsigned int iotlb_ways(const struct iotlb *tlb);

void iotlb_lock(struct iotlb *tlb);
void iotlb_unlock(struct iotlb *tlb);

/* Under iotlb_lock(). Look up iova for (domid, pasid), probing the leaf sizes in `sizes`
 * (smallest first); counts a hit or a miss in *st. A hit refreshes the entry's LRU age. */
bool iotlb_lookup_locked(struct iotlb *tlb, struct mock_iotlb_stats *st, uint32_t domid,
			 uint32_t pasid, uint64_t iova, uint64_t sizes, struct iotlb_xlate *out);
/* Under iotlb_lock(). Insert (evicting the least recently used way of the set if full). */
void iotlb_insert_locked(struct iotlb *tlb, struct mock_iotlb_stats *st, uint32_t domid,
			 uint32_t pasid, const struct iotlb_xlate *x);

/* These take the lock themselves. */
/* Drop the domain's entries intersecting [first, last], all PASIDs; one invalidation. */
void iotlb_inval_range(struct iotlb *tlb, struct mock_iotlb_stats *st, uint32_t domid,
		       uint64_t sizes, uint64_t first, uint64_t last);
/* Drop every entry of the domain; one invalidation. */
void iotlb_inval_domain(struct iotlb *tlb, struct mock_iotlb_stats *st, uint32_t domid);
/* Drop every entry of the domain without counting (domain teardown). */
void iotlb_drop_domain(struct iotlb *tlb, struct mock_iotlb_stats *st, uint32_t domid);
void iotlb_count_stale(struct iotlb *tlb, struct mock_iotlb_stats *st);
void iotlb_read_stats(struct iotlb *tlb, const struct mock_iotlb_stats *st,
		      struct mock_iotlb_stats *out);

#endif
