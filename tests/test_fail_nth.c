/* test_fail_nth.c — the fail-nth sweep (as the kernel's iommufd_fail_nth selftest): each
 * sequence runs with its 1st, 2nd, ... Nth allocation or object lookup failing, until a run
 * where the injection is never reached. Every run must end in success or a clean errno, and
 * closing the context must leave no allocation and no pinned page behind (ASan/LSan in the
 * sanitizer build catch anything else). Suite `fail_nth`. */
#include "ioasid_test.h"

#include <sys/mman.h>
#include <stdlib.h>
#include <unistd.h>

#define PAGE 4096UL
#define MAX_NTH 5000

TestSuite(fail_nth);

static void quiet_private_platform(void)
{
	setenv("IOASID_QUIET", "1", 1);
	unsetenv("IOASID_PLATFORM");
	unsetenv("IOASID_TOPOLOGY");
}

typedef int (*sequence_fn)(struct ioasid_ctx *ctx, void *buf);

#define TRY(expr)                      \
	do {                           \
		int rc_ = (expr);      \
		if (rc_ < 0)           \
			return rc_;    \
	} while (0)

static int s_ioas_alloc(struct ioasid_ctx *ctx, uint32_t *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc = ioasid_ctx_ioctl(ctx, IOMMU_IOAS_ALLOC, &cmd);

	*id = cmd.out_ioas_id;
	return rc;
}

static int s_map(struct ioasid_ctx *ctx, uint32_t id, void *buf, uint64_t len, uint64_t *iova,
		 uint32_t flags)
{
	struct iommu_ioas_map cmd = { .size = sizeof(cmd), .flags = flags, .ioas_id = id,
				      .user_va = (uintptr_t)buf, .length = len, .iova = *iova };
	int rc = ioasid_ctx_ioctl(ctx, IOMMU_IOAS_MAP, &cmd);

	*iova = cmd.iova;
	return rc;
}

static int s_unmap(struct ioasid_ctx *ctx, uint32_t id, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap cmd = { .size = sizeof(cmd), .ioas_id = id, .iova = iova,
					.length = len };

	return ioasid_ctx_ioctl(ctx, IOMMU_IOAS_UNMAP, &cmd);
}

static int seq_map_domain(struct ioasid_ctx *ctx, void *buf)
{
	uint32_t id;
	uint64_t iova = 0x100000;
	uint8_t b[8];
	int dom;

	TRY(s_ioas_alloc(ctx, &id));
	TRY(dom = ioasid_test_domain_attach(ctx, id, 0));
	TRY(s_map(ctx, id, buf, 16 * PAGE, &iova, MAP_FIXED_RW));
	iova = 0;
	TRY(s_map(ctx, id, buf, 8 * PAGE, &iova, MAP_RW));
	TRY(ioasid_test_dma(ctx, dom, iova, b, sizeof(b), 0, NULL));
	TRY(s_unmap(ctx, id, 0x100000, 16 * PAGE));
	TRY(s_unmap(ctx, id, 0, UINT64_MAX));
	return 0;
}

static int seq_map_then_attach_two_domains(struct ioasid_ctx *ctx, void *buf)
{
	uint32_t id;
	uint64_t iova = 0x200000;

	TRY(s_ioas_alloc(ctx, &id));
	TRY(s_map(ctx, id, buf, 32 * PAGE, &iova, MAP_FIXED_RW));
	iova = 0x400000;
	TRY(s_map(ctx, id, buf, 4 * PAGE, &iova, MAP_FIXED_RW));
	TRY(ioasid_test_domain_attach(ctx, id, 0));
	TRY(ioasid_test_domain_attach(ctx, id, 0x1000));
	TRY(s_unmap(ctx, id, 0x200000, 32 * PAGE));
	return 0;
}

static int seq_copy(struct ioasid_ctx *ctx, void *buf)
{
	uint32_t a, b;
	uint64_t iova = 0x100000;
	struct iommu_ioas_copy cmd = { .size = sizeof(cmd), .flags = MAP_FIXED_RW,
				       .length = 16 * PAGE, .dst_iova = 0x800000,
				       .src_iova = 0x100000 };

	TRY(s_ioas_alloc(ctx, &a));
	TRY(s_ioas_alloc(ctx, &b));
	TRY(ioasid_test_domain_attach(ctx, a, 0));
	TRY(ioasid_test_domain_attach(ctx, b, 0));
	TRY(s_map(ctx, a, buf, 8 * PAGE, &iova, MAP_FIXED_RW));
	iova = 0x108000;
	TRY(s_map(ctx, a, (char *)buf + 8 * PAGE, 8 * PAGE, &iova, MAP_FIXED_RW));
	cmd.dst_ioas_id = b;
	cmd.src_ioas_id = a;
	TRY(ioasid_ctx_ioctl(ctx, IOMMU_IOAS_COPY, &cmd));
	TRY(s_unmap(ctx, a, 0, UINT64_MAX));
	TRY(s_unmap(ctx, b, 0x800000, 16 * PAGE));
	return 0;
}

