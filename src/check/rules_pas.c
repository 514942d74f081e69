/* rules_pas.c — attachments and PASIDs (PAS-1..4): every DEV_ATTACH / DEV_REPLACE /
 * DEV_DETACH goes through here, runs the attach checks of all families (OWN-2, GRP-3, PAS-1,
 * PAS-2, PAS-3) and then updates the attachments; global PASIDs (GPASID_ALLOC / FREE) too.
 *
 * PAS-3 follows what the reference (src/reference/device.c, pasid_compat()) and the kernel
 * (iommufd_hwpt_pasid_compat, 6.15+) refuse, so that a clean run never reports:
 *   - a PASID (!= 0) attaches only to a HWPT allocated with IOMMU_HWPT_ALLOC_PASID (automatic
 *     HWPTs never are: "no automatic domains for PASIDs");
 *   - nor while the group's RID is attached to a HWPT that is not PASID-compatible;
 *   - and the RID does not attach to a non-PASID-compatible HWPT while PASIDs are attached.
 * A group of several devices is NOT refused: PASID entries are programmed only on the members
 * that are PASID-capable (the kernel's __iommu_set_group_pasid skips the others), so "a
 * sibling with PASID width 0" is legal and never reported.
 *
 * Replace: per event.h every device of the group attached at that PASID moves to the new
 * target; the shadow moves them all, so GRP-3 never fires for a replace.
 *
 * PAS-4: a PASID that is or was global leaves "unflushed" state in a domain it is detached
 * from (DEV_DETACH, or DEV_REPLACE away) until an IOTLB_INV of that domain for that PASID or
 * for all PASIDs (rules_map.c clears it). Reusing it (GPASID_ALLOC) before then is a violation.
 * The reference announces a detach after doing it: the PASID-entry flush (IOTLB_INV reason
 * PASID_ENTRY, that PASID) comes BEFORE the DEV_DETACH / DEV_REPLACE event. So an IOTLB_INV
 * of that domain and PASID (or all) made by the same thread since its previous attach-level
 * operation counts as the detach's own flush and leaves nothing unflushed.
 */
#include "check/check_private.h"

static bool ok(const struct ioasid_event *ev)
{
	return ev->result == 0 && !(ev->flags & IOASID_EVF_REFUSED);
}

static bool pasid_compat(const struct ck_object *o)
{
	return o->flags & IOASID_EVF_PASID;
}

/* The known, non-PASID-compatible HWPT the group's RID (in this context) is attached to. */
static const struct ck_attach *group_rid_incompatible(struct ioasid_check *c,
						      const struct ioasid_event *ev,
						      const struct ck_group *g)
{
	const uint32_t ns = ck_ns(ev);
	uint32_t n = g ? g->nmembers : 1;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t dev = g ? g->members[i] : ev->dev;
		const struct ck_attach *a = ck_attach_find(&c->m, ns, dev, 0);
		const struct ck_object *o;

		if (!a || a->pid != ev->pid || a->ctx != ev->ctx)
			continue;
		o = ck_object_find(&c->m, a->pid, a->ctx, a->hwpt);
		if (o && o->hwpt_known && !pasid_compat(o))
			return a;
	}
	return NULL;
}

/* A PASID attachment (!= 0) of the group in this context. */
static const struct ck_attach *group_pasid_attach(struct ioasid_check *c,
						  const struct ioasid_event *ev,
						  const struct ck_group *g)
{
	const uint32_t ns = ck_ns(ev);
	uint32_t n = g ? g->nmembers : 1;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t dev = g ? g->members[i] : ev->dev;
		const struct ck_device *d = ck_device_find(&c->m, ns, dev);

		for (uint32_t k = 0; d && k < d->nattach; k++) {
			const struct ck_attach *a;

			if (!d->attach_pasids[k])
				continue;
			a = ck_attach_find(&c->m, ns, dev, d->attach_pasids[k]);
			if (a && a->pid == ev->pid && a->ctx == ev->ctx)
				return a;
		}
	}
	return NULL;
}

