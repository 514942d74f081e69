/* io_pgtable.c — the mock IOMMU's radix page tables (private to src/mockhw).
 *
 * Owns: every table page of one domain (the root, intermediate tables, and a spare list of
 * retired tables). Does not own the memory the leaves point to.
 *
 * Geometry: a table is one 4 KiB page of 512 u64 entries; level L translates IOVA bits
 * [g + 9L, g + 8 + 9L] where g is the granule shift (12 for 4 KiB, 11 for 2 KiB). The root is
 * level levels-1, with just enough levels for the IOVA width (the root may use only part of its
 * entries: a 2K-granule, 48-bit table has 5 levels and a root using 2 entries). Leaves live at
 * level 0 (the granule), level 1 (x512: 2M or 1M) and level 2 (x512^2: 1G or 512M) as
 * pgsize_bitmap allows.
 *
 * Entry format (u64), one format for both granules:
 *   bit  0     P  present; an all-zero entry is empty
 *   bit  1     R  leaf: the device may read
 *   bit  2     W  leaf: the device may write
 *   bit  3     L  leaf; always set on a present level-0 entry, "huge" at levels 1 and 2.
 *                 A present entry without L points to the next-level table.
 *   bit  4     A  accessed: set by a hardware walk (io_pgtable_walk_hw)
 *   bit  5     D  dirty: set by a hardware walk for a write when dirty tracking is on
 *   bit  6     C  cache coherent (MOCK_PROT_CACHE)
 *   bits 7-10     reserved, 0
 *   bits 11-56 ADDR: the address itself (not shifted), so the field holds 2K-aligned output
 *                 addresses. Leaf: output address, aligned to the leaf size (with a 4K granule
 *                 bit 11 is therefore always 0); table: host address of the 4 KiB next table.
 *   bits 57-63    reserved, 0
 * A table entry is exactly ADDR | P. A leaf is ADDR | P | L | R? | W? | C? (| A | D).
 *
 * Invariants:
 *  - Tables are never freed by unmap: they stay until destroy (as the API promises). The one
 *    exception is a map that puts a huge leaf where an empty subtree hangs: the subtree is
 *    retired to pt->spare (never to malloc), and later table allocations reuse spare tables first,
 *    so memory stays bounded by the peak and a racing walker never touches freed memory.
 *  - Spare tables are all-zero except entry 0, the chain link.
 *  - A failed map removes the leaves it wrote before returning (all-or-nothing); tables it
 *    allocated stay in the tree, empty.
 *  - No leaf lies outside [aperture_start, aperture_end].
 *
 * Locking: none. The owner serialises map/unmap/destroy. Walks use atomic loads, new tables are
 * published with release stores, and A/D updates are atomic ORs, so walks may run concurrently
 * with each other and with updates of other ranges. */
#include "io_pgtable.h"

#include "common/alloc.h"
#include "common/compiler.h"
#include "common/overflow.h"
#include "mock_iommu.h"

#include <errno.h>
#include <string.h>

#define PTE_LEAF_FLAGS (PTE_P | PTE_L)

static inline uint64_t *pte_table(uint64_t pte)
{
	return (uint64_t *)(uintptr_t)(pte & PTE_ADDR_MASK);
}

static inline unsigned int pt_index(const struct io_pgtable *pt, uint64_t iova,
				    unsigned int level)
{
	return (unsigned int)(iova >> pt_level_shift(pt, level)) & (PT_ENTRIES - 1);
}

static inline uint64_t prot_to_pte(int prot)
{
	return (prot & MOCK_PROT_READ ? PTE_R : 0) | (prot & MOCK_PROT_WRITE ? PTE_W : 0) |
	       (prot & MOCK_PROT_CACHE ? PTE_C : 0);
}

static inline int pte_to_prot(uint64_t pte)
{
	return (pte & PTE_R ? MOCK_PROT_READ : 0) | (pte & PTE_W ? MOCK_PROT_WRITE : 0) |
	       (pte & PTE_C ? MOCK_PROT_CACHE : 0);
}

/* ---- table pages -------------------------------------------------------------------------- */

static uint64_t *table_alloc(struct io_pgtable *pt)
{
	uint64_t *t = pt->spare;

	if (t) {
		pt->spare = (uint64_t *)(uintptr_t)t[0];
		t[0] = 0;
		pt->spare_pages--;
	} else {
		t = ioasid_aligned_zalloc(PT_TABLE_SIZE, PT_TABLE_SIZE);
		if (!t)
			return NULL;
	}
	pt->table_pages++;
	return t;
}

