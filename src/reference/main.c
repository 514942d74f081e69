/* main.c — contexts, the object table and ioctl dispatch: the reference's iommufd main.c.
 *
 * One context per open of /dev/iommu. Objects live in a table indexed by ID (lowest free ID
 * first, never 0, as xa_alloc with XA_FLAGS_ALLOC1). The dispatch table is indexed by
 * _IOC_NR(cmd) - IOMMUFD_CMD_BASE and each entry names its struct and the struct's last original
 * member, which gives min_size: the table is the ABI's documentation.
 *
 * Extensible-struct rules (the kernel's copy_struct_from_user()):
 *   unknown nr / cmd mismatch → ENOTTY; bad pointer → EFAULT; size < min_size → EINVAL;
 *   size > struct with non-zero tail → E2BIG; shorter (>= min) is zero-extended;
 *   the reply copies min(user size, struct size).
 * Answers are 0 or -errno, except the values of VFIO_CHECK_EXTENSION and VFIO_GET_API_VERSION;
 * ref_ioctl_check_ret() turns any other positive answer into EIO (or an abort in strict builds).
 *
 * Events: CTX_OPEN / CTX_CLOSE (when the context is released, after its objects), OBJ_ALLOC when
 * an object is published (ref_object_finalize; an aborted object was never visible and raises
 * nothing), OBJ_DESTROY when one leaves the table destroyed, or is refused with EBUSY.
 *
 * Locking: ctx->lock guards the table and every object's `users`; handlers never hold it.
 */
#include "reference/ref_private.h"
#include "reference/device.h"
#include "common/inject.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <linux/vfio.h>

/* enum ref_obj_type is the order of the kernel's enum iommufd_object_type, as is the event
 * record's enum ioasid_obj_kind: the events carry the type as it is. */
_Static_assert((int)REF_OBJ_DEVICE == (int)IOASID_OBJK_DEVICE &&
	       (int)REF_OBJ_IOAS == (int)IOASID_OBJK_IOAS &&
	       (int)REF_OBJ_FAULT == (int)IOASID_OBJK_FAULT &&
	       (int)REF_OBJ_SELFTEST == (int)IOASID_OBJK_SELFTEST,
	       "object kinds of events follow enum ref_obj_type");

/* A reserved slot: the ID is taken but lookups fail with ENOENT until finalize. */
#define REF_OBJ_RESERVED ((struct ref_object *)1)

const struct ref_object_ops ref_object_ops[REF_OBJ_MAX] = {
	[REF_OBJ_IOAS] = { .name = "ioas", .destroy = ref_ioas_destroy },
	[REF_OBJ_ACCESS] = { .name = "access", .destroy = ref_access_destroy_obj },
	[REF_OBJ_DEVICE] = { .name = "device", .destroy = ref_device_destroy },
	[REF_OBJ_HWPT_PAGING] = { .name = "hwpt_paging", .destroy = ref_hwpt_paging_destroy },
	[REF_OBJ_HWPT_NESTED] = { .name = "hwpt_nested", .destroy = ref_hwpt_nested_destroy },
	[REF_OBJ_FAULT] = { .name = "fault", .destroy = ref_fault_destroy },
	[REF_OBJ_SELFTEST] = { .name = "selftest", .destroy = ref_selftest_destroy },
};

/* ---- object table ----------------------------------------------------------------------- */

static int table_reserve_id(struct ioasid_ctx *ctx, uint32_t *out)
{
	uint32_t id;

	for (id = MAX(ctx->free_hint, 1u); id < ctx->nr_slots; id++)
		if (!ctx->objs[id])
			goto found;
	if (id >= (1u << 31))
		return -ENOSPC;
	{
		uint32_t nr = ctx->nr_slots ? ctx->nr_slots * 2 : 16;
		struct ref_object **p = ioasid_realloc_array(ctx->objs, nr, sizeof(*p));

		if (!p)
			return -ENOMEM;
		memset(p + ctx->nr_slots, 0, (nr - ctx->nr_slots) * sizeof(*p));
		ctx->objs = p;
		ctx->nr_slots = nr;
	}
found:
	ctx->objs[id] = REF_OBJ_RESERVED;
	ctx->nr_objects++;
	ctx->free_hint = id + 1;
	*out = id;
	return 0;
}