static void pas_checks(struct ioasid_check *c, const struct ioasid_event *ev,
		       const struct ck_group *g)
{
	const uint32_t ns = ck_ns(ev);
	const bool replace = ev->type == IOASID_EV_DEV_REPLACE;
	const struct ck_device *d = ck_device_find(&c->m, ns, ev->dev);
	const struct ck_object *target = ck_object_find(&c->m, ev->pid, ev->ctx, ev->pt);
	const struct ck_attach *a;
	char ds[64], os[64];

	if (ev->pasid && d && d->pasid_known && ck_rule_on(c, IOASID_RULE_PAS_1) &&
	    (d->pasid_bits == 0 || (d->pasid_bits < 32 && ev->pasid >> d->pasid_bits))) {
		if (d->pasid_bits == 0)
			ck_violation(c, IOASID_RULE_PAS_1, ev,
				     "%s attached at PASID %u but it is not PASID-capable (PASID "
				     "width 0 at its DEV_BIND): attach its RID (no PASID) instead",
				     ck_dev_str(c, ns, ev->dev, ds, sizeof(ds)), ev->pasid);
		else
			ck_violation(c, IOASID_RULE_PAS_1, ev,
				     "%s attached at PASID %u (%#x), beyond its %u-bit PASID width "
				     "(max %u): use a PASID below 2^%u",
				     ck_dev_str(c, ns, ev->dev, ds, sizeof(ds)), ev->pasid,
				     ev->pasid, d->pasid_bits, (1u << d->pasid_bits) - 1,
				     d->pasid_bits);
	}
	if (!replace && ck_rule_on(c, IOASID_RULE_PAS_2) &&
	    (a = ck_attach_find(&c->m, ns, ev->dev, ev->pasid)))
		ck_violation(c, IOASID_RULE_PAS_2, ev,
			     "%s attached at PASID %u to HWPT %u (iommu %u domain %u) while already "
			     "attached there to HWPT %u (iommu %u domain %u): one domain per "
			     "(device, PASID); use replace (IOMMU_..._REPLACE) to change it",
			     ck_dev_str(c, ns, ev->dev, ds, sizeof(ds)), ev->pasid, ev->pt,
			     ev->iommu, ev->domain, a->hwpt, a->iommu, a->domain);
	if (!ck_rule_on(c, IOASID_RULE_PAS_3))
		return;
	if (ev->pasid) {
		if (target && target->hwpt_known && !pasid_compat(target)) {
			ck_violation(c, IOASID_RULE_PAS_3, ev,
				     "%s attached at PASID %u to HWPT %u, which was not allocated "
				     "PASID-compatible (%s): a PASID takes a HWPT allocated with "
				     "IOMMU_HWPT_ALLOC_PASID",
				     ck_dev_str(c, ns, ev->dev, ds, sizeof(ds)), ev->pasid, ev->pt,
				     target->flags & IOASID_EVF_AUTO ? "an automatic HWPT" :
								       "no PASID flag");
			return;
		}
		if ((a = group_rid_incompatible(c, ev, g))) {
			ck_violation(c, IOASID_RULE_PAS_3, ev,
				     "%s attached at PASID %u while the RID of %s (group %u) is "
				     "attached to HWPT %u, which is not PASID-compatible: PASID "
				     "attach needs a PASID-compatible domain on the RID; replace the "
				     "RID's HWPT with one allocated with IOMMU_HWPT_ALLOC_PASID",
				     ck_dev_str(c, ns, ev->dev, ds, sizeof(ds)), ev->pasid,
				     ck_dev_str(c, ns, a->dev, os, sizeof(os)), ev->group, a->hwpt);
			return;
		}
	} else if (target && target->hwpt_known && !pasid_compat(target) &&
		   (a = group_pasid_attach(c, ev, g))) {
		ck_violation(c, IOASID_RULE_PAS_3, ev,
			     "RID of %s %s HWPT %u, which is not PASID-compatible, while %s has "
			     "PASID %u attached: with PASIDs attached the RID needs a HWPT allocated "
			     "with IOMMU_HWPT_ALLOC_PASID",
			     ck_dev_str(c, ns, ev->dev, ds, sizeof(ds)),
			     replace ? "replaced with" : "attached to", ev->pt,
			     ck_dev_str(c, ns, a->dev, os, sizeof(os)), a->pasid);
	}
}

