/* rules_map.c — mapping, IOTLB and accounting (MAP-1..4): IOAS areas with their allowed and
 * reserved ranges, domain page tables and unflushed ranges, stale hits, DMA, pinned pages.
 *
 * This is the hot path of a map/unmap-heavy stream: every handler does O(1) hash lookups (with
 * the tables' one-entry caches) and O(log n) interval-tree work, and never calls malloc once
 * the node pool is warm.
 *
 * MAP-2 (a) needs "which domains did this unmap touch": the reference emits, per IOAS_UNMAP,
 * DOMAIN_UNMAP + IOTLB_INV per domain, ACCOUNT, then IOAS_UNMAP, all on the calling thread. So
 * each thread (pid, tid) remembers the domains its DOMAIN_UNMAPs hit since its previous
 * IOAS-level event (IOAS_MAP / UNMAP / COPY), and the IOAS_UNMAP checks exactly those. A
 * domain's unflushed ranges: DOMAIN_UNMAP adds, IOTLB_INV of the domain removes the overlap
 * (whole domain for length "all", FLUSH_ALL, DOMAIN_FREE). A domain seen flushing an unmap
 * without STRICT is lazy (flush queue): it may legally hold unflushed ranges, so it is exempt.
 *
 * MAP-2 (c) keeps each domain's DOMAIN_MAP'd ranges; a DMA through a paging domain whose
 * HWPT_ALLOC was seen must land inside them (a stale hit reported as (b) excuses its DMA).
 */
#include <stdlib.h>

#include "check/check_private.h"

static inline bool ok(const struct ioasid_event *ev)
{
	return ev->result == 0 && !(ev->flags & IOASID_EVF_REFUSED);
}

/* The IOAS of an event, created (not born) if unknown. */
static inline struct ck_object *ioas_of(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_object *o = ck_object_find(&c->m, ev->pid, ev->ctx, ev->obj);

	if (__builtin_expect(!o, 0)) {
		o = ck_object_get(&c->m, ev->pid, ev->ctx, ev->obj);
		if (!o)
			ck_nomem(c, ev);
		else if (!o->kind)
			o->kind = IOASID_OBJK_IOAS;
	}
	return o;
}

/* An IOAS-level event of a thread: what its DOMAIN_UNMAPs touched is now settled. */
static inline struct ck_thread *thread_settle(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_thread *t = ck_htab_get(&c->m.threads, CK_KEY_THREAD(ev->pid, ev->tid));

	return t;
}

static bool allowed_covers(const struct ck_object *o, uint64_t start, uint64_t last)
{
	uint64_t cur = start;

	/* small sets: walk until [start, last] is covered or no range continues it */
	for (;;) {
		bool advanced = false;

		for (uint32_t i = 0; i < o->nallowed; i++) {
			const struct ck_range *r = &o->allowed[i];

			if (r->start <= cur && r->last >= cur) {
				if (r->last >= last)
					return true;
				cur = r->last + 1;
				advanced = true;
			}
		}
		if (!advanced)
			return false;
	}
}

