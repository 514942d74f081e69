/* test_ioas.c — the IOAS ioctls (src/reference/ioas.c, io_pagetable.c): exact errnos and results
 * as the kernel gives them. Suite `ioas`. */
#include "ioasid_test.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>


#define PAGE 4096UL
#define BUF_SIZE (1UL << 21)

static void *buf;

static void ioas_setup(void)
{
	ctx_setup();
	/* 2 MiB-aligned so automatic IOVA alignment is predictable. */
	uint8_t *p = mmap(NULL, 2 * BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	cr_assert_neq(p, MAP_FAILED);
	buf = (void *)(((uintptr_t)p + BUF_SIZE - 1) & ~(BUF_SIZE - 1));
	memset(buf, 0x5a, BUF_SIZE);
}

TestSuite(ioas, .init = ioas_setup, .fini = ctx_teardown);

Test(ioas, alloc_flags)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd), .flags = 1 };

	assert_rc(-EOPNOTSUPP, _ioctl(IOMMU_IOAS_ALLOC, &cmd));
}

Test(ioas, map_argument_checks)
{
	uint32_t id = ioas_alloc_ok();
	uint64_t iova = 0x100000;

	assert_rc(-EOPNOTSUPP, _ioas_map(id, buf, PAGE, &iova, MAP_FIXED_RW | (1u << 3)));
	{
		struct iommu_ioas_map cmd = { .size = sizeof(cmd), .flags = MAP_RW, .ioas_id = id,
					      .__reserved = 1, .user_va = (uintptr_t)buf,
					      .length = PAGE };
		assert_rc(-EOPNOTSUPP, _ioctl(IOMMU_IOAS_MAP, &cmd));
	}
	iova = UINT64_MAX;
	assert_rc(-EOVERFLOW, _ioas_map(id, buf, PAGE, &iova, MAP_FIXED_RW));
	iova = 0x100000;
	assert_rc(-EOVERFLOW, _ioas_map(id, buf, UINT64_MAX, &iova, MAP_FIXED_RW));
	assert_rc(-EINVAL, _ioas_map(id, buf, PAGE, &iova, IOMMU_IOAS_MAP_FIXED_IOVA));
	assert_rc(-ENOENT, _ioas_map(id + 1, buf, PAGE, &iova, MAP_FIXED_RW));
	assert_rc(-EINVAL, _ioas_map(id, buf, 0, &iova, MAP_FIXED_RW));
	/* user_va + length wraps */
	{
		struct iommu_ioas_map cmd = { .size = sizeof(cmd), .flags = MAP_FIXED_RW,
					      .ioas_id = id, .user_va = UINT64_MAX - PAGE + 1,
					      .length = 2 * PAGE, .iova = 0x100000 };
		assert_rc(-EOVERFLOW, _ioctl(IOMMU_IOAS_MAP, &cmd));
	}
	/* iova + length - 1 wraps */
	iova = UINT64_MAX - PAGE;
	assert_rc(-EOVERFLOW, _ioas_map(id, buf, 2 * PAGE, &iova, MAP_FIXED_RW));
}

Test(ioas, map_fixed_and_overlap)
{
	uint32_t id = ioas_alloc_ok();

	ioas_map_fixed_ok(id, buf, 4 * PAGE, 0x100000);
	ioas_map_fixed_err(EEXIST, id, buf, PAGE, 0x100000);
	ioas_map_fixed_err(EEXIST, id, buf, PAGE, 0x100000 + 3 * PAGE);
	ioas_map_fixed_err(EEXIST, id, buf, 2 * PAGE, 0x100000 - PAGE);
	ioas_map_fixed_ok(id, buf, PAGE, 0x100000 + 4 * PAGE);
	ioas_map_fixed_ok(id, buf, PAGE, 0x100000 - PAGE);
	/* No domain: byte granular, any user address, IOVA 0 allowed. */
	ioas_map_fixed_ok(id, (char *)buf + 1, 7, 0);
	ioas_map_fixed_ok(id, (char *)buf + 3, 5, 7);
}

Test(ioas, map_without_domain_does_not_touch_memory)
{
	uint32_t id = ioas_alloc_ok();

	/* The kernel pins lazily: with no domain or access, nothing is pinned yet. */
	ioas_map_fixed_ok(id, (void *)0x1000, 16 * PAGE, 0x100000);
	int dom = ioasid_test_domain_attach(self, id, 0);
	cr_assert_eq(dom, -EFAULT, "attach must pin and fail on the bogus address: %d", dom);
	ioas_unmap_ok(id, 0x100000, 16 * PAGE, 16 * PAGE);
}

