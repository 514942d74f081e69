/* ioasid.h — the reference module's public C API.
 *
 * The reference module implements the Linux iommufd user API (`/dev/iommu`) in userspace over a
 * mock IOMMU. Programs normally reach it unmodified through the LD_PRELOAD shim (`ioasid-run`);
 * this header is for programs that link it directly: test harnesses, benchmarks, fuzzers.
 *
 * A context (struct ioasid_ctx) is what one open() of /dev/iommu gives in the kernel. Every ioctl
 * of <linux/iommufd.h> is issued with ioasid_ctx_ioctl(), which follows the kernel's extensible-
 * struct rules exactly and returns 0 or a negative errno (the kernel's return value).
 *
 * Conventions (bpftool/libbpf style): fallible functions return negative errno; nothing here
 * returns a bare -1 or a bool for failure. All functions are thread-safe.
 */
#ifndef IOASID_IOASID_H
#define IOASID_IOASID_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef IOASID_API
#define IOASID_API __attribute__((visibility("default")))
#endif

struct ioasid_ctx;

/* Open a new context, as open("/dev/iommu") does. */
IOASID_API int ioasid_ctx_open(struct ioasid_ctx **out);

/* Release a context and everything in it, as the last close() of the fd does. NULL is fine. */
IOASID_API void ioasid_ctx_close(struct ioasid_ctx *ctx);

/* Issue one iommufd ioctl. `arg` points to the command struct in this process's memory.
 * Returns 0 or -errno (ENOTTY for a command this context does not know). */
IOASID_API int ioasid_ctx_ioctl(struct ioasid_ctx *ctx, unsigned long cmd, void *arg);

/* ---- fault injection (see src/common/alloc.h for the exact semantics) ----------------------
 * Arm the calling thread so that its Nth allocation or object lookup inside the reference
 * fails (N >= 1; 0 disarms). The environment variable IOASID_FAIL_NTH=N arms the thread that
 * opens the first context. ioasid_fail_nth_get() returns what is left: 0 once it fired. */
IOASID_API void ioasid_fail_nth_set(unsigned int nth);
IOASID_API unsigned int ioasid_fail_nth_get(void);

/* ---- bug injection (ioasid-check's acceptance tests; docs/CHECKING.md) ----------------------
 * Named bugs, each real code in the reference's real path, off by default: "map-overlap",
 * "unmap-skip-flush", ... (the list: ioasid_inject_names()). `list` is a comma-separated set of
 * names ("" or NULL: none). The environment variable IOASID_INJECT=list applies the same at
 * the first context open or platform load. Returns 0, or -EINVAL for an unknown name
 * (ioasid_last_error() names it and lists the known ones). Process-wide. */
IOASID_API int ioasid_inject_set(const char *list);
/* The known bug names, comma-separated; and whether one is on. */
IOASID_API const char *ioasid_inject_names(void);
IOASID_API int ioasid_inject_enabled(const char *name);

/* ---- global PASIDs (what a kernel driver gets from iommu_alloc_global_pasid) -----------------
 * One PASID value for a context on every device (ENQCMD shared work queues need the same PASID
 * on each device): allocated from the platform's global space, never handed out twice while
 * owned, and its IOTLB and device-TLB entries are flushed (on each PASID detach) before it can
 * be reused. `dev_id` (0: none) names the device it is for (its PASID width bounds the value).
 * alloc: 0 and *pasid, -ENOSPC (space exhausted), -ENOENT (no such device); free: 0, -ENOENT
 * (not allocated), -EPERM (another context's), -EBUSY (still attached to a device). */
IOASID_API int ioasid_global_pasid_alloc(struct ioasid_ctx *ctx, uint32_t dev_id, uint32_t *pasid);
IOASID_API int ioasid_global_pasid_free(struct ioasid_ctx *ctx, uint32_t pasid);

/* ---- introspection for tests and tools ------------------------------------------------------ */

struct ioasid_ctx_stats {
	uint32_t objects;        /* live objects in the context's table */
	uint64_t pinned_pages;   /* pages pinned by this context (all IOASes, counted once) */
	uint64_t locked_user;    /* pages charged to the user account (RLIMIT_MODE 0) */
	uint64_t locked_mm;      /* pages charged to the process account (RLIMIT_MODE 1) */
};
IOASID_API int ioasid_ctx_get_stats(struct ioasid_ctx *ctx, struct ioasid_ctx_stats *out);

/* Allocations made by the reference and not yet freed, process-wide: a context that was closed
 * leaves this where it was before it was opened. */
IOASID_API int64_t ioasid_live_allocations(void);

/* ---- mock hardware hooks (the device side comes with the platform topology) -----------------
 * Attach a mock paging domain of the built-in default IOMMU to an IOAS, as attaching a device
 * does: every area of the IOAS is pinned and mapped into it, later maps land in it too.
 * `pgsize_bitmap` selects the leaf sizes the domain supports (0: 4K|2M|1G).
 * Returns a domain handle >= 1 (not an object ID) or -errno. */
