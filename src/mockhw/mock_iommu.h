/* mock_iommu.h — the mock IOMMU hardware: instances, paging domains with real multi-level page
 * tables, an IOTLB that caches translations until someone invalidates them, and a DMA entry
 * point that translates like a device's requests would.
 *
 * "Physical" addresses in the mock are host virtual addresses of this process: a DMA that
 * translates to paddr P reads or writes the bytes at (void *)P. Contiguity is therefore VA
 * contiguity; callers that want base-page mappings restrict the leaf sizes (pgsize_mask).
 *
 * Ownership: the caller (the reference module) serialises map/unmap on one domain; translation
 * (mock_domain_dma / mock_domain_translate) may run concurrently with other translations but the
 * caller must not unmap concurrently with DMA to the same range (as in hardware, the result of
 * such a race is whatever the IOTLB held).
 *
 * Split of work: src/mockhw/io_pgtable.c (page tables), src/mockhw/iotlb.c (the cache),
 * src/mockhw/mock_iommu.c (instances, domains, translation glue).
 */
#ifndef IOASID_MOCKHW_MOCK_IOMMU_H
#define IOASID_MOCKHW_MOCK_IOMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Protection bits of a mapping (the kernel's IOMMU_READ/IOMMU_WRITE/IOMMU_CACHE values). */
#define MOCK_PROT_READ  (1 << 0)
#define MOCK_PROT_WRITE (1 << 1)
#define MOCK_PROT_CACHE (1 << 2)

/* DMA direction for translation. */
enum mock_dma_dir { MOCK_DMA_READ = 0, MOCK_DMA_WRITE = 1 };

/* Why a translation failed (an IO page fault). */
enum mock_fault_reason {
	MOCK_FAULT_NONE = 0,
	MOCK_FAULT_NOT_PRESENT,     /* no leaf for the IOVA */
	MOCK_FAULT_PERMISSION,      /* leaf lacks READ (for MOCK_DMA_READ) or WRITE */
	MOCK_FAULT_OUT_OF_RANGE,    /* IOVA beyond the domain's input address width */
};

struct mock_fault {
	uint64_t iova;
	uint32_t pasid;
	enum mock_dma_dir dir;
	enum mock_fault_reason reason;
};

/* Capabilities of one IOMMU instance. */
struct mock_iommu_caps {
	const char *name;          /* e.g. "iommu0" */
	uint64_t pgsize_bitmap;    /* leaf sizes the hardware supports: subset of 4K|2M|1G, 4K required */
	unsigned int ias_bits;     /* IOVA width: 39 (3 levels) or 48 (4 levels) or 57 (5 levels) */
	unsigned int pasid_bits;   /* 0: no PASID support */
	bool nesting;
	bool dirty_tracking;
	unsigned int iotlb_sets;   /* IOTLB geometry: sets x ways entries (0: defaults 64 x 8) */
	unsigned int iotlb_ways;
};

struct mock_iommu;
struct mock_domain;

/* Gather of ranges to invalidate after unmaps, like the kernel's iommu_iotlb_gather.
 * Initialise with mock_iotlb_gather_init(); mock_domain_unmap() extends it; the caller then
 * calls mock_domain_iotlb_sync() — or deliberately does not (bug injection). */
struct mock_iotlb_gather {
	uint64_t start;            /* first IOVA gathered; start > end means empty */
	uint64_t end;              /* last IOVA gathered (inclusive) */
	uint64_t pgsize;           /* largest leaf size unmapped */
};
void mock_iotlb_gather_init(struct mock_iotlb_gather *g);

/* IOTLB statistics (per domain). */
struct mock_iotlb_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t stale_hits;       /* hits whose cached translation no longer matches the tables */
	uint64_t invalidations;    /* invalidation requests (range or full) */
	uint64_t entries_dropped;  /* entries removed by those requests */
	uint64_t entries;          /* entries currently cached for the domain */
};