Test(ioas, automatic_iova)
{
	uint32_t id = ioas_alloc_ok();
	uint64_t a, b, c, d;

	/* Never 0; alignment = min(roundup_pow_of_two(len), lowest set bit of user_va). */
	a = ioas_map_auto_ok(id, buf, PAGE);
	cr_assert_eq(a, PAGE, "first 4K auto map at %#llx", (unsigned long long)a);
	b = ioas_map_auto_ok(id, buf, BUF_SIZE);
	cr_assert_eq(b, BUF_SIZE, "2M aligned buffer lands 2M aligned: %#llx",
		     (unsigned long long)b);
	c = ioas_map_auto_ok(id, (char *)buf + PAGE, 3 * PAGE);
	cr_assert_eq(c, 2 * PAGE, "%#llx", (unsigned long long)c);
	/* Sub-page offsets are kept. */
	d = ioas_map_auto_ok(id, (char *)buf + 0x10, 0x20);
	cr_assert_eq(d & 0xfff, 0x10, "%#llx", (unsigned long long)d);
	cr_assert_eq(d, 0x5010, "%#llx", (unsigned long long)d);
}

Test(ioas, automatic_iova_respects_allowed_and_reserved)
{
	uint32_t id = ioas_alloc_ok();
	struct iommu_iova_range ranges[2] = {
		{ .start = 0x10000000, .last = 0x10003fff },
		{ .start = 0x20000000, .last = 0x2fffffff },
	};
	struct iommu_ioas_allow_iovas allow = { .size = sizeof(allow), .ioas_id = id,
						.num_iovas = 2, .allowed_iovas = (uintptr_t)ranges };
	uint64_t iova;

	assert_rc(0, _ioctl(IOMMU_IOAS_ALLOW_IOVAS, &allow));
	iova = ioas_map_auto_ok(id, buf, 2 * PAGE);
	cr_assert_eq(iova, 0x10000000);
	iova = ioas_map_auto_ok(id, buf, 2 * PAGE);
	cr_assert_eq(iova, 0x10002000);
	/* The first range is full now. */
	iova = ioas_map_auto_ok(id, buf, PAGE);
	cr_assert_eq(iova, 0x20000000);
	/* Too big for any allowed range. */
	iova = 0;
	assert_rc(-ENOSPC, _ioas_map(id, buf, 0x20000000, &iova, MAP_RW));
	/* Fixed maps are not limited by the allowed list. */
	ioas_map_fixed_ok(id, buf, PAGE, 0x40000000);
}

Test(ioas, allow_iovas_checks)
{
	uint32_t id = ioas_alloc_ok();
	struct iommu_iova_range r[2];
	struct iommu_ioas_allow_iovas allow = { .size = sizeof(allow), .ioas_id = id,
						.allowed_iovas = (uintptr_t)r };

	allow.__reserved = 1;
	assert_rc(-EOPNOTSUPP, _ioctl(IOMMU_IOAS_ALLOW_IOVAS, &allow));
	allow.__reserved = 0;
	r[0] = (struct iommu_iova_range){ .start = 0x2000, .last = 0x2000 };
	allow.num_iovas = 1;
	assert_rc(-EINVAL, _ioctl(IOMMU_IOAS_ALLOW_IOVAS, &allow)); /* start >= last */
	r[0] = (struct iommu_iova_range){ .start = 0x1000, .last = 0x3fff };
	r[1] = (struct iommu_iova_range){ .start = 0x3000, .last = 0x4fff };
	allow.num_iovas = 2;
	assert_rc(-EINVAL, _ioctl(IOMMU_IOAS_ALLOW_IOVAS, &allow)); /* overlap */
	allow.allowed_iovas = 8;
	assert_rc(-EFAULT, _ioctl(IOMMU_IOAS_ALLOW_IOVAS, &allow));
	allow.num_iovas = 0; /* clears */
	assert_rc(0, _ioctl(IOMMU_IOAS_ALLOW_IOVAS, &allow));
}

