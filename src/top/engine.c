/* engine.c — ioasid-top's collect and update stages: events and aggregates in, snapshots out.
 *
 * Counting. Every count a row shows comes from cumulative aggregates keyed like the BPF
 * programs' (struct ioasid_agg_key): read from the per-CPU maps on a live source (exact even
 * when the ring buffer drops events), or folded here from the events with the same rule
 * (ioasid_agg_add) for a trace file. A snapshot takes each aggregate's change since the
 * previous snapshot and attributes it, in every view at once, to the rows it belongs to; rows
 * keep running totals of what they were given. So a row's totals are the sum of its intervals,
 * and switching views loses nothing.
 *
 * Attribution. Hardware events (DOMAIN_MAP/UNMAP, IOTLB_INV, stale hits) carry no context: a
 * domain belongs to the context and IOAS of the HWPT that holds it (HWPT_ALLOC, DEV_ATTACH). In
 * the device view an IOAS's maps count for every device attached to it now (so device rows may
 * add up to more than the header, which counts each event once).
 *
 * State. A small model fed by the events: contexts open, devices bound and their (PASID →
 * HWPT) attachments, HWPT → IOAS and domain → owner, pinned pages and the memlock limit per
 * context (ACCOUNT), global PASIDs. Pinned pages per IOAS: an ACCOUNT event is charged to the
 * IOAS of the next IOAS-related event of the same thread (the reference announces an
 * operation's accounting before the operation: ioasid/event.h); what cannot be placed stays
 * with the context only.
 *
 * The last events: one ring of the most recent events; a snapshot scans it newest first and
 * gives each row its last few (so the hot path copies one record, not one per view).
 *
 * Not thread-safe: one thread feeds and snapshots.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "top/top.h"

#define PAGE_BYTES 4096ull
#define RECENT_EVENTS 16384u               /* the ring the last events come from */
#define LAST_PER_ROW (sizeof(((struct top_row *)0)->last) / sizeof(struct ioasid_event))

/* ---- a small hash table: fixed-size keys, values allocated with the entry -------------------- */

struct tbl_entry {
	struct tbl_entry *next;
	uint64_t hash;
	/* key, then value, both 8-byte aligned */
	uint64_t data[];
};

struct tbl {
	struct tbl_entry **buckets;
	size_t nbuckets, count;
	size_t key_size, value_size;    /* rounded up to 8 */
};

static size_t round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static uint64_t hash_bytes(const void *p, size_t n)
{
	const uint64_t *w = p;               /* keys are 8-byte multiples, zero padded */
	uint64_t h = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < n / 8; i++) {
		h ^= w[i];
		h *= 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
	}
	return h;
}

static void tbl_init(struct tbl *t, size_t key_size, size_t value_size)
{
	memset(t, 0, sizeof(*t));
	t->key_size = round8(key_size);
	t->value_size = round8(value_size);
}

static void *entry_key(struct tbl_entry *e)
{
	return e->data;
}

static void *entry_value(const struct tbl *t, struct tbl_entry *e)
{
	return (char *)e->data + t->key_size;
}

static int tbl_grow(struct tbl *t)
{
	size_t n = t->nbuckets ? t->nbuckets * 2 : 64;
	struct tbl_entry **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct tbl_entry *e = t->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
	return 0;
}

/* The value for key (key_size bytes, padding zeroed by the caller), or NULL. */
static void *tbl_find(const struct tbl *t, const void *key)
{
	uint64_t h;

	if (!t->nbuckets)
		return NULL;
	h = hash_bytes(key, t->key_size);
	for (struct tbl_entry *e = t->buckets[h & (t->nbuckets - 1)]; e; e = e->next)
		if (e->hash == h && !memcmp(e->data, key, t->key_size))
			return entry_value(t, e);
	return NULL;
}

/* The value for key, inserted zeroed if new; NULL when out of memory. */
static void *tbl_get(struct tbl *t, const void *key, bool *created)
{
	struct tbl_entry *e;
	void *v = tbl_find(t, key);

	if (created)
		*created = !v;
	if (v)
		return v;
	if (t->count + 1 > t->nbuckets && tbl_grow(t))
		return NULL;
	e = calloc(1, sizeof(*e) + t->key_size + t->value_size);
	if (!e)
		return NULL;
	memcpy(e->data, key, t->key_size);
	e->hash = hash_bytes(key, t->key_size);
	e->next = t->buckets[e->hash & (t->nbuckets - 1)];
	t->buckets[e->hash & (t->nbuckets - 1)] = e;
	t->count++;
	return entry_value(t, e);
}

/* Tables keyed by one 32-bit number (pid, device, thread): the key widened to 8 bytes. */
static void *id_find(const struct tbl *t, uint32_t id)
{
	uint64_t k = id;

	return tbl_find(t, &k);
}

static void *id_get(struct tbl *t, uint32_t id)
{
	uint64_t k = id;

	return tbl_get(t, &k, NULL);
}

static uint32_t id_of(struct tbl_entry *e)
{
	return (uint32_t)*(uint64_t *)e->data;
}

/* Iterate: for (e = NULL; (e = tbl_next(t, e, &i));) */
static struct tbl_entry *tbl_next(const struct tbl *t, struct tbl_entry *e, size_t *i)
{
	if (e && e->next)
		return e->next;
	for (*i = e ? *i + 1 : 0; *i < t->nbuckets; (*i)++)
		if (t->buckets[*i])
			return t->buckets[*i];
	return NULL;
}

