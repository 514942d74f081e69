/* mock_iommu.c — mock IOMMU instances and domains: glue over io_pgtable.c (the tables),
 * iotlb.c (the cache) and s1_walk.c (the stage-1 format of nested domains). API and contracts in
 * mock_iommu.h; structures and the domain lifetime rules in mock_private.h.
 *
 * Owns: per instance, a copy of its caps (name included), its IOTLB and its domain ID space
 * (IDs 1..MOCK_DOMAIN_ID_MAX, a bitmap); per domain, its page table (paging) or stage-1 config
 * (nested), its IOTLB counters, its fault handler and, for a nest parent, its child list.
 *
 * Translation: IOTLB lookup first. On a miss the domain is walked as hardware would (setting the
 * accessed bit, dirty for writes when tracked; for a nested domain the stage-1 walk in guest
 * memory with its own A/D updates) and the result is inserted, all under the IOTLB lock so an
 * invalidation cannot slip between walk and fill. On a hit the cached translation is used — even
 * if the tables changed since, as hardware would — and it is compared with a software walk
 * outside the lock: a mismatch (leaf gone, other output address or other permissions) counts a
 * stale hit. One exception, as on VT-d: a write hit on an entry that was cached without the D
 * bit its walk would now set (stage 2 with dirty tracking on; stage 1 always) re-walks under the
 * lock, which sets D and refreshes the entry. Permission checks use the translation that is
 * used. A fault goes to the domain's fault handler first (0 from it: -EAGAIN).
 *
 * Invalidation scope: an entry is tagged with the ID of the domain that was translated (a nested
 * domain's own ID). mock_domain_iotlb_sync/flush_all of a nest parent also flush every entry of
 * its children, since their combined entries embed the parent's translations; so do the IOTLB
 * drops after a read-and-clear of dirty bits. mock_domain_iotlb_invalidate only touches the
 * domain's own tags.
 *
 * Conventions where mock_iommu.h leaves room: pgsize_mask 0 in mock_domain_map means "the
 * domain's bitmap"; each mask bit allows the largest domain leaf size not above it (io_pgtable.h).
 * unmap of a range that is not granule aligned, empty or wrapping removes nothing (returns 0); a
 * range running past the aperture is clamped. The PASID is only an IOTLB tag (not checked against
 * pasid_bits; mock_dev checks). A custom aperture must be granule aligned at both ends.
 * Nested domains: map -> -EINVAL, unmap -> 0, table_pages -> 0, pgsize_bitmap -> the stage-1
 * leaves 4K|2M|1G, aperture [0, 2^addr_width - 1] (no upper canonical half). Dirty tracking:
 * read_and_clear_dirty needs tracking enabled (-EINVAL otherwise, like the kernel's drivers);
 * set_dirty works on any paging domain.
 *
 * Events (common/probe.h; the instance is named by caps.event_id, the domain by its ID): one
 * DOMAIN_MAP per mock_domain_map call and one DOMAIN_UNMAP per mock_domain_unmap call of a paging
 * domain, each with the whole range asked for (as the kernel's iommu:map / iommu:unmap fire once
 * per iommu_map() / iommu_unmap()); one IOTLB_INV per invalidation iotlb.c performs, with the
 * reason of the caller (unmap sync UNMAP, flush_all FLUSH_ALL, mock_domain_iotlb_invalidate USER,
 * a PASID/context entry change PASID_ENTRY, a dirty read-and-clear DIRTY, teardown DOMAIN_FREE);
 * one IOTLB_STALE_HIT per translation answered by an entry the tables no longer hold, naming the
 * device when the DMA came through mock_dev_dma. Mock events carry no context (ctx 0).
 *
 * Locking: map/unmap/iotlb_sync/flush_all/free/set_dirty_tracking of one domain are serialised by
 * the caller. Translations may run on any threads concurrently (IOTLB lock per instance; table
 * walks are lock-free). Domain allocation and free, and child lists, take the instance's id_lock.
 * Setting a fault handler while DMA runs is allowed; a racing fault sees the old or new handler
 * (its arg may pair with the new fn when both change: set the handler before DMA starts). */