static void table_release_id(struct ioasid_ctx *ctx, uint32_t id)
{
	ctx->objs[id] = NULL;
	ctx->nr_objects--;
	if (id < ctx->free_hint)
		ctx->free_hint = id;
}

struct ref_object *ref_object_alloc(struct ioasid_ctx *ctx, size_t size, enum ref_obj_type type)
{
	struct ref_object *obj;
	int rc;

	obj = ioasid_zalloc(size);
	if (!obj)
		return NULL;
	obj->type = type;
	obj->users = 1;
	pthread_mutex_lock(&ctx->lock);
	rc = table_reserve_id(ctx, &obj->id);
	pthread_mutex_unlock(&ctx->lock);
	if (rc) {
		ioasid_free(obj);
		return NULL;
	}
	return obj;
}

void ref_object_finalize(struct ioasid_ctx *ctx, struct ref_object *obj)
{
	pthread_mutex_lock(&ctx->lock);
	ctx->objs[obj->id] = obj;
	pthread_mutex_unlock(&ctx->lock);
	IOASID_PROBE(obj_alloc, .ctx = ctx->cookie, .obj = obj->id, .aux = obj->type);
}

void ref_object_abort(struct ioasid_ctx *ctx, struct ref_object *obj)
{
	pthread_mutex_lock(&ctx->lock);
	table_release_id(ctx, obj->id);
	pthread_mutex_unlock(&ctx->lock);
	ioasid_free(obj);
}

void ref_object_abort_and_destroy(struct ioasid_ctx *ctx, struct ref_object *obj)
{
	ref_object_ops[obj->type].destroy(obj);
	ref_object_abort(ctx, obj);
}

struct ref_object *ref_get_object(struct ioasid_ctx *ctx, uint32_t id, enum ref_obj_type type,
				  int *err)
{
	struct ref_object *obj = NULL;

	/* Lookups are fault-injection points, as iommufd_get_object() is in the kernel. */
	if (ioasid_should_fail()) {
		*err = -ENOENT;
		return NULL;
	}
	pthread_mutex_lock(&ctx->lock);
	if (id < ctx->nr_slots && ctx->objs[id] && ctx->objs[id] != REF_OBJ_RESERVED &&
	    (type == REF_OBJ_ANY || ctx->objs[id]->type == type)) {
		obj = ctx->objs[id];
		obj->users++;
	}
	pthread_mutex_unlock(&ctx->lock);
	if (!obj)
		*err = -ENOENT;
	return obj;
}

/* The last user of an orphaned object (bug "destroy-in-use") is gone: destroy and free it
 * (ctx->lock held on entry, dropped). Its OBJ_DESTROY was raised when it was unpublished. */
static void orphan_free_locked(struct ioasid_ctx *ctx, struct ref_object *obj)
{
	pthread_mutex_unlock(&ctx->lock);
	ref_object_ops[obj->type].destroy(obj);
	ioasid_free(obj);
}

void ref_put_object(struct ioasid_ctx *ctx, struct ref_object *obj)
{
	pthread_mutex_lock(&ctx->lock);
	if (--obj->users == 0 && obj->orphaned) {
		orphan_free_locked(ctx, obj);
		return;
	}
	pthread_mutex_unlock(&ctx->lock);
}

void ref_object_hold(struct ioasid_ctx *ctx, struct ref_object *obj)
{
	pthread_mutex_lock(&ctx->lock);
	obj->users++;
	pthread_mutex_unlock(&ctx->lock);
}

void ref_object_release(struct ioasid_ctx *ctx, struct ref_object *obj)
{
	ref_put_object(ctx, obj);
}

/* Take obj (users == 1, ctx->lock held) out of the table, drop the lock, destroy and free it. */
static void remove_and_destroy_locked(struct ioasid_ctx *ctx, struct ref_object *obj)
{
	obj->users = 0;
	table_release_id(ctx, obj->id);
	pthread_mutex_unlock(&ctx->lock);
	ref_object_ops[obj->type].destroy(obj);
	IOASID_PROBE(obj_destroy, .ctx = ctx->cookie, .obj = obj->id, .aux = obj->type);
	ioasid_free(obj);
}

/* Drop a long-term user; if only the table is left, remove and destroy the object (the
 * kernel's iommufd_object_put_and_try_destroy, used for automatic domains). */
