/* device.c — devices bound to a context, iommufd groups, and attachment of a device's RID or
 * PASIDs to HWPTs: the reference's drivers/iommu/iommufd/device.c.
 *
 * Model (as the kernel, 6.15+):
 *  - bind: cache coherency (EINVAL), MSI isolation (EPERM), then DMA ownership is claimed on the
 *    platform with the context as owner (EPERM: another owner, or a DMA-API kernel driver in the
 *    group; EBUSY). The device object has an extra user held by its driver until unbind, so
 *    IOMMU_DESTROY of a dev_id gives EBUSY. A bound device keeps its context alive.
 *  - an iommufd group (struct ref_igroup) per (context, platform group) holds the attachments,
 *    one per PASID with IOMMU_NO_PASID (0) standing for the RID: the HWPT and the devices
 *    attached through it. The first device attached at a PASID programs the hardware for the
 *    whole group; the others join (same HWPT, else EINVAL; twice, EBUSY).
 *  - attach to an IOAS picks a compatible automatic domain of that IOAS or makes one (an
 *    incompatible one answers EINVAL and is skipped); an automatic domain is destroyed when its
 *    last device detaches. PASIDs only take HWPTs allocated with IOMMU_HWPT_ALLOC_PASID (EINVAL
 *    for an IOAS), never PASID 0, never beyond the device's width, and a RID HWPT that is not
 *    PASID-compatible excludes PASID attachments (both directions, EINVAL).
 *  - replace moves every device of the group's attachment at once (EINVAL if none).
 *  - RID attach to a paging HWPT reserves the IOMMU's reserved regions (the x86 MSI window) in
 *    the IOAS: EADDRINUSE if mapped there already; detach gives them back.
 *
 * The hardware side: each bound device has a mock_dev (context entry + PASID table) on its
 * IOMMU instance; attachments program it, detach clears it (DMA blocked). The platform is told
 * which domain each group is on (DEFAULT / BLOCKED / USER) and how many PASIDs are attached.
 *
 * Events: DEV_BIND for every bind (refusals too), DEV_UNBIND when the device object goes (after
 * its detaches, before DMA ownership is released: GROUP_RELEASE follows from the platform),
 * DEV_ATTACH / DEV_REPLACE for every attach / replace call (refusals too), DEV_DETACH for every
 * attachment removed, DMA for every DMA a device makes. A device's identity in events (dev,
 * group, name) is fixed at bind; the mock_dev carries it too, for the hardware's stale hits.
 *
 * Locking: ctx->devs->lock serialises all attach/detach/bind work and the HWPT lists of IOASes
 * (the kernel's igroup->lock + ioas->mutex); ctx->lock (object table) nests inside it. Objects
 * that may die as a result (automatic domains) are destroyed after the lock is dropped.
 */
#include "reference/ref_private.h"
#include "reference/device.h"
#include "common/inject.h"
#include "platform/platform.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ref_attach {
	uint32_t pasid;
	struct ref_hwpt *hwpt;
	struct ref_device **devs;
	uint32_t nr_devs, max_devs;
};

struct ref_igroup {
	struct ref_igroup *next;
	int key;                        /* platform group index; < 0 for selftest mock devices */
	uint32_t refs;                  /* bound devices */
	struct ref_device *members;     /* bound devices (any attachment state) */
	struct ref_attach *attaches;
	uint32_t nr_attaches, max_attaches;
};

struct ref_dev_state {
	pthread_mutex_t lock;
	struct ref_igroup *igroups;
	int next_selftest_key;
};

struct ref_device {
	struct ref_object obj;
	struct ioasid_ctx *ctx;
	struct ref_igroup *igroup;
	struct ref_device *member_next;
	struct ref_hw_iommu *hw;
	struct mock_dev *mdev;
	int plat_dev;                   /* -1 for selftest mock devices */
	unsigned int pasid_bits;
	bool dirty_capable;
	bool selftest;
	uint64_t pgsize_bitmap;         /* leaf sizes its domains may use (0: the IOMMU's) */
	uint32_t nr_attached;           /* attachments (each holds one object user) */
	uint32_t event_dev;             /* events: platform index + 1, or SELFTEST_EVENT_ID | RID */
	uint32_t event_group;           /* events: the group ID, or SELFTEST_EVENT_ID | RID */
	struct ref_hwpt *split_hwpt;    /* bug "group-split-domain" (GRP-3) only: the RID HWPT of
					 * this device alone, outside its group's attachment */
	char mock_name[16];             /* selftest mock device: "iommufd_mock<RID>" (the kernel's) */
};

/* A selftest mock device in events: dev and group (its own singleton) are this | its RID. */
#define SELFTEST_EVENT_ID 0x80000000u

/* ---- errors ------------------------------------------------------------------------------- */

static __thread char last_error[512];

void ref_set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	if (getenv("IOASID_QUIET") == NULL)
		fprintf(stderr, "ioasid: %s\n", last_error);
}

const char *ioasid_last_error(void)
{
	return last_error;
}

/* ---- per-context state ---------------------------------------------------------------------- */

static struct ref_dev_state *devs_state(struct ioasid_ctx *ctx)
{
	struct ref_dev_state *st = __atomic_load_n(&ctx->devs, __ATOMIC_ACQUIRE);

	if (st)
		return st;
	pthread_mutex_lock(&ctx->lock);
	if (!ctx->devs) {
		st = ioasid_zalloc(sizeof(*st));
		if (st) {
			pthread_mutexattr_t a;

			pthread_mutexattr_init(&a);
			pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
			pthread_mutex_init(&st->lock, &a);
			pthread_mutexattr_destroy(&a);
			st->next_selftest_key = -1;
			__atomic_store_n(&ctx->devs, st, __ATOMIC_RELEASE);
		}
	}
	st = ctx->devs;
	pthread_mutex_unlock(&ctx->lock);
	return st;
}

int ref_devs_lock(struct ioasid_ctx *ctx)
{
	struct ref_dev_state *st = devs_state(ctx);

	if (!st)
		return -ENOMEM;
	pthread_mutex_lock(&st->lock);
	return 0;
}

void ref_devs_unlock(struct ioasid_ctx *ctx)
{
	pthread_mutex_unlock(&ctx->devs->lock);
}

void ref_devs_release(struct ioasid_ctx *ctx)
{
	struct ref_dev_state *st = ctx->devs;

	if (!st)
		return;
	pthread_mutex_destroy(&st->lock);
	ioasid_free(st);
	ctx->devs = NULL;
}

static struct ref_igroup *igroup_get(struct ref_dev_state *st, int key)
{
	struct ref_igroup *g;

	for (g = st->igroups; g; g = g->next)
		if (g->key == key) {
			g->refs++;
			return g;
		}
	g = ioasid_zalloc(sizeof(*g));
	if (!g)
		return NULL;
	g->key = key;
	g->refs = 1;
	g->next = st->igroups;
	st->igroups = g;
	return g;
}

static void igroup_put(struct ref_dev_state *st, struct ref_igroup *g)
{
	struct ref_igroup **pp;

	if (--g->refs)
		return;
	for (pp = &st->igroups; *pp; pp = &(*pp)->next)
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	ioasid_free(g->attaches);
	ioasid_free(g);
}

