/* model.h — the checker's shadow of the iommufd world, built only from events.
 *
 * What it owns: contexts, devices, groups, objects (IOASes and HWPTs), hardware domains,
 * attachments per (device, PASID), threads (which domains an IOAS operation touched), global
 * PASIDs and per-process memlock predictions. Every entity lives in its own open-addressing
 * hash table keyed by value (never by pointer), so an entity that dies leaves no dangling
 * reference behind: cross-references are keys, looked up when needed.
 *
 * Namespaces: `ns` is the event's pid for reference sources (REFERENCE, INPROC: every process
 * has its own mock platform and hardware) and 0 for kernel sources and SOURCE_NONE. Contexts
 * are keyed (pid, ctx), devices (ns, dev), groups (ns, group), domains (ns, iommu, domain),
 * objects (pid, ctx, obj), attachments (ns, dev, pasid).
 *
 * Allocation: entities are allocated when they are born (bind, object allocation, first
 * sight); the map/unmap path only takes interval-tree nodes from a free-list pool, so a
 * steady map/unmap stream does no malloc. Lookups are O(1); each table has a one-entry cache
 * for the entity looked up last (streams hit the same IOAS / domain again and again).
 *
 * Not thread-safe: the checker that owns it is fed by one thread.
 */
#ifndef IOASID_CHECK_MODEL_H
#define IOASID_CHECK_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/interval_tree.h"
#include "ioasid/event.h"

/* ---- hash table --------------------------------------------------------------------------- */
struct ck_slot {
	uint64_t a, b;
	void *val;                      /* NULL: empty */
};

struct ck_htab {
	struct ck_slot *slots;
	size_t cap, n;                  /* cap: power of two (0 before the first insert) */
	/* one-entry cache */
	uint64_t ca, cb;
	void *cval;
};

void *ck_htab_get_slow(struct ck_htab *h, uint64_t a, uint64_t b);
static inline void *ck_htab_get(struct ck_htab *h, uint64_t a, uint64_t b)
{
	if (h->cval && h->ca == a && h->cb == b)
		return h->cval;
	return ck_htab_get_slow(h, a, b);
}
int ck_htab_put(struct ck_htab *h, uint64_t a, uint64_t b, void *val); /* key must be absent */
void *ck_htab_del(struct ck_htab *h, uint64_t a, uint64_t b);
void ck_htab_free(struct ck_htab *h);

/* ---- ranges -------------------------------------------------------------------------------- */
struct ck_range {
	uint64_t start, last;           /* inclusive */
};

/* Interval-tree nodes come from a pool (free list), never from malloc on the common path. */
struct ck_node {
	struct itree_node it;
	struct ck_node *next_free;
};

struct ck_pool {
	struct ck_node *free;
	void **chunks;
	size_t nchunks, cap_chunks;
};

struct ck_node *ck_node_get(struct ck_pool *p);        /* NULL: out of memory */
void ck_node_put(struct ck_pool *p, struct ck_node *n);
void ck_pool_free(struct ck_pool *p);

/* A range tree: a multiset of closed ranges. */
int ck_tree_add(struct ck_pool *p, struct itree_root *t, uint64_t start, uint64_t last);
/* What a removal took away: bytes, pages (each node's length rounded up to 4 KiB pages, as
 * ck_pages() counts them when added) and nodes (a split adds one: nodes may go negative). */
struct ck_removed {
	uint64_t bytes, pages;
	int64_t nodes;
};
static inline uint64_t ck_pages(uint64_t start, uint64_t last)
{
	uint64_t len = last - start;    /* length - 1: no overflow for the whole space */

	return len / 4096 + 1;
}
/* Remove the nodes fully inside [start, last]. */
struct ck_removed ck_tree_remove_inside(struct ck_pool *p, struct itree_root *t, uint64_t start,
					uint64_t last);
/* Remove [start, last] from every node (trimming and splitting); *rm (may be NULL) says what
 * went. 0 or -ENOMEM. */
