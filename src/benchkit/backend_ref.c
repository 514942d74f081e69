/* backend_ref.c — the "ref" backend: the reference module linked into this process, driven
 * through its C API (include/ioasid/ioasid.h). No file descriptors, no shim: what is measured
 * is the reference's own work, the floor under the uAPI backends.
 *
 * Owns: one ioasid context per open backend; the devices it bound (a bound device keeps its
 * context alive, so close unbinds what the caller left bound); and, between dma_api_begin and
 * dma_api_end, a private mock IOMMU instance with one paging domain.
 *
 *   IOAS ops        IOMMU_IOAS_ALLOC/MAP/UNMAP/COPY/OPTION/DESTROY through ioasid_ctx_ioctl()
 *   attach/dma      ioasid_test_domain_attach(): a mock domain of the context's own default
 *                   IOMMU (4K|2M|1G leaves; 4K only when the IOAS has HUGE_PAGES off);
 *                   ioasid_test_dma(), ioasid_test_iotlb_stats(). Handle = the domain handle.
 *   device ops      ioasid_device_bind/attach/detach/unbind of the platform device that
 *                   hostdev picks (opts.device or the first usable one). Handle = a slot.
 *   DMA API         what a kernel driver's dma_map/dma_unmap do to its domain, on the mock
 *                   hardware directly (the iommufd uAPI itself is always strict): strict unmap
 *                   = unmap + IOTLB sync of the gathered range before returning; deferred =
 *                   unmap, the range joins a flush queue, and when the queue holds fq_size
 *                   entries the whole domain's IOTLB is flushed (the kernel's lazy mode, one
 *                   flush-all per full queue). Until that flush the IOTLB may keep serving the
 *                   old translation: the mock counts it as a stale hit.
 *
 * describe: "C API, no domain" until an attach, then what the latest attach attached (a detach
 * leaves it: the report reads it after a measurement's teardown).
 *
 * Threads: map/unmap/copy only read `ctx` (the reference is thread-safe). Everything else is
 * single-threaded per backend, as backend_private.h says.
 */
#include "benchkit/backend_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/iommufd.h>

#include "common/compiler.h"
#include "ioasid/ioasid.h"
#include "mockhw/mock_iommu.h"

#define REF_MAX_DEVICES 8

struct be_ref {
	struct bench_be be;
	struct ioasid_ctx *ctx;

	bool have_dev;
	struct bench_hostdev dev;
	char nodev_why[BENCH_WHY];
	uint32_t dev_ids[REF_MAX_DEVICES];   /* bound dev_id per handle; 0: free */

	struct mock_iommu *dma_iommu;        /* DMA API: NULL outside begin..end */
	struct mock_domain *dma_dom;
	unsigned int fq_size, fq_used;
};

static struct be_ref *to_ref(struct bench_be *be)
{
	return container_of(be, struct be_ref, be);
}

/* The reference's reason for a refusal: ioasid_last_error() is per thread but never cleared,
 * so a call's own reason is told apart from an older one by comparing it with the text saved
 * before the call (ref_err_save). Not on any measured path. */
#define REF_ERR_MAX 512

static void ref_err_save(char before[REF_ERR_MAX])
{
	snprintf(before, REF_ERR_MAX, "%s", ioasid_last_error());
}

static const char *ref_reason(const char *before, int rc)
{
	const char *now = ioasid_last_error();

	return now[0] && strcmp(now, before) ? now : strerror(-rc);
}


/* ---- open / close -------------------------------------------------------------------------- */

static void ref_dma_api_end(struct bench_be *be);

static int ref_issue(struct bench_be *be, unsigned long cmd, void *arg)
{
	return ioasid_ctx_ioctl(to_ref(be)->ctx, cmd, arg);
}

static int ref_open(const struct bench_be_opts *opts, struct bench_be **out, char *why,
		    size_t whylen)
{
	struct be_ref *r = calloc(1, sizeof(*r));
	int rc;

	if (!r) {
		bench_be_why(why, whylen, "ref: no memory for the backend (%zu bytes)", sizeof(*r));
		return -ENOMEM;
	}
	rc = ioasid_ctx_open(&r->ctx);
	if (rc) {
		bench_be_why(why, whylen, "ref: ioasid_ctx_open: %s: the reference could not "
			     "create a context", strerror(-rc));
		free(r);
		return rc;
	}
	/* A missing device is no reason to refuse the backend: only the device ops need it, and
	 * they report this reason. */
	r->have_dev = !bench_be_pick_device(BENCH_BE_REF, opts->device, &r->dev, r->nodev_why,
					     sizeof(r->nodev_why));
	r->be.issue = ref_issue;
	r->be.caps = BENCH_CAP_MULTI_IOAS | BENCH_CAP_COPY | BENCH_CAP_HUGE_OPTION |
		     BENCH_CAP_DOMAIN | BENCH_CAP_DMA | BENCH_CAP_IOTLB_STATS |
		     BENCH_CAP_LAZY_INVAL | BENCH_CAP_DEVICE;
	snprintf(r->be.describe, sizeof(r->be.describe), "C API, no domain");
	*out = &r->be;
	return 0;
}