static void tbl_free(struct tbl *t)
{
	size_t i;
	struct tbl_entry *e = NULL, *next;

	for (i = 0; i < t->nbuckets; i++)
		for (e = t->buckets[i]; e; e = next) {
			next = e->next;
			free(e);
		}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

/* ---- the state model ------------------------------------------------------------------------- */

struct ctx_key {
	uint32_t pid, pad;
	uint64_t ctx;
};

struct obj_key {                         /* an IOAS or HWPT of a context */
	uint32_t pid, id;
	uint64_t ctx;
};

struct dom_key {
	uint32_t iommu, domain;
};

struct proc_state {
	char comm[TOP_NAME_LEN];
	bool comm_tried;
	uint32_t open_ctxs;
};

struct ctx_state {
	bool open;
	bool acct_seen;                  /* an ACCOUNT event gave pinned / limit */
	uint64_t pinned_pages;
	uint64_t limit_pages;            /* UINT64_MAX: none; 0: not recorded */
	uint64_t charged_pages;
	uint32_t mode;                   /* 0 none, 1 user, 2 mm */
	uint32_t gpasids;
};

struct ioas_state {
	bool live;
	int64_t pinned_pages;            /* charged by ACCOUNT events placed here */
};

struct hwpt_state {
	bool live;
	uint32_t ioas;                   /* resolved through a nested HWPT's parent; 0 unknown */
	uint32_t iommu, domain;
};

struct dom_owner {
	bool live;
	uint32_t pid;
	uint64_t ctx;
	uint32_t ioas;
};

struct attachment {
	uint32_t pasid, hwpt, iommu, domain;
};

struct dev_state {
	char name[TOP_NAME_LEN];
	uint32_t group;
	bool bound;
	uint32_t pid;
	uint64_t ctx;
	uint32_t gpasids;
	size_t nr_att, cap_att;
	struct attachment *att;
};

struct pending_acct {                    /* an ACCOUNT not yet placed on an IOAS */
	uint32_t pid;
	uint64_t ctx;
	int64_t delta_pages;
};

/* ---- rows ------------------------------------------------------------------------------------ */

struct row_key {
	uint32_t pid, ioas;
	uint64_t ctx;
	uint32_t iommu, domain;
	uint32_t dev, pad;
};

/* What an interval adds to a row. */
struct row_delta {
	uint64_t maps, unmaps, map_bytes, invs, faults, ops;
	uint64_t map_lat[IOASID_HIST_SLOTS], unmap_lat[IOASID_HIST_SLOTS];
};

struct row_acc {
	struct top_totals total;
	uint64_t map_lat_hist[IOASID_HIST_SLOTS];
	uint64_t unmap_lat_hist[IOASID_HIST_SLOTS];
	uint64_t map_size_hist[IOASID_HIST_SLOTS];
	struct row_delta d;              /* this interval */
	bool active;                     /* d holds something */
};

/* Aggregate keys are hashed and compared whole: no padding bytes. */
_Static_assert(sizeof(struct ioasid_agg_key) == 32, "struct ioasid_agg_key has no holes");

struct agg_entry {
	struct ioasid_agg_value cur, prev;
};

struct top_engine {
	struct top_engine_opts o;
	uint64_t observable;
	struct tbl aggs;                 /* ioasid_agg_key → agg_entry */
	struct tbl procs, ctxs, ioases, hwpts, domains, devs, pending;
	struct tbl rows[TOP_VIEW_COUNT]; /* row_key → row_acc */
	struct ioasid_event *recent;     /* ring of RECENT_EVENTS */
	uint64_t recent_head;            /* events ever put in the ring */
	uint64_t prev_ns;                /* the last tick */
	uint64_t last_ts;                /* the newest event's timestamp */
	int64_t wall_s;
	double last_secs;                /* the last tick's interval */
	bool have_prev;
	uint64_t received, dropped, unaggregated, lost;
	bool stats_noted, ended;
	struct top_totals total;         /* header totals (each event once) */
	struct row_delta hdr_d;
};

/* ---- public: lifetime ------------------------------------------------------------------------ */

int top_engine_new(const struct top_engine_opts *o, struct top_engine **out)
{
	struct top_engine *e;

	if (!o || !out || o->sz < offsetof(struct top_engine_opts, source) + sizeof(o->source))
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	memcpy(&e->o, o, o->sz < sizeof(e->o) ? o->sz : sizeof(e->o));
	e->observable = e->o.sz >= offsetof(struct top_engine_opts, observable) +
				   sizeof(e->o.observable) ? e->o.observable : 0;
	e->recent = calloc(RECENT_EVENTS, sizeof(*e->recent));
	if (!e->recent) {
		free(e);
		return -ENOMEM;
	}
	tbl_init(&e->aggs, sizeof(struct ioasid_agg_key), sizeof(struct agg_entry));
	tbl_init(&e->procs, sizeof(uint64_t), sizeof(struct proc_state));
	tbl_init(&e->ctxs, sizeof(struct ctx_key), sizeof(struct ctx_state));
	tbl_init(&e->ioases, sizeof(struct obj_key), sizeof(struct ioas_state));
	tbl_init(&e->hwpts, sizeof(struct obj_key), sizeof(struct hwpt_state));
	tbl_init(&e->domains, sizeof(struct dom_key), sizeof(struct dom_owner));
	tbl_init(&e->devs, sizeof(uint64_t), sizeof(struct dev_state));
	tbl_init(&e->pending, sizeof(uint64_t), sizeof(struct pending_acct));
	for (int v = 0; v < TOP_VIEW_COUNT; v++)
		tbl_init(&e->rows[v], sizeof(struct row_key), sizeof(struct row_acc));
	*out = e;
	return 0;
}

void top_engine_free(struct top_engine *e)
{
	struct tbl_entry *it = NULL;
	size_t i;

	if (!e)
		return;
	while ((it = tbl_next(&e->devs, it, &i)))
		free(((struct dev_state *)entry_value(&e->devs, it))->att);
	tbl_free(&e->aggs);
	tbl_free(&e->procs);
	tbl_free(&e->ctxs);
	tbl_free(&e->ioases);
	tbl_free(&e->hwpts);
	tbl_free(&e->domains);
	tbl_free(&e->devs);
	tbl_free(&e->pending);
	for (int v = 0; v < TOP_VIEW_COUNT; v++)
		tbl_free(&e->rows[v]);
	free(e->recent);
	free(e);
}

/* ---- state lookups --------------------------------------------------------------------------- */

static struct ctx_state *ctx_get(struct top_engine *e, uint32_t pid, uint64_t ctx)
{
	struct ctx_key k = { .pid = pid, .ctx = ctx };

	return tbl_get(&e->ctxs, &k, NULL);
}

static struct ctx_state *ctx_find(const struct top_engine *e, uint32_t pid, uint64_t ctx)
{
	struct ctx_key k = { .pid = pid, .ctx = ctx };

	return tbl_find(&e->ctxs, &k);
}

static void *obj_get(struct tbl *t, uint32_t pid, uint64_t ctx, uint32_t id)
{
	struct obj_key k = { .pid = pid, .id = id, .ctx = ctx };

	return tbl_get(t, &k, NULL);
}

static void *obj_find(const struct tbl *t, uint32_t pid, uint64_t ctx, uint32_t id)
{
	struct obj_key k = { .pid = pid, .id = id, .ctx = ctx };

	return tbl_find(t, &k);
}

static struct dom_owner *dom_find(const struct top_engine *e, uint32_t iommu, uint32_t domain)
{
	struct dom_key k = { .iommu = iommu, .domain = domain };

	return domain ? tbl_find(&e->domains, &k) : NULL;
}

static uint32_t hwpt_ioas(const struct top_engine *e, uint32_t pid, uint64_t ctx, uint32_t hwpt)
{
	const struct hwpt_state *h = obj_find(&e->hwpts, pid, ctx, hwpt);

	if (h)
		return h->ioas;
	/* An attach straight to an IOAS, or a HWPT from before the monitor started: an IOAS ID
	 * is a live IOAS when the model knows it. */
	return obj_find(&e->ioases, pid, ctx, hwpt) ? hwpt : 0;
}

static void read_comm(uint32_t pid, char *out)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(out, TOP_NAME_LEN, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

static struct proc_state *proc_get(struct top_engine *e, uint32_t pid)
{
	struct proc_state *p = id_get(&e->procs, pid);

	if (p && !p->comm_tried && e->o.read_comm) {
		p->comm_tried = true;
		read_comm(pid, p->comm);
	}
	return p;
}

/* ---- feeding events -------------------------------------------------------------------------- */

static int dev_attach_set(struct dev_state *d, const struct ioasid_event *ev)
{
	struct attachment a = { .pasid = ev->pasid, .hwpt = ev->pt, .iommu = ev->iommu,
				.domain = ev->domain };

	for (size_t i = 0; i < d->nr_att; i++)
		if (d->att[i].pasid == ev->pasid) {
			d->att[i] = a;
			return 0;
		}
	if (d->nr_att == d->cap_att) {
		size_t cap = d->cap_att ? d->cap_att * 2 : 4;
		struct attachment *n = realloc(d->att, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		d->att = n;
		d->cap_att = cap;
	}
	d->att[d->nr_att++] = a;
	return 0;
}

static void dev_attach_clear(struct dev_state *d, uint32_t pasid)
{
	for (size_t i = 0; i < d->nr_att; i++)
		if (d->att[i].pasid == pasid) {
			d->att[i] = d->att[--d->nr_att];
			return;
		}
}

static int dom_own(struct top_engine *e, uint32_t iommu, uint32_t domain, uint32_t pid,
		   uint64_t ctx, uint32_t ioas)
{
	struct dom_key k = { .iommu = iommu, .domain = domain };
	struct dom_owner *d;

	if (!domain)
		return 0;
	d = tbl_get(&e->domains, &k, NULL);
	if (!d)
		return -ENOMEM;
	d->live = true;
	d->pid = pid;
	d->ctx = ctx;
	if (ioas)
		d->ioas = ioas;
	return 0;
}

/* Place this thread's pending accounting on `ioas`. */
static int place_pending(struct top_engine *e, const struct ioasid_event *ev, uint32_t ioas)
{
	struct pending_acct *p = id_find(&e->pending, ev->tid);
	struct ioas_state *s;

	if (!p || !p->delta_pages || p->pid != ev->pid || p->ctx != ev->ctx || !ioas)
		return 0;
	s = obj_get(&e->ioases, ev->pid, ev->ctx, ioas);
	if (!s)
		return -ENOMEM;
	s->pinned_pages += p->delta_pages;
	p->delta_pages = 0;
	return 0;
}

static int feed_state(struct top_engine *e, const struct ioasid_event *ev)
{
	bool ok = ev->result >= 0;
	struct ctx_state *c;
	struct dev_state *d;
	struct hwpt_state *h;
	struct ioas_state *s;
	uint32_t ioas;

	switch (ev->type) {
	case IOASID_EV_CTX_OPEN:
		if (!(c = ctx_get(e, ev->pid, ev->ctx)))
			return -ENOMEM;
		if (!c->open) {
			struct proc_state *p = proc_get(e, ev->pid);

			if (!p)
				return -ENOMEM;
			p->open_ctxs++;
		}
		c->open = true;
		return 0;
	case IOASID_EV_CTX_CLOSE: {
		struct tbl_entry *it = NULL;
		size_t i;

		if (!(c = ctx_get(e, ev->pid, ev->ctx)))
			return -ENOMEM;
		if (c->open) {
			struct proc_state *p = proc_get(e, ev->pid);

			if (p && p->open_ctxs)
				p->open_ctxs--;
		}
		c->open = false;
		c->pinned_pages = 0;
		c->gpasids = 0;
		/* Everything of the context goes with it. */
		while ((it = tbl_next(&e->ioases, it, &i))) {
			struct obj_key *k = entry_key(it);

			if (k->pid == ev->pid && k->ctx == ev->ctx)
				*(struct ioas_state *)entry_value(&e->ioases, it) =
					(struct ioas_state){ 0 };
		}
		while ((it = tbl_next(&e->hwpts, it, &i))) {
			struct obj_key *k = entry_key(it);

			if (k->pid == ev->pid && k->ctx == ev->ctx)
				((struct hwpt_state *)entry_value(&e->hwpts, it))->live = false;
		}
		while ((it = tbl_next(&e->domains, it, &i))) {
			struct dom_owner *o = entry_value(&e->domains, it);

			if (o->pid == ev->pid && o->ctx == ev->ctx)
				o->live = false;
		}
		while ((it = tbl_next(&e->devs, it, &i))) {
			d = entry_value(&e->devs, it);
			if (d->bound && d->pid == ev->pid && d->ctx == ev->ctx) {
				d->bound = false;
				d->nr_att = 0;
				d->gpasids = 0;
			}
		}
		return 0;
	}
	case IOASID_EV_DEV_BIND:
	case IOASID_EV_DEV_UNBIND:
		if (!ok || !ev->dev)
			return 0;
		if (!(d = id_get(&e->devs, ev->dev)))
			return -ENOMEM;
		memcpy(d->name, ev->name, TOP_NAME_LEN);
		d->name[TOP_NAME_LEN - 1] = '\0';
		d->group = ev->group;
		d->bound = ev->type == IOASID_EV_DEV_BIND;
		d->pid = ev->pid;
		d->ctx = ev->ctx;
		d->nr_att = 0;
		d->gpasids = 0;
		return 0;
	case IOASID_EV_DEV_ATTACH:
	case IOASID_EV_DEV_REPLACE:
	case IOASID_EV_DEV_DETACH:
		if (!ok)
			return 0;
		ioas = hwpt_ioas(e, ev->pid, ev->ctx, ev->pt);
		if (place_pending(e, ev, ioas) || dom_own(e, ev->iommu, ev->domain, ev->pid,
							   ev->ctx, ioas))
			return -ENOMEM;
		if (!ev->dev)
			return 0;
		if (!(d = id_get(&e->devs, ev->dev)))
			return -ENOMEM;
		if (!d->bound) {                 /* bound before the monitor started */
			memcpy(d->name, ev->name, TOP_NAME_LEN);
			d->name[TOP_NAME_LEN - 1] = '\0';
			d->group = ev->group;
			d->bound = true;
			d->pid = ev->pid;
			d->ctx = ev->ctx;
		}
		if (ev->type == IOASID_EV_DEV_DETACH) {
			dev_attach_clear(d, ev->pasid);
			return 0;
		}
		return dev_attach_set(d, ev);
	case IOASID_EV_HWPT_ALLOC:
		if (!ok || !ev->obj)
			return 0;
		if (!(h = obj_get(&e->hwpts, ev->pid, ev->ctx, ev->obj)))
			return -ENOMEM;
		h->live = true;
		h->iommu = ev->iommu;
		h->domain = ev->domain;
		h->ioas = ev->flags & IOASID_EVF_NESTED ? hwpt_ioas(e, ev->pid, ev->ctx, ev->pt)
							: ev->pt;
		if (place_pending(e, ev, h->ioas))
			return -ENOMEM;
		return dom_own(e, ev->iommu, ev->domain, ev->pid, ev->ctx, h->ioas);
	case IOASID_EV_HWPT_DESTROY: {
		struct dom_owner *o;

		if ((h = obj_find(&e->hwpts, ev->pid, ev->ctx, ev->obj))) {
			h->live = false;
			if (place_pending(e, ev, h->ioas))
				return -ENOMEM;
		}
		/* The owner stays known (a domain's last flush may follow), but not live. */
		if ((o = dom_find(e, ev->iommu, ev->domain)))
			o->live = false;
		return 0;
	}
	case IOASID_EV_OBJ_ALLOC:
		if (ev->aux != IOASID_OBJK_IOAS || !ok)
			return 0;
		if (!(s = obj_get(&e->ioases, ev->pid, ev->ctx, ev->obj)))
			return -ENOMEM;
		*s = (struct ioas_state){ .live = true };
		return 0;
	case IOASID_EV_OBJ_DESTROY:
		if (!ok)
			return 0;
		if (ev->aux == IOASID_OBJK_IOAS) {
			if (place_pending(e, ev, ev->obj))
				return -ENOMEM;
			if ((s = obj_find(&e->ioases, ev->pid, ev->ctx, ev->obj)))
				*s = (struct ioas_state){ 0 };
		}
		return 0;
	case IOASID_EV_IOAS_MAP:
	case IOASID_EV_IOAS_UNMAP:
	case IOASID_EV_IOAS_COPY:
		if (e->pending.count && place_pending(e, ev, ev->obj))
			return -ENOMEM;
		/* An IOAS from before the monitor started is live once it is used. */
		if (ok && !obj_find(&e->ioases, ev->pid, ev->ctx, ev->obj)) {
			if (!(s = obj_get(&e->ioases, ev->pid, ev->ctx, ev->obj)))
				return -ENOMEM;
			s->live = true;
		}
		return 0;
	case IOASID_EV_ACCOUNT: {
		struct pending_acct *p;

		if (!(c = ctx_get(e, ev->pid, ev->ctx)))
			return -ENOMEM;
		c->acct_seen = true;
		c->pinned_pages = ev->value;
		if (ev->iova)
			c->limit_pages = ev->iova;
		c->charged_pages = ev->pt;
		c->mode = ev->aux;
		if (!ok)
			return 0;
		if (!(p = id_get(&e->pending, ev->tid)))
			return -ENOMEM;
		if (p->pid != ev->pid || p->ctx != ev->ctx)
			*p = (struct pending_acct){ .pid = ev->pid, .ctx = ev->ctx };
		p->delta_pages += (int64_t)ev->length;
		return 0;
	}
	case IOASID_EV_GPASID_ALLOC:
	case IOASID_EV_GPASID_FREE: {
		int step = ev->type == IOASID_EV_GPASID_ALLOC ? 1 : -1;

		if (!ok)
			return 0;
		if (!(c = ctx_get(e, ev->pid, ev->ctx)))
			return -ENOMEM;
		if (step > 0 || c->gpasids)
			c->gpasids += step;
		if (ev->dev && (d = id_find(&e->devs, ev->dev)) && (step > 0 || d->gpasids))
			d->gpasids += step;
		return 0;
	}
	default:
		return 0;
	}
}

static int fold(struct top_engine *e, const struct ioasid_event *ev)
{
	struct ioasid_agg_key k;
	struct agg_entry *a;

	memset(&k, 0, sizeof(k));
	ioasid_agg_key_of(ev, &k);
	a = tbl_get(&e->aggs, &k, NULL);
	if (!a)
		return -ENOMEM;
	ioasid_agg_add(&a->cur, ev);
	return 0;
}

int top_engine_feed(struct top_engine *e, const struct ioasid_event *ev)
{
	int rc = 0;

	if (!e->o.aggregates_from_bpf && fold(e, ev))
		rc = -ENOMEM;
	e->recent[e->recent_head++ % RECENT_EVENTS] = *ev;
	if (ev->ts_ns > e->last_ts)
		e->last_ts = ev->ts_ns;
	if (!e->stats_noted)
		e->received++;
	if (feed_state(e, ev))
		rc = -ENOMEM;
	if (rc)
		e->lost++;
	return rc;
}

int top_engine_aggregate(struct top_engine *e, const struct ioasid_agg_key *key,
			 const struct ioasid_agg_value *sum)
{
	struct ioasid_agg_key k = *key;   /* no padding: the whole key is hashed */
	struct agg_entry *a;

	a = tbl_get(&e->aggs, &k, NULL);
	if (!a)
		return -ENOMEM;
	a->cur = *sum;
	return 0;
}

void top_engine_note_stats(struct top_engine *e, uint64_t received, uint64_t dropped,
			   uint64_t unaggregated)
{
	e->stats_noted = true;
	e->received = received;
	e->dropped = dropped;
	e->unaggregated = unaggregated;
}

uint64_t top_engine_last_ts(const struct top_engine *e)
{
	return e->last_ts;
}

void top_engine_note_ended(struct top_engine *e)
{
	e->ended = true;
}

/* ---- attribution ----------------------------------------------------------------------------- */

/* Is an event type counted as a map / unmap on this source: the IOAS operations where the source
 * sees them, else the domain (page-table) operations (kernel tracepoints). */
static bool ioas_level(const struct top_engine *e)
{
	return !e->observable || (e->observable & (1ull << IOASID_EV_IOAS_MAP));
}

/* IO page faults: where the source sees device DMA (the reference), every DMA the IOMMU refused
 * (a fault reported to a fault queue comes with its refused DMA: counted once); elsewhere
 * (kernel) the faults the IOMMU reports (FAULT: io_page_fault). */
static bool dma_level(const struct top_engine *e)
{
	return !e->observable || (e->observable & (1ull << IOASID_EV_DMA));
}

static bool is_map(const struct top_engine *e, unsigned int type)
{
	return type == (ioas_level(e) ? IOASID_EV_IOAS_MAP : IOASID_EV_DOMAIN_MAP);
}

static bool is_unmap(const struct top_engine *e, unsigned int type)
{
	return type == (ioas_level(e) ? IOASID_EV_IOAS_UNMAP : IOASID_EV_DOMAIN_UNMAP);
}

static bool is_ioas_event(unsigned int type)
{
	return type == IOASID_EV_IOAS_MAP || type == IOASID_EV_IOAS_UNMAP ||
	       type == IOASID_EV_IOAS_COPY || type == IOASID_EV_IOAS_ALLOW ||
	       type == IOASID_EV_IOAS_RESERVE;
}

/* Row keys of `view` a key belongs to (at most max; device view may give several). */
static size_t attribute(const struct top_engine *e, enum top_view view,
			const struct ioasid_agg_key *k, struct row_key *out, size_t max)
{
	const struct dom_owner *own = NULL;
	size_t n = 0;

	if (!max)
		return 0;
	memset(out, 0, sizeof(*out));
	if (k->domain && (!k->ctx || view != TOP_VIEW_CONTEXT))
		own = dom_find(e, k->iommu, k->domain);
	switch (view) {
	case TOP_VIEW_PROCESS:
		out->pid = k->pid;
		return 1;
	case TOP_VIEW_CONTEXT:
		out->pid = k->pid;
		out->ctx = k->ctx;
		if (!k->ctx && own && own->pid == k->pid)
			out->ctx = own->ctx;
		return 1;
	case TOP_VIEW_IOAS:
		if (k->type == IOASID_EV_OBJ_ALLOC || k->type == IOASID_EV_OBJ_DESTROY)
			return 0;    /* keyed by object ID of any kind: not an IOAS's activity */
		out->pid = k->pid;
		if (is_ioas_event(k->type) && k->obj) {
			out->ctx = k->ctx;
			out->ioas = k->obj;
			return 1;
		}
		if (!k->domain)
			return 0;
		if (own && own->pid == k->pid && own->ioas) {
			out->ctx = own->ctx;
			out->ioas = own->ioas;
			return 1;
		}
		out->iommu = k->iommu;
		out->domain = k->domain;
		return 1;
	case TOP_VIEW_DEVICE: {
		struct tbl_entry *it = NULL;
		size_t i;

		if (k->dev) {
			out->dev = k->dev;
			return 1;
		}
		if (!(is_ioas_event(k->type) && k->obj) && !k->domain)
			return 0;
		/* Every device attached now to that IOAS / domain. */
		while ((it = tbl_next(&e->devs, it, &i)) && n < max) {
			const struct dev_state *d = entry_value(&e->devs, it);
			bool hit = false;

			if (!d->bound)
				continue;
			for (size_t a = 0; a < d->nr_att && !hit; a++) {
				if (k->domain)
					hit = d->att[a].iommu == k->iommu &&
					      d->att[a].domain == k->domain;
				else
					hit = d->pid == k->pid && d->ctx == k->ctx &&
					      hwpt_ioas(e, d->pid, d->ctx, d->att[a].hwpt) == k->obj;
			}
			if (hit) {
				memset(&out[n], 0, sizeof(out[n]));
				out[n++].dev = id_of(it);
			}
		}
		return n;
	}
	default:
		return 0;
	}
}

/* What an aggregate's change adds to a row (and to the header: row NULL). */
static void delta_add(const struct top_engine *e, unsigned int type,
		      const struct ioasid_agg_value *d, struct row_acc *r, struct top_totals *t,
		      struct row_delta *rd)
{
	uint64_t good = d->count - d->errors;

	if (is_map(e, type)) {
		t->maps += good;
		t->map_fails += d->errors;
		t->map_bytes += d->bytes;
		rd->maps += good;
		rd->map_bytes += d->bytes;
		for (int s = 0; s < IOASID_HIST_SLOTS; s++) {
			rd->map_lat[s] += d->latency_hist[s];
			if (r) {
				r->map_lat_hist[s] += d->latency_hist[s];
				r->map_size_hist[s] += d->size_hist[s];
			}
		}
	} else if (is_unmap(e, type)) {
		t->unmaps += good;
		t->unmap_fails += d->errors;
		t->unmap_bytes += d->value_sum;
		rd->unmaps += good;
		for (int s = 0; s < IOASID_HIST_SLOTS; s++) {
			rd->unmap_lat[s] += d->latency_hist[s];
			if (r)
				r->unmap_lat_hist[s] += d->latency_hist[s];
		}
	}
	switch (type) {
	case IOASID_EV_IOAS_COPY:
		t->copies += good;
		break;
	case IOASID_EV_IOTLB_INV:
		t->invs += d->count;
		rd->invs += d->count;
		break;
	case IOASID_EV_FAULT:
		if (!dma_level(e)) {
			t->faults += d->count;
			rd->faults += d->count;
		}
		break;
	case IOASID_EV_DMA:
		t->dmas += d->count;
		t->dma_faults += d->errors;
		if (dma_level(e)) {
			t->faults += d->errors;
			rd->faults += d->errors;
		}
		break;
	case IOASID_EV_IOTLB_STALE_HIT:
		t->stale_hits += d->count;
		break;
	case IOASID_EV_DEV_ATTACH:
	case IOASID_EV_DEV_REPLACE:
		t->attach_ops += good;
		break;
	case IOASID_EV_DEV_DETACH:
		t->detach_ops += good;
		break;
	default:
		break;
	}
	if (is_map(e, type) || is_unmap(e, type) || type == IOASID_EV_IOTLB_INV ||
	    type == IOASID_EV_FAULT || type == IOASID_EV_IOAS_COPY || type == IOASID_EV_DMA)
		rd->ops += d->count;
}

static void value_sub(struct ioasid_agg_value *d, const struct ioasid_agg_value *a,
		      const struct ioasid_agg_value *b)
{
	d->count = a->count - b->count;
	d->errors = a->errors - b->errors;
	d->bytes = a->bytes - b->bytes;
	d->value_sum = a->value_sum - b->value_sum;
	d->latency_sum_ns = a->latency_sum_ns - b->latency_sum_ns;
	for (int s = 0; s < IOASID_HIST_SLOTS; s++) {
		d->latency_hist[s] = a->latency_hist[s] - b->latency_hist[s];
		d->size_hist[s] = a->size_hist[s] - b->size_hist[s];
	}
}

#define MAX_TARGETS 64

/* Every aggregate's change since the last snapshot, into the rows of every view. */
static int distribute(struct top_engine *e)
{
	struct row_key keys[MAX_TARGETS];
	struct tbl_entry *it = NULL;
	size_t i;

	memset(&e->hdr_d, 0, sizeof(e->hdr_d));
	for (int v = 0; v < TOP_VIEW_COUNT; v++) {
		struct tbl_entry *r = NULL;
		size_t j;

		while ((r = tbl_next(&e->rows[v], r, &j))) {
			struct row_acc *acc = entry_value(&e->rows[v], r);

			memset(&acc->d, 0, sizeof(acc->d));
			acc->active = false;
		}
	}
	while ((it = tbl_next(&e->aggs, it, &i))) {
		struct agg_entry *a = entry_value(&e->aggs, it);
		const struct ioasid_agg_key *k = entry_key(it);
		struct ioasid_agg_value d;

		if (a->cur.count == a->prev.count)
			continue;
		value_sub(&d, &a->cur, &a->prev);
		a->prev = a->cur;
		delta_add(e, k->type, &d, NULL, &e->total, &e->hdr_d);
		for (int v = 0; v < TOP_VIEW_COUNT; v++) {
			size_t n = attribute(e, (enum top_view)v, k, keys, MAX_TARGETS);

			for (size_t t = 0; t < n; t++) {
				struct row_acc *acc = tbl_get(&e->rows[v], &keys[t], NULL);

				if (!acc)
					return -ENOMEM;
				delta_add(e, k->type, &d, acc, &acc->total, &acc->d);
				acc->active = true;
			}
		}
	}
	return 0;
}

/* ---- the snapshot ---------------------------------------------------------------------------- */

/* Quantile q (0..1) of a log2 histogram, interpolated inside its slot [2^s, 2^(s+1)); 0 when
 * empty. */
static uint64_t hist_quantile(const uint64_t *h, double q)
{
	uint64_t total = 0, seen = 0;
	double rank;

	for (int s = 0; s < IOASID_HIST_SLOTS; s++)
		total += h[s];
	if (!total)
		return 0;
	rank = q * (double)total;
	for (int s = 0; s < IOASID_HIST_SLOTS; s++) {
		if (!h[s])
			continue;
		if ((double)(seen + h[s]) >= rank) {
			double lo = (double)(1ull << s), frac = (rank - (double)seen) / (double)h[s];
			uint64_t v = (uint64_t)(lo + frac * lo);

			return v ? v : 1;
		}
		seen += h[s];
	}
	return 1ull << (IOASID_HIST_SLOTS - 1);
}

struct grow_rows {
	struct top_row *rows;
	size_t n, cap;
};

static struct top_row *rows_push(struct grow_rows *g)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;
		struct top_row *r = realloc(g->rows, cap * sizeof(*r));

		if (!r)
			return NULL;
		g->rows = r;
		g->cap = cap;
	}
	memset(&g->rows[g->n], 0, sizeof(g->rows[0]));
	return &g->rows[g->n++];
}

/* Pinned and headroom of a context. */
static void ctx_memory(const struct ctx_state *c, struct top_row *r)
{
	if (!c || !c->acct_seen)
		return;
	r->pinned_avail = TOP_VALUE;
	r->pinned_bytes = c->pinned_pages * PAGE_BYTES;
	if (c->mode == 0 || c->limit_pages == UINT64_MAX) {
		r->headroom_avail = TOP_UNLIMITED;
	} else if (c->limit_pages) {
		r->headroom_avail = TOP_VALUE;
		r->headroom_bytes = c->limit_pages > c->charged_pages
					    ? (c->limit_pages - c->charged_pages) * PAGE_BYTES : 0;
	}
}

/* Fold another context's headroom into a row's: the tightest wins. */
static void headroom_merge(struct top_row *r, const struct top_row *c)
{
	if (c->headroom_avail == TOP_VALUE &&
	    (r->headroom_avail != TOP_VALUE || c->headroom_bytes < r->headroom_bytes)) {
		r->headroom_avail = TOP_VALUE;
		r->headroom_bytes = c->headroom_bytes;
	} else if (c->headroom_avail == TOP_UNLIMITED && r->headroom_avail == TOP_UNKNOWN) {
		r->headroom_avail = TOP_UNLIMITED;
	}
}

static void label_row(struct top_engine *e, enum top_view view, const struct row_key *k,
		      struct top_row_id *id)
{
	const struct proc_state *p = k->pid ? id_find(&e->procs, k->pid) : NULL;

	id->pid = k->pid;
	if (k->pid && !p && e->o.read_comm)
		p = proc_get(e, k->pid);
	if (p)
		memcpy(id->comm, p->comm, TOP_NAME_LEN);
	id->ctx = k->ctx;
	id->ioas = k->ioas;
	id->iommu = k->iommu;
	id->domain = k->domain;
	id->dev = k->dev;
	switch (view) {
	case TOP_VIEW_PROCESS:
		snprintf(id->label, sizeof(id->label), "%s", id->comm[0] ? id->comm : "?");
		break;
	case TOP_VIEW_CONTEXT:
		if (k->ctx)
			snprintf(id->label, sizeof(id->label), "ctx %llx", (unsigned long long)k->ctx);
		else
			snprintf(id->label, sizeof(id->label), "no context");
		break;
	case TOP_VIEW_IOAS:
		if (k->ioas)
			snprintf(id->label, sizeof(id->label), "ioas %u", k->ioas);
		else
			snprintf(id->label, sizeof(id->label), "dom %u:%u", k->iommu, k->domain);
		break;
	case TOP_VIEW_DEVICE: {
		const struct dev_state *d = id_find(&e->devs, k->dev);

		if (d) {
			memcpy(id->name, d->name, TOP_NAME_LEN);
			id->group = d->group;
			if (d->bound) {
				id->pid = d->pid;
				id->ctx = d->ctx;
				p = id_find(&e->procs, d->pid);
				memset(id->comm, 0, sizeof(id->comm));
				if (p)
					memcpy(id->comm, p->comm, TOP_NAME_LEN);
			}
		}
		if (id->name[0])
			snprintf(id->label, sizeof(id->label), "%s", id->name);
		else
			snprintf(id->label, sizeof(id->label), "dev %u", k->dev);
		break;
	}
	default:
		break;
	}
}

/* Is the row's object alive (shown even when idle)? Also fills the row's state columns. */
static bool row_state(struct top_engine *e, enum top_view view, const struct row_key *k,
		      struct top_row *r)
{
	struct tbl_entry *it = NULL;
	bool live = false;
	size_t i;

	switch (view) {
	case TOP_VIEW_PROCESS:
	case TOP_VIEW_CONTEXT:
		while ((it = tbl_next(&e->ctxs, it, &i))) {
			const struct ctx_key *ck = entry_key(it);
			const struct ctx_state *c = entry_value(&e->ctxs, it);
			struct top_row m = { 0 };

			if (ck->pid != k->pid || (view == TOP_VIEW_CONTEXT && ck->ctx != k->ctx))
				continue;
			live |= c->open;
			ctx_memory(c, &m);
			if (m.pinned_avail == TOP_VALUE) {
				r->pinned_avail = TOP_VALUE;
				r->pinned_bytes += c->open ? m.pinned_bytes : 0;
			}
			headroom_merge(r, &m);
			r->pasids += c->gpasids;
		}
		while ((it = tbl_next(&e->devs, it, &i))) {
			const struct dev_state *d = entry_value(&e->devs, it);

			if (!d->bound || d->pid != k->pid ||
			    (view == TOP_VIEW_CONTEXT && d->ctx != k->ctx))
				continue;
			r->attach += (uint32_t)d->nr_att;
			for (size_t a = 0; a < d->nr_att; a++)
				r->pasids += d->att[a].pasid != 0;
		}
		return live;
	case TOP_VIEW_IOAS: {
		const struct ioas_state *s;

		if (!k->ioas) {                 /* a domain whose IOAS is unknown */
			const struct dom_owner *o = dom_find(e, k->iommu, k->domain);

			return o && o->live && !o->ioas;   /* resolved: its IOAS row counts it */
		}
		s = obj_find(&e->ioases, k->pid, k->ctx, k->ioas);
		live = s && s->live;
		if (s) {
			const struct ctx_state *c = ctx_find(e, k->pid, k->ctx);
			struct top_row m = { 0 };

			ctx_memory(c, &m);
			if (m.pinned_avail == TOP_VALUE) {
				r->pinned_avail = TOP_VALUE;
				r->pinned_bytes = s->pinned_pages > 0 ?
						  (uint64_t)s->pinned_pages * PAGE_BYTES : 0;
			}
			headroom_merge(r, &m);
		}
		while ((it = tbl_next(&e->devs, it, &i))) {
			const struct dev_state *d = entry_value(&e->devs, it);

			if (!d->bound || d->pid != k->pid || d->ctx != k->ctx)
				continue;
			for (size_t a = 0; a < d->nr_att; a++)
				if (hwpt_ioas(e, d->pid, d->ctx, d->att[a].hwpt) == k->ioas) {
					r->attach++;
					r->pasids += d->att[a].pasid != 0;
				}
		}
		return live;
	}
	case TOP_VIEW_DEVICE: {
		const struct dev_state *d = id_find(&e->devs, k->dev);
		const struct ctx_state *c;
		uint32_t seen[16];
		size_t nseen = 0;
		struct top_row m = { 0 };

		if (!d || !d->bound)
			return false;
		r->attach = (uint32_t)d->nr_att;
		r->pasids = d->gpasids;
		c = ctx_find(e, d->pid, d->ctx);
		ctx_memory(c, &m);
		headroom_merge(r, &m);
		for (size_t a = 0; a < d->nr_att; a++) {
			uint32_t ioas = hwpt_ioas(e, d->pid, d->ctx, d->att[a].hwpt);
			const struct ioas_state *s;
			bool dup = false;

			r->pasids += d->att[a].pasid != 0;
			for (size_t j = 0; j < nseen; j++)
				dup |= seen[j] == ioas;
			if (dup || !ioas || nseen == 16)
				continue;
			seen[nseen++] = ioas;
			s = obj_find(&e->ioases, d->pid, d->ctx, ioas);
			if (s && m.pinned_avail == TOP_VALUE) {
				r->pinned_avail = TOP_VALUE;
				r->pinned_bytes += s->pinned_pages > 0 ?
						   (uint64_t)s->pinned_pages * PAGE_BYTES : 0;
			}
		}
		return true;
	}
	default:
		return false;
	}
}

/* Live objects of the view that have no row yet (idle since the monitor started). */
static int add_live_rows(struct top_engine *e, enum top_view view)
{
	struct tbl_entry *it = NULL;
	struct row_key k;
	size_t i;

	switch (view) {
	case TOP_VIEW_PROCESS:
	case TOP_VIEW_CONTEXT:
		while ((it = tbl_next(&e->ctxs, it, &i))) {
			const struct ctx_key *ck = entry_key(it);

			if (!((struct ctx_state *)entry_value(&e->ctxs, it))->open)
				continue;
			memset(&k, 0, sizeof(k));
			k.pid = ck->pid;
			k.ctx = view == TOP_VIEW_CONTEXT ? ck->ctx : 0;
			if (!tbl_get(&e->rows[view], &k, NULL))
				return -ENOMEM;
		}
		return 0;
	case TOP_VIEW_IOAS:
		while ((it = tbl_next(&e->ioases, it, &i))) {
			const struct obj_key *ok = entry_key(it);

			if (!((struct ioas_state *)entry_value(&e->ioases, it))->live)
				continue;
			memset(&k, 0, sizeof(k));
			k.pid = ok->pid;
			k.ctx = ok->ctx;
			k.ioas = ok->id;
			if (!tbl_get(&e->rows[view], &k, NULL))
				return -ENOMEM;
		}
		return 0;
	case TOP_VIEW_DEVICE:
		while ((it = tbl_next(&e->devs, it, &i))) {
			if (!((struct dev_state *)entry_value(&e->devs, it))->bound)
				continue;
			memset(&k, 0, sizeof(k));
			k.dev = id_of(it);
			if (!tbl_get(&e->rows[view], &k, NULL))
				return -ENOMEM;
		}
		return 0;
	default:
		return 0;
	}
}

static bool same_row(const struct row_key *a, const struct row_key *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/* The last events of every row: the recent ring, newest first. */
static void fill_last(const struct top_engine *e, enum top_view view, struct top_row *rows,
		      const struct row_key *keys, size_t nrows)
{
	uint64_t n = e->recent_head < RECENT_EVENTS ? e->recent_head : RECENT_EVENTS;
	struct row_key targets[MAX_TARGETS];
	size_t full = 0;

	for (uint64_t back = 1; back <= n && full < nrows; back++) {
		const struct ioasid_event *ev = &e->recent[(e->recent_head - back) % RECENT_EVENTS];
		struct ioasid_agg_key k;
		size_t nt;

		memset(&k, 0, sizeof(k));
		ioasid_agg_key_of(ev, &k);
		nt = attribute(e, view, &k, targets, MAX_TARGETS);
		for (size_t t = 0; t < nt; t++)
			for (size_t r = 0; r < nrows; r++) {
				struct top_row *row = &rows[r];

				if (!same_row(&keys[r], &targets[t]) || row->nr_last == LAST_PER_ROW)
					continue;
				/* newest first now; reversed below */
				row->last[row->nr_last++] = *ev;
				full += row->nr_last == LAST_PER_ROW;
			}
	}
	for (size_t r = 0; r < nrows; r++)
		for (uint32_t a = 0, b = rows[r].nr_last; b > 0 && a < --b; a++) {
			struct ioasid_event tmp = rows[r].last[a];

			rows[r].last[a] = rows[r].last[b];
			rows[r].last[b] = tmp;
		}
}

static void header_state(struct top_engine *e, struct top_header *h)
{
	struct tbl_entry *it = NULL;
	size_t i;

	while ((it = tbl_next(&e->procs, it, &i)))
		h->processes += ((struct proc_state *)entry_value(&e->procs, it))->open_ctxs > 0;
	while ((it = tbl_next(&e->ctxs, it, &i))) {
		const struct ctx_state *c = entry_value(&e->ctxs, it);
		struct top_row m = { 0 };

		if (c->acct_seen)
			h->pinned_avail = TOP_VALUE;   /* 0 once every context is gone */
		if (!c->open)
			continue;
		h->contexts++;
		ctx_memory(c, &m);
		if (m.pinned_avail == TOP_VALUE) {
			h->pinned_avail = TOP_VALUE;
			h->pinned_bytes += m.pinned_bytes;
		}
		if (c->acct_seen && (c->mode == 0 || c->limit_pages == UINT64_MAX)) {
			if (h->memlock_avail == TOP_UNKNOWN)
				h->memlock_avail = TOP_UNLIMITED;
		} else if (c->acct_seen && c->limit_pages) {
			uint64_t b = c->limit_pages * PAGE_BYTES;

			if (h->memlock_avail != TOP_VALUE || b < h->memlock_bytes)
				h->memlock_bytes = b;
			h->memlock_avail = TOP_VALUE;
		}
	}
	while ((it = tbl_next(&e->devs, it, &i)))
		h->devices_bound += ((struct dev_state *)entry_value(&e->devs, it))->bound;
	while ((it = tbl_next(&e->ioases, it, &i)))
		h->ioases += ((struct ioas_state *)entry_value(&e->ioases, it))->live;
	while ((it = tbl_next(&e->domains, it, &i)))
		h->domains += ((struct dom_owner *)entry_value(&e->domains, it))->live;
}

int top_engine_tick(struct top_engine *e, uint64_t now_ns, int64_t wall_s)
{
	int rc;

	e->last_secs = e->have_prev && now_ns > e->prev_ns ? (double)(now_ns - e->prev_ns) / 1e9
							     : 0;
	rc = distribute(e);
	if (rc)
		return rc;
	e->prev_ns = now_ns;
	e->have_prev = true;
	e->wall_s = wall_s;
	return 0;
}

int top_engine_view(struct top_engine *e, enum top_view view, struct top_snapshot *out)
{
	struct grow_rows g = { 0 };
	struct row_key *keys = NULL;
	struct tbl_entry *it = NULL;
	struct top_header *h;
	double secs = e->last_secs;
	size_t i, nk = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((int)view < 0 || view >= TOP_VIEW_COUNT)
		return -EINVAL;
	rc = add_live_rows(e, view);
	if (rc)
		return rc;
	h = &out->hdr;
	snprintf(h->source, sizeof(h->source), "%s", e->o.source ? e->o.source : "");
	h->now_ns = e->prev_ns;
	h->wall_s = e->wall_s;
	h->interval_s = secs;
	header_state(e, h);
	if (secs > 0) {
		h->map_s = (double)e->hdr_d.maps / secs;
		h->unmap_s = (double)e->hdr_d.unmaps / secs;
		h->map_bytes_s = (double)e->hdr_d.map_bytes / secs;
		h->inv_s = (double)e->hdr_d.invs / secs;
		h->fault_s = (double)e->hdr_d.faults / secs;
	}
	h->total = e->total;
	h->events = e->received;
	h->dropped = e->dropped;
	h->unaggregated = e->unaggregated + (e->o.aggregates_from_bpf ? 0 : e->lost);
	h->aggregates = e->o.aggregates_from_bpf;
	h->ended = e->ended;
	out->view = view;

	keys = malloc((e->rows[view].count ? e->rows[view].count : 1) * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	while ((it = tbl_next(&e->rows[view], it, &i))) {
		const struct row_key *k = entry_key(it);
		const struct row_acc *acc = entry_value(&e->rows[view], it);
		struct top_row r = { 0 };
		bool live = row_state(e, view, k, &r);
		struct top_row *dst;

		if (!live && !acc->active)
			continue;
		if (!(dst = rows_push(&g))) {
			free(keys);
			free(g.rows);
			return -ENOMEM;
		}
		*dst = r;
		label_row(e, view, k, &dst->id);
		keys[nk++] = *k;
		dst->total = acc->total;
		memcpy(dst->map_lat_hist, acc->map_lat_hist, sizeof(dst->map_lat_hist));
		memcpy(dst->unmap_lat_hist, acc->unmap_lat_hist, sizeof(dst->unmap_lat_hist));
		memcpy(dst->map_size_hist, acc->map_size_hist, sizeof(dst->map_size_hist));
		if (secs > 0) {
			dst->rate[TOP_COL_MAP_S] = (double)acc->d.maps / secs;
			dst->rate[TOP_COL_UNMAP_S] = (double)acc->d.unmaps / secs;
			dst->rate[TOP_COL_MAP_BYTES_S] = (double)acc->d.map_bytes / secs;
			dst->rate[TOP_COL_INV_S] = (double)acc->d.invs / secs;
			dst->rate[TOP_COL_FAULT_S] = (double)acc->d.faults / secs;
			dst->load = (double)acc->d.ops / secs;
		}
		dst->lat_ns[TOP_COL_MAP_P50] = hist_quantile(acc->d.map_lat, 0.50);
		dst->lat_ns[TOP_COL_MAP_P99] = hist_quantile(acc->d.map_lat, 0.99);
		dst->lat_ns[TOP_COL_UNMAP_P50] = hist_quantile(acc->d.unmap_lat, 0.50);
		dst->lat_ns[TOP_COL_UNMAP_P99] = hist_quantile(acc->d.unmap_lat, 0.99);
	}
	fill_last(e, view, g.rows, keys, g.n);
	free(keys);
	out->rows = g.rows;
	out->nr_rows = g.n;
	return 0;
}

int top_engine_snapshot(struct top_engine *e, enum top_view view, uint64_t now_ns,
			int64_t wall_s, struct top_snapshot *out)
{
	int rc;

	if ((int)view < 0 || view >= TOP_VIEW_COUNT) {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	rc = top_engine_tick(e, now_ns, wall_s);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc ? rc : top_engine_view(e, view, out);
}