static struct ref_attach *attach_find(struct ref_igroup *g, uint32_t pasid)
{
	for (uint32_t i = 0; i < g->nr_attaches; i++)
		if (g->attaches[i].pasid == pasid)
			return &g->attaches[i];
	return NULL;
}

static bool attach_has_dev(const struct ref_attach *a, const struct ref_device *idev)
{
	for (uint32_t i = 0; i < a->nr_devs; i++)
		if (a->devs[i] == idev)
			return true;
	return false;
}

static bool group_has_pasid_attach(const struct ref_igroup *g)
{
	for (uint32_t i = 0; i < g->nr_attaches; i++)
		if (g->attaches[i].pasid != REF_NO_PASID)
			return true;
	return false;
}

/* ---- lookups -------------------------------------------------------------------------------- */

struct ref_device *ref_get_device(struct ioasid_ctx *ctx, uint32_t dev_id, int *err)
{
	struct ref_object *obj = ref_get_object(ctx, dev_id, REF_OBJ_DEVICE, err);

	return obj ? container_of(obj, struct ref_device, obj) : NULL;
}

uint32_t ref_device_id(const struct ref_device *idev) { return idev->obj.id; }
uint32_t ref_device_plat_index(const struct ref_device *idev) { return (uint32_t)idev->plat_dev; }
struct ioasid_ctx *ref_device_ctx(const struct ref_device *idev) { return idev->ctx; }
struct ref_hw_iommu *ref_device_hw(const struct ref_device *idev) { return idev->hw; }
bool ref_device_dirty_capable(const struct ref_device *idev) { return idev->dirty_capable; }
uint64_t ref_device_pgsize_bitmap(const struct ref_device *idev) { return idev->pgsize_bitmap; }
void ref_device_put(struct ref_device *idev) { ref_put_object(idev->ctx, &idev->obj); }
unsigned int ref_device_pasid_bits(const struct ref_device *idev) { return idev->pasid_bits; }

bool ref_devs_pasid_attached(struct ioasid_ctx *ctx, uint32_t pasid)
{
	struct ref_dev_state *st = ctx->devs;
	bool found = false;

	if (!st)
		return false;
	pthread_mutex_lock(&st->lock);
	for (struct ref_igroup *g = st->igroups; g && !found; g = g->next) {
		struct ref_attach *a = attach_find(g, pasid);

		found = a && a->nr_devs;
	}
	pthread_mutex_unlock(&st->lock);
	return found;
}

static const char *dev_name(const struct ref_device *idev)
{
	struct platform *p;

	if (idev->selftest)
		return idev->mock_name;
	if (platform_default(&p))
		return "?";
	return platform_topology(p)->devices[idev->plat_dev].name;
}

uint32_t ref_device_event_dev(const struct ref_device *idev) { return idev->event_dev; }
const char *ref_device_name(const struct ref_device *idev) { return dev_name(idev); }

/* The ID of the hardware domain translating for hwpt (0 for none). */
static inline uint32_t hwpt_domain_id(struct ref_hwpt *hwpt)
{
	return hwpt ? mock_domain_id(ref_hwpt_hw_domain(hwpt)) : 0;
}

/* Fix the device's identity in events, and tell its mock_dev (stale IOTLB hits name it). */
static void device_set_event_ident(struct ref_device *idev, uint32_t event_dev,
				   uint32_t event_group)
{
	idev->event_dev = event_dev;
	idev->event_group = event_group;
	mock_dev_set_event_ident(idev->mdev, event_dev, dev_name(idev));
}

/* DEV_BIND of a platform device by index (any index: refusals name what they can). */
static void bind_event(struct ioasid_ctx *ctx, uint32_t plat_dev, const char *name,
		       uint32_t dev_id, uint32_t blocker, int rc)
{
	const struct plat_topology *t = NULL;
	const struct plat_group *pg = NULL;
	uint32_t members = 0, pasid_bits = 0;
	struct platform *p;

	if (!platform_default(&p) && plat_dev < (t = platform_topology(p))->nr_devices) {
		pg = &t->groups[t->devices[plat_dev].group];
		name = t->devices[plat_dev].name;
		pasid_bits = plat_device_pasid_bits(t, plat_dev);
		for (uint32_t d = 0; d < t->nr_devices; d++)
			members += t->devices[d].group == t->devices[plat_dev].group;
	}
	IOASID_PROBE_NAMED(dev_bind, name, .ctx = ctx->cookie,
			   .dev = pg ? plat_dev + 1 : 0, .group = pg ? pg->id : 0,
			   .iommu = pg ? pg->iommu + 1 : 0, .obj = dev_id, .value = pasid_bits,
			   .length = members, .pt = rc ? blocker : 0, .result = rc,
			   .flags = rc ? IOASID_EVF_REFUSED : 0);
}

/* ---- bind / unbind -------------------------------------------------------------------------- */

static int device_create(struct ioasid_ctx *ctx, struct ref_dev_state *st, int group_key,
			 int hw_key, unsigned int pasid_bits, uint32_t rid,
			 struct ref_device **out)
{
	struct ref_device *idev;
	struct ref_object *obj;
	int rc;

	obj = ref_object_alloc(ctx, sizeof(*idev), REF_OBJ_DEVICE);
	if (!obj)
		return -ENOMEM;
	idev = container_of(obj, struct ref_device, obj);
	idev->ctx = ctx;
	idev->pasid_bits = pasid_bits;
	rc = ref_hw_iommu_get(hw_key, &idev->hw);
	if (rc)
		goto err_abort;
	rc = mock_dev_create(idev->hw->hw, rid, pasid_bits, &idev->mdev);
	if (rc == -EEXIST && inject_on(INJECT_BIND_TWICE))
		/* OWN-1 bug "bind-twice" (consequence; the decision is the platform's claim): the
		 * second binding of one device gets a context entry under an alias RID. */
		rc = mock_dev_create(idev->hw->hw, rid | 0x8000u, pasid_bits, &idev->mdev);
	if (rc)
		goto err_hw;
	idev->igroup = igroup_get(st, group_key);
	if (!idev->igroup) {
		rc = -ENOMEM;
		goto err_mdev;
	}
	idev->member_next = idev->igroup->members;
	idev->igroup->members = idev;
	*out = idev;
	return 0;

err_mdev:
	mock_dev_destroy(idev->mdev);
err_hw:
	ref_hw_iommu_put(idev->hw);
err_abort:
	ref_object_abort(ctx, obj);
	return rc;
}