#include "mock_private.h"

#include "common/alloc.h"
#include "common/compiler.h"
#include "common/overflow.h"
#include "common/probe.h"

#include <errno.h>
#include <string.h>

#define PROT_RW (MOCK_PROT_READ | MOCK_PROT_WRITE)
#define S1_LEAF_SIZES (SZ_4K | SZ_2M | SZ_1G)

/* ---- instances ------------------------------------------------------------------------------ */

int mock_iommu_create(const struct mock_iommu_caps *caps, struct mock_iommu **out)
{
	struct mock_iommu *iommu;
	int gshift, ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!caps)
		return -EINVAL;
	gshift = io_pgtable_granule_shift(caps->pgsize_bitmap);
	if (gshift < 0)
		return -EINVAL;
	if (caps->ias_bits != 39 && caps->ias_bits != 48 && caps->ias_bits != 57)
		return -EINVAL;
	if (caps->pasid_bits > 20)
		return -EINVAL;
	if ((caps->aperture_start || caps->aperture_last) &&
	    !io_pgtable_aperture_ok(caps->ias_bits, (unsigned int)gshift, caps->aperture_start,
				    caps->aperture_last))
		return -EINVAL;

	iommu = ioasid_zalloc(sizeof(*iommu));
	if (!iommu)
		return -ENOMEM;
	iommu->caps = *caps;
	strncpy(iommu->name, caps->name ? caps->name : "iommu", sizeof(iommu->name) - 1);
	iommu->caps.name = iommu->name;
	iommu->gshift = (unsigned int)gshift;
	ret = iotlb_create(caps->iotlb_sets, caps->iotlb_ways, caps->event_id, &iommu->tlb);
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

void mock_iommu_debug_stats(struct mock_iommu *iommu, struct mock_iommu_debug *out)
{
	pthread_mutex_lock(&iommu->id_lock);
	*out = iommu->debug;
	pthread_mutex_unlock(&iommu->id_lock);
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
		iommu->debug.domains++;
		*id = cand;
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&iommu->id_lock);
	return ret;
}

static void domain_id_free(struct mock_iommu *iommu, uint32_t id, bool was_pending)
{
	pthread_mutex_lock(&iommu->id_lock);
	iommu->id_map[id / 64] &= ~(1ULL << (id % 64));
	iommu->ndomains--;
	iommu->debug.domains--;
	if (was_pending)
		iommu->debug.pending_frees--;
	pthread_mutex_unlock(&iommu->id_lock);
}

/* ---- domain lifetime ------------------------------------------------------------------------ */

/* The domain is unused and unlinked: give everything back. */
static void domain_destroy(struct mock_domain *dom)
{
	iotlb_drop_domain(dom->tlb, &dom->stats, dom->id);
	if (!dom->parent)
		io_pgtable_destroy(&dom->pt);
	domain_id_free(dom->iommu, dom->id, dom->free_pending);
	ioasid_free(dom);
}

/* Under id_lock: drop one use; true when that makes a pending free due. */
static bool domain_unuse_locked(struct mock_domain *dom)
{
	return --dom->users == 0 && dom->free_pending;
}

/* Under id_lock: take a nested domain off its parent's list. Returns the parent when that was
 * its last use and its free is pending (the caller destroys it after unlocking). */
static struct mock_domain *domain_unlink_locked(struct mock_domain *dom)
{
	struct mock_domain *p = dom->parent, **pp;

	if (!p)
		return NULL;
	for (pp = &p->children; *pp != dom; pp = &(*pp)->sibling)
		;
	*pp = dom->sibling;
	dom->sibling = NULL;
	return domain_unuse_locked(p) ? p : NULL;
}

