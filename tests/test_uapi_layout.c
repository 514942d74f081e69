// SPDX-License-Identifier: GPL-2.0
/*
 * test_uapi_layout.c - pins the ABI of uapi-shim/linux/iommufd.h and the cdev
 * additions of uapi-shim/linux/vfio.h to the numbers of mainline Linux.
 *
 * Every expected number below is written out by hand from the kernel's
 * field lists (x86-64/LP64 ABI: __aligned_u64 is 8-aligned everywhere), never
 * computed from the header under test, so a wrong type, a missing field, a
 * reordered field or a wrong ioctl number fails here.
 *
 * For every field: offset, size, and signedness (or element count for
 * arrays).  For every struct: sizeof and alignment.  For every ioctl: the
 * full command value and its _IOC decoding.  For every flag/enum: its value.
 */
#include <criterion/criterion.h>
#include <stddef.h>
#include <string.h>

#include <linux/vfio.h>
#include <linux/iommufd.h>

/* ---- helpers -------------------------------------------------------------------------------- */

#define MEMBER(T, f) (((struct T *)0)->f)
/* -1 converted to the member's type: positive iff the type is unsigned */
#define MEMBER_IS_SIGNED(T, f) (!((__typeof__(MEMBER(T, f)))-1 > 0))

/* struct size and alignment */
#define STRUCT(T, size, align)                                                          \
	do {                                                                            \
		cr_expect_eq(sizeof(struct T), (size_t)(size),                          \
			     "sizeof(struct " #T ") is %zu, kernel has %d",              \
			     sizeof(struct T), (int)(size));                            \
		cr_expect_eq(_Alignof(struct T), (size_t)(align),                       \
			     "_Alignof(struct " #T ") is %zu, kernel has %d",            \
			     _Alignof(struct T), (int)(align));                         \
	} while (0)

#define FIELD_OFF_SIZE(T, f, off, size)                                                 \
	do {                                                                            \
		cr_expect_eq(offsetof(struct T, f), (size_t)(off),                      \
			     #T "." #f " at offset %zu, kernel has %d",                  \
			     offsetof(struct T, f), (int)(off));                        \
		cr_expect_eq(sizeof(MEMBER(T, f)), (size_t)(size),                      \
			     #T "." #f " is %zu bytes, kernel has %d",                   \
			     sizeof(MEMBER(T, f)), (int)(size));                        \
	} while (0)