Test(ioas, allowed_range_outside_aperture_blocks_attach)
{
	uint32_t id = ioas_alloc_ok();
	struct iommu_iova_range r = { .start = 1ULL << 50, .last = (1ULL << 50) + 0xffff };
	struct iommu_ioas_allow_iovas allow = { .size = sizeof(allow), .ioas_id = id,
						.num_iovas = 1, .allowed_iovas = (uintptr_t)&r };

	assert_rc(0, _ioctl(IOMMU_IOAS_ALLOW_IOVAS, &allow));
	/* The 48-bit domain would reserve above 2^48: that overlaps an allowed range. */
	assert_rc(-EADDRINUSE, ioasid_test_domain_attach(self, id, 0));
	allow.num_iovas = 0;
	assert_rc(0, _ioctl(IOMMU_IOAS_ALLOW_IOVAS, &allow));
	int dom = ioasid_test_domain_attach(self, id, 0);
	cr_assert_gt(dom, 0);
	/* And now the reserved aperture refuses the allowed range. */
	allow.num_iovas = 1;
	assert_rc(-EADDRINUSE, _ioctl(IOMMU_IOAS_ALLOW_IOVAS, &allow));
}

Test(ioas, iova_ranges)
{
	uint32_t id = ioas_alloc_ok();
	struct iommu_iova_range r[4];
	struct iommu_ioas_iova_ranges cmd = { .size = sizeof(cmd), .ioas_id = id };

	/* num_iovas 0: EMSGSIZE and the needed count. */
	assert_rc(-EMSGSIZE, _ioctl(IOMMU_IOAS_IOVA_RANGES, &cmd));
	cr_assert_eq(cmd.num_iovas, 1);
	cr_assert_eq(cmd.out_iova_alignment, 1);
	cmd.allowed_iovas = (uintptr_t)r;
	assert_rc(0, _ioctl(IOMMU_IOAS_IOVA_RANGES, &cmd));
	cr_assert_eq(r[0].start, 0);
	cr_assert_eq(r[0].last, UINT64_MAX);

	cr_assert_gt(ioasid_test_domain_attach(self, id, 0), 0);
	cmd.num_iovas = 4;
	assert_rc(0, _ioctl(IOMMU_IOAS_IOVA_RANGES, &cmd));
	cr_assert_eq(cmd.num_iovas, 1);
	cr_assert_eq(r[0].start, 0);
	cr_assert_eq(r[0].last, (1ULL << 48) - 1);
	cr_assert_eq(cmd.out_iova_alignment, PAGE);

	cmd.__reserved = 1;
	assert_rc(-EOPNOTSUPP, _ioctl(IOMMU_IOAS_IOVA_RANGES, &cmd));
	cmd.__reserved = 0;
	cmd.ioas_id = 99;
	assert_rc(-ENOENT, _ioctl(IOMMU_IOAS_IOVA_RANGES, &cmd));
	cmd.ioas_id = id;
	cmd.allowed_iovas = 8;
	assert_rc(-EFAULT, _ioctl(IOMMU_IOAS_IOVA_RANGES, &cmd));
}

Test(ioas, unmap_whole_areas_only)
{
	uint32_t id = ioas_alloc_ok();

	ioas_map_fixed_ok(id, buf, 4 * PAGE, 0x100000);
	ioas_map_fixed_ok(id, buf, 4 * PAGE, 0x104000);
	ioas_map_fixed_ok(id, buf, 4 * PAGE, 0x200000);
	ioas_unmap_err(ENOENT, id, 0x100000, PAGE);           /* would split */
	ioas_unmap_err(ENOENT, id, 0x101000, 4 * PAGE);
	ioas_unmap_err(ENOENT, id, 0x300000, PAGE);           /* nothing there */
	ioas_unmap_err(EINVAL, id, 0x100000, 0);
	ioas_unmap_err(EOVERFLOW, id, UINT64_MAX - PAGE, 2 * PAGE);
	ioas_unmap_err(EOVERFLOW, id, UINT64_MAX, PAGE);
	/* A superset of two areas unmaps both and reports the sum. */
	ioas_unmap_ok(id, 0x0ff000, 0x10000, 8 * PAGE);
	/* The area below a straddling one is unmapped before ENOENT (kernel order). */
	ioas_map_fixed_ok(id, buf, 4 * PAGE, 0x100000);
	ioas_unmap_err(ENOENT, id, 0x100000, 0x101000);
	ioas_unmap_err(ENOENT, id, 0x100000, 4 * PAGE);       /* already gone */
	ioas_unmap_ok(id, 0, UINT64_MAX, 4 * PAGE);            /* unmap all */
	ioas_unmap_ok(id, 0, UINT64_MAX, 0);                   /* empty: success, 0 bytes */
	ioas_unmap_err(ENOENT, id + 1, 0, UINT64_MAX);
}

