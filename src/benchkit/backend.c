/* backend.c — the backend registry of ioasid-bench: names, probing, "is the shim here", and the
 * dispatch of every bench_be_* call to the ops table of the access path that serves the
 * backend (backend_private.h).
 *
 *   id              name            ops                  served by    needs the shim
 *   BENCH_BE_REF          "ref"          bench_be_ref_ops      reference    no (C API)
 *   BENCH_BE_REF_UAPI     "ref-uapi"     bench_be_iommufd_ops  reference    yes
 *   BENCH_BE_REF_TYPE1    "ref-type1"    bench_be_type1_ops    reference    yes
 *   BENCH_BE_KERNEL       "kernel"       bench_be_iommufd_ops  kernel       must be absent
 *   BENCH_BE_KERNEL_TYPE1 "kernel-type1" bench_be_type1_ops    kernel       must be absent
 *
 * The shim test: open() as this process resolves it must come from an object that also
 * defines the reference's ioasid_ctx_ioctl. That is true of libioasid-preload.so only: a
 * program linking libioasid statically does not export the symbol, one linking libioasid.so
 * gets open() from libc. Computed once; the answer cannot change after startup.
 *
 * Dispatch is one indirect call; an optional op the backend lacks answers -EOPNOTSUPP. The
 * per-operation paths (map, unmap, dma, ...) add nothing else.
 */
#include "benchkit/backend_private.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct bench_backend_entry {
	const char *name;
	const char *served_by;
	const char *node;                 /* the device node a uAPI backend opens */
	const struct bench_be_ops *ops;
} backends[BENCH_BE_COUNT] = {
	[BENCH_BE_REF]          = { "ref",          "reference", NULL, &bench_be_ref_ops },
	[BENCH_BE_REF_UAPI]     = { "ref-uapi",     "reference", "/dev/iommu",
				    &bench_be_iommufd_ops },
	[BENCH_BE_REF_TYPE1]    = { "ref-type1",    "reference", "/dev/vfio/vfio",
				    &bench_be_type1_ops },
	[BENCH_BE_KERNEL]       = { "kernel",       "kernel",    "/dev/iommu",
				    &bench_be_iommufd_ops },
	[BENCH_BE_KERNEL_TYPE1] = { "kernel-type1", "kernel",    "/dev/vfio/vfio",
				    &bench_be_type1_ops },
};

static bool id_valid(enum bench_backend_id id)
{
	return (unsigned int)id < BENCH_BE_COUNT;
}

static int why_unknown_id(enum bench_backend_id id, char *why, size_t whylen)
{
	bench_be_why(why, whylen, "backend id %d is unknown: use one of ref, ref-uapi, "
		     "ref-type1, kernel, kernel-type1", (int)id);
	return -EINVAL;
}

static bool id_is_reference(enum bench_backend_id id)
{
	return id == BENCH_BE_REF || id == BENCH_BE_REF_UAPI || id == BENCH_BE_REF_TYPE1;
}

void bench_be_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* ---- names ------------------------------------------------------------------------------- */

const char *bench_backend_name(enum bench_backend_id id)
{
	return id_valid(id) ? backends[id].name : NULL;
}

int bench_backend_from_name(const char *name)
{
	if (!name)
		return -ENOENT;
	for (int i = 0; i < BENCH_BE_COUNT; i++)
		if (!strcmp(name, backends[i].name))
			return i;
	return -ENOENT;
}

/* ---- the shim ------------------------------------------------------------------------------ */

static int shim_detect(void)
{
	void *open_fn = dlsym(RTLD_DEFAULT, "open");
	void *ref_fn = dlsym(RTLD_DEFAULT, "ioasid_ctx_ioctl");
	Dl_info a, b;

	if (!open_fn || !ref_fn)
		return 0;
	if (!dladdr(open_fn, &a) || !dladdr(ref_fn, &b))
		return 0;
	return a.dli_fbase == b.dli_fbase;
}

bool bench_under_shim(void)
{
	static int state = -1;
	int s = __atomic_load_n(&state, __ATOMIC_ACQUIRE);

	if (s < 0) {
		s = shim_detect();
		__atomic_store_n(&state, s, __ATOMIC_RELEASE);
	}
	return s;
}

