/* ioasid/event.h — the one event record every source produces.
 *
 * The reference module's USDT probe sites, the kernel-side BPF programs (tracepoints, fentry),
 * the in-process hook and the trace files all carry exactly this 128-byte record, so no consumer
 * (ioasid-check, ioasid-top, ioasid-trace) knows or cares where an event came from.
 *
 * Rules:
 *  - Fixed-width fields only, no pointers: the header is included by the bpf/ programs (after
 *    vmlinux.h, which supplies __u8..__u64) and by userspace (which gets them from
 *    <linux/types.h>).
 *  - Event type numbers are stable: extend the table at the end, never renumber (trace files
 *    outlive builds). IOASID_EVENT_VERSION changes only when the record's layout changes.
 *  - The header fields (seq, ts_ns, pid, tid, source) are filled by the producer (BPF program or
 *    the in-process hook), never by the probe site.
 *  - Field meaning per type is listed in the table below; a field a type does not use is 0.
 *    Identity of objects: `ctx` is the context's process-unique cookie (reference) or the
 *    kernel's struct iommufd_ctx address; (pid, ctx) is unique on a host. `dev` is the platform
 *    device index + 1 (0: no device); `name` its PCI address / mdev name (kernel: dev_name()).
 *    `iommu` is the IOMMU instance index + 1 and `domain` the hardware domain ID inside it.
 *    `group` is the IOMMU group ID (the N of /dev/vfio/N), not an index.
 *    Reference instances and devices that are not on the platform topology:
 *      iommu 1001                  the kernel selftest's mock IOMMU (IOMMU_TEST_CMD mock domains)
 *      iommu 0x80000000 | cookie   a context's own test IOMMU (ioasid_test_domain_attach); cookie
 *                                  = the low 31 bits of that context's `ctx`
 *      dev = group = 0x80000000 | RID   a selftest mock device (IOMMU_TEST_OP_MOCK_DOMAIN*): its
 *                                  own singleton group; name "iommufd_mock<RID>" (the kernel's)
 *    Events raised by the (mock) IOMMU hardware itself — DOMAIN_MAP, DOMAIN_UNMAP, IOTLB_INV,
 *    IOTLB_STALE_HIT — carry ctx 0: the hardware does not know which context drives a domain
 *    (the HWPT_ALLOC / DEV_ATTACH events tie (iommu, domain) to a context).
 *    The reference's order of events for one operation is the order of its steps (e.g. an
 *    IOAS_MAP into an IOAS with a domain: ACCOUNT, DOMAIN_MAP per domain, then IOAS_MAP; an
 *    IOAS_UNMAP: DOMAIN_UNMAP + IOTLB_INV per domain, ACCOUNT, then IOAS_UNMAP).
 */
#ifndef IOASID_EVENT_H
#define IOASID_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define IOASID_EVENT_VERSION 1
#define IOASID_EVENT_NAME_LEN 16

/* Where an event came from. */
enum ioasid_event_source {
	IOASID_SRC_NONE = 0,
	IOASID_SRC_REFERENCE = 1,   /* USDT probe in the reference, read by BPF */
	IOASID_SRC_INPROC = 2,      /* the in-process hook (ioasid_events_subscribe) */
	IOASID_SRC_KERNEL_TP = 3,   /* kernel tracepoint (tp_btf / raw_tp) */
	IOASID_SRC_KERNEL_FN = 4,   /* kernel function entry/exit (fentry / fexit) */
};

/* Flags (ioasid_event.flags). */
#define IOASID_EVF_REFUSED   (1u << 0)  /* the operation was refused (result < 0) */
#define IOASID_EVF_BAD_DEV   (1u << 1)  /* kernel: the device pointer could not be read */
#define IOASID_EVF_STRICT    (1u << 2)  /* unmap/invalidate: synchronous (strict) flush */
#define IOASID_EVF_NESTED    (1u << 3)  /* HWPT/domain is nested (stage 1 over a parent) */
#define IOASID_EVF_PARENT    (1u << 4)  /* HWPT/domain may be a nesting parent */
#define IOASID_EVF_AUTO      (1u << 5)  /* HWPT was created automatically by an IOAS attach */
#define IOASID_EVF_PASID     (1u << 6)  /* HWPT allocated PASID-compatible */
#define IOASID_EVF_DIRTY     (1u << 7)  /* HWPT/domain tracks dirty pages */
#define IOASID_EVF_EXIT      (1u << 8)  /* kernel fexit: result valid */
#define IOASID_EVF_AUTO_IOVA (1u << 9)  /* map/copy: the allocator chose the IOVA (no FIXED_IOVA) */

