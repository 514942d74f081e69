/* model.c — the checker's shadow state: hash tables, range trees, entities (model.h).
 *
 * Hash tables: open addressing, linear probing, backward-shift deletion (no tombstones, so a
 * long map/unmap stream never degrades them), grown at 1/2 load. Keys are two u64 words.
 * Range trees: src/common/interval_tree over nodes from a free-list pool.
 *
 * Invariants kept here: an object's nattach equals the attachments whose HWPT it is; a
 * context's nareas equals the areas of its IOASes; a pid's need_pages equals the pages of the
 * areas of its contexts' IOASes; a global PASID's ndirty equals the domains listing it dirty;
 * a group's nbound equals its members bound for ownership (the callers in rules_*.c keep this
 * last one).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check/model.h"

/* ---- hash table ------------------------------------------------------------------------------ */
static inline uint64_t ck_hash(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL) * 0xc2b2ae3d27d4eb4fULL;

	return h ^ (h >> 29);
}

void *ck_htab_get_slow(struct ck_htab *h, uint64_t a, uint64_t b)
{
	size_t mask, i;

	if (!h->n)
		return NULL;
	mask = h->cap - 1;
	for (i = ck_hash(a, b) & mask;; i = (i + 1) & mask) {
		struct ck_slot *s = &h->slots[i];

		if (!s->val)
			return NULL;
		if (s->a == a && s->b == b) {
			h->ca = a;
			h->cb = b;
			h->cval = s->val;
			return s->val;
		}
	}
}

static void htab_insert_raw(struct ck_slot *slots, size_t cap, uint64_t a, uint64_t b, void *val)
{
	size_t mask = cap - 1, i;

	for (i = ck_hash(a, b) & mask; slots[i].val; i = (i + 1) & mask)
		;
	slots[i] = (struct ck_slot){ a, b, val };
}

int ck_htab_put(struct ck_htab *h, uint64_t a, uint64_t b, void *val)
{
	if ((h->n + 1) * 2 > h->cap) {
		size_t ncap = h->cap ? h->cap * 2 : 64;
		struct ck_slot *ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		for (size_t i = 0; i < h->cap; i++)
			if (h->slots[i].val)
				htab_insert_raw(ns, ncap, h->slots[i].a, h->slots[i].b, h->slots[i].val);
		free(h->slots);
		h->slots = ns;
		h->cap = ncap;
	}
	htab_insert_raw(h->slots, h->cap, a, b, val);
	h->n++;
	return 0;
}

void *ck_htab_del(struct ck_htab *h, uint64_t a, uint64_t b)
{
	size_t mask, i, j;
	void *val;

	if (!h->n)
		return NULL;
	if (h->cval && h->ca == a && h->cb == b)
		h->cval = NULL;
	mask = h->cap - 1;
	for (i = ck_hash(a, b) & mask;; i = (i + 1) & mask) {
		if (!h->slots[i].val)
			return NULL;
		if (h->slots[i].a == a && h->slots[i].b == b)
			break;
	}
	val = h->slots[i].val;
	/* backward shift: pull later members of the probe run into the hole */
	for (j = (i + 1) & mask; h->slots[j].val; j = (j + 1) & mask) {
		size_t home = ck_hash(h->slots[j].a, h->slots[j].b) & mask;

		/* slot j may move to i if its home is not cyclically inside (i, j] */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			h->slots[i] = h->slots[j];
			i = j;
		}
	}
	h->slots[i].val = NULL;
	h->n--;
	return val;
}

void ck_htab_free(struct ck_htab *h)
{
	free(h->slots);
	memset(h, 0, sizeof(*h));
}

/* ---- node pool and range trees ---------------------------------------------------------------- */
#define CK_POOL_CHUNK 1024

struct ck_node *ck_node_get(struct ck_pool *p)
{
	struct ck_node *n = p->free;

	if (!n) {
		struct ck_node *chunk;

		if (p->nchunks == p->cap_chunks) {
			size_t ncap = p->cap_chunks ? p->cap_chunks * 2 : 16;
			void **nc = realloc(p->chunks, ncap * sizeof(*nc));

			if (!nc)
				return NULL;
			p->chunks = nc;
			p->cap_chunks = ncap;
		}
		chunk = malloc(CK_POOL_CHUNK * sizeof(*chunk));
		if (!chunk)
			return NULL;
		p->chunks[p->nchunks++] = chunk;
		for (size_t i = 0; i < CK_POOL_CHUNK; i++) {
			chunk[i].next_free = p->free;
			p->free = &chunk[i];
		}
		n = p->free;
	}
	p->free = n->next_free;
	return n;
}