int bench_be_check_server(enum bench_backend_id id, char *why, size_t whylen)
{
	const struct bench_backend_entry *e = &backends[id];

	if (id == BENCH_BE_REF)
		return 0;
	if (id_is_reference(id) && !bench_under_shim()) {
		bench_be_why(why, whylen,
			     "%s: the ioasid shim is not loaded in this process, so %s would be "
			     "the kernel's: run it under ioasid-run (ioasid-bench does so for its "
			     "workers)", e->name, e->node);
		return -ENODEV;
	}
	if (!id_is_reference(id) && bench_under_shim()) {
		bench_be_why(why, whylen,
			     "%s: this process runs under the ioasid shim (LD_PRELOAD), so %s is "
			     "the reference's: run the kernel backends outside ioasid-run",
			     e->name, e->node);
		return -ENODEV;
	}
	return 0;
}

int bench_be_pick_device(enum bench_backend_id id, const char *want, struct bench_hostdev *out,
			 char *why, size_t whylen)
{
	if (id_is_reference(id))
		return bench_hostdev_reference(want, out, why, whylen);
	return bench_hostdev_kernel(NULL, want, out, why, whylen);
}

/* ---- probing ------------------------------------------------------------------------------- */

int bench_be_open_node(enum bench_backend_id id, int *fdp, char *why, size_t whylen)
{
	const struct bench_backend_entry *e = &backends[id];
	bool kernel = !id_is_reference(id);
	int fd = open(e->node, O_RDWR | O_CLOEXEC);
	int err = errno;

	*fdp = fd;
	if (fd >= 0)
		return 0;
	if (err == ENOENT && id == BENCH_BE_KERNEL)
		bench_be_why(why, whylen,
			     "%s: %s does not exist: this kernel has no CONFIG_IOMMUFD (or the "
			     "module is not loaded: modprobe iommufd)", e->name, e->node);
	else if (err == ENOENT && id == BENCH_BE_KERNEL_TYPE1)
		bench_be_why(why, whylen,
			     "%s: %s does not exist: load VFIO (modprobe vfio-pci "
			     "vfio_iommu_type1) or use a kernel with CONFIG_VFIO_CONTAINER or "
			     "CONFIG_IOMMUFD_VFIO_CONTAINER", e->name, e->node);
	else if (err == EACCES || err == EPERM)
		bench_be_why(why, whylen,
			     "%s: %s: %s: run as root or give this user read-write access to it",
			     e->name, e->node, strerror(err));
	else
		bench_be_why(why, whylen, "%s: open %s: %s%s", e->name, e->node, strerror(err),
			     kernel ? "" : " (the shim should serve it: is the shim from the same "
					   "build as this program?)");
	return -err;
}

int bench_backend_probe(enum bench_backend_id id, char *why, size_t whylen)
{
	struct bench_hostdev dev;
	int rc, fd;

	if (!id_valid(id))
		return why_unknown_id(id, why, whylen);
	rc = bench_be_check_server(id, why, whylen);
	if (rc || id == BENCH_BE_REF)
		return rc;
	/* Probing leaves nothing open. */
	rc = bench_be_open_node(id, &fd, why, whylen);
	if (rc)
		return rc;
	close(fd);
	/* A type1 container is nothing without a group: it needs a usable device now. */
	if (id == BENCH_BE_REF_TYPE1 || id == BENCH_BE_KERNEL_TYPE1)
		return bench_be_pick_device(id, NULL, &dev, why, whylen);
	return 0;
}

/* ---- open / close / describe --------------------------------------------------------------- */

int bench_be_open(const struct bench_be_opts *opts, struct bench_be **out, char *why,
		  size_t whylen)
{
	struct bench_be *be = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (!opts || !out) {
		bench_be_why(why, whylen, "bench_be_open: %s is NULL: pass both",
			     !opts ? "opts" : "out");
		return -EINVAL;
	}
	if (!id_valid(opts->id))
		return why_unknown_id(opts->id, why, whylen);
	rc = bench_be_check_server(opts->id, why, whylen);
	if (rc)
		return rc;
	rc = backends[opts->id].ops->open(opts, &be, why, whylen);
	if (rc)
		return rc;
	be->ops = backends[opts->id].ops;
	be->id = opts->id;
	*out = be;
	return 0;
}

void bench_be_close(struct bench_be *be)
{
	if (be)
		be->ops->close(be);
}

unsigned int bench_be_caps(const struct bench_be *be)
{
	return be->caps;
}

const char *bench_be_served_by(const struct bench_be *be)
{
	return backends[be->id].served_by;
}

