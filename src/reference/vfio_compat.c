/* vfio_compat.c — the VFIO type1 container emulation on an iommufd context, and the compat IOAS:
 * the reference's drivers/iommu/iommufd/vfio_compat.c.
 *
 * Owns: ctx->vfio_compat (struct ref_vfio_compat), i.e. which IOAS the legacy VFIO ioctls act
 * on, and the handlers of IOMMU_VFIO_IOAS and of the VFIO range (';', nr 100..127) issued on an
 * iommufd fd (or on a /dev/vfio/vfio container, which is an iommufd context opened with
 * ref_vfio_container_ctx_open()).
 *
 * What the kernel does and so do we:
 *  - The compat IOAS is a plain IOAS object. IOMMU_VFIO_IOAS SET points at any IOAS, CLEAR
 *    forgets it, GET returns it (ENODEV when none). A group joining the container creates one
 *    (ref_vfio_compat_ioas_create); it is then a user-visible object like any other and is
 *    destroyed with the context if nobody destroys it first.
 *  - Destroying the compat IOAS with IOMMU_DESTROY succeeds and leaves no compat IOAS; every
 *    type1 ioctl then gives ENODEV. The pointer is checked against the object table at each
 *    use (ref_vfio_compat_object_removed() clears it when main.c calls it on removal).
 *  - VFIO_GET_API_VERSION → VFIO_API_VERSION; VFIO_CHECK_EXTENSION: TYPE1, TYPE1v2, UNMAP_ALL
 *    → 1, DMA_CC_IOMMU → 1 when every domain enforces coherency (always here: binding needs a
 *    coherent IOMMU) or ENODEV without a compat IOAS, everything else (NESTING, UPDATE_VADDR,
 *    NOIOMMU, SPAPR) → 0.
 *  - VFIO_SET_IOMMU: TYPE1 or TYPE1v2 only (else EINVAL), needs the compat IOAS (ENODEV).
 *    TYPE1 (v1) may unmap part of a mapping; huge IOPTEs cannot be split, so v1 disables large
 *    pages on the IOAS (iopt_disable_large_pages: EINVAL if domains already hold areas) and
 *    UNMAP_DMA cuts areas at the range edges before unmapping (iopt_cut_iova). v2 unmaps whole
 *    mappings only (ENOENT for part of one). As in the kernel, what decides is the IOAS's
 *    large pages, not the version: a v2 IOAS with IOMMU_OPTION_HUGE_PAGES 0 cuts too.
 *  - MAP_DMA: argsz < 32 or flags beyond READ|WRITE (e.g. VADDR) → EINVAL; always a fixed IOVA.
 *  - UNMAP_DMA: argsz < 24, or flags beyond UNMAP_FLAG_ALL (GET_DIRTY_BITMAP and VADDR are
 *    refused: dirty tracking moved to IOMMU_HWPT_GET_DIRTY_BITMAP) → EINVAL; FLAG_ALL needs
 *    iova == size == 0 (EINVAL). `size` is written back with the bytes unmapped, also when the
 *    unmap itself failed.
 *  - GET_INFO: argsz < 16 → EINVAL; flags PGSIZES|CAPS; iova_pgsizes is the AND of the domains'
 *    page sizes with sub-page bits folded into PAGE_SIZE, at least the IOVA alignment; a
 *    capability chain {DMA_AVAIL (avail = U32_MAX), IOVA_RANGE (the holes of the reserved
 *    ranges)}, each cap 8-byte aligned, written only where it fits; argsz returns the size
 *    needed and cap_offset is set only when everything fit. Only min(argsz, 24) bytes of the
 *    info struct are written back.
 *  - Anything else of the range (VFIO_IOMMU_DIRTY_PAGES, group/device ioctls) → ENOTTY.
 *  - MAP_DMA and UNMAP_DMA raise the same IOAS_MAP / IOAS_UNMAP events as the iommufd ioctls
 *    (obj: the compat IOAS, 0 when there is none; UNMAP_FLAG_ALL: iova 0 length UINT64_MAX).
 *
 * Locking: ctx->vfio_compat and what it points to are guarded by ctx->lock, like the kernel's
 * ictx->vfio_ioas under the xarray lock. Handlers hold a reference on the IOAS (users) while
 * they work on it, never ctx->lock.
 */