void ck_node_put(struct ck_pool *p, struct ck_node *n)
{
	n->next_free = p->free;
	p->free = n;
}

void ck_pool_free(struct ck_pool *p)
{
	for (size_t i = 0; i < p->nchunks; i++)
		free(p->chunks[i]);
	free(p->chunks);
	memset(p, 0, sizeof(*p));
}

int ck_tree_add(struct ck_pool *p, struct itree_root *t, uint64_t start, uint64_t last)
{
	struct ck_node *n = ck_node_get(p);

	if (!n)
		return -ENOMEM;
	n->it.start = start;
	n->it.last = last;
	itree_insert(t, &n->it);
	return 0;
}

static inline struct ck_node *to_node(struct itree_node *it)
{
	return (struct ck_node *)it;    /* `it` is the first member */
}

struct ck_removed ck_tree_remove_inside(struct ck_pool *p, struct itree_root *t, uint64_t start,
					uint64_t last)
{
	struct ck_removed rm = { 0, 0, 0 };
	struct itree_node *n, *next;

	for (n = itree_iter_first(t, start, last); n; n = next) {
		next = itree_iter_next(n, start, last);
		if (n->start >= start && n->last <= last) {
			rm.bytes += n->last - n->start + 1;
			rm.pages += ck_pages(n->start, n->last);
			rm.nodes++;
			itree_remove(t, n);
			ck_node_put(p, to_node(n));
		}
	}
	return rm;
}

int ck_tree_punch(struct ck_pool *p, struct itree_root *t, uint64_t start, uint64_t last,
		  struct ck_removed *out)
{
	struct ck_removed rm = { 0, 0, 0 };
	struct itree_node *n;
	int rc = 0;

	/* each pass removes or trims one overlapping node; trimmed pieces no longer overlap */
	while ((n = itree_iter_first(t, start, last))) {
		uint64_t a = n->start, b = n->last;

		itree_remove(t, n);
		rm.pages += ck_pages(a, b);
		if (a < start && b > last) {
			n->last = start - 1;
			itree_insert(t, n);
			rm.pages -= ck_pages(a, start - 1);
			if (ck_tree_add(p, t, last + 1, b)) {
				rc = -ENOMEM;
				rm.nodes++;
				break;
			}
			rm.pages -= ck_pages(last + 1, b);
			rm.nodes--;
		} else if (a < start) {
			n->last = start - 1;
			itree_insert(t, n);
			rm.pages -= ck_pages(a, start - 1);
		} else if (b > last) {
			n->start = last + 1;
			itree_insert(t, n);
			rm.pages -= ck_pages(last + 1, b);
		} else {
			ck_node_put(p, to_node(n));
			rm.nodes++;
		}
		rm.bytes += (b < last ? b : last) - (a > start ? a : start) + 1;
	}
	if (out)
		*out = rm;
	return rc;
}

bool ck_tree_remove_exact(struct ck_pool *p, struct itree_root *t, uint64_t start, uint64_t last)
{
	for (struct itree_node *n = itree_iter_first(t, start, last); n;
	     n = itree_iter_next(n, start, last))
		if (n->start == start && n->last == last) {
			itree_remove(t, n);
			ck_node_put(p, to_node(n));
			return true;
		}
	return false;
}

void ck_tree_clear(struct ck_pool *p, struct itree_root *t)
{
	struct itree_node *n;

	while ((n = t->node)) {
		itree_remove(t, n);
		ck_node_put(p, to_node(n));
	}
}

bool ck_tree_covers(const struct itree_root *t, uint64_t start, uint64_t last)
{
	struct itree_span_iter it;

	for (itree_span_iter_first(&it, t, start, last); !itree_span_iter_done(&it);
	     itree_span_iter_next(&it))
		if (it.is_hole)
			return false;
	return true;
}

