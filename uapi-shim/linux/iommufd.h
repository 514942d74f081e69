/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * uapi-shim/linux/iommufd.h - the iommufd user API (/dev/iommu), as defined by
 * current mainline Linux, for build hosts whose installed kernel headers are
 * too old to have it (Debian 12 ships 6.1, which has no <linux/iommufd.h>).
 *
 * Names, numbers, field order, types and sizes follow the kernel's
 * include/uapi/linux/iommufd.h (checked against torvalds/linux b4d90dbc, a
 * v6.17-era tree, plus the v7.x additions marked below); tests/
 * test_uapi_layout.c pins every size, offset and value.  The comments are
 * this project's own summary, not the kernel's documentation.
 *
 * The guard is the kernel's own, so whichever copy is seen first wins and the
 * two never clash.
 */
#ifndef _UAPI_IOMMUFD_H
#define _UAPI_IOMMUFD_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * Conventions: every command is _IO(IOMMUFD_TYPE, nr), so the number carries
 * no size or direction bits (cmd == 0x3B00 | nr).  The argument points at a
 * struct whose first __u32 is its size; the kernel accepts shorter structs
 * (down to a per-command minimum) and longer ones whose extra tail is zero.
 */
#define IOMMUFD_TYPE (';')

/* Command numbers.  Explicit values: the list only ever grows at the end. */
enum {
	IOMMUFD_CMD_BASE = 0x80,
	IOMMUFD_CMD_DESTROY = IOMMUFD_CMD_BASE,
	IOMMUFD_CMD_IOAS_ALLOC = 0x81,
	IOMMUFD_CMD_IOAS_ALLOW_IOVAS = 0x82,
	IOMMUFD_CMD_IOAS_COPY = 0x83,
	IOMMUFD_CMD_IOAS_IOVA_RANGES = 0x84,
	IOMMUFD_CMD_IOAS_MAP = 0x85,
	IOMMUFD_CMD_IOAS_UNMAP = 0x86,
	IOMMUFD_CMD_OPTION = 0x87,
	IOMMUFD_CMD_VFIO_IOAS = 0x88,
	IOMMUFD_CMD_HWPT_ALLOC = 0x89,
	IOMMUFD_CMD_GET_HW_INFO = 0x8a,
	IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING = 0x8b,
	IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP = 0x8c,
	IOMMUFD_CMD_HWPT_INVALIDATE = 0x8d,
	IOMMUFD_CMD_FAULT_QUEUE_ALLOC = 0x8e,
	IOMMUFD_CMD_IOAS_MAP_FILE = 0x8f,
	IOMMUFD_CMD_VIOMMU_ALLOC = 0x90,
	IOMMUFD_CMD_VDEVICE_ALLOC = 0x91,
	IOMMUFD_CMD_IOAS_CHANGE_PROCESS = 0x92,
	IOMMUFD_CMD_VEVENTQ_ALLOC = 0x93,
	IOMMUFD_CMD_HW_QUEUE_ALLOC = 0x94,
	IOMMUFD_CMD_IOAS_NOIOMMU_GET_PA = 0x95,
};

/* ------------------------------------------------------------------------ */
/* Objects and IO address spaces (all since v6.2 unless noted)              */
/* ------------------------------------------------------------------------ */

/* IOMMU_DESTROY: drop any destroyable object by its ID.  v6.2. */
struct iommu_destroy {
	__u32 size;
	__u32 id;
};
#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)

/* IOMMU_IOAS_ALLOC: create an empty IO address space; flags must be 0. v6.2. */
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

/* One inclusive IOVA interval [start, last]; element of the range arrays. v6.2. */
struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

/*
 * IOMMU_IOAS_IOVA_RANGES: read the usable IOVA ranges and the minimum map
 * alignment of an IOAS.  num_iovas is in/out (EMSGSIZE if the array is short).
 * v6.2.
 */
struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};
#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)

/* IOMMU_IOAS_ALLOW_IOVAS: replace the list of ranges that must stay usable. v6.2. */
struct iommu_ioas_allow_iovas {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
};
#define IOMMU_IOAS_ALLOW_IOVAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS)

/* flags of MAP, MAP_FILE and COPY.  v6.2. */
enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

/*
 * IOMMU_IOAS_MAP: pin user memory [user_va, +length) and map it; iova is an
 * input with FIXED_IOVA, otherwise chosen by the kernel and returned.  v6.2.
 */
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)