Test(ioas, copy)
{
	uint32_t src = ioas_alloc_ok(), dst = ioas_alloc_ok();
	uint64_t iova = 0x400000;

	ioas_map_fixed_ok(src, buf, 8 * PAGE, 0x100000);
	ioas_map_fixed_ok(src, (char *)buf + 8 * PAGE, 8 * PAGE, 0x108000);
	/* Whole area, a slice, and a range across two contiguous areas. */
	assert_rc(0, _ioas_copy(dst, &iova, src, 0x100000, 8 * PAGE, MAP_FIXED_RW));
	iova = 0;
	assert_rc(0, _ioas_copy(dst, &iova, src, 0x102000, 2 * PAGE, MAP_RW));
	cr_assert_eq(iova, 0x2000, "%#llx", (unsigned long long)iova);
	iova = 0x800000;
	assert_rc(0, _ioas_copy(dst, &iova, src, 0x104000, 8 * PAGE, MAP_FIXED_RW));
	/* Errors. */
	iova = 0x900000;
	assert_rc(-ENOENT, _ioas_copy(dst, &iova, src, 0x200000, PAGE, MAP_FIXED_RW));
	assert_rc(-ENOENT, _ioas_copy(dst, &iova, src, 0x10f000, 2 * PAGE, MAP_FIXED_RW));
	assert_rc(-EEXIST, _ioas_copy(dst, &(uint64_t){ 0x400000 }, src, 0x100000, PAGE,
				      MAP_FIXED_RW));
	assert_rc(-EINVAL, _ioas_copy(dst, &iova, src, 0x100000, 0, MAP_FIXED_RW));
	assert_rc(-EINVAL, _ioas_copy(dst, &iova, src, 0x100000, PAGE, IOMMU_IOAS_MAP_FIXED_IOVA));
	assert_rc(-EOPNOTSUPP, _ioas_copy(dst, &iova, src, 0x100000, PAGE, MAP_FIXED_RW | 8));
	assert_rc(-EOVERFLOW, _ioas_copy(dst, &iova, src, UINT64_MAX, PAGE, MAP_FIXED_RW));
	assert_rc(-ENOENT, _ioas_copy(dst, &iova, 77, 0x100000, PAGE, MAP_FIXED_RW));
	assert_rc(-ENOENT, _ioas_copy(77, &iova, src, 0x100000, PAGE, MAP_FIXED_RW));
	/* Source gone, copies stay. */
	ioas_unmap_ok(src, 0, UINT64_MAX, 16 * PAGE);
	ioas_unmap_ok(dst, 0, UINT64_MAX, 18 * PAGE);
}

Test(ioas, copy_readonly_source_cannot_become_writeable)
{
	uint32_t src = ioas_alloc_ok(), dst = ioas_alloc_ok();
	uint64_t iova = 0x100000;

	assert_rc(0, _ioas_map(src, buf, PAGE, &iova,
			       IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE));
	assert_rc(-EPERM, _ioas_copy(dst, &iova, src, 0x100000, PAGE, MAP_FIXED_RW));
	assert_rc(0, _ioas_copy(dst, &iova, src, 0x100000, PAGE,
				IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE));
}

Test(ioas, option_huge_pages)
{
	uint32_t id = ioas_alloc_ok();
	uint64_t v = 99;

	assert_rc(0, _option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, id, &v));
	cr_assert_eq(v, 1);
	v = 0;
	assert_rc(0, _option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, id, &v));
	assert_rc(0, _option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, id, &v));
	cr_assert_eq(v, 0);
	/* Base pages force PAGE_SIZE alignment even with no domain. */
	struct iommu_ioas_iova_ranges r = { .size = sizeof(r), .ioas_id = id };
	assert_rc(-EMSGSIZE, _ioctl(IOMMU_IOAS_IOVA_RANGES, &r));
	cr_assert_eq(r.out_iova_alignment, PAGE);
	ioas_map_fixed_err(EINVAL, id, buf, PAGE, 0x100100);
	v = 2;
	assert_rc(-EINVAL, _option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, id, &v));
	assert_rc(-EOPNOTSUPP, _option(IOMMU_OPTION_HUGE_PAGES, 2, id, &v));
	assert_rc(-ENOENT, _option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, id + 1, &v));
	/* Cannot turn huge pages off once a domain holds mappings. */
	v = 1;
	assert_rc(0, _option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, id, &v));
	ioas_map_fixed_ok(id, buf, BUF_SIZE, BUF_SIZE);
	cr_assert_gt(ioasid_test_domain_attach(self, id, 0), 0);
	v = 0;
	assert_rc(-EINVAL, _option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, id, &v));
}