/* ---- entities -------------------------------------------------------------------------------- */
void ck_model_init(struct ck_model *m)
{
	memset(m, 0, sizeof(*m));
}

static void *new_entity(struct ck_htab *h, uint64_t a, uint64_t b, size_t size)
{
	void *e = calloc(1, size);

	if (!e)
		return NULL;
	if (ck_htab_put(h, a, b, e)) {
		free(e);
		return NULL;
	}
	return e;
}

struct ck_pidstate *ck_pid_get(struct ck_model *m, uint32_t pid)
{
	struct ck_pidstate *p = ck_htab_get(&m->pids, pid, 0);

	if (!p && (p = new_entity(&m->pids, pid, 0, sizeof(*p))))
		p->pid = pid;
	return p;
}

struct ck_ctx *ck_ctx_get(struct ck_model *m, uint32_t pid, uint64_t ctx)
{
	struct ck_ctx *cx = ck_ctx_find(m, pid, ctx);

	if (cx)
		return cx;
	cx = new_entity(&m->ctxs, CK_KEY_CTX(pid, ctx), sizeof(*cx));
	if (!cx)
		return NULL;
	cx->pid = pid;
	cx->ctx = ctx;
	cx->pidst = ck_pid_get(m, pid);
	if (!cx->pidst) {
		free(ck_htab_del(&m->ctxs, CK_KEY_CTX(pid, ctx)));
		return NULL;
	}
	return cx;
}

struct ck_device *ck_device_get(struct ck_model *m, uint32_t ns, uint32_t dev)
{
	struct ck_device *d = ck_device_find(m, ns, dev);

	if (!d && (d = new_entity(&m->devices, CK_KEY_DEV(ns, dev), sizeof(*d)))) {
		d->ns = ns;
		d->dev = dev;
	}
	return d;
}

struct ck_group *ck_group_get(struct ck_model *m, uint32_t ns, uint32_t group)
{
	struct ck_group *g = ck_group_find(m, ns, group);

	if (!g && (g = new_entity(&m->groups, CK_KEY_GROUP(ns, group), sizeof(*g)))) {
		g->ns = ns;
		g->group = group;
	}
	return g;
}

struct ck_object *ck_object_get(struct ck_model *m, uint32_t pid, uint64_t ctx, uint32_t obj)
{
	struct ck_object *o = ck_object_find(m, pid, ctx, obj);
	struct ck_ctx *cx;

	if (o)
		return o;
	cx = ck_ctx_get(m, pid, ctx);
	if (cx && (o = new_entity(&m->objects, CK_KEY_OBJ(pid, ctx, obj), sizeof(*o)))) {
		o->owner = cx;
		o->pid = pid;
		o->ctx = ctx;
		o->obj = obj;
		o->map_warn_next = 4096;
	}
	return o;
}

struct ck_domain *ck_domain_get(struct ck_model *m, uint32_t ns, uint32_t iommu, uint32_t dom)
{
	struct ck_domain *d = ck_domain_find(m, ns, iommu, dom);

	if (!d && (d = new_entity(&m->domains, CK_KEY_DOMAIN(ns, iommu, dom), sizeof(*d)))) {
		d->ns = ns;
		d->iommu = iommu;
		d->domain = dom;
	}
	return d;
}

struct ck_thread *ck_thread_get(struct ck_model *m, uint32_t pid, uint32_t tid)
{
	struct ck_thread *t = ck_htab_get(&m->threads, CK_KEY_THREAD(pid, tid));

	if (!t && (t = new_entity(&m->threads, CK_KEY_THREAD(pid, tid), sizeof(*t)))) {
		t->pid = pid;
		t->tid = tid;
	}
	return t;
}

struct ck_gpasid *ck_gpasid_get(struct ck_model *m, uint32_t ns, uint32_t pasid)
{
	struct ck_gpasid *g = ck_gpasid_find(m, ns, pasid);

	if (!g && (g = new_entity(&m->gpasids, CK_KEY_GPASID(ns, pasid), sizeof(*g)))) {
		g->ns = ns;
		g->pasid = pasid;
	}
	return g;
}

static int u32_push(uint32_t **arr, uint32_t *n, uint32_t *cap, uint32_t v)
{
	if (*n == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 4;
		uint32_t *na = realloc(*arr, ncap * sizeof(*na));

		if (!na)
			return -ENOMEM;
		*arr = na;
		*cap = ncap;
	}
	(*arr)[(*n)++] = v;
	return 0;
}