const char *bench_be_describe(const struct bench_be *be)
{
	return be->describe;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

/* An optional op: the backend's, or -EOPNOTSUPP. */
#define BE_CALL(be, op, ...) \
	((be)->ops->op ? (be)->ops->op((be), ##__VA_ARGS__) : -EOPNOTSUPP)

int bench_be_ioas_alloc(struct bench_be *be, uint32_t *ioas)
{
	return be->ops->ioas_alloc(be, ioas);
}

int bench_be_ioas_destroy(struct bench_be *be, uint32_t ioas)
{
	return be->ops->ioas_destroy(be, ioas);
}

int bench_be_set_huge_pages(struct bench_be *be, uint32_t ioas, bool on)
{
	return BE_CALL(be, set_huge_pages, ioas, on);
}

int bench_be_map(struct bench_be *be, uint32_t ioas, uint64_t *iova, void *va, uint64_t len,
		 bool fixed)
{
	return be->ops->map(be, ioas, iova, va, len, fixed);
}

int bench_be_unmap(struct bench_be *be, uint32_t ioas, uint64_t iova, uint64_t len,
		   uint64_t *unmapped)
{
	return be->ops->unmap(be, ioas, iova, len, unmapped);
}

int bench_be_copy(struct bench_be *be, uint32_t dst_ioas, uint64_t dst_iova, uint32_t src_ioas,
		  uint64_t src_iova, uint64_t len)
{
	return BE_CALL(be, copy, dst_ioas, dst_iova, src_ioas, src_iova, len);
}

int bench_be_attach(struct bench_be *be, uint32_t ioas, char *why, size_t whylen)
{
	if (!be->ops->attach) {
		bench_be_why(why, whylen, "%s: attaching a domain is not supported",
			     backends[be->id].name);
		return -EOPNOTSUPP;
	}
	return be->ops->attach(be, ioas, why, whylen);
}

int bench_be_detach(struct bench_be *be, int handle)
{
	return BE_CALL(be, detach, handle);
}

int bench_be_dma(struct bench_be *be, int handle, uint64_t iova, void *buf, size_t len, int dir)
{
	return BE_CALL(be, dma, handle, iova, buf, len, dir);
}

int bench_be_iotlb_stats(struct bench_be *be, int handle, struct bench_iotlb_stats *out)
{
	return BE_CALL(be, iotlb_stats, handle, out);
}

int bench_be_dma_api_begin(struct bench_be *be, unsigned int fq_size)
{
	return BE_CALL(be, dma_api_begin, fq_size);
}

int bench_be_dma_api_map(struct bench_be *be, uint64_t iova, void *va, uint64_t len)
{
	return BE_CALL(be, dma_api_map, iova, va, len);
}

int bench_be_dma_api_unmap(struct bench_be *be, uint64_t iova, uint64_t len, bool deferred)
{
	return BE_CALL(be, dma_api_unmap, iova, len, deferred);
}

int bench_be_dma_api_dma(struct bench_be *be, uint64_t iova, void *buf, size_t len)
{
	return BE_CALL(be, dma_api_dma, iova, buf, len);
}

int bench_be_dma_api_flush(struct bench_be *be)
{
	return BE_CALL(be, dma_api_flush);
}

int bench_be_dma_api_stats(struct bench_be *be, uint64_t *invalidations, uint64_t *stale_hits)
{
	return BE_CALL(be, dma_api_stats, invalidations, stale_hits);
}

void bench_be_dma_api_end(struct bench_be *be)
{
	if (be->ops->dma_api_end)
		be->ops->dma_api_end(be);
}

int bench_be_device_bind(struct bench_be *be, char *why, size_t whylen)
{
	if (!be->ops->device_bind) {
		bench_be_why(why, whylen, "%s: binding a device is not supported",
			     backends[be->id].name);
		return -EOPNOTSUPP;
	}
	return be->ops->device_bind(be, why, whylen);
}

int bench_be_device_attach(struct bench_be *be, int dev, uint32_t ioas, char *why,
			   size_t whylen)
{
	if (!be->ops->device_attach) {
		bench_be_why(why, whylen, "%s: attaching a device is not supported",
			     backends[be->id].name);
		return -EOPNOTSUPP;
	}
	return be->ops->device_attach(be, dev, ioas, why, whylen);
}

int bench_be_device_detach(struct bench_be *be, int dev)
{
	return BE_CALL(be, device_detach, dev);
}

void bench_be_device_unbind(struct bench_be *be, int dev)
{
	if (be->ops->device_unbind)
		be->ops->device_unbind(be, dev);
}
