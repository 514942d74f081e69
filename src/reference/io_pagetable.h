/* io_pagetable.h — an IOAS's address space: areas (mapped IOVA ranges) backed by pinnable
 * pages, the allowed and reserved IOVA ranges, the IOVA allocator, and the domains that mirror
 * every area. Mirrors drivers/iommu/iommufd/io_pagetable.{c,h} and pages.c in semantics.
 *
 * Pinning is lazy, as in the kernel: an area is pinned (memory populated and charged against
 * RLIMIT_MEMLOCK) only while the io_pagetable has at least one domain. Pages shared by
 * IOMMU_IOAS_COPY are one struct ref_pages, so overlapping pins are charged once.
 *
 * Events: reserved ranges added and removed (IOAS_RESERVE) and allowed ranges set (IOAS_ALLOW)
 * are raised here, under iopt->lock; maps and unmaps by their callers (ioas.c, vfio_compat.c),
 * which know the call they serve.
 *
 * Locking: iopt->lock (a mutex) protects the trees, the domain list and every area of this
 * iopt. pages->lock protects a pages object's pin state, which several iopts may share.
 * Order: iopt->lock, then pages->lock.
 */
#ifndef IOASID_REFERENCE_IO_PAGETABLE_H
#define IOASID_REFERENCE_IO_PAGETABLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/interval_tree.h"
#include "mockhw/mock_iommu.h"

struct ioasid_ctx;

enum ref_pages_type { REF_PAGES_USER, REF_PAGES_FILE };

/* A pinnable range of memory: user VA (IOAS_MAP) or a file range (IOAS_MAP_FILE). */
struct ref_pages {
	uint32_t refs;                /* atomic: areas (in any iopt) + transient holders */
	pthread_mutex_t lock;
	enum ref_pages_type type;
	struct ioasid_ctx *ctx;       /* charged context */
	uint64_t uptr;                /* USER: page-aligned VA of index 0 */
	uint64_t npages;
	bool writable;
	int account_mode;             /* enum ref_account_mode, fixed at creation */
	/* FILE */
	int file_fd;                  /* private dup, closed on release */
	uint64_t file_start;          /* page-aligned file offset of index 0 */
	void *file_map;               /* host mapping while pinned (NULL otherwise) */
	size_t file_map_len;
	uint64_t file_map_delta;      /* file_start - offset mapped at file_map */
	/* pin state */
	struct itree_root pin_tree;   /* index spans of pinned areas */
	uint64_t npinned;             /* size of their union, charged once */
};

struct io_pagetable;
struct iopt_access_pin;       /* io_pagetable.c */
struct iopt_access_hook;

struct iopt_area {
	struct itree_node node;       /* IOVA [start, last] */
	struct itree_node pin_node;   /* page indexes, in pages->pin_tree while pinned */
	struct io_pagetable *iopt;
	struct ref_pages *pages;      /* NULL until fully set up (then unmap gives EBUSY) */
	uint64_t start_byte;          /* offset of the area's first byte from pages index 0 */
	int prot;                     /* MOCK_PROT_* */
	bool pinned;
	/* access pins (iopt_access_pin): an area with pins cannot be unmapped until every access
	 * that holds them has unpinned (iopt_unmap_iova asks them; EBUSY if they do not) */
	uint32_t num_accesses;        /* pins held in this area, counting each pin call */
	bool prevent_access;          /* an unmap is waiting for the pins to go: no new pins */
	struct iopt_access_pin *access_pins;
};

struct iopt_span {                    /* an allowed or reserved range */
	struct itree_node node;
	const void *owner;
};

struct io_pagetable {
	pthread_mutex_t lock;
	struct itree_root area_itree;
	struct itree_root allowed_itree;
	struct itree_root reserved_itree;
	struct mock_domain **domains;
	uint32_t nr_domains, max_domains;
	bool disable_large_pages;
	uint64_t iova_alignment;
	/* accesses attached to this IOAS (iopt_add_access) and notify calls in flight */
	struct iopt_access_hook *accesses;
	pthread_cond_t access_idle;
	/* process-wide list of io_pagetables (MD_CHECK_REFS counts pins across all of them) */
	struct io_pagetable *registry_prev, *registry_next;
	/* whose IOAS this is, as events name it (IOAS_RESERVE, IOAS_ALLOW) */
	uint64_t event_ctx;
	uint32_t event_ioas;
};