static bool u32_drop(uint32_t *arr, uint32_t *n, uint32_t v)
{
	for (uint32_t i = 0; i < *n; i++)
		if (arr[i] == v) {
			arr[i] = arr[--*n];
			return true;
		}
	return false;
}

int ck_group_add_member(struct ck_group *g, uint32_t dev)
{
	for (uint32_t i = 0; i < g->nmembers; i++)
		if (g->members[i] == dev)
			return 0;
	return u32_push(&g->members, &g->nmembers, &g->cap_members, dev);
}

/* ---- attachments ----------------------------------------------------------------------------- */
static void hwpt_users(struct ck_model *m, uint32_t pid, uint64_t ctx, uint32_t hwpt, int delta)
{
	struct ck_object *o;

	if (!hwpt || !(o = ck_object_find(m, pid, ctx, hwpt)))
		return;
	if (delta < 0 && o->nattach)
		o->nattach--;
	else if (delta > 0)
		o->nattach++;
}

int ck_attach_set(struct ck_model *m, uint32_t ns, uint32_t dev, uint32_t pasid, uint32_t pid,
		  uint64_t ctx, uint32_t hwpt, uint32_t iommu, uint32_t domain)
{
	struct ck_attach *a = ck_attach_find(m, ns, dev, pasid);

	if (!a) {
		struct ck_device *d = ck_device_get(m, ns, dev);

		if (!d)
			return -ENOMEM;
		a = new_entity(&m->attaches, CK_KEY_ATTACH(ns, dev, pasid), sizeof(*a));
		if (!a)
			return -ENOMEM;
		if (u32_push(&d->attach_pasids, &d->nattach, &d->cap_attach, pasid)) {
			free(ck_htab_del(&m->attaches, CK_KEY_ATTACH(ns, dev, pasid)));
			return -ENOMEM;
		}
		a->ns = ns;
		a->dev = dev;
		a->pasid = pasid;
	} else {
		hwpt_users(m, a->pid, a->ctx, a->hwpt, -1);
	}
	a->pid = pid;
	a->ctx = ctx;
	a->hwpt = hwpt;
	a->iommu = iommu;
	a->domain = domain;
	hwpt_users(m, pid, ctx, hwpt, +1);
	return 0;
}

bool ck_attach_remove(struct ck_model *m, uint32_t ns, uint32_t dev, uint32_t pasid)
{
	struct ck_attach *a = ck_htab_del(&m->attaches, CK_KEY_ATTACH(ns, dev, pasid));
	struct ck_device *d;

	if (!a)
		return false;
	hwpt_users(m, a->pid, a->ctx, a->hwpt, -1);
	d = ck_device_find(m, ns, dev);
	if (d)
		u32_drop(d->attach_pasids, &d->nattach, pasid);
	free(a);
	return true;
}

/* ---- domains --------------------------------------------------------------------------------- */
int ck_domain_dirty_add(struct ck_model *m, struct ck_domain *d, uint32_t pasid)
{
	struct ck_gpasid *g;

	for (uint32_t i = 0; i < d->ndirty; i++)
		if (d->dirty_pasids[i] == pasid)
			return 0;
	if (u32_push(&d->dirty_pasids, &d->ndirty, &d->cap_dirty, pasid))
		return -ENOMEM;
	g = ck_gpasid_find(m, d->ns, pasid);
	if (g)
		g->ndirty++;
	return 0;
}

void ck_domain_dirty_clear(struct ck_model *m, struct ck_domain *d, uint32_t pasid)
{
	for (uint32_t i = 0; i < d->ndirty;) {
		if (pasid == UINT32_MAX || d->dirty_pasids[i] == pasid) {
			struct ck_gpasid *g = ck_gpasid_find(m, d->ns, d->dirty_pasids[i]);

			if (g && g->ndirty)
				g->ndirty--;
			d->dirty_pasids[i] = d->dirty_pasids[--d->ndirty];
		} else {
			i++;
		}
	}
}

