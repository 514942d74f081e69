/* device.h — the reference's in-"kernel" API for device drivers: what drivers/iommu/iommufd
 * exports to VFIO (include/linux/iommufd.h in the kernel). The VFIO layer (src/vfio/) and the
 * selftest mock (selftest.c) are its only callers; user space never sees it.
 *
 *   physical devices:  ref_device_bind / _attach / _replace / _detach / _unbind  (device.c)
 *   emulated devices:  ref_access_create / _attach / _replace / _detach / _destroy,
 *                      pin/unpin and rw through the IOAS                          (access.c)
 *   legacy VFIO:       ref_vfio_compat_ioas_get_id / _create                       (vfio_compat.c)
 *
 * Semantics follow the kernel function of the same name (iommufd_device_bind(), ...): same
 * argument order, same errnos. A refusal also leaves a one-line reason in ioasid_last_error().
 */
#ifndef IOASID_REFERENCE_DEVICE_H
#define IOASID_REFERENCE_DEVICE_H

#include <stddef.h>
#include <stdint.h>

struct ioasid_ctx;
struct ref_device;
struct ref_access;

#define REF_NO_PASID 0u   /* IOMMU_NO_PASID: the RID */

/* Contexts are reference counted: a bound device or an access keeps its context alive after the
 * iommufd fd is closed (the kernel's iommufd_ctx_get/put). ioasid_ctx_close() drops the opener's
 * reference; the context is torn down when the last one goes. */
void ioasid_ctx_get(struct ioasid_ctx *ctx);
void ioasid_ctx_put(struct ioasid_ctx *ctx);
/* The context's identity in events (the `ctx` field: its process-unique cookie). */
uint64_t ref_ctx_event_id(const struct ioasid_ctx *ctx);

/* ---- physical devices (device.c) ----------------------------------------------------------
 * Bind platform device `plat_dev` (index in the platform topology) to ctx: checks cache
 * coherency (-EINVAL), MSI isolation (-EPERM), claims DMA ownership with ctx as owner (-EPERM
 * for another owner or a DMA-API driver in the group, -EBUSY), creates the device object and
 * returns its ID (dev_id). The device starts blocked (group on the blocking domain). */
int ref_device_bind(struct ioasid_ctx *ctx, uint32_t plat_dev, struct ref_device **out,
		    uint32_t *out_dev_id);
/* Detach everything still attached, release DMA ownership, destroy the object. */
void ref_device_unbind(struct ref_device *idev);
/* Attach the RID (pasid == REF_NO_PASID) or a PASID to an IOAS (auto domain) or a HWPT.
 * *pt_id in: IOAS or HWPT ID; out: the HWPT attached (the auto domain for an IOAS).
 * -EBUSY if already attached (use replace), -EINVAL for PASID rules, -ENOENT bad ID. */
int ref_device_attach(struct ref_device *idev, uint32_t pasid, uint32_t *pt_id);
/* Replace the current attachment: -EINVAL when nothing is attached there. */
int ref_device_replace(struct ref_device *idev, uint32_t pasid, uint32_t *pt_id);
void ref_device_detach(struct ref_device *idev, uint32_t pasid);
uint32_t ref_device_id(const struct ref_device *idev);
/* Drop a reference taken by a lookup of the device object (ref_get_device). */
void ref_device_put(struct ref_device *idev);
uint32_t ref_device_plat_index(const struct ref_device *idev);
struct ioasid_ctx *ref_device_ctx(const struct ref_device *idev);

/* A DMA by the device, through the IOMMU as it stands (RID or PASID entry): dir 0 = device reads
 * memory into buf, 1 = device writes buf to memory. 0, or -EFAULT (IO page fault; *fault_iova set),
 * or -EAGAIN (a page request was queued to the fault queue of an IOPF-capable HWPT). */
int ref_device_dma(struct ref_device *idev, uint32_t pasid, uint64_t iova, void *buf,
		   size_t len, int dir, uint64_t *fault_iova);

/* ---- the selftest mock bus (IOMMU_TEST_OP_MOCK_DOMAIN*) --------------------------------------
 * A device created on demand behind the selftest mock IOMMU (2 KiB granule, aperture
 * [1 << 24, (1 << 31) - 1], 20-bit PASID, nesting, dirty tracking), not part of the platform
 * topology: its own singleton group, no driver, no ownership conflicts with platform devices. */