/*
 * IOMMU_IOAS_NOIOMMU_GET_PA: for no-IOMMU (unsafe DMA) devices, look up the
 * physical address behind an IOVA and how many bytes from there are
 * physically contiguous (length is in/out).  v7.x, number 0x95.
 */
struct iommu_ioas_noiommu_get_pa {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 out_phys;
};
#define IOMMU_IOAS_NOIOMMU_GET_PA \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_NOIOMMU_GET_PA)

/*
 * IOMMU_IOAS_MAP_FILE: like IOMMU_IOAS_MAP but the memory is a file (memfd,
 * later also some dma-bufs) at byte offset start.  v6.13.
 */
struct iommu_ioas_map_file {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__s32 fd;
	__aligned_u64 start;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP_FILE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP_FILE)

/*
 * IOMMU_IOAS_COPY: map an existing mapping of src_ioas_id (exact MAP range)
 * into dst_ioas_id without pinning the pages again.  v6.2.
 */
struct iommu_ioas_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioas_id;
	__u32 src_ioas_id;
	__aligned_u64 length;
	__aligned_u64 dst_iova;
	__aligned_u64 src_iova;
};
#define IOMMU_IOAS_COPY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY)

/*
 * IOMMU_IOAS_UNMAP: unmap whole areas inside [iova, +length); length returns
 * the bytes unmapped.  iova 0 with length U64_MAX empties the IOAS.  v6.2.
 */
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)

/* option_id values of IOMMU_OPTION: RLIMIT_MODE is global, HUGE_PAGES per IOAS. */
enum iommufd_option {
	IOMMU_OPTION_RLIMIT_MODE = 0,
	IOMMU_OPTION_HUGE_PAGES = 1,
};

/* op values of IOMMU_OPTION. */
enum iommufd_option_ops {
	IOMMU_OPTION_OP_SET = 0,
	IOMMU_OPTION_OP_GET = 1,
};

/* IOMMU_OPTION: set or get one option value (val64) of an object.  v6.2. */
struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};
#define IOMMU_OPTION _IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION)

/* op values of IOMMU_VFIO_IOAS. */
enum iommufd_vfio_ioas_op {
	IOMMU_VFIO_IOAS_GET = 0,
	IOMMU_VFIO_IOAS_SET = 1,
	IOMMU_VFIO_IOAS_CLEAR = 2,
};

/* IOMMU_VFIO_IOAS: choose the IOAS used by the VFIO container compat layer. v6.2. */
struct iommu_vfio_ioas {
	__u32 size;
	__u32 ioas_id;
	__u16 op;
	__u16 __reserved;
};
#define IOMMU_VFIO_IOAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS)

/* ------------------------------------------------------------------------ */
/* Hardware page tables (HWPT)                                              */
/* ------------------------------------------------------------------------ */

/*
 * flags of IOMMU_HWPT_ALLOC.  NEST_PARENT/DIRTY_TRACKING v6.7,
 * FAULT_ID_VALID v6.11, ALLOC_PASID v6.15.
 */
enum iommufd_hwpt_alloc_flags {
	IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,
	IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,
	IOMMU_HWPT_FAULT_ID_VALID = 1 << 2,
	IOMMU_HWPT_ALLOC_PASID = 1 << 3,
};

/* flags of struct iommu_hwpt_vtd_s1 (guest first-stage PTE attributes). v6.7. */
enum iommu_hwpt_vtd_s1_flags {
	IOMMU_VTD_S1_SRE = 1 << 0,
	IOMMU_VTD_S1_EAFE = 1 << 1,
	IOMMU_VTD_S1_WPE = 1 << 2,
};

/* HWPT_ALLOC payload for IOMMU_HWPT_DATA_VTD_S1: an Intel VT-d stage-1 table. v6.7. */
struct iommu_hwpt_vtd_s1 {
	__aligned_u64 flags;
	__aligned_u64 pgtbl_addr;
	__u32 addr_width;
	__u32 __reserved;
};

/*
 * HWPT_ALLOC payload for IOMMU_HWPT_DATA_ARM_SMMUV3: the first two 64-bit
 * words of the guest's Stream Table Entry, little-endian.  v6.14.
 */
struct iommu_hwpt_arm_smmuv3 {
	__aligned_le64 ste[2];
};

/*
 * HWPT_ALLOC payload for IOMMU_HWPT_DATA_AMD_GUEST: the guest's 256-bit AMD
 * IOMMU Device Table Entry.  v7.x.
 */
struct iommu_hwpt_amd_guest {
	__aligned_u64 dte[4];
};