/* Destroy dom (already unused and marked or being freed), then its parent if that was due. */
static void domain_release(struct mock_domain *dom)
{
	struct mock_iommu *iommu = dom->iommu;
	struct mock_domain *parent;

	pthread_mutex_lock(&iommu->id_lock);
	parent = domain_unlink_locked(dom);
	pthread_mutex_unlock(&iommu->id_lock);
	domain_destroy(dom);
	if (parent)
		domain_destroy(parent);
}

int mock_domain_use(struct mock_domain *dom)
{
	int ret = 0;

	pthread_mutex_lock(&dom->iommu->id_lock);
	if (dom->free_pending)
		ret = -EINVAL;
	else
		dom->users++;
	pthread_mutex_unlock(&dom->iommu->id_lock);
	return ret;
}

void mock_domain_unuse(struct mock_domain *dom)
{
	bool due;

	pthread_mutex_lock(&dom->iommu->id_lock);
	due = domain_unuse_locked(dom);
	pthread_mutex_unlock(&dom->iommu->id_lock);
	if (due)
		domain_release(dom);
}

void mock_domain_free(struct mock_domain *dom)
{
	struct mock_iommu *iommu;

	if (!dom)
		return;
	iommu = dom->iommu;
	pthread_mutex_lock(&iommu->id_lock);
	if (dom->users) {
		/* Caller error (children or device entries still use it): defer, and say so. */
		if (!dom->free_pending) {
			dom->free_pending = true;
			iommu->debug.pending_frees++;
		}
		iommu->debug.busy_domain_frees++;
		pthread_mutex_unlock(&iommu->id_lock);
		return;
	}
	pthread_mutex_unlock(&iommu->id_lock);
	domain_release(dom);
}

/* ---- paging domains ------------------------------------------------------------------------- */

int mock_domain_alloc_paging_flags(struct mock_iommu *iommu, uint64_t pgsize_bitmap,
				   unsigned int flags, struct mock_domain **out)
{
	const struct mock_iommu_caps *caps;
	struct mock_domain *dom;
	uint64_t sizes;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!iommu)
		return -EINVAL;
	caps = &iommu->caps;
	if (flags & ~(MOCK_DOMAIN_NEST_PARENT | MOCK_DOMAIN_DIRTY))
		return -EOPNOTSUPP;
	if (((flags & MOCK_DOMAIN_NEST_PARENT) && !caps->nesting) ||
	    ((flags & MOCK_DOMAIN_DIRTY) && !caps->dirty_tracking))
		return -EOPNOTSUPP;
	sizes = (pgsize_bitmap ? pgsize_bitmap : caps->pgsize_bitmap) & caps->pgsize_bitmap;
	if (!(sizes & (1ULL << iommu->gshift)))
		return -EINVAL;

	dom = ioasid_zalloc(sizeof(*dom));
	if (!dom)
		return -ENOMEM;
	ret = io_pgtable_init(&dom->pt, caps->ias_bits, sizes);
	if (ret)
		goto out_free;
	if (caps->aperture_start || caps->aperture_last) {
		ret = io_pgtable_set_aperture(&dom->pt, caps->aperture_start, caps->aperture_last);
		if (ret)
			goto out_pt;
	}
	ret = domain_id_alloc(iommu, &dom->id);
	if (ret)
		goto out_pt;
	dom->iommu = iommu;
	dom->tlb = iommu->tlb;
	dom->flags = flags;
	dom->pgsize_bitmap = sizes;
	dom->tlb_sizes = sizes;
	dom->ap_start = dom->pt.aperture_start;
	dom->ap_end = dom->pt.aperture_end;
	dom->granule = 1ULL << iommu->gshift;
	*out = dom;
	return 0;

out_pt:
	io_pgtable_destroy(&dom->pt);
out_free:
	ioasid_free(dom);
	return ret;
}

int mock_domain_alloc_paging(struct mock_iommu *iommu, uint64_t pgsize_bitmap,
			     struct mock_domain **out)
{
	return mock_domain_alloc_paging_flags(iommu, pgsize_bitmap, 0, out);
}