static bool subtree_empty(const uint64_t *t, unsigned int level)
{
	for (unsigned int i = 0; i < PT_ENTRIES; i++) {
		uint64_t e = t[i];

		if (!e)
			continue;
		if (level == 0 || (e & PTE_L) || !subtree_empty(pte_table(e), level - 1))
			return false;
	}
	return true;
}

/* Move an empty subtree to the spare list. */
static void subtree_retire(struct io_pgtable *pt, uint64_t *t, unsigned int level)
{
	if (level > 0) {
		for (unsigned int i = 0; i < PT_ENTRIES; i++) {
			if (t[i]) {
				subtree_retire(pt, pte_table(t[i]), level - 1);
				t[i] = 0;
			}
		}
	}
	t[0] = (uint64_t)(uintptr_t)pt->spare;
	pt->spare = t;
	pt->spare_pages++;
	pt->table_pages--;
}

static void subtree_free(uint64_t *t, unsigned int level)
{
	if (level > 0) {
		for (unsigned int i = 0; i < PT_ENTRIES; i++) {
			uint64_t e = t[i];

			if ((e & PTE_P) && !(e & PTE_L))
				subtree_free(pte_table(e), level - 1);
		}
	}
	ioasid_free(t);
}

int io_pgtable_granule_shift(uint64_t pgsize_bitmap)
{
	uint64_t g = pgsize_bitmap & -pgsize_bitmap;

	if (g != SZ_4K && g != SZ_2K_MOCK)
		return -EINVAL;
	if (pgsize_bitmap & ~(g | g << 9 | g << 18))
		return -EINVAL;
	return __builtin_ctzll(g);
}

int io_pgtable_init(struct io_pgtable *pt, unsigned int ias_bits, uint64_t pgsize_bitmap)
{
	int gshift = io_pgtable_granule_shift(pgsize_bitmap);

	memset(pt, 0, sizeof(*pt));
	if (ias_bits != 39 && ias_bits != 48 && ias_bits != 57)
		return -EINVAL;
	if (gshift < 0)
		return gshift;
	pt->ias_bits = ias_bits;
	pt->gshift = (unsigned int)gshift;
	pt->levels = (ias_bits - pt->gshift + 8) / 9;
	pt->pgsize_bitmap = pgsize_bitmap;
	pt->aperture_end = (1ULL << ias_bits) - 1;
	pt->root = table_alloc(pt);
	if (!pt->root)
		return -ENOMEM;
	return 0;
}

bool io_pgtable_aperture_ok(unsigned int ias_bits, unsigned int gshift, uint64_t start,
			    uint64_t last)
{
	uint64_t top = (1ULL << ias_bits) - 1, gmask = (1ULL << gshift) - 1;

	return start <= last && last <= top && !(start & gmask) &&
	       (last == top || !((last + 1) & gmask));
}

int io_pgtable_set_aperture(struct io_pgtable *pt, uint64_t start, uint64_t last)
{
	if (!io_pgtable_aperture_ok(pt->ias_bits, pt->gshift, start, last))
		return -EINVAL;
	pt->aperture_start = start;
	pt->aperture_end = last;
	return 0;
}

void io_pgtable_destroy(struct io_pgtable *pt)
{
	if (pt->root)
		subtree_free(pt->root, pt->levels - 1);
	while (pt->spare) {
		uint64_t *t = pt->spare;

		pt->spare = (uint64_t *)(uintptr_t)t[0];
		ioasid_free(t);
	}
	memset(pt, 0, sizeof(*pt));
}

/* ---- map ---------------------------------------------------------------------------------- */

/* Walk from the root to the table at `target`, allocating missing tables. gshift is
 * pt->gshift passed as a constant by the specialised callers. */
static inline __attribute__((always_inline)) int walk_alloc(struct io_pgtable *pt, uint64_t iova,
							    unsigned int target,
							    const unsigned int gshift,
							    uint64_t **out)
{
	uint64_t *t = pt->root;

	for (unsigned int l = pt->levels - 1; l > target; l--) {
		uint64_t *e = &t[(iova >> (gshift + 9 * l)) & (PT_ENTRIES - 1)];
		uint64_t v = *e;

		if (likely(v & PTE_P)) {
			if (unlikely(v & PTE_L))
				return -EEXIST;
			t = pte_table(v);
			continue;
		}
		uint64_t *n = table_alloc(pt);
		if (unlikely(!n))
			return -ENOMEM;
		__atomic_store_n(e, (uint64_t)(uintptr_t)n | PTE_P, __ATOMIC_RELEASE);
		t = n;
	}
	*out = t;
	return 0;
}