void ref_object_put_and_try_destroy(struct ioasid_ctx *ctx, struct ref_object *obj)
{
	pthread_mutex_lock(&ctx->lock);
	if (--obj->users == 0 && obj->orphaned) {
		orphan_free_locked(ctx, obj);
		return;
	}
	if (obj->users != 1 || obj->orphaned || obj->id >= ctx->nr_slots ||
	    ctx->objs[obj->id] != obj) {
		pthread_mutex_unlock(&ctx->lock);
		return;
	}
	remove_and_destroy_locked(ctx, obj);
}

/* The in-kernel user of an object (a driver holding a device) destroys it: drop its reference
 * and remove the object once calls in flight have finished (iommufd_object_destroy_user). */
void ref_object_destroy_user(struct ioasid_ctx *ctx, struct ref_object *obj)
{
	pthread_mutex_lock(&ctx->lock);
	obj->users--;
	while (obj->users != 1) {
		pthread_mutex_unlock(&ctx->lock);
		sched_yield();
		pthread_mutex_lock(&ctx->lock);
	}
	remove_and_destroy_locked(ctx, obj);
}

/* Remove an idle object from the table and destroy it: ENOENT, or EBUSY while used. */
static int ref_object_remove(struct ioasid_ctx *ctx, uint32_t id)
{
	struct ref_object *obj;

	pthread_mutex_lock(&ctx->lock);
	if (id >= ctx->nr_slots || !ctx->objs[id] || ctx->objs[id] == REF_OBJ_RESERVED) {
		pthread_mutex_unlock(&ctx->lock);
		return -ENOENT;
	}
	obj = ctx->objs[id];
	if (obj->users != 1 &&
	    (obj->type == REF_OBJ_IOAS || obj->type == REF_OBJ_HWPT_PAGING ||
	     obj->type == REF_OBJ_HWPT_NESTED) &&
	    inject_on(INJECT_DESTROY_IN_USE)) {
		/* OWN-4 bug "destroy-in-use": unpublish an IOAS/HWPT that is still used (a HWPT
		 * over it, an attachment, a nested child) instead of EBUSY. The table's reference
		 * goes; the users keep the object alive and the last one frees it (ref_put_object,
		 * ref_object_put_and_try_destroy), so nothing leaks and nothing is freed early. */
		obj->orphaned = true;
		obj->users--;
		table_release_id(ctx, id);
		IOASID_PROBE(obj_destroy, .ctx = ctx->cookie, .obj = id, .aux = obj->type);
		pthread_mutex_unlock(&ctx->lock);
		return 0;
	}
	if (obj->users != 1) {
		/* under the lock: once it drops, obj may go */
		IOASID_PROBE(obj_destroy, .ctx = ctx->cookie, .obj = id, .aux = obj->type,
			     .result = -EBUSY, .flags = IOASID_EVF_REFUSED);
		pthread_mutex_unlock(&ctx->lock);
		return -EBUSY;
	}
	remove_and_destroy_locked(ctx, obj);
	return 0;
}

/* ---- contexts --------------------------------------------------------------------------- */