/* ---- IOAS ---------------------------------------------------------------------------------- */
void ck_map_ioas_map(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_thread *t = thread_settle(c, ev);
	struct ck_object *o;
	struct itree_node *n;
	uint64_t last, pages;
	char cs[64];

	if (t)
		t->ntouched = 0;
	if (!ok(ev) || !ck_span(ev->iova, ev->length, &last) || !(o = ioas_of(c, ev)))
		return;
	if (ck_rule_on(c, IOASID_RULE_MAP_1)) {
		const char *op = ev->type == IOASID_EV_IOAS_COPY ? "copied" : "mapped";

		if ((n = itree_iter_first(&o->areas, ev->iova, last)))
			ck_violation(c, IOASID_RULE_MAP_1, ev,
				     "IOVA [%#llx, %#llx] %s into IOAS %u of %s overlaps its area "
				     "[%#llx, %#llx]: areas never overlap; the map must fail with "
				     "EEXIST (unmap the old area first)",
				     (unsigned long long)ev->iova, (unsigned long long)last, op,
				     ev->obj, ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)),
				     (unsigned long long)n->start, (unsigned long long)n->last);
		else if ((ev->flags & IOASID_EVF_AUTO_IOVA) && o->nallowed &&
			 !allowed_covers(o, ev->iova, last))
			/* the kernel's allocator stays inside the allowed ranges; a FIXED_IOVA
			 * map is only kept off areas and reserved ranges (iopt_check_iova) */
			ck_violation(c, IOASID_RULE_MAP_1, ev,
				     "IOVA [%#llx, %#llx] %s into IOAS %u of %s, chosen by the "
				     "IOVA allocator, is outside its %u allowed range(s) "
				     "(IOMMU_IOAS_ALLOW_IOVAS; first [%#llx, %#llx]): automatic "
				     "IOVAs must come from the allowed ranges (an allocator bug: "
				     "map with FIXED_IOVA inside them meanwhile)",
				     (unsigned long long)ev->iova, (unsigned long long)last, op,
				     ev->obj, ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)),
				     o->nallowed, (unsigned long long)o->allowed[0].start,
				     (unsigned long long)o->allowed[0].last);
		else if ((n = itree_iter_first(&o->reserved, ev->iova, last)))
			ck_violation(c, IOASID_RULE_MAP_1, ev,
				     "IOVA [%#llx, %#llx] %s into IOAS %u of %s overlaps reserved "
				     "range [%#llx, %#llx] (an IOMMU reserved region such as the MSI "
				     "window, or outside a domain's aperture): the map must fail; "
				     "pick another IOVA",
				     (unsigned long long)ev->iova, (unsigned long long)last, op,
				     ev->obj, ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)),
				     (unsigned long long)n->start, (unsigned long long)n->last);
	}
	if (ck_tree_add(&c->m.pool, &o->areas, ev->iova, last)) {
		ck_nomem(c, ev);
		return;
	}
	pages = ck_pages(ev->iova, last);
	o->area_pages += pages;
	c->m.total_areas++;
	o->owner->nareas++;
	o->owner->pidst->need_pages += pages;
	if (!o->owner->pidst->memlock_warned &&
	    (o->owner->pidst->limit_pages || c->opts.memlock_limit_pages))
		ck_warn_memlock(c, ev, o->owner->pidst);
	if (o->areas.count >= o->map_warn_next)
		ck_warn_map_count(c, ev, o);
}

static void account_removed(struct ioasid_check *c, struct ck_object *o, const struct ck_removed *rm)
{
	struct ck_ctx *cx = o->owner;

	o->area_pages -= rm->pages <= o->area_pages ? rm->pages : o->area_pages;
	if (rm->nodes > 0) {
		c->m.total_areas -= (uint64_t)rm->nodes <= c->m.total_areas ? (uint64_t)rm->nodes : 0;
		cx->nareas -= (uint64_t)rm->nodes <= cx->nareas ? (uint64_t)rm->nodes : cx->nareas;
	} else {
		c->m.total_areas += (uint64_t)-rm->nodes;
		cx->nareas += (uint64_t)-rm->nodes;
	}
	cx->pidst->need_pages -= rm->pages <= cx->pidst->need_pages ? rm->pages :
								      cx->pidst->need_pages;
}

