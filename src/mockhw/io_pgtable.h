/* io_pgtable.h — private to src/mockhw: the mock IOMMU's multi-level radix page tables.
 *
 * A table is one 4 KiB page of 512 u64 entries (9 IOVA bits per level) whatever the granule.
 * The granule is the smallest leaf size: 4 KiB (leaves 4K, 2M, 1G) or 2 KiB (the kernel
 * selftest's MOCK_IO_PAGE_SIZE; leaves 2K, 1M, 512M). Level 0 holds granule leaves, levels 1
 * and 2 may hold huge leaves; the root is level (levels - 1), with as many levels as the IOVA
 * width needs (4K: 3/4/5 for 39/48/57 bits; 2K: 4/5/6). The entry format is described at the
 * top of io_pgtable.c.
 *
 * Not thread-safe for updates: the owner serialises map/unmap/destroy on one table. Lookups
 * (io_pgtable_lookup/io_pgtable_walk_hw) may run concurrently with each other and with updates of
 * other IOVA ranges. */
#ifndef IOASID_MOCKHW_IO_PGTABLE_H
#define IOASID_MOCKHW_IO_PGTABLE_H

#include <stdbool.h>
#include <stdint.h>

#define PT_ENTRIES      512u
#define PT_TABLE_SIZE   4096u
#define PT_MAX_LEVELS   6u

/* Entry bits (see io_pgtable.c for the whole format). */
#define PTE_P           (1ULL << 0)   /* present */
#define PTE_R           (1ULL << 1)   /* leaf: device may read */
#define PTE_W           (1ULL << 2)   /* leaf: device may write */
#define PTE_L           (1ULL << 3)   /* leaf (always at level 0; "huge" at levels 1 and 2) */
#define PTE_A           (1ULL << 4)   /* accessed: set by a hardware walk */
#define PTE_D           (1ULL << 5)   /* dirty: set by a hardware walk for a write (dirty tracking) */
#define PTE_C           (1ULL << 6)   /* cache coherent (MOCK_PROT_CACHE) */
#define PTE_ADDR_SHIFT  11
#define PTE_ADDR_MASK   0x01FFFFFFFFFFF800ULL  /* bits 11..56: 2K-aligned addresses */
#define PTE_ADDR_LIMIT  (1ULL << 57)            /* output addresses must lie below this */

struct io_pgtable {
	uint64_t *root;
	unsigned int levels;         /* 3..6 */
	unsigned int ias_bits;       /* 39, 48 or 57 */
	unsigned int gshift;         /* log2 of the granule: 12 (4K) or 11 (2K) */
	uint64_t pgsize_bitmap;      /* leaf sizes this table may use: the granule required */
	uint64_t aperture_start;     /* 0 unless io_pgtable_set_aperture() narrowed it */
	uint64_t aperture_end;       /* 2^ias_bits - 1 unless narrowed */
	uint64_t table_pages;        /* tables in the tree, root included */
	uint64_t *spare;             /* retired (empty) tables, chained through entry 0 */
	uint64_t spare_pages;
	bool dirty_tracking;         /* hardware walks set PTE_D on writes (atomic access) */
};

/* One translation as found in the tables. */
struct pt_leaf {
	uint64_t iova;               /* first IOVA of the leaf */
	uint64_t paddr;              /* first output address of the leaf */
	uint64_t size;               /* granule << (9 * level) */
	int prot;                    /* MOCK_PROT_* */
	uint64_t pte;                /* the raw entry (A/D included) */
};

/* Unmap bookkeeping: the span of removed leaves ([first, last]; first > last when nothing). */
struct pt_unmap_span {
	uint64_t first;
	uint64_t last;
	uint64_t max_pgsize;
};

/* The granule shift (12 or 11) of a leaf-size bitmap, or -EINVAL when its lowest bit is neither
 * 4K nor 2K or it holds sizes other than granule << {0, 9, 18}. */
int io_pgtable_granule_shift(uint64_t pgsize_bitmap);

/* Whether [start, last] can be the aperture of a table of ias_bits and that granule: start
 * <= last < 2^ias_bits, start granule aligned, last + 1 granule aligned unless last is the top. */
bool io_pgtable_aperture_ok(unsigned int ias_bits, unsigned int gshift, uint64_t start,
			    uint64_t last);

/* Allocate the root. -EINVAL for an unsupported ias_bits or bitmap; -ENOMEM. */
int io_pgtable_init(struct io_pgtable *pt, unsigned int ias_bits, uint64_t pgsize_bitmap);
/* Narrow the input aperture to [start, last] (io_pgtable_aperture_ok, else -EINVAL). Call
 * before any map. */
int io_pgtable_set_aperture(struct io_pgtable *pt, uint64_t start, uint64_t last);
/* Free every table (the leaves' memory is not ours). */
void io_pgtable_destroy(struct io_pgtable *pt);

/* Map [iova, iova + len) -> [paddr, paddr + len). pgsize_mask 0 means all of pt's sizes; else
 * each of its bits allows the largest leaf size of pt not above it (a 4K bit on a 2K-granule
 * table allows 2K leaves: "no leaf bigger than a CPU page"). iova, paddr and len must be aligned
 * to the smallest size allowed. All-or-nothing: -EINVAL, -EEXIST, -ENOMEM leave no new leaf
 * behind. */
int io_pgtable_map(struct io_pgtable *pt, uint64_t iova, uint64_t paddr, uint64_t len, int prot,
		   uint64_t pgsize_mask);

/* Remove the leaves covering [iova, iova + len) (granule aligned; 0 otherwise). Leaves that
 * straddle the range are removed whole. Returns the bytes removed; `span` (may be NULL) is
 * extended with the removed leaves. Holes are skipped. Tables are kept. */
uint64_t io_pgtable_unmap(struct io_pgtable *pt, uint64_t iova, uint64_t len,
			  struct pt_unmap_span *span);

/* Software walk, no side effects: 0 and *leaf, or -ENOENT. */
int io_pgtable_lookup(const struct io_pgtable *pt, uint64_t iova, struct pt_leaf *leaf);

/* Hardware walk: like io_pgtable_lookup but marks the leaf accessed, and dirty for a write when
 * pt->dirty_tracking is on and the leaf is writable (atomic updates: safe with concurrent
 * walks). */
int io_pgtable_walk_hw(struct io_pgtable *pt, uint64_t iova, bool write, struct pt_leaf *leaf);

/* Set D in the leaf translating iova whatever the tracking state: 0, or -ENOENT. */
int io_pgtable_set_dirty(struct io_pgtable *pt, uint64_t iova);

/* Report (and, with clear, reset) the dirty bit of every leaf intersecting [iova, iova + len):
 * cb is called once per dirty leaf with the whole leaf. Returns the number of dirty leaves. */
uint64_t io_pgtable_read_dirty(struct io_pgtable *pt, uint64_t iova, uint64_t len, bool clear,
			       void (*cb)(void *arg, uint64_t iova, uint64_t size), void *arg);

/* Count present leaves of each level in the whole table: out[0] granule leaves, out[1] level-1
 * leaves (2M or 1M), out[2] level-2 leaves (1G or 512M). */
void io_pgtable_count_leaves(const struct io_pgtable *pt, uint64_t out[3]);

static inline unsigned int pt_level_shift(const struct io_pgtable *pt, unsigned int level)
{
	return pt->gshift + 9 * level;
}

#endif