/* Every live context of the process. Consulted only by the "attach-foreign" bug (OWN-2), which
 * models a kernel whose object IDs were one global namespace. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ioasid_ctx *live_ctxs;

static void live_add(struct ioasid_ctx *ctx)
{
	pthread_mutex_lock(&live_lock);
	ctx->live_next = live_ctxs;
	live_ctxs = ctx;
	pthread_mutex_unlock(&live_lock);
}

static void live_del(struct ioasid_ctx *ctx)
{
	pthread_mutex_lock(&live_lock);
	for (struct ioasid_ctx **pp = &live_ctxs; *pp; pp = &(*pp)->live_next)
		if (*pp == ctx) {
			*pp = ctx->live_next;
			break;
		}
	pthread_mutex_unlock(&live_lock);
}

struct ref_object *ref_get_object_foreign(struct ioasid_ctx *ctx, uint32_t id,
					  struct ioasid_ctx **owner, int *err)
{
	struct ref_object *obj = NULL;

	pthread_mutex_lock(&live_lock);
	for (struct ioasid_ctx *c = live_ctxs; c && !obj; c = c->live_next) {
		if (c == ctx)
			continue;
		pthread_mutex_lock(&c->lock);
		if (id < c->nr_slots && c->objs[id] && c->objs[id] != REF_OBJ_RESERVED &&
		    (c->objs[id]->type == REF_OBJ_IOAS || c->objs[id]->type == REF_OBJ_HWPT_PAGING ||
		     c->objs[id]->type == REF_OBJ_HWPT_NESTED)) {
			obj = c->objs[id];
			obj->users++;
			*owner = c;
		}
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&live_lock);
	if (!obj)
		*err = -ENOENT;
	return obj;
}

static void ctx_arm_fail_nth_from_env(void)
{
	static int armed;
	const char *s;

	if (__atomic_exchange_n(&armed, 1, __ATOMIC_RELAXED))
		return;
	s = getenv("IOASID_FAIL_NTH");
	if (s && *s) {
		char *end;
		unsigned long n = strtoul(s, &end, 10);

		if (*end || n > UINT32_MAX)
			fprintf(stderr, "ioasid: IOASID_FAIL_NTH=%s is not a count: "
					"use a whole number N >= 1 (0 disarms)\n", s);
		else
			ioasid_fail_nth_set((unsigned int)n);
	}
}

int ioasid_ctx_open(struct ioasid_ctx **out)
{
	struct ioasid_ctx *ctx;

	ctx_arm_fail_nth_from_env();
	inject_init_from_env();
	ctx = ioasid_zalloc(sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	pthread_mutex_init(&ctx->lock, NULL);
	pthread_mutex_init(&ctx->hw_lock, NULL);
	ctx->account_mode = REF_ACCOUNT_USER;
	ctx->refs = 1;
	{
		static uint64_t next_cookie;

		ctx->cookie = __atomic_add_fetch(&next_cookie, 1, __ATOMIC_RELAXED);
	}
	live_add(ctx);
	IOASID_PROBE(ctx_open, .ctx = ctx->cookie);
	*out = ctx;
	return 0;
}

uint64_t ref_ctx_event_id(const struct ioasid_ctx *ctx)
{
	return ctx->cookie;
}

void ioasid_ctx_get(struct ioasid_ctx *ctx)
{
	__atomic_add_fetch(&ctx->refs, 1, __ATOMIC_RELAXED);
}

static void ctx_teardown(struct ioasid_ctx *ctx);

void ioasid_ctx_put(struct ioasid_ctx *ctx)
{
	if (__atomic_sub_fetch(&ctx->refs, 1, __ATOMIC_ACQ_REL) == 0)
		ctx_teardown(ctx);
}

/* The opener's close(): the context lives on while devices bound to it hold references. */
void ioasid_ctx_close(struct ioasid_ctx *ctx)
{
	if (ctx)
		ioasid_ctx_put(ctx);
}

static void ctx_teardown(struct ioasid_ctx *ctx)
{
	bool progress = true;

	live_del(ctx);
	ref_gpasid_release(ctx);
	ref_test_domains_release(ctx);
	ref_vfio_compat_release(ctx);
	ref_selftest_release(ctx);
	/* Destroy idle objects until none is left; users of one object release it as they go
	 * (the kernel's iommufd_fops_release loop). */
	while (ctx->nr_objects && progress) {
		progress = false;
		for (uint32_t id = 1; id < ctx->nr_slots; id++) {
			struct ref_object *obj = ctx->objs[id];

			if (obj && obj != REF_OBJ_RESERVED && obj->users == 1 &&
			    ref_object_remove(ctx, id) == 0)
				progress = true;
		}
	}
	if (ctx->nr_objects)
		fprintf(stderr, "ioasid: context closed with %u objects still in use "
				"(reference bug: please report)\n", ctx->nr_objects);
	IOASID_PROBE(ctx_close, .ctx = ctx->cookie, .value = ctx->nr_objects);
	ref_devs_release(ctx);
	ioasid_free(ctx->objs);
	pthread_mutex_destroy(&ctx->lock);
	pthread_mutex_destroy(&ctx->hw_lock);
	ioasid_free(ctx);
}

int ioasid_ctx_get_stats(struct ioasid_ctx *ctx, struct ioasid_ctx_stats *out)
{
	uint64_t pinned_all;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&ctx->lock);
	out->objects = ctx->nr_objects;
	pthread_mutex_unlock(&ctx->lock);
	out->pinned_pages = __atomic_load_n(&ctx->pinned_pages, __ATOMIC_RELAXED);
	ref_account_snapshot(&out->locked_user, &out->locked_mm, &pinned_all);
	return 0;
}

