/* vfio_device.c — VFIO device files: the kernel's vfio_main.c device fops, device_cdev.c
 * (BIND_IOMMUFD, ATTACH/DETACH_IOMMUFD_PT), iommufd.c (physical and emulated bind/attach) and the
 * vfio-pci ioctls a VMM needs (GET_INFO, GET_REGION_INFO, GET_IRQ_INFO, RESET), with region I/O.
 *
 * Owns: the process's struct vfio_device objects (one per platform device that has a file open),
 * the device files, and the refusal messages of the layer (vfio_error / vfio_last_error).
 *
 * Invariants
 *  - A device is bound to at most one context (OWN-1): cdev bind needs open_count == 0; group
 *    opens share the first open's binding and count up.
 *  - Before access is granted (cdev not bound yet) everything but BIND_IOMMUFD gives EINVAL,
 *    read/write too, as the kernel's access_granted check.
 *  - ATTACH/DETACH_IOMMUFD_PT exist only on cdev files (a group device file gets the vfio-pci
 *    answer for an unknown ioctl, ENOTTY). A second ATTACH of the RID or of one PASID replaces.
 *  - Closing a bound file detaches what is attached (every PASID, then the RID), unbinds, and
 *    ends the cdev's exclusivity claim on the group.
 *
 * Events: a software-table device's bind and unbind (an access object, not a reference device)
 * raise DEV_BIND / DEV_UNBIND here with aux 1; a physical device's come from the reference.
 *
 * Locking: registry_lock guards the device list and refs; dev->lock (the dev_set lock) guards
 * the binding, the attachments and BAR0. The group side takes its group lock before dev->lock.
 */
#define IOASID_VFIO_INTERNAL
#include "vfio/vfio.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/vfio.h>

#include "platform/platform.h"
#include "reference/device.h"
/* Only the reference's uaccess helpers (ref_copy_*_user, ref_check_zeroed_user) and the
 * allocator are used from here: a bad user pointer gives EFAULT, never a crash. */
#include "reference/ref_private.h"

#ifndef offsetofend
#define offsetofend(T, m) (offsetof(T, m) + sizeof(((T *)0)->m))
#endif

#define REGION_SHIFT 40
#define REGION_OFFSET_MASK ((1ULL << REGION_SHIFT) - 1)

/* ---- messages --------------------------------------------------------------------------------- */

static __thread char last_error[512];

static void vfio_verror(bool print, const char *fmt, va_list ap)
{
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	if (print && !getenv("IOASID_QUIET")) /* the reference's switch for its messages too */
		fprintf(stderr, "ioasid: %s\n", last_error);
}

void vfio_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfio_verror(true, fmt, ap);
	va_end(ap);
}

/* For a refusal the reference has already printed: only remembered. */
static void vfio_error_quiet(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void vfio_error_quiet(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfio_verror(false, fmt, ap);
	va_end(ap);
}

const char *vfio_last_error(void)
{
	return last_error;
}

/* ---- the device registry ---------------------------------------------------------------------- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vfio_device **registry;
static uint32_t registry_nr, registry_max;

bool vfio_device_registered(struct platform *p, uint32_t plat_index)
{
	const struct plat_topology *t = platform_topology(p);
	int drv;

	if (plat_index >= t->nr_devices)
		return false;
	drv = platform_device_driver(p, plat_index);
	/* An mdev-like device exists through its parent's VFIO driver; a PCI function is a VFIO
	 * device while vfio-pci (a user driver) is bound to it. */
	if (t->devices[plat_index].sw_table)
		return drv < 0 || t->drivers[drv].kind != PLAT_DRV_DMA_API;
	return drv >= 0 && t->drivers[drv].kind == PLAT_DRV_USER;
}