/* ---- nested domains ------------------------------------------------------------------------- */

/* Sizes a combined translation can have: min(stage-1 leaf, stage-2 leaf). */
static uint64_t combined_sizes(uint64_t s1, uint64_t s2)
{
	uint64_t out = 0;

	for (uint64_t a = s1; a; a &= a - 1)
		for (uint64_t b = s2; b; b &= b - 1)
			out |= MIN(a & -a, b & -b);
	return out;
}

int mock_domain_alloc_nested(struct mock_domain *parent, const struct mock_s1_config *cfg,
			     struct mock_domain **out)
{
	struct mock_iommu *iommu;
	struct mock_domain *dom;
	unsigned int levels;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!parent || !cfg || parent->parent || !(parent->flags & MOCK_DOMAIN_NEST_PARENT))
		return -EINVAL;
	ret = s1_config_check(cfg, &levels);
	if (ret)
		return ret;
	iommu = parent->iommu;

	dom = ioasid_zalloc(sizeof(*dom));
	if (!dom)
		return -ENOMEM;
	ret = domain_id_alloc(iommu, &dom->id);
	if (ret) {
		ioasid_free(dom);
		return ret;
	}
	dom->iommu = iommu;
	dom->tlb = iommu->tlb;
	dom->parent = parent;
	dom->s1 = (struct mock_s1){ .root = cfg->pgtbl_addr, .levels = levels,
				    .addr_width = cfg->addr_width,
				    .write_protect = cfg->write_protect };
	dom->pgsize_bitmap = S1_LEAF_SIZES;
	dom->tlb_sizes = combined_sizes(S1_LEAF_SIZES, parent->pgsize_bitmap);
	dom->ap_start = 0;
	dom->ap_end = (1ULL << cfg->addr_width) - 1;
	dom->granule = MIN(SZ_4K, parent->granule);

	pthread_mutex_lock(&iommu->id_lock);
	if (parent->free_pending) {
		pthread_mutex_unlock(&iommu->id_lock);
		domain_id_free(iommu, dom->id, false);
		ioasid_free(dom);
		return -EINVAL;
	}
	dom->sibling = parent->children;
	parent->children = dom;
	parent->users++;
	pthread_mutex_unlock(&iommu->id_lock);
	*out = dom;
	return 0;
}

bool mock_domain_is_nested(const struct mock_domain *dom)
{
	return dom->parent != NULL;
}

struct mock_domain *mock_domain_parent(const struct mock_domain *dom)
{
	return dom->parent;
}

/* ---- properties ----------------------------------------------------------------------------- */

uint64_t mock_domain_pgsize_bitmap(const struct mock_domain *dom)
{
	return dom->pgsize_bitmap;
}

uint64_t mock_domain_aperture_start(const struct mock_domain *dom)
{
	return dom->ap_start;
}

uint64_t mock_domain_aperture_end(const struct mock_domain *dom)
{
	return dom->ap_end;
}

uint32_t mock_domain_id(const struct mock_domain *dom)
{
	return dom->id;
}

uint64_t mock_domain_table_pages(const struct mock_domain *dom)
{
	return dom->parent ? 0 : dom->pt.table_pages;
}

/* mock_domain_map while someone listens: the map, then its DOMAIN_MAP. Out of line, so that the
 * untraced 4 KiB map stays a check and a tail call. */
static __attribute__((noinline, cold)) int domain_map_traced(struct mock_domain *dom,
							     uint64_t iova, uint64_t paddr,
							     uint64_t len, int prot,
							     uint64_t pgsize_mask)
{
	int ret = io_pgtable_map(&dom->pt, iova, paddr, len, prot, pgsize_mask);

	IOASID_PROBE(domain_map, .iommu = dom->iommu->caps.event_id, .domain = dom->id,
		     .iova = iova, .length = len, .value = paddr, .aux = (uint32_t)prot,
		     .result = ret, .flags = ret ? IOASID_EVF_REFUSED : 0);
	return ret;
}