/* data_type of IOMMU_HWPT_ALLOC: which payload struct data_uptr points at. */
enum iommu_hwpt_data_type {
	IOMMU_HWPT_DATA_NONE = 0,
	IOMMU_HWPT_DATA_VTD_S1 = 1,
	IOMMU_HWPT_DATA_ARM_SMMUV3 = 2,
	IOMMU_HWPT_DATA_AMD_GUEST = 3,
};

/*
 * IOMMU_HWPT_ALLOC: allocate a paging HWPT on an IOAS, or a nested HWPT on a
 * nesting-parent HWPT or vIOMMU (pt_id).  v6.6; data_* v6.7; fault_id and
 * __reserved2 v6.11.
 */
struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 fault_id;
	__u32 __reserved2;
};
#define IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)

/* ------------------------------------------------------------------------ */
/* Hardware information                                                     */
/* ------------------------------------------------------------------------ */

/* flags of struct iommu_hw_info_vtd.  ERRATA_772415_SPR17: v6.7. */
enum iommu_hw_info_vtd_flags {
	IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0,
};

/* GET_HW_INFO data for IOMMU_HW_INFO_TYPE_INTEL_VTD: raw CAP/ECAP registers. v6.6. */
struct iommu_hw_info_vtd {
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 cap_reg;
	__aligned_u64 ecap_reg;
};

/* GET_HW_INFO data for IOMMU_HW_INFO_TYPE_ARM_SMMUV3: raw ID registers. v6.14. */
struct iommu_hw_info_arm_smmuv3 {
	__u32 flags;
	__u32 __reserved;
	__u32 idr[6];
	__u32 iidr;
	__u32 aidr;
};

/* GET_HW_INFO data for IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV: CMDQ-V PARAM fields. v6.17. */
struct iommu_hw_info_tegra241_cmdqv {
	__u32 flags;
	__u8 version;
	__u8 log2vcmdqs;
	__u8 log2vsids;
	__u8 __reserved;
};

/* GET_HW_INFO data for IOMMU_HW_INFO_TYPE_AMD: raw EFR and EFR2 registers. v6.18. */
struct iommu_hw_info_amd {
	__aligned_u64 efr;
	__aligned_u64 efr2;
};

/* in/out data type of IOMMU_GET_HW_INFO.  DEFAULT (input) aliases NONE (output). */
enum iommu_hw_info_type {
	IOMMU_HW_INFO_TYPE_NONE = 0,
	IOMMU_HW_INFO_TYPE_DEFAULT = 0,
	IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
	IOMMU_HW_INFO_TYPE_ARM_SMMUV3 = 2,
	IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV = 3,
	IOMMU_HW_INFO_TYPE_AMD = 4,
};

/*
 * bits of iommu_hw_info.out_capabilities.  DIRTY_TRACKING v6.7, PASID_EXEC/
 * PRIV v6.15, ATS_NOT_SUPPORTED v7.x.
 */
enum iommufd_hw_capabilities {
	IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
	IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1,
	IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2,
	IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED = 1 << 3,
};

/* flags of IOMMU_GET_HW_INFO: INPUT_TYPE makes in_data_type a request. v6.17. */
enum iommufd_hw_info_flags {
	IOMMU_HW_INFO_FLAG_INPUT_TYPE = 1 << 0,
};

/*
 * IOMMU_GET_HW_INFO: copy the driver-specific info of the IOMMU behind dev_id
 * into data_uptr (data_len in/out) and report generic capabilities.  v6.6;
 * out_capabilities v6.7; out_max_pasid_log2 v6.15; in_data_type v6.17.
 */
struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len;
	__aligned_u64 data_uptr;
	union {
		__u32 in_data_type;
		__u32 out_data_type;
	};
	__u8 out_max_pasid_log2;
	__u8 __reserved[3];
	__aligned_u64 out_capabilities;
};
#define IOMMU_GET_HW_INFO _IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)

/* ------------------------------------------------------------------------ */
/* Dirty tracking (v6.7)                                                    */
/* ------------------------------------------------------------------------ */

/* flags of IOMMU_HWPT_SET_DIRTY_TRACKING. */
enum iommufd_hwpt_set_dirty_tracking_flags {
	IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1,
};

/* IOMMU_HWPT_SET_DIRTY_TRACKING: switch dirty tracking of a HWPT on or off. v6.7. */
struct iommu_hwpt_set_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 hwpt_id;
	__u32 __reserved;
};
#define IOMMU_HWPT_SET_DIRTY_TRACKING \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)

/* flags of IOMMU_HWPT_GET_DIRTY_BITMAP: NO_CLEAR reads without clearing. */
enum iommufd_hwpt_get_dirty_bitmap_flags {
	IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1,
};

