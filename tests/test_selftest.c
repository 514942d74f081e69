/* test_selftest.c — IOMMU_TEST_CMD (src/reference/selftest.c): the kernel selftest mock ABI, op
 * by op, with the kernel's exact errnos. Suite `selftest`. The access-object internals and the
 * io_pagetable side of pins are covered by test_access.c. */
#include "ioasid_test.h"
#include "reference/selftest_abi.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL
#define BUF_SIZE (1UL << 21)
#define APERTURE MOCK_APERTURE_START

static uint8_t *buf;

static void selftest_setup(void)
{
	ctx_setup();
	/* 2 MiB-aligned: automatic IOVAs and huge IOPTEs are predictable. */
	uint8_t *p = mmap(NULL, 2 * BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	cr_assert_neq(p, MAP_FAILED);
	buf = (uint8_t *)(((uintptr_t)p + BUF_SIZE - 1) & ~(BUF_SIZE - 1));
	for (size_t i = 0; i < BUF_SIZE; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
}

TestSuite(selftest, .init = selftest_setup, .fini = ctx_teardown);

/* ---- helpers: _x() returns rc, x_ok() asserts success, x_err(ERRNO, ...) the errno ---------- */

static int _test_cmd(struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	return _ioctl(IOMMU_TEST_CMD, cmd);
}

static int _add_reserved(uint32_t ioas, uint64_t start, uint64_t length)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_ADD_RESERVED, .id = ioas,
				      .add_reserved = { .start = start, .length = length } };

	return _test_cmd(&cmd);
}
#define add_reserved_ok(ioas, start, len) assert_rc(0, _add_reserved(ioas, start, len))
#define add_reserved_err(e, ioas, start, len) assert_rc(-(e), _add_reserved(ioas, start, len))

static int _check_refs(const void *p, uint64_t length, uint32_t refs)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_MD_CHECK_REFS,
				      .check_refs = { .length = length, .uptr = (uintptr_t)p,
						      .refs = refs } };

	return _test_cmd(&cmd);
}
#define check_refs_ok(p, len, refs) assert_rc(0, _check_refs(p, len, refs))
#define check_refs_err(e, p, len, refs) assert_rc(-(e), _check_refs(p, len, refs))

static int _create_access(uint32_t ioas, uint32_t flags, int *fd)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_CREATE_ACCESS, .id = ioas,
				      .create_access = { .flags = flags } };
	int rc = _test_cmd(&cmd);

	if (!rc)
		*fd = (int)cmd.create_access.out_access_fd;
	return rc;
}
static int create_access_ok(uint32_t ioas, uint32_t flags)
{
	int fd = -1;

	assert_rc(0, _create_access(ioas, flags, &fd));
	cr_assert_geq(fd, 0);
	return fd;
}
#define create_access_err(e, ioas, flags)                                                   \
	do {                                                                                \
		int fd__;                                                                   \
		assert_rc(-(e), _create_access(ioas, flags, &fd__));                        \
	} while (0)
#define destroy_access(fd) cr_assert_eq(ioasid_fd_close(fd), 0)

static int _access_pages(int fd, uint64_t iova, uint64_t length, const void *uptr,
			 uint32_t flags, uint32_t *id)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_ACCESS_PAGES, .id = (uint32_t)fd,
				      .access_pages = { .flags = flags, .iova = iova,
							.length = length,
							.uptr = (uintptr_t)uptr } };
	int rc = _test_cmd(&cmd);

	if (!rc && id)
		*id = cmd.access_pages.out_access_pages_id;
	return rc;
}
static uint32_t access_pages_ok(int fd, uint64_t iova, uint64_t length, const void *uptr)
{
	uint32_t id = UINT32_MAX;

	assert_rc(0, _access_pages(fd, iova, length, uptr, 0, &id));
	return id;
}
#define access_pages_err(e, fd, iova, len, uptr, flags) \
	assert_rc(-(e), _access_pages(fd, iova, len, uptr, flags, NULL))

static int _destroy_access_pages(int fd, uint32_t id)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, .id = (uint32_t)fd,
				      .destroy_access_pages = { .access_pages_id = id } };

	return _test_cmd(&cmd);
}
#define destroy_access_pages_ok(fd, id) assert_rc(0, _destroy_access_pages(fd, id))
#define destroy_access_pages_err(e, fd, id) assert_rc(-(e), _destroy_access_pages(fd, id))

static int _access_rw(int fd, uint64_t iova, void *p, uint64_t length, uint32_t flags)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_ACCESS_RW, .id = (uint32_t)fd,
				      .access_rw = { .iova = iova, .length = length,
						     .uptr = (uintptr_t)p, .flags = flags } };

	return _test_cmd(&cmd);
}
#define access_rw_ok(fd, iova, p, len, flags) assert_rc(0, _access_rw(fd, iova, p, len, flags))
#define access_rw_err(e, fd, iova, p, len, flags) \
	assert_rc(-(e), _access_rw(fd, iova, p, len, flags))

static int _access_replace_ioas(int fd, uint32_t ioas)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, .id = (uint32_t)fd,
				      .access_replace_ioas = { .ioas_id = ioas } };

	return _test_cmd(&cmd);
}

static int _memory_limit(uint32_t limit)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
				      .memory_limit = { .limit = limit } };

	return _test_cmd(&cmd);
}

static int _mock_domain_flags(uint32_t pt, uint32_t flags, uint32_t *stdev, uint32_t *hwpt,
			      uint32_t *idev)
{
	struct iommu_test_cmd cmd = { .op = flags ? IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS
						  : IOMMU_TEST_OP_MOCK_DOMAIN,
				      .id = pt, .mock_domain_flags = { .dev_flags = flags } };
	int rc = _test_cmd(&cmd);

	if (!rc) {
		if (stdev)
			*stdev = cmd.mock_domain_flags.out_stdev_id;
		if (hwpt)
			*hwpt = cmd.mock_domain_flags.out_hwpt_id;
		if (idev)
			*idev = cmd.mock_domain_flags.out_idev_id;
	}
	return rc;
}
#define mock_domain_ok(pt, stdev, hwpt, idev) \
	assert_rc(0, _mock_domain_flags(pt, 0, stdev, hwpt, idev))
#define mock_domain_err(e, pt, flags) \
	assert_rc(-(e), _mock_domain_flags(pt, flags, NULL, NULL, NULL))