/* Reasons for an IOTLB invalidation (aux of IOTLB_INV). */
enum ioasid_inv_reason {
	IOASID_INV_UNMAP = 1,        /* after unmapping a range (iotlb_sync) */
	IOASID_INV_FLUSH_ALL = 2,    /* whole-domain flush */
	IOASID_INV_USER = 3,         /* user-requested (HWPT_INVALIDATE of a nested domain) */
	IOASID_INV_PASID_ENTRY = 4,  /* a context / PASID-table entry changed */
	IOASID_INV_DIRTY = 5,        /* dirty bits cleared (entries must re-walk) */
	IOASID_INV_DOMAIN_FREE = 6,  /* domain torn down */
};

/* Driver kinds (aux of DRIVER_* and GROUP_CLAIM), as the platform names them. */
enum ioasid_driver_kind {
	IOASID_DRV_NONE = 0,
	IOASID_DRV_USER = 1,         /* user-ownership driver (vfio-pci): driver_managed_dma */
	IOASID_DRV_DMA_API = 2,      /* kernel driver using the DMA API */
	IOASID_DRV_OWN_DMA = 3,      /* kernel driver managing its own DMA (driver_managed_dma) */
};

/* Object types (aux of OBJ_ALLOC / OBJ_DESTROY): enum iommufd_object_type order. */
enum ioasid_obj_kind {
	IOASID_OBJK_DEVICE = 1,
	IOASID_OBJK_HWPT_PAGING = 2,
	IOASID_OBJK_HWPT_NESTED = 3,
	IOASID_OBJK_IOAS = 4,
	IOASID_OBJK_ACCESS = 5,
	IOASID_OBJK_FAULT = 6,
	IOASID_OBJK_VIOMMU = 7,
	IOASID_OBJK_VDEVICE = 8,
	IOASID_OBJK_VEVENTQ = 9,
	IOASID_OBJK_HW_QUEUE = 10,
	IOASID_OBJK_SELFTEST = 11,
};

/* The event types: X(UPPER, lower, number, "what it means; fields used").
 * The lower-case name is the USDT probe name (provider "ioasid") and the name trace files and
 * JSON output use. */