int ck_tree_punch(struct ck_pool *p, struct itree_root *t, uint64_t start, uint64_t last,
		  struct ck_removed *rm);
/* Remove one node equal to [start, last]; false if none. */
bool ck_tree_remove_exact(struct ck_pool *p, struct itree_root *t, uint64_t start, uint64_t last);
void ck_tree_clear(struct ck_pool *p, struct itree_root *t);
/* Is [start, last] covered by the union of the tree's ranges? */
bool ck_tree_covers(const struct itree_root *t, uint64_t start, uint64_t last);

/* [iova, iova + length) as a closed range; length UINT64_MAX means "to the end". false for
 * length 0 or an overflowing range (such events carry nothing to model). */
static inline bool ck_span(uint64_t iova, uint64_t length, uint64_t *last)
{
	if (!length)
		return false;
	if (length == UINT64_MAX) {
		*last = UINT64_MAX;
		return true;
	}
	if (__builtin_add_overflow(iova, length - 1, last))
		return false;
	return true;
}

/* ---- entities ------------------------------------------------------------------------------ */
struct ck_pidstate {
	uint32_t pid;
	uint64_t need_pages;            /* sum over its IOASes of area pages */
	uint64_t limit_pages;           /* last ACCOUNT iova (0: unknown) */
	bool memlock_warned;
};

struct ck_ctx {
	uint32_t pid;
	uint64_t ctx;
	bool born;                      /* CTX_OPEN seen: whole history known */
	bool account_known;
	bool map3_reported;
	uint64_t last_account;          /* ACCOUNT value: pages pinned by ctx */
	uint32_t naccess;               /* live ACCESS objects */
	uint64_t nareas;                /* areas over all its IOASes */
	uint32_t ngpasid;               /* global PASIDs owned */
	struct ck_pidstate *pidst;
};

struct ck_device {
	uint32_t ns, dev;
	char name[IOASID_EVENT_NAME_LEN];
	uint32_t group;                 /* 0: not known */
	uint8_t driver;                 /* enum ioasid_driver_kind */
	bool driver_known;
	bool bound;                     /* bound for ownership (DEV_BIND aux 0) */
	bool emu;                       /* bound as an emulated (access) device (aux 1) */
	bool pasid_known;
	uint32_t bound_pid, emu_pid;
	uint64_t bound_ctx, emu_ctx;
	uint32_t pasid_bits, group_len, iommu;
	uint32_t nattach, cap_attach;
	uint32_t *attach_pasids;        /* the PASIDs it is attached at */
};

struct ck_group {
	uint32_t ns, group;
	bool claimed;
	uint32_t claim_pid;
	uint64_t claim_ctx;
	uint32_t nbound;                /* member devices bound for ownership */
	uint32_t nmembers, cap_members;
	uint32_t *members;              /* dev numbers seen in it */
	uint8_t warned;                 /* viability warnings given (bits) */
};

struct ck_attach {
	uint32_t ns, dev, pasid;
	uint32_t pid;                   /* the attaching context */
	uint64_t ctx;
	uint32_t hwpt, iommu, domain;
};

struct ck_object {
	uint32_t pid, obj;
	uint64_t ctx;
	struct ck_ctx *owner;           /* its context (objects die before their context) */
	uint8_t kind;                   /* enum ioasid_obj_kind (0: known only from HWPT_ALLOC) */
	bool born;                      /* OBJ_ALLOC / HWPT_ALLOC seen */
	/* HWPT */
	bool hwpt_known;                /* HWPT_ALLOC seen */
	uint32_t flags, pt, iommu, domain;
	uint32_t nattach;               /* (device, pasid) attachments to it */
	uint32_t nchildren;             /* live nested HWPTs whose parent it is */
	/* IOAS */
	struct itree_root areas;
	struct itree_root reserved;
	struct ck_range *allowed;       /* the allowed set (nallowed 0: everything) */
	uint32_t nallowed, cap_allowed;
	uint32_t nhwpt;                 /* live paging HWPTs on it */
	uint64_t area_pages;
	uint32_t map_warn_next;         /* the next map-count threshold */
};

