/* iotlb.h — private to src/mockhw: the set-associative IOTLB of one mock IOMMU instance.
 *
 * Entries are tagged by (domain ID, PASID, IOVA >> leaf shift, leaf shift) and hold the leaf's
 * output address, permissions and A/D state flags. The set index depends on (domain ID, IOVA
 * page, shift) only, so an invalidation of a domain's range (one or all PASIDs) can probe exactly
 * the sets involved. A nested domain's entries are combined (stage 1 + stage 2) translations
 * tagged with the nested domain's own ID.
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

#define IOTLB_PASID_ANY    MOCK_PASID_ANY

/* State flags of a cached translation (what the walk that filled it left in the tables). */
#define IOTLB_F_S2_DIRTY   (1u << 0)   /* the (stage-2 / paging) leaf has D set */
#define IOTLB_F_S1_DIRTY   (1u << 1)   /* nested: the stage-1 leaf has D set */
#define IOTLB_F_S1_RO      (1u << 2)   /* nested: stage 1 forbids writes (fault reason) */

struct iotlb;
struct iotlb_entry;

/* One cached translation: the whole leaf (for a nested domain: the largest block that is
 * contiguous in both stages). */
struct iotlb_xlate {
	uint64_t iova;          /* first IOVA of the leaf */
	uint64_t paddr;         /* first output address of the leaf */
	unsigned int shift;     /* log2 of the leaf size: 11..30 */
	int prot;               /* MOCK_PROT_* */
	unsigned int flags;     /* IOTLB_F_* */
};

/* sets, ways: 0 selects the default; -EINVAL when sets * ways > IOTLB_MAX_ENTRIES; -ENOMEM.
 * event_iommu: the instance's identity in the IOTLB_INV events this IOTLB raises. */
int iotlb_create(unsigned int sets, unsigned int ways, uint32_t event_iommu, struct iotlb **out);
void iotlb_destroy(struct iotlb *tlb);
unsigned int iotlb_sets(const struct iotlb *tlb);
unsigned int iotlb_ways(const struct iotlb *tlb);

void iotlb_lock(struct iotlb *tlb);
void iotlb_unlock(struct iotlb *tlb);

/* Under iotlb_lock(). Look up iova for (domid, pasid), probing the leaf sizes in `sizes`
 * (smallest first); counts a hit or a miss in *st. A hit refreshes the entry's LRU age and
 * returns the way (valid until the lock is dropped), a miss NULL. */
struct iotlb_entry *iotlb_lookup_locked(struct iotlb *tlb, struct mock_iotlb_stats *st,
					uint32_t domid, uint32_t pasid, uint64_t iova,
					uint64_t sizes, struct iotlb_xlate *out);
/* Under iotlb_lock(). Insert (evicting the least recently used way of the set if full). The
 * tag must not be cached already (insert after a miss under the same lock hold). */
void iotlb_insert_locked(struct iotlb *tlb, struct mock_iotlb_stats *st, uint32_t domid,
			 uint32_t pasid, const struct iotlb_xlate *x);
/* Under iotlb_lock(). Replace what way w (from iotlb_lookup_locked) caches for (domid, pasid)
 * with x, or drop it when x is NULL. */
void iotlb_replace_locked(struct iotlb *tlb, struct iotlb_entry *w, struct mock_iotlb_stats *st,
			  uint32_t domid, uint32_t pasid, const struct iotlb_xlate *x);

/* These take the lock themselves. pasid may be IOTLB_PASID_ANY. Each is one invalidation the
 * hardware performs and raises one IOTLB_INV event (after dropping the lock) with `reason`
 * (enum ioasid_inv_reason) and the number of entries it dropped. */
/* Drop the domain's entries of pasid intersecting [first, last]; one invalidation. */
void iotlb_inval_range(struct iotlb *tlb, struct mock_iotlb_stats *st, uint32_t domid,
		       uint32_t pasid, uint64_t sizes, uint64_t first, uint64_t last,
		       unsigned int reason);
/* Drop every entry of the domain for pasid; one invalidation. */
void iotlb_inval_domain(struct iotlb *tlb, struct mock_iotlb_stats *st, uint32_t domid,
			uint32_t pasid, unsigned int reason);
/* Drop every entry of the domain without counting it in the statistics (domain teardown);
 * the event says IOASID_INV_DOMAIN_FREE. */
void iotlb_drop_domain(struct iotlb *tlb, struct mock_iotlb_stats *st, uint32_t domid);
void iotlb_count_stale(struct iotlb *tlb, struct mock_iotlb_stats *st);
void iotlb_read_stats(struct iotlb *tlb, const struct mock_iotlb_stats *st,
		      struct mock_iotlb_stats *out);

#endif