static int device_bind(struct ioasid_ctx *ctx, uint32_t plat_dev, struct ref_device **out,
		       uint32_t *out_dev_id, uint32_t *blocker)
{
	const struct plat_topology *t;
	const struct plat_device *pd;
	const struct plat_group *pg;
	struct ref_dev_state *st;
	struct ref_device *idev;
	struct platform *p;
	char why[256];
	int rc;

	rc = platform_default(&p);
	if (rc)
		return rc;
	t = platform_topology(p);
	if (plat_dev >= t->nr_devices) {
		ref_set_error("device index %u: no such device on the platform (%u devices); "
			      "see ioasid-platform show", plat_dev, t->nr_devices);
		return -ENODEV;
	}
	pd = &t->devices[plat_dev];
	pg = &t->groups[pd->group];
	if (pd->sw_table) {
		ref_set_error("device %s: software-table (mdev-like) device has no IOMMU of its "
			      "own; bind it as an emulated device (access object)", pd->name);
		return -EINVAL;
	}
	if (!t->iommus[pg->iommu].coherent) {
		ref_set_error("device %s: IOMMU %s cannot enforce cache coherency; iommufd needs "
			      "IOMMU_CAP_CACHE_COHERENCY", pd->name, t->iommus[pg->iommu].name);
		return -EINVAL;
	}
	if (!pg->isolated_msi) {
		ref_set_error("device %s: group %u has no MSI isolation (interrupt remapping off); "
			      "a DMA could raise interrupts outside this context; enable interrupt "
			      "remapping in the topology (drop no-msi-isolation)", pd->name, pg->id);
		return -EPERM;
	}
	st = devs_state(ctx);
	if (!st)
		return -ENOMEM;

	rc = platform_device_claim_dma_owner_blocker(p, plat_dev, ctx->cookie, blocker, why,
						     sizeof(why));
	if (rc) {
		ref_set_error("bind %s: %s", pd->name, why);
		return rc;
	}
	pthread_mutex_lock(&st->lock);
	rc = device_create(ctx, st, (int)pd->group, (int)pg->iommu,
			   plat_device_pasid_bits(t, plat_dev), plat_dev, &idev);
	pthread_mutex_unlock(&st->lock);
	if (rc) {
		platform_device_release_dma_owner(p, plat_dev);
		return rc;
	}
	idev->plat_dev = (int)plat_dev;
	idev->dirty_capable = t->iommus[pg->iommu].dirty_tracking;
	device_set_event_ident(idev, plat_dev + 1, pg->id);
	/* The calling driver is a user until unbind; the device keeps the context alive. */
	ref_object_hold(ctx, &idev->obj);
	ioasid_ctx_get(ctx);
	ref_object_finalize(ctx, &idev->obj);
	*out = idev;
	*out_dev_id = idev->obj.id;
	return 0;
}

int ref_device_bind(struct ioasid_ctx *ctx, uint32_t plat_dev, struct ref_device **out,
		    uint32_t *out_dev_id)
{
	uint32_t blocker = 0;
	int rc = device_bind(ctx, plat_dev, out, out_dev_id, &blocker);

	if (IOASID_PROBE_ON(dev_bind))
		bind_event(ctx, plat_dev, NULL, rc ? 0 : *out_dev_id, blocker, rc);
	return rc;
}

int ref_device_bind_selftest(struct ioasid_ctx *ctx, const struct ref_mock_dev_info *info,
			     struct ref_device **out, uint32_t *out_dev_id)
{
	static uint32_t next_rid;   /* the mock bus numbers its devices; RIDs are per IOMMU */
	struct ref_dev_state *st = devs_state(ctx);
	struct ref_device *idev;
	uint32_t rid;
	int rc;

	if (!st) {
		rc = -ENOMEM;
		goto out_refused;
	}
	rid = __atomic_add_fetch(&next_rid, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&st->lock);
	rc = device_create(ctx, st, st->next_selftest_key--, REF_HW_SELFTEST, info->pasid_bits,
			   rid, &idev);
	pthread_mutex_unlock(&st->lock);
	if (rc)
		goto out_refused;
	idev->plat_dev = -1;
	idev->selftest = true;
	snprintf(idev->mock_name, sizeof(idev->mock_name), "iommufd_mock%u", rid);
	idev->dirty_capable = !info->no_dirty;
	/* the kernel's mock offers its huge IO page only to MOCK_FLAGS_DEVICE_HUGE_IOVA devices */
	idev->pgsize_bitmap = info->huge_iova ? 0 : SZ_2K_MOCK;
	device_set_event_ident(idev, SELFTEST_EVENT_ID | rid, SELFTEST_EVENT_ID | rid);
	/* Mock devices do not hold the context (the kernel's iommufd_selftest_is_mock_dev). */
	ref_object_hold(ctx, &idev->obj);
	ref_object_finalize(ctx, &idev->obj);
	IOASID_PROBE_NAMED(dev_bind, dev_name(idev), .ctx = ctx->cookie, .dev = idev->event_dev,
			   .group = idev->event_group, .iommu = MOCK_IOMMU_EVENT_SELFTEST,
			   .obj = idev->obj.id, .value = idev->pasid_bits, .length = 1);
	*out = idev;
	*out_dev_id = idev->obj.id;
	return 0;

out_refused:
	IOASID_PROBE_NAMED(dev_bind, "iommufd_mock", .ctx = ctx->cookie,
			   .iommu = MOCK_IOMMU_EVENT_SELFTEST, .result = rc,
			   .flags = IOASID_EVF_REFUSED);
	return rc;
}

void ref_device_destroy(struct ref_object *obj)
{
	struct ref_device *idev = container_of(obj, struct ref_device, obj);
	struct ref_dev_state *st = idev->ctx->devs;
	struct ref_device **pp;
	struct platform *p;

	IOASID_PROBE_NAMED(dev_unbind, dev_name(idev), .ctx = idev->ctx->cookie,
			   .dev = idev->event_dev, .group = idev->event_group, .obj = idev->obj.id,
			   .iommu = ref_hw_event_id(idev->hw));
	pthread_mutex_lock(&st->lock);
	for (pp = &idev->igroup->members; *pp; pp = &(*pp)->member_next)
		if (*pp == idev) {
			*pp = idev->member_next;
			break;
		}
	igroup_put(st, idev->igroup);
	pthread_mutex_unlock(&st->lock);
	mock_dev_destroy(idev->mdev);
	ref_hw_iommu_put(idev->hw);
	if (!idev->selftest && !platform_default(&p))
		platform_device_release_dma_owner(p, (uint32_t)idev->plat_dev);
}

/* ---- attach --------------------------------------------------------------------------------- */

/* Program the hardware entry at pasid of every bound device of the group (PASID entries only on
 * PASID-capable devices). Setting an entry may need a PASID-table page: on failure the entries
 * already changed are put back to `undo` and the error returned. */
static int group_program(struct ref_igroup *g, uint32_t pasid, struct ref_hwpt *hwpt,
			 struct ref_hwpt *undo)
{
	struct mock_domain *dom = hwpt ? ref_hwpt_hw_domain(hwpt) : NULL;
	struct mock_domain *old = undo ? ref_hwpt_hw_domain(undo) : NULL;
	struct ref_device *d;
	int rc = 0;

	for (d = g->members; d; d = d->member_next) {
		if (pasid != REF_NO_PASID && (!d->pasid_bits || pasid >> d->pasid_bits))
			continue;
		if (pasid == REF_NO_PASID && d->split_hwpt)
			continue;       /* GRP-3 bug: that device's RID has its own domain */
		rc = mock_dev_set_domain(d->mdev, pasid, dom);
		if (rc)
			break;
	}
	if (!rc)
		return 0;
	for (struct ref_device *u = g->members; u != d; u = u->member_next) {
		if (pasid != REF_NO_PASID && (!u->pasid_bits || pasid >> u->pasid_bits))
			continue;
		if (pasid == REF_NO_PASID && u->split_hwpt)
			continue;
		mock_dev_set_domain(u->mdev, pasid, old);
	}
	return rc;
}