/*
 * IOMMU_HWPT_GET_DIRTY_BITMAP: set one bit per page_size in the user bitmap
 * at data for every dirty IOVA in [iova, +length).  v6.7.
 */
struct iommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};
#define IOMMU_HWPT_GET_DIRTY_BITMAP \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)

/* ------------------------------------------------------------------------ */
/* Cache invalidation (v6.8)                                                */
/* ------------------------------------------------------------------------ */

/* data_type of IOMMU_HWPT_INVALIDATE: the format of each array entry. */
enum iommu_hwpt_invalidate_data_type {
	IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0,
	IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 = 1,
};

/* flags of struct iommu_hwpt_vtd_s1_invalidate. */
enum iommu_hwpt_vtd_s1_invalidate_flags {
	IOMMU_VTD_INV_FLAGS_LEAF = 1 << 0,
};

/* One VT-d stage-1 invalidation request (4 KiB pages from addr).  v6.8. */
struct iommu_hwpt_vtd_s1_invalidate {
	__aligned_u64 addr;
	__aligned_u64 npages;
	__u32 flags;
	__u32 __reserved;
};

/* One 128-bit SMMUv3 CMDQ command, little-endian, sent to a vIOMMU.  v6.14. */
struct iommu_viommu_arm_smmuv3_invalidate {
	__aligned_le64 cmd[2];
};

/*
 * IOMMU_HWPT_INVALIDATE: hand entry_num requests of entry_len bytes each to a
 * nested HWPT or vIOMMU (hwpt_id); entry_num returns how many were handled.
 * v6.8 (vIOMMU as target v6.13).
 */
struct iommu_hwpt_invalidate {
	__u32 size;
	__u32 hwpt_id;
	__aligned_u64 data_uptr;
	__u32 data_type;
	__u32 entry_len;
	__u32 entry_num;
	__u32 __reserved;
};
#define IOMMU_HWPT_INVALIDATE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE)

/* ------------------------------------------------------------------------ */
/* I/O page faults (v6.11)                                                  */
/* ------------------------------------------------------------------------ */

/* flags of struct iommu_hwpt_pgfault. */
enum iommu_hwpt_pgfault_flags {
	IOMMU_PGFAULT_FLAGS_PASID_VALID = (1 << 0),
	IOMMU_PGFAULT_FLAGS_LAST_PAGE = (1 << 1),
};

/* perm bits of struct iommu_hwpt_pgfault. */
enum iommu_hwpt_pgfault_perm {
	IOMMU_PGFAULT_PERM_READ = (1 << 0),
	IOMMU_PGFAULT_PERM_WRITE = (1 << 1),
	IOMMU_PGFAULT_PERM_EXEC = (1 << 2),
	IOMMU_PGFAULT_PERM_PRIV = (1 << 3),
};

/*
 * One page request, as read() from a fault queue fd.  Note that length and
 * cookie are 32-bit; the record is 40 bytes.  v6.11.
 */
struct iommu_hwpt_pgfault {
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__u32 grpid;
	__u32 perm;
	__u32 __reserved;
	__aligned_u64 addr;
	__u32 length;
	__u32 cookie;
};

/* code of struct iommu_hwpt_page_response (PCIe PRG response). */
enum iommufd_page_response_code {
	IOMMUFD_PAGE_RESP_SUCCESS = 0,
	IOMMUFD_PAGE_RESP_INVALID = 1,
};

/* The answer to a fault group, as write() to a fault queue fd.  v6.11. */
struct iommu_hwpt_page_response {
	__u32 cookie;
	__u32 code;
};

/* IOMMU_FAULT_QUEUE_ALLOC: create a FAULT object and the fd to serve it. v6.11. */
struct iommu_fault_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_fault_id;
	__u32 out_fault_fd;
};
#define IOMMU_FAULT_QUEUE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_FAULT_QUEUE_ALLOC)

/* ------------------------------------------------------------------------ */
/* Virtual IOMMUs and virtual devices (v6.13)                               */
/* ------------------------------------------------------------------------ */

/* type of IOMMU_VIOMMU_ALLOC.  DEFAULT is reserved; TEGRA241_CMDQV v6.17. */
enum iommu_viommu_type {
	IOMMU_VIOMMU_TYPE_DEFAULT = 0,
	IOMMU_VIOMMU_TYPE_ARM_SMMUV3 = 1,
	IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV = 2,
};