static int seq_map_file(struct ioasid_ctx *ctx, void *buf)
{
	static int mfd = -1;
	uint32_t id;
	struct iommu_ioas_map_file cmd = { .size = sizeof(cmd), .flags = MAP_RW,
					   .length = 8 * PAGE };
	uint8_t b[8];
	int dom;

	if (mfd < 0) {
		mfd = memfd_create("fail-nth", MFD_CLOEXEC);
		if (mfd < 0 || ftruncate(mfd, 16 * PAGE))
			return -EIO;
	}
	TRY(s_ioas_alloc(ctx, &id));
	TRY(dom = ioasid_test_domain_attach(ctx, id, 0));
	cmd.ioas_id = id;
	cmd.fd = mfd;
	TRY(ioasid_ctx_ioctl(ctx, IOMMU_IOAS_MAP_FILE, &cmd));
	TRY(ioasid_test_dma(ctx, dom, cmd.iova, b, sizeof(b), 1, NULL));
	TRY(s_unmap(ctx, id, cmd.iova, 8 * PAGE));
	return 0;
}

static int seq_ranges_options(struct ioasid_ctx *ctx, void *buf)
{
	uint32_t id;
	struct iommu_iova_range r[2] = { { 0x1000, 0xffffff }, { 0x10000000, 0x1fffffff } };
	struct iommu_ioas_allow_iovas allow = { .size = sizeof(allow), .num_iovas = 2,
						.allowed_iovas = (uintptr_t)r };
	struct iommu_ioas_iova_ranges ranges = { .size = sizeof(ranges), .num_iovas = 2,
						 .allowed_iovas = (uintptr_t)r };
	struct iommu_option opt = { .size = sizeof(opt), .option_id = IOMMU_OPTION_HUGE_PAGES,
				    .op = IOMMU_OPTION_OP_SET };
	uint64_t iova = 0;

	TRY(s_ioas_alloc(ctx, &id));
	allow.ioas_id = id;
	ranges.ioas_id = id;
	opt.object_id = id;
	TRY(ioasid_ctx_ioctl(ctx, IOMMU_IOAS_ALLOW_IOVAS, &allow));
	TRY(ioasid_ctx_ioctl(ctx, IOMMU_OPTION, &opt));
	TRY(ioasid_test_domain_attach(ctx, id, 0));
	TRY(s_map(ctx, id, buf, 4 * PAGE, &iova, MAP_RW));
	TRY(ioasid_ctx_ioctl(ctx, IOMMU_IOAS_IOVA_RANGES, &ranges));
	struct iommu_destroy d = { .size = sizeof(d), .id = id };
	return ioasid_ctx_ioctl(ctx, IOMMU_DESTROY, &d) == -EBUSY ? 0 : -EIO;
}

/* The device side: bind, HWPTs (auto, paging with PASID and dirty tracking, nesting parent,
 * nested VT-d stage 1), RID and PASID attach/replace, a fault queue with an IOPF-capable HWPT,
 * DMA, detach and unbind. Cleanup runs with injection paused so a failure never strands a bound
 * device (which would keep the context alive). */
static int s_hwpt(struct ioasid_ctx *ctx, uint32_t dev, uint32_t pt, uint32_t flags,
		  uint32_t type, void *data, uint32_t len, uint32_t fault, uint32_t *out)
{
	struct iommu_hwpt_alloc cmd = { .size = sizeof(cmd), .flags = flags, .dev_id = dev,
					.pt_id = pt, .data_type = type, .data_len = len,
					.data_uptr = (uintptr_t)data, .fault_id = fault };
	int rc = ioasid_ctx_ioctl(ctx, IOMMU_HWPT_ALLOC, &cmd);

	*out = cmd.out_hwpt_id;
	return rc;
}