static void platform_note(struct ref_device *idev, uint32_t pasid, struct ref_hwpt *hwpt,
			  bool pasid_added, bool pasid_removed)
{
	struct platform *p;
	uint32_t group;

	if (idev->selftest || platform_default(&p))
		return;
	group = platform_topology(p)->devices[idev->plat_dev].group;
	if (pasid == REF_NO_PASID)
		platform_group_set_domain(p, group, hwpt ? PLAT_DOMAIN_USER : PLAT_DOMAIN_BLOCKED,
					  hwpt_domain_id(hwpt));
	if (pasid_added)
		platform_group_pasid_get(p, group);
	if (pasid_removed)
		platform_group_pasid_put(p, group);
}

static int resv_enforce(struct ref_device *idev, struct ref_hwpt_paging *hp)
{
	for (uint32_t i = 0; i < idev->hw->nr_resv; i++) {
		int rc = iopt_reserve_iova(&hp->ioas->iopt, idev->hw->resv[i].start,
					   idev->hw->resv[i].last, idev);

		if (rc) {
			iopt_remove_reserved_iova(&hp->ioas->iopt, idev);
			ref_set_error("attach %s to IOAS %u: the IOMMU's reserved range "
				      "[0x%llx, 0x%llx] is already mapped in the IOAS; unmap it or "
				      "restrict the IOAS with IOMMU_IOAS_ALLOW_IOVAS first",
				      dev_name(idev), hp->ioas->obj.id,
				      (unsigned long long)idev->hw->resv[i].start,
				      (unsigned long long)idev->hw->resv[i].last);
			return rc;
		}
	}
	return 0;
}

static void resv_remove(struct ref_device *idev, struct ref_hwpt *hwpt)
{
	if (ref_hwpt_is_paging(hwpt))
		iopt_remove_reserved_iova(&container_of(hwpt, struct ref_hwpt_paging, common)->ioas->iopt,
					  idev);
}

/* The kernel's iommufd_hwpt_pasid_compat(). */
static int pasid_compat(struct ref_igroup *g, struct ref_hwpt *hwpt, uint32_t pasid)
{
	if (pasid == REF_NO_PASID) {
		if (!hwpt->pasid_compat && group_has_pasid_attach(g))
			return -EINVAL;
	} else {
		struct ref_attach *rid = attach_find(g, REF_NO_PASID);

		if (!hwpt->pasid_compat)
			return -EINVAL;
		if (rid && rid->hwpt && !rid->hwpt->pasid_compat) {
			if (inject_on(INJECT_PASID_RID_INCOMPATIBLE))
				/* PAS-3 bug "pasid-rid-incompatible": the RID's domain is not
				 * PASID-compatible, and the PASID attach goes ahead anyway. */
				return 0;
			return -EINVAL;
		}
	}
	return 0;
}

static int attach_add_dev(struct ref_attach *a, struct ref_device *idev)
{
	if (a->nr_devs == a->max_devs) {
		uint32_t n = a->max_devs ? a->max_devs * 2 : 2;
		struct ref_device **d = ioasid_realloc_array(a->devs, n, sizeof(*d));

		if (!d)
			return -ENOMEM;
		a->devs = d;
		a->max_devs = n;
	}
	a->devs[a->nr_devs++] = idev;
	return 0;
}

static void attach_del_dev(struct ref_attach *a, struct ref_device *idev)
{
	for (uint32_t i = 0; i < a->nr_devs; i++)
		if (a->devs[i] == idev) {
			a->devs[i] = a->devs[--a->nr_devs];
			return;
		}
}

static void attach_remove(struct ref_igroup *g, struct ref_attach *a)
{
	ioasid_free(a->devs);
	*a = g->attaches[--g->nr_attaches];
}

/* Can hwpt serve idev at pasid at all (attach and replace alike)? 0 or -EINVAL with the
 * reason: another IOMMU's domain, an automatic domain for a PASID, PASID compatibility. */
static int hwpt_compatible(struct ref_device *idev, uint32_t pasid, struct ref_hwpt *hwpt)
{
	if (hwpt->iommu != idev->hw) {
		ref_set_error("attach %s: HWPT %u belongs to IOMMU %s, the device sits behind %s; "
			      "allocate a HWPT for this device (IOMMU_HWPT_ALLOC with its dev_id)",
			      dev_name(idev), hwpt->obj.id, mock_iommu_caps(hwpt->iommu->hw)->name,
			      mock_iommu_caps(idev->hw->hw)->name);
		return -EINVAL;
	}
	if (pasid != REF_NO_PASID && hwpt->obj.type == REF_OBJ_HWPT_PAGING &&
	    container_of(hwpt, struct ref_hwpt_paging, common)->auto_domain)
		return -EINVAL;
	if (pasid_compat(idev->igroup, hwpt, pasid)) {
		ref_set_error("attach %s pasid %u to HWPT %u: %s", dev_name(idev), pasid,
			      hwpt->obj.id, pasid == REF_NO_PASID ?
			      "PASIDs are attached and this HWPT was not allocated with "
			      "IOMMU_HWPT_ALLOC_PASID" :
			      "PASID attach needs HWPTs allocated with IOMMU_HWPT_ALLOC_PASID, on "
			      "the PASID and on the RID");
		return -EINVAL;
	}
	return 0;
}

/* An attachment's reference on its HWPT, in the HWPT's own context. A HWPT of another context
 * (only with the "attach-foreign" bug) also keeps that context alive until the detach. */
static void hwpt_hold(struct ref_device *idev, struct ref_hwpt *hwpt)
{
	ref_object_hold(hwpt->ctx, &hwpt->obj);
	if (hwpt->ctx != idev->ctx)
		ioasid_ctx_get(hwpt->ctx);
}

static void hwpt_put(struct ioasid_ctx *ctx, struct ref_hwpt *hwpt);

/* GRP-3 bug "group-split-domain": idev's RID alone goes to hwpt, while the rest of its group
 * stays on the group's attachment (st->lock held). Undone by hwpt_detach. */
static int split_attach(struct ref_device *idev, struct ref_hwpt *hwpt)
{
	int rc;

	if (ref_hwpt_is_paging(hwpt)) {
		rc = resv_enforce(idev, container_of(hwpt, struct ref_hwpt_paging, common));
		if (rc)
			return rc;
	}
	rc = mock_dev_set_domain(idev->mdev, REF_NO_PASID, ref_hwpt_hw_domain(hwpt));
	if (rc) {
		resv_remove(idev, hwpt);
		return rc;
	}
	idev->split_hwpt = hwpt;
	hwpt_hold(idev, hwpt);
	return 0;
}

