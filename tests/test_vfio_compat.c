/* test_vfio_compat.c — the VFIO type1 compat layer on an iommufd context and IOMMU_VFIO_IOAS
 * (src/reference/vfio_compat.c). Suites `vfio_compat` (no compat IOAS: the kernel selftest's
 * iommufd.{simple_ioctls, unmap_cmd, map_cmd, info_cmd, set_iommu_cmd, vfio_ioas}) and
 * `vfio_compat_v1` / `vfio_compat_v2` (the selftest's vfio_compat_mock_domain fixture with its
 * Ver1v0 / Ver1v2 variants: an IOAS with a domain, made the compat IOAS, SET_IOMMU done).
 * Exact errnos throughout; expectations come from the kernel's vfio_compat.c, not from ours. */
#include "ioasid_test.h"

#include <linux/vfio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "common/compiler.h"
#include "reference/device.h"
#include "reference/io_pagetable.h"

#define PAGE 4096UL
#define BUFFER_SIZE (1UL << 20)
#define HUGE (2UL << 20)

static void *buffer;

/* ---- helpers: one triple per ioctl ------------------------------------------------------- */

static int _vfio_ioctl(unsigned long cmd, unsigned long arg)
{
	return _ioctl(cmd, (void *)(uintptr_t)arg);
}

static int _vfio_ioas(uint16_t op, uint32_t *ioas_id)
{
	struct iommu_vfio_ioas cmd = { .size = sizeof(cmd), .op = op,
				       .ioas_id = ioas_id ? *ioas_id : 0 };
	int rc = _ioctl(IOMMU_VFIO_IOAS, &cmd);

	if (!rc && ioas_id)
		*ioas_id = cmd.ioas_id;
	return rc;
}
#define vfio_ioas_ok(op, id) assert_rc(0, _vfio_ioas(op, id))
#define vfio_ioas_err(e, op, id) assert_rc(-(e), _vfio_ioas(op, id))

static int _map_dma(uint64_t iova, void *va, uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_map cmd = { .argsz = sizeof(cmd), .flags = flags,
						.vaddr = (uintptr_t)va, .iova = iova, .size = size };

	return _ioctl(VFIO_IOMMU_MAP_DMA, &cmd);
}
#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define map_dma_ok(iova, va, size) assert_rc(0, _map_dma(iova, va, size, RW))
#define map_dma_err(e, iova, va, size) assert_rc(-(e), _map_dma(iova, va, size, RW))

static int _unmap_dma(uint64_t iova, uint64_t size, uint32_t flags, uint64_t *out_size)
{
	struct vfio_iommu_type1_dma_unmap cmd = { .argsz = sizeof(cmd), .flags = flags,
						  .iova = iova, .size = size };
	int rc = _ioctl(VFIO_IOMMU_UNMAP_DMA, &cmd);

	if (out_size)
		*out_size = cmd.size;
	return rc;
}
static void unmap_dma_ok(uint64_t iova, uint64_t size, uint64_t expect)
{
	uint64_t out = 0;

	assert_rc(0, _unmap_dma(iova, size, 0, &out));
	cr_assert_eq(out, expect, "unmapped %llu, expected %llu", (unsigned long long)out,
		     (unsigned long long)expect);
}
#define unmap_dma_err(e, iova, size) assert_rc(-(e), _unmap_dma(iova, size, 0, NULL))

static bool is_filled(const void *buf, uint8_t c, size_t len)
{
	const uint8_t *p = buf;

	for (; len; p++, len--)
		if (*p != c)
			return false;
	return true;
}

/* Run an ioctl on the struct at the start of `buffer` and check nothing past its argsz moved. */
static void ioctl_check_buf(unsigned long cmd)
{
	size_t len = *(uint32_t *)buffer;

	memset((uint8_t *)buffer + len, 0xAA, BUFFER_SIZE - len);
	assert_rc(0, _ioctl(cmd, buffer));
	cr_assert(is_filled((uint8_t *)buffer + len, 0xAA, BUFFER_SIZE - len),
		  "the ioctl wrote past argsz %zu", len);
}

