/* mock_iommu.c — mock IOMMU instances and paging domains: glue over io_pgtable.c (the tables)
 * and iotlb.c (the cache). API and contracts in mock_iommu.h.
 *
 * Owns: per instance, a copy of its caps (name included), its IOTLB and its domain ID space
 * (IDs 1..MOCK_DOMAIN_ID_MAX, a bitmap); per domain, its page table and IOTLB counters.
 *
 * Translation: IOTLB lookup first. On a miss the tables are walked (setting the accessed bit,
 * and dirty for writes when the domain tracks dirtiness) and the leaf is inserted, all under the
 * IOTLB lock so an invalidation cannot slip between walk and fill. On a hit the cached
 * translation is used — even if the tables changed since, as hardware would — and it is
 * compared with a software walk outside the lock: a mismatch (leaf gone, other output address
 * or other permissions) counts a stale hit. Permission checks use the translation that is used.
 *
 * Conventions where mock_iommu.h leaves room: pgsize_mask 0 in mock_domain_map means "the
 * domain's bitmap"; a mask without 4K requires alignment to its smallest size. unmap of a range
 * that is not 4K aligned, empty or wrapping removes nothing (returns 0); a range running past the
 * aperture is clamped. The PASID is only an IOTLB tag (not checked against pasid_bits).
 * mock_domain_table_pages() counts the tables in the tree; tables retired when a huge leaf
 * replaced an empty subtree sit on a spare list (reused first, freed with the domain).
 * Dirty tracking: the tables and the walk support it (io_pgtable.h); nothing in mock_iommu.h
 * switches it on yet.
 *
 * Locking: map/unmap/iotlb_sync/flush_all/free of one domain are serialised by the caller.
 * Translations may run on any threads concurrently (IOTLB lock per instance; table walks are
 * lock-free). Domain allocation and free take the instance's id_lock. */
#include "mock_iommu.h"

#include "common/alloc.h"
#include "common/compiler.h"
#include "common/overflow.h"
#include "io_pgtable.h"
#include "iotlb.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#define MOCK_DOMAIN_ID_MAX 65535u
#define MOCK_SUPPORTED_PGSIZES (SZ_4K | SZ_2M | SZ_1G)

struct mock_iommu {
	struct mock_iommu_caps caps;
	char name[32];
	struct iotlb *tlb;
	pthread_mutex_t id_lock;
	uint32_t id_hint;
	uint32_t ndomains;
	uint64_t id_map[(MOCK_DOMAIN_ID_MAX + 1) / 64];   /* bit n: ID n in use; ID 0 reserved */
};

struct mock_domain {
	struct io_pgtable pt;
	struct mock_iommu *iommu;
	struct iotlb *tlb;
	uint32_t id;
	uint64_t pgsize_bitmap;
	struct mock_iotlb_stats stats;   /* updated under the IOTLB lock */
};

/* ---- instances ------------------------------------------------------------------------------ */

int mock_iommu_create(const struct mock_iommu_caps *caps, struct mock_iommu **out)
{
	struct mock_iommu *iommu;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!caps)
		return -EINVAL;
	if (!(caps->pgsize_bitmap & SZ_4K) || (caps->pgsize_bitmap & ~MOCK_SUPPORTED_PGSIZES))
		return -EINVAL;
	if (caps->ias_bits != 39 && caps->ias_bits != 48 && caps->ias_bits != 57)
		return -EINVAL;
	if (caps->pasid_bits > 20)
		return -EINVAL;

	iommu = ioasid_zalloc(sizeof(*iommu));
	if (!iommu)
		return -ENOMEM;
	iommu->caps = *caps;
	strncpy(iommu->name, caps->name ? caps->name : "iommu", sizeof(iommu->name) - 1);
	iommu->caps.name = iommu->name;
	ret = iotlb_create(caps->iotlb_sets, caps->iotlb_ways, &iommu->tlb);
	if (ret) {
		ioasid_free(iommu);
		return ret;
	}
	iommu->caps.iotlb_sets = iotlb_sets(iommu->tlb);
	iommu->caps.iotlb_ways = iotlb_ways(iommu->tlb);
	pthread_mutex_init(&iommu->id_lock, NULL);
	iommu->id_map[0] = 1;   /* ID 0 is never handed out */
	iommu->id_hint = 1;
	*out = iommu;
	return 0;
}

void mock_iommu_destroy(struct mock_iommu *iommu)
{
	if (!iommu)
		return;
	iotlb_destroy(iommu->tlb);
	pthread_mutex_destroy(&iommu->id_lock);
	ioasid_free(iommu);
}