/* Attach idev at pasid to hwpt (st->lock held). The kernel's iommufd_hw_pagetable_attach(). */
static int hwpt_attach(struct ref_device *idev, uint32_t pasid, struct ref_hwpt *hwpt)
{
	struct ref_igroup *g = idev->igroup;
	struct ref_attach *a = attach_find(g, pasid);
	bool created = false;
	int rc;

	rc = hwpt_compatible(idev, pasid, hwpt);
	if (rc)
		return rc;
	if (hwpt->obj.type == REF_OBJ_HWPT_PAGING && !idev->dirty_capable &&
	    container_of(hwpt, struct ref_hwpt_paging, common)->dirty_capable) {
		ref_set_error("attach %s to HWPT %u: the HWPT tracks dirty pages and the device "
			      "cannot (IOMMU_HW_CAP_DIRTY_TRACKING clear); use a HWPT without "
			      "IOMMU_HWPT_ALLOC_DIRTY_TRACKING", dev_name(idev), hwpt->obj.id);
		return -EINVAL;
	}
	if (pasid == REF_NO_PASID && idev->split_hwpt)
		return -EBUSY;
	if (a && a->hwpt != hwpt) {
		if (pasid == REF_NO_PASID && !attach_has_dev(a, idev) &&
		    inject_on(INJECT_GROUP_SPLIT_DOMAIN))
			/* GRP-3 bug "group-split-domain": the group's RID is on another HWPT;
			 * instead of EINVAL this device gets a domain of its own. */
			return split_attach(idev, hwpt);
		return -EINVAL;
	}
	if (a && attach_has_dev(a, idev))
		return -EBUSY;
	if (!a) {
		if (g->nr_attaches == g->max_attaches) {
			uint32_t n = g->max_attaches ? g->max_attaches * 2 : 4;
			struct ref_attach *na = ioasid_realloc_array(g->attaches, n, sizeof(*na));

			if (!na)
				return -ENOMEM;
			g->attaches = na;
			g->max_attaches = n;
		}
		a = &g->attaches[g->nr_attaches++];
		memset(a, 0, sizeof(*a));
		a->pasid = pasid;
		a->hwpt = hwpt;
		created = true;
	}
	if (pasid == REF_NO_PASID && ref_hwpt_is_paging(hwpt)) {
		rc = resv_enforce(idev, container_of(hwpt, struct ref_hwpt_paging, common));
		if (rc)
			goto err_attach;
	}
	rc = attach_add_dev(a, idev);
	if (rc)
		goto err_resv;
	if (created) {
		rc = group_program(g, pasid, hwpt, NULL);
		if (rc) {
			attach_del_dev(a, idev);
			goto err_resv;
		}
		platform_note(idev, pasid, hwpt, pasid != REF_NO_PASID, false);
	}
	hwpt_hold(idev, hwpt);
	return 0;

err_resv:
	if (pasid == REF_NO_PASID)
		resv_remove(idev, hwpt);
err_attach:
	if (created)
		attach_remove(g, a);
	return rc;
}

/* Detach (st->lock held); returns the HWPT whose reference the caller must put. */
static struct ref_hwpt *hwpt_detach(struct ref_device *idev, uint32_t pasid)
{
	struct ref_igroup *g = idev->igroup;
	struct ref_attach *a = attach_find(g, pasid);
	struct ref_hwpt *hwpt;

	if (pasid == REF_NO_PASID && idev->split_hwpt) {
		/* GRP-3 bug: back on the group's RID translation (blocked if none). */
		hwpt = idev->split_hwpt;
		idev->split_hwpt = NULL;
		resv_remove(idev, hwpt);
		mock_dev_set_domain(idev->mdev, REF_NO_PASID,
				    a ? ref_hwpt_hw_domain(a->hwpt) : NULL);
		return hwpt;
	}
	if (!a || !attach_has_dev(a, idev))
		return NULL;
	hwpt = a->hwpt;
	attach_del_dev(a, idev);
	if (pasid == REF_NO_PASID)
		resv_remove(idev, hwpt);
	if (!a->nr_devs) {
		group_program(g, pasid, NULL, NULL);   /* clearing needs no allocation */
		attach_remove(g, a);
		platform_note(idev, pasid, NULL, false, pasid != REF_NO_PASID);
	}
	return hwpt;
}

/* Replace (st->lock held). The kernel's iommufd_device_do_replace(). Returns the old HWPT to
 * put, NULL for a no-op, or an error through *err. */
static struct ref_hwpt *hwpt_replace(struct ref_device *idev, uint32_t pasid,
				     struct ref_hwpt *hwpt, int *err)
{
	struct ref_igroup *g = idev->igroup;
	struct ref_attach *a = attach_find(g, pasid);
	struct ref_ioas *new_ioas, *old_ioas;
	struct ref_hwpt *old;
	bool move_resv;
	uint32_t i;
	int rc;

	*err = 0;
	if (!a || !a->hwpt || (pasid == REF_NO_PASID && idev->split_hwpt)) {
		*err = -EINVAL;
		return NULL;
	}
	rc = hwpt_compatible(idev, pasid, hwpt);
	if (rc) {
		*err = rc;
		return NULL;
	}
	if (hwpt == a->hwpt)
		return NULL;
	old = a->hwpt;
	/* Reserved regions move only when the IOAS changes (the kernel's
	 * iommufd_group_do_replace_paging): same IOAS, same reservations. */
	new_ioas = ref_hwpt_is_paging(hwpt) ?
			   container_of(hwpt, struct ref_hwpt_paging, common)->ioas : NULL;
	old_ioas = ref_hwpt_is_paging(old) ?
			   container_of(old, struct ref_hwpt_paging, common)->ioas : NULL;
	move_resv = pasid == REF_NO_PASID && new_ioas != old_ioas;
	if (move_resv && new_ioas) {
		for (i = 0; i < a->nr_devs; i++) {
			rc = resv_enforce(a->devs[i], container_of(hwpt, struct ref_hwpt_paging, common));
			if (rc) {
				while (i--)
					resv_remove(a->devs[i], hwpt);
				*err = rc;
				return NULL;
			}
		}
	}
	rc = group_program(g, pasid, hwpt, old);
	if (rc) {
		if (move_resv && new_ioas)
			for (i = 0; i < a->nr_devs; i++)
				resv_remove(a->devs[i], hwpt);
		*err = rc;
		return NULL;
	}
	if (move_resv && old_ioas)
		for (i = 0; i < a->nr_devs; i++)
			resv_remove(a->devs[i], old);
	a->hwpt = hwpt;
	platform_note(idev, pasid, hwpt, false, false);
	/* Move the device references: +n on the new HWPT, -(n-1) on the old (the caller puts the
	 * last one, which may destroy an automatic domain). */
	for (i = 0; i < a->nr_devs; i++)
		hwpt_hold(idev, hwpt);
	for (i = 1; i < a->nr_devs; i++)
		hwpt_put(idev->ctx, old);      /* not the last reference: nothing is destroyed */
	return old;
}

/* Drop an attachment's reference on a HWPT (ctx: the device's context); an automatic domain
 * dies with its last user. */
static void hwpt_put(struct ioasid_ctx *ctx, struct ref_hwpt *hwpt)
{
	struct ioasid_ctx *owner = hwpt->ctx;

	if (hwpt->obj.type == REF_OBJ_HWPT_PAGING &&
	    container_of(hwpt, struct ref_hwpt_paging, common)->auto_domain)
		ref_object_put_and_try_destroy(owner, &hwpt->obj);
	else
		ref_object_release(owner, &hwpt->obj);
	if (owner != ctx)
		ioasid_ctx_put(owner);     /* attach-foreign: see hwpt_hold */
}

typedef struct ref_hwpt *(*attach_fn)(struct ref_device *idev, uint32_t pasid,
				       struct ref_hwpt *hwpt, int *err);

/* This thread's last do_attach was turned into a replace (the PAS-2 bug): the attachment count
 * and the device reference of ref_device_attach must not grow. */