/*
 * VIOMMU_ALLOC output data for TEGRA241_CMDQV: where to mmap() the VINTF
 * page0 through the iommufd fd.  v6.17.
 */
struct iommu_viommu_tegra241_cmdqv {
	__aligned_u64 out_vintf_mmap_offset;
	__aligned_u64 out_vintf_mmap_length;
};

/*
 * IOMMU_VIOMMU_ALLOC: a vIOMMU slice of dev_id's physical IOMMU wrapping the
 * nesting-parent hwpt_id.  v6.13; data_len/data_uptr v6.17.
 */
struct iommu_viommu_alloc {
	__u32 size;
	__u32 flags;
	__u32 type;
	__u32 dev_id;
	__u32 hwpt_id;
	__u32 out_viommu_id;
	__u32 data_len;
	__u32 __reserved;
	__aligned_u64 data_uptr;
};
#define IOMMU_VIOMMU_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VIOMMU_ALLOC)

/*
 * IOMMU_VDEVICE_ALLOC: give dev_id a guest-visible ID (virt_id: vSID,
 * vDeviceID, vRID) on a vIOMMU.  v6.13.
 */
struct iommu_vdevice_alloc {
	__u32 size;
	__u32 viommu_id;
	__u32 dev_id;
	__u32 out_vdevice_id;
	__aligned_u64 virt_id;
};
#define IOMMU_VDEVICE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VDEVICE_ALLOC)

/*
 * IOMMU_IOAS_CHANGE_PROCESS: move the pinned-page accounting of every
 * (MAP_FILE-only) mapping to the calling process, all or nothing.  v6.14.
 */
struct iommu_ioas_change_process {
	__u32 size;
	__u32 __reserved;
};
#define IOMMU_IOAS_CHANGE_PROCESS \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_CHANGE_PROCESS)

/* ------------------------------------------------------------------------ */
/* Virtual event queues (v6.15)                                             */
/* ------------------------------------------------------------------------ */

/* flags of struct iommufd_vevent_header. */
enum iommu_veventq_flag {
	IOMMU_VEVENTQ_FLAG_LOST_EVENTS = (1U << 0),
};

/*
 * Header in front of each record read() from a vEVENTQ fd; a gap in sequence
 * (or a trailing LOST_EVENTS header with no data) means events were dropped.
 */
struct iommufd_vevent_header {
	__u32 flags;
	__u32 sequence;
};

/* type of IOMMU_VEVENTQ_ALLOC (one queue per type per vIOMMU). */
enum iommu_veventq_type {
	IOMMU_VEVENTQ_TYPE_DEFAULT = 0,
	IOMMU_VEVENTQ_TYPE_ARM_SMMUV3 = 1,
	IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV = 2,
};

/* vEVENT data for ARM_SMMUV3: one 256-bit event record, little-endian. v6.15. */
struct iommu_vevent_arm_smmuv3 {
	__aligned_le64 evt[4];
};

/* vEVENT data for TEGRA241_CMDQV: the 128-bit LVCMDQ error map.  v6.17. */
struct iommu_vevent_tegra241_cmdqv {
	__aligned_le64 lvcmdq_err_map[2];
};

/* IOMMU_VEVENTQ_ALLOC: create an event queue fd of veventq_depth for a vIOMMU. v6.15. */
struct iommu_veventq_alloc {
	__u32 size;
	__u32 flags;
	__u32 viommu_id;
	__u32 type;
	__u32 veventq_depth;
	__u32 out_veventq_id;
	__u32 out_veventq_fd;
	__u32 __reserved;
};
#define IOMMU_VEVENTQ_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VEVENTQ_ALLOC)

/* ------------------------------------------------------------------------ */
/* Hardware-accelerated guest queues (v6.17)                                */
/* ------------------------------------------------------------------------ */

/* type of IOMMU_HW_QUEUE_ALLOC. */
enum iommu_hw_queue_type {
	IOMMU_HW_QUEUE_TYPE_DEFAULT = 0,
	IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV = 1,
};

/*
 * IOMMU_HW_QUEUE_ALLOC: let the hardware run a guest queue that lives at
 * nesting_parent_iova/length; index orders the queues of one type.  v6.17.
 */
struct iommu_hw_queue_alloc {
	__u32 size;
	__u32 flags;
	__u32 viommu_id;
	__u32 type;
	__u32 index;
	__u32 out_hw_queue_id;
	__aligned_u64 nesting_parent_iova;
	__aligned_u64 length;
};
#define IOMMU_HW_QUEUE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HW_QUEUE_ALLOC)

#endif /* _UAPI_IOMMUFD_H */
