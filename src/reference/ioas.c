/* ioas.c — IOAS objects and the IOAS ioctls: ALLOC, IOVA_RANGES, ALLOW_IOVAS, MAP, MAP_FILE,
 * COPY, UNMAP, and IOMMU_OPTION (RLIMIT_MODE for the context, HUGE_PAGES per IOAS).
 *
 * Argument checks run in the kernel's order so that each malformed call gets the kernel's
 * errno: flags first (EOPNOTSUPP), then ULONG_MAX bounds (EOVERFLOW), then missing permission
 * bits (EINVAL), then the object lookup (ENOENT), then the io_pagetable's own checks.
 *
 * Events: every MAP, MAP_FILE, COPY and UNMAP call raises one IOAS_MAP / IOAS_COPY / IOAS_UNMAP
 * at its end, refused or not (REF_IOAS_*_EVENT in ref_private.h), with the latency of the call.
 * The result is the outcome of the operation on the io_pagetable: when it succeeded but the reply
 * cannot be copied back (EFAULT), the mapping stays, as in the kernel, and the event says 0.
 */
#include "reference/ref_private.h"

#include <string.h>

#ifndef CAP_SYS_RESOURCE
#define CAP_SYS_RESOURCE 24
#endif

#define MAP_FLAGS_KNOWN \
	(IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)

struct ref_ioas *ref_get_ioas(struct ioasid_ctx *ctx, uint32_t id, int *err)
{
	struct ref_object *obj = ref_get_object(ctx, id, REF_OBJ_IOAS, err);

	return obj ? container_of(obj, struct ref_ioas, obj) : NULL;
}

void ref_ioas_destroy(struct ref_object *obj)
{
	struct ref_ioas *ioas = container_of(obj, struct ref_ioas, obj);

	iopt_unmap_all(&ioas->iopt, NULL);
	iopt_destroy_table(&ioas->iopt);
}

int ref_ioas_alloc_ioctl(struct ref_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct ref_ioas *ioas;
	struct ref_object *obj;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;
	obj = ref_object_alloc(ucmd->ctx, sizeof(*ioas), REF_OBJ_IOAS);
	if (!obj)
		return -ENOMEM;
	ioas = container_of(obj, struct ref_ioas, obj);
	iopt_init_table(&ioas->iopt, ucmd->ctx->cookie, obj->id);

	cmd->out_ioas_id = obj->id;
	rc = ref_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		ref_object_abort_and_destroy(ucmd->ctx, obj);
		return rc;
	}
	ref_object_finalize(ucmd->ctx, obj);
	return 0;
}

/* The usable IOVA is everything not reserved; allowed ranges only steer the allocator. */
int ref_ioas_iova_ranges(struct ref_ucmd *ucmd)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct itree_span_iter span;
	struct ref_ioas *ioas;
	uint32_t max_iovas;
	int rc = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = ref_get_ioas(ucmd->ctx, cmd->ioas_id, &rc);
	if (!ioas)
		return rc;

	pthread_mutex_lock(&ioas->iopt.lock);
	max_iovas = cmd->num_iovas;
	cmd->num_iovas = 0;
	cmd->out_iova_alignment = ioas->iopt.iova_alignment;
	for (itree_span_iter_first(&span, &ioas->iopt.reserved_itree, 0, UINT64_MAX);
	     !itree_span_iter_done(&span); itree_span_iter_next(&span)) {
		if (!span.is_hole)
			continue;
		if (cmd->num_iovas < max_iovas) {
			struct iommu_iova_range elm = { .start = span.start_hole,
							.last = span.last_hole };

			rc = ref_copy_to_user(cmd->allowed_iovas + cmd->num_iovas * sizeof(elm),
					      &elm, sizeof(elm));
			if (rc)
				goto out_unlock;
		}
		cmd->num_iovas++;
	}
	rc = ref_ucmd_respond(ucmd, sizeof(*cmd));
	if (!rc && cmd->num_iovas > max_iovas)
		rc = -EMSGSIZE;
out_unlock:
	pthread_mutex_unlock(&ioas->iopt.lock);
	ref_put_object(ucmd->ctx, &ioas->obj);
	return rc;
}

