/* ref_private.h — the reference module's private types: context, objects, the ioctl command
 * envelope, IOAS. Mirrors the kernel's iommufd_private.h in shape (see STYLE.md).
 *
 * Object model (as drivers/iommu/iommufd/main.c):
 *  - every object embeds struct ref_object as its first member;
 *  - IDs come from the context's table, lowest free index first, never 0;
 *  - an object is allocated with its ID reserved (lookups of that ID fail with ENOENT), then
 *    initialised, the reply written, and only then published (ref_object_finalize) or dropped
 *    (ref_object_abort / ref_object_abort_and_destroy);
 *  - `users` counts references: 1 for the table itself, +1 per lookup in flight
 *    (ref_get_object/ref_put_object) and +1 per long-term user (e.g. a domain attached to an
 *    IOAS). IOMMU_DESTROY succeeds only when users == 1, otherwise EBUSY.
 *
 * Locking: ctx->lock protects the object table and users counts. Each IOAS's io_pagetable has
 * its own lock (io_pagetable.h). Lock order: ctx->lock is never held while taking an IOAS lock.
 *
 * Events (include/ioasid/event.h, src/common/probe.h): every state change announces itself
 * through one IOASID_PROBE at the place it happens — objects in main.c, maps in ioas.c and
 * vfio_compat.c, pinned pages in pages.c, devices and attachments in device.c, HWPTs in hwpt.c,
 * page requests in fault.c; the hardware's own (domain maps, IOTLB) in src/mockhw. A site whose
 * fields need work (a name, a lookup) computes them inside the probe's arguments, which are only
 * evaluated while someone listens.
 */
#ifndef IOASID_REFERENCE_PRIVATE_H
#define IOASID_REFERENCE_PRIVATE_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/iommufd.h>

#include "ioasid/ioasid.h"
#include "common/alloc.h"
#include "common/compiler.h"
#include "common/overflow.h"
#include "common/probe.h"
#include "reference/io_pagetable.h"

#define PAGE_SIZE_REF 4096UL

enum ref_obj_type {
	REF_OBJ_NONE,
	REF_OBJ_ANY = REF_OBJ_NONE,
	REF_OBJ_DEVICE,
	REF_OBJ_HWPT_PAGING,
	REF_OBJ_HWPT_NESTED,
	REF_OBJ_IOAS,
	REF_OBJ_ACCESS,
	REF_OBJ_FAULT,
	REF_OBJ_VIOMMU,
	REF_OBJ_VDEVICE,
	REF_OBJ_VEVENTQ,
	REF_OBJ_HW_QUEUE,
	REF_OBJ_SELFTEST,
	REF_OBJ_MAX,
};

struct ref_object {
	uint32_t id;
	enum ref_obj_type type;
	uint32_t users;           /* under ctx->lock */
	bool orphaned;            /* unpublished while still used (bug "destroy-in-use", OWN-4):
				   * no longer in the table; its last user frees it */
};

/* Per-type behaviour: how to tear an object down once no one uses it. */
struct ref_object_ops {
	const char *name;
	void (*destroy)(struct ref_object *obj);
};
extern const struct ref_object_ops ref_object_ops[REF_OBJ_MAX];

/* Pinned-page accounting modes (the kernel's IOPT_PAGES_ACCOUNT_*). */
enum ref_account_mode {
	REF_ACCOUNT_NONE = 0,     /* CAP_IPC_LOCK: no limit, nothing charged */
	REF_ACCOUNT_USER = 1,     /* user->locked_vm style, IOMMU_OPTION_RLIMIT_MODE 0 */
	REF_ACCOUNT_MM = 2,       /* mm->locked_vm style (VFIO compatible), RLIMIT_MODE 1 */
};

struct ref_device;
struct ref_test_domain;
struct ref_vfio_compat;
struct ref_selftest_state;
struct ref_dev_state;

struct ioasid_ctx {
	pthread_mutex_t lock;             /* object table */
	struct ref_object **objs;         /* index = ID; NULL free; REF_OBJ_RESERVED reserved */
	uint32_t nr_slots;                /* allocated length of objs */
	uint32_t nr_objects;              /* published + reserved */
	uint32_t free_hint;               /* no free ID below this */
	enum ref_account_mode account_mode;
	uint64_t pinned_pages;            /* atomic: pages pinned by this context */