int64_t ioasid_live_allocations(void)
{
	return ioasid_alloc_live();
}

/* ---- ioctls ------------------------------------------------------------------------------ */

int ref_ucmd_respond(struct ref_ucmd *ucmd, size_t len)
{
	return ref_copy_to_user((uint64_t)(uintptr_t)ucmd->ubuffer, ucmd->cmd,
				MIN((size_t)ucmd->user_size, len));
}

static int ref_destroy(struct ref_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;

	return ref_object_remove(ucmd->ctx, cmd->id);
}

union ucmd_buffer {
	struct iommu_destroy destroy;
	struct iommu_ioas_alloc alloc;
	struct iommu_ioas_allow_iovas allow_iovas;
	struct iommu_ioas_copy ioas_copy;
	struct iommu_ioas_iova_ranges iova_ranges;
	struct iommu_ioas_map map;
	struct iommu_ioas_map_file map_file;
	struct iommu_ioas_unmap unmap;
	struct iommu_option option;
	struct iommu_vfio_ioas vfio_ioas;
	struct iommu_hwpt_alloc hwpt_alloc;
	struct iommu_hw_info hw_info;
	struct iommu_hwpt_set_dirty_tracking set_dirty;
	struct iommu_hwpt_get_dirty_bitmap get_dirty;
	struct iommu_hwpt_invalidate invalidate;
	struct iommu_fault_alloc fault_alloc;
};

struct ref_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int ioctl_num;
	int (*execute)(struct ref_ucmd *ucmd);
};

#define offsetofend(T, m) (offsetof(T, m) + sizeof(((T *)0)->m))
#define IOCTL_OP(_ioctl, _fn, _struct, _last)                                        \
	[_IOC_NR(_ioctl) - IOMMUFD_CMD_BASE] = {                                     \
		.size = sizeof(_struct) +                                            \
			0 * sizeof(char[sizeof(_struct) <= sizeof(union ucmd_buffer) ? 1 : -1]), \
		.min_size = offsetofend(_struct, _last),                             \
		.ioctl_num = _ioctl,                                                 \
		.execute = _fn,                                                      \
	}

static const struct ref_ioctl_op ref_ioctl_ops[] = {
	IOCTL_OP(IOMMU_DESTROY, ref_destroy, struct iommu_destroy, id),
	IOCTL_OP(IOMMU_IOAS_ALLOC, ref_ioas_alloc_ioctl, struct iommu_ioas_alloc, out_ioas_id),
	IOCTL_OP(IOMMU_IOAS_ALLOW_IOVAS, ref_ioas_allow_iovas, struct iommu_ioas_allow_iovas,
		 allowed_iovas),
	IOCTL_OP(IOMMU_IOAS_COPY, ref_ioas_copy, struct iommu_ioas_copy, src_iova),
	IOCTL_OP(IOMMU_IOAS_IOVA_RANGES, ref_ioas_iova_ranges, struct iommu_ioas_iova_ranges,
		 out_iova_alignment),
	IOCTL_OP(IOMMU_IOAS_MAP, ref_ioas_map, struct iommu_ioas_map, iova),
	IOCTL_OP(IOMMU_IOAS_UNMAP, ref_ioas_unmap, struct iommu_ioas_unmap, length),
	IOCTL_OP(IOMMU_OPTION, ref_option, struct iommu_option, val64),
	IOCTL_OP(IOMMU_IOAS_MAP_FILE, ref_ioas_map_file, struct iommu_ioas_map_file, iova),
	IOCTL_OP(IOMMU_VFIO_IOAS, ref_vfio_ioas, struct iommu_vfio_ioas, __reserved),
	IOCTL_OP(IOMMU_HWPT_ALLOC, ref_hwpt_alloc, struct iommu_hwpt_alloc, __reserved),
	IOCTL_OP(IOMMU_GET_HW_INFO, ref_get_hw_info, struct iommu_hw_info, __reserved),
	IOCTL_OP(IOMMU_HWPT_SET_DIRTY_TRACKING, ref_hwpt_set_dirty_tracking,
		 struct iommu_hwpt_set_dirty_tracking, __reserved),
	IOCTL_OP(IOMMU_HWPT_GET_DIRTY_BITMAP, ref_hwpt_get_dirty_bitmap,
		 struct iommu_hwpt_get_dirty_bitmap, data),
	IOCTL_OP(IOMMU_HWPT_INVALIDATE, ref_hwpt_invalidate, struct iommu_hwpt_invalidate,
		 __reserved),
	IOCTL_OP(IOMMU_FAULT_QUEUE_ALLOC, ref_fault_alloc, struct iommu_fault_alloc,
		 out_fault_fd),
};