int ref_ioas_allow_iovas(struct ref_ucmd *ucmd)
{
	struct iommu_ioas_allow_iovas *cmd = ucmd->cmd;
	struct itree_root allowed = ITREE_ROOT_INIT;
	struct ref_ioas *ioas;
	int rc = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = ref_get_ioas(ucmd->ctx, cmd->ioas_id, &rc);
	if (!ioas)
		return rc;

	for (uint32_t i = 0; i != cmd->num_iovas; i++) {
		struct iommu_iova_range range;
		struct iopt_span *span;

		rc = ref_copy_from_user(&range, cmd->allowed_iovas + (uint64_t)i * sizeof(range),
					sizeof(range));
		if (rc)
			goto out_free;
		if (range.start >= range.last ||
		    itree_iter_first(&allowed, range.start, range.last)) {
			rc = -EINVAL;
			goto out_free;
		}
		span = ioasid_zalloc(sizeof(*span));
		if (!span) {
			rc = -ENOMEM;
			goto out_free;
		}
		span->node.start = range.start;
		span->node.last = range.last;
		itree_insert(&allowed, &span->node);
	}
	/* On success `allowed` comes back holding the previous ranges, freed below. */
	rc = iopt_set_allow_iova(&ioas->iopt, &allowed);
out_free:
	iopt_free_span_tree(&allowed);
	ref_put_object(ucmd->ctx, &ioas->obj);
	return rc;
}

/* IOMMU_CACHE always: there are no cache-maintenance ioctls, coherency is required at bind. */
static int conv_iommu_prot(uint32_t map_flags)
{
	int prot = MOCK_PROT_CACHE;

	if (map_flags & IOMMU_IOAS_MAP_WRITEABLE)
		prot |= MOCK_PROT_WRITE;
	if (map_flags & IOMMU_IOAS_MAP_READABLE)
		prot |= MOCK_PROT_READ;
	return prot;
}

/* The checks MAP, MAP_FILE and COPY share, in the kernel's order. */
static int check_map_flags(uint32_t flags)
{
	if (flags & ~MAP_FLAGS_KNOWN)
		return -EOPNOTSUPP;
	return 0;
}

static int check_map_perm(uint32_t flags)
{
	return (flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)) ? 0 : -EINVAL;
}

static unsigned int map_alloc_flags(uint32_t flags)
{
	return (flags & IOMMU_IOAS_MAP_FIXED_IOVA) ? 0 : IOPT_ALLOC_IOVA;
}

/* The checks MAP and MAP_FILE share after the flags, in the kernel's order: 0 or -errno. */
static int check_map_args(uint64_t iova, uint64_t length, uint32_t flags)
{
	if (iova >= UINT64_MAX || length >= UINT64_MAX)
		return -EOVERFLOW;
	return check_map_perm(flags);
}

/* Events say when the allocator chose the IOVA: only those must lie in the allowed ranges. */
static uint32_t auto_iova_flag(uint32_t map_flags)
{
	return map_flags & IOMMU_IOAS_MAP_FIXED_IOVA ? 0 : IOASID_EVF_AUTO_IOVA;
}

int ref_ioas_map(struct ref_ucmd *ucmd)
{
	struct iommu_ioas_map *cmd = ucmd->cmd;
	const uint64_t t0 = IOASID_PROBE_START(ioas_map);
	uint64_t iova = cmd->iova, pinned = 0;
	struct ref_ioas *ioas;
	int rc, map_rc;

	if (check_map_flags(cmd->flags) || cmd->__reserved)
		map_rc = rc = -EOPNOTSUPP;
	else
		map_rc = rc = check_map_args(cmd->iova, cmd->length, cmd->flags);
	if (rc)
		goto out;
	ioas = ref_get_ioas(ucmd->ctx, cmd->ioas_id, &rc);
	if (!ioas) {
		map_rc = rc;
		goto out;
	}
	map_rc = rc = iopt_map_user_pages(ucmd->ctx, &ioas->iopt, &iova, cmd->user_va,
					  cmd->length, conv_iommu_prot(cmd->flags),
					  map_alloc_flags(cmd->flags), &pinned);
	if (!rc) {
		cmd->iova = iova;
		rc = ref_ucmd_respond(ucmd, sizeof(*cmd));
	}
	ref_put_object(ucmd->ctx, &ioas->obj);
out:
	REF_IOAS_MAP_EVENT_F(ucmd->ctx, cmd->ioas_id, iova, cmd->length,
			     conv_iommu_prot(cmd->flags), pinned, map_rc, t0,
			     auto_iova_flag(cmd->flags));
	return rc;
}