static void compat_setup(void)
{
	ctx_setup();
	buffer = mmap(NULL, BUFFER_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(buffer, MAP_FAILED);
	memset(buffer, 0x5a, BUFFER_SIZE);
}

static void compat_teardown(void)
{
	ctx_teardown();
	munmap(buffer, BUFFER_SIZE);
}

/* ---- no compat IOAS: kernel selftest iommufd.* ------------------------------------------------ */

TestSuite(vfio_compat, .init = compat_setup, .fini = compat_teardown);

Test(vfio_compat, simple_ioctls)
{
	assert_rc(VFIO_API_VERSION, _vfio_ioctl(VFIO_GET_API_VERSION, 0));
	assert_rc(1, _vfio_ioctl(VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	assert_rc(1, _vfio_ioctl(VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU));
	assert_rc(1, _vfio_ioctl(VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL));
	assert_rc(0, _vfio_ioctl(VFIO_CHECK_EXTENSION, VFIO_TYPE1_NESTING_IOMMU));
	assert_rc(0, _vfio_ioctl(VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR));
	assert_rc(0, _vfio_ioctl(VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU));
	assert_rc(0, _vfio_ioctl(VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU));
	assert_rc(0, _vfio_ioctl(VFIO_CHECK_EXTENSION, 12345));
	/* Cache coherency is a property of the compat IOAS's domains: none yet. */
	assert_rc(-ENODEV, _vfio_ioctl(VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));
}

Test(vfio_compat, unknown_ioctls)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };

	/* VFIO_IOMMU_DIRTY_PAGES is not emulated; group/device ioctls are not iommufd's. */
	assert_rc(-ENOTTY, _ioctl(VFIO_IOMMU_DIRTY_PAGES, buffer));
	assert_rc(-ENOTTY, _ioctl(VFIO_GROUP_GET_STATUS, &st));
	assert_rc(-ENOTTY, _ioctl(VFIO_DEVICE_GET_INFO, buffer));
	assert_rc(-ENOTTY, _ioctl(_IO(VFIO_TYPE, VFIO_BASE + 27), buffer));
}

Test(vfio_compat, unmap_cmd)
{
	struct vfio_iommu_type1_dma_unmap cmd = { .iova = 1UL << 24, .size = PAGE };

	cmd.argsz = 1;
	assert_rc(-EINVAL, _ioctl(VFIO_IOMMU_UNMAP_DMA, &cmd));
	cmd.argsz = offsetof(struct vfio_iommu_type1_dma_unmap, size) + 7;
	assert_rc(-EINVAL, _ioctl(VFIO_IOMMU_UNMAP_DMA, &cmd));
	cmd.argsz = sizeof(cmd);
	cmd.flags = 1u << 31;
	assert_rc(-EINVAL, _ioctl(VFIO_IOMMU_UNMAP_DMA, &cmd));
	/* The dirty bitmap moved to IOMMU_HWPT_GET_DIRTY_BITMAP: refused as unknown. */
	cmd.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	assert_rc(-EINVAL, _ioctl(VFIO_IOMMU_UNMAP_DMA, &cmd));
	cmd.flags = 0;
	assert_rc(-ENODEV, _ioctl(VFIO_IOMMU_UNMAP_DMA, &cmd));
	cmd.flags = VFIO_DMA_UNMAP_FLAG_ALL;
	assert_rc(-ENODEV, _ioctl(VFIO_IOMMU_UNMAP_DMA, &cmd));
	assert_rc(-EFAULT, _ioctl(VFIO_IOMMU_UNMAP_DMA, (void *)8));
}

Test(vfio_compat, map_cmd)
{
	struct vfio_iommu_type1_dma_map cmd = { .iova = 1UL << 24, .size = PAGE,
						.vaddr = (uintptr_t)buffer };

	cmd.argsz = 1;
	assert_rc(-EINVAL, _ioctl(VFIO_IOMMU_MAP_DMA, &cmd));
	cmd.argsz = sizeof(cmd);
	cmd.flags = 1u << 31;
	assert_rc(-EINVAL, _ioctl(VFIO_IOMMU_MAP_DMA, &cmd));
	cmd.flags = RW | VFIO_DMA_MAP_FLAG_VADDR; /* not offered (CHECK_EXTENSION says 0) */
	assert_rc(-EINVAL, _ioctl(VFIO_IOMMU_MAP_DMA, &cmd));
	cmd.flags = RW;
	assert_rc(-ENODEV, _ioctl(VFIO_IOMMU_MAP_DMA, &cmd));
	assert_rc(-EFAULT, _ioctl(VFIO_IOMMU_MAP_DMA, (void *)8));
}

Test(vfio_compat, info_cmd)
{
	struct vfio_iommu_type1_info cmd = { 0 };

	cmd.argsz = 1;
	assert_rc(-EINVAL, _ioctl(VFIO_IOMMU_GET_INFO, &cmd));
	cmd.argsz = offsetof(struct vfio_iommu_type1_info, iova_pgsizes) + 7;
	assert_rc(-EINVAL, _ioctl(VFIO_IOMMU_GET_INFO, &cmd));
	cmd.argsz = sizeof(cmd);
	assert_rc(-ENODEV, _ioctl(VFIO_IOMMU_GET_INFO, &cmd));
}

Test(vfio_compat, set_iommu_cmd)
{
	/* VFIO refuses SET_IOMMU without a group: no compat IOAS. */
	assert_rc(-ENODEV, _vfio_ioctl(VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	assert_rc(-ENODEV, _vfio_ioctl(VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	/* The type is checked first. */
	assert_rc(-EINVAL, _vfio_ioctl(VFIO_SET_IOMMU, VFIO_SPAPR_TCE_IOMMU));
	assert_rc(-EINVAL, _vfio_ioctl(VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU));
	assert_rc(-EINVAL, _vfio_ioctl(VFIO_SET_IOMMU, 0));
}

Test(vfio_compat, vfio_ioas)
{
	uint32_t ioas_id, id = 0;

	vfio_ioas_err(ENODEV, IOMMU_VFIO_IOAS_GET, &id);
	/* Invalid id for set */
	vfio_ioas_err(ENOENT, IOMMU_VFIO_IOAS_SET, &id);
	/* Valid id for set, the same comes back from get */
	ioas_id = ioas_alloc_ok();
	vfio_ioas_ok(IOMMU_VFIO_IOAS_SET, &ioas_id);
	id = 0;
	vfio_ioas_ok(IOMMU_VFIO_IOAS_GET, &id);
	cr_assert_eq(id, ioas_id);
	/* Clear works */
	vfio_ioas_ok(IOMMU_VFIO_IOAS_CLEAR, NULL);
	vfio_ioas_err(ENODEV, IOMMU_VFIO_IOAS_GET, &id);
	vfio_ioas_ok(IOMMU_VFIO_IOAS_CLEAR, NULL);
}

Test(vfio_compat, vfio_ioas_argument_checks)
{
	struct iommu_vfio_ioas cmd = { .size = sizeof(cmd), .op = IOMMU_VFIO_IOAS_GET,
				       .__reserved = 1 };

	assert_rc(-EOPNOTSUPP, _ioctl(IOMMU_VFIO_IOAS, &cmd));
	cmd.__reserved = 0;
	cmd.op = 3;
	assert_rc(-EOPNOTSUPP, _ioctl(IOMMU_VFIO_IOAS, &cmd));
	cmd.size = offsetof(struct iommu_vfio_ioas, __reserved) + 1;
	assert_rc(-EINVAL, _ioctl(IOMMU_VFIO_IOAS, &cmd));
	/* A non-IOAS object is not an IOAS (ENOENT), as for any IOAS lookup. */
	cmd.size = sizeof(cmd);
	cmd.op = IOMMU_VFIO_IOAS_SET;
	cmd.ioas_id = 1000;
	assert_rc(-ENOENT, _ioctl(IOMMU_VFIO_IOAS, &cmd));
}

Test(vfio_compat, destroying_the_compat_ioas_forgets_it)
{
	uint32_t ioas_id = ioas_alloc_ok(), id = 0;

	vfio_ioas_ok(IOMMU_VFIO_IOAS_SET, &ioas_id);
	destroy_ok(ioas_id);
	vfio_ioas_err(ENODEV, IOMMU_VFIO_IOAS_GET, &id);
	map_dma_err(ENODEV, 1UL << 24, buffer, PAGE);
	/* A new IOAS that reuses the ID is not the compat IOAS. */
	cr_assert_eq(ioas_alloc_ok(), ioas_id);
	vfio_ioas_err(ENODEV, IOMMU_VFIO_IOAS_GET, &id);
}

Test(vfio_compat, compat_ioas_create_and_get_id)
{
	uint32_t a = 0, b = 0, c = 0, user;

	assert_rc(-ENODEV, ref_vfio_compat_ioas_get_id(self, &a));
	assert_rc(0, ref_vfio_compat_ioas_create(self, &a));
	cr_assert_neq(a, 0);
	/* A second group joining finds the same one. */
	assert_rc(0, ref_vfio_compat_ioas_create(self, &b));
	cr_assert_eq(a, b);
	assert_rc(0, ref_vfio_compat_ioas_get_id(self, &c));
	cr_assert_eq(a, c);
	/* It is an ordinary, user-visible object: GET reports it, DESTROY removes it. */
	c = 0;
	vfio_ioas_ok(IOMMU_VFIO_IOAS_GET, &c);
	cr_assert_eq(a, c);
	/* A user-chosen IOAS wins over creation. */
	user = ioas_alloc_ok();
	vfio_ioas_ok(IOMMU_VFIO_IOAS_SET, &user);
	assert_rc(0, ref_vfio_compat_ioas_create(self, &b));
	cr_assert_eq(b, user);
	destroy_ok(a);
}

Test(vfio_compat, map_without_a_domain)
{
	uint32_t ioas_id = ioas_alloc_ok();

	vfio_ioas_ok(IOMMU_VFIO_IOAS_SET, &ioas_id);
	/* type1 maps are always at a fixed IOVA; visible through the IOAS like any map. */
	map_dma_ok(1UL << 24, buffer, 4 * PAGE);
	map_dma_err(EEXIST, 1UL << 24, buffer, PAGE);
	assert_rc(-EEXIST, _ioas_map(ioas_id, buffer, PAGE, &(uint64_t){ 1UL << 24 },
				    MAP_FIXED_RW));
	/* Neither READ nor WRITE is allowed (IOMMU_CACHE only), as in the kernel. */
	assert_rc(0, _map_dma(1UL << 25, buffer, PAGE, 0));
	assert_rc(-EINVAL, _map_dma(1UL << 26, buffer, 0, RW));
	unmap_dma_ok(1UL << 24, 4 * PAGE, 4 * PAGE);
	unmap_dma_ok(1UL << 24, 4 * PAGE, 0); /* nothing there: success, 0 bytes */
	assert_rc(-EINVAL, _unmap_dma(1UL << 24, 0, 0, NULL));
}

/* The testbed's 6.12 kernel (scripts/testbed/diff-clients.sh, diff_type1 "compat: UNMAP_DMA
 * nothing mapped there": rc 0, size 0) and the selftest's vfio_compat_mock_domain.map ("Unmap of
 * empty is success"): iopt_unmap_iova() finds nothing and succeeds; only IOMMU_IOAS_UNMAP
 * turns 0 bytes into ENOENT. */
Test(vfio_compat, unmap_of_nothing_is_success)
{
	uint32_t ioas_id = ioas_alloc_ok();
	uint64_t out = 77;

	vfio_ioas_ok(IOMMU_VFIO_IOAS_SET, &ioas_id);
	assert_rc(0, _unmap_dma(0x400000000UL, PAGE, 0, &out));
	cr_assert_eq(out, 0);
	map_dma_ok(1UL << 24, buffer, 4 * PAGE);
	unmap_dma_ok(1UL << 24, 4 * PAGE, 4 * PAGE);
	out = 77;
	assert_rc(0, _unmap_dma(1UL << 24, 4 * PAGE, 0, &out));
	cr_assert_eq(out, 0);
	/* The IOAS ioctl on the same range: ENOENT. */
	assert_rc(-ENOENT, _ioas_unmap(ioas_id, 1UL << 24, 4 * PAGE, NULL));
}

/* iopt_alloc_pages() bounds the length (EINVAL) before it checks vaddr + size for overflow
 * (EOVERFLOW); type1 MAP_DMA passes its size straight there (testbed 6.12: diff_type1
 * "compat: MAP_DMA size=U64_MAX-0xfff" → EINVAL). */
Test(vfio_compat, map_size_bound_before_overflow)
{
	uint32_t ioas_id = ioas_alloc_ok();

	vfio_ioas_ok(IOMMU_VFIO_IOAS_SET, &ioas_id);
	assert_rc(-EINVAL, _map_dma(0, buffer, 0xfffffffffffff000UL, RW));
	assert_rc(-EINVAL, _map_dma(0, buffer, UINT64_MAX, RW));
	/* a size within the bound whose end wraps: EOVERFLOW */
	assert_rc(-EOVERFLOW, _map_dma(0, buffer, 0xffffffffffffe000UL, RW));
}

Test(vfio_compat, unmap_reports_size_even_on_failure)
{
	uint32_t ioas_id = ioas_alloc_ok();
	uint64_t out = 77;

	vfio_ioas_ok(IOMMU_VFIO_IOAS_SET, &ioas_id);
	map_dma_ok(1UL << 24, buffer, 4 * PAGE);
	/* Part of a mapping: ENOENT, and size is written back (0 bytes unmapped). */
	assert_rc(-ENOENT, _unmap_dma(1UL << 24, PAGE, 0, &out));
	cr_assert_eq(out, 0);
	/* UNMAP_ALL with an IOVA or size is refused before anything moves. */
	out = 77;
	assert_rc(-EINVAL, _unmap_dma(1UL << 24, 0, VFIO_DMA_UNMAP_FLAG_ALL, &out));
	cr_assert_eq(out, 0); /* the caller's struct is untouched: it said 0 */
	assert_rc(0, _unmap_dma(0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &out));
	cr_assert_eq(out, 4 * PAGE);
	/* Nothing left: UNMAP_ALL of an empty IOAS succeeds with 0. */
	assert_rc(0, _unmap_dma(0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &out));
	cr_assert_eq(out, 0);
}

Test(vfio_compat, container_context_accounts_per_process)
{
	struct iommu_option cmd = { .size = sizeof(cmd), .option_id = IOMMU_OPTION_RLIMIT_MODE,
				    .op = IOMMU_OPTION_OP_GET };
	struct ioasid_ctx *container;
	uint64_t mode = 7;

	assert_rc(0, _option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &mode));
	cr_assert_eq(mode, 0, "/dev/iommu defaults to per-user accounting");
	assert_rc(0, ref_vfio_container_ctx_open(&container));
	cmd.val64 = 7;
	assert_rc(0, ioasid_ctx_ioctl(container, IOMMU_OPTION, &cmd));
	cr_assert_eq(cmd.val64, 1, "/dev/vfio/vfio accounts per process (mm) like type1");
	assert_rc(VFIO_API_VERSION, ioasid_ctx_ioctl(container, VFIO_GET_API_VERSION, NULL));
	ioasid_ctx_close(container);
}

/* ---- with a compat IOAS and a domain: kernel selftest vfio_compat_mock_domain.* ------------- */

static uint32_t compat_ioas;
static int compat_domain;
static unsigned long compat_version;

static void mock_domain_setup(unsigned long version)
{
	compat_setup();
	compat_version = version;
	/* What VFIO would consider a group: an IOAS with a domain attached. */
	compat_ioas = ioas_alloc_ok();
	compat_domain = ioasid_test_domain_attach(self, compat_ioas, 0);
	cr_assert_gt(compat_domain, 0, "test domain: %s", strerror(-compat_domain));
	vfio_ioas_ok(IOMMU_VFIO_IOAS_SET, &compat_ioas);
	assert_rc(0, _vfio_ioctl(VFIO_SET_IOMMU, version));
}
static void v1_setup(void) { mock_domain_setup(VFIO_TYPE1_IOMMU); }
static void v2_setup(void) { mock_domain_setup(VFIO_TYPE1v2_IOMMU); }
static void mock_domain_teardown(void)
{
	ioasid_test_domain_detach(self, compat_domain);
	compat_teardown();
}

TestSuite(vfio_compat_v1, .init = v1_setup, .fini = mock_domain_teardown);
TestSuite(vfio_compat_v2, .init = v2_setup, .fini = mock_domain_teardown);

static void check_option_huge_pages(void)
{
	uint64_t val = 3;

	assert_rc(0, _option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, compat_ioas, &val));
	cr_assert_eq(val, compat_version == VFIO_TYPE1_IOMMU ? 0 : 1);
}
Test(vfio_compat_v1, option_huge_pages) { check_option_huge_pages(); }
Test(vfio_compat_v2, option_huge_pages) { check_option_huge_pages(); }

static void check_simple_ioctls_with_ioas(void)
{
	assert_rc(1, _vfio_ioctl(VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));
	/* SET_IOMMU again, either type, is accepted. */
	assert_rc(0, _vfio_ioctl(VFIO_SET_IOMMU, compat_version));
}
Test(vfio_compat_v1, simple_ioctls) { check_simple_ioctls_with_ioas(); }
Test(vfio_compat_v2, simple_ioctls) { check_simple_ioctls_with_ioas(); }

/* The selftest's check_vfio_info_cap_chain(), plus the ranges from IOMMU_IOAS_IOVA_RANGES. */
static void check_info_cap_chain(struct vfio_iommu_type1_info *info)
{
	struct iommu_iova_range ranges[8];
	struct iommu_ioas_iova_ranges rq = { .size = sizeof(rq), .ioas_id = compat_ioas,
					     .num_iovas = 8, .allowed_iovas = (uintptr_t)ranges };
	const struct vfio_info_cap_header *cap;
	bool seen_iova = false, seen_avail = false;

	assert_rc(0, _ioctl(IOMMU_IOAS_IOVA_RANGES, &rq));
	cr_assert_geq(info->argsz, info->cap_offset + sizeof(*cap));
	cap = (void *)((uint8_t *)buffer + info->cap_offset);
	while (true) {
		cr_assert_eq((uintptr_t)cap % 8, 0, "caps are 8-byte aligned");
		switch (cap->id) {
		case VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: {
			const struct vfio_iommu_type1_info_cap_iova_range *data = (void *)cap;

			cr_assert_eq(data->header.version, 1);
			cr_assert_eq(data->nr_iovas, rq.num_iovas);
			for (uint32_t i = 0; i != data->nr_iovas; i++) {
				cr_assert_eq(data->iova_ranges[i].start, ranges[i].start);
				cr_assert_eq(data->iova_ranges[i].end, ranges[i].last);
			}
			seen_iova = true;
			break;
		}
		case VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL: {
			const struct vfio_iommu_type1_info_dma_avail *data = (void *)cap;

			cr_assert_eq(data->header.version, 1);
			cr_assert_eq(data->avail, UINT32_MAX);
			seen_avail = true;
			break;
		}
		default:
			cr_assert_fail("unknown cap id %u", cap->id);
		}
		if (!cap->next)
			break;
		cr_assert_geq(info->argsz, cap->next + sizeof(*cap));
		cr_assert_geq((uint8_t *)buffer + cap->next, (uint8_t *)cap);
		cap = (void *)((uint8_t *)buffer + cap->next);
	}
	cr_assert(seen_iova && seen_avail);
}

static void check_get_info(void)
{
	struct vfio_iommu_type1_info *info = buffer;
	unsigned int i;
	size_t caplen;

	/* Pre-cap ABI */
	*info = (struct vfio_iommu_type1_info){
		.argsz = offsetof(struct vfio_iommu_type1_info, cap_offset) };
	ioctl_check_buf(VFIO_IOMMU_GET_INFO);
	cr_assert_neq(info->iova_pgsizes, 0);
	cr_assert_eq(info->flags, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);

	/* Read the cap chain size */
	*info = (struct vfio_iommu_type1_info){ .argsz = sizeof(*info) };
	ioctl_check_buf(VFIO_IOMMU_GET_INFO);
	/* The test domain has 4K|2M|1G leaves. */
	cr_assert_eq(info->iova_pgsizes, SZ_4K | SZ_2M | SZ_1G);
	cr_assert_eq(info->flags, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
	cr_assert_eq(info->cap_offset, 0);
	cr_assert_lt(sizeof(*info), info->argsz);

	/* Every size: never a corrupt chain, never a write past argsz */
	caplen = info->argsz;
	for (i = sizeof(*info); i <= caplen; i++) {
		*info = (struct vfio_iommu_type1_info){ .argsz = i };
		ioctl_check_buf(VFIO_IOMMU_GET_INFO);
		cr_assert_eq(info->flags, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
		cr_assert_eq(info->argsz, caplen);
		if (!info->cap_offset) {
			cr_assert_lt(i, caplen);
			continue;
		}
		cr_assert_eq(i, caplen, "cap_offset is set only when every cap fit");
		cr_assert_eq(info->cap_offset, sizeof(*info));
		info->argsz = i;
		check_info_cap_chain(info);
	}
}
Test(vfio_compat_v1, get_info) { check_get_info(); }
Test(vfio_compat_v2, get_info) { check_get_info(); }

static void shuffle_array(uint64_t *array, size_t nelms)
{
	for (size_t i = 0; i != nelms; i++) {
		uint64_t tmp = array[i];
		size_t other = (size_t)rand() % (nelms - i);

		array[i] = array[other];
		array[other] = tmp;
	}
}

static void check_map(void)
{
	uint64_t pages_iova[BUFFER_SIZE / PAGE], out = 0;
	const uint64_t base = 1UL << 24;

	/* Simple map/unmap */
	map_dma_ok(base, buffer, BUFFER_SIZE);
	unmap_dma_ok(base, BUFFER_SIZE, BUFFER_SIZE);

	/* UNMAP_FLAG_ALL requires 0 iova/size */
	map_dma_ok(base, buffer, BUFFER_SIZE);
	assert_rc(-EINVAL, _unmap_dma(base, BUFFER_SIZE, VFIO_DMA_UNMAP_FLAG_ALL, NULL));
	assert_rc(0, _unmap_dma(0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &out));
	cr_assert_eq(out, BUFFER_SIZE);

	/* Small pages, unmapped in random order */
	for (size_t i = 0; i != ARRAY_SIZE(pages_iova); i++) {
		pages_iova[i] = base + i * PAGE;
		map_dma_ok(pages_iova[i], (uint8_t *)buffer + i * PAGE, PAGE);
	}
	shuffle_array(pages_iova, ARRAY_SIZE(pages_iova));
	for (size_t i = 0; i != ARRAY_SIZE(pages_iova); i++)
		unmap_dma_ok(pages_iova[i], PAGE, PAGE);
}
Test(vfio_compat_v1, map) { check_map(); }
Test(vfio_compat_v2, map) { check_map(); }

/* The mapping goes into the domain: a DMA through it reads the buffer. */
static void check_map_reaches_domain(void)
{
	uint8_t got[64];
	uint64_t fault = 0;

	memset(buffer, 0xc3, PAGE);
	map_dma_ok(1UL << 24, buffer, PAGE);
	assert_rc(0, ioasid_test_dma(self, compat_domain, 1UL << 24, got, sizeof(got), 0, &fault));
	cr_assert(is_filled(got, 0xc3, sizeof(got)));
	unmap_dma_ok(1UL << 24, PAGE, PAGE);
	assert_rc(-EFAULT, ioasid_test_dma(self, compat_domain, 1UL << 24, got, sizeof(got), 0,
					   &fault));
	cr_assert_eq(fault, 1UL << 24);
}
Test(vfio_compat_v1, map_reaches_domain) { check_map_reaches_domain(); }
Test(vfio_compat_v2, map_reaches_domain) { check_map_reaches_domain(); }

/* type1 (v1) can cut up larger mappings, type1v2 always fails. */
static void check_huge_map(void)
{
	const size_t buf_size = HUGE * 2;
	uint64_t pages_iova[16], size = buf_size / ARRAY_SIZE(pages_iova);
	const uint64_t base = 1UL << 30;
	uint8_t *raw, *buf;

	raw = mmap(NULL, buf_size + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	cr_assert_neq(raw, MAP_FAILED);
	buf = (uint8_t *)(((uintptr_t)raw + HUGE - 1) & ~(HUGE - 1));
	madvise(buf, buf_size, MADV_HUGEPAGE);
	memset(buf, 1, buf_size);
	map_dma_ok(base, buf, buf_size);

	for (size_t i = 0; i != ARRAY_SIZE(pages_iova); i++)
		pages_iova[i] = base + i * size;
	shuffle_array(pages_iova, ARRAY_SIZE(pages_iova));
	for (size_t i = 0; i != ARRAY_SIZE(pages_iova); i++) {
		if (compat_version == VFIO_TYPE1_IOMMU)
			unmap_dma_ok(pages_iova[i], size, size);
		else
			unmap_dma_err(ENOENT, pages_iova[i], size);
	}
	munmap(raw, buf_size + HUGE);
}
Test(vfio_compat_v1, huge_map) { check_huge_map(); }
Test(vfio_compat_v2, huge_map) { check_huge_map(); }

/* ---- TYPE1 v1: unmapping part of a mapping (iopt_cut_iova) --------------------------------- */

static uint64_t pinned_pages(void)
{
	struct ioasid_ctx_stats st;

	assert_rc(0, ioasid_ctx_get_stats(self, &st));
	return st.pinned_pages;
}

/* A device read of one byte at iova through the compat domain: the byte, or -1 for a fault. */
static int dma_byte(uint64_t iova)
{
	uint64_t fault = 0;
	uint8_t got;
	int rc = ioasid_test_dma(self, compat_domain, iova, &got, 1, 0, &fault);

	if (rc == -EFAULT) {
		cr_assert_eq(fault, iova);
		return -1;
	}
	assert_rc(0, rc);
	return got;
}

static uint64_t stale_hits(void)
{
	struct ioasid_iotlb_stats st;

	assert_rc(0, ioasid_test_iotlb_stats(self, compat_domain, &st));
	return st.stale_hits;
}

/* Fill page i of buf with the byte i + 1 and map n pages at base; read every page once through
 * the device so that the IOTLB holds them all. */
static void map_pages_warm(uint8_t *buf, uint64_t base, unsigned int n)
{
	for (unsigned int i = 0; i != n; i++)
		memset(buf + i * PAGE, (int)(i + 1), PAGE);
	map_dma_ok(base, buf, n * PAGE);
	for (unsigned int i = 0; i != n; i++)
		cr_assert_eq(dma_byte(base + i * PAGE), (int)(i + 1));
}

/* Pages [first, last] of the mapping at base: mapped (their own bytes) or gone (DMA faults). */
static void expect_pages(uint64_t base, unsigned int first, unsigned int last, bool mapped)
{
	for (unsigned int i = first; i <= last; i++)
		cr_assert_eq(dma_byte(base + i * PAGE), mapped ? (int)(i + 1) : -1,
			     "page %u should be %s", i, mapped ? "mapped" : "unmapped");
}

/* One 16-page mapping, cut from the middle, the start and the end: each unmap answers the bytes
 * of its range, the pages go from the domain with the IOTLB invalidated (no stale hit after
 * the entries were warm), the pages around stay, and exactly the removed pages are unpinned. */
Test(vfio_compat_v1, partial_unmap_middle_start_end)
{
	const uint64_t base = 1UL << 24;
	const uint64_t pinned0 = pinned_pages();

	map_pages_warm(buffer, base, 16);
	cr_assert_eq(pinned_pages(), pinned0 + 16);

	unmap_dma_ok(base + 4 * PAGE, 4 * PAGE, 4 * PAGE);          /* the middle */
	expect_pages(base, 4, 7, false);
	expect_pages(base, 0, 3, true);
	expect_pages(base, 8, 15, true);
	cr_assert_eq(pinned_pages(), pinned0 + 12);

	unmap_dma_ok(base, 2 * PAGE, 2 * PAGE);                     /* the start */
	expect_pages(base, 0, 1, false);
	expect_pages(base, 2, 3, true);
	cr_assert_eq(pinned_pages(), pinned0 + 10);

	unmap_dma_ok(base + 14 * PAGE, 2 * PAGE, 2 * PAGE);         /* the end */
	expect_pages(base, 14, 15, false);
	expect_pages(base, 8, 13, true);
	cr_assert_eq(pinned_pages(), pinned0 + 8);

	/* Left: pages 2-3 and 8-13. A range over the end of one, the hole and the start of the
	 * other cuts both and answers the bytes that were mapped in it. */
	unmap_dma_ok(base + 3 * PAGE, 7 * PAGE, 3 * PAGE);
	expect_pages(base, 3, 9, false);
	expect_pages(base, 2, 2, true);
	expect_pages(base, 10, 13, true);
	cr_assert_eq(pinned_pages(), pinned0 + 5);
	cr_assert_eq(stale_hits(), 0, "a DMA hit a translation the unmap had removed");

	unmap_dma_ok(base, 16 * PAGE, 5 * PAGE);
	cr_assert_eq(pinned_pages(), pinned0);
}

/* Large pages are off under v1, so a 2 MiB-aligned, THP-backed mapping is held in 4 KiB
 * leaves: a range across the 2 MiB boundary goes and the pages on both sides, in what would
 * have been two huge leaves, keep translating. */
Test(vfio_compat_v1, partial_unmap_across_huge_leaves)
{
	const uint64_t base = 1UL << 30, hole = base + HUGE - 2 * PAGE;
	uint8_t *raw = mmap(NULL, 3 * HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	uint8_t *buf;
	uint64_t pinned0 = pinned_pages();

	cr_assert_neq(raw, MAP_FAILED);
	buf = (uint8_t *)(((uintptr_t)raw + HUGE - 1) & ~(HUGE - 1));
	madvise(buf, 2 * HUGE, MADV_HUGEPAGE);
	for (size_t i = 0; i != 2 * HUGE; i += PAGE)
		buf[i] = (uint8_t)(i / PAGE % 251);
	map_dma_ok(base, buf, 2 * HUGE);
	for (uint64_t off = HUGE - 4 * PAGE; off != HUGE + 4 * PAGE; off += PAGE)
		cr_assert_eq(dma_byte(base + off), (int)(off / PAGE % 251));

	unmap_dma_ok(hole, 4 * PAGE, 4 * PAGE);
	for (uint64_t off = HUGE - 4 * PAGE; off != HUGE + 4 * PAGE; off += PAGE) {
		bool gone = base + off >= hole && base + off < hole + 4 * PAGE;

		cr_assert_eq(dma_byte(base + off), gone ? -1 : (int)(off / PAGE % 251),
			     "IOVA %#llx", (unsigned long long)(base + off));
	}
	cr_assert_eq(dma_byte(base), 0);
	cr_assert_eq(dma_byte(base + 2 * HUGE - PAGE), (int)((2 * HUGE - PAGE) / PAGE % 251));
	cr_assert_eq(stale_hits(), 0);
	cr_assert_eq(pinned_pages(), pinned0 + 2 * HUGE / PAGE - 4);
	unmap_dma_ok(base, 2 * HUGE, 2 * HUGE - 4 * PAGE);
	cr_assert_eq(pinned_pages(), pinned0);
	munmap(raw, 3 * HUGE);
}

/* v2 cuts nothing: part of a mapping is ENOENT, size 0 is written back, nothing moved. */
Test(vfio_compat_v2, partial_unmap_is_enoent)
{
	const uint64_t base = 1UL << 24;
	uint64_t out = 77;

	map_pages_warm(buffer, base, 16);
	assert_rc(-ENOENT, _unmap_dma(base + 4 * PAGE, 4 * PAGE, 0, &out));
	cr_assert_eq(out, 0);
	assert_rc(-ENOENT, _unmap_dma(base, 2 * PAGE, 0, &out));
	assert_rc(-ENOENT, _unmap_dma(base + 14 * PAGE, 2 * PAGE, 0, &out));
	expect_pages(base, 0, 15, true);
	unmap_dma_ok(base, 16 * PAGE, 16 * PAGE);
}

/* What decides is the IOAS's large pages, not the version (the kernel's
 * iommufd_vfio_unmap_dma): a v2 container whose IOAS has IOMMU_OPTION_HUGE_PAGES 0 cuts. */
Test(vfio_compat_v2, huge_pages_off_cuts_too)
{
	const uint64_t base = 1UL << 24;
	uint64_t off = 0;

	assert_rc(0, _option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, compat_ioas, &off));
	map_pages_warm(buffer, base, 16);
	unmap_dma_ok(base + 4 * PAGE, 4 * PAGE, 4 * PAGE);
	expect_pages(base, 4, 7, false);
	expect_pages(base, 3, 3, true);
	expect_pages(base, 8, 8, true);
}

/* The cuts' own refusals, before anything is unmapped, and size is not written back: an edge
 * that is not page aligned (the IOAS's alignment) is EINVAL where v2 says ENOENT. */
Test(vfio_compat_v1, unaligned_cut_is_einval)
{
	const uint64_t base = 1UL << 24;
	uint64_t out = 77;

	map_pages_warm(buffer, base, 4);
	assert_rc(-EINVAL, _unmap_dma(base + PAGE / 2, PAGE, 0, &out));
	cr_assert_eq(out, PAGE, "a refused cut must leave size as the caller set it");
	assert_rc(-EINVAL, _unmap_dma(base + PAGE, PAGE / 2, 0, &out));
	expect_pages(base, 0, 3, true);
	unmap_dma_ok(base, 4 * PAGE, 4 * PAGE);
}

/* As the kernel, the edges are cut before the range is checked: size 0 in the middle of a
 * mapping is EINVAL, and the mapping is cut at iova - 1 (its first part now unmaps alone through
 * IOMMU_IOAS_UNMAP, which cuts nothing itself). */
Test(vfio_compat_v1, empty_range_is_einval_after_the_cut)
{
	const uint64_t base = 1UL << 24;
	uint64_t out = 77;

	map_pages_warm(buffer, base, 4);
	assert_rc(-EINVAL, _unmap_dma(base + 2 * PAGE, 0, 0, &out));
	cr_assert_eq(out, 0);
	ioas_unmap_ok(compat_ioas, base, 2 * PAGE, 2 * PAGE);
	expect_pages(base, 0, 1, false);
	expect_pages(base, 2, 3, true);
}

Test(vfio_compat_v1, set_iommu_v1_after_maps_refused)
{
	/* Large pages can no longer be turned off once a domain holds areas. */
	vfio_ioas_ok(IOMMU_VFIO_IOAS_CLEAR, NULL);
	{
		uint32_t ioas = ioas_alloc_ok();
		int dom = ioasid_test_domain_attach(self, ioas, 0);

		cr_assert_gt(dom, 0);
		vfio_ioas_ok(IOMMU_VFIO_IOAS_SET, &ioas);
		map_dma_ok(1UL << 24, buffer, PAGE);
		assert_rc(-EINVAL, _vfio_ioctl(VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
		assert_rc(0, _vfio_ioctl(VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
		ioasid_test_domain_detach(self, dom);
	}
}