void ck_map_ioas_unmap(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_thread *t = thread_settle(c, ev);
	struct ck_object *o;
	struct ck_removed rm;
	uint64_t last;

	if (!ck_span(ev->iova, ev->length, &last)) {
		if (t)
			t->ntouched = 0;
		return;
	}
	if (ok(ev) && ev->value && t && t->ntouched && ck_rule_on(c, IOASID_RULE_MAP_2)) {
		for (uint32_t i = 0; i < t->ntouched && i < CK_THREAD_DOMAINS; i++) {
			struct ck_domain *d = ck_domain_find(&c->m, t->touched[i].ns,
							     t->touched[i].iommu, t->touched[i].domain);
			const struct ck_range *r;
			char cs[64];

			if (!d || d->lazy || !(r = ck_unflushed_overlap(d, ev->iova, last)))
				continue;
			ck_violation(c, IOASID_RULE_MAP_2, ev,
				     "IOAS_UNMAP of [%#llx, %#llx] in IOAS %u of %s returned while "
				     "iommu %u domain %u still holds unflushed IOTLB range [%#llx, "
				     "%#llx] (DOMAIN_UNMAP without a covering IOTLB_INV): after a "
				     "strict unmap returns, DMA to the range must fault; the unmap "
				     "path must invalidate (iotlb_sync) before returning",
				     (unsigned long long)ev->iova, (unsigned long long)last, ev->obj,
				     ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)), d->iommu,
				     d->domain, (unsigned long long)r->start,
				     (unsigned long long)r->last);
			d->stale_reported = true;
			break;
		}
	}
	if (t)
		t->ntouched = 0;
	if (!ev->value || !(o = ioas_of(c, ev)))
		return;
	if (!ok(ev)) {
		/* a failed unmap may have removed value bytes of whole areas, ascending from
		 * iova, before the area it could not take (iopt_unmap_iova_range): those areas,
		 * wherever the first one starts */
		uint64_t got = 0, l2 = 0;
		struct itree_node *n;

		for (n = itree_iter_first(&o->areas, ev->iova, last); n && got < ev->value;
		     n = itree_iter_next(n, ev->iova, last)) {
			if (n->start < ev->iova || n->last > last)
				break;
			got += n->last - n->start + 1;
			l2 = n->last;
		}
		if (!got)
			return;
		rm = ck_tree_remove_inside(&c->m.pool, &o->areas, ev->iova, l2);
		account_removed(c, o, &rm);
		return;
	}
	rm = ck_tree_remove_inside(&c->m.pool, &o->areas, ev->iova, last);
	account_removed(c, o, &rm);
	if (ev->value > rm.bytes && o->areas.count) {
		/* VFIO type1 (v1) cuts areas at the range's edges: take the cut parts too */
		if (ck_tree_punch(&c->m.pool, &o->areas, ev->iova, last, &rm))
			ck_nomem(c, ev);
		account_removed(c, o, &rm);
	}
	ck_map3_after_release(c, ev, o->owner);
}

void ck_map3_after_release(struct ioasid_check *c, const struct ioasid_event *ev,
			   struct ck_ctx *cx)
{
	char cs[64];

	if (!ck_full_history(c, cx) || cx->nareas || cx->naccess || !cx->account_known ||
	    !cx->last_account || cx->map3_reported || !ck_rule_on(c, IOASID_RULE_MAP_3))
		return;
	cx->map3_reported = true;
	ck_violation(c, IOASID_RULE_MAP_3, ev,
		     "%s has no IOAS area and no access object left, but its last ACCOUNT event "
		     "still counts %llu pinned page(s): pinned pages were not released when their "
		     "last area went (an unpin missing on the unmap / destroy path)",
		     ck_ctx_str(cx->pid, cx->ctx, cs, sizeof(cs)),
		     (unsigned long long)cx->last_account);
}

void ck_map_ioas_reserve(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_object *o;
	uint64_t last;

	if (!ok(ev) || !ck_span(ev->iova, ev->length, &last) || !(o = ioas_of(c, ev)))
		return;
	if (ev->value) {
		if (ck_tree_add(&c->m.pool, &o->reserved, ev->iova, last))
			ck_nomem(c, ev);
	} else if (!ck_tree_remove_exact(&c->m.pool, &o->reserved, ev->iova, last)) {
		ck_tree_remove_inside(&c->m.pool, &o->reserved, ev->iova, last);
	}
}

void ck_map_ioas_allow(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_object *o;
	uint64_t last;

	if (!ok(ev) || !(o = ioas_of(c, ev)))
		return;
	if (!ev->value || ev->aux == 0)
		o->nallowed = 0;                /* a new set starts (or the empty set) */
	if (!ev->value || !ck_span(ev->iova, ev->length, &last))
		return;
	if (o->nallowed == o->cap_allowed) {
		uint32_t ncap = o->cap_allowed ? o->cap_allowed * 2 : 4;
		struct ck_range *nr = realloc(o->allowed, ncap * sizeof(*nr));

		if (!nr) {
			ck_nomem(c, ev);
			return;
		}
		o->allowed = nr;
		o->cap_allowed = ncap;
	}
	o->allowed[o->nallowed++] = (struct ck_range){ ev->iova, last };
}

