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
	MOCK_FAULT_BLOCKED,         /* no context/PASID entry: the device's DMA is blocked */
	MOCK_FAULT_S1_NOT_PRESENT,  /* nested: stage-1 entry not present */
	MOCK_FAULT_S1_PERMISSION,   /* nested: stage-1 entry forbids the access */
	MOCK_FAULT_S1_WALK,         /* nested: a stage-1 table read faulted in stage 2 */
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
	/* Input aperture [aperture_start, aperture_last]; both 0: [0, 2^ias_bits - 1]. The kernel
	 * selftest's mock IOMMU uses [1 << 24, (1 << 31) - 1]. */
	uint64_t aperture_start, aperture_last;
	/* The instance's identity in events (the `iommu` field of include/ioasid/event.h): the
	 * platform IOMMU index + 1, MOCK_IOMMU_EVENT_SELFTEST, or MOCK_IOMMU_EVENT_CTX_TEST | the
	 * context's cookie for a context's own test instance. 0: anonymous (unit tests). */
	uint32_t event_id;
};

/* Identities of the instances that are not platform IOMMUs (documented in event.h). */
#define MOCK_IOMMU_EVENT_SELFTEST 1001u          /* the kernel selftest's mock IOMMU */
#define MOCK_IOMMU_EVENT_CTX_TEST 0x80000000u    /* | ctx cookie: ioasid_test_domain_attach */

/* A granule smaller than the CPU page: pgsize_bitmap may use SZ_2K as its lowest bit instead of
 * SZ_4K (the kernel selftest's mock IOMMU, MOCK_IO_PAGE_SIZE = PAGE_SIZE / 2). The granule is
 * the lowest set bit; the radix keeps 9 bits per level, so 2K-granule leaves are 2K, 1M, 512M. */
#define SZ_2K_MOCK 0x800ULL

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

/* ---- allocation flags ------------------------------------------------------------------------
 * MOCK_DOMAIN_NEST_PARENT: may serve as stage 2 of nested domains (needs caps.nesting).
 * MOCK_DOMAIN_DIRTY: dirty tracking can be enabled (needs caps.dirty_tracking).
 * -EOPNOTSUPP when the instance lacks the capability. */
#define MOCK_DOMAIN_NEST_PARENT (1u << 0)
#define MOCK_DOMAIN_DIRTY       (1u << 1)
int mock_domain_alloc_paging_flags(struct mock_iommu *iommu, uint64_t pgsize_bitmap,
				   unsigned int flags, struct mock_domain **out);

/* ---- nesting: a stage-1 table owned by the guest, walked by the hardware ------------------------
 * MOCK_S1_VTD is the x86-64 first-stage format VT-d uses for nested translation (what a guest's
 * vIOMMU driver writes; IOMMU_HWPT_DATA_VTD_S1 describes it): 4-level (addr_width 48) or
 * 5-level (57) tables of 8-byte entries: P bit 0, R/W bit 1, U/S bit 2, A bit 5, D bit 6,
 * PS bit 7 (2M/1G leaves), address bits 12..51, XD bit 63. Table addresses are guest physical
 * (= IOVA of the stage-2 parent): every read of a stage-1 entry is itself translated by stage 2,
 * and a stage-2 fault during the walk is reported as such. The walk sets A (and D on a write)
 * in the guest's entries, as hardware does. The IOTLB caches the combined translation, tagged
 * (nested domain, PASID): a guest that edits its table sees the old translation until it
 * invalidates (mock_domain_iotlb_invalidate), and the stale hit is counted. An unmap in the
 * parent invalidates the parent's entries and every entry of its nested children. */
enum mock_s1_format { MOCK_S1_VTD = 1 };
struct mock_s1_config {
	enum mock_s1_format format;
	uint64_t pgtbl_addr;       /* GPA of the stage-1 root table (4K aligned) */
	unsigned int addr_width;   /* 48 or 57 */
	bool write_protect;        /* WPE: honour R/W=0 for supervisor requests too */
};
/* -EINVAL (bad config, parent not a NEST_PARENT domain), -ENOMEM. */
int mock_domain_alloc_nested(struct mock_domain *parent, const struct mock_s1_config *cfg,
			     struct mock_domain **out);
bool mock_domain_is_nested(const struct mock_domain *dom);
struct mock_domain *mock_domain_parent(const struct mock_domain *dom);   /* NULL if not nested */