/* Slow path of a chunk whose slots are not all empty: -EEXIST unless every occupied slot is a
 * table over an empty subtree (possible only above level 0), which is then retired. */
static int make_room(struct io_pgtable *pt, uint64_t *e, unsigned int n, unsigned int level)
{
	for (unsigned int i = 0; i < n; i++) {
		uint64_t v = e[i];

		if (!v)
			continue;
		if (level == 0 || (v & PTE_L) || !subtree_empty(pte_table(v), level - 1))
			return -EEXIST;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (e[i]) {
			subtree_retire(pt, pte_table(e[i]), level - 1);
			e[i] = 0;
		}
	}
	return 0;
}

/* The leaf sizes a map may use: each bit of the mask allows the largest size of the table that
 * is not above it, so a caller that means "CPU pages only" (4K) gets the 2K granule on a 2K
 * table, and "anything" (~0) gets every size. */
static inline uint64_t map_sizes(const struct io_pgtable *pt, uint64_t mask)
{
	uint64_t have = pt->pgsize_bitmap, out = 0;

	if (!mask)
		return have;
	if (likely(!(mask & ~have)))
		return mask;
	for (uint64_t s = have; s; s &= s - 1) {
		uint64_t size = s & -s, rest = s & (s - 1);
		uint64_t window = rest ? (rest & -rest) - size : -size;   /* [size, next size) */

		if (mask & window)
			out |= size;
	}
	return out;
}

/* The largest leaf level allowed by the sizes, the common alignment and the length left. */
static inline unsigned int pick_level(unsigned int gshift, uint64_t sizes, uint64_t iova,
				      uint64_t paddr, uint64_t rem)
{
	const uint64_t big = 1ULL << (gshift + 18), mid = 1ULL << (gshift + 9);
	uint64_t a = iova | paddr;

	if ((sizes & big) && !(a & (big - 1)) && rem >= big)
		return 2;
	if ((sizes & mid) && !(a & (mid - 1)) && rem >= mid)
		return 1;
	return 0;
}

/* The body of io_pgtable_map, specialised per granule (gshift constant) so that the hot path
 * does its index arithmetic with constant shifts. */
static inline __attribute__((always_inline)) int map_granule(struct io_pgtable *pt, uint64_t iova,
							     uint64_t paddr, uint64_t len,
							     int prot, uint64_t pgsize_mask,
							     const unsigned int gshift)
{
	const uint64_t sizes = map_sizes(pt, pgsize_mask);
	uint64_t last, plast, cur = iova, pa = paddr, rem = len;
	const uint64_t bits = PTE_LEAF_FLAGS | prot_to_pte(prot);
	int ret;

	if (unlikely(!sizes))
		return -EINVAL;
	if (unlikely((iova | paddr | len) & ((sizes & -sizes) - 1)))
		return -EINVAL;
	if (unlikely(!range_last(iova, len, &last) || iova < pt->aperture_start ||
		     last > pt->aperture_end))
		return -EINVAL;
	if (unlikely(!range_last(paddr, len, &plast) || plast >= PTE_ADDR_LIMIT))
		return -EINVAL;

	do {
		unsigned int lvl = pick_level(gshift, sizes, cur, pa, rem);
		unsigned int shift = gshift + 9 * lvl;
		uint64_t *t, *e, acc = 0, v;
		unsigned int idx, n;

		ret = walk_alloc(pt, cur, lvl, gshift, &t);
		if (unlikely(ret))
			goto undo;
		idx = (unsigned int)(cur >> shift) & (PT_ENTRIES - 1);
		n = PT_ENTRIES - idx;
		if ((rem >> shift) < n)
			n = (unsigned int)(rem >> shift);
		e = t + idx;
		for (unsigned int i = 0; i < n; i++)
			acc |= e[i];
		if (unlikely(acc)) {
			ret = make_room(pt, e, n, lvl);
			if (ret)
				goto undo;
		}
		v = pa | bits;
		for (unsigned int i = 0; i < n; i++) {
			e[i] = v;
			v += 1ULL << shift;
		}
		cur += (uint64_t)n << shift;
		pa += (uint64_t)n << shift;
		rem -= (uint64_t)n << shift;
	} while (rem);
	return 0;

undo:
	if (cur != iova)
		io_pgtable_unmap(pt, iova, cur - iova, NULL);
	return ret;
}