/* ---- domains ------------------------------------------------------------------------------- */
static inline struct ck_domain *domain_of(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_domain *d = ck_domain_find(&c->m, ck_ns(ev), ev->iommu, ev->domain);

	if (__builtin_expect(!d, 0) && !(d = ck_domain_get(&c->m, ck_ns(ev), ev->iommu,
							    ev->domain)))
		ck_nomem(c, ev);
	return d;
}

void ck_map_domain_map(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_domain *d;
	uint64_t last;

	if (!ok(ev) || !ck_span(ev->iova, ev->length, &last) || !(d = domain_of(c, ev)))
		return;
	if (ck_tree_add(&c->m.pool, &d->maps, ev->iova, last))
		ck_nomem(c, ev);
}

void ck_map_domain_unmap(struct ioasid_check *c, const struct ioasid_event *ev)
{
	const uint32_t ns = ck_ns(ev);
	struct ck_domain *d;
	struct ck_thread *t;
	uint64_t last;

	if (!ck_span(ev->iova, ev->length, &last) || !(d = domain_of(c, ev)))
		return;
	if (d->maps.count && !ck_tree_remove_exact(&c->m.pool, &d->maps, ev->iova, last) &&
	    ck_tree_punch(&c->m.pool, &d->maps, ev->iova, last, NULL))
		ck_nomem(c, ev);
	if (!ev->value || d->lazy || !ck_rule_on(c, IOASID_RULE_MAP_2))
		return;
	if (ck_unflushed_add(d, ev->iova, last)) {
		ck_nomem(c, ev);
		return;
	}
	t = ck_thread_get(&c->m, ev->pid, ev->tid);
	if (!t) {
		ck_nomem(c, ev);
		return;
	}
	for (uint32_t i = 0; i < t->ntouched; i++)
		if (t->touched[i].domain == ev->domain && t->touched[i].iommu == ev->iommu &&
		    t->touched[i].ns == ns)
			return;
	if (t->ntouched < CK_THREAD_DOMAINS) {
		t->touched[t->ntouched].ns = ns;
		t->touched[t->ntouched].iommu = ev->iommu;
		t->touched[t->ntouched].domain = ev->domain;
		t->ntouched++;
	}
}

void ck_map_iotlb_inv(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_domain *d = ck_domain_find(&c->m, ck_ns(ev), ev->iommu, ev->domain);
	uint64_t last;

	if (!d || !ok(ev))
		return;
	d->inv_pasid = ev->pasid;
	d->inv_pid = ev->pid;
	d->inv_tid = ev->tid;
	d->inv_at = c->sum.events;
	d->stale_reported = false;
	if (ev->aux == IOASID_INV_USER)
		d->user_inv = true;
	if (ev->aux == IOASID_INV_UNMAP && !(ev->flags & IOASID_EVF_STRICT)) {
		d->lazy = true;
		d->nunflushed = 0;
	}
	if (d->nunflushed) {
		if (ev->length == UINT64_MAX || ev->aux == IOASID_INV_FLUSH_ALL ||
		    ev->aux == IOASID_INV_DOMAIN_FREE)
			d->nunflushed = 0;
		else if (ck_span(ev->iova, ev->length, &last))
			ck_unflushed_remove(d, ev->iova, last);
	}
	if (d->ndirty)
		ck_domain_dirty_clear(&c->m, d, ev->pasid);
}

