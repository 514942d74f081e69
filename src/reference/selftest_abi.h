/* selftest_abi.h — the kernel's CONFIG_IOMMUFD_TEST mock interface (IOMMU_TEST_CMD), written from
 * the ABI facts (shared/reference/iommufd-uapi.md §3), not copied: the layout is identical to
 * drivers/iommu/iommufd/iommufd_test.h of the newest version described there (≈6.19: ops 1..24,
 * sizeof(struct iommu_test_cmd) == 72, min_size == offsetofend(last) == 68).
 *
 * Compatibility: every version since the dirty op (6.7) passes size 72, so the 6.12 selftests
 * are accepted as they are; an older or newer caller is handled by the extensible-struct rules
 * (ref_ucmd_init): shorter than 68 → EINVAL, a non-zero tail beyond 72 → E2BIG.
 *
 * Also here: the few access.c helpers that only selftest.c uses (the syzkaller IOVA form).
 */
#ifndef IOASID_REFERENCE_SELFTEST_ABI_H
#define IOASID_REFERENCE_SELFTEST_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include <linux/iommufd.h>

#ifndef IOMMU_TEST_CMD
#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)
#endif

enum {
	IOMMU_TEST_OP_ADD_RESERVED = 1,       /* 6.2 */
	IOMMU_TEST_OP_MOCK_DOMAIN,
	IOMMU_TEST_OP_MD_CHECK_MAP,
	IOMMU_TEST_OP_MD_CHECK_REFS,
	IOMMU_TEST_OP_CREATE_ACCESS,
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
	IOMMU_TEST_OP_ACCESS_PAGES,
	IOMMU_TEST_OP_ACCESS_RW,
	IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,    /* 6.6 */
	IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,    /* 6.6 */
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,      /* 6.7 */
	IOMMU_TEST_OP_DIRTY,                  /* 6.7 */
	IOMMU_TEST_OP_MD_CHECK_IOTLB,         /* 6.8 */
	IOMMU_TEST_OP_TRIGGER_IOPF,           /* 6.11 */
	IOMMU_TEST_OP_DEV_CHECK_CACHE,        /* 6.13 */
	IOMMU_TEST_OP_TRIGGER_VEVENT,         /* 6.15 */
	IOMMU_TEST_OP_PASID_ATTACH,           /* 6.15 */
	IOMMU_TEST_OP_PASID_REPLACE,
	IOMMU_TEST_OP_PASID_DETACH,
	IOMMU_TEST_OP_PASID_CHECK_HWPT,
	IOMMU_TEST_OP_DMABUF_GET,             /* ≈6.19 */
	IOMMU_TEST_OP_DMABUF_REVOKE,
	IOMMU_TEST_OP_MD_CHECK_DMABUF,
};

/* Page-table formats of the mock (iommu_hwpt_selftest.pagetable_type, ≈6.19). */
enum {
	MOCK_IOMMUPT_DEFAULT = 0,
	MOCK_IOMMUPT_HUGE,
	MOCK_IOMMUPT_AMDV1,
};

/* The mock IOMMU (MOCK_IOMMUPT_DEFAULT): aperture and its 2 KiB IO page (PAGE_SIZE / 2). */
enum {
	MOCK_APERTURE_START = 1UL << 24,
	MOCK_APERTURE_LAST = (1UL << 31) - 1,
	MOCK_PAGE_SIZE = 2048,
	MOCK_HUGE_PAGE_SIZE = 512 * MOCK_PAGE_SIZE,
};

enum {
	MOCK_FLAGS_ACCESS_WRITE = 1 << 0,
	MOCK_FLAGS_ACCESS_SYZ = 1 << 16,   /* iova is {u32 nth_area, u32 offset} */
};

enum {
	MOCK_ACCESS_RW_WRITE = 1 << 0,
	MOCK_ACCESS_RW_SLOW_PATH = 1 << 2,
};

enum {
	MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0,
};

enum {
	MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0,
	MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1,  /* 6.7–6.18; gone in ≈6.19, still accepted here */
	MOCK_FLAGS_DEVICE_PASID = 1 << 2,      /* 6.15 */
};

enum {
	MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3,
	MOCK_NESTED_DOMAIN_IOTLB_NUM = 4,
};

enum {
	MOCK_DEV_CACHE_ID_MAX = 3,
	MOCK_DEV_CACHE_NUM = 4,
};

/* A PASID whose replace fails by design (ENOMEM), to exercise the core's rollback. */
#define IOMMU_TEST_PASID_RESERVED 1024
/* The mock device's and IOMMU's PASID width. */
#define MOCK_PASID_WIDTH 20

struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {
			__aligned_u64 start;
			__aligned_u64 length;
		} add_reserved;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;      /* the device object (6.6) */
		} mock_domain;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
			__u32 dev_flags;        /* MOCK_FLAGS_DEVICE_* */
		} mock_domain_flags;
		struct {
			__u32 pt_id;
		} mock_domain_replace;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} check_map;
		struct {
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 refs;
		} check_refs;
		struct {
			__u32 out_access_fd;
			__u32 flags;
		} create_access;
		struct {
			__u32 access_pages_id;
		} destroy_access_pages;
		struct {
			__u32 flags;
			__u32 out_access_pages_id;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} access_pages;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 flags;
		} access_rw;
		struct {
			__u32 limit;
		} memory_limit;
		struct {
			__u32 ioas_id;
		} access_replace_ioas;
		struct {
			__u32 flags;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 page_size;
			__aligned_u64 uptr;
			__aligned_u64 out_nr_dirty;
		} dirty;
		struct {
			__u32 id;
			__u32 iotlb;
		} check_iotlb;
		struct {
			__u32 dev_id;
			__u32 pasid;
			__u32 grpid;
			__u32 perm;
			__u64 addr;
		} trigger_iopf;
		struct {
			__u32 id;
			__u32 cache;
		} check_dev_cache;
		struct {
			__u32 dev_id;
		} trigger_vevent;
		struct {
			__u32 pasid;
			__u32 pt_id;            /* id is the stdev */
		} pasid_attach;
		struct {
			__u32 pasid;
			__u32 pt_id;
		} pasid_replace;
		struct {
			__u32 pasid;
		} pasid_detach;
		struct {
			__u32 pasid;
			__u32 hwpt_id;          /* 0: expect nothing attached */
		} pasid_check;
		struct {
			__u32 length;
			__u32 open_flags;
		} dmabuf_get;
		struct {
			__s32 dmabuf_fd;
			__u32 revoked;
		} dmabuf_revoke;
		struct {
			__s32 dmabuf_fd;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 offset;
		} check_dmabuf;
	};
	__u32 last;
};

#define IOMMU_TEST_CMD_MIN_SIZE (offsetof(struct iommu_test_cmd, last) + sizeof(__u32))
_Static_assert(sizeof(struct iommu_test_cmd) == 72, "iommu_test_cmd must be 72 bytes");
_Static_assert(IOMMU_TEST_CMD_MIN_SIZE == 68, "iommu_test_cmd min_size must be 68");
_Static_assert(offsetof(struct iommu_test_cmd, dirty.out_nr_dirty) == 56, "dirty layout");
_Static_assert(offsetof(struct iommu_test_cmd, access_pages.iova) == 24, "access_pages layout");

/* IOMMU_GET_HW_INFO of a mock device. */
#define IOMMU_HW_INFO_TYPE_SELFTEST 0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL 0xdeadbeef
struct iommu_test_hw_info {
	__u32 flags;
	__u32 test_reg;
};

/* IOMMU_HWPT_ALLOC of a mock nested HWPT. */
#define IOMMU_HWPT_DATA_SELFTEST 0xdead
#define IOMMU_TEST_IOTLB_DEFAULT 0xbadbeef
#define IOMMU_TEST_DEV_CACHE_DEFAULT 0xbaddad
struct iommu_hwpt_selftest {
	__u32 iotlb;
	__u32 pagetable_type;     /* ≈6.19; older callers pass 4 bytes */
};

/* IOMMU_HWPT_INVALIDATE of a mock nested HWPT. */
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef
#define IOMMU_TEST_INVALIDATE_FLAG_ALL (1 << 0)
struct iommu_hwpt_invalidate_selftest {
	__u32 flags;
	__u32 iotlb_id;
};

/* vIOMMU objects of the mock (6.13+). */
#define IOMMU_VIOMMU_TYPE_SELFTEST 0xdeadbeef
struct iommu_viommu_selftest {
	__u32 in_data;
	__u32 out_data;
	__aligned_u64 out_mmap_offset;
	__aligned_u64 out_mmap_length;
};
#define IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef
struct iommu_viommu_invalidate_selftest {
	__u32 flags;
	__u32 vdev_id;
	__u32 cache_id;
};
#define IOMMU_VEVENTQ_TYPE_SELFTEST 0xbeefbeef
struct iommu_viommu_event_selftest {
	__u32 virt_id;
};
#define IOMMU_HW_QUEUE_TYPE_SELFTEST 0xdeadbeef
#define IOMMU_TEST_HW_QUEUE_MAX 2

/* ---- access.c helpers for selftest.c --------------------------------------------------------- */
struct ref_access;
/* MOCK_FLAGS_ACCESS_SYZ: *iova holds {u32 nth_area, u32 offset} (little-endian words); rewrite
 * it to the IOVA of that byte of the access's IOAS's nth area, or 0 when there is none. */
void ref_access_syz_conv_iova(struct ref_access *access, uint64_t *iova);
/* Whether the access was created with needs_pin_pages. */
bool ref_access_needs_pin_pages(const struct ref_access *access);

#endif
