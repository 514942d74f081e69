/* vfio.h — the VFIO layer: what drivers/vfio does in the kernel, over the mock platform
 * (src/platform) and the reference (src/reference/device.h).
 *
 * Three kinds of file, each what one open() (or one VFIO_GROUP_GET_DEVICE_FD) gives:
 *
 *   device file   /dev/vfio/devices/vfioN (cdev), or a device fd from a group. A cdev file
 *                 can do nothing but VFIO_DEVICE_BIND_IOMMUFD until it is bound (EINVAL, as
 *                 the kernel's access_granted check); a group device file is bound when it is
 *                 created. Unbound on close.
 *   group file    /dev/vfio/N. Open once at a time, and not while a device of the group is
 *                 bound through its cdev (platform_vfio_group_open). SET_CONTAINER takes an
 *                 iommufd or a container; GET_DEVICE_FD binds the device to that context and
 *                 attaches it to the context's compat IOAS.
 *   container     /dev/vfio/vfio. An iommufd context of its own with per-process (mm)
 *                 accounting, as the kernel's CONFIG_IOMMUFD_VFIO_CONTAINER provides it: the
 *                 type1 ioctls (and the iommufd ones) go to that context. What differs from
 *                 passing an iommufd to SET_CONTAINER is ownership: a container claims the
 *                 whole group at SET_CONTAINER (iommu_group_claim_dma_owner, as the legacy
 *                 container does: EPERM while any device of the group has a DMA-API driver or
 *                 another owner holds it), an iommufd claims per device at GET_DEVICE_FD.
 *
 * Devices are physical (bound with ref_device_bind: the dev_id is a device object) or
 * software-table devices (sw_table in the topology, mdev-like: bound with ref_access_create, the
 * dev_id is the access object's ID; DMA goes through ref_access_rw).
 *
 * The environment (the LD_PRELOAD shim, or a test) owns file descriptors; this layer never
 * sees one except as a number inside an ioctl struct, which it resolves through
 * struct vfio_files at the point where the kernel would call fdget(). So the order of the
 * checks, and the errnos, stay the kernel's.
 *
 * Errors: every refusal that is about the host (ownership, drivers, exclusivity, a missing
 * device) prints one line to stderr, "ioasid: " + the object, the value and the fix, and
 * leaves the same line in vfio_last_error() for the calling thread.
 *
 * Locking: a registry lock for the process's device and group objects; each group has a mutex
 * (group_lock), each device one (the kernel's dev_set lock). Order: group, then device. The
 * platform and the reference take their own locks below these.
 *
 * ---- BAR0: the mock DMA engine ----------------------------------------------------------------
 *
 * Every device exposes region 0 (VFIO_PCI_BAR0_REGION_INDEX, file offset 0) of 4 KiB, readable
 * and writable with pread()/pwrite() on the device fd (no mmap: accesses must trap). The first
 * 64 bytes are registers, little-endian, any access size; the rest reads as zero and ignores
 * writes. Unmodified programs make the device DMA through it:
 *
 *   off   name        access  meaning
 *   0x00  SRC_IOVA    RW  u64 where the device reads from (an IOVA of its RID or PASID table)
 *   0x08  DST_IOVA    RW  u64 where it writes to
 *   0x10  LEN         RW  u64 bytes to copy, 1 .. VFIO_DMA_MAX_LEN (16 MiB)
 *   0x18  PASID       RW  u32 the PASID to tag the DMA with when FLAGS.PASID_VALID
 *   0x1c  FLAGS       RW  u32 bit 0 PASID_VALID
 *   0x20  DOORBELL    RW  u32 write 1: copy LEN bytes SRC_IOVA → DST_IOVA through the IOMMU
 *                         (the device reads all of it, then writes it), synchronously; reads 0
 *   0x24  STATUS      RO  u32 result of the last doorbell: 0 done, 1 IO page fault,
 *                         2 page request pending (IOPF-capable domain: answer it on the fault
 *                         fd, then ring again), 3 bad command (LEN 0 or too large, PASID on a
 *                         device without PASID support)
 *   0x28  FAULT_IOVA  RO  u64 the faulting IOVA when STATUS is 1 or 2
 *   0x30  ID          RO  u32 0x494f4144 (VFIO_DMA_ID_VALUE): this is the mock DMA engine
 *   0x34  VERSION     RO  u32 1
 *   0x38  DMA_COUNT   RO  u64 doorbells completed without error
 *
 * A physical device DMAs with ref_device_dma() (IOTLB, page walk, permission checks, PASID
 * table); a software-table device with ref_access_rw() on the IOAS it is attached to (its DMA
 * "faults" when the range is not mapped; FAULT_IOVA then holds the start of the failing half).
 * A device that is bound but not attached is blocked: every DMA faults.
 *
 * Region 7 (config space, 256 bytes, read-only, writes ignored) holds vendor 0x1b36, device
 * 0x0005 (a QEMU test device) and class 0xff0000, enough for a VMM to identify it. Regions 1-6
 * have size 0; region 8 (VGA) does not exist (EINVAL).
 */