/* A global PASID left a domain: it holds unflushed state for it until invalidated. */
static void note_pasid_left(struct ioasid_check *c, const struct ioasid_event *ev, uint32_t pasid,
			    uint32_t iommu, uint32_t domain, uint64_t last_op)
{
	const uint32_t ns = ck_ns(ev);
	const struct ck_gpasid *gp;
	struct ck_domain *dm;

	if (!pasid || !domain || !(gp = ck_gpasid_find(&c->m, ns, pasid)) || !gp->ever)
		return;
	dm = ck_domain_get(&c->m, ns, iommu, domain);
	if (!dm) {
		ck_nomem(c, ev);
		return;
	}
	if (dm->inv_at && dm->inv_at > last_op && dm->inv_pid == ev->pid &&
	    dm->inv_tid == ev->tid && (dm->inv_pasid == pasid || dm->inv_pasid == UINT32_MAX))
		return;                         /* flushed by the detach itself */
	if (ck_domain_dirty_add(&c->m, dm, pasid))
		ck_nomem(c, ev);
}

/* The thread's previous attach-level operation (event number), and mark this one. */
static uint64_t thread_op(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_thread *t = ck_thread_get(&c->m, ev->pid, ev->tid);
	uint64_t prev;

	if (!t)
		return UINT64_MAX;              /* no memory: trust no earlier flush */
	prev = t->last_op;
	t->last_op = c->sum.events;
	return prev;
}

void ck_pas_attach(struct ioasid_check *c, const struct ioasid_event *ev)
{
	const uint32_t ns = ck_ns(ev);
	const struct ck_group *g;
	uint32_t moved = 0;
	uint64_t last_op;

	if (!ok(ev) || !ev->dev)
		return;
	last_op = thread_op(c, ev);
	if (!ck_ctx_get(&c->m, ev->pid, ev->ctx)) {
		ck_nomem(c, ev);
		return;
	}
	g = ev->group ? ck_group_find(&c->m, ns, ev->group) : NULL;
	ck_own_check_attach(c, ev);
	if (ev->type == IOASID_EV_DEV_ATTACH)
		ck_grp_check_attach(c, ev);
	pas_checks(c, ev, g);

	/* adopt */
	if (ev->type == IOASID_EV_DEV_REPLACE && g) {
		for (uint32_t i = 0; i < g->nmembers; i++) {
			uint32_t dev = g->members[i];
			struct ck_attach *a = ck_attach_find(&c->m, ns, dev, ev->pasid);

			if (!a || a->pid != ev->pid || a->ctx != ev->ctx)
				continue;
			if (a->iommu != ev->iommu || a->domain != ev->domain)
				note_pasid_left(c, ev, ev->pasid, a->iommu, a->domain, last_op);
			if (ck_attach_set(&c->m, ns, dev, ev->pasid, ev->pid, ev->ctx, ev->pt,
					  ev->iommu, ev->domain))
				ck_nomem(c, ev);
			moved++;
		}
		if (moved)
			return;         /* the group moved (the caller need not have been attached) */
	} else if (ev->type == IOASID_EV_DEV_REPLACE) {
		const struct ck_attach *a = ck_attach_find(&c->m, ns, ev->dev, ev->pasid);

		if (a && (a->iommu != ev->iommu || a->domain != ev->domain))
			note_pasid_left(c, ev, ev->pasid, a->iommu, a->domain, last_op);
	}
	if (ck_attach_set(&c->m, ns, ev->dev, ev->pasid, ev->pid, ev->ctx, ev->pt, ev->iommu,
			  ev->domain))
		ck_nomem(c, ev);
}