Test(ioas, option_rlimit_mode_and_errors)
{
	uint64_t v = 7;
	struct iommu_option cmd = { .size = sizeof(cmd), .option_id = IOMMU_OPTION_RLIMIT_MODE,
				    .op = IOMMU_OPTION_OP_GET, .__reserved = 1 };

	assert_rc(-EOPNOTSUPP, _ioctl(IOMMU_OPTION, &cmd));
	assert_rc(0, _option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &v));
	cr_assert_eq(v, 0);
	assert_rc(-EOPNOTSUPP, _option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 1, &v));
	assert_rc(-EOPNOTSUPP, _option(5, IOMMU_OPTION_OP_GET, 0, &v));
	assert_rc(-EOPNOTSUPP, _option(IOMMU_OPTION_RLIMIT_MODE, 3, 0, &v));
	v = 1;
	if (have_cap(CAP_SYS_RESOURCE)) {
		assert_rc(0, _option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v));
		assert_rc(0, _option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &v));
		cr_assert_eq(v, 1);
		v = 2;
		assert_rc(-EINVAL, _option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v));
		ioas_alloc_ok();
		v = 0;
		assert_rc(-EBUSY, _option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v));
	} else {
		assert_rc(-EPERM, _option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v));
	}
}

Test(ioas, map_file)
{
	uint32_t id = ioas_alloc_ok();
	int mfd = memfd_create("ioasid-test", 0);
	struct iommu_ioas_map_file cmd = { .size = sizeof(cmd), .flags = MAP_FIXED_RW,
					   .ioas_id = id, .fd = mfd, .start = PAGE,
					   .length = 4 * PAGE, .iova = 0x100000 };
	uint8_t got[16];
	uint64_t fault;

	cr_assert_geq(mfd, 0);
	cr_assert_eq(ftruncate(mfd, 8 * PAGE), 0);
	cr_assert_eq(pwrite(mfd, "file-backed DMA", 16, PAGE), 16);
	assert_rc(0, _ioctl(IOMMU_IOAS_MAP_FILE, &cmd));
	int dom = ioasid_test_domain_attach(self, id, 0);
	cr_assert_gt(dom, 0);
	assert_rc(0, ioasid_test_dma(self, dom, 0x100000, got, 16, 0, &fault));
	cr_assert_str_eq((char *)got, "file-backed DMA");
	/* Device writes land in the file. */
	assert_rc(0, ioasid_test_dma(self, dom, 0x100000 + PAGE, "written", 8, 1, &fault));
	cr_assert_eq(pread(mfd, got, 8, 2 * PAGE), 8);
	cr_assert_str_eq((char *)got, "written");

	cmd.flags = MAP_FIXED_RW | 16;
	assert_rc(-EOPNOTSUPP, _ioctl(IOMMU_IOAS_MAP_FILE, &cmd));
	cmd.flags = MAP_FIXED_RW;
	cmd.iova = 0x200000;
	cmd.fd = -1;
	assert_rc(-EBADF, _ioctl(IOMMU_IOAS_MAP_FILE, &cmd));
	cmd.fd = mfd;
	cmd.length = 0;
	assert_rc(-EINVAL, _ioctl(IOMMU_IOAS_MAP_FILE, &cmd));
	cmd.length = PAGE;
	cmd.start = UINT64_MAX - 10;
	assert_rc(-EOVERFLOW, _ioctl(IOMMU_IOAS_MAP_FILE, &cmd));
	/* Past the end of the file: refused when pinning (a domain is attached). */
	cmd.start = 8 * PAGE;
	assert_rc(-EINVAL, _ioctl(IOMMU_IOAS_MAP_FILE, &cmd));
	close(mfd);
	/* The mapping keeps its own reference on the file. */
	assert_rc(0, ioasid_test_dma(self, dom, 0x100000, got, 16, 0, &fault));
	cr_assert_str_eq((char *)got, "file-backed DMA");
}

Test(ioas, map_file_rejects_non_shmem)
{
	uint32_t id = ioas_alloc_ok();
	int fd = open("/proc/self/exe", O_RDONLY);
	struct iommu_ioas_map_file cmd = { .size = sizeof(cmd),
					   .flags = IOMMU_IOAS_MAP_FIXED_IOVA |
						    IOMMU_IOAS_MAP_READABLE,
					   .ioas_id = id, .fd = fd, .length = PAGE,
					   .iova = 0x100000 };

	cr_assert_gt(ioasid_test_domain_attach(self, id, 0), 0);
	assert_rc(-EINVAL, _ioctl(IOMMU_IOAS_MAP_FILE, &cmd));
	close(fd);
}