void ck_domain_forget(struct ck_model *m, struct ck_domain *d)
{
	ck_domain_dirty_clear(m, d, UINT32_MAX);
	ck_tree_clear(&m->pool, &d->maps);
	ck_htab_del(&m->domains, CK_KEY_DOMAIN(d->ns, d->iommu, d->domain));
	free(d->unflushed);
	free(d->dirty_pasids);
	free(d);
}

int ck_unflushed_add(struct ck_domain *d, uint64_t start, uint64_t last)
{
	if (d->nunflushed == d->cap_unflushed) {
		uint32_t ncap = d->cap_unflushed ? d->cap_unflushed * 2 : 4;
		struct ck_range *nr = realloc(d->unflushed, ncap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		d->unflushed = nr;
		d->cap_unflushed = ncap;
	}
	d->unflushed[d->nunflushed++] = (struct ck_range){ start, last };
	return 0;
}

void ck_unflushed_remove(struct ck_domain *d, uint64_t start, uint64_t last)
{
	for (uint32_t i = 0; i < d->nunflushed;) {
		struct ck_range *r = &d->unflushed[i];

		if (r->last < start || r->start > last) {
			i++;
			continue;
		}
		if (r->start < start && r->last > last) {
			/* split: keep the head here, the tail at the end (may grow the array; if it
			 * cannot, the tail is forgotten: fewer reports, never a false one) */
			struct ck_range tail = { last + 1, r->last };

			r->last = start - 1;
			ck_unflushed_add(d, tail.start, tail.last);
			i++;
		} else if (r->start < start) {
			r->last = start - 1;
			i++;
		} else if (r->last > last) {
			r->start = last + 1;
			i++;
		} else {
			*r = d->unflushed[--d->nunflushed];
		}
	}
}

const struct ck_range *ck_unflushed_overlap(const struct ck_domain *d, uint64_t start,
					    uint64_t last)
{
	for (uint32_t i = 0; i < d->nunflushed; i++)
		if (!(d->unflushed[i].last < start || d->unflushed[i].start > last))
			return &d->unflushed[i];
	return NULL;
}

/* ---- objects and contexts -------------------------------------------------------------------- */
void ck_ioas_drop_areas(struct ck_model *m, struct ck_object *o)
{
	struct ck_ctx *cx = o->owner;
	uint64_t n = o->areas.count;

	ck_tree_clear(&m->pool, &o->areas);
	m->total_areas -= n;
	if (cx) {
		cx->nareas -= cx->nareas >= n ? n : cx->nareas;
		if (cx->pidst)
			cx->pidst->need_pages -= cx->pidst->need_pages >= o->area_pages ?
							 o->area_pages : cx->pidst->need_pages;
	}
	o->area_pages = 0;
}

void ck_object_forget(struct ck_model *m, struct ck_object *o)
{
	if (o->hwpt_known) {
		struct ck_object *pt = ck_object_find(m, o->pid, o->ctx, o->pt);

		if (pt) {
			if (o->flags & IOASID_EVF_NESTED) {
				if (pt->nchildren)
					pt->nchildren--;
			} else if (pt->nhwpt) {
				pt->nhwpt--;
			}
		}
		if (m->hwpts)
			m->hwpts--;
	}
	ck_ioas_drop_areas(m, o);
	ck_tree_clear(&m->pool, &o->reserved);
	o->owner = NULL;
	ck_htab_del(&m->objects, CK_KEY_OBJ(o->pid, o->ctx, o->obj));
	free(o->allowed);
	free(o);
}

/* Collect the values of a table matching a predicate first: deletion moves slots. */
static void **collect(struct ck_htab *h, bool (*match)(void *val, const struct ck_ctx *cx),
		      const struct ck_ctx *cx, size_t *n)
{
	void **out = NULL;
	size_t k = 0;

	if (h->n)
		out = malloc(h->n * sizeof(*out));
	for (size_t i = 0; out && i < h->cap; i++)
		if (h->slots[i].val && match(h->slots[i].val, cx))
			out[k++] = h->slots[i].val;
	*n = k;
	return out;
}

static bool obj_of(void *v, const struct ck_ctx *cx)
{
	const struct ck_object *o = v;

	return o->pid == cx->pid && o->ctx == cx->ctx;
}

static bool attach_of(void *v, const struct ck_ctx *cx)
{
	const struct ck_attach *a = v;

	return a->pid == cx->pid && a->ctx == cx->ctx;
}

static bool device_of(void *v, const struct ck_ctx *cx)
{
	const struct ck_device *d = v;

	return (d->bound && d->bound_pid == cx->pid && d->bound_ctx == cx->ctx) ||
	       (d->emu && d->emu_pid == cx->pid && d->emu_ctx == cx->ctx);
}

static bool group_of(void *v, const struct ck_ctx *cx)
{
	const struct ck_group *g = v;

	return g->claimed && g->claim_pid == cx->pid && g->claim_ctx == cx->ctx;
}

static bool domain_of(void *v, const struct ck_ctx *cx)
{
	const struct ck_domain *d = v;

	return d->has_hwpt && d->hwpt_pid == cx->pid && d->hwpt_ctx == cx->ctx;
}

static bool gpasid_of(void *v, const struct ck_ctx *cx)
{
	const struct ck_gpasid *g = v;

	return g->owned && g->owner_pid == cx->pid && g->owner_ctx == cx->ctx;
}

void ck_ctx_forget(struct ck_model *m, struct ck_ctx *cx)
{
	void **v;
	size_t n;

	v = collect(&m->attaches, attach_of, cx, &n);
	for (size_t i = 0; i < n; i++) {
		struct ck_attach *a = v[i];

		ck_attach_remove(m, a->ns, a->dev, a->pasid);
	}
	free(v);
	v = collect(&m->devices, device_of, cx, &n);
	for (size_t i = 0; i < n; i++) {
		struct ck_device *d = v[i];

		if (d->bound && d->bound_pid == cx->pid && d->bound_ctx == cx->ctx) {
			struct ck_group *g = d->group ? ck_group_find(m, d->ns, d->group) : NULL;

			d->bound = false;
			if (g && g->nbound)
				g->nbound--;
			if (m->bound_devices)
				m->bound_devices--;
		}
		if (d->emu && d->emu_pid == cx->pid && d->emu_ctx == cx->ctx)
			d->emu = false;
	}
	free(v);
	v = collect(&m->groups, group_of, cx, &n);
	for (size_t i = 0; i < n; i++) {
		((struct ck_group *)v[i])->claimed = false;
		if (m->claimed_groups)
			m->claimed_groups--;
	}
	free(v);
	v = collect(&m->domains, domain_of, cx, &n);
	for (size_t i = 0; i < n; i++)
		ck_domain_forget(m, v[i]);
	free(v);
	v = collect(&m->gpasids, gpasid_of, cx, &n);
	for (size_t i = 0; i < n; i++)
		((struct ck_gpasid *)v[i])->owned = false;
	free(v);
	v = collect(&m->objects, obj_of, cx, &n);
	for (size_t i = 0; i < n; i++)
		ck_object_forget(m, v[i]);
	free(v);
	ck_htab_del(&m->ctxs, CK_KEY_CTX(cx->pid, cx->ctx));
	free(cx);
}

/* ---- teardown -------------------------------------------------------------------------------- */
static void free_all(struct ck_htab *h, void (*fn)(void *))
{
	for (size_t i = 0; i < h->cap; i++)
		if (h->slots[i].val) {
			if (fn)
				fn(h->slots[i].val);
			free(h->slots[i].val);
		}
	ck_htab_free(h);
}

static void device_free(void *v)
{
	free(((struct ck_device *)v)->attach_pasids);
}

static void group_free(void *v)
{
	free(((struct ck_group *)v)->members);
}

static void object_free(void *v)
{
	free(((struct ck_object *)v)->allowed);
}

static void domain_free(void *v)
{
	free(((struct ck_domain *)v)->unflushed);
	free(((struct ck_domain *)v)->dirty_pasids);
}

void ck_model_free(struct ck_model *m)
{
	free_all(&m->ctxs, NULL);
	free_all(&m->devices, device_free);
	free_all(&m->groups, group_free);
	free_all(&m->attaches, NULL);
	free_all(&m->objects, object_free);   /* tree nodes go with the pool */
	free_all(&m->domains, domain_free);
	free_all(&m->threads, NULL);
	free_all(&m->gpasids, NULL);
	free_all(&m->pids, NULL);
	ck_pool_free(&m->pool);
}