#define IOPT_ALLOC_IOVA (1u << 0)

/* event_ctx, event_ioas: the IOAS in events (its context's cookie and its ID). */
void iopt_init_table(struct io_pagetable *iopt, uint64_t event_ctx, uint32_t event_ioas);
void iopt_destroy_table(struct io_pagetable *iopt);   /* areas must be gone */

/* *pinned (may be NULL) is increased by the pages this map newly pinned (charged): the IOAS_MAP
 * event's value. Nothing is pinned while the IOAS has no domain. */
int iopt_map_user_pages(struct ioasid_ctx *ctx, struct io_pagetable *iopt, uint64_t *iova,
			uint64_t uptr, uint64_t length, int prot, unsigned int flags,
			uint64_t *pinned);
int iopt_map_file_pages(struct ioasid_ctx *ctx, struct io_pagetable *iopt, uint64_t *iova,
			int fd, uint64_t start, uint64_t length, int prot, unsigned int flags,
			uint64_t *pinned);

/* COPY: collect the pages behind a contiguous IOVA range of src, then map them into dst. */
struct iopt_pages_list {
	struct iopt_pages_elm {
		struct ref_pages *pages;
		struct iopt_area *area;   /* the dst area being built */
		uint64_t start_byte;
		uint64_t length;
	} *elms;
	uint32_t nr, max;
};
int iopt_get_pages(struct io_pagetable *iopt, uint64_t iova, uint64_t length,
		   struct iopt_pages_list *list);
int iopt_map_pages(struct io_pagetable *iopt, struct iopt_pages_list *list, uint64_t length,
		   uint64_t *dst_iova, int prot, unsigned int flags, uint64_t *pinned);
void iopt_free_pages_list(struct iopt_pages_list *list);

int iopt_unmap_iova(struct io_pagetable *iopt, uint64_t iova, uint64_t length, uint64_t *unmapped);
int iopt_unmap_all(struct io_pagetable *iopt, uint64_t *unmapped);

int iopt_set_allow_iova(struct io_pagetable *iopt, struct itree_root *allowed);
/* Free every struct iopt_span of a tree (allowed or reserved ranges). */
void iopt_free_span_tree(struct itree_root *root);
int iopt_reserve_iova(struct io_pagetable *iopt, uint64_t start, uint64_t last, const void *owner);
void iopt_remove_reserved_iova(struct io_pagetable *iopt, const void *owner);

int iopt_disable_large_pages(struct io_pagetable *iopt);
void iopt_enable_large_pages(struct io_pagetable *iopt);
/* VFIO TYPE1 v1: cut the area holding each iovas[i], in order, so that one part ends there
 * (the kernel's iopt_cut_iova; a cut at an area's first or last byte, or where no area is, does
 * nothing). 0, or the first refusal: EBUSY, EINVAL, ENOMEM (io_pagetable.c says when). */
int iopt_cut_iova(struct io_pagetable *iopt, const uint64_t *iovas, size_t num_iovas);

int iopt_table_add_domain(struct io_pagetable *iopt, struct mock_domain *dom);
void iopt_table_remove_domain(struct io_pagetable *iopt, struct mock_domain *dom);

/* ---- access objects: software users of an IOAS (the kernel's iommufd_access) ------------------
 * An access attaches a hook to the io_pagetable. Its pins are counted per area; unmapping a range
 * that holds pins first drops iopt->lock and calls notify_unmap of every attached access (the
 * owner must unpin what it holds in that range), then retries once and fails with EBUSY if pins
 * remain (the kernel's iopt_unmap_iova_range + iommufd_access_notify_unmap). An access needing
 * pinned pages raises the IOAS's IOVA alignment to PAGE_SIZE while attached. */