int mock_domain_map(struct mock_domain *dom, uint64_t iova, uint64_t paddr, uint64_t len,
		    int prot, uint64_t pgsize_mask)
{
	if (unlikely(dom->parent))
		return -EINVAL;   /* the guest owns a nested domain's table */
	if (IOASID_PROBE_ON(domain_map))
		return domain_map_traced(dom, iova, paddr, len, prot, pgsize_mask);
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

	if (unlikely(dom->parent))
		return 0;
	if (!gather) {
		n = io_pgtable_unmap(&dom->pt, iova, len, NULL);
		goto out;
	}
	span.first = gather->start;
	span.last = gather->end;
	span.max_pgsize = gather->pgsize;
	n = io_pgtable_unmap(&dom->pt, iova, len, &span);
	gather->start = span.first;
	gather->end = span.last;
	gather->pgsize = span.max_pgsize;
out:
	IOASID_PROBE(domain_unmap, .iommu = dom->iommu->caps.event_id, .domain = dom->id,
		     .iova = iova, .length = len, .value = n);
	return n;
}

/* A nest parent's translations are embedded in its children's entries: flush them all. */
static void flush_children(struct mock_domain *dom, unsigned int reason)
{
	if (!(dom->flags & MOCK_DOMAIN_NEST_PARENT))
		return;
	pthread_mutex_lock(&dom->iommu->id_lock);
	for (struct mock_domain *c = dom->children; c; c = c->sibling)
		iotlb_inval_domain(c->tlb, &c->stats, c->id, IOTLB_PASID_ANY, reason);
	pthread_mutex_unlock(&dom->iommu->id_lock);
}

void mock_domain_iotlb_sync(struct mock_domain *dom, struct mock_iotlb_gather *gather)
{
	if (!gather)
		return;
	if (gather->start <= gather->end) {
		iotlb_inval_range(dom->tlb, &dom->stats, dom->id, IOTLB_PASID_ANY, dom->tlb_sizes,
				  gather->start, gather->end, IOASID_INV_UNMAP);
		flush_children(dom, IOASID_INV_UNMAP);
	}
	mock_iotlb_gather_init(gather);
}

void mock_domain_flush_all(struct mock_domain *dom)
{
	iotlb_inval_domain(dom->tlb, &dom->stats, dom->id, IOTLB_PASID_ANY, IOASID_INV_FLUSH_ALL);
	flush_children(dom, IOASID_INV_FLUSH_ALL);
}

void mock_domain_iotlb_invalidate_why(struct mock_domain *dom, uint32_t pasid, uint64_t iova,
				      uint64_t len, unsigned int reason)
{
	uint64_t last;

	if (len == UINT64_MAX) {
		iotlb_inval_domain(dom->tlb, &dom->stats, dom->id, pasid, reason);
		return;
	}
	if (!len)
		return;
	if (check_add_overflow(iova, len - 1, &last))
		last = UINT64_MAX;
	iotlb_inval_range(dom->tlb, &dom->stats, dom->id, pasid, dom->tlb_sizes, iova, last,
			  reason);
}

void mock_domain_iotlb_invalidate(struct mock_domain *dom, uint32_t pasid, uint64_t iova,
				  uint64_t len)
{
	mock_domain_iotlb_invalidate_why(dom, pasid, iova, len, IOASID_INV_USER);
}

/* ---- translation ---------------------------------------------------------------------------- */

/* One walk of dom for iova: hardware (A/D side effects) or software (none). */
static inline int domain_walk(struct mock_domain *dom, uint64_t iova, bool write, bool hw,
			      struct iotlb_xlate *x, enum mock_fault_reason *reason)
{
	struct pt_leaf leaf;
	int r;