int vfio_device_get(struct platform *p, uint32_t plat_index, struct vfio_device **out)
{
	const struct plat_topology *t = platform_topology(p);
	struct vfio_device *dev = NULL;
	int rc = 0;

	pthread_mutex_lock(&registry_lock);
	for (uint32_t i = 0; i != registry_nr; i++) {
		if (registry[i]->plat == p && registry[i]->plat_index == plat_index) {
			dev = registry[i];
			dev->refs++;
			goto out_unlock;
		}
	}
	if (registry_nr == registry_max) {
		uint32_t max = registry_max ? registry_max * 2 : 8;
		void *n = ioasid_realloc_array(registry, max, sizeof(*registry));

		if (!n) {
			rc = -ENOMEM;
			goto out_unlock;
		}
		registry = n;
		registry_max = max;
	}
	dev = ioasid_zalloc(sizeof(*dev));
	if (!dev) {
		if (!registry_nr) {
			/* grown for this device only: hold nothing, as vfio_device_put() does */
			ioasid_free(registry);
			registry = NULL;
			registry_max = 0;
		}
		rc = -ENOMEM;
		goto out_unlock;
	}
	dev->plat = p;
	dev->plat_index = plat_index;
	snprintf(dev->name, sizeof(dev->name), "%s", t->devices[plat_index].name);
	dev->sw_table = t->devices[plat_index].sw_table;
	dev->pasid_bits = plat_device_pasid_bits(t, plat_index);
	dev->refs = 1;
	pthread_mutex_init(&dev->lock, NULL);
	vfio_bar_reset(dev);
	registry[registry_nr++] = dev;
out_unlock:
	pthread_mutex_unlock(&registry_lock);
	if (!rc)
		*out = dev;
	return rc;
}