#define IOASID_EVENT_TYPES(X)                                                                      \
	X(CTX_OPEN,        ctx_open,         1, "context opened; ctx")                             \
	X(CTX_CLOSE,       ctx_close,        2, "context released (its last reference: the "       \
	                                         "opener's close and every bound device gone); "   \
	                                         "ctx, value=objects left")                        \
	X(DEV_BIND,        dev_bind,         3, "device bound to a context (claims DMA "           \
	                                         "ownership); ctx dev name group obj=dev_id "      \
	                                         "iommu value=its PASID width in bits (0: none) "  \
	                                         "length=devices in its group (PAS-3) result "     \
	                                         "(refusals too: obj 0, pt=the sibling device "    \
	                                         "whose driver or owner blocks the group's claim, "\
	                                         "0 none); aux=0, or 1 for an "                    \
	                                         "emulated (software-table, mdev-like) device "    \
	                                         "bound through VFIO as an access object: "        \
	                                         "obj=access ID, iommu 0, no ownership claimed")   \
	X(DEV_UNBIND,      dev_unbind,       4, "device unbound (its attachments were detached "   \
	                                         "first); ctx dev name group obj=dev_id iommu "    \
	                                         "aux as DEV_BIND")                                \
	X(DEV_ATTACH,      dev_attach,       5, "RID (pasid 0) or PASID attached; ctx dev name "   \
	                                         "group obj=dev_id pt=HWPT pasid iommu domain "    \
	                                         "value=requested pt (IOAS or HWPT) result "       \
	                                         "(refusals too: pt 0 domain 0)")                  \
	X(DEV_REPLACE,     dev_replace,      6, "attachment replaced: every device of the group "  \
	                                         "attached at that pasid moves with it; as "       \
	                                         "DEV_ATTACH, aux=old domain (= domain for a "     \
	                                         "no-op replace)")                                 \
	X(DEV_DETACH,      dev_detach,       7, "attachment removed; ctx dev name group "          \
	                                         "obj=dev_id pt=old HWPT pasid iommu domain")      \
	X(HWPT_ALLOC,      hwpt_alloc,       8, "HWPT allocated (published); ctx obj=HWPT "        \
	                                         "pt=IOAS or parent iommu domain (0: a selftest "  \
	                                         "nested HWPT, no domain of its own) "             \
	                                         "flags(NESTED/PARENT/AUTO/PASID/DIRTY) result "   \
	                                         "(IOMMU_HWPT_ALLOC refusals too: obj 0, "         \
	                                         "pt=requested)")                                  \
	X(HWPT_DESTROY,    hwpt_destroy,     9, "HWPT freed; ctx obj pt iommu domain flags")       \
	X(IOAS_MAP,        ioas_map,        10, "IOAS map (IOAS_MAP, IOAS_MAP_FILE, VFIO "         \
	                                         "MAP_DMA); ctx obj=IOAS iova (the one chosen) "   \
	                                         "length value=pages newly pinned aux=prot (1 "    \
	                                         "read 2 write 4 cache) result latency_ns")        \
	X(IOAS_UNMAP,      ioas_unmap,      11, "IOAS unmap (IOAS_UNMAP, VFIO UNMAP_DMA; "         \
	                                         "unmap-all: iova 0 length UINT64_MAX); ctx obj "  \
	                                         "iova length(requested) value=bytes unmapped "    \
	                                         "result latency_ns. A failed unmap may have "     \
	                                         "removed whole areas from iova up before it "     \
	                                         "failed: value says how many bytes (as the "      \
	                                         "kernel). An IOAS's areas also go with its "      \
	                                         "OBJ_DESTROY (no event)")                         \
	X(IOAS_COPY,       ioas_copy,       12, "IOAS copy; ctx obj=dst IOAS pt=src IOAS "         \
	                                         "iova=dst length value=src iova aux=prot result " \
	                                         "latency_ns")                                     \
	X(DOMAIN_MAP,      domain_map,      13, "range entered into a domain's page table (one "   \
	                                         "per map call, whole range); iommu domain iova "  \
	                                         "length value=paddr aux=prot result")             \
	X(DOMAIN_UNMAP,    domain_unmap,    14, "range removed from a domain's page table (one "   \
	                                         "per unmap call); iommu domain iova length "      \
	                                         "value=bytes unmapped")                           \
	X(IOTLB_INV,       iotlb_inv,       15, "IOTLB invalidation; iommu domain pasid "          \
	                                         "(0xffffffff: all) iova length(UINT64_MAX: all) " \
	                                         "aux=reason value=entries dropped flags(STRICT "  \
	                                         "for UNMAP). A nest parent's "                    \
	                                         "UNMAP/FLUSH_ALL/DIRTY also flushes each nested " \
	                                         "child (one event per child, whole domain)")      \
	X(IOTLB_STALE_HIT, iotlb_stale_hit, 16, "IOTLB hit on a translation the tables no longer " \
	                                         "hold; iommu domain pasid iova value=stale "      \
	                                         "paddr aux=direction dev name (0/\"\": not a "    \
	                                         "device's DMA)")                                  \
	X(GROUP_CLAIM,     group_claim,     17, "group DMA ownership claimed by a context (first " \
	                                         "device; dev 0 for a VFIO container's group "     \
	                                         "claim); ctx group dev name value=owner count "   \
	                                         "aux=driver kind: DMA_API if any device of the "  \
	                                         "group is on a DMA-API driver, else the "         \
	                                         "claiming device's")                              \
	X(GROUP_RELEASE,   group_release,   18, "group DMA ownership released (last device); ctx " \
	                                         "group dev name")                                 \
	X(DRIVER_BIND,     driver_bind,     19, "kernel driver bound to a device; dev name group " \
	                                         "aux=driver kind result (refusal < 0)")           \
	X(DRIVER_UNBIND,   driver_unbind,   20, "driver unbound; dev name group aux=driver kind "  \
	                                         "result (refusal < 0)")                           \
	X(FAULT,           fault,           21, "IO page fault / page request raised to a fault "  \
	                                         "queue; dev name ctx obj=fault queue pt=HWPT "    \
	                                         "pasid iova aux=reason (mock: 1 not present, 2 "  \
	                                         "permission, 3 out of range, 4 blocked, 5 "       \
	                                         "stage-1 not present, 6 stage-1 permission, 7 "   \
	                                         "stage-1 walk; 0 injected) value=group id iommu " \
	                                         "domain result (-ENOMEM: dropped)")               \
	X(FAULT_RESPONSE,  fault_response,  22, "page request answered; ctx obj=fault queue dev "  \
	                                         "name pasid aux=response code value=group id")    \
	X(OBJ_ALLOC,       obj_alloc,       23, "object published; ctx obj aux=object kind")       \
	X(OBJ_DESTROY,     obj_destroy,     24, "object destroyed; ctx obj aux=object kind "       \
	                                         "result (EBUSY: still in use)")                   \
	X(ACCOUNT,         account,         25, "pinned-page accounting changed; ctx value=pages " \
	                                         "now pinned by ctx length=delta pages (two's "    \
	                                         "complement) iova=RLIMIT_MEMLOCK in pages that "  \
	                                         "applied (UINT64_MAX: none; 0: not recorded) "    \
	                                         "pt=pages charged to the account in this mode "   \
	                                         "after the change (user or process; 0 mode none) "\
	                                         "aux=mode (0 none, 1 user, 2 mm) "                \
	                                         "result (-ENOMEM: over RLIMIT_MEMLOCK, nothing "  \
	                                         "charged)")                                       \
	X(GROUP_ADD_DEV,   group_add_dev,   26, "device joined an IOMMU group (kernel); group "    \
	                                         "name")                                           \
	X(GROUP_DEL_DEV,   group_del_dev,   27, "device left an IOMMU group (kernel); group name") \
	X(DMA,             dma,             28, "device DMA through its translation; ctx "         \
	                                         "obj=dev_id dev name pasid iova length iommu "    \
	                                         "domain (0: blocked; an emulated device's DMA: "  \
	                                         "iommu and domain 0) aux=direction (0 device "    \
	                                         "reads memory, 1 writes) result. dev 0: a test "  \
	                                         "domain's DMA (ioasid_test_dma)")                 \
	X(IOAS_RESERVE,    ioas_reserve,    29, "IOVA range reserved in an IOAS (value 1) or "     \
	                                         "given back (value 0): an IOMMU's reserved "      \
	                                         "region while a device is attached, the IOVA "    \
	                                         "outside an attached domain's aperture, "         \
	                                         "IOMMU_TEST_OP_ADD_RESERVED; ctx obj=IOAS iova "  \
	                                         "length (UINT64_MAX: all) result (refusal: "      \
	                                         "EADDRINUSE, an area or allowed range is there)") \
	X(IOAS_ALLOW,      ioas_allow,      30, "allowed IOVA ranges of an IOAS replaced "         \
	                                         "(IOMMU_IOAS_ALLOW_IOVAS): one event per range "  \
	                                         "of the new set, iova length aux=its index "      \
	                                         "value=ranges in the set (an empty set: one "     \
	                                         "event, value 0); ctx obj=IOAS result (refusal: " \
	                                         "one event, EADDRINUSE: a range is reserved)")    \
	X(GPASID_ALLOC,    gpasid_alloc,    31, "global PASID allocated (the kernel's "            \
	                                         "iommu_alloc_global_pasid: ENQCMD / shared work " \
	                                         "queues, one PASID for a context on every "       \
	                                         "device); ctx pasid dev name (the device it is "  \
	                                         "for, 0: none) result (refusal: pasid 0)")        \
	X(GPASID_FREE,     gpasid_free,     32, "global PASID given back for reuse; ctx pasid "    \
	                                         "result (refusal < 0: not this context's)")