/* unsigned scalar field (__u8/__u16/__u32/__aligned_u64/__aligned_le64) */
#define U(T, f, off, size)                                                              \
	do {                                                                            \
		FIELD_OFF_SIZE(T, f, off, size);                                        \
		cr_expect(!MEMBER_IS_SIGNED(T, f), #T "." #f " must be unsigned");      \
	} while (0)

/* signed scalar field (__s32) */
#define S(T, f, off, size)                                                              \
	do {                                                                            \
		FIELD_OFF_SIZE(T, f, off, size);                                        \
		cr_expect(MEMBER_IS_SIGNED(T, f), #T "." #f " must be signed");         \
	} while (0)

/* array of unsigned elements: offset, total size, element count */
#define A(T, f, off, size, count)                                                       \
	do {                                                                            \
		FIELD_OFF_SIZE(T, f, off, size);                                        \
		cr_expect_eq(sizeof(MEMBER(T, f)) / sizeof(MEMBER(T, f)[0]),            \
			     (size_t)(count), #T "." #f " has %zu elements, kernel %d",   \
			     sizeof(MEMBER(T, f)) / sizeof(MEMBER(T, f)[0]),            \
			     (int)(count));                                             \
		cr_expect((__typeof__(MEMBER(T, f)[0]))-1 > 0,                         \
			  #T "." #f "[] must be unsigned");                             \
	} while (0)

/* an ioctl: the exact command value, and that it is a plain _IO(';', nr) */
#define IOCTL(cmd, value, nr)                                                           \
	do {                                                                            \
		cr_expect_eq((unsigned long)(cmd), (unsigned long)(value),              \
			     #cmd " is 0x%lx, kernel has 0x%lx",                         \
			     (unsigned long)(cmd), (unsigned long)(value));             \
		cr_expect_eq(_IOC_TYPE(cmd), 0x3Bu, #cmd " type is not ';'");           \
		cr_expect_eq(_IOC_NR(cmd), (unsigned)(nr), #cmd " nr is 0x%x",          \
			     (unsigned)_IOC_NR(cmd));                                   \
		cr_expect_eq(_IOC_SIZE(cmd), 0u, #cmd " must encode no size");          \
		cr_expect_eq(_IOC_DIR(cmd), (unsigned)_IOC_NONE,                        \
			     #cmd " must encode no direction");                         \
	} while (0)

/* a flag or enum constant */
#define VAL(name, value)                                                                \
	cr_expect_eq((long long)(name), (long long)(value), #name " is %lld, kernel has %lld", \
		     (long long)(name), (long long)(value))

/* ---- iommufd: command numbers --------------------------------------------------------------- */

Test(uapi_layout, iommufd_command_numbers)
{
	VAL(IOMMUFD_TYPE, 0x3B);
	VAL(IOMMUFD_TYPE, ';');
	VAL(IOMMUFD_CMD_BASE, 0x80);
	VAL(IOMMUFD_CMD_DESTROY, 0x80);
	VAL(IOMMUFD_CMD_IOAS_ALLOC, 0x81);
	VAL(IOMMUFD_CMD_IOAS_ALLOW_IOVAS, 0x82);
	VAL(IOMMUFD_CMD_IOAS_COPY, 0x83);
	VAL(IOMMUFD_CMD_IOAS_IOVA_RANGES, 0x84);
	VAL(IOMMUFD_CMD_IOAS_MAP, 0x85);
	VAL(IOMMUFD_CMD_IOAS_UNMAP, 0x86);
	VAL(IOMMUFD_CMD_OPTION, 0x87);
	VAL(IOMMUFD_CMD_VFIO_IOAS, 0x88);
	VAL(IOMMUFD_CMD_HWPT_ALLOC, 0x89);
	VAL(IOMMUFD_CMD_GET_HW_INFO, 0x8a);
	VAL(IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING, 0x8b);
	VAL(IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP, 0x8c);
	VAL(IOMMUFD_CMD_HWPT_INVALIDATE, 0x8d);
	VAL(IOMMUFD_CMD_FAULT_QUEUE_ALLOC, 0x8e);
	VAL(IOMMUFD_CMD_IOAS_MAP_FILE, 0x8f);
	VAL(IOMMUFD_CMD_VIOMMU_ALLOC, 0x90);
	VAL(IOMMUFD_CMD_VDEVICE_ALLOC, 0x91);
	VAL(IOMMUFD_CMD_IOAS_CHANGE_PROCESS, 0x92);
	VAL(IOMMUFD_CMD_VEVENTQ_ALLOC, 0x93);
	VAL(IOMMUFD_CMD_HW_QUEUE_ALLOC, 0x94);
	VAL(IOMMUFD_CMD_IOAS_NOIOMMU_GET_PA, 0x95);
}

Test(uapi_layout, iommufd_ioctl_values)
{
	IOCTL(IOMMU_DESTROY, 0x3B80, 0x80);
	IOCTL(IOMMU_IOAS_ALLOC, 0x3B81, 0x81);
	IOCTL(IOMMU_IOAS_ALLOW_IOVAS, 0x3B82, 0x82);
	IOCTL(IOMMU_IOAS_COPY, 0x3B83, 0x83);
	IOCTL(IOMMU_IOAS_IOVA_RANGES, 0x3B84, 0x84);
	IOCTL(IOMMU_IOAS_MAP, 0x3B85, 0x85);
	IOCTL(IOMMU_IOAS_UNMAP, 0x3B86, 0x86);
	IOCTL(IOMMU_OPTION, 0x3B87, 0x87);
	IOCTL(IOMMU_VFIO_IOAS, 0x3B88, 0x88);
	IOCTL(IOMMU_HWPT_ALLOC, 0x3B89, 0x89);
	IOCTL(IOMMU_GET_HW_INFO, 0x3B8A, 0x8a);
	IOCTL(IOMMU_HWPT_SET_DIRTY_TRACKING, 0x3B8B, 0x8b);
	IOCTL(IOMMU_HWPT_GET_DIRTY_BITMAP, 0x3B8C, 0x8c);
	IOCTL(IOMMU_HWPT_INVALIDATE, 0x3B8D, 0x8d);
	IOCTL(IOMMU_FAULT_QUEUE_ALLOC, 0x3B8E, 0x8e);
	IOCTL(IOMMU_IOAS_MAP_FILE, 0x3B8F, 0x8f);
	IOCTL(IOMMU_VIOMMU_ALLOC, 0x3B90, 0x90);
	IOCTL(IOMMU_VDEVICE_ALLOC, 0x3B91, 0x91);
	IOCTL(IOMMU_IOAS_CHANGE_PROCESS, 0x3B92, 0x92);
	IOCTL(IOMMU_VEVENTQ_ALLOC, 0x3B93, 0x93);
	IOCTL(IOMMU_HW_QUEUE_ALLOC, 0x3B94, 0x94);
	IOCTL(IOMMU_IOAS_NOIOMMU_GET_PA, 0x3B95, 0x95);
}

/* ---- iommufd: objects and IOAS -------------------------------------------------------------- */

Test(uapi_layout, iommu_destroy)
{
	STRUCT(iommu_destroy, 8, 4);
	U(iommu_destroy, size, 0, 4);
	U(iommu_destroy, id, 4, 4);
}

Test(uapi_layout, iommu_ioas_alloc)
{
	STRUCT(iommu_ioas_alloc, 12, 4);
	U(iommu_ioas_alloc, size, 0, 4);
	U(iommu_ioas_alloc, flags, 4, 4);
	U(iommu_ioas_alloc, out_ioas_id, 8, 4);
}

Test(uapi_layout, iommu_iova_range)
{
	STRUCT(iommu_iova_range, 16, 8);
	U(iommu_iova_range, start, 0, 8);
	U(iommu_iova_range, last, 8, 8);
}

Test(uapi_layout, iommu_ioas_iova_ranges)
{
	STRUCT(iommu_ioas_iova_ranges, 32, 8);
	U(iommu_ioas_iova_ranges, size, 0, 4);
	U(iommu_ioas_iova_ranges, ioas_id, 4, 4);
	U(iommu_ioas_iova_ranges, num_iovas, 8, 4);
	U(iommu_ioas_iova_ranges, __reserved, 12, 4);
	U(iommu_ioas_iova_ranges, allowed_iovas, 16, 8);
	U(iommu_ioas_iova_ranges, out_iova_alignment, 24, 8);
}

Test(uapi_layout, iommu_ioas_allow_iovas)
{
	STRUCT(iommu_ioas_allow_iovas, 24, 8);
	U(iommu_ioas_allow_iovas, size, 0, 4);
	U(iommu_ioas_allow_iovas, ioas_id, 4, 4);
	U(iommu_ioas_allow_iovas, num_iovas, 8, 4);
	U(iommu_ioas_allow_iovas, __reserved, 12, 4);
	U(iommu_ioas_allow_iovas, allowed_iovas, 16, 8);
}

Test(uapi_layout, iommu_ioas_map)
{
	STRUCT(iommu_ioas_map, 40, 8);
	U(iommu_ioas_map, size, 0, 4);
	U(iommu_ioas_map, flags, 4, 4);
	U(iommu_ioas_map, ioas_id, 8, 4);
	U(iommu_ioas_map, __reserved, 12, 4);
	U(iommu_ioas_map, user_va, 16, 8);
	U(iommu_ioas_map, length, 24, 8);
	U(iommu_ioas_map, iova, 32, 8);

	VAL(IOMMU_IOAS_MAP_FIXED_IOVA, 1);
	VAL(IOMMU_IOAS_MAP_WRITEABLE, 2);
	VAL(IOMMU_IOAS_MAP_READABLE, 4);
}

Test(uapi_layout, iommu_ioas_noiommu_get_pa)
{
	STRUCT(iommu_ioas_noiommu_get_pa, 40, 8);
	U(iommu_ioas_noiommu_get_pa, size, 0, 4);
	U(iommu_ioas_noiommu_get_pa, flags, 4, 4);
	U(iommu_ioas_noiommu_get_pa, ioas_id, 8, 4);
	U(iommu_ioas_noiommu_get_pa, __reserved, 12, 4);
	U(iommu_ioas_noiommu_get_pa, iova, 16, 8);
	U(iommu_ioas_noiommu_get_pa, length, 24, 8);
	U(iommu_ioas_noiommu_get_pa, out_phys, 32, 8);
}

Test(uapi_layout, iommu_ioas_map_file)
{
	STRUCT(iommu_ioas_map_file, 40, 8);
	U(iommu_ioas_map_file, size, 0, 4);
	U(iommu_ioas_map_file, flags, 4, 4);
	U(iommu_ioas_map_file, ioas_id, 8, 4);
	S(iommu_ioas_map_file, fd, 12, 4);
	U(iommu_ioas_map_file, start, 16, 8);
	U(iommu_ioas_map_file, length, 24, 8);
	U(iommu_ioas_map_file, iova, 32, 8);
}

Test(uapi_layout, iommu_ioas_copy)
{
	STRUCT(iommu_ioas_copy, 40, 8);
	U(iommu_ioas_copy, size, 0, 4);
	U(iommu_ioas_copy, flags, 4, 4);
	U(iommu_ioas_copy, dst_ioas_id, 8, 4);
	U(iommu_ioas_copy, src_ioas_id, 12, 4);
	U(iommu_ioas_copy, length, 16, 8);
	U(iommu_ioas_copy, dst_iova, 24, 8);
	U(iommu_ioas_copy, src_iova, 32, 8);
}

Test(uapi_layout, iommu_ioas_unmap)
{
	STRUCT(iommu_ioas_unmap, 24, 8);
	U(iommu_ioas_unmap, size, 0, 4);
	U(iommu_ioas_unmap, ioas_id, 4, 4);
	U(iommu_ioas_unmap, iova, 8, 8);
	U(iommu_ioas_unmap, length, 16, 8);
}

Test(uapi_layout, iommu_option)
{
	STRUCT(iommu_option, 24, 8);
	U(iommu_option, size, 0, 4);
	U(iommu_option, option_id, 4, 4);
	U(iommu_option, op, 8, 2);
	U(iommu_option, __reserved, 10, 2);
	U(iommu_option, object_id, 12, 4);
	U(iommu_option, val64, 16, 8);

	VAL(IOMMU_OPTION_RLIMIT_MODE, 0);
	VAL(IOMMU_OPTION_HUGE_PAGES, 1);
	VAL(IOMMU_OPTION_OP_SET, 0);
	VAL(IOMMU_OPTION_OP_GET, 1);
}

Test(uapi_layout, iommu_vfio_ioas)
{
	STRUCT(iommu_vfio_ioas, 12, 4);
	U(iommu_vfio_ioas, size, 0, 4);
	U(iommu_vfio_ioas, ioas_id, 4, 4);
	U(iommu_vfio_ioas, op, 8, 2);
	U(iommu_vfio_ioas, __reserved, 10, 2);

	VAL(IOMMU_VFIO_IOAS_GET, 0);
	VAL(IOMMU_VFIO_IOAS_SET, 1);
	VAL(IOMMU_VFIO_IOAS_CLEAR, 2);
}

Test(uapi_layout, iommu_ioas_change_process)
{
	STRUCT(iommu_ioas_change_process, 8, 4);
	U(iommu_ioas_change_process, size, 0, 4);
	U(iommu_ioas_change_process, __reserved, 4, 4);
}

/* ---- iommufd: HWPT allocation and its payloads ---------------------------------------------- */

Test(uapi_layout, iommu_hwpt_alloc)
{
	STRUCT(iommu_hwpt_alloc, 48, 8);
	U(iommu_hwpt_alloc, size, 0, 4);
	U(iommu_hwpt_alloc, flags, 4, 4);
	U(iommu_hwpt_alloc, dev_id, 8, 4);
	U(iommu_hwpt_alloc, pt_id, 12, 4);
	U(iommu_hwpt_alloc, out_hwpt_id, 16, 4);
	U(iommu_hwpt_alloc, __reserved, 20, 4);
	U(iommu_hwpt_alloc, data_type, 24, 4);
	U(iommu_hwpt_alloc, data_len, 28, 4);
	U(iommu_hwpt_alloc, data_uptr, 32, 8);
	U(iommu_hwpt_alloc, fault_id, 40, 4);
	U(iommu_hwpt_alloc, __reserved2, 44, 4);

	VAL(IOMMU_HWPT_ALLOC_NEST_PARENT, 1);
	VAL(IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 2);
	VAL(IOMMU_HWPT_FAULT_ID_VALID, 4);
	VAL(IOMMU_HWPT_ALLOC_PASID, 8);

	VAL(IOMMU_HWPT_DATA_NONE, 0);
	VAL(IOMMU_HWPT_DATA_VTD_S1, 1);
	VAL(IOMMU_HWPT_DATA_ARM_SMMUV3, 2);
	VAL(IOMMU_HWPT_DATA_AMD_GUEST, 3);
}

Test(uapi_layout, iommu_hwpt_vtd_s1)
{
	STRUCT(iommu_hwpt_vtd_s1, 24, 8);
	U(iommu_hwpt_vtd_s1, flags, 0, 8);
	U(iommu_hwpt_vtd_s1, pgtbl_addr, 8, 8);
	U(iommu_hwpt_vtd_s1, addr_width, 16, 4);
	U(iommu_hwpt_vtd_s1, __reserved, 20, 4);

	VAL(IOMMU_VTD_S1_SRE, 1);
	VAL(IOMMU_VTD_S1_EAFE, 2);
	VAL(IOMMU_VTD_S1_WPE, 4);
}

Test(uapi_layout, iommu_hwpt_arm_smmuv3)
{
	STRUCT(iommu_hwpt_arm_smmuv3, 16, 8);
	A(iommu_hwpt_arm_smmuv3, ste, 0, 16, 2);
}

Test(uapi_layout, iommu_hwpt_amd_guest)
{
	STRUCT(iommu_hwpt_amd_guest, 32, 8);
	A(iommu_hwpt_amd_guest, dte, 0, 32, 4);
}

/* ---- iommufd: hardware information ---------------------------------------------------------- */

Test(uapi_layout, iommu_hw_info)
{
	STRUCT(iommu_hw_info, 40, 8);
	U(iommu_hw_info, size, 0, 4);
	U(iommu_hw_info, flags, 4, 4);
	U(iommu_hw_info, dev_id, 8, 4);
	U(iommu_hw_info, data_len, 12, 4);
	U(iommu_hw_info, data_uptr, 16, 8);
	U(iommu_hw_info, in_data_type, 24, 4);
	U(iommu_hw_info, out_data_type, 24, 4);
	U(iommu_hw_info, out_max_pasid_log2, 28, 1);
	A(iommu_hw_info, __reserved, 29, 3, 3);
	U(iommu_hw_info, out_capabilities, 32, 8);

	VAL(IOMMU_HW_INFO_FLAG_INPUT_TYPE, 1);

	VAL(IOMMU_HW_INFO_TYPE_NONE, 0);
	VAL(IOMMU_HW_INFO_TYPE_DEFAULT, 0);
	VAL(IOMMU_HW_INFO_TYPE_INTEL_VTD, 1);
	VAL(IOMMU_HW_INFO_TYPE_ARM_SMMUV3, 2);
	VAL(IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV, 3);
	VAL(IOMMU_HW_INFO_TYPE_AMD, 4);

	VAL(IOMMU_HW_CAP_DIRTY_TRACKING, 1);
	VAL(IOMMU_HW_CAP_PCI_PASID_EXEC, 2);
	VAL(IOMMU_HW_CAP_PCI_PASID_PRIV, 4);
	VAL(IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED, 8);
}

Test(uapi_layout, iommu_hw_info_in_out_type_share_storage)
{
	struct iommu_hw_info info;

	memset(&info, 0, sizeof(info));
	info.in_data_type = 0x12345678u;
	cr_expect_eq(info.out_data_type, 0x12345678u,
		     "in_data_type and out_data_type must be one union member");
}

Test(uapi_layout, iommu_hw_info_vtd)
{
	STRUCT(iommu_hw_info_vtd, 24, 8);
	U(iommu_hw_info_vtd, flags, 0, 4);
	U(iommu_hw_info_vtd, __reserved, 4, 4);
	U(iommu_hw_info_vtd, cap_reg, 8, 8);
	U(iommu_hw_info_vtd, ecap_reg, 16, 8);

	VAL(IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17, 1);
}

Test(uapi_layout, iommu_hw_info_arm_smmuv3)
{
	STRUCT(iommu_hw_info_arm_smmuv3, 40, 4);
	U(iommu_hw_info_arm_smmuv3, flags, 0, 4);
	U(iommu_hw_info_arm_smmuv3, __reserved, 4, 4);
	A(iommu_hw_info_arm_smmuv3, idr, 8, 24, 6);
	U(iommu_hw_info_arm_smmuv3, iidr, 32, 4);
	U(iommu_hw_info_arm_smmuv3, aidr, 36, 4);
}

Test(uapi_layout, iommu_hw_info_tegra241_cmdqv)
{
	STRUCT(iommu_hw_info_tegra241_cmdqv, 8, 4);
	U(iommu_hw_info_tegra241_cmdqv, flags, 0, 4);
	U(iommu_hw_info_tegra241_cmdqv, version, 4, 1);
	U(iommu_hw_info_tegra241_cmdqv, log2vcmdqs, 5, 1);
	U(iommu_hw_info_tegra241_cmdqv, log2vsids, 6, 1);
	U(iommu_hw_info_tegra241_cmdqv, __reserved, 7, 1);
}

Test(uapi_layout, iommu_hw_info_amd)
{
	STRUCT(iommu_hw_info_amd, 16, 8);
	U(iommu_hw_info_amd, efr, 0, 8);
	U(iommu_hw_info_amd, efr2, 8, 8);
}

/* ---- iommufd: dirty tracking ---------------------------------------------------------------- */

Test(uapi_layout, iommu_hwpt_set_dirty_tracking)
{
	STRUCT(iommu_hwpt_set_dirty_tracking, 16, 4);
	U(iommu_hwpt_set_dirty_tracking, size, 0, 4);
	U(iommu_hwpt_set_dirty_tracking, flags, 4, 4);
	U(iommu_hwpt_set_dirty_tracking, hwpt_id, 8, 4);
	U(iommu_hwpt_set_dirty_tracking, __reserved, 12, 4);

	VAL(IOMMU_HWPT_DIRTY_TRACKING_ENABLE, 1);
}

Test(uapi_layout, iommu_hwpt_get_dirty_bitmap)
{
	STRUCT(iommu_hwpt_get_dirty_bitmap, 48, 8);
	U(iommu_hwpt_get_dirty_bitmap, size, 0, 4);
	U(iommu_hwpt_get_dirty_bitmap, hwpt_id, 4, 4);
	U(iommu_hwpt_get_dirty_bitmap, flags, 8, 4);
	U(iommu_hwpt_get_dirty_bitmap, __reserved, 12, 4);
	U(iommu_hwpt_get_dirty_bitmap, iova, 16, 8);
	U(iommu_hwpt_get_dirty_bitmap, length, 24, 8);
	U(iommu_hwpt_get_dirty_bitmap, page_size, 32, 8);
	U(iommu_hwpt_get_dirty_bitmap, data, 40, 8);

	VAL(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, 1);
}

/* ---- iommufd: cache invalidation ------------------------------------------------------------ */

Test(uapi_layout, iommu_hwpt_invalidate)
{
	STRUCT(iommu_hwpt_invalidate, 32, 8);
	U(iommu_hwpt_invalidate, size, 0, 4);
	U(iommu_hwpt_invalidate, hwpt_id, 4, 4);
	U(iommu_hwpt_invalidate, data_uptr, 8, 8);
	U(iommu_hwpt_invalidate, data_type, 16, 4);
	U(iommu_hwpt_invalidate, entry_len, 20, 4);
	U(iommu_hwpt_invalidate, entry_num, 24, 4);
	U(iommu_hwpt_invalidate, __reserved, 28, 4);

	VAL(IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 0);
	VAL(IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, 1);
}

Test(uapi_layout, iommu_hwpt_vtd_s1_invalidate)
{
	STRUCT(iommu_hwpt_vtd_s1_invalidate, 24, 8);
	U(iommu_hwpt_vtd_s1_invalidate, addr, 0, 8);
	U(iommu_hwpt_vtd_s1_invalidate, npages, 8, 8);
	U(iommu_hwpt_vtd_s1_invalidate, flags, 16, 4);
	U(iommu_hwpt_vtd_s1_invalidate, __reserved, 20, 4);

	VAL(IOMMU_VTD_INV_FLAGS_LEAF, 1);
}

Test(uapi_layout, iommu_viommu_arm_smmuv3_invalidate)
{
	STRUCT(iommu_viommu_arm_smmuv3_invalidate, 16, 8);
	A(iommu_viommu_arm_smmuv3_invalidate, cmd, 0, 16, 2);
}

/* ---- iommufd: I/O page faults --------------------------------------------------------------- */

Test(uapi_layout, iommu_hwpt_pgfault)
{
	STRUCT(iommu_hwpt_pgfault, 40, 8);
	U(iommu_hwpt_pgfault, flags, 0, 4);
	U(iommu_hwpt_pgfault, dev_id, 4, 4);
	U(iommu_hwpt_pgfault, pasid, 8, 4);
	U(iommu_hwpt_pgfault, grpid, 12, 4);
	U(iommu_hwpt_pgfault, perm, 16, 4);
	U(iommu_hwpt_pgfault, __reserved, 20, 4);
	U(iommu_hwpt_pgfault, addr, 24, 8);
	U(iommu_hwpt_pgfault, length, 32, 4);
	U(iommu_hwpt_pgfault, cookie, 36, 4);

	VAL(IOMMU_PGFAULT_FLAGS_PASID_VALID, 1);
	VAL(IOMMU_PGFAULT_FLAGS_LAST_PAGE, 2);
	VAL(IOMMU_PGFAULT_PERM_READ, 1);
	VAL(IOMMU_PGFAULT_PERM_WRITE, 2);
	VAL(IOMMU_PGFAULT_PERM_EXEC, 4);
	VAL(IOMMU_PGFAULT_PERM_PRIV, 8);
}

Test(uapi_layout, iommu_hwpt_page_response)
{
	STRUCT(iommu_hwpt_page_response, 8, 4);
	U(iommu_hwpt_page_response, cookie, 0, 4);
	U(iommu_hwpt_page_response, code, 4, 4);

	VAL(IOMMUFD_PAGE_RESP_SUCCESS, 0);
	VAL(IOMMUFD_PAGE_RESP_INVALID, 1);
}

Test(uapi_layout, iommu_fault_alloc)
{
	STRUCT(iommu_fault_alloc, 16, 4);
	U(iommu_fault_alloc, size, 0, 4);
	U(iommu_fault_alloc, flags, 4, 4);
	U(iommu_fault_alloc, out_fault_id, 8, 4);
	U(iommu_fault_alloc, out_fault_fd, 12, 4);
}

/* ---- iommufd: vIOMMU, vDEVICE --------------------------------------------------------------- */

Test(uapi_layout, iommu_viommu_alloc)
{
	STRUCT(iommu_viommu_alloc, 40, 8);
	U(iommu_viommu_alloc, size, 0, 4);
	U(iommu_viommu_alloc, flags, 4, 4);
	U(iommu_viommu_alloc, type, 8, 4);
	U(iommu_viommu_alloc, dev_id, 12, 4);
	U(iommu_viommu_alloc, hwpt_id, 16, 4);
	U(iommu_viommu_alloc, out_viommu_id, 20, 4);
	U(iommu_viommu_alloc, data_len, 24, 4);
	U(iommu_viommu_alloc, __reserved, 28, 4);
	U(iommu_viommu_alloc, data_uptr, 32, 8);

	VAL(IOMMU_VIOMMU_TYPE_DEFAULT, 0);
	VAL(IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 1);
	VAL(IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV, 2);
}

Test(uapi_layout, iommu_viommu_tegra241_cmdqv)
{
	STRUCT(iommu_viommu_tegra241_cmdqv, 16, 8);
	U(iommu_viommu_tegra241_cmdqv, out_vintf_mmap_offset, 0, 8);
	U(iommu_viommu_tegra241_cmdqv, out_vintf_mmap_length, 8, 8);
}

Test(uapi_layout, iommu_vdevice_alloc)
{
	STRUCT(iommu_vdevice_alloc, 24, 8);
	U(iommu_vdevice_alloc, size, 0, 4);
	U(iommu_vdevice_alloc, viommu_id, 4, 4);
	U(iommu_vdevice_alloc, dev_id, 8, 4);
	U(iommu_vdevice_alloc, out_vdevice_id, 12, 4);
	U(iommu_vdevice_alloc, virt_id, 16, 8);
}

/* ---- iommufd: vEVENTQ ----------------------------------------------------------------------- */

Test(uapi_layout, iommu_veventq_alloc)
{
	STRUCT(iommu_veventq_alloc, 32, 4);
	U(iommu_veventq_alloc, size, 0, 4);
	U(iommu_veventq_alloc, flags, 4, 4);
	U(iommu_veventq_alloc, viommu_id, 8, 4);
	U(iommu_veventq_alloc, type, 12, 4);
	U(iommu_veventq_alloc, veventq_depth, 16, 4);
	U(iommu_veventq_alloc, out_veventq_id, 20, 4);
	U(iommu_veventq_alloc, out_veventq_fd, 24, 4);
	U(iommu_veventq_alloc, __reserved, 28, 4);

	VAL(IOMMU_VEVENTQ_TYPE_DEFAULT, 0);
	VAL(IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, 1);
	VAL(IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV, 2);
}

Test(uapi_layout, iommufd_vevent_header)
{
	STRUCT(iommufd_vevent_header, 8, 4);
	U(iommufd_vevent_header, flags, 0, 4);
	U(iommufd_vevent_header, sequence, 4, 4);

	VAL(IOMMU_VEVENTQ_FLAG_LOST_EVENTS, 1);
}

Test(uapi_layout, iommu_vevent_arm_smmuv3)
{
	STRUCT(iommu_vevent_arm_smmuv3, 32, 8);
	A(iommu_vevent_arm_smmuv3, evt, 0, 32, 4);
}

Test(uapi_layout, iommu_vevent_tegra241_cmdqv)
{
	STRUCT(iommu_vevent_tegra241_cmdqv, 16, 8);
	A(iommu_vevent_tegra241_cmdqv, lvcmdq_err_map, 0, 16, 2);
}

/* ---- iommufd: HW queue ---------------------------------------------------------------------- */

Test(uapi_layout, iommu_hw_queue_alloc)
{
	STRUCT(iommu_hw_queue_alloc, 40, 8);
	U(iommu_hw_queue_alloc, size, 0, 4);
	U(iommu_hw_queue_alloc, flags, 4, 4);
	U(iommu_hw_queue_alloc, viommu_id, 8, 4);
	U(iommu_hw_queue_alloc, type, 12, 4);
	U(iommu_hw_queue_alloc, index, 16, 4);
	U(iommu_hw_queue_alloc, out_hw_queue_id, 20, 4);
	U(iommu_hw_queue_alloc, nesting_parent_iova, 24, 8);
	U(iommu_hw_queue_alloc, length, 32, 8);

	VAL(IOMMU_HW_QUEUE_TYPE_DEFAULT, 0);
	VAL(IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV, 1);
}

/* ---- vfio: device cdev <-> iommufd ---------------------------------------------------------- */

Test(uapi_layout, vfio_cdev_ioctl_values)
{
	VAL(VFIO_TYPE, ';');
	VAL(VFIO_BASE, 100);
	IOCTL(VFIO_DEVICE_BIND_IOMMUFD, 0x3B76, 118);
	IOCTL(VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0x3B77, 119);
	IOCTL(VFIO_DEVICE_DETACH_IOMMUFD_PT, 0x3B78, 120);
}

Test(uapi_layout, vfio_device_bind_iommufd)
{
	STRUCT(vfio_device_bind_iommufd, 24, 8);
	U(vfio_device_bind_iommufd, argsz, 0, 4);
	U(vfio_device_bind_iommufd, flags, 4, 4);
	S(vfio_device_bind_iommufd, iommufd, 8, 4);
	U(vfio_device_bind_iommufd, out_devid, 12, 4);
	U(vfio_device_bind_iommufd, token_uuid_ptr, 16, 8);

	VAL(VFIO_DEVICE_BIND_FLAG_TOKEN, 1);
}

Test(uapi_layout, vfio_device_attach_iommufd_pt)
{
	STRUCT(vfio_device_attach_iommufd_pt, 16, 4);
	U(vfio_device_attach_iommufd_pt, argsz, 0, 4);
	U(vfio_device_attach_iommufd_pt, flags, 4, 4);
	U(vfio_device_attach_iommufd_pt, pt_id, 8, 4);
	U(vfio_device_attach_iommufd_pt, pasid, 12, 4);

	VAL(VFIO_DEVICE_ATTACH_PASID, 1);
}

Test(uapi_layout, vfio_device_detach_iommufd_pt)
{
	STRUCT(vfio_device_detach_iommufd_pt, 12, 4);
	U(vfio_device_detach_iommufd_pt, argsz, 0, 4);
	U(vfio_device_detach_iommufd_pt, flags, 4, 4);
	U(vfio_device_detach_iommufd_pt, pasid, 8, 4);

	VAL(VFIO_DEVICE_DETACH_PASID, 1);
}

/* The cdev hot-reset additions reuse the existing reset-info structs: pin those too. */
Test(uapi_layout, vfio_pci_hot_reset_cdev)
{
	VAL(VFIO_PCI_HOT_RESET_FLAG_DEV_ID, 1);
	VAL(VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED, 2);
	VAL(VFIO_PCI_DEVID_OWNED, 0);
	VAL(VFIO_PCI_DEVID_NOT_OWNED, -1);

	IOCTL(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, 0x3B70, 112);
	IOCTL(VFIO_DEVICE_PCI_HOT_RESET, 0x3B71, 113);

	STRUCT(vfio_pci_dependent_device, 8, 4);
	U(vfio_pci_dependent_device, group_id, 0, 4);
	U(vfio_pci_dependent_device, segment, 4, 2);
	U(vfio_pci_dependent_device, bus, 6, 1);
	U(vfio_pci_dependent_device, devfn, 7, 1);

	STRUCT(vfio_pci_hot_reset_info, 12, 4);
	U(vfio_pci_hot_reset_info, argsz, 0, 4);
	U(vfio_pci_hot_reset_info, flags, 4, 4);
	U(vfio_pci_hot_reset_info, count, 8, 4);
	cr_expect_eq(offsetof(struct vfio_pci_hot_reset_info, devices), (size_t)12,
		     "vfio_pci_hot_reset_info.devices[] must start at 12");

	STRUCT(vfio_pci_hot_reset, 12, 4);
	U(vfio_pci_hot_reset, argsz, 0, 4);
	U(vfio_pci_hot_reset, flags, 4, 4);
	U(vfio_pci_hot_reset, count, 8, 4);
	cr_expect_eq(offsetof(struct vfio_pci_hot_reset, group_fds), (size_t)12,
		     "vfio_pci_hot_reset.group_fds[] must start at 12");
}

/* Both headers use the same ioctl magic, and the numbers must not collide. */
Test(uapi_layout, vfio_and_iommufd_share_magic_without_collision)
{
	VAL(VFIO_TYPE, IOMMUFD_TYPE);
	cr_expect_lt(_IOC_NR(VFIO_DEVICE_DETACH_IOMMUFD_PT), (unsigned)IOMMUFD_CMD_BASE,
		     "VFIO cdev numbers must stay below the iommufd range");
}
