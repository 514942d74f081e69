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

#ifdef __cplusplus
}
#endif
#endif