static __thread bool attach_was_replace;

static struct ref_hwpt *do_attach(struct ref_device *idev, uint32_t pasid, struct ref_hwpt *hwpt,
				  int *err)
{
	struct ref_attach *a = attach_find(idev->igroup, pasid);

	if (pasid != REF_NO_PASID && a && attach_has_dev(a, idev) &&
	    inject_on(INJECT_PASID_DOUBLE_ATTACH)) {
		/* PAS-2 bug "pasid-double-attach": attaching an attached (device, PASID) replaces
		 * its domain (announced as DEV_ATTACH) instead of EBUSY / EINVAL. */
		struct ref_hwpt *old = hwpt_replace(idev, pasid, hwpt, err);

		attach_was_replace = !*err;
		return old;
	}
	*err = hwpt_attach(idev, pasid, hwpt);
	return NULL;
}

/* The kernel's iommufd_device_auto_get_domain(): reuse a compatible automatic domain of the
 * IOAS, else make one. *attached: the HWPT now attached (on success). */
static struct ref_hwpt *auto_get_domain(struct ref_device *idev, uint32_t pasid,
					struct ref_ioas *ioas, struct ioasid_ctx *ioas_ctx,
					uint32_t *pt_id, attach_fn fn,
					struct ref_hwpt **attached, int *err)
{
	struct ref_hwpt_paging *hp;
	struct ref_hwpt *destroy;

	if (pasid != REF_NO_PASID) {
		ref_set_error("attach %s pasid %u to IOAS %u: a PASID takes a HWPT allocated with "
			      "IOMMU_HWPT_ALLOC_PASID, not an IOAS (no automatic domains for PASIDs)",
			      dev_name(idev), pasid, ioas->obj.id);
		*err = -EINVAL;
		return NULL;
	}
	for (hp = ioas->hwpt_list; hp; hp = hp->ioas_next) {
		if (!hp->auto_domain)
			continue;
		destroy = fn(idev, pasid, &hp->common, err);
		if (*err == -EINVAL)
			continue;
		if (!*err) {
			*pt_id = hp->common.obj.id;
			*attached = &hp->common;
		}
		return destroy;
	}
	/* The automatic domain belongs to the IOAS's context (another one only with the
	 * attach-foreign bug). */
	*err = ref_hwpt_paging_alloc(ioas_ctx, ioas, idev->hw, idev->dirty_capable,
				     idev->pgsize_bitmap, 0, &hp);
	if (*err)
		return NULL;
	destroy = fn(idev, pasid, &hp->common, err);
	if (*err) {
		ref_object_abort_and_destroy(ioas_ctx, &hp->common.obj);
		return NULL;
	}
	hp->auto_domain = true;
	*pt_id = hp->common.obj.id;
	*attached = &hp->common;
	ref_hwpt_announce(&hp->common);
	ref_object_finalize(ioas_ctx, &hp->common.obj);
	return destroy;
}

/* DEV_ATTACH or DEV_REPLACE of one call: hwpt is what is attached now (NULL when refused), old
 * what the replace moved away from (NULL: nothing changed). */
static inline void change_event(struct ref_device *idev, uint32_t pasid, uint32_t requested,
				struct ref_hwpt *hwpt, struct ref_hwpt *old, bool replace, int rc)
{
#define CHANGE_FIELDS                                                                          \
	.ctx = idev->ctx->cookie, .dev = idev->event_dev, .group = idev->event_group,          \
	.obj = idev->obj.id, .pt = hwpt ? hwpt->obj.id : 0, .pasid = pasid,                   \
	.iommu = ref_hw_event_id(idev->hw), .domain = hwpt_domain_id(hwpt),                   \
	.value = requested, .result = rc, .flags = rc ? IOASID_EVF_REFUSED : 0
	if (replace)
		IOASID_PROBE_NAMED(dev_replace, dev_name(idev), CHANGE_FIELDS,
				   .aux = hwpt_domain_id(old ? old : hwpt));
	else
		IOASID_PROBE_NAMED(dev_attach, dev_name(idev), CHANGE_FIELDS);
#undef CHANGE_FIELDS
}