	if (unlikely(dom->parent))
		return s1_nested_walk(dom, iova, write, hw, x, reason);
	r = hw ? io_pgtable_walk_hw(&dom->pt, iova, write, &leaf)
	       : io_pgtable_lookup(&dom->pt, iova, &leaf);
	if (r) {
		*reason = MOCK_FAULT_NOT_PRESENT;
		return -EFAULT;
	}
	x->iova = leaf.iova;
	x->paddr = leaf.paddr;
	x->shift = (unsigned int)__builtin_ctzll(leaf.size);
	x->prot = leaf.prot;
	x->flags = (leaf.pte & PTE_D) ? IOTLB_F_S2_DIRTY : 0;
	return 0;
}

/* A write through cached entry x would leave a D bit unset that a walk would set now. */
static inline bool write_needs_walk(const struct mock_domain *dom, const struct iotlb_xlate *x)
{
	const struct mock_domain *s2 = dom->parent ? dom->parent : dom;

	if (!(x->prot & MOCK_PROT_WRITE))
		return false;   /* the write faults anyway */
	if (dom->parent && !(x->flags & IOTLB_F_S1_DIRTY))
		return true;
	return !(x->flags & IOTLB_F_S2_DIRTY) &&
	       __atomic_load_n(&s2->pt.dirty_tracking, __ATOMIC_RELAXED);
}

/* Whether the tables still hold the cached translation x of iova (software walk). */
static inline bool hit_still_valid(struct mock_domain *dom, uint64_t iova,
				   const struct iotlb_xlate *x)
{
	const uint64_t cached = x->paddr + (iova - x->iova);

	if (likely(!dom->parent)) {
		struct pt_leaf leaf;

		return !io_pgtable_lookup(&dom->pt, iova, &leaf) &&
		       leaf.paddr + (iova - leaf.iova) == cached &&
		       (leaf.prot & PROT_RW) == (x->prot & PROT_RW);
	} else {
		enum mock_fault_reason ignored;
		struct iotlb_xlate now;

		return !s1_nested_walk(dom, iova, false, false, &now, &ignored) &&
		       now.paddr + (iova - now.iova) == cached &&
		       (now.prot & PROT_RW) == (x->prot & PROT_RW);
	}
}

static int report_fault(struct mock_domain *dom, uint32_t pasid, uint64_t iova,
			enum mock_dma_dir dir, enum mock_fault_reason reason,
			struct mock_fault *fault)
{
	const struct mock_fault f = { .iova = iova, .pasid = pasid, .dir = dir, .reason = reason };
	mock_fault_handler_t fn = __atomic_load_n(&dom->fault_fn, __ATOMIC_ACQUIRE);

	if (fault)
		*fault = f;
	if (fn && fn(dom->fault_arg, &f) == 0)
		return -EAGAIN;
	return -EFAULT;
}

void mock_domain_set_fault_handler(struct mock_domain *dom, mock_fault_handler_t fn, void *arg)
{
	dom->fault_arg = arg;
	__atomic_store_n(&dom->fault_fn, fn, __ATOMIC_RELEASE);
}

int mock_domain_iova_to_phys(struct mock_domain *dom, uint64_t iova, uint64_t *paddr,
			     int *prot, uint64_t *leaf_size)
{
	enum mock_fault_reason reason;
	struct iotlb_xlate x;

	if (iova < dom->ap_start || iova > dom->ap_end ||
	    domain_walk(dom, iova, false, false, &x, &reason))
		return -ENOENT;
	if (paddr)
		*paddr = x.paddr + (iova - x.iova);
	if (prot)
		*prot = x.prot;
	if (leaf_size)
		*leaf_size = 1ULL << x.shift;
	return 0;
}

/* IOTLB_STALE_HIT: the hit on iova answered with x, which the tables no longer hold. Out of line:
 * translation is the hot path and a stale hit the rare case. */