#include "reference/ref_private.h"
#include "reference/device.h"
#include "platform/platform.h"

#include <string.h>
#include <linux/vfio.h>

struct ref_vfio_compat {
	struct ref_object *ioas_obj;      /* the compat IOAS, or NULL; only compared until looked up */
	uint32_t ioas_id;
};

#define VFIO_PAGE_MASK (~(PAGE_SIZE_REF - 1))

/* ---- the compat IOAS ----------------------------------------------------------------------- */

#ifndef offsetofend
#define offsetofend(T, m) (offsetof(T, m) + sizeof(((T *)0)->m))
#endif

/* The compat IOAS if it is still in the table, else NULL (and forget it). Under ctx->lock. */
static struct ref_object *compat_obj_locked(struct ioasid_ctx *ctx)
{
	struct ref_vfio_compat *vc = ctx->vfio_compat;

	if (!vc || !vc->ioas_obj)
		return NULL;
	/* Compare the pointer before touching it: the object may be gone. main.c clears the
	 * pointer on removal (ref_vfio_compat_object_removed); without that, a slot that no longer
	 * holds it means it was destroyed: forget it, unless the slot is only reserved (the
	 * compat IOAS being created, main.c's REF_OBJ_RESERVED). */
	if (vc->ioas_id < ctx->nr_slots) {
		struct ref_object *cur = ctx->objs[vc->ioas_id];

		if (cur == vc->ioas_obj)
			return vc->ioas_obj;
		if ((uintptr_t)cur == 1)
			return NULL;
	}
	vc->ioas_obj = NULL;
	return NULL;
}

/* A reference (users) on the compat IOAS, or NULL and -ENODEV. */
static struct ref_ioas *get_compat_ioas(struct ioasid_ctx *ctx, int *err)
{
	struct ref_object *obj;

	pthread_mutex_lock(&ctx->lock);
	obj = compat_obj_locked(ctx);
	if (obj)
		obj->users++;
	pthread_mutex_unlock(&ctx->lock);
	if (!obj) {
		*err = -ENODEV;
		return NULL;
	}
	return container_of(obj, struct ref_ioas, obj);
}

/* Allocate ctx->vfio_compat if missing. Under ctx->lock. */
static struct ref_vfio_compat *compat_state_locked(struct ioasid_ctx *ctx)
{
	if (!ctx->vfio_compat)
		ctx->vfio_compat = ioasid_zalloc(sizeof(*ctx->vfio_compat));
	return ctx->vfio_compat;
}

int ref_vfio_compat_ioas_get_id(struct ioasid_ctx *ctx, uint32_t *out_ioas_id)
{
	struct ref_ioas *ioas;
	int rc;

	ioas = get_compat_ioas(ctx, &rc);
	if (!ioas)
		return rc;
	*out_ioas_id = ioas->obj.id;
	ref_put_object(ctx, &ioas->obj);
	return 0;
}

