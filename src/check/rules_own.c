/* rules_own.c — ownership: contexts, binds, objects and HWPTs (OWN-1, OWN-2, OWN-3 binds,
 * OWN-4), with the model updates of their events.
 *
 * OWN-1 and OWN-3 judge a DEV_BIND against who holds the device and its group now; OWN-2 an
 * attachment against the binds and HWPTs of the attaching context (absence-based parts only
 * for contexts born in the stream); OWN-4 a destroy against the users the shadow counts
 * (attachments per HWPT, nested children per parent, paging HWPTs per IOAS).
 */
#include <string.h>

#include "check/check_private.h"

static bool same_ctx(uint32_t pid_a, uint64_t ctx_a, uint32_t pid_b, uint64_t ctx_b)
{
	return pid_a == pid_b && ctx_a == ctx_b;
}

static bool ok(const struct ioasid_event *ev)
{
	return ev->result == 0 && !(ev->flags & IOASID_EVF_REFUSED);
}

/* ---- contexts ------------------------------------------------------------------------------ */
void ck_own_ctx_open(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_ctx *cx = ck_ctx_find(&c->m, ev->pid, ev->ctx);

	if (cx)
		ck_ctx_forget(&c->m, cx);       /* a reused identity: the old one is gone */
	cx = ck_ctx_get(&c->m, ev->pid, ev->ctx);
	if (!cx) {
		ck_nomem(c, ev);
		return;
	}
	cx->born = true;
}

void ck_own_ctx_close(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_ctx *cx = ck_ctx_find(&c->m, ev->pid, ev->ctx);
	char cs[64];

	if (!cx)
		return;
	if (ck_rule_on(c, IOASID_RULE_MAP_3) && cx->account_known && cx->last_account &&
	    !cx->map3_reported) {
		cx->map3_reported = true;
		ck_violation(c, IOASID_RULE_MAP_3, ev,
			     "%s closed while its last ACCOUNT event still counts %llu pinned "
			     "page(s): every area and domain went with the context, so these pages "
			     "leaked from the accounting (RLIMIT_MEMLOCK stays charged); check the "
			     "unpin path of the IOAS / domain teardown",
			     ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)),
			     (unsigned long long)cx->last_account);
	}
	ck_ctx_forget(&c->m, cx);
}

/* ---- binds --------------------------------------------------------------------------------- */
void ck_own_dev_bind(struct ioasid_check *c, const struct ioasid_event *ev)
{
	const uint32_t ns = ck_ns(ev);
	struct ck_device *d;
	struct ck_group *g = NULL;
	char ds[64], cs[64], os[64];

	if (!ok(ev)) {
		if (ev->pt)
			ck_warn_bind_refused(c, ev);
		return;
	}
	if (!ev->dev)
		return;
	if (!ck_ctx_get(&c->m, ev->pid, ev->ctx) || !(d = ck_device_get(&c->m, ns, ev->dev))) {
		ck_nomem(c, ev);
		return;
	}
	if (ev->aux == 1) {                     /* emulated: an access object, no ownership */
		d->emu = true;
		d->emu_pid = ev->pid;
		d->emu_ctx = ev->ctx;
		return;
	}
	if (ck_rule_on(c, IOASID_RULE_OWN_1) && d->bound &&
	    !same_ctx(d->bound_pid, d->bound_ctx, ev->pid, ev->ctx))
		ck_violation(c, IOASID_RULE_OWN_1, ev,
			     "%s bound to %s while still bound to %s: a device has one owner at a "
			     "time; the first context must unbind it (close its device fd) before "
			     "another may bind it",
			     ck_dev_str(c, ns, ev->dev, ds, sizeof(ds)),
			     ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)),
			     ck_ctx_str(d->bound_pid, d->bound_ctx, os, sizeof(os)));
	if (ev->group)
		g = ck_group_find(&c->m, ns, ev->group);
	if (g && ck_rule_on(c, IOASID_RULE_OWN_3)) {
		for (uint32_t i = 0; i < g->nmembers; i++) {
			const struct ck_device *o;
			char s2[64];

			if (g->members[i] == ev->dev)
				continue;
			o = ck_device_find(&c->m, ns, g->members[i]);
			if (!o || !o->bound || o->group != ev->group ||
			    same_ctx(o->bound_pid, o->bound_ctx, ev->pid, ev->ctx))
				continue;
			ck_violation(c, IOASID_RULE_OWN_3, ev,
				     "%s of group %u bound to %s while %s of the same group is "
				     "bound to %s: a group's user-owned devices belong to one "
				     "owner; give both devices to the same context or unbind the "
				     "other one first",
				     ck_dev_str(c, ns, ev->dev, ds, sizeof(ds)), ev->group,
				     ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)),
				     ck_dev_str(c, ns, o->dev, s2, sizeof(s2)),
				     ck_ctx_str(o->bound_pid, o->bound_ctx, os, sizeof(os)));
			break;
		}
	}
	if (!d->bound) {
		c->m.bound_devices++;
		if (d->group && (g || (g = ck_group_find(&c->m, ns, d->group))))
			g->nbound++;
	}
	d->bound = true;
	d->bound_pid = ev->pid;
	d->bound_ctx = ev->ctx;
	d->pasid_known = true;
	d->pasid_bits = (uint32_t)ev->value;
	d->group_len = (uint32_t)ev->length;
	d->iommu = ev->iommu;
}

