// SPDX-License-Identifier: GPL-2.0
/* ioasid_kernel.bpf.c — events from a running kernel: the iommu:* tracepoints, and fentry/fexit
 * on iommufd, VFIO, the IOMMU core and the IOMMU drivers' IOTLB callbacks.
 *
 * Every program is autoload-off ("?" sections); src/trace/kernel_backend.c switches on those
 * this kernel can run (a tracepoint that exists, a function in vmlinux or module BTF, fentry
 * not refused) and records why the others stay off.
 *
 * Tracepoints come twice: as tp_btf (typed, cheapest) and as raw_tp (the fallback when the
 * kernel has no BTF for tp_btf). Both call the same __always_inline handler with plain scalars,
 * and the handler reads every pointer with bpf_probe_read_kernel() (compat header): a NULL or
 * bogus device pointer gives an event with name "" and IOASID_EVF_BAD_DEV, never a fault. That
 * is also what makes the raw_tp handlers unit-testable with BPF_PROG_TEST_RUN and made-up
 * arguments (tests/test_bpf_kernel.c).
 *
 * fentry/fexit programs read their arguments with bpf_get_func_arg()/bpf_get_func_arg_cnt()
 * rather than typed BPF_PROG() parameters, so one program fits every signature a function has
 * had (iommufd_device_attach() gained `pasid` in 6.15, iommufd_hwpt_paging_alloc() too); the
 * argument count tells which one this kernel has.
 *
 * State across a call: `entries`, an LRU hash keyed by (thread, function), holds the entry
 * timestamp (IOAS map/unmap latency), the requested page-table ID of an attach (the kernel
 * overwrites *pt_id on success) and, for a VFIO cdev bind, whether iommufd_device_bind()
 * already reported it (so one bind gives one DEV_BIND). LRU: an fentry whose fexit never ran
 * (detached in between) cannot leak an entry forever.
 *
 * Duplicates are the loader's business: an outer driver callback (intel_iommu_tlb_sync) and the
 * helper it calls (cache_tag_flush_range) would report one flush twice, so the loader attaches
 * the helper and leaves the callback as the fallback for kernels where the helper is missing.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "ioasid_emit.bpf.h"
#include "ioasid_kernel_compat.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define IOASID_PASID_ALL 0xffffffffu
#define IOASID_LENGTH_ALL (~0ULL)

/* ---- state across a call ------------------------------------------------------------------- */
enum ioasid_kfn {
	IOASID_KFN_DEV_ATTACH = 1,
	IOASID_KFN_DEV_REPLACE = 2,
	IOASID_KFN_IOPT_MAP = 3,
	IOASID_KFN_IOPT_UNMAP = 4,
	IOASID_KFN_VFIO_BIND = 5,
};

struct ioasid_entry_key {
	__u32 tid;
	__u32 fn;           /* enum ioasid_kfn */
};

struct ioasid_entry_val {
	__u64 ts_ns;
	__u64 saved;        /* per function: requested pt ID */
	__u32 reported;     /* VFIO bind: iommufd_device_bind() emitted the event */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ioasid_entry_key);
	__type(value, struct ioasid_entry_val);
} entries SEC(".maps");

static __always_inline void entry_save(__u32 fn, __u64 saved)
{
	struct ioasid_entry_key key = { .tid = (__u32)bpf_get_current_pid_tgid(), .fn = fn };
	struct ioasid_entry_val val = { .ts_ns = bpf_ktime_get_ns(), .saved = saved };

	bpf_map_update_elem(&entries, &key, &val, BPF_ANY);
}

/* Remove this thread's entry for fn into *out; false if there was none. */
static __always_inline bool entry_take(__u32 fn, struct ioasid_entry_val *out)
{
	struct ioasid_entry_key key = { .tid = (__u32)bpf_get_current_pid_tgid(), .fn = fn };
	struct ioasid_entry_val *v = bpf_map_lookup_elem(&entries, &key);

	if (!v)
		return false;
	*out = *v;
	bpf_map_delete_elem(&entries, &key);
	return true;
}