static int _check_map(uint32_t hwpt, uint64_t iova, uint64_t length, const void *uptr)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_MD_CHECK_MAP, .id = hwpt,
				      .check_map = { .iova = iova, .length = length,
						     .uptr = (uintptr_t)uptr } };

	return _test_cmd(&cmd);
}
#define check_map_ok(hwpt, iova, len, p) assert_rc(0, _check_map(hwpt, iova, len, p))
#define check_map_err(e, hwpt, iova, len, p) assert_rc(-(e), _check_map(hwpt, iova, len, p))

static int _replace(uint32_t stdev, uint32_t *pt)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, .id = stdev,
				      .mock_domain_replace = { .pt_id = *pt } };
	int rc = _test_cmd(&cmd);

	if (!rc)
		*pt = cmd.mock_domain_replace.pt_id;
	return rc;
}

static int _dirty(uint32_t hwpt, uint64_t iova, uint64_t length, uint64_t page_size,
		  const uint64_t *bitmap, uint64_t *nr)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_DIRTY, .id = hwpt,
				      .dirty = { .iova = iova, .length = length,
						 .page_size = page_size,
						 .uptr = (uintptr_t)bitmap } };
	int rc = _test_cmd(&cmd);

	if (!rc && nr)
		*nr = cmd.dirty.out_nr_dirty;
	return rc;
}

static int _pasid(uint32_t op, uint32_t stdev, uint32_t pasid, uint32_t pt)
{
	struct iommu_test_cmd cmd = { .op = op, .id = stdev,
				      .pasid_attach = { .pasid = pasid, .pt_id = pt } };

	return _test_cmd(&cmd);
}

/* ---- the command envelope ------------------------------------------------------------------------ */

Test(selftest, abi_layout)
{
	cr_assert_eq(sizeof(struct iommu_test_cmd), 72);
	cr_assert_eq(IOMMU_TEST_CMD_MIN_SIZE, 68);
	cr_assert_eq(IOMMU_TEST_CMD, 0x3ba0);
	cr_assert_eq(offsetof(struct iommu_test_cmd, add_reserved.start), 16);
	cr_assert_eq(offsetof(struct iommu_test_cmd, check_refs.refs), 32);
	cr_assert_eq(offsetof(struct iommu_test_cmd, access_rw.flags), 40);
	cr_assert_eq(offsetof(struct iommu_test_cmd, trigger_iopf.addr), 32);
	cr_assert_eq(offsetof(struct iommu_test_cmd, check_dmabuf.offset), 40);
	cr_assert_eq(offsetof(struct iommu_test_cmd, last), 64);
}

Test(selftest, extensible_struct_rules)
{
	struct {
		struct iommu_test_cmd cmd;
		uint64_t tail;
	} big = { .cmd = { .op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
			   .memory_limit = { .limit = 65536 } } };

	big.cmd.size = IOMMU_TEST_CMD_MIN_SIZE - 1;
	assert_rc(-EINVAL, _ioctl(IOMMU_TEST_CMD, &big));
	big.cmd.size = IOMMU_TEST_CMD_MIN_SIZE; /* the 4 bytes of padding may be left out */
	assert_rc(0, _ioctl(IOMMU_TEST_CMD, &big));
	big.cmd.size = sizeof(big);
	assert_rc(0, _ioctl(IOMMU_TEST_CMD, &big));
	big.tail = 1;
	assert_rc(-E2BIG, _ioctl(IOMMU_TEST_CMD, &big));
	assert_rc(-EFAULT, _ioctl(IOMMU_TEST_CMD, (void *)8));
}

Test(selftest, unknown_and_unimplemented_ops)
{
	struct iommu_test_cmd cmd = { .op = 0 };

	assert_rc(-EOPNOTSUPP, _test_cmd(&cmd));
	cmd.op = 1000;
	assert_rc(-EOPNOTSUPP, _test_cmd(&cmd));
	cmd.op = IOMMU_TEST_OP_DMABUF_GET;
	assert_rc(-EOPNOTSUPP, _test_cmd(&cmd));
}

Test(selftest, set_temp_memory_limit)
{
	assert_rc(-EINVAL, _memory_limit(sizeof(unsigned long) + sizeof(uint32_t) - 1));
	assert_rc(0, _memory_limit(sizeof(unsigned long) + sizeof(uint32_t)));
	assert_rc(0, _memory_limit(65536));
}

/* ---- ADD_RESERVED ------------------------------------------------------------------------------ */

Test(selftest, add_reserved)
{
	uint32_t ioas = ioas_alloc_ok();
	uint64_t iova;

	add_reserved_err(EINVAL, ioas, 0x100000, 0);
	add_reserved_err(EOVERFLOW, ioas, UINT64_MAX, 2);
	add_reserved_err(ENOENT, ioas + 1, 0x100000, PAGE);
	add_reserved_ok(ioas, 0x100000, 0x100000);
	/* fixed maps into it are refused, automatic ones avoid it */
	ioas_map_fixed_err(EINVAL, ioas, buf, PAGE, 0x100000);
	ioas_map_fixed_err(EINVAL, ioas, buf, 2 * PAGE, 0x100000 - PAGE);
	iova = ioas_map_auto_ok(ioas, buf, BUF_SIZE);
	cr_assert(iova + BUF_SIZE <= 0x100000 || iova >= 0x200000);
	/* a reservation cannot cover a mapping */
	add_reserved_err(EADDRINUSE, ioas, iova, PAGE);
}

Test(selftest, add_reserved_conflicts_with_allowed)
{
	uint32_t ioas = ioas_alloc_ok();
	struct iommu_iova_range range = { .start = 0x100000, .last = 0x1fffff };
	struct iommu_ioas_allow_iovas allow = { .size = sizeof(allow), .ioas_id = ioas,
						 .num_iovas = 1,
						 .allowed_iovas = (uintptr_t)&range };

	assert_rc(0, _ioctl(IOMMU_IOAS_ALLOW_IOVAS, &allow));
	add_reserved_err(EADDRINUSE, ioas, 0x180000, PAGE);
	add_reserved_ok(ioas, 0x200000, PAGE);
}

/* ---- MD_CHECK_REFS ------------------------------------------------------------------------------ */