	uint32_t refs;                    /* atomic: opener + bound devices + accesses */
	uint64_t cookie;                  /* owner identity for the platform (unique in process) */
	struct ref_vfio_compat *vfio_compat;  /* vfio_compat.c: the compat IOAS and type1 state */
	struct ref_selftest_state *selftest;  /* selftest.c: IOMMU_TEST_CMD state */
	struct ref_dev_state *devs;           /* device.c: bound devices, iommufd groups */

	/* mock hardware used by the test domain hooks (devices come with the platform) */
	pthread_mutex_t hw_lock;
	struct mock_iommu *test_iommu;
	struct ref_test_domain *test_domains; /* singly linked */
	int next_test_domain;

	struct ioasid_ctx *live_next;     /* the process's live contexts (main.c, under its lock) */
};

/* An ioctl call in flight (the kernel's iommufd_ucmd). */
struct ref_ucmd {
	struct ioasid_ctx *ctx;
	void *ubuffer;                    /* the caller's struct */
	uint32_t user_size;               /* its declared size */
	void *cmd;                        /* the kernel-side copy, zero-extended */
};

/* Copy in an extensible struct by the kernel's rules (size first; < min_size → EINVAL; a
 * non-zero tail beyond struct_size → E2BIG; shorter is zero-extended) into buf. */
int ref_ucmd_init(struct ref_ucmd *ucmd, struct ioasid_ctx *ctx, void *arg, void *buf,
		  size_t struct_size, size_t min_size);

/* Copy the command back: min(user_size, len) bytes. */
int ref_ucmd_respond(struct ref_ucmd *ucmd, size_t len);

/* What ioasid_ctx_ioctl() does with a handler's answer: 0 and -errno pass, and so does the
 * value of the two commands that answer one (VFIO_CHECK_EXTENSION, VFIO_GET_API_VERSION). Any
 * other positive answer is a reference bug: with REF_STRICT_RETURNS (sanitizer builds, or
 * -DIOASID_DEBUG) it aborts; otherwise it becomes -EIO, reported through ref_set_error(). */
#if defined(__SANITIZE_ADDRESS__) || defined(IOASID_DEBUG)
#define REF_STRICT_RETURNS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REF_STRICT_RETURNS 1
#endif
#endif
#ifndef REF_STRICT_RETURNS
#define REF_STRICT_RETURNS 0
#endif
int ref_ioctl_check_ret(unsigned long cmd, int rc);

/* ---- objects (main.c) -------------------------------------------------------------------- */
struct ref_object *ref_object_alloc(struct ioasid_ctx *ctx, size_t size, enum ref_obj_type type);
void ref_object_finalize(struct ioasid_ctx *ctx, struct ref_object *obj);
void ref_object_abort(struct ioasid_ctx *ctx, struct ref_object *obj);
void ref_object_abort_and_destroy(struct ioasid_ctx *ctx, struct ref_object *obj);
/* Lookup by ID and type; takes a reference. -ENOENT (as ERR value via *err). */
struct ref_object *ref_get_object(struct ioasid_ctx *ctx, uint32_t id, enum ref_obj_type type,
				  int *err);
void ref_put_object(struct ioasid_ctx *ctx, struct ref_object *obj);
/* Long-term users (e.g. an attached domain keeps its IOAS). */
void ref_object_hold(struct ioasid_ctx *ctx, struct ref_object *obj);
void ref_object_release(struct ioasid_ctx *ctx, struct ref_object *obj);
void ref_object_put_and_try_destroy(struct ioasid_ctx *ctx, struct ref_object *obj);
void ref_object_destroy_user(struct ioasid_ctx *ctx, struct ref_object *obj);
/* Bug "attach-foreign" (OWN-2) only: look id (an IOAS or HWPT) up in the other live contexts of
 * the process, as a broken global ID namespace would. Takes a reference in that context
 * (*owner; put it with ref_put_object(*owner, obj)). NULL and -ENOENT if none has it. */
struct ref_object *ref_get_object_foreign(struct ioasid_ctx *ctx, uint32_t id,
					  struct ioasid_ctx **owner, int *err);

/* ---- user memory (uaccess.c) -------------------------------------------------------------
 * The caller's pointers are never trusted: a bad pointer gives -EFAULT, never a crash. */
int ref_copy_from_user(void *dst, uint64_t uptr, size_t len);
int ref_copy_to_user(uint64_t uptr, const void *src, size_t len);
/* 0 when [uptr, uptr+len) reads as zeroes; -E2BIG if not; -EFAULT if unreadable. */
int ref_check_zeroed_user(uint64_t uptr, size_t len);
/* This process's pid without a system call (cleared in a fork()ed child). */
pid_t ref_self_pid(void);