void ck_map_stale_hit(struct ioasid_check *c, const struct ioasid_event *ev)
{
	const uint32_t ns = ck_ns(ev);
	struct ck_domain *d = ck_domain_find(&c->m, ns, ev->iommu, ev->domain);
	char ds[64];

	if (d && d->stale_reported) {
		d->stale_pending = true;        /* the same missed flush: reported once */
		return;
	}
	if (d && d->nested) {
		if (ck_rule_on(c, IOASID_RULE_MAP_4))
			ck_violation(c, IOASID_RULE_MAP_4, ev,
				     "stale IOTLB hit on nested iommu %u domain %u (HWPT %u) at "
				     "PASID %u IOVA %#llx (%s): a DMA used a stage-1 translation "
				     "the guest's tables no longer hold; %s",
				     ev->iommu, ev->domain, d->hwpt_obj, ev->pasid,
				     (unsigned long long)ev->iova,
				     ev->dev ? ck_dev_str(c, ns, ev->dev, ds, sizeof(ds)) : "no device",
				     d->user_inv ? "the guest has invalidated this domain before "
						   "(IOTLB_INV reason USER), so either it changed its "
						   "table afterwards without invalidating again, or an "
						   "IOMMU_HWPT_INVALIDATE it issued was not carried out "
						   "(no IOTLB_INV for it)" :
						   "no IOTLB_INV reason USER was seen on this domain "
						   "since its HWPT_ALLOC: the guest changed its table "
						   "and did not invalidate (IOMMU_HWPT_INVALIDATE)");
	} else if (ck_rule_on(c, IOASID_RULE_MAP_2)) {
		ck_violation(c, IOASID_RULE_MAP_2, ev,
			     "stale IOTLB hit on iommu %u domain %u at PASID %u IOVA %#llx (%s): a "
			     "DMA used a translation the page table no longer holds (stale paddr "
			     "%#llx); the unmap that removed it did not invalidate the IOTLB",
			     ev->iommu, ev->domain, ev->pasid, (unsigned long long)ev->iova,
			     ev->dev ? ck_dev_str(c, ns, ev->dev, ds, sizeof(ds)) : "no device",
			     (unsigned long long)ev->value);
	}
	if (d || (d = ck_domain_get(&c->m, ns, ev->iommu, ev->domain))) {
		d->stale_pending = true;
		d->stale_reported = true;
	}
}

void ck_map_dma(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_domain *d;
	uint64_t last;
	char ds[64];

	if (!ev->domain || !ok(ev) ||
	    !(d = ck_domain_find(&c->m, ck_ns(ev), ev->iommu, ev->domain)) || !d->tracked ||
	    c->lost_any)
		return;
	if (d->stale_pending) {
		d->stale_pending = false;       /* the DMA the stale hit served: already reported */
		return;
	}
	if (!ck_rule_on(c, IOASID_RULE_MAP_2) || !ck_span(ev->iova, ev->length, &last))
		return;
	if (!ck_tree_covers(&d->maps, ev->iova, last))
		ck_violation(c, IOASID_RULE_MAP_2, ev,
			     "DMA by %s through iommu %u domain %u (HWPT %u) at IOVA [%#llx, %#llx] "
			     "succeeded but the domain's page table does not map it (no DOMAIN_MAP "
			     "covers it, or a DOMAIN_UNMAP removed it): DMA to an unmapped IOVA must "
			     "fault",
			     ev->dev ? ck_dev_str(c, ck_ns(ev), ev->dev, ds, sizeof(ds)) : "dev 0",
			     ev->iommu, ev->domain, d->hwpt_obj, (unsigned long long)ev->iova,
			     (unsigned long long)last);
}

void ck_map_account(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_ctx *cx = ck_ctx_find(&c->m, ev->pid, ev->ctx);
	char cs[64];

	if (__builtin_expect(!cx, 0) && !(cx = ck_ctx_get(&c->m, ev->pid, ev->ctx))) {
		ck_nomem(c, ev);
		return;
	}
	cx->account_known = true;
	cx->last_account = ev->value;
	if (ev->iova && ev->iova != UINT64_MAX && cx->pidst->limit_pages != ev->iova) {
		cx->pidst->limit_pages = ev->iova;
		if (!cx->pidst->memlock_warned)
			ck_warn_memlock(c, ev, cx->pidst);
	}
	if (ok(ev) && ev->aux && ev->iova && ev->iova != UINT64_MAX && ev->pt > ev->iova &&
	    ck_rule_on(c, IOASID_RULE_MAP_3))
		ck_violation(c, IOASID_RULE_MAP_3, ev,
			     "%s charged to %llu page(s) in accounting mode %u, over its "
			     "RLIMIT_MEMLOCK of %llu page(s): a pin beyond the limit must fail with "
			     "ENOMEM (raise the limit with ulimit -l, or grant CAP_IPC_LOCK)",
			     ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)), (unsigned long long)ev->pt,
			     ev->aux, (unsigned long long)ev->iova);
}