int ref_vfio_compat_ioas_create(struct ioasid_ctx *ctx, uint32_t *out_ioas_id)
{
	struct ref_object *obj, *cur;
	struct ref_vfio_compat *vc;
	struct ref_ioas *ioas;
	int rc = 0;

	/* Allocated first and dropped if one exists, as the kernel does, so that the check and
	 * the install happen under one hold of the lock. */
	obj = ref_object_alloc(ctx, sizeof(*ioas), REF_OBJ_IOAS);
	if (!obj)
		return -ENOMEM;
	ioas = container_of(obj, struct ref_ioas, obj);
	iopt_init_table(&ioas->iopt, ctx->cookie, obj->id);

	pthread_mutex_lock(&ctx->lock);
	cur = compat_obj_locked(ctx);
	if (cur) {
		*out_ioas_id = cur->id;
	} else if ((vc = compat_state_locked(ctx))) {
		vc->ioas_obj = obj;
		vc->ioas_id = obj->id;
		*out_ioas_id = obj->id;
	} else {
		rc = -ENOMEM;
	}
	pthread_mutex_unlock(&ctx->lock);
	if (cur || rc) {
		ref_object_abort_and_destroy(ctx, obj);
		return rc;
	}
	/* Published like a user-created IOAS: IOMMU_VFIO_IOAS GET reports it, DESTROY removes it,
	 * and the context's close destroys it otherwise. */
	ref_object_finalize(ctx, obj);
	return 0;
}

void ref_vfio_compat_object_removed(struct ioasid_ctx *ctx, struct ref_object *obj)
{
	/* Called by main.c under ctx->lock when an object leaves the table. */
	if (ctx->vfio_compat && ctx->vfio_compat->ioas_obj == obj)
		ctx->vfio_compat->ioas_obj = NULL;
}

void ref_vfio_compat_release(struct ioasid_ctx *ctx)
{
	ioasid_free(ctx->vfio_compat);
	ctx->vfio_compat = NULL;
}

/* IOMMU_VFIO_IOAS */
int ref_vfio_ioas(struct ref_ucmd *ucmd)
{
	struct iommu_vfio_ioas *cmd = ucmd->cmd;
	struct ioasid_ctx *ctx = ucmd->ctx;
	struct ref_vfio_compat *vc;
	struct ref_ioas *ioas;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		ioas = get_compat_ioas(ctx, &rc);
		if (!ioas)
			return rc;
		cmd->ioas_id = ioas->obj.id;
		ref_put_object(ctx, &ioas->obj);
		return ref_ucmd_respond(ucmd, sizeof(*cmd));

	case IOMMU_VFIO_IOAS_SET:
		ioas = ref_get_ioas(ctx, cmd->ioas_id, &rc);
		if (!ioas)
			return rc;
		pthread_mutex_lock(&ctx->lock);
		vc = compat_state_locked(ctx);
		if (vc) {
			vc->ioas_obj = &ioas->obj;
			vc->ioas_id = ioas->obj.id;
		}
		pthread_mutex_unlock(&ctx->lock);
		ref_put_object(ctx, &ioas->obj);
		return vc ? 0 : -ENOMEM;

	case IOMMU_VFIO_IOAS_CLEAR:
		pthread_mutex_lock(&ctx->lock);
		if (ctx->vfio_compat)
			ctx->vfio_compat->ioas_obj = NULL;
		pthread_mutex_unlock(&ctx->lock);
		return 0;

	default:
		return -EOPNOTSUPP;
	}
}

/* ---- type1 ioctls -------------------------------------------------------------------------- */

static int vfio_map_dma(struct ioasid_ctx *ctx, void *arg)
{
	const uint32_t supported = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	const size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	const uint64_t t0 = IOASID_PROBE_START(ioas_map);
	struct vfio_iommu_type1_dma_map map = { 0 };
	struct ref_ioas *ioas = NULL;
	int prot = MOCK_PROT_CACHE;
	uint64_t pinned = 0;
	int rc;

	if (ref_copy_from_user(&map, (uintptr_t)arg, minsz)) {
		memset(&map, 0, sizeof(map));
		rc = -EFAULT;
		goto out;
	}
	if (map.argsz < minsz || (map.flags & ~supported)) {
		rc = -EINVAL;
		goto out;
	}
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= MOCK_PROT_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= MOCK_PROT_WRITE;

	ioas = get_compat_ioas(ctx, &rc);
	if (!ioas)
		goto out;
	/* Always at the given IOVA; accounting follows the context (a /dev/vfio/vfio container
	 * context charges the process, as VFIO type1 does). */
	rc = iopt_map_user_pages(ctx, &ioas->iopt, &(uint64_t){ map.iova }, map.vaddr, map.size,
				 prot, 0, &pinned);
	ref_put_object(ctx, &ioas->obj);
out:
	REF_IOAS_MAP_EVENT(ctx, ioas ? ioas->obj.id : 0, map.iova, map.size, prot, pinned, rc, t0);
	return rc;
}