void ck_own_dev_unbind(struct ioasid_check *c, const struct ioasid_event *ev)
{
	const uint32_t ns = ck_ns(ev);
	struct ck_device *d;
	char ds[64], cs[64];

	if (!ok(ev) || !ev->dev || !(d = ck_device_find(&c->m, ns, ev->dev)))
		return;
	if (ev->aux == 1) {
		d->emu = false;
		return;
	}
	if (d->nattach && ck_rule_on(c, IOASID_RULE_OWN_2)) {
		for (uint32_t i = 0; i < d->nattach; i++) {
			const struct ck_attach *a = ck_attach_find(&c->m, ns, ev->dev,
								   d->attach_pasids[i]);

			if (!a || !same_ctx(a->pid, a->ctx, ev->pid, ev->ctx))
				continue;
			ck_violation(c, IOASID_RULE_OWN_2, ev,
				     "%s unbound from %s while still attached at PASID %u to HWPT "
				     "%u (iommu %u domain %u, %u attachment(s) in all): a device is "
				     "attached only while bound; detach every PASID and the RID "
				     "before unbinding",
				     ck_dev_str(c, ns, ev->dev, ds, sizeof(ds)),
				     ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)), a->pasid,
				     a->hwpt, a->iommu, a->domain, d->nattach);
			break;
		}
	}
	/* adopt: the device is gone from the context, and its attachments with it */
	while (d->nattach)
		ck_attach_remove(&c->m, ns, ev->dev, d->attach_pasids[d->nattach - 1]);
	if (d->bound) {
		struct ck_group *g = d->group ? ck_group_find(&c->m, ns, d->group) : NULL;

		d->bound = false;
		if (g && g->nbound)
			g->nbound--;
		if (c->m.bound_devices)
			c->m.bound_devices--;
	}
}