Test(selftest, check_refs_arguments)
{
	check_refs_err(EINVAL, buf + 1, PAGE, 0);
	check_refs_err(EINVAL, buf, PAGE + 1, 0);
	check_refs_err(EINVAL, (void *)(UINT64_MAX & ~(PAGE - 1)), 2 * PAGE, 0);
	check_refs_ok(buf, BUF_SIZE, 0);
	check_refs_err(EIO, buf, PAGE, 1);
	check_refs_ok(buf, 0, 5); /* nothing to check */
}

Test(selftest, check_refs_unmapped_memory)
{
	uint8_t *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	cr_assert_neq(p, MAP_FAILED);
	cr_assert_eq(munmap(p + PAGE, PAGE), 0);
	check_refs_ok(p, PAGE, 0);
	check_refs_err(EFAULT, p, 2 * PAGE, 0);
	munmap(p, PAGE);
}

Test(selftest, check_refs_counts_pins_of_each_mapping)
{
	uint32_t ioas = ioas_alloc_ok(), ioas2 = ioas_alloc_ok(), ioas3 = ioas_alloc_ok();
	int fd = create_access_ok(ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	int fd2 = create_access_ok(ioas2, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	uint32_t id, id2;
	uint64_t iova3 = 0x400000;

	ioas_map_fixed_ok(ioas, buf, BUF_SIZE, APERTURE);
	ioas_map_fixed_ok(ioas2, buf, BUF_SIZE, APERTURE);
	/* mapped, not pinned: nothing uses the pages yet */
	check_refs_ok(buf, BUF_SIZE, 0);
	id = access_pages_ok(fd, APERTURE + PAGE, 2 * PAGE, buf + PAGE);
	check_refs_ok(buf + PAGE, 2 * PAGE, 1);
	check_refs_ok(buf, PAGE, 0);
	check_refs_ok(buf + 3 * PAGE, BUF_SIZE - 3 * PAGE, 0);
	check_refs_err(EIO, buf, 2 * PAGE, 1);
	/* a second MAP of the same memory is a second pin of each page */
	id2 = access_pages_ok(fd2, APERTURE + 2 * PAGE, PAGE, buf + 2 * PAGE);
	check_refs_ok(buf + 2 * PAGE, PAGE, 2);
	check_refs_ok(buf + PAGE, PAGE, 1);
	/* COPY shares the pages: no extra pin; a domain over the copy pins through the same pages */
	assert_rc(0, _ioas_copy(ioas3, &iova3, ioas, APERTURE, BUF_SIZE,
				MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA));
	cr_assert_geq(ioasid_test_domain_attach(self, ioas3, 0), 1);
	check_refs_ok(buf + PAGE, PAGE, 1);
	check_refs_ok(buf + 2 * PAGE, PAGE, 2);
	check_refs_ok(buf + 3 * PAGE, PAGE, 1);

	destroy_access_pages_ok(fd, id);
	destroy_access_pages_ok(fd2, id2);
	check_refs_ok(buf + PAGE, 2 * PAGE, 1); /* the domain's pin through the shared pages */
	destroy_access(fd);
	destroy_access(fd2);
}

/* ---- CREATE_ACCESS and the access fd ------------------------------------------------------------- */

Test(selftest, create_access_arguments)
{
	uint32_t ioas = ioas_alloc_ok();

	create_access_err(EOPNOTSUPP, ioas, 1u << 1);
	create_access_err(ENOENT, ioas + 1, 0);
	create_access_err(ENOENT, 0, 0);
}

Test(selftest, access_fd_lifetime)
{
	uint32_t ioas = ioas_alloc_ok();
	int fd = create_access_ok(ioas, 0);
	uint8_t tmp[16];

	ioas_map_fixed_ok(ioas, buf, PAGE, APERTURE);
	access_rw_ok(fd, APERTURE, tmp, sizeof(tmp), 0);
	/* the access holds its IOAS */
	destroy_err(EBUSY, ioas);
	destroy_access(fd);
	/* the fd no longer names an access, and the IOAS is free */
	access_rw_err(EBADFD, fd, APERTURE, tmp, sizeof(tmp), 0);
	destroy_ok(ioas);
}

Test(selftest, access_fd_must_be_an_access_fd)
{
	int other = open("/dev/null", O_RDONLY);
	uint8_t tmp[8];

	cr_assert_geq(other, 0);
	access_rw_err(EBADFD, other, APERTURE, tmp, sizeof(tmp), 0);
	access_pages_err(EBADFD, other, APERTURE, PAGE, NULL, 0);
	destroy_access_pages_err(EBADFD, other, 0);
	assert_rc(-EBADFD, _access_replace_ioas(other, 1));
	access_rw_err(EBADFD, 100000, APERTURE, tmp, sizeof(tmp), 0);
	close(other);
}

Test(selftest, access_keeps_context_alive)
{
	uint32_t ioas = ioas_alloc_ok();
	int fd = create_access_ok(ioas, 0);
	uint8_t tmp[64];

	ioas_map_fixed_ok(ioas, buf, PAGE, APERTURE);
	/* The iommufd closes first: the access fd still works (it holds the context). */
	ioasid_ctx_close(self);
	self = NULL;
	memset(tmp, 0, sizeof(tmp));
	access_rw_ok(fd, APERTURE, tmp, sizeof(tmp), 0);
	cr_assert_eq(memcmp(tmp, buf, sizeof(tmp)), 0);
	destroy_access(fd); /* the last reference: the context goes (ctx_teardown checks leaks) */
}

/* ---- ACCESS_PAGES / DESTROY_ACCESS_PAGES ------------------------------------------------------- */

Test(selftest, access_pages_arguments)
{
	uint32_t ioas = ioas_alloc_ok();
	int fd = create_access_ok(ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	int fd_rw = create_access_ok(ioas, 0);

	ioas_map_fixed_ok(ioas, buf, BUF_SIZE, APERTURE);
	access_pages_err(ENOMEM, fd, APERTURE, 16 * 1024 * 1024 + 1, buf, 0);
	access_pages_err(EOPNOTSUPP, fd, APERTURE, PAGE, buf, 1u << 1);
	/* an access created without NEEDS_PIN_PAGES cannot pin */
	access_pages_err(EOPNOTSUPP, fd_rw, APERTURE, PAGE, buf, 0);
	access_pages_err(EINVAL, fd, APERTURE, 0, buf, 0);
	access_pages_err(EOVERFLOW, fd, UINT64_MAX - PAGE + 1, 2 * PAGE, NULL, 0);
	/* not page aligned in the backing memory */
	access_pages_err(EINVAL, fd, APERTURE + 16, PAGE, buf + 16, 0);
	/* outside the mapping */
	access_pages_err(ENOENT, fd, APERTURE + BUF_SIZE, PAGE, buf, 0);
	access_pages_err(ENOENT, fd, APERTURE + BUF_SIZE - PAGE, 2 * PAGE, NULL, 0);
	/* the pages behind uptr must be the ones pinned */
	access_pages_err(EBADE, fd, APERTURE, PAGE, buf + PAGE, 0);
	access_pages_err(EFAULT, fd, APERTURE, PAGE, (void *)PAGE, 0);
	check_refs_ok(buf, BUF_SIZE, 0); /* every failure undid its pins */
	destroy_access(fd);
	destroy_access(fd_rw);
}

Test(selftest, access_pages_items)
{
	uint32_t ioas = ioas_alloc_ok();
	int fd = create_access_ok(ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	uint32_t a, b, c;

	ioas_map_fixed_ok(ioas, buf, BUF_SIZE, APERTURE);
	a = access_pages_ok(fd, APERTURE, PAGE, buf);
	b = access_pages_ok(fd, APERTURE, PAGE, buf);          /* the same span twice */
	c = access_pages_ok(fd, APERTURE + PAGE, 2 * PAGE, NULL); /* NULL uptr: no comparison */
	cr_assert_neq(a, b);
	cr_assert_neq(b, c);
	check_refs_ok(buf, 3 * PAGE, 1);
	destroy_access_pages_ok(fd, b);
	destroy_access_pages_err(ENOENT, fd, b);
	check_refs_ok(buf, PAGE, 1);
	destroy_access_pages_ok(fd, a);
	destroy_access_pages_ok(fd, c);
	check_refs_ok(buf, 3 * PAGE, 0);
	destroy_access_pages_err(ENOENT, fd, 12345);
	/* closing the fd unpins what is left */
	access_pages_ok(fd, APERTURE, 4 * PAGE, buf);
	check_refs_ok(buf, 4 * PAGE, 1);
	destroy_access(fd);
	check_refs_ok(buf, 4 * PAGE, 0);
}

Test(selftest, access_pages_write_needs_writable_mapping)
{
	uint32_t ioas = ioas_alloc_ok();
	int fd = create_access_ok(ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	uint64_t iova = APERTURE;
	uint32_t id;

	assert_rc(0, _ioas_map(ioas, buf, PAGE, &iova,
			       IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
	access_pages_err(EPERM, fd, APERTURE, PAGE, buf, MOCK_FLAGS_ACCESS_WRITE);
	assert_rc(0, _access_pages(fd, APERTURE, PAGE, buf, 0, &id));
	destroy_access_pages_ok(fd, id);
	destroy_access(fd);
}

Test(selftest, access_pin_unmap_drops_items)
{
	uint32_t ioas = ioas_alloc_ok();
	int fd = create_access_ok(ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	uint32_t id, other;

	ioas_map_fixed_ok(ioas, buf, BUF_SIZE / 2, APERTURE);
	ioas_map_fixed_ok(ioas, buf + BUF_SIZE / 2, BUF_SIZE / 2, APERTURE + BUF_SIZE / 2);
	id = access_pages_ok(fd, APERTURE, BUF_SIZE / 2, buf);
	other = access_pages_ok(fd, APERTURE + BUF_SIZE / 2, PAGE, buf + BUF_SIZE / 2);
	/* the unmap asks the access to unpin: the selftest access drops its item and the unmap
	 * goes through; the item in the other area stays */
	ioas_unmap_ok(ioas, APERTURE, BUF_SIZE / 2, BUF_SIZE / 2);
	destroy_access_pages_err(ENOENT, fd, id);
	check_refs_ok(buf, BUF_SIZE / 2, 0);
	check_refs_ok(buf + BUF_SIZE / 2, PAGE, 1);
	/* an item across two areas */
	ioas_map_fixed_ok(ioas, buf, BUF_SIZE / 2, APERTURE);
	id = access_pages_ok(fd, APERTURE + BUF_SIZE / 2 - PAGE, 2 * PAGE,
			     buf + BUF_SIZE / 2 - PAGE);
	ioas_unmap_ok(ioas, 0, UINT64_MAX, BUF_SIZE);
	destroy_access_pages_err(ENOENT, fd, id);
	destroy_access_pages_err(ENOENT, fd, other);
	check_refs_ok(buf, BUF_SIZE, 0);
	destroy_access(fd);
}

/* ---- ACCESS_RW ---------------------------------------------------------------------------------- */

Test(selftest, access_rw_arguments)
{
	uint32_t ioas = ioas_alloc_ok();
	int fd = create_access_ok(ioas, 0);
	uint8_t tmp[64];
	uint64_t iova = APERTURE + BUF_SIZE;

	ioas_map_fixed_ok(ioas, buf, BUF_SIZE, APERTURE);
	assert_rc(0, _ioas_map(ioas, buf, PAGE, &iova,
			       IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
	access_rw_err(ENOMEM, fd, APERTURE, tmp, 16 * 1024 * 1024 + 1, 0);
	access_rw_err(EOPNOTSUPP, fd, APERTURE, tmp, sizeof(tmp), 1u << 1);
	access_rw_err(EINVAL, fd, APERTURE, tmp, 0, 0);
	access_rw_err(EOVERFLOW, fd, UINT64_MAX - 8, tmp, 16, 0);
	access_rw_err(ENOENT, fd, APERTURE - 8, tmp, 16, 0);
	access_rw_err(ENOENT, fd, APERTURE + BUF_SIZE + PAGE - 8, tmp, 16, 0);
	/* writing into the read-only mapping */
	access_rw_err(EPERM, fd, APERTURE + BUF_SIZE, tmp, 16, MOCK_ACCESS_RW_WRITE);
	access_rw_ok(fd, APERTURE + BUF_SIZE, tmp, 16, 0);
	/* the user buffer must be valid */
	access_rw_err(EFAULT, fd, APERTURE, (void *)8, 16, 0);
	access_rw_err(EFAULT, fd, APERTURE, (void *)8, 16, MOCK_ACCESS_RW_WRITE);
	destroy_access(fd);
}

Test(selftest, access_rw_copies)
{
	uint32_t ioas = ioas_alloc_ok();
	int fd = create_access_ok(ioas, 0);
	uint8_t tmp[3 * PAGE], pattern[3 * PAGE];

	/* two areas back to back: copies cross between them at any alignment */
	ioas_map_fixed_ok(ioas, buf, PAGE + 100, APERTURE);
	ioas_map_fixed_ok(ioas, buf + PAGE + 100, 2 * PAGE, APERTURE + PAGE + 100);
	for (uint64_t off = PAGE - 50; off < PAGE + 150; off += 7) {
		for (uint32_t flags = 0; flags <= MOCK_ACCESS_RW_SLOW_PATH;
		     flags += MOCK_ACCESS_RW_SLOW_PATH) {
			memset(tmp, 0, sizeof(tmp));
			access_rw_ok(fd, APERTURE + off, tmp, 300, flags);
			cr_assert_eq(memcmp(tmp, buf + off, 300), 0);
		}
	}
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)~i;
	access_rw_ok(fd, APERTURE + 10, pattern, 2 * PAGE, MOCK_ACCESS_RW_WRITE);
	cr_assert_eq(memcmp(buf + 10, pattern, 2 * PAGE), 0);
	access_rw_ok(fd, APERTURE + 20, pattern, 100,
		     MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH);
	cr_assert_eq(memcmp(buf + 20, pattern, 100), 0);
	destroy_access(fd);
}

Test(selftest, access_rw_file_mapping)
{
	uint32_t ioas = ioas_alloc_ok();
	int fd = create_access_ok(ioas, 0);
	int mfd = memfd_create("st", 0);
	uint8_t tmp[32], out[32];
	struct iommu_ioas_map_file map = { .size = sizeof(map), .flags = MAP_FIXED_RW,
					    .ioas_id = ioas, .length = 2 * PAGE,
					    .iova = APERTURE };

	cr_assert_geq(mfd, 0);
	cr_assert_eq(ftruncate(mfd, 4 * PAGE), 0);
	cr_assert_eq(pwrite(mfd, "file-backed-bytes", 17, PAGE + 5), 17);
	map.fd = mfd;
	map.start = PAGE;
	assert_rc(0, _ioctl(IOMMU_IOAS_MAP_FILE, &map));
	access_rw_ok(fd, APERTURE + 5, tmp, 17, 0);
	cr_assert_eq(memcmp(tmp, "file-backed-bytes", 17), 0);
	memcpy(out, "WRITTEN", 7);
	access_rw_ok(fd, APERTURE + PAGE, out, 7, MOCK_ACCESS_RW_WRITE);
	cr_assert_eq(pread(mfd, tmp, 7, 2 * PAGE), 7);
	cr_assert_eq(memcmp(tmp, "WRITTEN", 7), 0);
	destroy_access(fd);
	close(mfd);
}

/* ---- ACCESS_REPLACE_IOAS ---------------------------------------------------------------------- */

Test(selftest, access_replace_ioas)
{
	uint32_t ioas = ioas_alloc_ok(), ioas2 = ioas_alloc_ok();
	int fd = create_access_ok(ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	uint8_t tmp[16];
	uint32_t id;

	ioas_map_fixed_ok(ioas, buf, PAGE, APERTURE);
	ioas_map_fixed_ok(ioas2, buf + PAGE, PAGE, APERTURE);
	id = access_pages_ok(fd, APERTURE, PAGE, buf);
	assert_rc(-ENOENT, _access_replace_ioas(fd, ioas2 + 1));
	assert_rc(0, _access_replace_ioas(fd, ioas2));
	/* the move unpinned everything in the old IOAS */
	destroy_access_pages_err(ENOENT, fd, id);
	check_refs_ok(buf, PAGE, 0);
	access_rw_ok(fd, APERTURE, tmp, sizeof(tmp), 0);
	cr_assert_eq(memcmp(tmp, buf + PAGE, sizeof(tmp)), 0);
	/* the old IOAS is free, the new one held */
	destroy_ok(ioas);
	destroy_err(EBUSY, ioas2);
	assert_rc(0, _access_replace_ioas(fd, ioas2)); /* to the same IOAS: nothing to do */
	destroy_access(fd);
	destroy_ok(ioas2);
}

Test(selftest, access_pin_raises_ioas_alignment)
{
	uint32_t ioas = ioas_alloc_ok(), ioas2 = ioas_alloc_ok();
	int fd;

	/* an IOAS with a byte-granular mapping cannot take a pinning access */
	ioas_map_fixed_ok(ioas, buf + 16, PAGE, APERTURE + 16);
	create_access_err(EADDRINUSE, ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	/* while one is attached, maps must be page aligned */
	fd = create_access_ok(ioas2, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	ioas_map_fixed_err(EINVAL, ioas2, buf + 16, PAGE, APERTURE + 16);
	destroy_access(fd);
	ioas_map_fixed_ok(ioas2, buf + 16, PAGE, APERTURE + 16);
}

/* ---- mock devices (device.c / hwpt.c behind them) -------------------------------------------- */

Test(selftest, mock_domain_and_check_map)
{
	uint32_t ioas = ioas_alloc_ok(), stdev = 0, hwpt = 0, idev = 0;

	mock_domain_err(ENOENT, ioas + 100, 0);
	mock_domain_err(EINVAL, ioas, 1u << 3);
	mock_domain_ok(ioas, &stdev, &hwpt, &idev);
	cr_assert(stdev && hwpt && idev);
	cr_assert_eq(idev, stdev + 1, "the stdev is allocated before the device, as in the kernel");
	ioas_map_fixed_ok(ioas, buf, BUF_SIZE, APERTURE);
	check_map_ok(hwpt, APERTURE, BUF_SIZE, buf);
	check_map_ok(hwpt, APERTURE + MOCK_PAGE_SIZE, MOCK_PAGE_SIZE, buf + MOCK_PAGE_SIZE);
	check_map_err(EINVAL, hwpt, APERTURE, PAGE, buf + PAGE);
	check_map_err(EINVAL, hwpt, APERTURE + 1, PAGE, buf + 1);
	check_map_err(EINVAL, hwpt, APERTURE + BUF_SIZE, PAGE, buf);
	check_map_err(ENOENT, ioas, APERTURE, PAGE, buf);     /* not a HWPT */
	check_map_err(EFAULT, hwpt, APERTURE, PAGE, (void *)PAGE);
	/* the mapping is pinned once, for the domain */
	check_refs_ok(buf, BUF_SIZE, 1);
	destroy_err(EBUSY, ioas);
	destroy_ok(stdev);
	check_refs_ok(buf, BUF_SIZE, 0);
	destroy_ok(ioas);
}

Test(selftest, mock_domain_replace)
{
	uint32_t ioas = ioas_alloc_ok(), ioas2 = ioas_alloc_ok(), stdev, hwpt, idev, pt;

	mock_domain_ok(ioas, &stdev, &hwpt, &idev);
	pt = ioas2;
	assert_rc(0, _replace(stdev, &pt));
	cr_assert_neq(pt, hwpt);
	cr_assert_neq(pt, ioas2);
	pt = 1000;
	assert_rc(-ENOENT, _replace(stdev, &pt));
	pt = ioas;
	assert_rc(-ENOENT, _replace(stdev + 100, &pt));
	destroy_ok(stdev);
}

Test(selftest, dirty_needs_tracking)
{
	uint32_t ioas = ioas_alloc_ok(), stdev, hwpt, idev, dirty_hwpt = 0;
	struct iommu_hwpt_set_dirty_tracking set = { .size = sizeof(set),
						     .flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE };
	uint64_t bitmap[2] = { 0x5 }, nr = 0;

	mock_domain_ok(ioas, &stdev, &hwpt, &idev);
	ioas_map_fixed_ok(ioas, buf, BUF_SIZE, APERTURE);
	assert_rc(-EINVAL, _dirty(hwpt, APERTURE, 0, PAGE, bitmap, &nr));
	assert_rc(-EINVAL, _dirty(hwpt, APERTURE + 1, PAGE, PAGE, bitmap, &nr));
	assert_rc(-EINVAL, _dirty(hwpt, APERTURE, PAGE, 0, bitmap, &nr));
	assert_rc(-EINVAL, _dirty(hwpt, APERTURE, PAGE, PAGE, NULL, &nr));
	assert_rc(-EOVERFLOW, _dirty(hwpt, 0, (16ULL * 1024 * 1024 * 8 + 1) * PAGE, PAGE,
				     bitmap, &nr));
	/* dirty tracking is off on the automatic domain */
	assert_rc(-EINVAL, _dirty(hwpt, APERTURE, 64 * PAGE, PAGE, bitmap, &nr));
	assert_rc(0, _hwpt_alloc(idev, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 0, NULL, 0, 0, &dirty_hwpt));
	set.hwpt_id = dirty_hwpt;
	assert_rc(0, _ioctl(IOMMU_HWPT_SET_DIRTY_TRACKING, &set));
	assert_rc(0, _dirty(dirty_hwpt, APERTURE, 64 * PAGE, PAGE, bitmap, &nr));
	cr_assert_eq(nr, 2);
	/* bits over unmapped IOVA count nothing */
	assert_rc(0, _dirty(dirty_hwpt, APERTURE + BUF_SIZE, 64 * PAGE, PAGE, bitmap, &nr));
	cr_assert_eq(nr, 0);
	destroy_ok(stdev);
	destroy_ok(dirty_hwpt);
}

Test(selftest, md_check_iotlb_needs_nested)
{
	uint32_t ioas = ioas_alloc_ok(), stdev, hwpt, idev;
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_MD_CHECK_IOTLB };

	mock_domain_ok(ioas, &stdev, &hwpt, &idev);
	cmd.id = hwpt; /* a paging HWPT is not a nested one */
	assert_rc(-ENOENT, _test_cmd(&cmd));
	destroy_ok(stdev);
}

Test(selftest, trigger_iopf_lookups)
{
	uint32_t ioas = ioas_alloc_ok(), stdev, hwpt, idev;
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_TRIGGER_IOPF };

	mock_domain_ok(ioas, &stdev, &hwpt, &idev);
	cmd.trigger_iopf.dev_id = ioas;
	assert_rc(-ENOENT, _test_cmd(&cmd));
	/* nothing fault-capable attached: the request is dropped, the op still succeeds */
	cmd.trigger_iopf.dev_id = idev;
	cmd.trigger_iopf.pasid = 1;
	assert_rc(0, _test_cmd(&cmd));
	destroy_ok(stdev);
}

Test(selftest, pasid_ops)
{
	uint32_t ioas = ioas_alloc_ok(), stdev, hwpt, idev, pasid_hwpt;

	assert_rc(0, _mock_domain_flags(ioas, MOCK_FLAGS_DEVICE_PASID, &stdev, &hwpt, &idev));
	assert_rc(0, _hwpt_alloc(idev, ioas, IOMMU_HWPT_ALLOC_PASID, 0, NULL, 0, 0, &pasid_hwpt));
	assert_rc(-ENOENT, _pasid(IOMMU_TEST_OP_PASID_ATTACH, ioas, 100, pasid_hwpt));
	assert_rc(0, _pasid(IOMMU_TEST_OP_PASID_CHECK_HWPT, stdev, 100, 0));
	assert_rc(-EINVAL, _pasid(IOMMU_TEST_OP_PASID_CHECK_HWPT, stdev, 100, pasid_hwpt));
	assert_rc(-ENOENT, _pasid(IOMMU_TEST_OP_PASID_CHECK_HWPT, stdev, 100, 1000));
	assert_rc(-EINVAL, _pasid(IOMMU_TEST_OP_PASID_CHECK_HWPT, stdev, 100, ioas));
	/* an IOAS cannot be attached to a PASID */
	assert_rc(-EINVAL, _pasid(IOMMU_TEST_OP_PASID_ATTACH, stdev, 100, ioas));
	/* the RID's automatic domain is not PASID-compatible: replace it first */
	assert_rc(-EINVAL, _pasid(IOMMU_TEST_OP_PASID_ATTACH, stdev, 100, pasid_hwpt));
	{
		uint32_t pt = pasid_hwpt;

		assert_rc(0, _replace(stdev, &pt));
	}
	assert_rc(0, _pasid(IOMMU_TEST_OP_PASID_ATTACH, stdev, 100, pasid_hwpt));
	assert_rc(0, _pasid(IOMMU_TEST_OP_PASID_CHECK_HWPT, stdev, 100, pasid_hwpt));
	assert_rc(-EBUSY, _pasid(IOMMU_TEST_OP_PASID_ATTACH, stdev, 100, pasid_hwpt));
	assert_rc(0, _pasid(IOMMU_TEST_OP_PASID_REPLACE, stdev, 100, pasid_hwpt));
	assert_rc(0, _pasid(IOMMU_TEST_OP_PASID_DETACH, stdev, 100, 0));
	assert_rc(0, _pasid(IOMMU_TEST_OP_PASID_CHECK_HWPT, stdev, 100, 0));
	assert_rc(-EINVAL, _pasid(IOMMU_TEST_OP_PASID_REPLACE, stdev, 100, pasid_hwpt));
	destroy_ok(stdev);
	destroy_ok(pasid_hwpt);
}

/* ---- MD_CHECK_IOTLB and the mock nested domain's invalidation ------------------------------- */

/* Fill a stretch of the stack with a non-zero pattern, so that a handler that answers with an
 * uninitialised local finds garbage rather than a lucky 0. */
static __attribute__((noinline)) void scribble_stack(void)
{
	volatile uint8_t junk[16384];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = 0x7f;
}

static int _check_iotlb(uint32_t hwpt, uint32_t id, uint32_t expect)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_MD_CHECK_IOTLB, .id = hwpt,
				      .check_iotlb = { .id = id, .iotlb = expect } };

	scribble_stack();
	return _test_cmd(&cmd);
}
#define check_iotlb_ok(hwpt, id, v) assert_rc(0, _check_iotlb(hwpt, id, v))
#define check_iotlb_err(e, hwpt, id, v) assert_rc(-(e), _check_iotlb(hwpt, id, v))

static void check_iotlb_all(uint32_t hwpt, uint32_t v0, uint32_t v1, uint32_t v2, uint32_t v3)
{
	check_iotlb_ok(hwpt, 0, v0);
	check_iotlb_ok(hwpt, 1, v1);
	check_iotlb_ok(hwpt, 2, v2);
	check_iotlb_ok(hwpt, 3, v3);
}

static int _invalidate(uint32_t hwpt, const struct iommu_hwpt_invalidate_selftest *reqs,
		       uint32_t type, uint32_t entry_len, uint32_t *num)
{
	struct iommu_hwpt_invalidate cmd = { .size = sizeof(cmd), .hwpt_id = hwpt,
					     .data_uptr = (uintptr_t)reqs, .data_type = type,
					     .entry_len = entry_len, .entry_num = *num };
	int rc = _ioctl(IOMMU_HWPT_INVALIDATE, &cmd);

	*num = cmd.entry_num;
	return rc;
}
#define ST_INV IOMMU_HWPT_INVALIDATE_DATA_SELFTEST
#define REQ_LEN sizeof(struct iommu_hwpt_invalidate_selftest)

/* A selftest nested HWPT on parent whose four IOTLB entries start at `iotlb` (the kernel's
 * mock_domain_alloc_nested), given 6.8's 4-byte struct. */
static uint32_t nested_alloc_ok(uint32_t idev, uint32_t parent, uint32_t iotlb)
{
	struct iommu_hwpt_selftest data = { .iotlb = iotlb };
	uint32_t nested = 0;

	assert_rc(0, _hwpt_alloc(idev, parent, 0, IOMMU_HWPT_DATA_SELFTEST, &data,
				 sizeof(data.iotlb), 0, &nested));
	return nested;
}

/* A mock device, a NEST_PARENT HWPT on its IOAS and a nested HWPT over it. */
static uint32_t nested_setup(uint32_t iotlb, uint32_t *stdev, uint32_t *idev, uint32_t *parent)
{
	uint32_t ioas = ioas_alloc_ok(), hwpt;

	mock_domain_ok(ioas, stdev, &hwpt, idev);
	assert_rc(0, _hwpt_alloc(*idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, 0, NULL, 0, 0,
				 parent));
	return nested_alloc_ok(*idev, *parent, iotlb);
}

/* MD_CHECK_IOTLB answers 0 or -errno, never a value: it once returned an uninitialised rc
 * (32764 through ioctl(), iommufd_ioas.*.alloc_hwpt_nested at iommufd.c:362). */
Test(selftest, md_check_iotlb_answers_0_or_errno)
{
	uint32_t stdev, idev, parent;
	uint32_t nested = nested_setup(IOMMU_TEST_IOTLB_DEFAULT, &stdev, &idev, &parent);

	for (int round = 0; round < 64; round++)
		check_iotlb_all(nested, IOMMU_TEST_IOTLB_DEFAULT, IOMMU_TEST_IOTLB_DEFAULT,
				IOMMU_TEST_IOTLB_DEFAULT, IOMMU_TEST_IOTLB_DEFAULT);
	check_iotlb_err(EINVAL, nested, 0, 0);                  /* a different value */
	check_iotlb_err(EINVAL, nested, MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1,
			IOMMU_TEST_IOTLB_DEFAULT);              /* beyond the four entries */
	check_iotlb_err(ENOENT, parent, 0, IOMMU_TEST_IOTLB_DEFAULT); /* not nested */
	check_iotlb_err(ENOENT, 999, 0, IOMMU_TEST_IOTLB_DEFAULT);
	destroy_ok(nested);
	destroy_ok(stdev);
	destroy_ok(parent);
}

/* The kernel's mock_domain_cache_invalidate_user() as iommufd_ioas.alloc_hwpt_nested drives it:
 * requests are handled in order and the first bad one stops the array (entry_num = done);
 * flags beyond FLAG_ALL → EOPNOTSUPP, iotlb_id > 3 → EINVAL, an entry longer than the struct →
 * EINVAL even with a zero tail (iommu_copy_struct_from_user), FLAG_ALL clears every entry. */
Test(selftest, nested_invalidation_sequence)
{
	const uint32_t D = IOMMU_TEST_IOTLB_DEFAULT;
	uint32_t stdev, idev, parent, nested = nested_setup(D, &stdev, &idev, &parent);
	uint32_t other = nested_alloc_ok(idev, parent, D), num;
	struct iommu_hwpt_invalidate_selftest reqs[2] = { 0 };

	/* a paging HWPT takes no invalidation: EINVAL (6.13+; 6.12 said ENOENT) */
	num = 1;
	assert_rc(-EINVAL, _invalidate(parent, reqs, ST_INV, REQ_LEN, &num));
	cr_assert_eq(num, 0);
	num = 0;                                       /* probes the type only */
	assert_rc(0, _invalidate(nested, reqs, ST_INV, REQ_LEN, &num));
	cr_assert_eq(num, 0);
	num = 1;
	assert_rc(-EINVAL, _invalidate(nested, reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID,
				       REQ_LEN, &num));
	cr_assert_eq(num, 0);
	num = 1;                                       /* longer than the struct, zero tail */
	assert_rc(-EINVAL, _invalidate(nested, reqs, ST_INV, REQ_LEN + 1, &num));
	cr_assert_eq(num, 0);
	num = 1;
	assert_rc(-EINVAL, _invalidate(nested, reqs, ST_INV, 1, &num));
	cr_assert_eq(num, 0);
	num = 1;
	reqs[0].flags = 0xffffffff;
	assert_rc(-EOPNOTSUPP, _invalidate(nested, reqs, ST_INV, REQ_LEN, &num));
	cr_assert_eq(num, 0);
	num = 1;
	reqs[0].flags = 0;
	assert_rc(-EINVAL, _invalidate(nested, NULL, ST_INV, REQ_LEN, &num));
	cr_assert_eq(num, 0);
	num = 1;
	assert_rc(-EINVAL, _invalidate(nested, reqs, ST_INV, 0, &num));
	cr_assert_eq(num, 0);
	num = 1;
	reqs[0].iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1;
	assert_rc(-EINVAL, _invalidate(nested, reqs, ST_INV, REQ_LEN, &num));
	cr_assert_eq(num, 0);
	check_iotlb_all(nested, D, D, D, D);

	/* the first request is done, the second's flags stop the array */
	num = 2;
	reqs[0] = (struct iommu_hwpt_invalidate_selftest){ .flags = 0, .iotlb_id = 0 };
	reqs[1] = (struct iommu_hwpt_invalidate_selftest){ .flags = 0xffffffff, .iotlb_id = 1 };
	assert_rc(-EOPNOTSUPP, _invalidate(nested, reqs, ST_INV, REQ_LEN, &num));
	cr_assert_eq(num, 1);
	check_iotlb_all(nested, 0, D, D, D);
	/* the same with an iotlb_id out of range */
	num = 2;
	reqs[1] = (struct iommu_hwpt_invalidate_selftest){ .flags = 0,
		.iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1 };
	assert_rc(-EINVAL, _invalidate(nested, reqs, ST_INV, REQ_LEN, &num));
	cr_assert_eq(num, 1);
	check_iotlb_all(nested, 0, D, D, D);
	num = 1;
	reqs[0].iotlb_id = 1;
	assert_rc(0, _invalidate(nested, reqs, ST_INV, REQ_LEN, &num));
	cr_assert_eq(num, 1);
	check_iotlb_all(nested, 0, 0, D, D);
	num = 2;
	reqs[0].iotlb_id = 2;
	reqs[1] = (struct iommu_hwpt_invalidate_selftest){ .flags = 0, .iotlb_id = 3 };
	assert_rc(0, _invalidate(nested, reqs, ST_INV, REQ_LEN, &num));
	cr_assert_eq(num, 2);
	check_iotlb_all(nested, 0, 0, 0, 0);

	/* FLAG_ALL on the other nested HWPT of the parent clears all four whatever iotlb_id
	 * names, but the range check comes first */
	check_iotlb_all(other, D, D, D, D);
	num = 1;
	reqs[0] = (struct iommu_hwpt_invalidate_selftest){
		.flags = IOMMU_TEST_INVALIDATE_FLAG_ALL, .iotlb_id = 7 };
	assert_rc(-EINVAL, _invalidate(other, reqs, ST_INV, REQ_LEN, &num));
	cr_assert_eq(num, 0);
	check_iotlb_all(other, D, D, D, D);
	num = 1;
	reqs[0].iotlb_id = 2;
	assert_rc(0, _invalidate(other, reqs, ST_INV, REQ_LEN, &num));
	cr_assert_eq(num, 1);
	check_iotlb_all(other, 0, 0, 0, 0);
	destroy_ok(other);
	destroy_ok(nested);
	destroy_ok(stdev);
	destroy_ok(parent);
}

/* Nested HWPT data longer than the driver's struct is EINVAL even with a zero tail; the newest
 * struct (8 bytes, pagetable_type) is taken, a shorter one than iotlb is not. */
Test(selftest, nested_alloc_data_length)
{
	uint32_t ioas = ioas_alloc_ok(), stdev, hwpt, idev, parent, nested = 0;
	uint8_t data[16] = { 0 };

	mock_domain_ok(ioas, &stdev, &hwpt, &idev);
	assert_rc(0, _hwpt_alloc(idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, 0, NULL, 0, 0, &parent));
	assert_rc(-EINVAL, _hwpt_alloc(idev, parent, 0, IOMMU_HWPT_DATA_SELFTEST, data, 3, 0,
				       &nested));
	assert_rc(-EINVAL, _hwpt_alloc(idev, parent, 0, IOMMU_HWPT_DATA_SELFTEST, data, 9, 0,
				       &nested));
	assert_rc(-EFAULT, _hwpt_alloc(idev, parent, 0, IOMMU_HWPT_DATA_SELFTEST, NULL, 4, 0,
				       &nested));
	assert_rc(0, _hwpt_alloc(idev, parent, 0, IOMMU_HWPT_DATA_SELFTEST, data, 8, 0, &nested));
	check_iotlb_all(nested, 0, 0, 0, 0);
	destroy_ok(nested);
	destroy_ok(stdev);
	destroy_ok(parent);
}

/* PASID_CHECK_HWPT of the HWPT that is attached answers exactly 0: a found object left rc
 * uninitialised on that path. */
Test(selftest, pasid_check_hwpt_answers_0)
{
	uint32_t ioas = ioas_alloc_ok(), stdev, hwpt, idev, pasid_hwpt, pt;

	assert_rc(0, _mock_domain_flags(ioas, MOCK_FLAGS_DEVICE_PASID, &stdev, &hwpt, &idev));
	assert_rc(0, _hwpt_alloc(idev, ioas, IOMMU_HWPT_ALLOC_PASID, 0, NULL, 0, 0, &pasid_hwpt));
	pt = pasid_hwpt;
	assert_rc(0, _replace(stdev, &pt));
	assert_rc(0, _pasid(IOMMU_TEST_OP_PASID_ATTACH, stdev, 7, pasid_hwpt));
	for (int round = 0; round < 64; round++) {
		scribble_stack();
		assert_rc(0, _pasid(IOMMU_TEST_OP_PASID_CHECK_HWPT, stdev, 7, pasid_hwpt));
	}
	assert_rc(0, _pasid(IOMMU_TEST_OP_PASID_DETACH, stdev, 7, 0));
	destroy_ok(stdev);
	destroy_ok(pasid_hwpt);
}