static int change_pt(struct ref_device *idev, uint32_t pasid, uint32_t *pt_id, attach_fn fn)
{
	struct ioasid_ctx *ctx = idev->ctx;
	struct ref_dev_state *st = ctx->devs;
	const uint32_t requested = *pt_id;
	struct ref_hwpt *destroy = NULL, *attached = NULL;
	struct ioasid_ctx *pt_ctx = ctx;
	struct ref_object *pt;
	int rc = 0;

	attach_was_replace = false;
	if (pasid != REF_NO_PASID) {
		if (!idev->pasid_bits) {
			ref_set_error("attach %s pasid %u: the device is not PASID-capable; attach "
				      "its RID (no PASID flag) instead", dev_name(idev), pasid);
			rc = -EINVAL;
			goto out;
		}
		if ((pasid >> idev->pasid_bits) &&
		    /* PAS-1 bug "pasid-width-off-by-one": the bound check lets 1 << width by
		     * (the PASID table has no entry for it: nothing is programmed). */
		    !(pasid == 1u << idev->pasid_bits && inject_on(INJECT_PASID_WIDTH_OFF_BY_ONE))) {
			ref_set_error("attach %s pasid %u: beyond the device's %u-bit PASID width "
				      "(max %u)", dev_name(idev), pasid, idev->pasid_bits,
				      (1u << idev->pasid_bits) - 1);
			rc = -EINVAL;
			goto out;
		}
	}
	pt = ref_get_object(ctx, *pt_id, REF_OBJ_ANY, &rc);
	if (!pt && inject_on(INJECT_ATTACH_FOREIGN))
		/* OWN-2 bug "attach-foreign": an ID this context does not have is looked up in
		 * the other contexts of the process (one global ID namespace), and the device is
		 * attached to that context's IOAS or HWPT. */
		pt = ref_get_object_foreign(ctx, *pt_id, &pt_ctx, &rc);
	if (!pt)
		goto out;
	pthread_mutex_lock(&st->lock);
	if (pt_ctx != ctx && ref_devs_lock(pt_ctx)) {
		rc = -ENOMEM;
		pthread_mutex_unlock(&st->lock);
		ref_put_object(pt_ctx, pt);
		goto out;
	}
	switch (pt->type) {
	case REF_OBJ_HWPT_PAGING:
	case REF_OBJ_HWPT_NESTED:
		destroy = fn(idev, pasid, container_of(pt, struct ref_hwpt, obj), &rc);
		if (!rc)
			attached = container_of(pt, struct ref_hwpt, obj);
		break;
	case REF_OBJ_IOAS:
		destroy = auto_get_domain(idev, pasid, container_of(pt, struct ref_ioas, obj),
					  pt_ctx, pt_id, fn, &attached, &rc);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	if (pt_ctx != ctx)
		ref_devs_unlock(pt_ctx);
	pthread_mutex_unlock(&st->lock);
	/* before the old HWPT is put: that may destroy it (an automatic domain) */
	change_event(idev, pasid, requested, attached, destroy, fn == hwpt_replace, rc);
	ref_put_object(pt_ctx, pt);
	if (destroy)
		hwpt_put(ctx, destroy);
	return rc;
out:
	change_event(idev, pasid, requested, NULL, NULL, fn == hwpt_replace, rc);
	return rc;
}

int ref_device_attach(struct ref_device *idev, uint32_t pasid, uint32_t *pt_id)
{
	int rc = change_pt(idev, pasid, pt_id, do_attach);

	if (!rc && !attach_was_replace) {
		idev->nr_attached++;
		ref_object_hold(idev->ctx, &idev->obj); /* catches a destroy while attached */
	}
	return rc;
}

int ref_device_replace(struct ref_device *idev, uint32_t pasid, uint32_t *pt_id)
{
	return change_pt(idev, pasid, pt_id, hwpt_replace);
}

void ref_device_detach(struct ref_device *idev, uint32_t pasid)
{
	struct ref_dev_state *st = idev->ctx->devs;
	struct ref_hwpt *hwpt;

	pthread_mutex_lock(&st->lock);
	hwpt = hwpt_detach(idev, pasid);
	pthread_mutex_unlock(&st->lock);
	if (!hwpt)
		return;
	IOASID_PROBE_NAMED(dev_detach, dev_name(idev), .ctx = idev->ctx->cookie,
			   .dev = idev->event_dev, .group = idev->event_group, .obj = idev->obj.id,
			   .pt = hwpt->obj.id, .pasid = pasid, .iommu = ref_hw_event_id(idev->hw),
			   .domain = hwpt_domain_id(hwpt));
	hwpt_put(idev->ctx, hwpt);
	idev->nr_attached--;
	ref_object_release(idev->ctx, &idev->obj);
}

uint32_t ref_device_attached_hwpt(struct ref_device *idev, uint32_t pasid)
{
	struct ref_dev_state *st = idev->ctx->devs;
	struct ref_attach *a;
	uint32_t id = 0;

	pthread_mutex_lock(&st->lock);
	a = attach_find(idev->igroup, pasid);
	if (pasid == REF_NO_PASID && idev->split_hwpt)
		id = idev->split_hwpt->obj.id;
	else if (a && attach_has_dev(a, idev))
		id = a->hwpt->obj.id;
	pthread_mutex_unlock(&st->lock);
	return id;
}

void ref_device_unbind(struct ref_device *idev)
{
	struct ioasid_ctx *ctx = idev->ctx;
	bool selftest = idev->selftest;

	/* Detach whatever the driver left attached (the kernel WARNs; we clean up). */
	for (;;) {
		struct ref_dev_state *st = ctx->devs;
		uint32_t pasid = UINT32_MAX;

		pthread_mutex_lock(&st->lock);
		if (idev->split_hwpt)
			pasid = REF_NO_PASID;
		for (uint32_t i = 0; pasid == UINT32_MAX && i < idev->igroup->nr_attaches; i++)
			if (attach_has_dev(&idev->igroup->attaches[i], idev)) {
				pasid = idev->igroup->attaches[i].pasid;
				break;
			}
		pthread_mutex_unlock(&st->lock);
		if (pasid == UINT32_MAX)
			break;
		ref_device_detach(idev, pasid);
	}
	ref_object_destroy_user(ctx, &idev->obj);
	if (!selftest)
		ioasid_ctx_put(ctx);
}

int ref_device_trigger_iopf(struct ref_device *idev, uint32_t pasid, uint32_t grpid,
			    uint32_t perm, uint64_t addr)
{
	struct ref_dev_state *st = idev->ctx->devs;
	struct ref_attach *a;
	int rc = -EINVAL;

	pthread_mutex_lock(&st->lock);
	a = attach_find(idev->igroup, pasid);
	if (a && attach_has_dev(a, idev) && a->hwpt->fault)
		rc = ref_fault_inject(a->hwpt->fault, idev, a->hwpt, pasid, grpid, perm, addr, 0);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

/* ---- DMA ------------------------------------------------------------------------------------ */

/* The ID of the domain in the device's entry at pasid (0: blocked). */
static uint32_t entry_domain_id(const struct ref_device *idev, uint32_t pasid)
{
	struct mock_domain *dom = mock_dev_domain(idev->mdev, pasid);

	return dom ? mock_domain_id(dom) : 0;
}

static __thread struct ref_device *dma_current;
static __thread int dma_iopf_rc;

struct ref_device *ref_device_dma_current(void)
{
	return dma_current;
}

void ref_device_dma_iopf_result(int rc)
{
	dma_iopf_rc = rc;
}

int ref_device_dma(struct ref_device *idev, uint32_t pasid, uint64_t iova, void *buf,
		   size_t len, int dir, uint64_t *fault_iova)
{
	struct mock_fault fault = { 0 };
	int rc;

	if (dir != MOCK_DMA_READ && dir != MOCK_DMA_WRITE)
		return -EINVAL;
	dma_current = idev;
	dma_iopf_rc = 0;
	rc = mock_dev_dma(idev->mdev, pasid, iova, buf, len, (enum mock_dma_dir)dir, &fault);
	dma_current = NULL;
	/* A page request that could not be queued: the device sees a fault, the caller learns
	 * why (the kernel drops the request and answers it with a failure). */
	if (rc == -EFAULT && dma_iopf_rc == -ENOMEM)
		rc = -ENOMEM;
	IOASID_PROBE_NAMED(dma, dev_name(idev), .ctx = idev->ctx->cookie, .obj = idev->obj.id,
			   .dev = idev->event_dev, .pasid = pasid, .iova = iova, .length = len,
			   .iommu = ref_hw_event_id(idev->hw),
			   .domain = entry_domain_id(idev, pasid),
			   .aux = (uint32_t)dir, .result = rc,
			   .flags = rc ? IOASID_EVF_REFUSED : 0);
	if (rc && fault_iova)
		*fault_iova = fault.iova;
	return rc;
}

/* ---- IOMMU_GET_HW_INFO ---------------------------------------------------------------------- */

/* VT-d capability and extended capability registers consistent with the instance's features
 * (field positions from the VT-d specification: CAP.SAGAW 12:8, MGAW 21:16, SLLPS 37:34,
 * FL1GP 56, FL5LP 60; ECAP.C 0, QI 1, IR 3, PT 6, SC 7, NEST 26, PRS 29, PSS 39:35, PASID 40,
 * SMTS 43, SLADS 45, SLTS 46, FLTS 47). */
static void vtd_regs(const struct mock_iommu_caps *c, const struct ref_hw_iommu *hw,
		     uint64_t *cap, uint64_t *ecap)
{
	uint64_t sagaw = c->ias_bits >= 57 ? 0xc : c->ias_bits >= 48 ? 0x4 : 0x2;

	*cap = (sagaw << 8) | ((uint64_t)(c->ias_bits - 1) << 16) | (1ULL << 56 /* FL1GP */);
	if (c->pgsize_bitmap & SZ_2M)
		*cap |= 1ULL << 34;
	if (c->pgsize_bitmap & SZ_1G)
		*cap |= 1ULL << 35;
	if (c->ias_bits >= 57)
		*cap |= 1ULL << 60;
	*ecap = (1ULL << 0) | (1ULL << 1) | (1ULL << 3) | (1ULL << 6) | (1ULL << 7) |
		(1ULL << 43) | (1ULL << 46);
	if (hw->nesting)
		*ecap |= (1ULL << 26) | (1ULL << 47);
	if (hw->iopf)
		*ecap |= 1ULL << 29;
	if (hw->pasid_bits)
		*ecap |= (1ULL << 40) | ((uint64_t)(hw->pasid_bits - 1) << 35);
	if (hw->dirty_tracking)
		*ecap |= 1ULL << 45;
	/* A topology may give a real unit's registers (examples/topologies/qemu-testbed.topo). */
	if (hw->vtd_cap)
		*cap = hw->vtd_cap;
	if (hw->vtd_ecap)
		*ecap = hw->vtd_ecap;
}

int ref_get_hw_info(struct ref_ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;
	struct ref_device *idev;
	uint8_t data[64];
	uint32_t data_len = 0;
	int rc = 0;

	if (cmd->flags & ~IOMMU_HW_INFO_FLAG_INPUT_TYPE)
		return -EOPNOTSUPP;
	if (cmd->__reserved[0] || cmd->__reserved[1] || cmd->__reserved[2])
		return -EOPNOTSUPP;
	idev = ref_get_device(ucmd->ctx, cmd->dev_id, &rc);
	if (!idev)
		return rc;
	memset(data, 0, sizeof(data));
	if ((cmd->flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE) &&
	    cmd->in_data_type != IOMMU_HW_INFO_TYPE_DEFAULT &&
	    cmd->in_data_type != idev->hw->hw_type) {
		rc = -EOPNOTSUPP;
		goto out_put;
	}
	if (idev->hw->hw_type == IOMMU_HW_INFO_TYPE_INTEL_VTD) {
		struct iommu_hw_info_vtd vtd = { 0 };
		uint64_t cap, ecap;

		vtd_regs(mock_iommu_caps(idev->hw->hw), idev->hw, &cap, &ecap);
		vtd.cap_reg = cap;
		vtd.ecap_reg = ecap;
		/* intel_iommu_hw_info(): a unit whose page walks do not snoop (ECAP.C clear) has
		 * the read-only-parent erratum flagged (QEMU's VT-d: flags 0x1). */
		if (!(ecap & 1))
			vtd.flags |= IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17;
		memcpy(data, &vtd, sizeof(vtd));
		data_len = sizeof(vtd);
	} else if (idev->hw->hw_type == 0xfeedbeef) {
		/* struct iommu_test_hw_info { u32 flags; u32 test_reg; } */
		uint32_t st[2] = { 0, 0xdeadbeef };

		memcpy(data, st, sizeof(st));
		data_len = sizeof(st);
	}
	if (cmd->data_len && cmd->data_uptr) {
		uint32_t n = MIN(cmd->data_len, data_len);

		rc = ref_copy_to_user(cmd->data_uptr, data, n);
		/* the rest of the user's buffer is zero-filled, as the kernel does */
		for (uint32_t off = n; !rc && off < cmd->data_len;) {
			static const uint8_t zero[256];
			uint32_t chunk = MIN(cmd->data_len - off, (uint32_t)sizeof(zero));

			rc = ref_copy_to_user(cmd->data_uptr + off, zero, chunk);
			off += chunk;
		}
		if (rc)
			goto out_put;
	}
	cmd->data_len = data_len;
	cmd->out_data_type = idev->hw->hw_type;
	cmd->out_capabilities = idev->dirty_capable ? IOMMU_HW_CAP_DIRTY_TRACKING : 0;
	cmd->out_max_pasid_log2 = (uint8_t)idev->pasid_bits;
	rc = ref_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	ref_put_object(ucmd->ctx, &idev->obj);
	return rc;
}

/* ---- public C API --------------------------------------------------------------------------- */

static struct ref_device *find_bound(struct ioasid_ctx *ctx, uint32_t dev_id, int *err)
{
	struct ref_device *idev = ref_get_device(ctx, dev_id, err);

	if (idev)
		ref_put_object(ctx, &idev->obj); /* the driver's reference keeps it alive */
	return idev;
}

int ioasid_platform_check(void)
{
	struct platform *p;

	return platform_default(&p);
}

int ioasid_device_bind(struct ioasid_ctx *ctx, const char *name, uint32_t *dev_id)
{
	struct ref_device *idev;
	struct platform *p;
	int idx, rc;

	rc = platform_default(&p);
	if (rc) {
		if (IOASID_PROBE_ON(dev_bind))
			bind_event(ctx, UINT32_MAX, name, 0, 0, rc);
		return rc;
	}
	idx = plat_topology_find_device(platform_topology(p), name);
	if (idx < 0) {
		ref_set_error("device %s: not on this platform (%s); see ioasid-platform show",
			      name, platform_topology(p)->source);
		if (IOASID_PROBE_ON(dev_bind))
			bind_event(ctx, UINT32_MAX, name, 0, 0, -ENODEV);
		return -ENODEV;
	}
	if (ctx->devs) {
		struct ref_dev_state *st = ctx->devs;
		bool dup = false;

		pthread_mutex_lock(&st->lock);
		for (struct ref_igroup *g = st->igroups; g && !dup; g = g->next)
			for (struct ref_device *d = g->members; d; d = d->member_next)
				if (d->plat_dev == idx)
					dup = true;
		pthread_mutex_unlock(&st->lock);
		if (dup) {
			ref_set_error("device %s: already bound to this context", name);
			if (IOASID_PROBE_ON(dev_bind))
				bind_event(ctx, (uint32_t)idx, name, 0, 0, -EBUSY);
			return -EBUSY;
		}
	}
	return ref_device_bind(ctx, (uint32_t)idx, &idev, dev_id);
}

int ioasid_device_unbind(struct ioasid_ctx *ctx, uint32_t dev_id)
{
	struct ref_device *idev = find_bound(ctx, dev_id, &(int){ 0 });

	if (!idev || idev->selftest)
		return -ENOENT;
	ref_device_unbind(idev);
	return 0;
}

int ioasid_device_attach(struct ioasid_ctx *ctx, uint32_t dev_id, uint32_t pasid,
			 uint32_t *pt_id)
{
	int rc;
	struct ref_device *idev = find_bound(ctx, dev_id, &rc);

	return idev ? ref_device_attach(idev, pasid, pt_id) : rc;
}

int ioasid_device_replace(struct ioasid_ctx *ctx, uint32_t dev_id, uint32_t pasid,
			  uint32_t *pt_id)
{
	int rc;
	struct ref_device *idev = find_bound(ctx, dev_id, &rc);

	return idev ? ref_device_replace(idev, pasid, pt_id) : rc;
}

int ioasid_device_detach(struct ioasid_ctx *ctx, uint32_t dev_id, uint32_t pasid)
{
	int rc;
	struct ref_device *idev = find_bound(ctx, dev_id, &rc);

	if (!idev)
		return rc;
	if (!ref_device_attached_hwpt(idev, pasid))
		return -ENOENT;
	ref_device_detach(idev, pasid);
	return 0;
}

int ioasid_device_dma(struct ioasid_ctx *ctx, uint32_t dev_id, uint32_t pasid, uint64_t iova,
		      void *buf, size_t len, int dir, uint64_t *fault_iova)
{
	int rc;
	struct ref_device *idev = find_bound(ctx, dev_id, &rc);

	return idev ? ref_device_dma(idev, pasid, iova, buf, len, dir, fault_iova) : rc;
}