static int vfio_unmap_dma(struct ioasid_ctx *ctx, void *arg)
{
	const size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	const uint64_t t0 = IOASID_PROBE_START(ioas_unmap);
	struct vfio_iommu_type1_dma_unmap unmap = { 0 };
	struct ref_ioas *ioas = NULL;
	uint64_t unmapped = 0;
	bool all = false, reply = false;
	int rc;

	if (ref_copy_from_user(&unmap, (uintptr_t)arg, minsz)) {
		memset(&unmap, 0, sizeof(unmap));
		rc = -EFAULT;
		goto out;
	}
	all = unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL;
	if (unmap.argsz < minsz || (unmap.flags & ~VFIO_DMA_UNMAP_FLAG_ALL)) {
		rc = -EINVAL;
		goto out;
	}

	ioas = get_compat_ioas(ctx, &rc);
	if (!ioas)
		goto out;

	if (all) {
		if (unmap.iova != 0 || unmap.size != 0) {
			rc = -EINVAL;
			goto out;
		}
		rc = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else {
		/* TYPE1 (v1): cut the areas at both edges first, so that any page range can go
		 * (nothing below IOVA 0 to cut). As in the kernel the edges are plain unsigned
		 * arithmetic: an empty or wrapping range is cut where that lands, then refused by
		 * iopt_unmap_iova() (EINVAL, EOVERFLOW). A refused cut answers before anything is
		 * unmapped, and size is not written back. */
		if (__atomic_load_n(&ioas->iopt.disable_large_pages, __ATOMIC_RELAXED)) {
			const uint64_t iovas[] = { unmap.iova + unmap.size - 1, unmap.iova - 1 };

			rc = iopt_cut_iova(&ioas->iopt, iovas, unmap.iova ? 2 : 1);
			if (rc)
				goto out;
		}
		rc = iopt_unmap_iova(&ioas->iopt, unmap.iova, unmap.size, &unmapped);
	}
	reply = true;   /* size is written back, also when the unmap failed part-way */
out:
	REF_IOAS_UNMAP_EVENT(ctx, ioas ? ioas->obj.id : 0, all ? 0 : unmap.iova,
			     all ? UINT64_MAX : unmap.size, unmapped, rc, t0);
	if (reply) {
		unmap.size = unmapped;
		if (ref_copy_to_user((uintptr_t)arg, &unmap, minsz))
			rc = -EFAULT;
	}
	if (ioas)
		ref_put_object(ctx, &ioas->obj);
	return rc;
}

/* VFIO_DMA_CC_IOMMU: every domain of the compat IOAS enforces cache coherency. Binding requires
 * a coherent IOMMU and every mapping carries IOMMU_CACHE, so it is 1 whenever the IOAS exists. */
static int vfio_cc_iommu(struct ioasid_ctx *ctx)
{
	struct ref_ioas *ioas;
	int rc;

	ioas = get_compat_ioas(ctx, &rc);
	if (!ioas)
		return rc;
	ref_put_object(ctx, &ioas->obj);
	return 1;
}

static int vfio_check_extension(struct ioasid_ctx *ctx, unsigned long type)
{
	switch (type) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_DMA_CC_IOMMU:
		return vfio_cc_iommu(ctx);
	case VFIO_NOIOMMU_IOMMU:   /* CONFIG_VFIO_NOIOMMU: no no-IOMMU devices on the platform */
	case VFIO_TYPE1_NESTING_IOMMU: /* obsolete in VFIO, never offered by iommufd */
	case VFIO_UPDATE_VADDR:    /* VFIO_DMA_MAP_FLAG_VADDR: not implementable safely */
	default:
		return 0;
	}
}