static int seq_devices(struct ioasid_ctx *ctx, void *buf)
{
	uint32_t a = 0, b = 0, ioas, pt, h_pasid, parent, nested, h_fault;
	struct iommu_hwpt_vtd_s1 s1 = { .pgtbl_addr = 0x100000, .addr_width = 48 };
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	uint64_t iova = 0x100000, fault_iova;
	unsigned int left;
	uint8_t b8[8];
	int rc, fault_fd = -1;

	rc = ioasid_device_bind(ctx, "0000:00:02.0", &a);
	if (rc)
		goto out;
	rc = ioasid_device_bind(ctx, "0000:00:04.0", &b);
	if (rc)
		goto out;
	if ((rc = s_ioas_alloc(ctx, &ioas)) ||
	    (rc = s_map(ctx, ioas, buf, 16 * PAGE, &iova, MAP_FIXED_RW)))
		goto out;
	pt = ioas;
	if ((rc = ioasid_device_attach(ctx, a, 0, &pt)) ||
	    (rc = ioasid_device_dma(ctx, a, 0, 0x100000, b8, sizeof(b8), 0, &fault_iova)))
		goto out;
	if ((rc = s_hwpt(ctx, b, ioas, IOMMU_HWPT_ALLOC_PASID | IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
			 0, NULL, 0, 0, &h_pasid)))
		goto out;
	pt = h_pasid;
	if ((rc = ioasid_device_attach(ctx, b, 0, &pt)))
		goto out;
	pt = h_pasid;
	if ((rc = ioasid_device_attach(ctx, b, 3, &pt)) ||
	    (rc = ioasid_device_dma(ctx, b, 3, 0x100000, b8, sizeof(b8), 1, &fault_iova)))
		goto out;
	if ((rc = s_hwpt(ctx, a, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, 0, NULL, 0, 0, &parent)) ||
	    (rc = s_hwpt(ctx, a, parent, 0, IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1), 0, &nested)))
		goto out;
	pt = nested;
	if ((rc = ioasid_device_replace(ctx, a, 0, &pt)))
		goto out;
	if ((rc = ioasid_ctx_ioctl(ctx, IOMMU_FAULT_QUEUE_ALLOC, &fa)))
		goto out;
	fault_fd = (int)fa.out_fault_fd;
	if ((rc = s_hwpt(ctx, b, ioas, IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID, 0, NULL,
			 0, fa.out_fault_id, &h_fault)))
		goto out;
	pt = h_fault;
	if ((rc = ioasid_device_replace(ctx, b, 3, &pt)))
		goto out;
	rc = ioasid_device_dma(ctx, b, 3, 0x900000, b8, sizeof(b8), 0, &fault_iova);
	if (rc == -EAGAIN)
		rc = 0;
out:
	left = ioasid_fail_nth_get();
	ioasid_fail_nth_set(0);
	if (a)
		ioasid_device_unbind(ctx, a);
	if (b)
		ioasid_device_unbind(ctx, b);
	if (fault_fd >= 0)
		ioasid_fd_close(fault_fd);
	ioasid_fail_nth_set(left);
	return rc;
}

/* What an injected failure may surface as. EINVAL: IOMMU_HWPT_ALLOC reports a pt_id lookup
 * that failed as EINVAL, as the kernel's iommufd_hwpt_alloc() does. */
static bool clean_errno(int rc)
{
	return rc == -ENOMEM || rc == -ENOENT || rc == -ENOSPC || rc == -EINVAL;
}

static void sweep(const char *name, sequence_fn fn)
{
	void *buf = mmap(NULL, 64 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	int64_t live0 = ioasid_live_allocations();
	unsigned int nth;

	cr_assert_neq(buf, MAP_FAILED);
	for (nth = 1; nth < MAX_NTH; nth++) {
		struct ioasid_ctx *ctx = NULL;
		struct ioasid_ctx_stats st;
		unsigned int left;
		int rc;

		ioasid_fail_nth_set(nth);
		rc = ioasid_ctx_open(&ctx);
		if (!rc)
			rc = fn(ctx, buf);
		left = ioasid_fail_nth_get();
		ioasid_fail_nth_set(0);
		cr_assert(rc == 0 || clean_errno(rc), "%s nth=%u: unexpected rc %d (%s)", name, nth,
			  rc, strerror(-rc));
		if (ctx) {
			cr_assert_eq(ioasid_ctx_get_stats(ctx, &st), 0);
			ioasid_ctx_close(ctx);
		}
		cr_assert_eq(ioasid_live_allocations(), live0, "%s nth=%u rc=%d leaked %lld", name,
			     nth, rc, (long long)(ioasid_live_allocations() - live0));
		if (rc == 0) {
			cr_assert_gt(left, 0, "%s nth=%u: injection fired yet the sequence "
					      "reported success", name, nth);
			break;
		}
		cr_assert_eq(left, 0, "%s nth=%u failed with %d without an injection", name, nth, rc);
	}
	cr_assert_lt(nth, MAX_NTH, "%s never completed", name);
	cr_assert_gt(nth, 5, "%s: sweep reached only %u injection points", name, nth);
	munmap(buf, 64 * PAGE);
}

Test(fail_nth, map_unmap_with_domain) { sweep("map_unmap", seq_map_domain); }
Test(fail_nth, map_then_attach_two_domains) { sweep("attach", seq_map_then_attach_two_domains); }
Test(fail_nth, copy) { sweep("copy", seq_copy); }
Test(fail_nth, map_file) { sweep("map_file", seq_map_file); }
Test(fail_nth, ranges_and_options) { sweep("ranges_options", seq_ranges_options); }
Test(fail_nth, devices_hwpt_pasid_fault, .init = quiet_private_platform)
{
	sweep("devices", seq_devices);
}