/* ---- instances ------------------------------------------------------------------------------ */
int mock_iommu_create(const struct mock_iommu_caps *caps, struct mock_iommu **out);
void mock_iommu_destroy(struct mock_iommu *iommu);   /* all its domains must be freed first */
const struct mock_iommu_caps *mock_iommu_caps(const struct mock_iommu *iommu);

/* ---- paging domains ------------------------------------------------------------------------- */
/* pgsize_bitmap: leaf sizes this domain may use (0: all the instance supports); it is
 * intersected with the instance's bitmap and must keep 4K. -EINVAL otherwise, -ENOMEM. */
int mock_domain_alloc_paging(struct mock_iommu *iommu, uint64_t pgsize_bitmap,
			     struct mock_domain **out);
void mock_domain_free(struct mock_domain *dom);       /* drops its IOTLB entries too */

uint64_t mock_domain_pgsize_bitmap(const struct mock_domain *dom);
uint64_t mock_domain_aperture_start(const struct mock_domain *dom); /* 0 */
uint64_t mock_domain_aperture_end(const struct mock_domain *dom);   /* 2^ias_bits - 1 */
uint32_t mock_domain_id(const struct mock_domain *dom);             /* hardware domain ID, >= 1 */

/* Map [iova, iova + len) to [paddr, paddr + len) with prot. iova, paddr and len must be 4K
 * aligned. Uses the largest leaves allowed by (pgsize_mask & domain bitmap) and by the common
 * alignment of iova and paddr. All-or-nothing: -EEXIST if any part is already mapped,
 * -EINVAL for misalignment or a range outside the aperture, -ENOMEM (allocation of a table
 * failed; nothing is left mapped). Intermediate tables are kept until the domain is freed. */
int mock_domain_map(struct mock_domain *dom, uint64_t iova, uint64_t paddr, uint64_t len,
		    int prot, uint64_t pgsize_mask);

/* Remove leaves covering [iova, iova + len). Returns the bytes unmapped. A leaf that starts
 * before iova or ends after the range is removed whole and counted whole (VT-d/AMD semantics).
 * Holes are skipped. Does NOT touch the IOTLB: the unmapped range is added to `gather`. */
uint64_t mock_domain_unmap(struct mock_domain *dom, uint64_t iova, uint64_t len,
			   struct mock_iotlb_gather *gather);

/* Invalidate the IOTLB for the gathered range of this domain (all PASIDs), then reset gather. */
void mock_domain_iotlb_sync(struct mock_domain *dom, struct mock_iotlb_gather *gather);
/* Invalidate every IOTLB entry of this domain. */
void mock_domain_flush_all(struct mock_domain *dom);

/* Software page walk, no IOTLB: 0 and the translation, or -ENOENT. */
int mock_domain_iova_to_phys(struct mock_domain *dom, uint64_t iova, uint64_t *paddr,
			     int *prot, uint64_t *leaf_size);

/* Translate one access as hardware would: IOTLB first, page walk on a miss (which fills the
 * IOTLB). Returns 0 with *paddr, or -EFAULT with *fault filled. *stale (may be NULL) is set
 * when the IOTLB answered with a translation that the tables no longer hold. */
int mock_domain_translate(struct mock_domain *dom, uint32_t pasid, uint64_t iova,
			  enum mock_dma_dir dir, uint64_t *paddr, bool *stale,
			  struct mock_fault *fault);

/* DMA of len bytes at iova: MOCK_DMA_READ copies memory -> buf, MOCK_DMA_WRITE buf -> memory,
 * translating every page it crosses. Stops at the first fault: -EFAULT, *fault filled, bytes
 * before the faulting page already transferred. */
int mock_domain_dma(struct mock_domain *dom, uint32_t pasid, uint64_t iova, void *buf,
		    size_t len, enum mock_dma_dir dir, struct mock_fault *fault);

void mock_domain_iotlb_stats(const struct mock_domain *dom, struct mock_iotlb_stats *out);

/* Number of page-table pages the domain holds (root included). */
uint64_t mock_domain_table_pages(const struct mock_domain *dom);

#endif