/* Invalidate cached translations of [iova, iova + len) for one PASID (MOCK_PASID_ANY: all), or
 * everything when len == UINT64_MAX. Used for the guest's stage-1 invalidations (HWPT_INVALIDATE):
 * its IOTLB_INV event says reason IOASID_INV_USER. (A PASID-table entry change invalidates
 * through mock_dev_set_domain, reason IOASID_INV_PASID_ENTRY.) */
#define MOCK_PASID_ANY UINT32_MAX
void mock_domain_iotlb_invalidate(struct mock_domain *dom, uint32_t pasid, uint64_t iova,
				  uint64_t len);

/* ---- dirty tracking (second-stage A/D bits) ---------------------------------------------------
 * With tracking enabled, a DMA write sets D in the leaf it goes through (also on an IOTLB hit: an
 * entry cached without D makes the hardware re-walk to set it, as VT-d does). Disabled: D is
 * never set. -EOPNOTSUPP if the domain was not allocated with MOCK_DOMAIN_DIRTY. */
int mock_domain_set_dirty_tracking(struct mock_domain *dom, bool enable);
bool mock_domain_dirty_tracking(const struct mock_domain *dom);
/* Report every dirty leaf intersecting [iova, iova + len) through fn (leaf IOVA and size,
 * clipped to the range), clearing D unless no_clear (and dropping the IOTLB entries of cleared
 * leaves so the next write marks them again). Returns 0 or -errno. */
int mock_domain_read_and_clear_dirty(struct mock_domain *dom, uint64_t iova, uint64_t len,
				     bool no_clear,
				     void (*fn)(void *arg, uint64_t iova, uint64_t len), void *arg);
/* Mark the leaf holding iova dirty, as a device write would (selftest IOMMU_TEST_OP_DIRTY).
 * -ENOENT if nothing is mapped there. Works whether or not tracking is enabled. */
int mock_domain_set_dirty(struct mock_domain *dom, uint64_t iova);

/* ---- IO page faults --------------------------------------------------------------------------
 * A domain with a fault handler reports translation faults to it (a device with PRI sending a
 * page request) before mock_domain_translate/dma return -EFAULT. The handler returns 0 when it
 * queued the request (translate then returns -EAGAIN: the device waits for the response). */
typedef int (*mock_fault_handler_t)(void *arg, const struct mock_fault *fault);
void mock_domain_set_fault_handler(struct mock_domain *dom, mock_fault_handler_t fn, void *arg);

/* ---- devices: context entries and PASID tables --------------------------------------------------
 * What the IOMMU holds per requester ID: a context entry (the RID's domain) and, for a
 * PASID-capable device, a PASID table (PASID -> domain). No entry = DMA blocked (fault
 * MOCK_FAULT_BLOCKED). Changing an entry flushes the PASID cache and the IOTLB for that
 * (domain, PASID), as a driver must. PASID 0 (MOCK_PASID_RID) is the RID's entry. */
#define MOCK_PASID_RID 0u
struct mock_dev;
int mock_dev_create(struct mock_iommu *iommu, uint32_t rid, unsigned int pasid_bits,
		    struct mock_dev **out);
void mock_dev_destroy(struct mock_dev *dev);          /* entries must be cleared first */
/* The device's identity in events that the hardware raises for its DMA (IOTLB_STALE_HIT): the
 * `dev` field and the name (copied, truncated to 15 characters). Default: 0 and "". Set it
 * before the device does DMA. */
void mock_dev_set_event_ident(struct mock_dev *dev, uint32_t event_dev, const char *name);
/* dom NULL clears the entry. -EINVAL: pasid >= 2^pasid_bits (or pasid != 0 without PASID),
 * or dom belongs to another instance. */
int mock_dev_set_domain(struct mock_dev *dev, uint32_t pasid, struct mock_domain *dom);
struct mock_domain *mock_dev_domain(const struct mock_dev *dev, uint32_t pasid);
/* DMA as this device (tagged with pasid): -EFAULT with *fault (reason MOCK_FAULT_BLOCKED when
 * there is no entry), -EAGAIN when a fault handler queued a page request. */
int mock_dev_dma(struct mock_dev *dev, uint32_t pasid, uint64_t iova, void *buf, size_t len,
		 enum mock_dma_dir dir, struct mock_fault *fault);

/* Number of page-table pages the domain holds (root included). */
uint64_t mock_domain_table_pages(const struct mock_domain *dom);

#endif
