/* warn.c — warnings: what an operator wants to know before it fails. Each is given once per
 * object (per process for memlock headroom, per group and reason for viability, per IOAS and
 * threshold for the map count), never per event.
 *
 *   memlock-headroom  the pages the mapped areas need (one copy per IOAS: a vIOMMU setup with
 *                     two IOASes pays twice) above 90% of RLIMIT_MEMLOCK (the last ACCOUNT's
 *                     limit, else opts.memlock_limit_pages)
 *   group-viability   a bind refused because of a sibling (DEV_BIND pt), or a DMA-API driver
 *                     bound into a group that has a device on vfio-pci
 *   map-count         an IOAS's area count at 4096, 8192, 16384, 32768 (half of VFIO type1's
 *                     dma_entry_limit 65535), 58982 (90%), 65536, then each doubling
 */
#include "check/check_private.h"
#include "ioasid/event_format.h"

#define WARN_BIND_REFUSED 1u
#define WARN_DRIVER_BIND  2u

void ck_warn_memlock(struct ioasid_check *c, const struct ioasid_event *ev,
		     struct ck_pidstate *ps)
{
	uint64_t limit = ps->limit_pages;

	if (!limit && c->opts.memlock_limit_pages != UINT64_MAX)
		limit = c->opts.memlock_limit_pages;
	if (!limit || ps->memlock_warned || ps->need_pages <= limit - limit / 10)
		return;
	ps->memlock_warned = true;
	ck_warning(c, IOASID_WARN_MEMLOCK, ev,
		   "pid %u: the mapped areas need %llu page(s) pinned (one copy per IOAS), over "
		   "90%% of RLIMIT_MEMLOCK %llu page(s): the next maps may fail with ENOMEM; raise "
		   "RLIMIT_MEMLOCK (ulimit -l, LimitMEMLOCK=) or share one IOAS between the "
		   "domains", ps->pid, (unsigned long long)ps->need_pages,
		   (unsigned long long)limit);
}

void ck_warn_bind_refused(struct ioasid_check *c, const struct ioasid_event *ev)
{
	const uint32_t ns = ck_ns(ev);
	const struct ck_device *b = ck_device_find(&c->m, ns, ev->pt);
	struct ck_group *g = ev->group ? ck_group_get(&c->m, ns, ev->group) : NULL;
	char ds[64], bs[64], rs[24];

	if (g && (g->warned & WARN_BIND_REFUSED))
		return;
	if (g)
		g->warned |= WARN_BIND_REFUSED;
	ck_warning(c, IOASID_WARN_VIABILITY, ev,
		   "group %u cannot be claimed: binding %s was refused (%s) because %s of the "
		   "same group is on %s; unbind it from its driver, bind it to vfio-pci, or give "
		   "it to the same context", ev->group, ck_dev_str(c, ns, ev->dev, ds, sizeof(ds)),
		   (ioasid_event_format_result(ev->result, rs, sizeof(rs)), rs),
		   ck_dev_str(c, ns, ev->pt, bs, sizeof(bs)),
		   b && b->driver_known ? ck_driver_str(b->driver) :
		   b && b->bound ? "another owner" : "a driver or owner that blocks the claim");
}

void ck_warn_driver_bind(struct ioasid_check *c, const struct ioasid_event *ev,
			 struct ck_group *g)
{
	const uint32_t ns = ck_ns(ev);
	char ds[64], us[64];

	if (g->warned & WARN_DRIVER_BIND)
		return;
	for (uint32_t i = 0; i < g->nmembers; i++) {
		const struct ck_device *u = ck_device_find(&c->m, ns, g->members[i]);

		if (!u || u->dev == ev->dev || !u->driver_known || u->driver != IOASID_DRV_USER)
			continue;
		g->warned |= WARN_DRIVER_BIND;
		ck_warning(c, IOASID_WARN_VIABILITY, ev,
			   "a DMA-API kernel driver bound to %s makes group %u unusable for "
			   "passthrough: %s of the group is on vfio-pci and can no longer be "
			   "claimed; unbind the kernel driver (or bind the device to vfio-pci) to "
			   "make the group viable again",
			   ck_dev_str(c, ns, ev->dev, ds, sizeof(ds)), ev->group,
			   ck_dev_str(c, ns, u->dev, us, sizeof(us)));
		return;
	}
}

uint32_t ck_map_count_threshold(uint32_t after)
{
	/* 4096, 8192, 16384, 32768, 58982, 65536, 131072, ... */
	if (after < 4096)
		return 4096;
	if (after < 32768) {
		uint32_t t = 4096;

		while (t <= after)
			t *= 2;
		return t;
	}
	if (after < 58982)
		return 58982;
	if (after < 65536)
		return 65536;
	if (after >= (1u << 31))
		return UINT32_MAX;
	{
		uint32_t t = 65536;

		while (t <= after)
			t *= 2;
		return t;
	}
}

void ck_warn_map_count(struct ioasid_check *c, const struct ioasid_event *ev,
		       struct ck_object *ioas)
{
	uint32_t count = (uint32_t)ioas->areas.count, reached = ioas->map_warn_next;
	char cs[64];

	ioas->map_warn_next = ck_map_count_threshold(count);
	if (reached == UINT32_MAX)
		return;
	ck_warning(c, IOASID_WARN_MAP_COUNT, ev,
		   "IOAS %u of %s holds %u areas (reached %u): VFIO type1's dma_entry_limit is "
		   "65535 mappings (%s); merge mappings (larger, fewer maps) or raise "
		   "vfio_iommu_type1.dma_entry_limit", ioas->obj,
		   ck_ctx_str(ioas->pid, ioas->ctx, cs, sizeof(cs)), count, reached,
		   reached >= 65535 ? "past it: a type1 container would refuse these" :
		   reached >= 58982 ? "90% of it" : reached >= 32768 ? "half of it" :
		   "still growing");
}
