/* test_fail_nth.c — the fail-nth sweep (as the kernel's iommufd_fail_nth selftest): each
 * sequence runs with its 1st, 2nd, ... Nth allocation or object lookup failing, until a run
 * where the injection is never reached. Every run must end in success or a clean errno, and
 * closing the context must leave no allocation and no pinned page behind (ASan/LSan in the
 * sanitizer build catch anything else). Suite `fail_nth`. */
#include "ioasid_test.h"

#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL
#define MAX_NTH 5000

TestSuite(fail_nth);

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

static bool clean_errno(int rc)
{
	return rc == -ENOMEM || rc == -ENOENT || rc == -ENOSPC;
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