int io_pgtable_map(struct io_pgtable *pt, uint64_t iova, uint64_t paddr, uint64_t len, int prot,
		   uint64_t pgsize_mask)
{
	if (likely(pt->gshift == 12))
		return map_granule(pt, iova, paddr, len, prot, pgsize_mask, 12);
	return map_granule(pt, iova, paddr, len, prot, pgsize_mask, 11);
}

/* ---- unmap -------------------------------------------------------------------------------- */

/* Clip [iova, iova + len) to the aperture: false when nothing is left. */
static inline bool clip_range(const struct io_pgtable *pt, uint64_t iova, uint64_t len,
			      uint64_t *first, uint64_t *last)
{
	if (!range_last(iova, len, last) || iova > pt->aperture_end ||
	    *last < pt->aperture_start)
		return false;
	*first = MAX(iova, pt->aperture_start);
	*last = MIN(*last, pt->aperture_end);
	return true;
}

uint64_t io_pgtable_unmap(struct io_pgtable *pt, uint64_t iova, uint64_t len,
			  struct pt_unmap_span *span)
{
	const unsigned int gshift = pt->gshift;
	const uint64_t granule = 1ULL << gshift;
	uint64_t last, cur, total = 0;
	uint64_t first_rm = UINT64_MAX, last_rm = 0, max_pg = 0;

	if (unlikely((iova | len) & (granule - 1)) ||
	    unlikely(!clip_range(pt, iova, len, &cur, &last)))
		return 0;

	for (;;) {
		uint64_t *t = pt->root, v, next;
		unsigned int l = pt->levels - 1, i;

		for (;;) {
			i = pt_index(pt, cur, l);
			v = t[i];
			if (!(v & PTE_P) || (v & PTE_L) || l == 0)
				break;
			t = pte_table(v);
			l--;
		}
		if (l == 0) {
			/* Tight loop over the rest of this level-0 table. */
			uint64_t left = ((last - cur) >> gshift) + 1, cnt = 0, *e = t + i;
			unsigned int n = PT_ENTRIES - i;

			if (left < n)
				n = (unsigned int)left;
			for (unsigned int k = 0; k < n; k++)
				cnt += e[k] & PTE_P;
			next = cur + ((uint64_t)n << gshift);
			if (cnt) {
				unsigned int f = 0, z = n - 1;

				if (unlikely(cnt != n)) {   /* holes: find the exact span */
					while (!(e[f] & PTE_P))
						f++;
					while (!(e[z] & PTE_P))
						z--;
				}
				for (unsigned int k = f; k <= z; k++)
					e[k] = 0;
				total += cnt << gshift;
				if (first_rm == UINT64_MAX)
					first_rm = cur + ((uint64_t)f << gshift);
				last_rm = cur + ((uint64_t)z << gshift) + (granule - 1);
				max_pg = MAX(max_pg, granule);
			}
		} else {
			uint64_t size = 1ULL << pt_level_shift(pt, l);
			uint64_t base = cur & ~(size - 1);

			if (v & PTE_P) {
				t[i] = 0;
				total += size;
				if (first_rm == UINT64_MAX)
					first_rm = base;
				last_rm = base + size - 1;
				max_pg = MAX(max_pg, size);
			}
			next = base + size;
		}
		if (next == 0 || next > last)
			break;
		cur = next;
	}

	if (span && total) {
		span->first = MIN(span->first, first_rm);
		span->last = MAX(span->last, last_rm);
		span->max_pgsize = MAX(span->max_pgsize, max_pg);
	}
	return total;
}

/* ---- walks -------------------------------------------------------------------------------- */

/* The present leaf entry translating iova, or NULL; *level receives its level. */
static inline __attribute__((always_inline)) uint64_t *
walk_leaf_granule(const struct io_pgtable *pt, uint64_t iova, unsigned int *level,
		  const unsigned int gshift)
{
	uint64_t *t = pt->root;

	if (unlikely(iova > pt->aperture_end))
		return NULL;
	for (unsigned int l = pt->levels - 1;; l--) {
		uint64_t *e = &t[(iova >> (gshift + 9 * l)) & (PT_ENTRIES - 1)];
		uint64_t v = __atomic_load_n(e, __ATOMIC_ACQUIRE);

		if (!(v & PTE_P))
			return NULL;
		if ((v & PTE_L) || l == 0) {
			*level = l;
			return e;
		}
		t = pte_table(v);
	}
}