void vfio_device_put(struct vfio_device *dev)
{
	bool last;

	pthread_mutex_lock(&registry_lock);
	last = --dev->refs == 0;
	if (last) {
		for (uint32_t i = 0; i != registry_nr; i++) {
			if (registry[i] == dev) {
				registry[i] = registry[--registry_nr];
				break;
			}
		}
		if (!registry_nr) {
			/* Nothing left: a process that closed every file holds nothing. */
			ioasid_free(registry);
			registry = NULL;
			registry_max = 0;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	if (!last)
		return;
	pthread_mutex_destroy(&dev->lock);
	ioasid_free(dev->pasids);
	ioasid_free(dev);
}

/* ---- binding (the kernel's vfio_iommufd_{physical,emulated}_*) --------------------------------- */

static void vfio_emulated_unmap(void *data, uint64_t iova, uint64_t length)
{
	/* The DMA engine never keeps pages pinned past one doorbell: nothing to give back. */
	(void)data;
	(void)iova;
	(void)length;
}

static const struct ref_access_ops vfio_access_ops = {
	.unmap = vfio_emulated_unmap,
	.needs_pin_pages = 1,
};

/* The IOMMU group ID of a device and the number of devices in its group, as events name them. */
static uint32_t device_group_id(const struct vfio_device *dev)
{
	const struct plat_topology *t = platform_topology(dev->plat);

	return t->groups[t->devices[dev->plat_index].group].id;
}

static uint32_t device_group_members(const struct vfio_device *dev)
{
	const struct plat_topology *t = platform_topology(dev->plat);
	uint32_t n = 0;

	for (uint32_t d = 0; d < t->nr_devices; d++)
		n += t->devices[d].group == t->devices[dev->plat_index].group;
	return n;
}

/* DEV_BIND / DEV_UNBIND of a software-table device (aux 1: emulated, an access object). */
#define EMULATED_EVENT(name_, dev_, ctx_, rc_)                                                 \
	IOASID_PROBE_NAMED(name_, (dev_)->name, .ctx = ref_ctx_event_id(ctx_),                 \
			   .dev = (dev_)->plat_index + 1, .group = device_group_id(dev_),       \
			   .obj = (dev_)->dev_id, .aux = 1, .result = (rc_),                   \
			   .length = device_group_members(dev_),                                \
			   .flags = (rc_) ? IOASID_EVF_REFUSED : 0)

/* The reference leaves (and prints) the reason of a refused bind or attach. */
static void report_bind_failure(struct vfio_device *dev, const char *what, int rc)
{
	const char *why = ioasid_last_error();

	if (why && *why)
		vfio_error_quiet("device %s: %s refused (%s): %s", dev->name, what, strerror(-rc),
				 why);
	else
		vfio_error("device %s: %s refused: %s", dev->name, what, strerror(-rc));
}

int vfio_device_first_open(struct vfio_device *dev, struct ioasid_ctx *ctx, bool compat_attach)
{
	uint32_t ioas_id;
	int rc;

	if (dev->sw_table) {
		rc = ref_access_create(ctx, &vfio_access_ops, dev, &dev->access, &dev->dev_id);
		if (rc)
			dev->dev_id = 0;
		EMULATED_EVENT(dev_bind, dev, ctx, rc);
	} else {
		rc = ref_device_bind(ctx, dev->plat_index, &dev->idev, &dev->dev_id);
	}
	if (rc) {
		report_bind_failure(dev, dev->sw_table ? "access creation" : "bind", rc);
		dev->idev = NULL;
		dev->access = NULL;
		return rc;
	}
	dev->ctx = ctx;
	if (compat_attach) {
		/* The legacy path attaches to the container's IOAS and has no way to report the
		 * dev_id or the HWPT chosen. */
		rc = ref_vfio_compat_ioas_get_id(ctx, &ioas_id);
		if (rc) {
			vfio_error("device %s: the container has no compat IOAS (IOMMU_VFIO_IOAS "
				   "cleared?): set one with IOMMU_VFIO_IOAS SET", dev->name);
			goto err_unbind;
		}
		rc = dev->sw_table ? ref_access_attach(dev->access, ioas_id)
				   : ref_device_attach(dev->idev, REF_NO_PASID, &ioas_id);
		if (rc) {
			report_bind_failure(dev, "attach to the container's IOAS", rc);
			goto err_unbind;
		}
		dev->rid_attached = true;
	}
	vfio_bar_reset(dev);
	return 0;

err_unbind:
	vfio_device_last_close(dev);
	return rc;
}

void vfio_device_last_close(struct vfio_device *dev)
{
	if (dev->idev) {
		/* ref_device_unbind detaches every PASID and the RID first. */
		ref_device_unbind(dev->idev);
		dev->idev = NULL;
	}
	if (dev->access) {
		EMULATED_EVENT(dev_unbind, dev, dev->ctx, 0);
		ref_access_destroy(dev->access);
		dev->access = NULL;
	}
	dev->nr_pasids = 0;
	dev->rid_attached = false;
	dev->ctx = NULL;
	dev->dev_id = 0;
	vfio_bar_reset(dev);
}

/* ---- device files ----------------------------------------------------------------------------- */

struct vfio_device_file *vfio_device_file_alloc(struct vfio_device *dev)
{
	struct vfio_device_file *df = ioasid_zalloc(sizeof(*df));

	if (!df)
		return NULL;
	df->device = dev;
	pthread_mutex_init(&df->pos_lock, NULL);
	return df;
}

int vfio_cdev_open(uint32_t vfio_index, struct vfio_device_file **out)
{
	const struct plat_topology *t;
	struct vfio_device_file *df;
	struct vfio_device *dev;
	struct platform *p;
	int idx, rc, drv;

	rc = platform_default(&p);
	if (rc)
		return rc;
	t = platform_topology(p);
	idx = plat_topology_find_vfio(t, vfio_index);
	if (idx < 0) {
		vfio_error("/dev/vfio/devices/vfio%u: no such device on this platform (%s): list "
			   "them with ioasid-platform show", vfio_index, t->source);
		return -ENOENT;
	}
	if (!vfio_device_registered(p, (uint32_t)idx)) {
		drv = platform_device_driver(p, (uint32_t)idx);
		vfio_error("/dev/vfio/devices/vfio%u: device %s is %s%s, so VFIO does not serve it: "
			   "bind it to vfio-pci (ioasid-platform bind %s vfio-pci)", vfio_index,
			   t->devices[idx].name, drv < 0 ? "bound to no driver" : "bound to ",
			   drv < 0 ? "" : t->drivers[drv].name, t->devices[idx].name);
		return -ENOENT;
	}
	rc = vfio_device_get(p, (uint32_t)idx, &dev);
	if (rc)
		return rc;
	df = vfio_device_file_alloc(dev);
	if (!df) {
		vfio_device_put(dev);
		return -ENOMEM;
	}
	*out = df;
	return 0;
}

void vfio_device_close(struct vfio_device_file *df)
{
	struct vfio_device *dev = df->device;

	if (df->group) {
		vfio_group_device_closed(df->group, df);
	} else if (df->access_granted) {
		pthread_mutex_lock(&dev->lock);
		vfio_device_last_close(dev);
		dev->cdev_bound = false;
		dev->open_count = 0;
		pthread_mutex_unlock(&dev->lock);
		platform_vfio_cdev_unbind(dev->plat, dev->plat_index);
	}
	pthread_mutex_destroy(&df->pos_lock);
	ioasid_free(df);
	vfio_device_put(dev);
}

uint32_t vfio_device_file_devid(const struct vfio_device_file *df)
{
	return df->access_granted ? df->device->dev_id : 0;
}

uint32_t vfio_device_file_plat_index(const struct vfio_device_file *df)
{
	return df->device->plat_index;
}

/* ---- user structs ----------------------------------------------------------------------------- */

static int get_user_u32(uint32_t *v, void *arg)
{
	return ref_copy_from_user(v, (uintptr_t)arg, sizeof(*v));
}

/* copy_struct_from_user(): zero-extend a shorter struct, refuse a longer one whose extra bytes
 * are not zero (E2BIG). */
static int copy_struct_from_user(void *dst, size_t ksize, void *arg, size_t usize)
{
	int rc;

	if (usize > ksize) {
		rc = ref_check_zeroed_user((uintptr_t)arg + ksize, usize - ksize);
		if (rc)
			return rc;
	}
	memset(dst, 0, ksize);
	return ref_copy_from_user(dst, (uintptr_t)arg, MIN(usize, ksize));
}

/* ---- VFIO_DEVICE_BIND_IOMMUFD ------------------------------------------------------------------ */

static long ioctl_bind_iommufd(struct vfio_device_file *df, void *arg,
			       const struct vfio_files *files)
{
	const size_t minsz = offsetofend(struct vfio_device_bind_iommufd, out_devid);
	struct vfio_device *dev = df->device;
	struct vfio_device_bind_iommufd bind;
	struct vfio_fd_ref ref = { 0 };
	char why[256] = "";
	uint32_t user_size;
	int rc;

	if (get_user_u32(&user_size, arg))
		return -EFAULT;
	if (user_size < minsz)
		return -EINVAL;
	rc = copy_struct_from_user(&bind, sizeof(bind), arg, user_size);
	if (rc)
		return rc;
	if (bind.iommufd < 0 || (bind.flags & ~VFIO_DEVICE_BIND_FLAG_TOKEN))
		return -EINVAL;
	/* BIND_IOMMUFD is for cdev files only. */
	if (df->group)
		return -EINVAL;

	pthread_mutex_lock(&dev->lock);
	/* One device file cannot be bound twice. */
	if (df->access_granted) {
		rc = -EINVAL;
		goto out_unlock;
	}
	/* The VF token (16-byte UUID) is read like the kernel reads it; the platform has no
	 * PF/VF token state, so any token is accepted. */
	if (bind.flags & VFIO_DEVICE_BIND_FLAG_TOKEN) {
		uint8_t uuid[16];

		if (ref_copy_from_user(uuid, bind.token_uuid_ptr, sizeof(uuid))) {
			rc = -EFAULT;
			goto out_unlock;
		}
	}
	/* vfio_device_block_group(): no cdev bind while the group fd is open. */
	rc = platform_vfio_cdev_bind(dev->plat, dev->plat_index, why, sizeof(why));
	if (rc) {
		vfio_error("device %s: VFIO_DEVICE_BIND_IOMMUFD refused (%s): %s", dev->name,
			   strerror(-rc), why[0] ? why : "the platform refused the cdev bind");
		goto out_unlock;
	}
	rc = files->get(files->data, bind.iommufd, &ref);
	if (rc)
		goto out_unblock;
	if (ref.kind != VFIO_FD_IOMMUFD && ref.kind != VFIO_FD_CONTAINER) {
		rc = -EBADFD; /* iommufd_ctx_from_fd(): open, but not an iommufd */
		goto out_put;
	}
	/* vfio_df_open(): only the group path may open a device several times; the cdev path
	 * has no safe way to share one binding. */
	if (dev->open_count) {
		rc = -EINVAL;
		goto out_put;
	}
	rc = vfio_device_first_open(dev, ref.ctx, false);
	if (rc)
		goto out_put;
	rc = ref_copy_to_user((uintptr_t)arg + offsetof(struct vfio_device_bind_iommufd, out_devid),
			      &dev->dev_id, sizeof(dev->dev_id));
	if (rc)
		goto out_close;
	files->put(files->data, &ref);
	dev->open_count = 1;
	dev->cdev_bound = true;
	df->access_granted = true;
	pthread_mutex_unlock(&dev->lock);
	return 0;

out_close:
	vfio_device_last_close(dev);
out_put:
	files->put(files->data, &ref);
out_unblock:
	platform_vfio_cdev_unbind(dev->plat, dev->plat_index);
out_unlock:
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

/* ---- ATTACH / DETACH_IOMMUFD_PT ---------------------------------------------------------------- */

static int pasid_index(struct vfio_device *dev, uint32_t pasid)
{
	for (uint32_t i = 0; i != dev->nr_pasids; i++)
		if (dev->pasids[i] == pasid)
			return (int)i;
	return -1;
}

static int pasid_record(struct vfio_device *dev, uint32_t pasid)
{
	if (dev->nr_pasids == dev->max_pasids) {
		uint32_t max = dev->max_pasids ? dev->max_pasids * 2 : 4;
		uint32_t *n = ioasid_realloc_array(dev->pasids, max, sizeof(*n));

		if (!n)
			return -ENOMEM;
		dev->pasids = n;
		dev->max_pasids = max;
	}
	dev->pasids[dev->nr_pasids++] = pasid;
	return 0;
}

static void pasid_forget(struct vfio_device *dev, int i)
{
	dev->pasids[i] = dev->pasids[--dev->nr_pasids];
}

/* Under dev->lock. *pt_id in: IOAS or HWPT; out: what the kernel reports. */
static int device_attach_pt(struct vfio_device *dev, bool is_pasid, uint32_t pasid,
			    uint32_t *pt_id)
{
	int rc, i;

	if (dev->sw_table) {
		rc = dev->rid_attached ? ref_access_replace(dev->access, *pt_id)
				       : ref_access_attach(dev->access, *pt_id);
		if (!rc)
			dev->rid_attached = true;
		return rc;
	}
	if (!is_pasid) {
		rc = dev->rid_attached ? ref_device_replace(dev->idev, REF_NO_PASID, pt_id)
				       : ref_device_attach(dev->idev, REF_NO_PASID, pt_id);
		if (!rc)
			dev->rid_attached = true;
		return rc;
	}
	i = pasid_index(dev, pasid);
	if (i >= 0)
		return ref_device_replace(dev->idev, pasid, pt_id);
	rc = pasid_record(dev, pasid);
	if (rc)
		return rc;
	rc = ref_device_attach(dev->idev, pasid, pt_id);
	if (rc)
		pasid_forget(dev, pasid_index(dev, pasid));
	return rc;
}

static void device_detach_pt(struct vfio_device *dev, bool is_pasid, uint32_t pasid)
{
	int i;

	if (dev->sw_table) {
		if (dev->rid_attached)
			ref_access_detach(dev->access);
		dev->rid_attached = false;
		return;
	}
	if (!is_pasid) {
		if (dev->rid_attached)
			ref_device_detach(dev->idev, REF_NO_PASID);
		dev->rid_attached = false;
		return;
	}
	i = pasid_index(dev, pasid);
	if (i < 0)
		return;
	ref_device_detach(dev->idev, pasid);
	pasid_forget(dev, i);
}

static long ioctl_attach_pt(struct vfio_device_file *df, void *arg)
{
	const size_t minsz = offsetofend(struct vfio_device_attach_iommufd_pt, pt_id);
	struct vfio_device *dev = df->device;
	struct vfio_device_attach_iommufd_pt attach;
	bool is_pasid;
	int rc;

	memset(&attach, 0, sizeof(attach));
	if (ref_copy_from_user(&attach, (uintptr_t)arg, minsz))
		return -EFAULT;
	if (attach.argsz < minsz)
		return -EINVAL;
	if (attach.flags & ~VFIO_DEVICE_ATTACH_PASID)
		return -EINVAL;
	is_pasid = attach.flags & VFIO_DEVICE_ATTACH_PASID;
	if (is_pasid) {
		const size_t xend = offsetofend(struct vfio_device_attach_iommufd_pt, pasid);

		/* Emulated devices have no pasid_attach_ioas op. */
		if (dev->sw_table)
			return -EOPNOTSUPP;
		if (attach.argsz < xend)
			return -EINVAL;
		if (ref_copy_from_user((uint8_t *)&attach + minsz, (uintptr_t)arg + minsz,
				       xend - minsz))
			return -EFAULT;
	}

	pthread_mutex_lock(&dev->lock);
	rc = device_attach_pt(dev, is_pasid, attach.pasid, &attach.pt_id);
	if (rc)
		goto out_unlock;
	if (ref_copy_to_user((uintptr_t)arg + offsetof(struct vfio_device_attach_iommufd_pt, pt_id),
			     &attach.pt_id, sizeof(attach.pt_id))) {
		device_detach_pt(dev, is_pasid, attach.pasid);
		rc = -EFAULT;
	}
out_unlock:
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

static long ioctl_detach_pt(struct vfio_device_file *df, void *arg)
{
	const size_t minsz = offsetofend(struct vfio_device_detach_iommufd_pt, flags);
	struct vfio_device *dev = df->device;
	struct vfio_device_detach_iommufd_pt detach;
	bool is_pasid;

	memset(&detach, 0, sizeof(detach));
	if (ref_copy_from_user(&detach, (uintptr_t)arg, minsz))
		return -EFAULT;
	if (detach.argsz < minsz)
		return -EINVAL;
	if (detach.flags & ~VFIO_DEVICE_DETACH_PASID)
		return -EINVAL;
	is_pasid = detach.flags & VFIO_DEVICE_DETACH_PASID;
	if (is_pasid) {
		const size_t xend = offsetofend(struct vfio_device_detach_iommufd_pt, pasid);

		if (dev->sw_table)
			return -EOPNOTSUPP;
		if (detach.argsz < xend)
			return -EINVAL;
		if (ref_copy_from_user((uint8_t *)&detach + minsz, (uintptr_t)arg + minsz,
				       xend - minsz))
			return -EFAULT;
	}
	pthread_mutex_lock(&dev->lock);
	device_detach_pt(dev, is_pasid, detach.pasid);
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

/* ---- the vfio-pci ioctls ------------------------------------------------------------------------ */

static long ioctl_get_info(void *arg)
{
	const size_t minsz = offsetofend(struct vfio_device_info, num_irqs);
	/* The newest layout: cap_offset and a pad make 24 bytes; min(argsz, 24) are written. */
	struct {
		struct vfio_device_info info;
		uint8_t pad[24 - sizeof(struct vfio_device_info) > 0 ?
			    24 - sizeof(struct vfio_device_info) : 1];
	} out;
	uint32_t argsz;

	if (get_user_u32(&argsz, arg))
		return -EFAULT;
	if (argsz < minsz)
		return -EINVAL;
	memset(&out, 0, sizeof(out));
	out.info.argsz = argsz;
	out.info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	out.info.num_regions = VFIO_PCI_NUM_REGIONS;
	out.info.num_irqs = VFIO_PCI_NUM_IRQS;
	return ref_copy_to_user((uintptr_t)arg, &out, MIN((size_t)argsz, (size_t)24)) ? -EFAULT : 0;
}

/* Size and flags of a region; -EINVAL when it does not exist. */
static int region_describe(uint32_t index, uint64_t *size, uint32_t *flags)
{
	switch (index) {
	case VFIO_PCI_BAR0_REGION_INDEX:
		*size = VFIO_BAR0_SIZE;
		*flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
		return 0;
	case VFIO_PCI_BAR1_REGION_INDEX ... VFIO_PCI_BAR5_REGION_INDEX:
	case VFIO_PCI_ROM_REGION_INDEX:
		*size = 0;
		*flags = 0;
		return 0;
	case VFIO_PCI_CONFIG_REGION_INDEX:
		*size = VFIO_CONFIG_SIZE;
		*flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
		return 0;
	default: /* no VGA, no device-specific regions */
		return -EINVAL;
	}
}

static long ioctl_get_region_info(void *arg)
{
	const size_t minsz = offsetofend(struct vfio_region_info, offset);
	struct vfio_region_info info;
	uint64_t size;
	int rc;

	if (ref_copy_from_user(&info, (uintptr_t)arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	rc = region_describe(info.index, &size, &info.flags);
	if (rc)
		return rc;
	info.size = size;
	info.offset = (uint64_t)info.index << REGION_SHIFT;
	info.cap_offset = 0;
	return ref_copy_to_user((uintptr_t)arg, &info, minsz) ? -EFAULT : 0;
}

static long ioctl_get_irq_info(void *arg)
{
	const size_t minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;

	if (ref_copy_from_user(&info, (uintptr_t)arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	/* The mock device raises no interrupts: the DMA engine completes synchronously. */
	info.flags = 0;
	info.count = 0;
	return ref_copy_to_user((uintptr_t)arg, &info, minsz) ? -EFAULT : 0;
}

long vfio_device_ioctl(struct vfio_device_file *df, unsigned long cmd, void *arg,
		       const struct vfio_files *files)
{
	struct vfio_device *dev = df->device;
	unsigned int c = (unsigned int)cmd;

	if (c == VFIO_DEVICE_BIND_IOMMUFD)
		return ioctl_bind_iommufd(df, arg, files);
	if (!__atomic_load_n(&df->access_granted, __ATOMIC_ACQUIRE))
		return -EINVAL;
	if (!df->group) {
		switch (c) {
		case VFIO_DEVICE_ATTACH_IOMMUFD_PT:
			return ioctl_attach_pt(df, arg);
		case VFIO_DEVICE_DETACH_IOMMUFD_PT:
			return ioctl_detach_pt(df, arg);
		}
	}
	switch (c) {
	case VFIO_DEVICE_GET_INFO:
		return ioctl_get_info(arg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return ioctl_get_region_info(arg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return ioctl_get_irq_info(arg);
	case VFIO_DEVICE_RESET:
		pthread_mutex_lock(&dev->lock);
		vfio_bar_reset(dev);
		pthread_mutex_unlock(&dev->lock);
		return 0;
	default:
		return -ENOTTY; /* vfio_pci_core_ioctl() */
	}
}

/* ---- region I/O ----------------------------------------------------------------------------------- */

static void config_read(struct vfio_device *dev, uint64_t off, uint8_t *buf, size_t len)
{
	uint8_t cfg[VFIO_CONFIG_SIZE] = {
		[0x00] = 0x36, [0x01] = 0x1b,   /* vendor 0x1b36 */
		[0x02] = 0x05, [0x03] = 0x00,   /* device 0x0005 */
		[0x08] = 0x01,                  /* revision */
		[0x0b] = 0xff,                  /* class: unassigned */
	};

	(void)dev;
	memcpy(buf, cfg + off, len);
}

static ssize_t region_rw(struct vfio_device_file *df, void *ubuf, size_t len, uint64_t pos,
			 bool is_write)
{
	struct vfio_device *dev = df->device;
	uint32_t index = (uint32_t)(pos >> REGION_SHIFT);
	uint64_t off = pos & REGION_OFFSET_MASK, size;
	uint8_t bounce[VFIO_BAR0_SIZE];
	uint32_t flags;
	int rc;

	if (!__atomic_load_n(&df->access_granted, __ATOMIC_ACQUIRE))
		return -EINVAL;
	if ((pos >> REGION_SHIFT) >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;
	rc = region_describe(index, &size, &flags);
	if (rc)
		return rc;
	if (off >= size)
		return -EINVAL;
	len = MIN(len, (size_t)(size - off));
	if (!len)
		return 0;

	if (is_write) {
		if (ref_copy_from_user(bounce, (uintptr_t)ubuf, len))
			return -EFAULT;
		if (index == VFIO_PCI_BAR0_REGION_INDEX) {
			pthread_mutex_lock(&dev->lock);
			vfio_bar_write(dev, off, bounce, len);
			pthread_mutex_unlock(&dev->lock);
		}
		/* config space: writes are accepted and ignored */
		return (ssize_t)len;
	}
	if (index == VFIO_PCI_BAR0_REGION_INDEX) {
		pthread_mutex_lock(&dev->lock);
		vfio_bar_read(dev, off, bounce, len);
		pthread_mutex_unlock(&dev->lock);
	} else {
		config_read(dev, off, bounce, len);
	}
	if (ref_copy_to_user((uintptr_t)ubuf, bounce, len))
		return -EFAULT;
	return (ssize_t)len;
}

ssize_t vfio_device_pread(struct vfio_device_file *df, void *buf, size_t len, uint64_t off)
{
	return region_rw(df, buf, len, off, false);
}

ssize_t vfio_device_pwrite(struct vfio_device_file *df, const void *buf, size_t len,
			   uint64_t off)
{
	return region_rw(df, (void *)buf, len, off, true);
}

static ssize_t positioned_rw(struct vfio_device_file *df, void *buf, size_t len, bool is_write)
{
	ssize_t n;

	pthread_mutex_lock(&df->pos_lock);
	n = region_rw(df, buf, len, df->pos, is_write);
	if (n > 0)
		df->pos += (uint64_t)n;
	pthread_mutex_unlock(&df->pos_lock);
	return n;
}

ssize_t vfio_device_read(struct vfio_device_file *df, void *buf, size_t len)
{
	return positioned_rw(df, buf, len, false);
}

ssize_t vfio_device_write(struct vfio_device_file *df, const void *buf, size_t len)
{
	return positioned_rw(df, (void *)buf, len, true);
}