/* OWN-2 for an attach or replace that succeeded. */
void ck_own_check_attach(struct ioasid_check *c, const struct ioasid_event *ev)
{
	const uint32_t ns = ck_ns(ev);
	const struct ck_ctx *cx = ck_ctx_find(&c->m, ev->pid, ev->ctx);
	const struct ck_device *d = ck_device_find(&c->m, ns, ev->dev);
	const bool born = ck_full_history(c, cx);
	const char *verb = ev->type == IOASID_EV_DEV_REPLACE ? "replaced" : "attached";
	char ds[64], cs[64], os[64];

	if (!ck_rule_on(c, IOASID_RULE_OWN_2))
		return;
	if (born && ev->dev &&
	    !(d && ((d->bound && same_ctx(d->bound_pid, d->bound_ctx, ev->pid, ev->ctx)) ||
		    (d->emu && same_ctx(d->emu_pid, d->emu_ctx, ev->pid, ev->ctx))))) {
		ck_violation(c, IOASID_RULE_OWN_2, ev,
			     "%s %s at PASID %u to HWPT %u by %s, which never bound it%s%s: a "
			     "device is attached only while bound to the attaching context; bind it "
			     "first (VFIO_DEVICE_BIND_IOMMUFD)",
			     ck_dev_str(c, ns, ev->dev, ds, sizeof(ds)), verb, ev->pasid, ev->pt,
			     ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)),
			     d && d->bound ? "; it is bound to " : "",
			     d && d->bound ? ck_ctx_str(d->bound_pid, d->bound_ctx, os, sizeof(os)) :
					     "");
		return;
	}
	if (ev->domain) {
		const struct ck_domain *dm = ck_domain_find(&c->m, ns, ev->iommu, ev->domain);

		if (dm && dm->has_hwpt && !same_ctx(dm->hwpt_pid, dm->hwpt_ctx, ev->pid, ev->ctx)) {
			ck_violation(c, IOASID_RULE_OWN_2, ev,
				     "%s %s by %s to iommu %u domain %u, which belongs to HWPT %u of "
				     "%s: a device is attached only to objects of its own context; "
				     "allocate a HWPT in this context",
				     ck_dev_str(c, ns, ev->dev, ds, sizeof(ds)), verb,
				     ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)), ev->iommu,
				     ev->domain, dm->hwpt_obj,
				     ck_ctx_str(dm->hwpt_pid, dm->hwpt_ctx, os, sizeof(os)));
			return;
		}
	}
	if (born && ev->value) {
		const struct ck_object *r = ck_object_find(&c->m, ev->pid, ev->ctx,
							   (uint32_t)ev->value);

		if (!r || !(r->kind == IOASID_OBJK_IOAS || r->hwpt_known)) {
			ck_violation(c, IOASID_RULE_OWN_2, ev,
				     "%s %s at PASID %u by %s to the IOAS/HWPT it asked for, ID "
				     "%llu, which is no live IOAS or HWPT of that context (got HWPT "
				     "%u): an ID resolved outside the attaching context; a device is "
				     "attached only to objects of its own context",
				     ck_dev_str(c, ns, ev->dev, ds, sizeof(ds)), verb, ev->pasid,
				     ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)),
				     (unsigned long long)ev->value, ev->pt);
			return;
		}
	}
	if (born) {
		const struct ck_object *o = ck_object_find(&c->m, ev->pid, ev->ctx, ev->pt);

		if (!o || !o->hwpt_known)
			ck_violation(c, IOASID_RULE_OWN_2, ev,
				     "%s %s at PASID %u to HWPT %u, which is not a live HWPT of %s "
				     "(no HWPT_ALLOC for it, or it was destroyed): a device is "
				     "attached only to objects of its own context",
				     ck_dev_str(c, ns, ev->dev, ds, sizeof(ds)), verb, ev->pasid,
				     ev->pt, ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)));
	}
}

/* ---- objects ------------------------------------------------------------------------------- */
void ck_own_obj_alloc(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_object *o;

	if (!ok(ev) || !ev->obj)
		return;
	o = ck_object_get(&c->m, ev->pid, ev->ctx, ev->obj);
	if (!o) {
		ck_nomem(c, ev);
		return;
	}
	if (!o->kind || o->kind != ev->aux) {
		if (ev->aux == IOASID_OBJK_ACCESS)
			o->owner->naccess++;
		o->kind = (uint8_t)ev->aux;
	}
	o->born = true;
}

/* A live paging HWPT on this IOAS, for the message. */
static uint32_t some_hwpt_on(struct ioasid_check *c, const struct ck_object *ioas)
{
	for (size_t i = 0; i < c->m.objects.cap; i++) {
		const struct ck_object *o = c->m.objects.slots[i].val;

		if (o && o->hwpt_known && !(o->flags & IOASID_EVF_NESTED) && o->pt == ioas->obj &&
		    o->pid == ioas->pid && o->ctx == ioas->ctx)
			return o->obj;
	}
	return 0;
}

/* OWN-4 for a HWPT about to go; true if reported. */
static bool own4_hwpt(struct ioasid_check *c, const struct ioasid_event *ev,
		      const struct ck_object *o)
{
	char cs[64];

	if (!ck_rule_on(c, IOASID_RULE_OWN_4) || !(o->nattach || o->nchildren))
		return false;
	ck_violation(c, IOASID_RULE_OWN_4, ev,
		     "HWPT %u of %s destroyed while in use: %u device attachment(s) and %u nested "
		     "HWPT(s) still point at it (iommu %u domain %u); detach the devices and "
		     "destroy the nested HWPTs first (the kernel answers EBUSY)",
		     o->obj, ck_ctx_str(o->pid, o->ctx, cs, sizeof(cs)), o->nattach, o->nchildren,
		     o->iommu, o->domain);
	return true;
}

