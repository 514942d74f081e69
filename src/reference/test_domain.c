/* test_domain.c — the mock-hardware hooks of the public API: attach a mock paging domain to an
 * IOAS and drive DMA through it. They stand in for a device attach until the platform topology
 * (devices, groups, drivers) exists, and they are what tests and benchmarks use to observe
 * that maps land in domains, that unmaps invalidate the IOTLB, and what DMA sees.
 *
 * An attached domain holds a long-term reference on its IOAS (IOMMU_DESTROY of the IOAS then
 * fails with EBUSY, as with a HWPT attached in the kernel). Handles are small integers, unique
 * per context. ctx->hw_lock guards the list and the lazily created default IOMMU instance.
 *
 * Events: the instance is the context's own (iommu MOCK_IOMMU_EVENT_CTX_TEST | cookie, see
 * include/ioasid/event.h); its domains raise the mock hardware's events; ioasid_test_dma raises
 * one DMA event per call (dev 0: no device).
 */
#include "reference/ref_private.h"

struct ref_test_domain {
	struct ref_test_domain *next;
	int handle;
	struct mock_domain *dom;
	struct ref_ioas *ioas;
};

/* The default instance of the built-in platform: 48-bit IOVA, 4K/2M/1G leaves. */
static const struct mock_iommu_caps default_caps = {
	.name = "iommu0",
	.pgsize_bitmap = SZ_4K | SZ_2M | SZ_1G,
	.ias_bits = 48,
	.pasid_bits = 20,
	.nesting = true,
	.dirty_tracking = true,
};

static struct ref_test_domain *find_locked(struct ioasid_ctx *ctx, int handle)
{
	struct ref_test_domain *td;

	for (td = ctx->test_domains; td; td = td->next)
		if (td->handle == handle)
			return td;
	return NULL;
}

int ioasid_test_domain_attach(struct ioasid_ctx *ctx, uint32_t ioas_id, uint64_t pgsize_bitmap)
{
	struct ref_test_domain *td;
	struct ref_ioas *ioas;
	int rc;

	ioas = ref_get_ioas(ctx, ioas_id, &rc);
	if (!ioas)
		return rc;
	td = ioasid_zalloc(sizeof(*td));
	if (!td) {
		rc = -ENOMEM;
		goto out_put;
	}
	pthread_mutex_lock(&ctx->hw_lock);
	if (!ctx->test_iommu) {
		struct mock_iommu_caps caps = default_caps;

		caps.event_id = MOCK_IOMMU_EVENT_CTX_TEST | (uint32_t)(ctx->cookie & 0x7fffffff);
		rc = mock_iommu_create(&caps, &ctx->test_iommu);
		if (rc)
			goto out_unlock;
	}
	rc = mock_domain_alloc_paging(ctx->test_iommu, pgsize_bitmap, &td->dom);
	if (rc)
		goto out_unlock;
	rc = iopt_table_add_domain(&ioas->iopt, td->dom);
	if (rc)
		goto out_free_dom;
	ref_object_hold(ctx, &ioas->obj);
	td->ioas = ioas;
	td->handle = ++ctx->next_test_domain;
	td->next = ctx->test_domains;
	ctx->test_domains = td;
	rc = td->handle;
	td = NULL;
	goto out_unlock;

out_free_dom:
	mock_domain_free(td->dom);
out_unlock:
	pthread_mutex_unlock(&ctx->hw_lock);
	ioasid_free(td);
out_put:
	ref_put_object(ctx, &ioas->obj);
	return rc;
}

static void test_domain_teardown(struct ioasid_ctx *ctx, struct ref_test_domain *td)
{
	iopt_table_remove_domain(&td->ioas->iopt, td->dom);
	mock_domain_free(td->dom);
	ref_object_release(ctx, &td->ioas->obj);
	ioasid_free(td);
}

int ioasid_test_domain_detach(struct ioasid_ctx *ctx, int handle)
{
	struct ref_test_domain **pp, *td = NULL;

	pthread_mutex_lock(&ctx->hw_lock);
	for (pp = &ctx->test_domains; *pp; pp = &(*pp)->next) {
		if ((*pp)->handle == handle) {
			td = *pp;
			*pp = td->next;
			break;
		}
	}
	pthread_mutex_unlock(&ctx->hw_lock);
	if (!td)
		return -ENOENT;
	test_domain_teardown(ctx, td);
	return 0;
}

void ref_test_domains_release(struct ioasid_ctx *ctx)
{
	struct ref_test_domain *td;

	while ((td = ctx->test_domains)) {
		ctx->test_domains = td->next;
		test_domain_teardown(ctx, td);
	}
	if (ctx->test_iommu) {
		mock_iommu_destroy(ctx->test_iommu);
		ctx->test_iommu = NULL;
	}
}

int ioasid_test_dma(struct ioasid_ctx *ctx, int handle, uint64_t iova, void *buf, size_t len,
		    int dir, uint64_t *fault_iova)
{
	struct ref_test_domain *td;
	struct mock_fault fault = { 0 };
	int rc;

	if (dir != MOCK_DMA_READ && dir != MOCK_DMA_WRITE)
		return -EINVAL;
	pthread_mutex_lock(&ctx->hw_lock);
	td = find_locked(ctx, handle);
	pthread_mutex_unlock(&ctx->hw_lock);
	if (!td)
		return -ENOENT;
	rc = mock_domain_dma(td->dom, 0, iova, buf, len, (enum mock_dma_dir)dir, &fault);
	IOASID_PROBE(dma, .ctx = ctx->cookie, .iommu = mock_iommu_caps(ctx->test_iommu)->event_id,
		     .domain = mock_domain_id(td->dom), .iova = iova, .length = len,
		     .aux = (uint32_t)dir, .result = rc, .flags = rc ? IOASID_EVF_REFUSED : 0);
	if (rc && fault_iova)
		*fault_iova = fault.iova;
	return rc;
}

int ioasid_test_iotlb_stats(struct ioasid_ctx *ctx, int handle, struct ioasid_iotlb_stats *out)
{
	struct mock_iotlb_stats st;
	struct ref_test_domain *td;

	pthread_mutex_lock(&ctx->hw_lock);
	td = find_locked(ctx, handle);
	if (td)
		mock_domain_iotlb_stats(td->dom, &st);
	pthread_mutex_unlock(&ctx->hw_lock);
	if (!td)
		return -ENOENT;
	*out = (struct ioasid_iotlb_stats){
		.hits = st.hits, .misses = st.misses, .stale_hits = st.stale_hits,
		.invalidations = st.invalidations, .entries = st.entries,
	};
	return 0;
}