static __attribute__((noinline, cold)) void stale_hit_event(const struct mock_domain *dom,
							    const struct mock_dev_ident *who,
							    uint32_t pasid, uint64_t iova,
							    const struct iotlb_xlate *x,
							    enum mock_dma_dir dir)
{
	IOASID_PROBE_NAMED(iotlb_stale_hit, who ? who->name : NULL,
			   .iommu = dom->iommu->caps.event_id, .domain = dom->id, .pasid = pasid,
			   .iova = iova, .value = x->paddr + (iova - x->iova),
			   .dev = who ? who->event_dev : 0, .aux = (uint32_t)dir);
}

/* mock_domain_translate on behalf of `who` (NULL: anonymous), who the stale-hit event names. */
static inline __attribute__((always_inline)) int
translate(struct mock_domain *dom, const struct mock_dev_ident *who, uint32_t pasid, uint64_t iova,
	  enum mock_dma_dir dir, uint64_t *paddr, bool *stale, struct mock_fault *fault)
{
	enum mock_fault_reason reason;
	struct iotlb_entry *hit;
	struct iotlb_xlate x;
	const bool write = dir == MOCK_DMA_WRITE;

	if (stale)
		*stale = false;
	if (unlikely(iova < dom->ap_start || iova > dom->ap_end)) {
		reason = MOCK_FAULT_OUT_OF_RANGE;
		goto fault;
	}

	iotlb_lock(dom->tlb);
	hit = iotlb_lookup_locked(dom->tlb, &dom->stats, dom->id, pasid, iova, dom->tlb_sizes, &x);
	if (!hit) {
		if (domain_walk(dom, iova, write, true, &x, &reason)) {
			iotlb_unlock(dom->tlb);
			goto fault;
		}
		iotlb_insert_locked(dom->tlb, &dom->stats, dom->id, pasid, &x);
	} else if (unlikely(write && write_needs_walk(dom, &x))) {
		/* The re-walk refreshes the entry (or drops it when the walk faults); the
		 * translation used is the fresh one, so this hit cannot be stale. */
		int r = domain_walk(dom, iova, true, true, &x, &reason);

		iotlb_replace_locked(dom->tlb, hit, &dom->stats, dom->id, pasid, r ? NULL : &x);
		hit = NULL;
		if (r) {
			iotlb_unlock(dom->tlb);
			goto fault;
		}
	}
	iotlb_unlock(dom->tlb);

	if (hit) {
		bool is_stale = !hit_still_valid(dom, iova, &x);

		if (unlikely(is_stale)) {
			iotlb_count_stale(dom->tlb, &dom->stats);
			stale_hit_event(dom, who, pasid, iova, &x, dir);
		}
		if (stale)
			*stale = is_stale;
	}

	if (unlikely(!(x.prot & (write ? MOCK_PROT_WRITE : MOCK_PROT_READ)))) {
		reason = (write && (x.flags & IOTLB_F_S1_RO)) ? MOCK_FAULT_S1_PERMISSION
							       : MOCK_FAULT_PERMISSION;
		goto fault;
	}
	*paddr = x.paddr + (iova - x.iova);
	return 0;

fault:
	return report_fault(dom, pasid, iova, dir, reason, fault);
}

int mock_domain_translate(struct mock_domain *dom, uint32_t pasid, uint64_t iova,
			  enum mock_dma_dir dir, uint64_t *paddr, bool *stale,
			  struct mock_fault *fault)
{
	return translate(dom, NULL, pasid, iova, dir, paddr, stale, fault);
}

static inline int domain_dma(struct mock_domain *dom, const struct mock_dev_ident *who,
			     uint32_t pasid, uint64_t iova, void *buf, size_t len,
			     enum mock_dma_dir dir, struct mock_fault *fault)
{
	const uint64_t granule = dom->granule;
	unsigned char *b = buf;