void ck_own_obj_destroy(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_object *o;
	struct ck_ctx *cx;
	char cs[64];

	if (!ok(ev) || !(o = ck_object_find(&c->m, ev->pid, ev->ctx, ev->obj)))
		return;
	cx = o->owner;
	if (ev->aux == IOASID_OBJK_IOAS && o->nhwpt && ck_rule_on(c, IOASID_RULE_OWN_4))
		ck_violation(c, IOASID_RULE_OWN_4, ev,
			     "IOAS %u of %s destroyed while %u paging HWPT(s) still use it (HWPT "
			     "%u): destroy the HWPTs (and detach their devices) first (the kernel "
			     "answers EBUSY)", o->obj, ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)),
			     o->nhwpt, some_hwpt_on(c, o));
	else if (o->hwpt_known)
		own4_hwpt(c, ev, o);
	if (o->kind == IOASID_OBJK_ACCESS && cx->naccess)
		cx->naccess--;
	if (o->hwpt_known && o->domain) {
		struct ck_domain *dm = ck_domain_find(&c->m, ck_ns(ev), o->iommu, o->domain);

		if (dm && dm->has_hwpt && dm->hwpt_obj == o->obj &&
		    same_ctx(dm->hwpt_pid, dm->hwpt_ctx, o->pid, o->ctx))
			ck_domain_forget(&c->m, dm);
	}
	ck_object_forget(&c->m, o);
	if (ev->aux == IOASID_OBJK_IOAS)
		ck_map3_after_release(c, ev, cx);
}

void ck_own_hwpt_alloc(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_object *o, *pt;

	if (!ok(ev) || !ev->obj)
		return;
	o = ck_object_get(&c->m, ev->pid, ev->ctx, ev->obj);
	if (!o) {
		ck_nomem(c, ev);
		return;
	}
	if (o->hwpt_known)                      /* announced twice: keep the first */
		return;
	o->hwpt_known = true;
	o->born = true;
	o->flags = ev->flags;
	o->pt = ev->pt;
	o->iommu = ev->iommu;
	o->domain = ev->domain;
	if (!o->kind)
		o->kind = ev->flags & IOASID_EVF_NESTED ? IOASID_OBJK_HWPT_NESTED :
							  IOASID_OBJK_HWPT_PAGING;
	c->m.hwpts++;
	if (ev->pt && (pt = ck_object_get(&c->m, ev->pid, ev->ctx, ev->pt))) {
		if (ev->flags & IOASID_EVF_NESTED)
			pt->nchildren++;
		else
			pt->nhwpt++;
	}
	if (ev->domain) {
		struct ck_domain *dm = ck_domain_get(&c->m, ck_ns(ev), ev->iommu, ev->domain);

		if (!dm) {
			ck_nomem(c, ev);
			return;
		}
		dm->has_hwpt = true;
		dm->hwpt_pid = ev->pid;
		dm->hwpt_ctx = ev->ctx;
		dm->hwpt_obj = ev->obj;
		dm->nested = ev->flags & IOASID_EVF_NESTED;
		dm->tracked = !dm->nested;
		dm->user_inv = false;
		dm->stale_pending = false;
	}
}

void ck_own_hwpt_destroy(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_object *o = ck_object_find(&c->m, ev->pid, ev->ctx, ev->obj);
	struct ck_domain *dm;

	if (!ok(ev))
		return;
	if (o)
		own4_hwpt(c, ev, o);
	if (ev->domain && (dm = ck_domain_find(&c->m, ck_ns(ev), ev->iommu, ev->domain)) &&
	    (!dm->has_hwpt ||
	     (dm->hwpt_obj == ev->obj && same_ctx(dm->hwpt_pid, dm->hwpt_ctx, ev->pid, ev->ctx))))
		ck_domain_forget(&c->m, dm);
	if (o)
		ck_object_forget(&c->m, o);
}