enum ioasid_event_type {
	IOASID_EV_NONE = 0,
#define IOASID_X_ENUM(up, low, num, doc) IOASID_EV_##up = num,
	IOASID_EVENT_TYPES(IOASID_X_ENUM)
#undef IOASID_X_ENUM
	IOASID_EV_MAX
};

/* The record: 128 bytes, naturally aligned, no holes. */
struct ioasid_event {
	__u16 type;          /* enum ioasid_event_type */
	__u8  source;        /* enum ioasid_event_source (producer) */
	__u8  version;       /* IOASID_EVENT_VERSION (producer) */
	__u32 flags;         /* IOASID_EVF_* */
	__u64 seq;           /* producer's sequence number: a gap means dropped events */
	__u64 ts_ns;         /* CLOCK_MONOTONIC, ns (producer) */
	__u32 pid;           /* process (tgid) (producer) */
	__u32 tid;           /* thread (producer) */
	__u64 ctx;           /* context identity (see above) */
	__u32 dev;           /* platform device index + 1; 0: none */
	__u32 obj;           /* object acted on: IOAS/HWPT/device/... ID in ctx */
	__u32 pt;            /* related page table: attach target HWPT, HWPT's IOAS or parent */
	__u32 iommu;         /* IOMMU instance index + 1 */
	__u32 domain;        /* hardware domain ID inside that instance */
	__u32 group;         /* IOMMU group ID */
	__u32 pasid;         /* 0 = the RID (IOMMU_NO_PASID) */
	__s32 result;        /* 0 or a negative errno */
	__u32 aux;           /* type-specific: reason, kind, prot, old domain */
	__u32 reserved;      /* 0 */
	__u64 iova;
	__u64 length;
	__u64 value;         /* type-specific: pages pinned, paddr, bytes unmapped, counts */
	__u64 latency_ns;    /* operation latency measured at the probe site; 0 if none */
	char  name[IOASID_EVENT_NAME_LEN];  /* device name, NUL-terminated; "" if none */
};

#ifndef __VMLINUX_H__
_Static_assert(sizeof(struct ioasid_event) == 128, "struct ioasid_event is 128 bytes");
#endif

#endif
