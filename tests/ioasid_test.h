/* ioasid_test.h — helpers shared by the reference's Criterion tests.
 *
 * For each ioctl a triple (STYLE.md #7): _ioas_map() returns the ioctl's rc (0 or -errno),
 * ioas_map_ok() asserts success, ioas_map_err(ERRNO, ...) asserts that exact errno. All act on
 * the context `self` that the fixture opens, and check that the context frees everything when
 * it is closed (ioasid_live_allocations() back to where it started). */
#ifndef IOASID_TESTS_IOASID_TEST_H
#define IOASID_TESTS_IOASID_TEST_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/iommufd.h>

#include "ioasid/ioasid.h"

static struct ioasid_ctx *self;
static int64_t live_at_start;

static inline void ctx_setup(void)
{
	live_at_start = ioasid_live_allocations();
	cr_assert_eq(ioasid_ctx_open(&self), 0);
}

static inline void ctx_teardown(void)
{
	ioasid_ctx_close(self);
	self = NULL;
	cr_assert_eq(ioasid_live_allocations(), live_at_start,
		     "context leaked %lld allocations",
		     (long long)(ioasid_live_allocations() - live_at_start));
}

#define assert_rc(expected, expr)                                                          \
	do {                                                                               \
		int rc__ = (expr);                                                         \
		cr_assert_eq(rc__, (expected), "%s: got %d (%s), expected %d (%s)", #expr, \
			     rc__, strerror(-rc__), (expected), strerror(-(expected)));    \
	} while (0)

static inline int _ioctl(unsigned long cmd, void *arg)
{
	return ioasid_ctx_ioctl(self, cmd, arg);
}

/* ---- IOAS_ALLOC / DESTROY ---- */
static inline int _ioas_alloc(uint32_t *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc = _ioctl(IOMMU_IOAS_ALLOC, &cmd);

	if (!rc)
		*id = cmd.out_ioas_id;
	return rc;
}
static inline uint32_t ioas_alloc_ok(void)
{
	uint32_t id = 0;

	assert_rc(0, _ioas_alloc(&id));
	cr_assert_neq(id, 0);
	return id;
}
static inline int _destroy(uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return _ioctl(IOMMU_DESTROY, &cmd);
}
#define destroy_ok(id) assert_rc(0, _destroy(id))
#define destroy_err(e, id) assert_rc(-(e), _destroy(id))

/* ---- IOAS_MAP ---- */
static inline int _ioas_map(uint32_t ioas, void *buf, uint64_t len, uint64_t *iova, uint32_t flags)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = flags, .ioas_id = ioas,
		.user_va = (uintptr_t)buf, .length = len, .iova = iova ? *iova : 0,
	};
	int rc = _ioctl(IOMMU_IOAS_MAP, &cmd);

	if (!rc && iova)
		*iova = cmd.iova;
	return rc;
}
#define MAP_RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define MAP_FIXED_RW (MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA)
static inline void ioas_map_fixed_ok(uint32_t ioas, void *buf, uint64_t len, uint64_t iova)
{
	assert_rc(0, _ioas_map(ioas, buf, len, &iova, MAP_FIXED_RW));
}
static inline uint64_t ioas_map_auto_ok(uint32_t ioas, void *buf, uint64_t len)
{
	uint64_t iova = 0;

	assert_rc(0, _ioas_map(ioas, buf, len, &iova, MAP_RW));
	return iova;
}
#define ioas_map_fixed_err(e, ioas, buf, len, iova_)                                      \
	do {                                                                               \
		uint64_t iova__ = (iova_);                                                 \
		assert_rc(-(e), _ioas_map(ioas, buf, len, &iova__, MAP_FIXED_RW));         \
	} while (0)

/* ---- IOAS_UNMAP ---- */
static inline int _ioas_unmap(uint32_t ioas, uint64_t iova, uint64_t len, uint64_t *out_len)
{
	struct iommu_ioas_unmap cmd = { .size = sizeof(cmd), .ioas_id = ioas, .iova = iova,
					.length = len };
	int rc = _ioctl(IOMMU_IOAS_UNMAP, &cmd);

	if (out_len)
		*out_len = rc ? 0 : cmd.length;
	return rc;
}
static inline void ioas_unmap_ok(uint32_t ioas, uint64_t iova, uint64_t len, uint64_t expect)
{
	uint64_t out = 0;

	assert_rc(0, _ioas_unmap(ioas, iova, len, &out));
	cr_assert_eq(out, expect, "unmapped %llu bytes, expected %llu", (unsigned long long)out,
		     (unsigned long long)expect);
}
#define ioas_unmap_err(e, ioas, iova, len) assert_rc(-(e), _ioas_unmap(ioas, iova, len, NULL))

/* ---- IOAS_COPY ---- */
static inline int _ioas_copy(uint32_t dst, uint64_t *dst_iova, uint32_t src, uint64_t src_iova,
			     uint64_t len, uint32_t flags)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd), .flags = flags, .dst_ioas_id = dst, .src_ioas_id = src,
		.length = len, .dst_iova = dst_iova ? *dst_iova : 0, .src_iova = src_iova,
	};
	int rc = _ioctl(IOMMU_IOAS_COPY, &cmd);

	if (!rc && dst_iova)
		*dst_iova = cmd.dst_iova;
	return rc;
}

/* ---- HWPT_ALLOC ---- */
static inline int _hwpt_alloc(uint32_t dev, uint32_t pt, uint32_t flags, uint32_t type,
			      const void *data, uint32_t len, uint32_t fault_id, uint32_t *out)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev, .pt_id = pt,
		.data_type = type, .data_len = len, .data_uptr = (uintptr_t)data,
		.fault_id = fault_id,
	};
	int rc = _ioctl(IOMMU_HWPT_ALLOC, &cmd);

	if (!rc && out)
		*out = cmd.out_hwpt_id;
	return rc;
}
static inline uint32_t hwpt_alloc_ok(uint32_t dev, uint32_t pt, uint32_t flags)
{
	uint32_t id = 0;

	assert_rc(0, _hwpt_alloc(dev, pt, flags, 0, NULL, 0, 0, &id));
	return id;
}

/* ---- OPTION ---- */
static inline int _option(uint32_t option_id, uint16_t op, uint32_t object_id, uint64_t *val)
{
	struct iommu_option cmd = { .size = sizeof(cmd), .option_id = option_id, .op = op,
				    .object_id = object_id, .val64 = val ? *val : 0 };
	int rc = _ioctl(IOMMU_OPTION, &cmd);

	if (!rc && val)
		*val = cmd.val64;
	return rc;
}

/* ---- capabilities: this machine's root may lack some (e.g. CAP_SYS_RESOURCE) ---- */
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>
static inline int have_cap(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return 0;
	return !!(data[cap / 32].effective & (1u << (cap % 32)));
}

/* ---- buffers ---- */
static inline void *test_buffer(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(p, MAP_FAILED);
	return p;
}

#endif