static int vfio_set_iommu(struct ioasid_ctx *ctx, unsigned long type)
{
	struct ref_ioas *ioas;
	int rc = 0;

	if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU)
		return -EINVAL;
	/* VFIO refuses SET_IOMMU on a container without a group: no compat IOAS yet. */
	ioas = get_compat_ioas(ctx, &rc);
	if (!ioas)
		return rc;
	/* v1 may unmap inside a mapping; a huge IOPTE cannot be split, so use none. */
	if (type == VFIO_TYPE1_IOMMU)
		rc = iopt_disable_large_pages(&ioas->iopt);
	ref_put_object(ctx, &ioas->obj);
	return rc;
}

/* Under iopt->lock. */
static uint64_t compat_pgsizes_locked(struct io_pagetable *iopt)
{
	uint64_t bitmap = UINT64_MAX;

	for (uint32_t i = 0; i != iopt->nr_domains; i++)
		bitmap &= mock_domain_pgsize_bitmap(iopt->domains[i]);
	/* As vfio_update_pgsize_bitmap(): sub-page sizes count as PAGE_SIZE. */
	if (bitmap & ~VFIO_PAGE_MASK) {
		bitmap &= VFIO_PAGE_MASK;
		bitmap |= PAGE_SIZE_REF;
	}
	return MAX(bitmap, iopt->iova_alignment);
}

/* Each filler writes its capability at `cur` only when it fits in `avail` bytes and returns the
 * size it needs (or -EFAULT). Under iopt->lock. */
typedef int (*fill_cap_fn)(struct io_pagetable *iopt, uint64_t cur, size_t avail);

static int fill_cap_dma_avail(struct io_pagetable *iopt, uint64_t cur, size_t avail)
{
	struct vfio_iommu_type1_info_dma_avail cap = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1 },
		/* No per-container mapping count limit: iommufd reports U32_MAX (s390 QEMU reads
		 * it and needs more than VFIO's U16_MAX default). */
		.avail = UINT32_MAX,
	};

	if (avail >= sizeof(cap) && ref_copy_to_user(cur, &cap, sizeof(cap)))
		return -EFAULT;
	return sizeof(cap);
}

static int fill_cap_iova(struct io_pagetable *iopt, uint64_t cur, size_t avail)
{
	struct vfio_iommu_type1_info_cap_iova_range cap = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, .version = 1 },
	};
	const size_t range_off = offsetof(struct vfio_iommu_type1_info_cap_iova_range, iova_ranges);
	struct itree_span_iter span;

	for (itree_span_iter_first(&span, &iopt->reserved_itree, 0, UINT64_MAX);
	     !itree_span_iter_done(&span); itree_span_iter_next(&span)) {
		struct vfio_iova_range range;

		if (!span.is_hole)
			continue;
		range.start = span.start_hole;
		range.end = span.last_hole;
		if (avail >= range_off + (cap.nr_iovas + 1) * sizeof(range) &&
		    ref_copy_to_user(cur + range_off + cap.nr_iovas * sizeof(range), &range,
				     sizeof(range)))
			return -EFAULT;
		cap.nr_iovas++;
	}
	if (avail >= range_off + cap.nr_iovas * sizeof(struct vfio_iova_range) &&
	    ref_copy_to_user(cur, &cap, range_off))
		return -EFAULT;
	return (int)(range_off + cap.nr_iovas * sizeof(struct vfio_iova_range));
}