/* ---- capabilities (uaccess.c) ------------------------------------------------------------ */
bool ref_capable(int cap);

/* ---- IOAS (ioas.c) ---------------------------------------------------------------------- */
struct ref_hwpt_paging;
struct ref_ioas {
	struct ref_object obj;
	struct io_pagetable iopt;
	struct ref_hwpt_paging *hwpt_list;   /* paging HWPTs over this IOAS (auto-domain reuse);
					      * under ctx->devs->lock */
};

struct ref_ioas *ref_get_ioas(struct ioasid_ctx *ctx, uint32_t id, int *err);
void ref_ioas_destroy(struct ref_object *obj);

int ref_ioas_alloc_ioctl(struct ref_ucmd *ucmd);
int ref_ioas_iova_ranges(struct ref_ucmd *ucmd);
int ref_ioas_allow_iovas(struct ref_ucmd *ucmd);
int ref_ioas_map(struct ref_ucmd *ucmd);
int ref_ioas_map_file(struct ref_ucmd *ucmd);
int ref_ioas_copy(struct ref_ucmd *ucmd);
int ref_ioas_unmap(struct ref_ucmd *ucmd);
int ref_option(struct ref_ucmd *ucmd);

/* ---- mock-hardware test hooks (test_domain.c) --------------------------------------------- */
/* Detach and free every test domain, then the default instance: first step of a close. */
void ref_test_domains_release(struct ioasid_ctx *ctx);

/* ---- hardware instances (hw.c) -------------------------------------------------------------
 * The mock IOMMU instances of this process: one per platform IOMMU, plus the selftest mock
 * IOMMU. Shared by every context, like the hardware of a host; created on first use and freed
 * when the last device behind them goes. */
struct ref_hw_iommu {
	struct mock_iommu *hw;            /* its caps.event_id is the `iommu` of events */
	uint32_t refs;
	int key;                          /* platform IOMMU index, or REF_HW_SELFTEST */
	uint32_t hw_type;                 /* enum iommu_hw_info_type */
	unsigned int pasid_bits;
	bool nesting, dirty_tracking, iopf;
	uint64_t vtd_cap, vtd_ecap;       /* the topology's VT-d registers, 0: derive them */
	uint32_t nr_resv;
	struct { uint64_t start, last; } resv[4];
};
#define REF_HW_SELFTEST 1000
int ref_hw_iommu_get(int key, struct ref_hw_iommu **out);
static inline uint32_t ref_hw_event_id(const struct ref_hw_iommu *hw)
{
	return hw ? mock_iommu_caps(hw->hw)->event_id : 0;
}
void ref_hw_iommu_put(struct ref_hw_iommu *hw);
void ref_hw_iommu_hold(struct ref_hw_iommu *hw);

/* ---- HWPTs (hwpt.c) ------------------------------------------------------------------------ */
struct ref_fault;
struct ref_hwpt {
	struct ref_object obj;
	struct ioasid_ctx *ctx;
	struct ref_hw_iommu *iommu;       /* the instance the domain belongs to */
	struct mock_domain *dom;          /* NULL only for selftest nested HWPTs */
	struct ref_fault *fault;          /* IOPF-capable: page requests go to this queue */
	bool pasid_compat;                /* IOMMU_HWPT_ALLOC_PASID */
	bool announced;                   /* HWPT_ALLOC fired: HWPT_DESTROY will */
};
struct ref_hwpt_paging {
	struct ref_hwpt common;
	struct ref_ioas *ioas;
	struct ref_hwpt_paging *ioas_next;
	bool auto_domain;
	bool linked;                      /* in ioas->hwpt_list with its domain in the iopt */
	bool nest_parent;
	bool dirty_capable;
};
#define REF_SELFTEST_IOTLB_NUM 4
struct ref_hwpt_nested {
	struct ref_hwpt common;
	struct ref_hwpt_paging *parent;
	uint32_t data_type;               /* IOMMU_HWPT_DATA_VTD_S1 or the selftest type */
	uint32_t st_iotlb[REF_SELFTEST_IOTLB_NUM];   /* selftest mock nested IOTLB */
};
static inline bool ref_hwpt_is_paging(const struct ref_hwpt *h)
{
	return h->obj.type == REF_OBJ_HWPT_PAGING;
}
void ref_hwpt_paging_destroy(struct ref_object *obj);
void ref_hwpt_nested_destroy(struct ref_object *obj);
/* Allocate a paging HWPT over ioas for a device's IOMMU (ctx->devs->lock held). Not finalized. */
int ref_hwpt_paging_alloc(struct ioasid_ctx *ctx, struct ref_ioas *ioas, struct ref_hw_iommu *hw,
			  bool dirty_ok, uint64_t pgsize_bitmap, uint32_t flags,
			  struct ref_hwpt_paging **out);