static void ref_close(struct bench_be *be)
{
	struct be_ref *r = to_ref(be);

	ref_dma_api_end(be);
	for (int i = 0; i < REF_MAX_DEVICES; i++)
		if (r->dev_ids[i])
			ioasid_device_unbind(r->ctx, r->dev_ids[i]);
	ioasid_ctx_close(r->ctx);
	free(r);
}

/* ---- attach: a mock domain (the IOAS ops are backend_ioas.c's) ------------------------------- */

static int ref_attach(struct bench_be *be, uint32_t ioas, char *why, size_t whylen)
{
	struct be_ref *r = to_ref(be);
	char before[REF_ERR_MAX];
	uint64_t huge = 0;
	int rc, handle;

	ref_err_save(before);
	/* The domain's leaf sizes follow the IOAS's HUGE_PAGES option, as a HWPT would. */
	rc = bench_ioas_huge_get(be, ioas, &huge);
	if (rc) {
		bench_be_why(why, whylen, "ref: IOAS %u: IOMMU_OPTION GET HUGE_PAGES: %s: attach "
			     "to an IOAS from bench_be_ioas_alloc", ioas, ref_reason(before, rc));
		return rc;
	}
	handle = ioasid_test_domain_attach(r->ctx, ioas, huge ? 0 : SZ_4K);
	if (handle < 0) {
		bench_be_why(why, whylen, "ref: attaching a mock domain to IOAS %u: %s", ioas,
			     ref_reason(before, handle));
		return handle;
	}
	snprintf(be->describe, sizeof(be->describe), "C API, mock domain attached (%s leaves)",
		 huge ? "4K|2M|1G" : "4K");
	return handle;
}

static int ref_detach(struct bench_be *be, int handle)
{
	return ioasid_test_domain_detach(to_ref(be)->ctx, handle);
}

static int ref_dma(struct bench_be *be, int handle, uint64_t iova, void *buf, size_t len, int dir)
{
	return ioasid_test_dma(to_ref(be)->ctx, handle, iova, buf, len, dir, NULL);
}

static int ref_iotlb_stats(struct bench_be *be, int handle, struct bench_iotlb_stats *out)
{
	struct ioasid_iotlb_stats st;
	int rc = ioasid_test_iotlb_stats(to_ref(be)->ctx, handle, &st);

	if (rc)
		return rc;
	*out = (struct bench_iotlb_stats){
		.hits = st.hits, .misses = st.misses, .stale_hits = st.stale_hits,
		.invalidations = st.invalidations, .entries = st.entries,
	};
	return 0;
}

/* ---- the DMA API on the mock hardware ------------------------------------------------------- */

/* A VT-d-like instance of its own, so nothing else's IOTLB traffic is counted. */
static const struct mock_iommu_caps dma_api_caps = {
	.name = "bench-dma-api",
	.pgsize_bitmap = SZ_4K | SZ_2M | SZ_1G,
	.ias_bits = 48,
};

static int ref_dma_api_begin(struct bench_be *be, unsigned int fq_size)
{
	struct be_ref *r = to_ref(be);
	int rc;

	if (r->dma_dom)
		return -EBUSY;
	if (!fq_size)
		return -EINVAL;
	rc = mock_iommu_create(&dma_api_caps, &r->dma_iommu);
	if (rc)
		return rc;
	rc = mock_domain_alloc_paging(r->dma_iommu, 0, &r->dma_dom);
	if (rc) {
		mock_iommu_destroy(r->dma_iommu);
		r->dma_iommu = NULL;
		return rc;
	}
	r->fq_size = fq_size;
	r->fq_used = 0;
	return 0;
}

static int ref_dma_api_map(struct bench_be *be, uint64_t iova, void *va, uint64_t len)
{
	struct be_ref *r = to_ref(be);

	if (unlikely(!r->dma_dom))
		return -EINVAL;
	return mock_domain_map(r->dma_dom, iova, (uintptr_t)va, len,
			       MOCK_PROT_READ | MOCK_PROT_WRITE, UINT64_MAX);
}

static int ref_dma_api_unmap(struct bench_be *be, uint64_t iova, uint64_t len, bool deferred)
{
	struct be_ref *r = to_ref(be);
	struct mock_iotlb_gather gather;

	if (unlikely(!r->dma_dom || !len || iova + len - 1 < iova))
		return -EINVAL;
	mock_iotlb_gather_init(&gather);
	if (!mock_domain_unmap(r->dma_dom, iova, len, &gather))
		return -ENOENT;
	if (!deferred) {
		mock_domain_iotlb_sync(r->dma_dom, &gather);
		return 0;
	}
	if (++r->fq_used >= r->fq_size) {
		mock_domain_flush_all(r->dma_dom);
		r->fq_used = 0;
	}
	return 0;
}

static int ref_dma_api_dma(struct bench_be *be, uint64_t iova, void *buf, size_t len)
{
	struct be_ref *r = to_ref(be);
	struct mock_fault fault;

	if (unlikely(!r->dma_dom))
		return -EINVAL;
	return mock_domain_dma(r->dma_dom, MOCK_PASID_RID, iova, buf, len, MOCK_DMA_READ, &fault);
}

