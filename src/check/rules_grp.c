/* rules_grp.c — group viability (GRP-1, GRP-2, GRP-3) and the group half of OWN-3, with the
 * model updates of group claims and driver binds.
 *
 * A group is "claimed" while a GROUP_CLAIM has no GROUP_RELEASE, or while any of its devices
 * is bound for ownership (a kernel source may show the binds and not the claims). Members are
 * every device an event placed in the group. GRP-3 compares RID attachments of one group:
 * the reference programs the whole group at the first device's attach, so a second device
 * joining with another domain is refused; DEV_REPLACE moves the group together (rules_pas.c).
 */
#include "check/check_private.h"

static bool ok(const struct ioasid_event *ev)
{
	return ev->result == 0 && !(ev->flags & IOASID_EVF_REFUSED);
}

const char *ck_driver_str(uint32_t kind)
{
	switch (kind) {
	case IOASID_DRV_NONE: return "no driver";
	case IOASID_DRV_USER: return "a user-ownership driver (vfio-pci)";
	case IOASID_DRV_DMA_API: return "a DMA-API kernel driver";
	case IOASID_DRV_OWN_DMA: return "a driver managing its own DMA";
	}
	return "an unknown driver kind";
}

void ck_grp_note_member(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_group *g = ck_group_get(&c->m, ck_ns(ev), ev->group);

	if (!g || ck_group_add_member(g, ev->dev))
		ck_nomem(c, ev);
}

void ck_grp_claim(struct ioasid_check *c, const struct ioasid_event *ev)
{
	const uint32_t ns = ck_ns(ev);
	struct ck_group *g;
	char cs[64], os[64], ds[64];

	if (!ok(ev) || !ev->group)
		return;
	g = ck_group_get(&c->m, ns, ev->group);
	if (!g) {
		ck_nomem(c, ev);
		return;
	}
	if (ck_rule_on(c, IOASID_RULE_OWN_3) && g->claimed &&
	    !(g->claim_pid == ev->pid && g->claim_ctx == ev->ctx))
		ck_violation(c, IOASID_RULE_OWN_3, ev,
			     "group %u claimed by %s while %s still holds it (no GROUP_RELEASE): a "
			     "group's DMA ownership has one owner; the first owner must release "
			     "every device of the group first",
			     ev->group, ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)),
			     ck_ctx_str(g->claim_pid, g->claim_ctx, os, sizeof(os)));
	if (ck_rule_on(c, IOASID_RULE_GRP_1)) {
		const struct ck_device *dma = NULL;

		for (uint32_t i = 0; i < g->nmembers && !dma; i++) {
			const struct ck_device *d = ck_device_find(&c->m, ns, g->members[i]);

			if (d && d->driver_known && d->driver == IOASID_DRV_DMA_API)
				dma = d;
		}
		if (ev->aux == IOASID_DRV_DMA_API || dma)
			ck_violation(c, IOASID_RULE_GRP_1, ev,
				     "group %u claimed by %s while %s is on a DMA-API kernel driver: "
				     "the kernel driver's DMA would go through the user's domain; "
				     "unbind that device from its driver (or bind it to vfio-pci) "
				     "before claiming the group",
				     ev->group, ck_ctx_str(ev->pid, ev->ctx, cs, sizeof(cs)),
				     dma ? ck_dev_str(c, ns, dma->dev, ds, sizeof(ds)) :
					   "a device of the group (claim aux DMA_API)");
	}
	if (!g->claimed)
		c->m.claimed_groups++;
	g->claimed = true;
	g->claim_pid = ev->pid;
	g->claim_ctx = ev->ctx;
}

void ck_grp_release(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_group *g;

	if (!ok(ev) || !ev->group || !(g = ck_group_find(&c->m, ck_ns(ev), ev->group)))
		return;
	if (g->claimed && c->m.claimed_groups)
		c->m.claimed_groups--;
	g->claimed = false;
}

void ck_grp_driver(struct ioasid_check *c, const struct ioasid_event *ev)
{
	const uint32_t ns = ck_ns(ev);
	struct ck_device *d;
	struct ck_group *g;
	char ds[64], cs[64];

	if (!ok(ev) || !ev->dev || !(d = ck_device_find(&c->m, ns, ev->dev)))
		return;
	g = ev->group ? ck_group_find(&c->m, ns, ev->group) : NULL;
	if (ev->type == IOASID_EV_DRIVER_UNBIND) {
		d->driver = IOASID_DRV_NONE;
		d->driver_known = true;
		return;
	}
	if (ev->aux == IOASID_DRV_DMA_API && g && ck_rule_on(c, IOASID_RULE_GRP_2) &&
	    (g->claimed || g->nbound))
		ck_violation(c, IOASID_RULE_GRP_2, ev,
			     "a DMA-API kernel driver bound to %s while its group %u is claimed "
			     "(%s%s): the driver's DMA would use the user's domain; close the "
			     "user's devices (release the group) before binding a kernel driver",
			     ck_dev_str(c, ns, ev->dev, ds, sizeof(ds)), ev->group,
			     g->claimed ? "owner " : "a device bound for ownership",
			     g->claimed ? ck_ctx_str(g->claim_pid, g->claim_ctx, cs, sizeof(cs)) : "");
	d->driver = (uint8_t)ev->aux;
	d->driver_known = true;
	if (ev->aux == IOASID_DRV_DMA_API && g)
		ck_warn_driver_bind(c, ev, g);
}

/* GRP-3 for a DEV_ATTACH at PASID 0 that succeeded. */
void ck_grp_check_attach(struct ioasid_check *c, const struct ioasid_event *ev)
{
	const uint32_t ns = ck_ns(ev);
	const struct ck_group *g;
	char ds[64], os[64];

	if (ev->pasid || !ev->group || !ck_rule_on(c, IOASID_RULE_GRP_3) ||
	    !(g = ck_group_find(&c->m, ns, ev->group)))
		return;
	for (uint32_t i = 0; i < g->nmembers; i++) {
		const struct ck_attach *a;
		bool differ;

		if (g->members[i] == ev->dev ||
		    !(a = ck_attach_find(&c->m, ns, g->members[i], 0)))
			continue;
		if (a->domain && ev->domain)
			differ = a->iommu != ev->iommu || a->domain != ev->domain;
		else
			differ = a->pid != ev->pid || a->ctx != ev->ctx || a->hwpt != ev->pt;
		if (!differ)
			continue;
		ck_violation(c, IOASID_RULE_GRP_3, ev,
			     "%s of group %u attached to HWPT %u (iommu %u domain %u) while %s of "
			     "the same group is attached to HWPT %u (iommu %u domain %u): the "
			     "devices of a group share one RID translation; attach it to the "
			     "group's HWPT, or move the whole group with replace",
			     ck_dev_str(c, ns, ev->dev, ds, sizeof(ds)), ev->group, ev->pt,
			     ev->iommu, ev->domain, ck_dev_str(c, ns, a->dev, os, sizeof(os)), a->hwpt,
			     a->iommu, a->domain);
		return;
	}
}