int ref_ioas_map_file(struct ref_ucmd *ucmd)
{
	struct iommu_ioas_map_file *cmd = ucmd->cmd;
	const uint64_t t0 = IOASID_PROBE_START(ioas_map);
	uint64_t iova = cmd->iova, pinned = 0;
	struct ref_ioas *ioas;
	int rc, map_rc;

	map_rc = rc = check_map_flags(cmd->flags);
	if (!rc)
		map_rc = rc = check_map_args(cmd->iova, cmd->length, cmd->flags);
	if (rc)
		goto out;
	ioas = ref_get_ioas(ucmd->ctx, cmd->ioas_id, &rc);
	if (!ioas) {
		map_rc = rc;
		goto out;
	}
	map_rc = rc = iopt_map_file_pages(ucmd->ctx, &ioas->iopt, &iova, cmd->fd, cmd->start,
					  cmd->length, conv_iommu_prot(cmd->flags),
					  map_alloc_flags(cmd->flags), &pinned);
	if (!rc) {
		cmd->iova = iova;
		rc = ref_ucmd_respond(ucmd, sizeof(*cmd));
	}
	ref_put_object(ucmd->ctx, &ioas->obj);
out:
	REF_IOAS_MAP_EVENT_F(ucmd->ctx, cmd->ioas_id, iova, cmd->length,
			     conv_iommu_prot(cmd->flags), pinned, map_rc, t0,
			     auto_iova_flag(cmd->flags));
	return rc;
}

/* IOMMU_IOAS_COPY between the checks and the event: *copy_rc is the outcome of the copy. */
static int ioas_copy(struct ref_ucmd *ucmd, uint64_t *iova, int *copy_rc)
{
	struct iommu_ioas_copy *cmd = ucmd->cmd;
	struct iopt_pages_list list = { 0 };
	struct ref_ioas *src_ioas, *dst_ioas;
	int rc;

	rc = check_map_flags(cmd->flags);
	if (rc)
		goto out;
	if (cmd->length >= UINT64_MAX || cmd->src_iova >= UINT64_MAX ||
	    cmd->dst_iova >= UINT64_MAX) {
		rc = -EOVERFLOW;
		goto out;
	}
	rc = check_map_perm(cmd->flags);
	if (rc)
		goto out;

	src_ioas = ref_get_ioas(ucmd->ctx, cmd->src_ioas_id, &rc);
	if (!src_ioas)
		goto out;
	rc = iopt_get_pages(&src_ioas->iopt, cmd->src_iova, cmd->length, &list);
	ref_put_object(ucmd->ctx, &src_ioas->obj);
	if (rc)
		goto out;

	dst_ioas = ref_get_ioas(ucmd->ctx, cmd->dst_ioas_id, &rc);
	if (!dst_ioas) {
		*copy_rc = rc;          /* the event says refused, not done */
		goto out_pages;
	}
	rc = iopt_map_pages(&dst_ioas->iopt, &list, cmd->length, iova,
			    conv_iommu_prot(cmd->flags), map_alloc_flags(cmd->flags), NULL);
	*copy_rc = rc;
	if (!rc) {
		cmd->dst_iova = *iova;
		rc = ref_ucmd_respond(ucmd, sizeof(*cmd));
	}
	ref_put_object(ucmd->ctx, &dst_ioas->obj);
	goto out_pages;
out:
	*copy_rc = rc;
out_pages:
	iopt_free_pages_list(&list);
	return rc;
}