#ifndef IOASID_VFIO_VFIO_H
#define IOASID_VFIO_VFIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ioasid_ctx;
struct vfio_device_file;
struct vfio_group_file;

/* BAR0 register offsets and values (documented above). */
#define VFIO_DMA_REG_SRC_IOVA     0x00
#define VFIO_DMA_REG_DST_IOVA     0x08
#define VFIO_DMA_REG_LEN          0x10
#define VFIO_DMA_REG_PASID        0x18
#define VFIO_DMA_REG_FLAGS        0x1c
#define VFIO_DMA_REG_DOORBELL     0x20
#define VFIO_DMA_REG_STATUS       0x24
#define VFIO_DMA_REG_FAULT_IOVA   0x28
#define VFIO_DMA_REG_ID           0x30
#define VFIO_DMA_REG_VERSION      0x34
#define VFIO_DMA_REG_DMA_COUNT    0x38
#define VFIO_DMA_REGS_SIZE        0x40
#define VFIO_DMA_FLAG_PASID_VALID (1u << 0)
#define VFIO_DMA_STATUS_OK        0
#define VFIO_DMA_STATUS_FAULT     1
#define VFIO_DMA_STATUS_PRQ       2
#define VFIO_DMA_STATUS_BAD_CMD   3
#define VFIO_DMA_ID_VALUE         0x494f4144u
#define VFIO_DMA_MAX_LEN          (16u << 20)
#define VFIO_BAR0_SIZE            4096u
#define VFIO_CONFIG_SIZE          256u

/* ---- the environment's file table ------------------------------------------------------------ */

enum vfio_fd_kind {
	VFIO_FD_OTHER = 0,       /* open, but neither an iommufd nor a container */
	VFIO_FD_IOMMUFD,         /* /dev/iommu */
	VFIO_FD_CONTAINER,       /* /dev/vfio/vfio (also an iommufd context, see above) */
};

struct vfio_fd_ref {
	enum vfio_fd_kind kind;
	struct ioasid_ctx *ctx;  /* IOMMUFD and CONTAINER: the context behind the fd */
	void *handle;            /* the environment's own, for put() */
};

struct vfio_files {
	/* Resolve an fd number found in an ioctl struct: 0 and *ref (the environment keeps the
	 * file alive until put), or -EBADF when fd is not an open file. */
	int (*get)(void *data, int fd, struct vfio_fd_ref *ref);
	void (*put)(void *data, struct vfio_fd_ref *ref);
	/* VFIO_GROUP_GET_DEVICE_FD: give a new device file an fd (O_RDWR | O_CLOEXEC) and
	 * return it, or -errno. The callee owns df from the call on: closing the fd calls
	 * vfio_device_close(df), and so does a failure to make the fd. */
	int (*install_device)(void *data, struct vfio_device_file *df);
	void *data;
};

/* ---- device files (vfio_device.c) ------------------------------------------------------------ */
/* open() of /dev/vfio/devices/vfioN: -ENOENT when no such device, or when it is not on a VFIO
 * driver (no node exists then on a real host). */
int vfio_cdev_open(uint32_t vfio_index, struct vfio_device_file **out);
long vfio_device_ioctl(struct vfio_device_file *df, unsigned long cmd, void *arg,
		       const struct vfio_files *files);
/* Positional access to the regions: offset = region index << 40 | offset in the region.
 * Returns bytes done or -errno (EINVAL before bind, for a region that does not exist, or an
 * offset past its end; a read past the end is cut short). */
ssize_t vfio_device_pread(struct vfio_device_file *df, void *buf, size_t len, uint64_t off);
ssize_t vfio_device_pwrite(struct vfio_device_file *df, const void *buf, size_t len,
			   uint64_t off);