struct ck_domain {
	uint32_t ns, iommu, domain;
	bool has_hwpt;
	bool nested;
	bool tracked;                   /* HWPT_ALLOC seen, paging: its mappings are all known */
	bool lazy;                      /* non-strict unmap flushes seen: MAP-2 (a) not applied */
	bool user_inv;                  /* an IOTLB_INV reason USER since its HWPT_ALLOC */
	bool stale_pending;             /* a stale hit was reported; the DMA it served is not */
	bool stale_reported;            /* its missed flush was reported (MAP-2/MAP-4): the stale
	                                 * hits that follow are the same bug, until a flush */
	uint32_t hwpt_pid, hwpt_obj;
	uint64_t hwpt_ctx;
	struct itree_root maps;         /* DOMAIN_MAP'd ranges (tracked domains) */
	struct ck_range *unflushed;
	uint32_t nunflushed, cap_unflushed;
	uint32_t *dirty_pasids;         /* global PASIDs detached and not yet flushed */
	uint32_t ndirty, cap_dirty;
	/* the last IOTLB_INV: a detach's own flush precedes its DEV_DETACH event */
	uint32_t inv_pasid, inv_pid, inv_tid;
	uint64_t inv_at;                /* its event number (0: none) */
};

#define CK_THREAD_DOMAINS 16
struct ck_thread {
	uint32_t pid, tid;
	uint32_t ntouched;
	struct { uint32_t ns, iommu, domain; } touched[CK_THREAD_DOMAINS];
	uint64_t last_op;               /* event number of its last attach / detach / replace */
};

struct ck_gpasid {
	uint32_t ns, pasid;
	bool owned, ever;
	uint32_t owner_pid;
	uint64_t owner_ctx;
	uint32_t ndirty;                /* domains holding unflushed state for it */
};

struct ck_model {
	struct ck_htab ctxs, devices, groups, attaches, objects, domains, threads, gpasids, pids;
	struct ck_pool pool;
	uint64_t total_areas, bound_devices, claimed_groups, hwpts;
};

/* Keys. */
#define CK_KEY_CTX(pid, ctx)            (uint64_t)(ctx), (uint64_t)(pid)
#define CK_KEY_DEV(ns, dev)             (uint64_t)(dev), (uint64_t)(ns)
#define CK_KEY_GROUP(ns, group)         (uint64_t)(group), (uint64_t)(ns)
#define CK_KEY_DOMAIN(ns, iommu, dom)   ((uint64_t)(iommu) << 32 | (dom)), (uint64_t)(ns)
#define CK_KEY_OBJ(pid, ctx, obj)       (uint64_t)(ctx), ((uint64_t)(pid) << 32 | (obj))
#define CK_KEY_ATTACH(ns, dev, pasid)   ((uint64_t)(dev) << 32 | (pasid)), (uint64_t)(ns)
#define CK_KEY_THREAD(pid, tid)         (uint64_t)(tid), (uint64_t)(pid)
#define CK_KEY_GPASID(ns, pasid)        (uint64_t)(pasid), (uint64_t)(ns)

static inline uint32_t ck_ns(const struct ioasid_event *ev)
{
	return (ev->source == IOASID_SRC_REFERENCE || ev->source == IOASID_SRC_INPROC) ? ev->pid : 0;
}

void ck_model_init(struct ck_model *m);
void ck_model_free(struct ck_model *m);

/* Find-or-create (NULL: out of memory). */
struct ck_ctx *ck_ctx_get(struct ck_model *m, uint32_t pid, uint64_t ctx);
struct ck_device *ck_device_get(struct ck_model *m, uint32_t ns, uint32_t dev);
struct ck_group *ck_group_get(struct ck_model *m, uint32_t ns, uint32_t group);
struct ck_object *ck_object_get(struct ck_model *m, uint32_t pid, uint64_t ctx, uint32_t obj);
struct ck_domain *ck_domain_get(struct ck_model *m, uint32_t ns, uint32_t iommu, uint32_t dom);
struct ck_thread *ck_thread_get(struct ck_model *m, uint32_t pid, uint32_t tid);
struct ck_gpasid *ck_gpasid_get(struct ck_model *m, uint32_t ns, uint32_t pasid);
struct ck_pidstate *ck_pid_get(struct ck_model *m, uint32_t pid);