struct iopt_access_hook {
	struct iopt_access_hook *next;          /* iopt->accesses, under iopt->lock */
	uint64_t iova_alignment;                /* 1, or PAGE_SIZE_REF for pinning users */
	/* Called without iopt locks; [iova, iova + length) is going away. */
	void (*notify_unmap)(struct iopt_access_hook *hook, uint64_t iova, uint64_t length);
	uint32_t notifying;                     /* notify calls in flight, under iopt->lock */
};
/* -EADDRINUSE if an existing area conflicts with the hook's alignment. */
int iopt_add_access(struct io_pagetable *iopt, struct iopt_access_hook *hook);
/* Waits for notify calls in flight on this hook. */
void iopt_remove_access(struct io_pagetable *iopt, struct iopt_access_hook *hook);

#define IOPT_ACCESS_WRITE (1u << 0)
/* Pin [iova, iova + length) for an access (iommufd_access_pin_pages): the range must be covered
 * by contiguous areas (ENOENT), start on a page boundary of the backing memory and only cross
 * between areas at page boundaries (EINVAL, also while an unmap waits), and the areas must allow
 * the access (EPERM). out_pages gets the host address of each CPU page of the span. */
int iopt_access_pin(struct io_pagetable *iopt, uint64_t iova, uint64_t length, void **out_pages,
		    unsigned int flags);
/* Undo one iopt_access_pin of exactly this range. */
void iopt_access_unpin(struct io_pagetable *iopt, uint64_t iova, uint64_t length);
/* Copy to (IOPT_ACCESS_WRITE) or from the memory behind [iova, iova + length), by the CPU, no
 * pinning needed (iommufd_access_rw): ENOENT for a gap, EINVAL while an unmap waits, EPERM for a
 * missing permission, EFAULT if the memory is gone. */
int iopt_access_rw(struct io_pagetable *iopt, uint64_t iova, void *data, size_t length,
		   unsigned int flags);

/* MD_CHECK_REFS: for each CPU page of [uptr, uptr + npages * PAGE_SIZE_REF) of this process,
 * how many pages objects (of any io_pagetable of any context) hold it pinned — the kernel's
 * page pin count. Memory mapped through IOAS_MAP_FILE is counted under its own mapping only. */
int iopt_count_user_pins(uint64_t uptr, uint64_t npages, uint32_t *pins);

/* ---- pages (pages.c) ----------------------------------------------------------------------- */
struct ref_pages *ref_pages_alloc_user(struct ioasid_ctx *ctx, uint64_t uptr, uint64_t length,
				       bool writable, int *err);
struct ref_pages *ref_pages_alloc_file(struct ioasid_ctx *ctx, int fd, uint64_t start,
				       uint64_t length, bool writable, int *err);
void ref_pages_get(struct ref_pages *pages);
void ref_pages_put(struct ref_pages *pages);
/* Pin the page indexes of an area (populate + charge); idempotent per area. *charged (may be
 * NULL) is increased by the pages newly charged (not pinned by another area before). */
int ref_pages_pin_area(struct iopt_area *area, uint64_t *charged);
/* lhs was cut and rhs took its tail: if lhs was pinned, both are, with nothing charged. */
void ref_pages_split_pin(struct iopt_area *lhs, struct iopt_area *rhs);
void ref_pages_unpin_area(struct iopt_area *area);
/* The same; uncharge false leaves the pages charged to their account and context (only the
 * "unmap-leak-pins" bug, MAP-3: the pins go, the accounting does not). */
void ref_pages_unpin_area_account(struct iopt_area *area, bool uncharge);
/* Host address of the area's first byte; valid while the area is pinned. */
uint64_t ref_area_host_addr(const struct iopt_area *area);

static inline uint64_t iopt_area_iova(const struct iopt_area *a) { return a->node.start; }
static inline uint64_t iopt_area_last_iova(const struct iopt_area *a) { return a->node.last; }
static inline uint64_t iopt_area_length(const struct iopt_area *a)
{
	return a->node.last - a->node.start + 1;
}

#endif