static __always_inline __u64 entry_latency(const struct ioasid_entry_val *v, bool found)
{
	__u64 now = bpf_ktime_get_ns();

	return found && v->ts_ns && now > v->ts_ns ? now - v->ts_ns : 0;
}

/* ---- emitting ------------------------------------------------------------------------------ */

/* A zeroed record of `type` to fill, or NULL (process filtered out). */
static __always_inline struct ioasid_event *kevent_begin(__u16 type, __u64 *reserved)
{
	struct ioasid_event *e;

	*reserved = 0;
	if (!ioasid_tgid_wanted())
		return NULL;
	e = ioasid_event_begin(reserved);
	if (!e)
		return NULL;
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	return e;
}

/* name and group of a device; an unreadable device flags the event instead. */
static __always_inline void kevent_dev(struct ioasid_event *e, __u64 dev)
{
	if (ioasid_read_dev_name((const struct device *)dev, e->name)) {
		e->flags |= IOASID_EVF_BAD_DEV;
		ioasid_stat_inc(IOASID_STAT_READ_ERR);
		return;
	}
	e->group = ioasid_dev_group_id((const struct device *)dev);
}

static __always_inline void kevent_result(struct ioasid_event *e, long result)
{
	e->flags |= IOASID_EVF_EXIT;
	e->result = (__s32)result;
	if (result < 0)
		e->flags |= IOASID_EVF_REFUSED;
}

/* ---- tracepoint handlers (tp_btf and raw_tp share them) ----------------------------------- */

static __always_inline int handle_map(__u64 iova, __u64 paddr, __u64 size)
{
	struct ioasid_event *e;
	__u64 reserved;

	e = kevent_begin(IOASID_EV_DOMAIN_MAP, &reserved);
	if (!e)
		return 0;
	e->iova = iova;
	e->length = size;
	e->value = paddr;
	ioasid_event_end(e, reserved, IOASID_SRC_KERNEL_TP);
	return 0;
}

static __always_inline int handle_unmap(__u64 iova, __u64 size, __u64 unmapped)
{
	struct ioasid_event *e;
	__u64 reserved;

	e = kevent_begin(IOASID_EV_DOMAIN_UNMAP, &reserved);
	if (!e)
		return 0;
	e->iova = iova;
	e->length = size;
	e->value = unmapped;
	ioasid_event_end(e, reserved, IOASID_SRC_KERNEL_TP);
	return 0;
}

/* attach_device_to_domain (DEV_ATTACH) and the pre-6.3 detach_device_from_domain. */
static __always_inline int handle_dev(__u16 type, __u64 dev)
{
	struct ioasid_event *e;
	__u64 reserved;

	e = kevent_begin(type, &reserved);
	if (!e)
		return 0;
	kevent_dev(e, dev);
	ioasid_event_end(e, reserved, IOASID_SRC_KERNEL_TP);
	return 0;
}

static __always_inline int handle_group_dev(__u16 type, __u64 group_id, __u64 dev)
{
	struct ioasid_event *e;
	__u64 reserved;

	e = kevent_begin(type, &reserved);
	if (!e)
		return 0;
	kevent_dev(e, dev);
	e->group = (__u32)group_id;   /* the tracepoint's, not the device's (it may be leaving) */
	ioasid_event_end(e, reserved, IOASID_SRC_KERNEL_TP);
	return 0;
}

/* aux = the tracepoint's flags (IOMMU_FAULT_READ 0 / IOMMU_FAULT_WRITE 1). */
static __always_inline int handle_io_page_fault(__u64 dev, __u64 iova, __u64 flags)
{
	struct ioasid_event *e;
	__u64 reserved;

	e = kevent_begin(IOASID_EV_FAULT, &reserved);
	if (!e)
		return 0;
	kevent_dev(e, dev);
	e->iova = iova;
	e->aux = (__u32)flags;
	ioasid_event_end(e, reserved, IOASID_SRC_KERNEL_TP);
	return 0;
}