/* Lookup only (NULL: unknown). */
static inline struct ck_ctx *ck_ctx_find(struct ck_model *m, uint32_t pid, uint64_t ctx)
{
	return ck_htab_get(&m->ctxs, CK_KEY_CTX(pid, ctx));
}
static inline struct ck_device *ck_device_find(struct ck_model *m, uint32_t ns, uint32_t dev)
{
	return ck_htab_get(&m->devices, CK_KEY_DEV(ns, dev));
}
static inline struct ck_group *ck_group_find(struct ck_model *m, uint32_t ns, uint32_t group)
{
	return ck_htab_get(&m->groups, CK_KEY_GROUP(ns, group));
}
static inline struct ck_object *ck_object_find(struct ck_model *m, uint32_t pid, uint64_t ctx,
					       uint32_t obj)
{
	return ck_htab_get(&m->objects, CK_KEY_OBJ(pid, ctx, obj));
}
static inline struct ck_domain *ck_domain_find(struct ck_model *m, uint32_t ns, uint32_t iommu,
					       uint32_t dom)
{
	return ck_htab_get(&m->domains, CK_KEY_DOMAIN(ns, iommu, dom));
}
static inline struct ck_attach *ck_attach_find(struct ck_model *m, uint32_t ns, uint32_t dev,
					       uint32_t pasid)
{
	return ck_htab_get(&m->attaches, CK_KEY_ATTACH(ns, dev, pasid));
}
static inline struct ck_gpasid *ck_gpasid_find(struct ck_model *m, uint32_t ns, uint32_t pasid)
{
	return ck_htab_get(&m->gpasids, CK_KEY_GPASID(ns, pasid));
}

/* Remember a device as a member of its group (and its name). 0 or -ENOMEM. */
int ck_group_add_member(struct ck_group *g, uint32_t dev);

/* Attachments. set: create or retarget (ns, dev, pasid) for (pid, ctx) to (hwpt, iommu,
 * domain), keeping HWPT user counts. remove: drop it (false: there was none). */
int ck_attach_set(struct ck_model *m, uint32_t ns, uint32_t dev, uint32_t pasid, uint32_t pid,
		  uint64_t ctx, uint32_t hwpt, uint32_t iommu, uint32_t domain);
bool ck_attach_remove(struct ck_model *m, uint32_t ns, uint32_t dev, uint32_t pasid);

/* Domains: forget one (its HWPT went), mark / clear a PASID's unflushed state. */
void ck_domain_forget(struct ck_model *m, struct ck_domain *d);
int ck_domain_dirty_add(struct ck_model *m, struct ck_domain *d, uint32_t pasid);
void ck_domain_dirty_clear(struct ck_model *m, struct ck_domain *d, uint32_t pasid);  /* ~0: all */

/* Unflushed ranges of a domain. */
int ck_unflushed_add(struct ck_domain *d, uint64_t start, uint64_t last);
void ck_unflushed_remove(struct ck_domain *d, uint64_t start, uint64_t last);
/* The first unflushed range overlapping [start, last], or NULL. */
const struct ck_range *ck_unflushed_overlap(const struct ck_domain *d, uint64_t start,
					    uint64_t last);

/* Objects: drop an IOAS's areas (accounting to its context), forget an object. */
void ck_ioas_drop_areas(struct ck_model *m, struct ck_object *o);
void ck_object_forget(struct ck_model *m, struct ck_object *o);

/* Forget everything of a context (its CTX_CLOSE). */
void ck_ctx_forget(struct ck_model *m, struct ck_ctx *cx);

#endif