/* Specialised per granule like io_pgtable_map: the walk is the translation hot path. */
static inline uint64_t *walk_leaf(const struct io_pgtable *pt, uint64_t iova, unsigned int *level)
{
	if (likely(pt->gshift == 12))
		return walk_leaf_granule(pt, iova, level, 12);
	return walk_leaf_granule(pt, iova, level, 11);
}

static inline void fill_leaf(const struct io_pgtable *pt, uint64_t iova, uint64_t pte,
			     unsigned int level, struct pt_leaf *leaf)
{
	uint64_t size = 1ULL << pt_level_shift(pt, level);

	leaf->iova = iova & ~(size - 1);
	leaf->paddr = pte & PTE_ADDR_MASK;
	leaf->size = size;
	leaf->prot = pte_to_prot(pte);
	leaf->pte = pte;
}

int io_pgtable_lookup(const struct io_pgtable *pt, uint64_t iova, struct pt_leaf *leaf)
{
	unsigned int level;
	uint64_t *e = walk_leaf(pt, iova, &level);

	if (!e)
		return -ENOENT;
	fill_leaf(pt, iova, __atomic_load_n(e, __ATOMIC_RELAXED), level, leaf);
	return 0;
}

int io_pgtable_walk_hw(struct io_pgtable *pt, uint64_t iova, bool write, struct pt_leaf *leaf)
{
	unsigned int level;
	uint64_t *e = walk_leaf(pt, iova, &level), v, set;

	if (!e)
		return -ENOENT;
	v = __atomic_load_n(e, __ATOMIC_RELAXED);
	set = PTE_A;
	if (write && (v & PTE_W) && __atomic_load_n(&pt->dirty_tracking, __ATOMIC_RELAXED))
		set |= PTE_D;
	if ((v & set) != set)
		v = __atomic_or_fetch(e, set, __ATOMIC_RELAXED);
	fill_leaf(pt, iova, v, level, leaf);
	return 0;
}

int io_pgtable_set_dirty(struct io_pgtable *pt, uint64_t iova)
{
	unsigned int level;
	uint64_t *e = walk_leaf(pt, iova, &level);

	if (!e)
		return -ENOENT;
	__atomic_or_fetch(e, PTE_D, __ATOMIC_RELAXED);
	return 0;
}

uint64_t io_pgtable_read_dirty(struct io_pgtable *pt, uint64_t iova, uint64_t len, bool clear,
			       void (*cb)(void *arg, uint64_t iova, uint64_t size), void *arg)
{
	uint64_t last, cur, found = 0;

	if (!clip_range(pt, iova, len, &cur, &last))
		return 0;
	for (;;) {
		uint64_t *t = pt->root, *e, v, size, base;
		unsigned int l = pt->levels - 1;

		for (;;) {
			e = &t[pt_index(pt, cur, l)];
			v = __atomic_load_n(e, __ATOMIC_ACQUIRE);
			if (!(v & PTE_P) || (v & PTE_L) || l == 0)
				break;
			t = pte_table(v);
			l--;
		}
		size = 1ULL << pt_level_shift(pt, l);
		base = cur & ~(size - 1);
		if ((v & PTE_P) && (v & PTE_D)) {
			found++;
			if (clear)
				__atomic_and_fetch(e, ~PTE_D, __ATOMIC_RELAXED);
			if (cb)
				cb(arg, base, size);
		}
		if (base + size == 0 || base + size > last)
			break;
		cur = base + size;
	}
	return found;
}

static void count_sub(const uint64_t *t, unsigned int level, uint64_t *out)
{
	for (unsigned int i = 0; i < PT_ENTRIES; i++) {
		uint64_t e = t[i];

		if (!(e & PTE_P))
			continue;
		if ((e & PTE_L) || level == 0)
			out[level]++;
		else
			count_sub(pte_table(e), level - 1, out);
	}
}

void io_pgtable_count_leaves(const struct io_pgtable *pt, uint64_t out[3])
{
	uint64_t c[PT_MAX_LEVELS] = { 0 };

	count_sub(pt->root, pt->levels - 1, c);
	out[0] = c[0];
	out[1] = c[1];
	out[2] = c[2];
}