void ck_pas_detach(struct ioasid_check *c, const struct ioasid_event *ev)
{
	const uint32_t ns = ck_ns(ev);

	if (!ok(ev) || !ev->dev)
		return;
	note_pasid_left(c, ev, ev->pasid, ev->iommu, ev->domain, thread_op(c, ev));
	ck_attach_remove(&c->m, ns, ev->dev, ev->pasid);
}

/* ---- global PASIDs --------------------------------------------------------------------------- */
static const struct ck_domain *dirty_domain_of(struct ioasid_check *c, uint32_t ns, uint32_t pasid)
{
	for (size_t i = 0; i < c->m.domains.cap; i++) {
		const struct ck_domain *d = c->m.domains.slots[i].val;

		if (!d || d->ns != ns)
			continue;
		for (uint32_t k = 0; k < d->ndirty; k++)
			if (d->dirty_pasids[k] == pasid)
				return d;
	}
	return NULL;
}

void ck_pas_gpasid_alloc(struct ioasid_check *c, const struct ioasid_event *ev)
{
	const uint32_t ns = ck_ns(ev);
	struct ck_gpasid *gp;
	char cs[64], os[64];

	if (!ok(ev) || !ev->pasid)
		return;
	gp = ck_gpasid_get(&c->m, ns, ev->pasid);
	if (!gp || !ck_ctx_get(&c->m, ev->pid, ev->ctx)) {
		ck_nomem(c, ev);
		return;
	}
	if (ck_rule_on(c, IOASID_RULE_PAS_4)) {
		if (gp->owned) {
			ck_violation(c, IOASID_RULE_PAS_4, ev,
				     "global PASID %u allocated to %s while %s still owns it (no "
				     "GPASID_FREE): a global PASID has one owner at a time; the "
				     "allocator must not hand out a PASID in use",
				     ev->pasid, ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)),
				     ck_ctx_str(gp->owner_pid, gp->owner_ctx, os, sizeof(os)));
		} else if (gp->ndirty) {
			const struct ck_domain *d = dirty_domain_of(c, ns, ev->pasid);

			ck_violation(c, IOASID_RULE_PAS_4, ev,
				     "global PASID %u allocated to %s while iommu %u domain %u (and "
				     "%u domain(s) in all) may still cache translations for it: it was "
				     "detached there and no IOTLB_INV of that PASID (or of all PASIDs) "
				     "followed; flush the IOTLB and device-TLB on PASID detach before "
				     "the PASID is reused",
				     ev->pasid, ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)),
				     d ? d->iommu : 0, d ? d->domain : 0, gp->ndirty);
		}
	}
	gp->owned = true;
	gp->ever = true;
	gp->owner_pid = ev->pid;
	gp->owner_ctx = ev->ctx;
}

void ck_pas_gpasid_free(struct ioasid_check *c, const struct ioasid_event *ev)
{
	const uint32_t ns = ck_ns(ev);
	struct ck_gpasid *gp;
	const struct ck_ctx *cx;
	char cs[64], os[64];

	if (!ok(ev) || !ev->pasid)
		return;
	gp = ck_gpasid_find(&c->m, ns, ev->pasid);
	cx = ck_ctx_find(&c->m, ev->pid, ev->ctx);
	if (ck_rule_on(c, IOASID_RULE_PAS_4)) {
		if (gp && gp->owned && !(gp->owner_pid == ev->pid && gp->owner_ctx == ev->ctx))
			ck_violation(c, IOASID_RULE_PAS_4, ev,
				     "global PASID %u freed by %s but it is owned by %s: only the "
				     "owner may give a global PASID back (the kernel answers EPERM)",
				     ev->pasid, ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)),
				     ck_ctx_str(gp->owner_pid, gp->owner_ctx, os, sizeof(os)));
		else if ((!gp || !gp->owned) && ck_full_history(c, cx))
			ck_violation(c, IOASID_RULE_PAS_4, ev,
				     "global PASID %u freed by %s, which never allocated it (or "
				     "already freed it): a free of a PASID not owned must be refused",
				     ev->pasid, ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)));
	}
	if (gp)
		gp->owned = false;
}
