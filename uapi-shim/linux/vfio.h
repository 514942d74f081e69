/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * uapi-shim/linux/vfio.h - the installed <linux/vfio.h> plus the VFIO
 * device-cdev <-> iommufd pieces that newer kernels added (v6.5 .. v6.17).
 *
 * Debian 12 installs the v6.1 header, whose device ioctls stop at
 * VFIO_BASE + 17 (VFIO_DEVICE_FEATURE).  This wrapper pulls it in first,
 * then adds each missing definition under #ifndef, so an installed header
 * that already has it wins.  Layouts follow mainline
 * include/uapi/linux/vfio.h (checked against torvalds/linux 02256acf);
 * tests/test_uapi_layout.c pins them.  The comments are this project's own.
 *
 * Only the cdev binding path a VMM needs is added here: BIND_IOMMUFD,
 * ATTACH/DETACH_IOMMUFD_PT (with PASID) and the cdev hot-reset flags.
 */
#ifndef IOASID_UAPI_SHIM_LINUX_VFIO_H
#define IOASID_UAPI_SHIM_LINUX_VFIO_H

/*
 * #include_next is a GNU extension that -pedantic reports, and GCC 12 ignores
 * "diagnostic ignored" for it; treat this wrapper as the system header it
 * stands in for.  (Check it with -Wsystem-headers.)
 */
#pragma GCC system_header

#include_next <linux/vfio.h>

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * VFIO_DEVICE_BIND_IOMMUFD (VFIO_BASE + 18, cmd 0x3B76): bind a cdev-opened
 * device (/dev/vfio/devices/vfioN) to an iommufd; out_devid is the dev_id
 * for iommufd commands.  Unbound on close.  v6.6 (16 bytes); flags with
 * VFIO_DEVICE_BIND_FLAG_TOKEN and token_uuid_ptr (a 16-byte PF/VF token
 * UUID) v6.17, 24 bytes.
 */
#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
#define VFIO_DEVICE_BIND_FLAG_TOKEN (1 << 0)
	__s32 iommufd;
	__u32 out_devid;
	__aligned_u64 token_uuid_ptr;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#endif

/*
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT (VFIO_BASE + 19, cmd 0x3B77): attach the
 * device (or, with VFIO_DEVICE_ATTACH_PASID, one of its PASIDs) to an IOAS
 * or HWPT; pt_id returns the HWPT actually used.  A second attach replaces
 * the first.  v6.6 (12 bytes); PASID v6.15, 16 bytes.
 */
#ifndef VFIO_DEVICE_ATTACH_IOMMUFD_PT
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
#define VFIO_DEVICE_ATTACH_PASID (1 << 0)
	__u32 pt_id;
	__u32 pasid;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

/*
 * VFIO_DEVICE_DETACH_IOMMUFD_PT (VFIO_BASE + 20, cmd 0x3B78): detach the
 * device (or, with VFIO_DEVICE_DETACH_PASID, one PASID), leaving it blocked
 * from DMA.  v6.6 (8 bytes); PASID v6.15, 12 bytes.
 */
#ifndef VFIO_DEVICE_DETACH_IOMMUFD_PT
struct vfio_device_detach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
#define VFIO_DEVICE_DETACH_PASID (1 << 0)
	__u32 pasid;
};
#define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)
#endif

/*
 * Hot reset for cdev-opened devices (v6.5).  VFIO_DEVICE_GET_PCI_HOT_RESET_INFO
 * then reports iommufd dev_ids instead of group IDs and sets FLAG_DEV_ID; the
 * ID sits where v6.1's struct vfio_pci_dependent_device has group_id (newer
 * headers make that a group_id/devid union of the same size).  DEV_ID_OWNED
 * says every affected device is owned by the caller's iommufd.
 */
#ifndef VFIO_PCI_HOT_RESET_FLAG_DEV_ID
#define VFIO_PCI_HOT_RESET_FLAG_DEV_ID (1 << 0)
#endif
#ifndef VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED
#define VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED (1 << 1)
#endif
#ifndef VFIO_PCI_DEVID_OWNED
#define VFIO_PCI_DEVID_OWNED 0
#endif
#ifndef VFIO_PCI_DEVID_NOT_OWNED
#define VFIO_PCI_DEVID_NOT_OWNED -1
#endif

#endif /* IOASID_UAPI_SHIM_LINUX_VFIO_H */