/* One IOTLB invalidation. [start, end] inclusive; end < start means "everything". */
static __always_inline int emit_iotlb_inv(__u8 source, __u32 reason, __u32 domain, __u32 pasid,
					  __u64 iova, __u64 length)
{
	struct ioasid_event *e;
	__u64 reserved;

	e = kevent_begin(IOASID_EV_IOTLB_INV, &reserved);
	if (!e)
		return 0;
	e->aux = reason;
	e->domain = domain;
	e->pasid = pasid;
	e->iova = iova;
	e->length = length;
	ioasid_event_end(e, reserved, source);
	return 0;
}

static __always_inline __u64 range_length(__u64 start, __u64 end)
{
	if (end < start || (start == 0 && end == IOASID_LENGTH_ALL))
		return IOASID_LENGTH_ALL;
	return end - start + 1;
}

/* intel_iommu:cache_tag_flush_range(tag, start, end, addr, pages, mask): one per IOMMU. */
static __always_inline int handle_cache_tag_flush_range(__u64 tag, __u64 start, __u64 end)
{
	__u32 domain, pasid;

	ioasid_cache_tag(tag, &domain, &pasid);
	return emit_iotlb_inv(IOASID_SRC_KERNEL_TP, IOASID_INV_UNMAP, domain, pasid, start,
			      range_length(start, end));
}

static __always_inline int handle_cache_tag_flush_all(__u64 tag)
{
	__u32 domain, pasid;

	ioasid_cache_tag(tag, &domain, &pasid);
	return emit_iotlb_inv(IOASID_SRC_KERNEL_TP, IOASID_INV_FLUSH_ALL, domain, pasid, 0,
			      IOASID_LENGTH_ALL);
}

/* ---- tracepoints: a tp_btf program and its raw_tp fallback, one body ---------------------- */

/* TP_TWINS(name, tracepoint, handler call, args...): ioasid_tp_<name> on tp_btf/<tracepoint>
 * and ioasid_raw_<name> on raw_tp/<tracepoint>; the loader attaches one of the two. */