static int ref_dma_api_flush(struct bench_be *be)
{
	struct be_ref *r = to_ref(be);

	if (!r->dma_dom)
		return -EINVAL;
	if (r->fq_used) {
		mock_domain_flush_all(r->dma_dom);
		r->fq_used = 0;
	}
	return 0;
}

static int ref_dma_api_stats(struct bench_be *be, uint64_t *invalidations, uint64_t *stale_hits)
{
	struct be_ref *r = to_ref(be);
	struct mock_iotlb_stats st;

	if (!r->dma_dom)
		return -EINVAL;
	mock_domain_iotlb_stats(r->dma_dom, &st);
	if (invalidations)
		*invalidations = st.invalidations;
	if (stale_hits)
		*stale_hits = st.stale_hits;
	return 0;
}

static void ref_dma_api_end(struct bench_be *be)
{
	struct be_ref *r = to_ref(be);

	if (!r->dma_dom)
		return;
	mock_domain_free(r->dma_dom);
	mock_iommu_destroy(r->dma_iommu);
	r->dma_dom = NULL;
	r->dma_iommu = NULL;
}

/* ---- devices ------------------------------------------------------------------------------- */

static int ref_device_bind(struct bench_be *be, char *why, size_t whylen)
{
	struct be_ref *r = to_ref(be);
	char before[REF_ERR_MAX];
	int slot, rc;

	if (!r->have_dev) {
		bench_be_why(why, whylen, "%s", r->nodev_why);
		return -ENODEV;
	}
	for (slot = 0; slot < REF_MAX_DEVICES && r->dev_ids[slot]; slot++)
		;
	if (slot == REF_MAX_DEVICES) {
		bench_be_why(why, whylen, "ref: %d device binds are open: unbind one first",
			     REF_MAX_DEVICES);
		return -ENOSPC;
	}
	ref_err_save(before);
	rc = ioasid_device_bind(r->ctx, r->dev.name, &r->dev_ids[slot]);
	if (rc) {
		bench_be_why(why, whylen, "ref: binding device %s: %s", r->dev.name,
			     ref_reason(before, rc));
		r->dev_ids[slot] = 0;
		return rc;
	}
	return slot;
}

static uint32_t ref_dev_id(struct be_ref *r, int dev)
{
	return dev >= 0 && dev < REF_MAX_DEVICES ? r->dev_ids[dev] : 0;
}

static int ref_device_attach(struct bench_be *be, int dev, uint32_t ioas, char *why,
			     size_t whylen)
{
	struct be_ref *r = to_ref(be);
	uint32_t id = ref_dev_id(r, dev), pt = ioas;
	char before[REF_ERR_MAX];
	int rc;

	if (!id) {
		bench_be_why(why, whylen, "ref: device handle %d is not bound: use the handle "
			     "bench_be_device_bind returned", dev);
		return -ENOENT;
	}
	ref_err_save(before);
	rc = ioasid_device_attach(r->ctx, id, 0, &pt);
	if (rc) {
		bench_be_why(why, whylen, "ref: attaching device %s to IOAS %u: %s", r->dev.name,
			     ioas, ref_reason(before, rc));
		return rc;
	}
	snprintf(be->describe, sizeof(be->describe), "C API, device %s attached", r->dev.name);
	return 0;
}

static int ref_device_detach(struct bench_be *be, int dev)
{
	struct be_ref *r = to_ref(be);
	uint32_t id = ref_dev_id(r, dev);

	return id ? ioasid_device_detach(r->ctx, id, 0) : -ENOENT;
}

static void ref_device_unbind(struct bench_be *be, int dev)
{
	struct be_ref *r = to_ref(be);
	uint32_t id = ref_dev_id(r, dev);

	if (!id)
		return;
	/* Unbinding detaches the device first, as closing a VFIO device fd does. */
	ioasid_device_unbind(r->ctx, id);
	r->dev_ids[dev] = 0;
}

const struct bench_be_ops bench_be_ref_ops = {
	.open = ref_open,
	.close = ref_close,
	.ioas_alloc = bench_ioas_alloc_op,
	.ioas_destroy = bench_ioas_destroy_op,
	.set_huge_pages = bench_ioas_huge_pages_op,
	.map = bench_ioas_map_op,
	.unmap = bench_ioas_unmap_op,
	.copy = bench_ioas_copy_op,
	.attach = ref_attach,
	.detach = ref_detach,
	.dma = ref_dma,
	.iotlb_stats = ref_iotlb_stats,
	.dma_api_begin = ref_dma_api_begin,
	.dma_api_map = ref_dma_api_map,
	.dma_api_unmap = ref_dma_api_unmap,
	.dma_api_dma = ref_dma_api_dma,
	.dma_api_flush = ref_dma_api_flush,
	.dma_api_stats = ref_dma_api_stats,
	.dma_api_end = ref_dma_api_end,
	.device_bind = ref_device_bind,
	.device_attach = ref_device_attach,
	.device_detach = ref_device_detach,
	.device_unbind = ref_device_unbind,
};