const struct mock_iommu_caps *mock_iommu_caps(const struct mock_iommu *iommu)
{
	return &iommu->caps;
}

/* ---- domain IDs ----------------------------------------------------------------------------- */

static int domain_id_alloc(struct mock_iommu *iommu, uint32_t *id)
{
	int ret = -ENOSPC;

	pthread_mutex_lock(&iommu->id_lock);
	for (uint32_t n = 0; n < MOCK_DOMAIN_ID_MAX; n++) {
		uint32_t cand = (iommu->id_hint - 1 + n) % MOCK_DOMAIN_ID_MAX + 1;
		uint64_t bit = 1ULL << (cand % 64);

		if (iommu->id_map[cand / 64] & bit)
			continue;
		iommu->id_map[cand / 64] |= bit;
		iommu->id_hint = cand % MOCK_DOMAIN_ID_MAX + 1;
		iommu->ndomains++;
		*id = cand;
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&iommu->id_lock);
	return ret;
}

static void domain_id_free(struct mock_iommu *iommu, uint32_t id)
{
	pthread_mutex_lock(&iommu->id_lock);
	iommu->id_map[id / 64] &= ~(1ULL << (id % 64));
	iommu->ndomains--;
	pthread_mutex_unlock(&iommu->id_lock);
}

/* ---- paging domains ------------------------------------------------------------------------- */

int mock_domain_alloc_paging(struct mock_iommu *iommu, uint64_t pgsize_bitmap,
			     struct mock_domain **out)
{
	struct mock_domain *dom;
	uint64_t sizes;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!iommu)
		return -EINVAL;
	sizes = (pgsize_bitmap ? pgsize_bitmap : iommu->caps.pgsize_bitmap) &
		iommu->caps.pgsize_bitmap;
	if (!(sizes & SZ_4K))
		return -EINVAL;

	dom = ioasid_zalloc(sizeof(*dom));
	if (!dom)
		return -ENOMEM;
	ret = io_pgtable_init(&dom->pt, iommu->caps.ias_bits, sizes);
	if (ret) {
		ioasid_free(dom);
		return ret;
	}
	ret = domain_id_alloc(iommu, &dom->id);
	if (ret) {
		io_pgtable_destroy(&dom->pt);
		ioasid_free(dom);
		return ret;
	}
	dom->iommu = iommu;
	dom->tlb = iommu->tlb;
	dom->pgsize_bitmap = sizes;
	*out = dom;
	return 0;
}

void mock_domain_free(struct mock_domain *dom)
{
	if (!dom)
		return;
	iotlb_drop_domain(dom->tlb, &dom->stats, dom->id);
	io_pgtable_destroy(&dom->pt);
	domain_id_free(dom->iommu, dom->id);
	ioasid_free(dom);
}

uint64_t mock_domain_pgsize_bitmap(const struct mock_domain *dom)
{
	return dom->pgsize_bitmap;
}

uint64_t mock_domain_aperture_start(const struct mock_domain *dom)
{
	return 0;
}

uint64_t mock_domain_aperture_end(const struct mock_domain *dom)
{
	return dom->pt.aperture_end;
}

uint32_t mock_domain_id(const struct mock_domain *dom)
{
	return dom->id;
}

uint64_t mock_domain_table_pages(const struct mock_domain *dom)
{
	return dom->pt.table_pages;
}

int mock_domain_map(struct mock_domain *dom, uint64_t iova, uint64_t paddr, uint64_t len,
		    int prot, uint64_t pgsize_mask)
{
	return io_pgtable_map(&dom->pt, iova, paddr, len, prot, pgsize_mask);
}

/* ---- unmap and invalidation ----------------------------------------------------------------- */

void mock_iotlb_gather_init(struct mock_iotlb_gather *g)
{
	g->start = UINT64_MAX;
	g->end = 0;
	g->pgsize = 0;
}

uint64_t mock_domain_unmap(struct mock_domain *dom, uint64_t iova, uint64_t len,
			   struct mock_iotlb_gather *gather)
{
	struct pt_unmap_span span;
	uint64_t n;

	if (!gather)
		return io_pgtable_unmap(&dom->pt, iova, len, NULL);
	span.first = gather->start;
	span.last = gather->end;
	span.max_pgsize = gather->pgsize;
	n = io_pgtable_unmap(&dom->pt, iova, len, &span);
	gather->start = span.first;
	gather->end = span.last;
	gather->pgsize = span.max_pgsize;
	return n;
}

void mock_domain_iotlb_sync(struct mock_domain *dom, struct mock_iotlb_gather *gather)
{
	if (!gather)
		return;
	if (gather->start <= gather->end)
		iotlb_inval_range(dom->tlb, &dom->stats, dom->id, dom->pgsize_bitmap,
				  gather->start, gather->end);
	mock_iotlb_gather_init(gather);
}