#define TP_TWINS(name, tp, call, ...)                                                          \
	SEC("?tp_btf/" tp)                                                                     \
	int BPF_PROG(ioasid_tp_##name, __VA_ARGS__) { return call; }                          \
	SEC("?raw_tp/" tp)                                                                     \
	int BPF_PROG(ioasid_raw_##name, __VA_ARGS__) { return call; }

TP_TWINS(map, "map", handle_map(iova, paddr, size), __u64 iova, __u64 paddr, __u64 size)
TP_TWINS(unmap, "unmap", handle_unmap(iova, size, unmapped), __u64 iova, __u64 size,
	 __u64 unmapped)
TP_TWINS(attach_dev, "attach_device_to_domain", handle_dev(IOASID_EV_DEV_ATTACH, dev), __u64 dev)
TP_TWINS(detach_dev, "detach_device_from_domain", handle_dev(IOASID_EV_DEV_DETACH, dev), __u64 dev)
TP_TWINS(group_add, "add_device_to_group",
	 handle_group_dev(IOASID_EV_GROUP_ADD_DEV, group_id, dev), __u64 group_id, __u64 dev)
TP_TWINS(group_del, "remove_device_from_group",
	 handle_group_dev(IOASID_EV_GROUP_DEL_DEV, group_id, dev), __u64 group_id, __u64 dev)
TP_TWINS(io_fault, "io_page_fault", handle_io_page_fault(dev, iova, flags), __u64 dev,
	 __u64 iova, __u64 flags)
TP_TWINS(ct_flush, "cache_tag_flush_range", handle_cache_tag_flush_range(tag, start, end),
	 __u64 tag, __u64 start, __u64 end)
TP_TWINS(ct_flush_all, "cache_tag_flush_all", handle_cache_tag_flush_all(tag), __u64 tag)

/* ---- fentry/fexit: arguments by index ------------------------------------------------------- */

static __always_inline __u64 fn_arg(void *ctx, __u32 n)
{
	__u64 v = 0;

	bpf_get_func_arg(ctx, n, &v);
	return v;
}

static __always_inline __u64 fn_ret(void *ctx)
{
	__u64 v = 0;

	bpf_get_func_ret(ctx, &v);
	return v;
}

/* ---- iommufd devices ------------------------------------------------------------------------ */

/* struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *, struct device *, u32 *id) */
SEC("?fexit/iommufd_device_bind")
int ioasid_fexit_dev_bind(void *ctx)
{
	struct ioasid_entry_key key = { .tid = (__u32)bpf_get_current_pid_tgid(),
					.fn = IOASID_KFN_VFIO_BIND };
	struct ioasid_entry_val *vfio;
	__u64 ret = fn_ret(ctx);
	struct ioasid_event *e;
	__u64 reserved;

	vfio = bpf_map_lookup_elem(&entries, &key);
	if (vfio)
		vfio->reported = 1;
	e = kevent_begin(IOASID_EV_DEV_BIND, &reserved);
	if (!e)
		return 0;
	e->ctx = fn_arg(ctx, 0);
	kevent_dev(e, fn_arg(ctx, 1));
	kevent_result(e, IOASID_IS_ERR_VALUE(ret) ? (long)ret : 0);
	if (!IOASID_IS_ERR_VALUE(ret))
		e->obj = ioasid_read_u32(fn_arg(ctx, 2));
	ioasid_event_end(e, reserved, IOASID_SRC_KERNEL_FN);
	return 0;
}

/* void iommufd_device_unbind(struct iommufd_device *idev) */
SEC("?fentry/iommufd_device_unbind")
int ioasid_fentry_dev_unbind(void *ctx)
{
	const struct iommufd_device___ioasid *idev = (const void *)fn_arg(ctx, 0);
	struct ioasid_event *e;
	__u64 reserved;

	e = kevent_begin(IOASID_EV_DEV_UNBIND, &reserved);
	if (!e)
		return 0;
	e->ctx = ioasid_idev_ictx(idev);
	e->obj = ioasid_idev_id(idev);
	kevent_dev(e, (__u64)ioasid_idev_dev(idev));
	e->group = ioasid_idev_group_id(idev);
	ioasid_event_end(e, reserved, IOASID_SRC_KERNEL_FN);
	return 0;
}

/* The pt_id argument of attach/replace: (idev, pasid, u32 *pt_id) since 6.15, else (idev,
 * u32 *pt_id). */
static __always_inline __u64 dev_attach_pt_ptr(void *ctx, __u32 *pasid)
{
	if (bpf_get_func_arg_cnt(ctx) >= 3) {
		*pasid = (__u32)fn_arg(ctx, 1);
		return fn_arg(ctx, 2);
	}
	*pasid = 0;
	return fn_arg(ctx, 1);
}

static __always_inline int dev_attach_entry(void *ctx, __u32 fn)
{
	__u32 pasid;

	entry_save(fn, ioasid_read_u32(dev_attach_pt_ptr(ctx, &pasid)));
	return 0;
}

/* pt = *pt_id at exit (the HWPT actually attached, e.g. the automatic one for an IOAS);
 * value = *pt_id at entry (what was asked for), when the fentry half ran. */
static __always_inline int dev_attach_exit(void *ctx, __u16 type, __u32 fn)
{
	const struct iommufd_device___ioasid *idev = (const void *)fn_arg(ctx, 0);
	struct ioasid_entry_val ent = {};
	bool found = entry_take(fn, &ent);
	struct ioasid_event *e;
	__u64 pt_ptr;
	__u32 pasid;
	__u64 reserved;

	pt_ptr = dev_attach_pt_ptr(ctx, &pasid);
	e = kevent_begin(type, &reserved);
	if (!e)
		return 0;
	e->ctx = ioasid_idev_ictx(idev);
	e->obj = ioasid_idev_id(idev);
	kevent_dev(e, (__u64)ioasid_idev_dev(idev));
	e->group = ioasid_idev_group_id(idev);
	e->pasid = pasid;
	e->pt = ioasid_read_u32(pt_ptr);
	e->value = found ? ent.saved : 0;
	e->latency_ns = entry_latency(&ent, found);
	kevent_result(e, (int)fn_ret(ctx));
	ioasid_event_end(e, reserved, IOASID_SRC_KERNEL_FN);
	return 0;
}

SEC("?fentry/iommufd_device_attach")
int ioasid_fentry_dev_attach(void *ctx)
{
	return dev_attach_entry(ctx, IOASID_KFN_DEV_ATTACH);
}

SEC("?fexit/iommufd_device_attach")
int ioasid_fexit_dev_attach(void *ctx)
{
	return dev_attach_exit(ctx, IOASID_EV_DEV_ATTACH, IOASID_KFN_DEV_ATTACH);
}

SEC("?fentry/iommufd_device_replace")
int ioasid_fentry_dev_replace(void *ctx)
{
	return dev_attach_entry(ctx, IOASID_KFN_DEV_REPLACE);
}

SEC("?fexit/iommufd_device_replace")
int ioasid_fexit_dev_replace(void *ctx)
{
	return dev_attach_exit(ctx, IOASID_EV_DEV_REPLACE, IOASID_KFN_DEV_REPLACE);
}

/* void iommufd_device_detach(struct iommufd_device *idev, ioasid_t pasid) (pasid: 6.15+) */
SEC("?fentry/iommufd_device_detach")
int ioasid_fentry_dev_detach(void *ctx)
{
	const struct iommufd_device___ioasid *idev = (const void *)fn_arg(ctx, 0);
	struct ioasid_event *e;
	__u64 reserved;

	e = kevent_begin(IOASID_EV_DEV_DETACH, &reserved);
	if (!e)
		return 0;
	e->ctx = ioasid_idev_ictx(idev);
	e->obj = ioasid_idev_id(idev);
	kevent_dev(e, (__u64)ioasid_idev_dev(idev));
	e->group = ioasid_idev_group_id(idev);
	e->pasid = bpf_get_func_arg_cnt(ctx) >= 2 ? (__u32)fn_arg(ctx, 1) : 0;
	ioasid_event_end(e, reserved, IOASID_SRC_KERNEL_FN);
	return 0;
}

/* ---- DMA ownership (iommu core) -------------------------------------------------------------- */

/* int iommu_device_claim_dma_owner(struct device *dev, void *owner). iommufd passes its
 * iommufd_ctx as the owner, so ctx = owner; value = the group's owner count afterwards (1: this
 * call claimed the group, more: another device of an already claimed group). */
SEC("?fexit/iommu_device_claim_dma_owner")
int ioasid_fexit_dma_claim(void *ctx)
{
	__u64 dev = fn_arg(ctx, 0), owner, cnt;
	struct ioasid_event *e;
	__u64 reserved;

	e = kevent_begin(IOASID_EV_GROUP_CLAIM, &reserved);
	if (!e)
		return 0;
	kevent_dev(e, dev);
	ioasid_dev_group_owner((const struct device *)dev, &owner, &cnt);
	e->ctx = fn_arg(ctx, 1);
	e->value = cnt;
	kevent_result(e, (int)fn_ret(ctx));
	ioasid_event_end(e, reserved, IOASID_SRC_KERNEL_FN);
	return 0;
}

/* void iommu_device_release_dma_owner(struct device *dev): ctx = the owner being released. */
SEC("?fentry/iommu_device_release_dma_owner")
int ioasid_fentry_dma_release(void *ctx)
{
	__u64 dev = fn_arg(ctx, 0), owner, cnt;
	struct ioasid_event *e;
	__u64 reserved;

	e = kevent_begin(IOASID_EV_GROUP_RELEASE, &reserved);
	if (!e)
		return 0;
	kevent_dev(e, dev);
	ioasid_dev_group_owner((const struct device *)dev, &owner, &cnt);
	e->ctx = owner;
	e->value = cnt;
	ioasid_event_end(e, reserved, IOASID_SRC_KERNEL_FN);
	return 0;
}

/* ---- PASID attach (iommu core) ------------------------------------------------------------- */

/* int iommu_attach_device_pasid(struct iommu_domain *, struct device *, ioasid_t pasid
 *                               [, struct iommu_attach_handle * (6.11+)]) */
SEC("?fexit/iommu_attach_device_pasid")
int ioasid_fexit_pasid_attach(void *ctx)
{
	struct ioasid_event *e;
	__u64 reserved;

	e = kevent_begin(IOASID_EV_DEV_ATTACH, &reserved);
	if (!e)
		return 0;
	kevent_dev(e, fn_arg(ctx, 1));
	e->pasid = (__u32)fn_arg(ctx, 2);
	kevent_result(e, (int)fn_ret(ctx));
	ioasid_event_end(e, reserved, IOASID_SRC_KERNEL_FN);
	return 0;
}

/* void iommu_detach_device_pasid(struct iommu_domain *, struct device *, ioasid_t pasid) */
SEC("?fentry/iommu_detach_device_pasid")
int ioasid_fentry_pasid_detach(void *ctx)
{
	struct ioasid_event *e;
	__u64 reserved;

	e = kevent_begin(IOASID_EV_DEV_DETACH, &reserved);
	if (!e)
		return 0;
	kevent_dev(e, fn_arg(ctx, 1));
	e->pasid = (__u32)fn_arg(ctx, 2);
	ioasid_event_end(e, reserved, IOASID_SRC_KERNEL_FN);
	return 0;
}

/* ---- IOAS map / unmap (io_pagetable.c) ------------------------------------------------------ */

SEC("?fentry/iopt_map_user_pages")
int ioasid_fentry_iopt_map(void *ctx)
{
	entry_save(IOASID_KFN_IOPT_MAP, 0);
	return 0;
}

/* int iopt_map_user_pages(struct iommufd_ctx *, struct io_pagetable *, unsigned long *iova,
 *                         void __user *uptr, unsigned long length, int iommu_prot,
 *                         unsigned int flags); *iova is the IOVA chosen (or fixed). */
SEC("?fexit/iopt_map_user_pages")
int ioasid_fexit_iopt_map(void *ctx)
{
	struct ioasid_entry_val ent = {};
	bool found = entry_take(IOASID_KFN_IOPT_MAP, &ent);
	struct ioasid_event *e;
	__u64 reserved;

	e = kevent_begin(IOASID_EV_IOAS_MAP, &reserved);
	if (!e)
		return 0;
	e->ctx = fn_arg(ctx, 0);
	e->obj = ioasid_iopt_ioas_id(fn_arg(ctx, 1));
	e->iova = ioasid_read_ulong(fn_arg(ctx, 2));
	e->length = fn_arg(ctx, 4);
	e->aux = (__u32)fn_arg(ctx, 5);
	e->latency_ns = entry_latency(&ent, found);
	kevent_result(e, (int)fn_ret(ctx));
	ioasid_event_end(e, reserved, IOASID_SRC_KERNEL_FN);
	return 0;
}

SEC("?fentry/iopt_unmap_iova")
int ioasid_fentry_iopt_unmap(void *ctx)
{
	entry_save(IOASID_KFN_IOPT_UNMAP, 0);
	return 0;
}

/* int iopt_unmap_iova(struct io_pagetable *, unsigned long iova, unsigned long length,
 *                     unsigned long *unmapped). The io_pagetable does not know its context:
 * ctx is 0 here. */
SEC("?fexit/iopt_unmap_iova")
int ioasid_fexit_iopt_unmap(void *ctx)
{
	struct ioasid_entry_val ent = {};
	bool found = entry_take(IOASID_KFN_IOPT_UNMAP, &ent);
	struct ioasid_event *e;
	__u64 reserved;

	e = kevent_begin(IOASID_EV_IOAS_UNMAP, &reserved);
	if (!e)
		return 0;
	e->obj = ioasid_iopt_ioas_id(fn_arg(ctx, 0));
	e->iova = fn_arg(ctx, 1);
	e->length = fn_arg(ctx, 2);
	e->value = ioasid_read_ulong(fn_arg(ctx, 3));
	e->latency_ns = entry_latency(&ent, found);
	kevent_result(e, (int)fn_ret(ctx));
	ioasid_event_end(e, reserved, IOASID_SRC_KERNEL_FN);
	return 0;
}

/* ---- HWPT allocation ------------------------------------------------------------------------ */

/* struct iommufd_hwpt_paging *iommufd_hwpt_paging_alloc(struct iommufd_ctx *, struct
 *     iommufd_ioas *, struct iommufd_device *, [ioasid_t pasid (6.13+),] u32 flags,
 *     bool immediate_attach, const struct iommu_user_data *). immediate_attach is set only for
 * the automatic HWPT of an IOAS attach (IOASID_EVF_AUTO). */
SEC("?fexit/iommufd_hwpt_paging_alloc")
int ioasid_fexit_hwpt_alloc(void *ctx)
{
	__u32 base = bpf_get_func_arg_cnt(ctx) >= 7 ? 4 : 3;
	__u64 ret = fn_ret(ctx);
	__u32 flags = (__u32)fn_arg(ctx, base);
	struct ioasid_event *e;
	__u64 reserved;

	e = kevent_begin(IOASID_EV_HWPT_ALLOC, &reserved);
	if (!e)
		return 0;
	e->ctx = fn_arg(ctx, 0);
	e->pt = ioasid_ioas_id(fn_arg(ctx, 1));
	if (flags & IOASID_HWPT_ALLOC_NEST_PARENT)
		e->flags |= IOASID_EVF_PARENT;
	if (flags & IOASID_HWPT_ALLOC_DIRTY_TRACKING)
		e->flags |= IOASID_EVF_DIRTY;
	if (flags & IOASID_HWPT_ALLOC_PASID)
		e->flags |= IOASID_EVF_PASID;
	if ((__u8)fn_arg(ctx, base + 1))
		e->flags |= IOASID_EVF_AUTO;
	kevent_result(e, IOASID_IS_ERR_VALUE(ret) ? (long)ret : 0);
	if (!IOASID_IS_ERR_VALUE(ret))
		e->obj = ioasid_hwpt_paging_id(ret);
	ioasid_event_end(e, reserved, IOASID_SRC_KERNEL_FN);
	return 0;
}

/* ---- VFIO device cdev bind ------------------------------------------------------------------ */

SEC("?fentry/vfio_df_ioctl_bind_iommufd")
int ioasid_fentry_vfio_bind(void *ctx)
{
	entry_save(IOASID_KFN_VFIO_BIND, 0);
	return 0;
}

/* long vfio_df_ioctl_bind_iommufd(struct vfio_device_file *df, struct vfio_device_bind_iommufd
 * __user *arg). Reports only what iommufd_device_bind() did not: refusals at the VFIO layer
 * (bad flags, bad iommufd, already bound), or every bind when that fexit is not attached. */
SEC("?fexit/vfio_df_ioctl_bind_iommufd")
int ioasid_fexit_vfio_bind(void *ctx)
{
	const struct vfio_device_file___ioasid *df = (const void *)fn_arg(ctx, 0);
	struct ioasid_entry_val ent = {};
	bool found = entry_take(IOASID_KFN_VFIO_BIND, &ent);
	long ret = (long)fn_ret(ctx);
	struct ioasid_event *e;
	__u64 reserved;

	if (found && ent.reported)
		return 0;
	e = kevent_begin(IOASID_EV_DEV_BIND, &reserved);
	if (!e)
		return 0;
	kevent_dev(e, (__u64)ioasid_vfio_df_dev(df));
	kevent_result(e, ret);
	if (ret >= 0) {
		e->ctx = ioasid_vfio_df_ictx(df);
		e->obj = ioasid_vfio_df_devid(df);
	}
	e->latency_ns = entry_latency(&ent, found);
	ioasid_event_end(e, reserved, IOASID_SRC_KERNEL_FN);
	return 0;
}

/* ---- IOTLB invalidation: the drivers' callbacks and helpers --------------------------------- */

/* Intel VT-d: static void intel_flush_iotlb_all(struct iommu_domain *) */
SEC("?fentry/intel_flush_iotlb_all")
int ioasid_fentry_intel_flush_all(void *ctx)
{
	return emit_iotlb_inv(IOASID_SRC_KERNEL_FN, IOASID_INV_FLUSH_ALL, 0, IOASID_PASID_ALL, 0,
			      IOASID_LENGTH_ALL);
}

/* static void intel_iommu_tlb_sync(struct iommu_domain *, struct iommu_iotlb_gather *) */
SEC("?fentry/intel_iommu_tlb_sync")
int ioasid_fentry_intel_tlb_sync(void *ctx)
{
	__u64 iova, length;

	ioasid_gather_range(fn_arg(ctx, 1), &iova, &length);
	return emit_iotlb_inv(IOASID_SRC_KERNEL_FN, IOASID_INV_UNMAP, 0, IOASID_PASID_ALL, iova,
			      length);
}

/* void cache_tag_flush_range(struct dmar_domain *, unsigned long start, unsigned long end,
 *                            int ih) */
SEC("?fentry/cache_tag_flush_range")
int ioasid_fentry_ct_flush_range(void *ctx)
{
	__u64 start = fn_arg(ctx, 1), end = fn_arg(ctx, 2);

	return emit_iotlb_inv(IOASID_SRC_KERNEL_FN, IOASID_INV_UNMAP, 0, IOASID_PASID_ALL, start,
			      range_length(start, end));
}

/* void cache_tag_flush_all(struct dmar_domain *) */
SEC("?fentry/cache_tag_flush_all")
int ioasid_fentry_ct_flush_all(void *ctx)
{
	return emit_iotlb_inv(IOASID_SRC_KERNEL_FN, IOASID_INV_FLUSH_ALL, 0, IOASID_PASID_ALL, 0,
			      IOASID_LENGTH_ALL);
}

/* AMD: static void amd_iommu_flush_iotlb_all(struct iommu_domain *) */
SEC("?fentry/amd_iommu_flush_iotlb_all")
int ioasid_fentry_amd_flush_all(void *ctx)
{
	return emit_iotlb_inv(IOASID_SRC_KERNEL_FN, IOASID_INV_FLUSH_ALL,
			      ioasid_amd_iommu_domain_id(fn_arg(ctx, 0)), IOASID_PASID_ALL, 0,
			      IOASID_LENGTH_ALL);
}

/* void amd_iommu_domain_flush_pages(struct protection_domain *, u64 address, size_t size);
 * size CMD_INV_IOMMU_ALL_PAGES_ADDRESS is amd_iommu_domain_flush_all(). */
SEC("?fentry/amd_iommu_domain_flush_pages")
int ioasid_fentry_amd_flush_pages(void *ctx)
{
	__u32 domain = ioasid_amd_domain_id(fn_arg(ctx, 0));
	__u64 address = fn_arg(ctx, 1), size = fn_arg(ctx, 2);

	if (size == IOASID_AMD_INV_ALL_PAGES)
		return emit_iotlb_inv(IOASID_SRC_KERNEL_FN, IOASID_INV_FLUSH_ALL, domain,
				      IOASID_PASID_ALL, 0, IOASID_LENGTH_ALL);
	return emit_iotlb_inv(IOASID_SRC_KERNEL_FN, IOASID_INV_UNMAP, domain, IOASID_PASID_ALL,
			      address, size);
}

/* ARM SMMUv3: static void arm_smmu_flush_iotlb_all(struct iommu_domain *) */
SEC("?fentry/arm_smmu_flush_iotlb_all")
int ioasid_fentry_smmu_flush_all(void *ctx)
{
	return emit_iotlb_inv(IOASID_SRC_KERNEL_FN, IOASID_INV_FLUSH_ALL, 0, IOASID_PASID_ALL, 0,
			      IOASID_LENGTH_ALL);
}

/* void arm_smmu_tlb_inv_range_domain(unsigned long iova, size_t size, size_t granule,
 *                                    bool leaf, struct arm_smmu_domain *) */
SEC("?fentry/arm_smmu_tlb_inv_range_domain")
int ioasid_fentry_smmu_inv_range(void *ctx)
{
	return emit_iotlb_inv(IOASID_SRC_KERNEL_FN, IOASID_INV_UNMAP, 0, IOASID_PASID_ALL,
			      fn_arg(ctx, 0), fn_arg(ctx, 1));
}