static int vfio_iommu_get_info(struct ioasid_ctx *ctx, void *arg)
{
	static const fill_cap_fn fill_fns[] = { fill_cap_dma_avail, fill_cap_iova };
	size_t minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	struct vfio_iommu_type1_info info;
	const uint64_t uarg = (uintptr_t)arg;
	uint64_t last_cap = 0;
	struct ref_ioas *ioas;
	size_t total_cap_size;
	int rc = 0;

	memset(&info, 0, sizeof(info));
	if (ref_copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	minsz = MIN((size_t)info.argsz, sizeof(info));

	ioas = get_compat_ioas(ctx, &rc);
	if (!ioas)
		return rc;

	pthread_mutex_lock(&ioas->iopt.lock);
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = compat_pgsizes_locked(&ioas->iopt);
	info.cap_offset = 0;

	total_cap_size = sizeof(info);
	for (size_t i = 0; i != ARRAY_SIZE(fill_fns); i++) {
		int cap_size;

		if (info.argsz > total_cap_size)
			cap_size = fill_fns[i](&ioas->iopt, uarg + total_cap_size,
					       info.argsz - total_cap_size);
		else
			cap_size = fill_fns[i](&ioas->iopt, 0, 0);
		if (cap_size < 0) {
			rc = cap_size;
			goto out_unlock;
		}
		cap_size = (cap_size + 7) & ~7; /* the next cap starts 8-byte aligned */
		if (last_cap && info.argsz >= total_cap_size) {
			uint32_t next = (uint32_t)total_cap_size;

			if (ref_copy_to_user(last_cap + offsetof(struct vfio_info_cap_header, next),
					     &next, sizeof(next))) {
				rc = -EFAULT;
				goto out_unlock;
			}
		}
		last_cap = uarg + total_cap_size;
		total_cap_size += cap_size;
	}
	/* Too small a buffer gets some caps and learns the size that holds them all. */
	if (info.argsz >= total_cap_size)
		info.cap_offset = sizeof(info);
	info.argsz = (uint32_t)total_cap_size;
	info.flags |= VFIO_IOMMU_INFO_CAPS;
	if (ref_copy_to_user(uarg, &info, minsz))
		rc = -EFAULT;
out_unlock:
	pthread_mutex_unlock(&ioas->iopt.lock);
	ref_put_object(ctx, &ioas->obj);
	return rc;
}

int ref_vfio_compat_ioctl(struct ioasid_ctx *ctx, unsigned long cmd, void *arg)
{
	switch ((unsigned int)cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return vfio_check_extension(ctx, (unsigned long)(uintptr_t)arg);
	case VFIO_SET_IOMMU:
		return vfio_set_iommu(ctx, (unsigned long)(uintptr_t)arg);
	case VFIO_IOMMU_GET_INFO:
		return vfio_iommu_get_info(ctx, arg);
	case VFIO_IOMMU_MAP_DMA:
		return vfio_map_dma(ctx, arg);
	case VFIO_IOMMU_UNMAP_DMA:
		return vfio_unmap_dma(ctx, arg);
	case VFIO_IOMMU_DIRTY_PAGES: /* replaced by IOMMU_HWPT_GET_DIRTY_BITMAP */
	default:
		return -ENOTTY;
	}
}

/* ---- /dev/vfio/vfio ------------------------------------------------------------------------ */

int ref_vfio_container_ctx_open(struct ioasid_ctx **out)
{
	int rc = ioasid_ctx_open(out);

	/* iommufd's /dev/vfio/vfio defaults to per-process (mm) accounting, as VFIO type1
	 * charges locked_vm of the mm. */
	if (!rc)
		(*out)->account_mode = REF_ACCOUNT_MM;
	return rc;
}

/* The legacy container claims the whole group when it joins (iommu_group_claim_dma_owner),
 * with the container's context as the owner: the devices it then binds claim with the same
 * owner and only count up. */
int ref_vfio_compat_group_claim(struct ioasid_ctx *ctx, struct platform *p, uint32_t group,
				char *why, size_t whylen)
{
	return platform_group_claim_dma_owner(p, group, ctx->cookie, why, whylen);
}

void ref_vfio_compat_group_release(struct ioasid_ctx *ctx, struct platform *p, uint32_t group)
{
	(void)ctx;
	platform_group_release_dma_owner(p, group);
}