int ref_ioas_copy(struct ref_ucmd *ucmd)
{
	struct iommu_ioas_copy *cmd = ucmd->cmd;
	const uint64_t t0 = IOASID_PROBE_START(ioas_copy);
	uint64_t iova = cmd->dst_iova;
	int rc, copy_rc = 0;

	rc = ioas_copy(ucmd, &iova, &copy_rc);
	IOASID_PROBE(ioas_copy, .ctx = ucmd->ctx->cookie, .obj = cmd->dst_ioas_id,
		     .pt = cmd->src_ioas_id, .iova = iova, .length = cmd->length,
		     .value = cmd->src_iova, .aux = (uint32_t)conv_iommu_prot(cmd->flags),
		     .result = copy_rc,
		     .flags = (copy_rc ? IOASID_EVF_REFUSED : 0) | auto_iova_flag(cmd->flags),
		     .latency_ns = IOASID_PROBE_ELAPSED(t0));
	return rc;
}

int ref_ioas_unmap(struct ref_ucmd *ucmd)
{
	struct iommu_ioas_unmap *cmd = ucmd->cmd;
	const uint64_t t0 = IOASID_PROBE_START(ioas_unmap);
	const uint64_t iova = cmd->iova, length = cmd->length;
	uint64_t unmapped = 0;
	struct ref_ioas *ioas;
	int rc, unmap_rc;

	ioas = ref_get_ioas(ucmd->ctx, cmd->ioas_id, &rc);
	if (!ioas) {
		unmap_rc = rc;
		goto out;
	}
	if (cmd->iova == 0 && cmd->length == UINT64_MAX) {
		rc = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else if (cmd->iova >= UINT64_MAX || cmd->length >= UINT64_MAX) {
		rc = -EOVERFLOW;
	} else {
		rc = iopt_unmap_iova(&ioas->iopt, cmd->iova, cmd->length, &unmapped);
		/* iommufd_ioas_unmap(): a range with nothing mapped in it is ENOENT here (and only
		 * here: unmap-all and VFIO's UNMAP_DMA succeed with 0 bytes). */
		if (!rc && !unmapped)
			rc = -ENOENT;
	}
	unmap_rc = rc;
	if (!rc) {
		cmd->length = unmapped;
		rc = ref_ucmd_respond(ucmd, sizeof(*cmd));
	}
	ref_put_object(ucmd->ctx, &ioas->obj);
out:
	REF_IOAS_UNMAP_EVENT(ucmd->ctx, cmd->ioas_id, iova, length, unmapped, unmap_rc, t0);
	return rc;
}

static int option_rlimit_mode(struct iommu_option *cmd, struct ioasid_ctx *ctx)
{
	int rc = 0;

	if (cmd->object_id)
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = ctx->account_mode == REF_ACCOUNT_MM;
		return 0;
	}
	if (cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;
	if (!ref_capable(CAP_SYS_RESOURCE))
		return -EPERM;
	pthread_mutex_lock(&ctx->lock);
	if (ctx->nr_objects)
		rc = -EBUSY;
	else if (cmd->val64 == 0)
		ctx->account_mode = REF_ACCOUNT_USER;
	else if (cmd->val64 == 1)
		ctx->account_mode = REF_ACCOUNT_MM;
	else
		rc = -EINVAL;
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

static int option_huge_pages(struct iommu_option *cmd, struct ref_ioas *ioas)
{
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = !ioas->iopt.disable_large_pages;
		return 0;
	}
	if (cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;
	if (cmd->val64 == 0)
		return iopt_disable_large_pages(&ioas->iopt);
	if (cmd->val64 == 1) {
		iopt_enable_large_pages(&ioas->iopt);
		return 0;
	}
	return -EINVAL;
}

int ref_option(struct ref_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	struct ref_ioas *ioas;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->option_id) {
	case IOMMU_OPTION_RLIMIT_MODE:
		rc = option_rlimit_mode(cmd, ucmd->ctx);
		break;
	case IOMMU_OPTION_HUGE_PAGES:
		ioas = ref_get_ioas(ucmd->ctx, cmd->object_id, &rc);
		if (!ioas)
			return rc;
		rc = option_huge_pages(cmd, ioas);
		ref_put_object(ucmd->ctx, &ioas->obj);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (rc)
		return rc;
	/* Only val64 goes back, as in the kernel. */
	return ref_copy_to_user((uint64_t)(uintptr_t)ucmd->ubuffer +
					offsetof(struct iommu_option, val64),
				&cmd->val64, sizeof(cmd->val64));
}