	while (len) {
		size_t chunk = (size_t)(granule - (iova & (granule - 1)));
		uint64_t pa = 0;   /* set on success; the compiler cannot see that through faults */
		int ret;

		if (chunk > len)
			chunk = len;
		ret = translate(dom, who, pasid, iova, dir, &pa, NULL, fault);
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

int mock_domain_dma_as(struct mock_domain *dom, const struct mock_dev_ident *who, uint32_t pasid,
		       uint64_t iova, void *buf, size_t len, enum mock_dma_dir dir,
		       struct mock_fault *fault)
{
	return domain_dma(dom, who, pasid, iova, buf, len, dir, fault);
}

int mock_domain_dma(struct mock_domain *dom, uint32_t pasid, uint64_t iova, void *buf,
		    size_t len, enum mock_dma_dir dir, struct mock_fault *fault)
{
	return domain_dma(dom, NULL, pasid, iova, buf, len, dir, fault);
}

void mock_domain_iotlb_stats(const struct mock_domain *dom, struct mock_iotlb_stats *out)
{
	iotlb_read_stats(dom->tlb, &dom->stats, out);
}

/* ---- dirty tracking ------------------------------------------------------------------------- */

int mock_domain_set_dirty_tracking(struct mock_domain *dom, bool enable)
{
	if (!(dom->flags & MOCK_DOMAIN_DIRTY))
		return -EOPNOTSUPP;
	/* No flush needed: entries remember whether their leaf had D (IOTLB_F_S2_DIRTY), so a
	 * write through one cached while tracking was off re-walks once tracking is on. */
	__atomic_store_n(&dom->pt.dirty_tracking, enable, __ATOMIC_RELAXED);
	return 0;
}

bool mock_domain_dirty_tracking(const struct mock_domain *dom)
{
	return (dom->flags & MOCK_DOMAIN_DIRTY) &&
	       __atomic_load_n(&dom->pt.dirty_tracking, __ATOMIC_RELAXED);
}

struct dirty_report {
	uint64_t first, last;                    /* requested range */
	uint64_t span_first, span_last;          /* leaves reported */
	void (*fn)(void *arg, uint64_t iova, uint64_t len);
	void *arg;
};

static void dirty_report_leaf(void *arg, uint64_t iova, uint64_t size)
{
	struct dirty_report *r = arg;
	uint64_t leaf_last = iova + (size - 1);
	uint64_t from = MAX(iova, r->first), to = MIN(leaf_last, r->last);

	r->span_first = MIN(r->span_first, iova);
	r->span_last = MAX(r->span_last, leaf_last);
	if (r->fn)
		r->fn(r->arg, from, to - from + 1);
}

int mock_domain_read_and_clear_dirty(struct mock_domain *dom, uint64_t iova, uint64_t len,
				     bool no_clear,
				     void (*fn)(void *arg, uint64_t iova, uint64_t len), void *arg)
{
	struct dirty_report r = { .span_first = UINT64_MAX, .fn = fn, .arg = arg };
	uint64_t found;

	if (!(dom->flags & MOCK_DOMAIN_DIRTY))
		return -EOPNOTSUPP;
	if (!__atomic_load_n(&dom->pt.dirty_tracking, __ATOMIC_RELAXED))
		return -EINVAL;
	if (!range_last(iova, len, &r.last))
		return -EINVAL;
	r.first = iova;
	found = io_pgtable_read_dirty(&dom->pt, iova, len, !no_clear, dirty_report_leaf, &r);
	if (found && !no_clear) {
		/* Cached entries remember D: drop them so the next write marks the leaf again. */
		iotlb_inval_range(dom->tlb, &dom->stats, dom->id, IOTLB_PASID_ANY, dom->tlb_sizes,
				  r.span_first, r.span_last, IOASID_INV_DIRTY);
		flush_children(dom, IOASID_INV_DIRTY);
	}
	return 0;
}

int mock_domain_set_dirty(struct mock_domain *dom, uint64_t iova)
{
	if (dom->parent)
		return -EOPNOTSUPP;
	return io_pgtable_set_dirty(&dom->pt, iova);
}