int ref_hwpt_alloc(struct ref_ucmd *ucmd);
/* The hardware domain that translates for a HWPT (a selftest nested HWPT: its parent's). */
struct mock_domain *ref_hwpt_hw_domain(const struct ref_hwpt *hwpt);
/* Events: the flags (IOASID_EVF_NESTED/PARENT/AUTO/PASID/DIRTY) and the `pt` (IOAS or parent
 * HWPT) of a HWPT. */
uint32_t ref_hwpt_event_flags(const struct ref_hwpt *hwpt);
uint32_t ref_hwpt_event_pt(const struct ref_hwpt *hwpt);
/* HWPT_ALLOC for a HWPT about to be published (ioctl or automatic domain). */
void ref_hwpt_announce(struct ref_hwpt *hwpt);
int ref_hwpt_invalidate(struct ref_ucmd *ucmd);
int ref_hwpt_set_dirty_tracking(struct ref_ucmd *ucmd);
int ref_hwpt_get_dirty_bitmap(struct ref_ucmd *ucmd);

/* ---- devices (device.c) -------------------------------------------------------------------- */
void ref_device_destroy(struct ref_object *obj);
/* The device in events: `dev` (platform index + 1, or 0x80000000 | RID for a selftest mock
 * device), its name and its group ID. */
uint32_t ref_device_event_dev(const struct ref_device *idev);
const char *ref_device_name(const struct ref_device *idev);
int ref_get_hw_info(struct ref_ucmd *ucmd);
/* The device whose DMA is being translated on this thread (for the IOPF handler). */
struct ref_device *ref_device_dma_current(void);
void ref_device_dma_iopf_result(int rc);
/* Selftest nested HWPT: the value of mock IOTLB entry idx (MD_CHECK_IOTLB). */
int ref_hwpt_selftest_iotlb(struct ioasid_ctx *ctx, uint32_t hwpt_id, uint32_t idx,
			    uint32_t *value);
struct ref_device *ref_get_device(struct ioasid_ctx *ctx, uint32_t dev_id, int *err);
struct ref_hw_iommu *ref_device_hw(const struct ref_device *idev);
bool ref_device_dirty_capable(const struct ref_device *idev);
uint64_t ref_device_pgsize_bitmap(const struct ref_device *idev);
void ref_devs_release(struct ioasid_ctx *ctx);
/* ctx->devs->lock (recursive): device/HWPT topology and the IOASes' HWPT lists. */
int ref_devs_lock(struct ioasid_ctx *ctx);
void ref_devs_unlock(struct ioasid_ctx *ctx);
/* The last refusal's reason, one line, thread-local (ioasid_last_error()). */
void ref_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- IO page faults (fault.c) -------------------------------------------------------------- */
void ref_fault_destroy(struct ref_object *obj);
int ref_fault_alloc(struct ref_ucmd *ucmd);
struct ref_fault *ref_get_fault(struct ioasid_ctx *ctx, uint32_t id, int *err);
/* Queue a page request of idev from the mock hardware translating for hwpt; 0 when queued. */
int ref_fault_report(struct ref_fault *fault, struct ref_device *idev, struct ref_hwpt *hwpt,
		     const struct mock_fault *f);
/* A page request with explicit fields (selftest IOMMU_TEST_OP_TRIGGER_IOPF: reason 0). Raises
 * the FAULT event (reason: enum mock_fault_reason, 0 for an injected request). */
int ref_fault_inject(struct ref_fault *fault, struct ref_device *idev, struct ref_hwpt *hwpt,
		     uint32_t pasid, uint32_t grpid, uint32_t perm, uint64_t addr,
		     unsigned int reason);

/* ---- anonymous fds (anon_fd.c) --------------------------------------------------------------
 * Files the reference hands out itself (fault queues, selftest access fds): a real eventfd, so
 * poll()/select()/epoll work natively (readable while the eventfd is signalled), whose read,
 * write and close are routed to the reference: through the shim when it is loaded (it installs
 * them in its fd table via a hook), or through ioasid_fd_read/_write/_close in-process. */