int ref_ucmd_init(struct ref_ucmd *ucmd, struct ioasid_ctx *ctx, void *arg, void *buf,
		  size_t struct_size, size_t min_size)
{
	uint64_t uptr = (uint64_t)(uintptr_t)arg;
	uint32_t user_size;
	bool whole;
	int rc;

	/* The common case in one copy (each costs a system call here, ~1.3 µs): the whole
	 * struct, of which only the user_size bytes the kernel would have read are kept. When
	 * the bytes past the caller's struct are not readable, the kernel's own order: the size
	 * first, then that many bytes. */
	whole = !ref_copy_from_user(buf, uptr, struct_size);
	if (whole)
		memcpy(&user_size, buf, sizeof(user_size));
	else if ((rc = ref_copy_from_user(&user_size, uptr, sizeof(user_size))))
		return rc;
	if (user_size < min_size)
		return -EINVAL;
	if (user_size > struct_size) {
		rc = ref_check_zeroed_user(uptr + struct_size, user_size - struct_size);
		if (rc)
			return rc;
	}
	if (!whole) {
		memset(buf, 0, struct_size);    /* the failed whole copy may have filled part */
		rc = ref_copy_from_user(buf, uptr, MIN((size_t)user_size, struct_size));
		if (rc)
			return rc;
	} else if (user_size < struct_size) {
		memset((char *)buf + user_size, 0, struct_size - user_size);
	}
	*ucmd = (struct ref_ucmd){ .ctx = ctx, .ubuffer = arg, .user_size = user_size, .cmd = buf };
	return 0;
}

/* A handler's positive answer that is not a value of its command never reaches the caller as
 * one: the shim would hand it to the program as the ioctl's result (MD_CHECK_IOTLB once leaked
 * an uninitialised rc, 32764). Strict builds stop on it, so that the tests and the fuzzer name
 * the bug where it happens. Others answer EIO: a failure the caller cannot fix and no errno a
 * handler uses for a uAPI rule (MD_CHECK_REFS aside, a test-only op), and never a false success
 * that would let a program believe a map, unmap or attach took place. */
int ref_ioctl_check_ret(unsigned long cmd, int rc)
{
	if (likely(rc <= 0) || cmd == VFIO_CHECK_EXTENSION || cmd == VFIO_GET_API_VERSION)
		return rc;
	ref_set_error("internal error: the handler of ioctl 0x%lx answered %d, neither 0 nor a "
		      "negative errno; the call fails with EIO (a reference bug, please report it)",
		      cmd, rc);
	if (REF_STRICT_RETURNS)
		abort();
	return -EIO;
}

static int ctx_ioctl(struct ioasid_ctx *ctx, unsigned long cmd, void *arg)
{
	const struct ref_ioctl_op *op;
	union ucmd_buffer buf;
	struct ref_ucmd ucmd;
	unsigned int nr = _IOC_NR(cmd);
	int rc;

	if (cmd == IOMMU_TEST_CMD)
		return ref_selftest_ioctl(ctx, arg);
	if (_IOC_TYPE(cmd) == IOMMUFD_TYPE && nr >= VFIO_BASE && nr < IOMMUFD_CMD_BASE)
		return ref_vfio_compat_ioctl(ctx, cmd, arg); /* the VFIO type1 compat range */
	if (nr < IOMMUFD_CMD_BASE || nr - IOMMUFD_CMD_BASE >= ARRAY_SIZE(ref_ioctl_ops))
		return -ENOTTY;
	op = &ref_ioctl_ops[nr - IOMMUFD_CMD_BASE];
	if (!op->execute || op->ioctl_num != cmd)
		return -ENOTTY;
	rc = ref_ucmd_init(&ucmd, ctx, arg, &buf, op->size, op->min_size);
	if (rc)
		return rc;
	return op->execute(&ucmd);
}

int ioasid_ctx_ioctl(struct ioasid_ctx *ctx, unsigned long cmd, void *arg)
{
	return ref_ioctl_check_ret(cmd, ctx_ioctl(ctx, cmd, arg));
}