struct ref_mock_dev_info {
	unsigned int pasid_bits;     /* MOCK_FLAGS_DEVICE_PASID: 20, else 0 */
	unsigned int no_dirty : 1;   /* MOCK_FLAGS_DEVICE_NO_DIRTY */
	unsigned int huge_iova : 1;  /* MOCK_FLAGS_DEVICE_HUGE_IOVA */
};
int ref_device_bind_selftest(struct ioasid_ctx *ctx, const struct ref_mock_dev_info *info,
			     struct ref_device **out, uint32_t *out_dev_id);

/* The mock domain behind a HWPT (paging or nested), for check_map/dirty/iotlb ops: takes a
 * reference on the HWPT object (release with ref_hwpt_put). -ENOENT. */
struct mock_domain;
struct ref_object;
int ref_hwpt_get_domain(struct ioasid_ctx *ctx, uint32_t hwpt_id, struct ref_object **obj,
			struct mock_domain **dom);
void ref_hwpt_put(struct ioasid_ctx *ctx, struct ref_object *obj);
/* Report a page request from the device at pasid (IOMMU_TEST_OP_TRIGGER_IOPF): queued to the
 * fault object of the HWPT attached there. -EINVAL if nothing is attached or the HWPT is not
 * IOPF-capable. */
int ref_device_trigger_iopf(struct ref_device *idev, uint32_t pasid, uint32_t grpid,
			    uint32_t perm, uint64_t addr);
/* The HWPT attached at (device, pasid): its ID, or 0 when detached. */
uint32_t ref_device_attached_hwpt(struct ref_device *idev, uint32_t pasid);

/* ---- emulated devices: access objects (access.c) -------------------------------------------
 * An access is a software user of an IOAS (an mdev-style device without its own IOMMU
 * translation): it pins IOVA ranges to get at the memory, or reads/writes through them. */
struct ref_access_ops {
	/* Called (without iopt locks held) when [iova, iova + length) is being unmapped while this
	 * access has pins in it: the owner must unpin them, or the unmap fails with EBUSY. */
	void (*unmap)(void *data, uint64_t iova, uint64_t length);
	unsigned int needs_pin_pages : 1;
};
int ref_access_create(struct ioasid_ctx *ctx, const struct ref_access_ops *ops, void *data,
		      struct ref_access **out, uint32_t *out_id);
void ref_access_destroy(struct ref_access *access);
int ref_access_attach(struct ref_access *access, uint32_t ioas_id);
int ref_access_replace(struct ref_access *access, uint32_t ioas_id);
void ref_access_detach(struct ref_access *access);
/* Pin [iova, iova + length): host addresses of each CPU page in out_pages (length/4K entries,
 * covering the page-aligned span). flags: REF_ACCESS_RW_WRITE. */
#define REF_ACCESS_RW_WRITE     (1u << 0)
#define REF_ACCESS_RW_KTHREAD   (1u << 1)
int ref_access_pin_pages(struct ref_access *access, uint64_t iova, uint64_t length,
			 void **out_pages, unsigned int flags);
void ref_access_unpin_pages(struct ref_access *access, uint64_t iova, uint64_t length);
int ref_access_rw(struct ref_access *access, uint64_t iova, void *data, size_t len,
		  unsigned int flags);

/* ---- legacy VFIO container (vfio_compat.c) --------------------------------------------------
 * The IOAS that the VFIO type1 compat ioctls and VFIO_GROUP_SET_CONTAINER use: its ID, or
 * -ENODEV when none was set or created. _create makes one if missing (a group joining the
 * container does this) and returns its ID. */
int ref_vfio_compat_ioas_get_id(struct ioasid_ctx *ctx, uint32_t *out_ioas_id);
int ref_vfio_compat_ioas_create(struct ioasid_ctx *ctx, uint32_t *out_ioas_id);
/* A context as /dev/vfio/vfio opens it: per-process (mm) pinned-page accounting. */
int ref_vfio_container_ctx_open(struct ioasid_ctx **out);
/* The legacy container's group claim (iommu_group_claim_dma_owner) with ctx as the owner, so
 * that the devices later bound to ctx share it. -EPERM with `why` filled. */
struct platform;
int ref_vfio_compat_group_claim(struct ioasid_ctx *ctx, struct platform *p, uint32_t group,
				char *why, size_t whylen);
void ref_vfio_compat_group_release(struct ioasid_ctx *ctx, struct platform *p, uint32_t group);

#endif