struct ref_anon_fd_ops {
	const char *name;
	long (*read)(void *priv, void *buf, size_t len);
	long (*write)(void *priv, const void *buf, size_t len);
	void (*release)(void *priv);
};
int ref_anon_fd_create(const struct ref_anon_fd_ops *ops, void *priv);
/* Set the readiness the fd reports to poll(). */
void ref_anon_fd_set_ready(int fd, bool ready);

/* ---- VFIO type1 compat (vfio_compat.c) ----------------------------------------------------
 * Every ioctl of the VFIO range (';', nr 100..127) issued on the iommufd fd, and
 * IOMMU_VFIO_IOAS. ref_vfio_compat_release() frees ctx->vfio_compat at close. */
#ifndef VFIO_BASE
#define VFIO_BASE 100
#endif
int ref_vfio_compat_ioctl(struct ioasid_ctx *ctx, unsigned long cmd, void *arg);
int ref_vfio_ioas(struct ref_ucmd *ucmd);
void ref_vfio_compat_release(struct ioasid_ctx *ctx);

/* ---- the kernel selftest mock ABI (selftest.c) ---------------------------------------------
 * IOMMU_TEST_CMD = _IO(';', 0xA0). Handles its own extensible-struct copy (ref_ucmd_init). */
#ifndef IOMMU_TEST_CMD
#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)
#endif
int ref_selftest_ioctl(struct ioasid_ctx *ctx, void *arg);
void ref_selftest_release(struct ioasid_ctx *ctx);
void ref_selftest_destroy(struct ref_object *obj);    /* REF_OBJ_SELFTEST */

/* ---- access objects (access.c) -------------------------------------------------------------- */
void ref_access_destroy_obj(struct ref_object *obj);  /* REF_OBJ_ACCESS */

/* ---- global PASIDs (global_pasid.c) ------------------------------------------------------- */
/* Free every global PASID ctx still owns (GPASID_FREE each): at context teardown. */
void ref_gpasid_release(struct ioasid_ctx *ctx);
/* device.c: is pasid attached on any device bound to ctx? */
bool ref_devs_pasid_attached(struct ioasid_ctx *ctx, uint32_t pasid);
/* device.c: a device's PASID width, event identity and name (for GPASID_ALLOC). */
unsigned int ref_device_pasid_bits(const struct ref_device *idev);

/* ---- accounting (pages.c) ---------------------------------------------------------------- */
void ref_account_snapshot(uint64_t *user_pages, uint64_t *mm_pages, uint64_t *pinned_pages);

/* ---- map events (ioas.c, vfio_compat.c) ---------------------------------------------------
 * One IOAS_MAP / IOAS_UNMAP per call, whatever the path (iommufd ioctl or VFIO type1), refusals
 * included. t0 comes from IOASID_PROBE_START() at the call's entry; `pinned` is what the
 * io_pagetable charged for this map; rc the outcome of the map itself (a reply that cannot be
 * copied back afterwards does not undo it, as in the kernel). */
#define REF_IOAS_MAP_EVENT(ctx_, ioas_id_, iova_, len_, prot_, pinned_, rc_, t0_)              \
	REF_IOAS_MAP_EVENT_F(ctx_, ioas_id_, iova_, len_, prot_, pinned_, rc_, t0_, 0)
/* The same with more IOASID_EVF_* flags (IOASID_EVF_AUTO_IOVA: MAP-1's allowed ranges bind
 * the IOVAs the allocator chooses; a FIXED_IOVA map may lie outside them, as in the kernel). */
#define REF_IOAS_MAP_EVENT_F(ctx_, ioas_id_, iova_, len_, prot_, pinned_, rc_, t0_, flags_)    \
	IOASID_PROBE(ioas_map, .ctx = (ctx_)->cookie, .obj = (ioas_id_), .iova = (iova_),     \
		     .length = (len_), .value = (pinned_), .aux = (uint32_t)(prot_),          \
		     .result = (rc_),                                                          \
		     .flags = ((rc_) ? IOASID_EVF_REFUSED : 0) | (flags_),                    \
		     .latency_ns = IOASID_PROBE_ELAPSED(t0_))
#define REF_IOAS_UNMAP_EVENT(ctx_, ioas_id_, iova_, len_, unmapped_, rc_, t0_)                 \
	IOASID_PROBE(ioas_unmap, .ctx = (ctx_)->cookie, .obj = (ioas_id_), .iova = (iova_),   \
		     .length = (len_), .value = (unmapped_), .result = (rc_),                 \
		     .flags = (rc_) ? IOASID_EVF_REFUSED : 0,                                \
		     .latency_ns = IOASID_PROBE_ELAPSED(t0_))

#endif
