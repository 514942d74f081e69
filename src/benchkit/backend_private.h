/* backend_private.h — what the backend registry (backend.c) and the three access paths
 * (backend_ref.c, backend_iommufd.c, backend_type1.c) share; nothing outside src/benchkit/
 * includes it.
 *
 * An open backend is a struct that embeds struct bench_be as its FIRST member (the kernel's
 * object-embedding pattern), allocated by its ops->open and freed by its ops->close. The
 * registry owns the name, the id → ops mapping and the "who serves it" string; the ops own
 * everything else. An op left NULL means the backend has no such operation: the dispatcher
 * answers -EOPNOTSUPP, consistently with the capability bits the backend reports.
 *
 * Threads: map, unmap and copy may be called from several threads at once on one backend
 * (the `threads` workload); they touch no per-backend mutable state. Every other op is
 * called from one thread at a time.
 */
#ifndef IOASID_BENCHKIT_BACKEND_PRIVATE_H
#define IOASID_BENCHKIT_BACKEND_PRIVATE_H

#include <stdarg.h>

#include "benchkit/bench.h"

#define BENCH_DESCRIBE 128

struct bench_be_ops {
	/* 0, or -errno with why; *out is a backend-specific struct whose first member is the
	 * struct bench_be (registry fields are filled by the dispatcher afterwards). */
	int (*open)(const struct bench_be_opts *opts, struct bench_be **out, char *why,
		    size_t whylen);
	void (*close)(struct bench_be *be);

	int (*ioas_alloc)(struct bench_be *be, uint32_t *ioas);
	int (*ioas_destroy)(struct bench_be *be, uint32_t ioas);
	int (*set_huge_pages)(struct bench_be *be, uint32_t ioas, bool on);
	int (*map)(struct bench_be *be, uint32_t ioas, uint64_t *iova, void *va, uint64_t len,
		   bool fixed);
	int (*unmap)(struct bench_be *be, uint32_t ioas, uint64_t iova, uint64_t len,
		     uint64_t *unmapped);
	int (*copy)(struct bench_be *be, uint32_t dst_ioas, uint64_t dst_iova, uint32_t src_ioas,
		    uint64_t src_iova, uint64_t len);

	int (*attach)(struct bench_be *be, uint32_t ioas, char *why, size_t whylen);
	int (*detach)(struct bench_be *be, int handle);
	int (*dma)(struct bench_be *be, int handle, uint64_t iova, void *buf, size_t len, int dir);
	int (*iotlb_stats)(struct bench_be *be, int handle, struct bench_iotlb_stats *out);

	int (*dma_api_begin)(struct bench_be *be, unsigned int fq_size);
	int (*dma_api_map)(struct bench_be *be, uint64_t iova, void *va, uint64_t len);
	int (*dma_api_unmap)(struct bench_be *be, uint64_t iova, uint64_t len, bool deferred);
	int (*dma_api_dma)(struct bench_be *be, uint64_t iova, void *buf, size_t len);
	int (*dma_api_flush)(struct bench_be *be);
	int (*dma_api_stats)(struct bench_be *be, uint64_t *invalidations, uint64_t *stale_hits);
	void (*dma_api_end)(struct bench_be *be);

	int (*device_bind)(struct bench_be *be, char *why, size_t whylen);
	int (*device_attach)(struct bench_be *be, int dev, uint32_t ioas, char *why,
			     size_t whylen);
	int (*device_detach)(struct bench_be *be, int dev);
	void (*device_unbind)(struct bench_be *be, int dev);
};

struct bench_be;
/* How a backend of iommufd commands issues one (C API or ioctl on an fd): 0 or -errno. */
typedef int (*bench_issue_fn)(struct bench_be *be, unsigned long cmd, void *arg);

struct bench_be {
	const struct bench_be_ops *ops;
	bench_issue_fn issue;               /* iommufd backends: used by backend_ioas.c */
	enum bench_backend_id id;
	unsigned int caps;                  /* BENCH_CAP_*, set by open */
	char describe[BENCH_DESCRIBE];      /* bench_be_describe: kept current by the backend */
};

extern const struct bench_be_ops bench_be_ref_ops;
extern const struct bench_be_ops bench_be_iommufd_ops;
extern const struct bench_be_ops bench_be_type1_ops;

/* Fill `why` (NULL or whylen 0: nothing) with one formatted line. */
void bench_be_why(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Is this process on the right side of the shim for `id`? The REF_* uAPI backends need the
 * shim loaded (their nodes are the reference's), the KERNEL* ones need it absent (else they
 * would measure the reference while reporting the kernel). 0 or -ENODEV with why. */
int bench_be_check_server(enum bench_backend_id id, char *why, size_t whylen);

/* Open the device node of a uAPI backend (/dev/iommu or /dev/vfio/vfio) read-write and
 * close-on-exec: 0 and *fd, or -errno with why explaining a missing node or permission. */
int bench_be_open_node(enum bench_backend_id id, int *fd, char *why, size_t whylen);

/* The device a backend uses: hostdev's reference topology for the REF_* ids, the kernel's
 * sysfs for the KERNEL* ones. `want` NULL: the first usable. 0 or -errno with why. */
int bench_be_pick_device(enum bench_backend_id id, const char *want, struct bench_hostdev *out,
			 char *why, size_t whylen);

/* ---- the IOAS ops of the iommufd backends (backend_ioas.c) ------------------------------------
 * One implementation for `ref` and the fd backends; each command goes out through be->issue. */
int bench_ioas_alloc_op(struct bench_be *be, uint32_t *ioas);
int bench_ioas_destroy_op(struct bench_be *be, uint32_t id);
int bench_ioas_huge_pages_op(struct bench_be *be, uint32_t ioas, bool on);
int bench_ioas_huge_get(struct bench_be *be, uint32_t ioas, uint64_t *val);
int bench_ioas_map_op(struct bench_be *be, uint32_t ioas, uint64_t *iova, void *va, uint64_t len,
		      bool fixed);
int bench_ioas_unmap_op(struct bench_be *be, uint32_t ioas, uint64_t iova, uint64_t len,
			uint64_t *unmapped);
int bench_ioas_copy_op(struct bench_be *be, uint32_t dst_ioas, uint64_t dst_iova,
		       uint32_t src_ioas, uint64_t src_iova, uint64_t len);

#endif