/* read()/write(): the same at the file position, which they advance (there is no lseek). */
ssize_t vfio_device_read(struct vfio_device_file *df, void *buf, size_t len);
ssize_t vfio_device_write(struct vfio_device_file *df, const void *buf, size_t len);
/* The last close of the file: unbind (cdev) or drop the open (group device file). */
void vfio_device_close(struct vfio_device_file *df);
/* For tests and tools: the dev_id of a bound file (0 when not bound), its platform index. */
uint32_t vfio_device_file_devid(const struct vfio_device_file *df);
uint32_t vfio_device_file_plat_index(const struct vfio_device_file *df);

/* ---- group files and containers (vfio_group.c) ----------------------------------------------- */
/* open() of /dev/vfio/N: -ENOENT when no group N has a device on a VFIO driver; -EBUSY when
 * the group is open already or a device of it is bound through its cdev. */
int vfio_group_open(uint32_t group_id, struct vfio_group_file **out);
long vfio_group_ioctl(struct vfio_group_file *gf, unsigned long cmd, void *arg,
		      const struct vfio_files *files);
/* The group fd is closed; the group lives on while device files from it are open. */
void vfio_group_close(struct vfio_group_file *gf);
/* open() of /dev/vfio/vfio: a new context (close it with ioasid_ctx_close). */
int vfio_container_open(struct ioasid_ctx **out);

/* The calling thread's last refusal message (without "ioasid: "), "" if none. */
const char *vfio_last_error(void);

/* The reference's side of this layer (contexts of containers, legacy group claims) is declared
 * in reference/device.h. */

/* ---- layer-internal (vfio_device.c ↔ vfio_group.c ↔ vfio_bar.c) -------------------------------- */
#ifdef IOASID_VFIO_INTERNAL
#include <pthread.h>
#include <stdbool.h>

struct ref_device;
struct ref_access;

/* One per platform device in this process (the kernel's struct vfio_device). */
struct vfio_device {
	uint32_t plat_index;
	struct platform *plat;
	char name[32];
	bool sw_table;
	unsigned int pasid_bits;          /* effective (device and IOMMU) */
	uint32_t refs;                    /* device files; under the registry lock */
	pthread_mutex_t lock;             /* the dev_set lock: everything below */
	uint32_t open_count;              /* opens through the group, or 1 while cdev-bound */
	bool cdev_bound;
	struct ioasid_ctx *ctx;           /* bound context */
	struct ref_device *idev;          /* physical */
	struct ref_access *access;        /* sw_table */
	uint32_t dev_id;
	bool rid_attached;
	uint32_t *pasids;                 /* PASIDs attached (the kernel's vdev->pasids ida) */
	uint32_t nr_pasids, max_pasids;
	uint8_t regs[64];                 /* BAR0 registers (VFIO_DMA_REGS_SIZE) */
};

struct vfio_group;

struct vfio_device_file {
	struct vfio_device *device;
	struct vfio_group *group;         /* set for a device file from GET_DEVICE_FD */
	bool access_granted;              /* bound (cdev) or opened from a group */
	pthread_mutex_t pos_lock;
	uint64_t pos;                     /* read()/write() file position */
};

/* Device registry: get takes a reference (refs), put drops it and frees the last. */
int vfio_device_get(struct platform *p, uint32_t plat_index, struct vfio_device **out);
void vfio_device_put(struct vfio_device *dev);
/* Under dev->lock: bind to ctx and, for a group open, attach to ctx's compat IOAS. */
int vfio_device_first_open(struct vfio_device *dev, struct ioasid_ctx *ctx, bool compat_attach);
void vfio_device_last_close(struct vfio_device *dev);
struct vfio_device_file *vfio_device_file_alloc(struct vfio_device *dev);
/* The group side of a device file's close (vfio_group.c). */
void vfio_group_device_closed(struct vfio_group *group, struct vfio_device_file *df);

/* BAR0 (vfio_bar.c), under dev->lock. */
void vfio_bar_reset(struct vfio_device *dev);
void vfio_bar_read(struct vfio_device *dev, uint64_t off, void *buf, size_t len);
void vfio_bar_write(struct vfio_device *dev, uint64_t off, const void *buf, size_t len);

/* Messages (vfio_device.c): print "ioasid: ..." and keep it for vfio_last_error(). */
void vfio_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Is the platform device served by VFIO (on a user driver, or a software-table device)? */
bool vfio_device_registered(struct platform *p, uint32_t plat_index);
#endif

#endif