void mock_domain_flush_all(struct mock_domain *dom)
{
	iotlb_inval_domain(dom->tlb, &dom->stats, dom->id);
}

/* ---- translation ---------------------------------------------------------------------------- */

int mock_domain_iova_to_phys(struct mock_domain *dom, uint64_t iova, uint64_t *paddr,
			     int *prot, uint64_t *leaf_size)
{
	struct pt_leaf leaf;

	if (io_pgtable_lookup(&dom->pt, iova, &leaf))
		return -ENOENT;
	if (paddr)
		*paddr = leaf.paddr + (iova - leaf.iova);
	if (prot)
		*prot = leaf.prot;
	if (leaf_size)
		*leaf_size = leaf.size;
	return 0;
}

#define PROT_RW (MOCK_PROT_READ | MOCK_PROT_WRITE)

int mock_domain_translate(struct mock_domain *dom, uint32_t pasid, uint64_t iova,
			  enum mock_dma_dir dir, uint64_t *paddr, bool *stale,
			  struct mock_fault *fault)
{
	enum mock_fault_reason reason;
	struct iotlb_xlate x;
	struct pt_leaf leaf;
	bool hit, is_stale = false;
	const bool write = dir == MOCK_DMA_WRITE;

	if (stale)
		*stale = false;
	if (unlikely(iova > dom->pt.aperture_end)) {
		reason = MOCK_FAULT_OUT_OF_RANGE;
		goto fault;
	}

	iotlb_lock(dom->tlb);
	hit = iotlb_lookup_locked(dom->tlb, &dom->stats, dom->id, pasid, iova, dom->pgsize_bitmap,
				  &x);
	if (!hit) {
		if (io_pgtable_walk_hw(&dom->pt, iova, write, &leaf)) {
			iotlb_unlock(dom->tlb);
			reason = MOCK_FAULT_NOT_PRESENT;
			goto fault;
		}
		x.iova = leaf.iova;
		x.paddr = leaf.paddr;
		x.shift = (unsigned int)__builtin_ctzll(leaf.size);
		x.prot = leaf.prot;
		iotlb_insert_locked(dom->tlb, &dom->stats, dom->id, pasid, &x);
	}
	iotlb_unlock(dom->tlb);

	if (hit) {
		/* Compare the cached answer with the tables (a write walks as hardware would so
		 * that the dirty bit is set even when the translation came from the IOTLB). */
		int r = (write && dom->pt.dirty_tracking) ?
				io_pgtable_walk_hw(&dom->pt, iova, true, &leaf) :
				io_pgtable_lookup(&dom->pt, iova, &leaf);

		if (r || leaf.paddr + (iova - leaf.iova) != x.paddr + (iova - x.iova) ||
		    (leaf.prot & PROT_RW) != (x.prot & PROT_RW)) {
			is_stale = true;
			iotlb_count_stale(dom->tlb, &dom->stats);
		}
		if (stale)
			*stale = is_stale;
	}

	if (unlikely(!(x.prot & (write ? MOCK_PROT_WRITE : MOCK_PROT_READ)))) {
		reason = MOCK_FAULT_PERMISSION;
		goto fault;
	}
	*paddr = x.paddr + (iova - x.iova);
	return 0;

fault:
	if (fault) {
		fault->iova = iova;
		fault->pasid = pasid;
		fault->dir = dir;
		fault->reason = reason;
	}
	return -EFAULT;
}

int mock_domain_dma(struct mock_domain *dom, uint32_t pasid, uint64_t iova, void *buf,
		    size_t len, enum mock_dma_dir dir, struct mock_fault *fault)
{
	unsigned char *b = buf;

	while (len) {
		size_t chunk = (size_t)(SZ_4K - (iova & (SZ_4K - 1)));
		uint64_t pa;
		int ret;

		if (chunk > len)
			chunk = len;
		ret = mock_domain_translate(dom, pasid, iova, dir, &pa, NULL, fault);
		if (ret)
			return ret;
		if (dir == MOCK_DMA_WRITE)
			memcpy((void *)(uintptr_t)pa, b, chunk);
		else
			memcpy(b, (const void *)(uintptr_t)pa, chunk);
		b += chunk;
		iova += chunk;   /* cannot wrap: IOVAs past the aperture fault first */
		len -= chunk;
	}
	return 0;
}

void mock_domain_iotlb_stats(const struct mock_domain *dom, struct mock_iotlb_stats *out)
{
	iotlb_read_stats(dom->tlb, &dom->stats, out);
}