IOASID_API int ioasid_test_domain_attach(struct ioasid_ctx *ctx, uint32_t ioas_id, uint64_t pgsize_bitmap);
IOASID_API int ioasid_test_domain_detach(struct ioasid_ctx *ctx, int domain);

/* DMA through a domain exactly as a device would: IOTLB lookup, page walk on a miss, permission
 * check. dir: 0 = device reads memory (into buf), 1 = device writes memory (from buf).
 * Returns 0, or -EFAULT for an IO page fault (*fault_iova set to the faulting IOVA). */
IOASID_API int ioasid_test_dma(struct ioasid_ctx *ctx, int domain, uint64_t iova, void *buf, size_t len,
		    int dir, uint64_t *fault_iova);

/* Mock IOTLB statistics of one domain. */
struct ioasid_iotlb_stats {
	uint64_t hits, misses, stale_hits, invalidations, entries;
};
IOASID_API int ioasid_test_iotlb_stats(struct ioasid_ctx *ctx, int domain, struct ioasid_iotlb_stats *out);

/* Load the process's platform now (IOASID_TOPOLOGY / IOASID_PLATFORM, see docs/TOPOLOGY.md):
 * 0, or -errno with the reason printed once. Everything device-related loads it on first use. */
IOASID_API int ioasid_platform_check(void);

/* ---- devices of the mock platform (the VFIO-free path: what a kernel driver would call) -------
 * Bind a platform device (by name, e.g. "0000:00:02.0") to a context exactly as
 * VFIO_DEVICE_BIND_IOMMUFD does: DMA ownership is claimed for the context (EPERM if another
 * context or a DMA-API kernel driver in the group holds it). Returns 0 and the dev_id. */
IOASID_API int ioasid_device_bind(struct ioasid_ctx *ctx, const char *name, uint32_t *dev_id);
IOASID_API int ioasid_device_unbind(struct ioasid_ctx *ctx, uint32_t dev_id);
/* Attach / replace / detach the RID (pasid 0) or a PASID; *pt_id in: IOAS or HWPT, out: HWPT. */
IOASID_API int ioasid_device_attach(struct ioasid_ctx *ctx, uint32_t dev_id, uint32_t pasid,
				    uint32_t *pt_id);
IOASID_API int ioasid_device_replace(struct ioasid_ctx *ctx, uint32_t dev_id, uint32_t pasid,
				     uint32_t *pt_id);
IOASID_API int ioasid_device_detach(struct ioasid_ctx *ctx, uint32_t dev_id, uint32_t pasid);
/* DMA by a bound device through its current attachment (see ioasid_test_dma for dir).
 * 0, -EFAULT (IO page fault at *fault_iova), or -EAGAIN (a page request is pending in the
 * fault queue of an IOPF-capable HWPT; respond through the fault fd, then retry). */
IOASID_API int ioasid_device_dma(struct ioasid_ctx *ctx, uint32_t dev_id, uint32_t pasid,
				 uint64_t iova, void *buf, size_t len, int dir,
				 uint64_t *fault_iova);

/* The reason for the calling thread's last refusal (EPERM from a bind, ...), one line naming
 * the object, the value and the fix; "" if none. Valid until the thread's next call. */
IOASID_API const char *ioasid_last_error(void);

/* ---- file descriptors the reference creates (fault queue fds, selftest access fds) ----------
 * They are real eventfds (poll works). Under the LD_PRELOAD shim read/write/close on them are
 * routed automatically; a program linking the library directly uses these calls instead. */
IOASID_API long ioasid_fd_read(int fd, void *buf, size_t len);
IOASID_API long ioasid_fd_write(int fd, const void *buf, size_t len);
IOASID_API int ioasid_fd_close(int fd);
/* For the shim: the file behind fd is being closed by the shim itself (it closes the number):
 * release the reference's side only. */
IOASID_API int ioasid_fd_release(int fd);
/* For the shim: called with each new fd (and its name) so it can route it. */
IOASID_API void ioasid_anon_fd_set_hook(void (*hook)(int fd, const char *name));

/* ---- in-process event subscribers ------------------------------------------------------------
 * Every state change the reference announces through its USDT probes (include/ioasid/event.h)
 * is also delivered, synchronously on the thread that made it, to up to 8 in-process
 * subscribers (source IOASID_SRC_INPROC). Used by harnesses that want the event stream without
 * BPF (fuzzers, unit tests). The callback runs with reference locks held: it must not call into
 * the reference. subscribe returns a handle >= 0, -EINVAL (fn NULL) or -ENOSPC (table full);
 * unsubscribe returns 0, -EINVAL or -ENOENT. */
struct ioasid_event;
typedef void (*ioasid_event_fn)(void *arg, const struct ioasid_event *ev);
IOASID_API int ioasid_events_subscribe(ioasid_event_fn fn, void *arg);
IOASID_API int ioasid_events_unsubscribe(int handle);

#ifdef __cplusplus
}
#endif
#endif
