/* backend_type1.c — the "ref-type1" and "kernel-type1" backends: a legacy VFIO type1 container,
 * the sequence every pre-iommufd VMM runs (QEMU's hw/vfio/container.c): open /dev/vfio/vfio,
 * check the API and the TYPE1v2 extension (TYPE1 if v2 is missing), open /dev/vfio/GROUP,
 * check that the group is viable, VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU. Under the shim
 * the container is the reference's compat container; without it, the kernel's (type1 driver or
 * iommufd's compat container, whichever the kernel provides).
 *
 * Owns: the container and group fds for the backend's life, and the device fds handed out by
 * device_bind and attach. The group (opts.group, else the group of hostdev's device) joins the
 * container at open; attach opens the device (see t1_attach: that is when iommufd's compat
 * container gives it a domain), and a device "attach" after device_bind is a no-op.
 *
 * The model's limits, reported as capabilities: one address space per container (the IOAS
 * here; a second ioas_alloc is -EOPNOTSUPP, its ID is T1_IOAS_ID), every mapping at a caller-
 * chosen IOVA (FIXED_ONLY: non-fixed maps are -EOPNOTSUPP), no COPY, no HUGE_PAGES option, no
 * DMA or IOTLB view. destroy of the IOAS unmaps everything (VFIO_DMA_UNMAP_FLAG_ALL).
 *
 * Threads: map/unmap only read the fds and the IOAS state. The rest is single-threaded.
 */
#include "benchkit/backend_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "common/compiler.h"

#define T1_IOAS_ID 1u          /* the container's one address space */
#define T1_MAX_DEV 4

struct be_type1 {
	struct bench_be be;
	const char *who;
	int container, group;
	unsigned int group_id;
	int iommu_type;             /* VFIO_TYPE1v2_IOMMU or VFIO_TYPE1_IOMMU */
	bool ioas_live;

	bool have_dev;
	struct bench_hostdev dev;
	char nodev_why[BENCH_WHY];
	int devfd[T1_MAX_DEV];      /* device fds from GET_DEVICE_FD; -1: free */
};

static struct be_type1 *to_t1(struct bench_be *be)
{
	return container_of(be, struct be_type1, be);
}

/* ---- open / close -------------------------------------------------------------------------- */

/* Which group, and which device of it: opts.group and opts.device, else hostdev's pick. */
static int t1_resolve(struct be_type1 *t, const struct bench_be_opts *opts, char *why,
		      size_t whylen)
{
	int rc = bench_be_pick_device(opts->id, opts->device, &t->dev, t->nodev_why,
				      sizeof(t->nodev_why));

	if (rc && (opts->device || !opts->group)) {
		bench_be_why(why, whylen, "%s", t->nodev_why);
		return rc;
	}
	t->group_id = opts->group ? opts->group : t->dev.group;
	t->have_dev = !rc && t->dev.group == t->group_id;
	if (!rc && !t->have_dev) {
		if (opts->device) {
			bench_be_why(why, whylen, "%s: device %s is in group %u, not in group %u: "
				     "give a device of group %u, or no group", t->who, t->dev.name,
				     t->dev.group, opts->group, opts->group);
			return -EINVAL;
		}
		snprintf(t->nodev_why, sizeof(t->nodev_why), "%s: no device of group %u was "
			 "named: give one (opts.device, --device) to bind it", t->who, t->group_id);
	}
	return 0;
}

static int t1_open_group(struct be_type1 *t, char *why, size_t whylen)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[32];
	int err;

	snprintf(path, sizeof(path), "/dev/vfio/%u", t->group_id);
	t->group = open(path, O_RDWR | O_CLOEXEC);
	if (t->group < 0) {
		err = errno;
		bench_be_why(why, whylen, "%s: open %s: %s: %s", t->who, path, strerror(err),
			     err == ENOENT ? "no such IOMMU group, or none of its devices is bound "
					     "to vfio-pci" :
			     err == EBUSY ? "another process has the group open, or one of its "
					    "devices is bound through its cdev" :
			     err == EACCES || err == EPERM ? "run as root or give this user "
							     "access to the node" :
			     "check the group number");
		return -err;
	}
	if (ioctl(t->group, VFIO_GROUP_GET_STATUS, &status)) {
		err = errno;
		bench_be_why(why, whylen, "%s: VFIO_GROUP_GET_STATUS of %s: %s", t->who, path,
			     strerror(err));
		return -err;
	}
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		bench_be_why(why, whylen, "%s: group %u is not viable: a device in it is bound to "
			     "a driver that uses the DMA API; unbind it or bind it to vfio-pci",
			     t->who, t->group_id);
		return -EPERM;
	}
	if (ioctl(t->group, VFIO_GROUP_SET_CONTAINER, &t->container)) {
		err = errno;
		bench_be_why(why, whylen, "%s: VFIO_GROUP_SET_CONTAINER of group %u: %s%s", t->who,
			     t->group_id, strerror(err),
			     err == EPERM ? ": another owner holds the group's DMA" : "");
		return -err;
	}
	return 0;
}

static int t1_setup(struct be_type1 *t, const struct bench_be_opts *opts, char *why,
		    size_t whylen)
{
	int rc, api, err;

	rc = t1_resolve(t, opts, why, whylen);
	if (rc)
		return rc;
	rc = bench_be_open_node(opts->id, &t->container, why, whylen);
	if (rc)
		return rc;
	api = ioctl(t->container, VFIO_GET_API_VERSION);
	if (api != VFIO_API_VERSION) {
		bench_be_why(why, whylen, "%s: VFIO_GET_API_VERSION is %d, this program speaks %d: "
			     "the container is not VFIO's", t->who, api, VFIO_API_VERSION);
		return -EINVAL;
	}
	if (ioctl(t->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1) {
		t->iommu_type = VFIO_TYPE1v2_IOMMU;
	} else if (ioctl(t->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) == 1) {
		t->iommu_type = VFIO_TYPE1_IOMMU;
	} else {
		bench_be_why(why, whylen, "%s: the container offers neither TYPE1v2 nor TYPE1: "
			     "load vfio_iommu_type1 (modprobe vfio_iommu_type1)", t->who);
		return -EOPNOTSUPP;
	}
	rc = t1_open_group(t, why, whylen);
	if (rc)
		return rc;
	if (ioctl(t->container, VFIO_SET_IOMMU, t->iommu_type)) {
		err = errno;
		bench_be_why(why, whylen, "%s: VFIO_SET_IOMMU %s with group %u: %s", t->who,
			     t->iommu_type == VFIO_TYPE1v2_IOMMU ? "TYPE1v2" : "TYPE1",
			     t->group_id, strerror(err));
		return -err;
	}
	return 0;
}

static void t1_close_fds(struct be_type1 *t)
{
	for (int i = 0; i < T1_MAX_DEV; i++)
		if (t->devfd[i] >= 0)
			close(t->devfd[i]);
	/* Closing the last group fd takes the group out of the container. */
	if (t->group >= 0)
		close(t->group);
	if (t->container >= 0)
		close(t->container);
}

static int t1_open(const struct bench_be_opts *opts, struct bench_be **out, char *why,
		   size_t whylen)
{
	struct be_type1 *t = calloc(1, sizeof(*t));
	int rc;

	if (!t) {
		bench_be_why(why, whylen, "%s: no memory for the backend (%zu bytes)",
			     bench_backend_name(opts->id), sizeof(*t));
		return -ENOMEM;
	}
	t->who = bench_backend_name(opts->id);
	t->container = t->group = -1;
	for (int i = 0; i < T1_MAX_DEV; i++)
		t->devfd[i] = -1;
	rc = t1_setup(t, opts, why, whylen);
	if (rc) {
		t1_close_fds(t);
		free(t);
		return rc;
	}
	t->be.caps = BENCH_CAP_FIXED_ONLY | BENCH_CAP_DOMAIN | BENCH_CAP_DEVICE;
	if (t->have_dev)
		snprintf(t->be.describe, sizeof(t->be.describe), "type1 container, group %u, "
			 "device %s", t->group_id, t->dev.name);
	else
		snprintf(t->be.describe, sizeof(t->be.describe), "type1 container, group %u",
			 t->group_id);
	*out = &t->be;
	return 0;
}

static void t1_close(struct bench_be *be)
{
	struct be_type1 *t = to_t1(be);

	t1_close_fds(t);
	free(t);
}

/* ---- the address space --------------------------------------------------------------------- */

static bool t1_ioas_ok(const struct be_type1 *t, uint32_t ioas)
{
	return ioas == T1_IOAS_ID && t->ioas_live;
}

static int t1_ioas_alloc(struct bench_be *be, uint32_t *ioas)
{
	struct be_type1 *t = to_t1(be);

	if (t->ioas_live)
		return -EOPNOTSUPP;
	t->ioas_live = true;
	*ioas = T1_IOAS_ID;
	return 0;
}

static int t1_ioas_destroy(struct bench_be *be, uint32_t ioas)
{
	struct be_type1 *t = to_t1(be);
	struct vfio_iommu_type1_dma_unmap cmd = {
		.argsz = sizeof(cmd), .flags = VFIO_DMA_UNMAP_FLAG_ALL,
	};

	if (!t1_ioas_ok(t, ioas))
		return -ENOENT;
	if (ioctl(t->container, VFIO_IOMMU_UNMAP_DMA, &cmd))
		return -errno;
	t->ioas_live = false;
	return 0;
}

static int t1_map(struct bench_be *be, uint32_t ioas, uint64_t *iova, void *va, uint64_t len,
		  bool fixed)
{
	struct be_type1 *t = to_t1(be);
	struct vfio_iommu_type1_dma_map cmd = {
		.argsz = sizeof(cmd), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va, .iova = *iova, .size = len,
	};

	if (unlikely(!fixed))
		return -EOPNOTSUPP;
	if (unlikely(!t1_ioas_ok(t, ioas)))
		return -ENOENT;
	return ioctl(t->container, VFIO_IOMMU_MAP_DMA, &cmd) ? -errno : 0;
}

static int t1_unmap(struct bench_be *be, uint32_t ioas, uint64_t iova, uint64_t len,
		    uint64_t *unmapped)
{
	struct be_type1 *t = to_t1(be);
	struct vfio_iommu_type1_dma_unmap cmd = {
		.argsz = sizeof(cmd), .iova = iova, .size = len,
	};
	int rc;

	if (unlikely(!t1_ioas_ok(t, ioas)))
		rc = -ENOENT;
	else
		rc = ioctl(t->container, VFIO_IOMMU_UNMAP_DMA, &cmd) ? -errno : 0;
	if (unmapped)
		*unmapped = rc ? 0 : cmd.size;
	return rc;
}

/* ---- the group's domain and its device ------------------------------------------------------ */

static int t1_device_bind(struct bench_be *be, char *why, size_t whylen);
static void t1_device_unbind(struct bench_be *be, int dev);

/* A VMM opens the device (GET_DEVICE_FD) before it maps: the classic type1 driver attaches
 * the group's domain at SET_IOMMU already, but iommufd's compat container (and the
 * reference's, which follows it) attaches the device's RID only when its first file opens.
 * Until then maps are bookkeeping without page tables or pinning. So attach opens the device
 * and holds it (the handle is its slot); detach closes it. */
static int t1_attach(struct bench_be *be, uint32_t ioas, char *why, size_t whylen)
{
	struct be_type1 *t = to_t1(be);

	if (!t1_ioas_ok(t, ioas)) {
		bench_be_why(why, whylen, "%s: IOAS %u is not the container's address space: "
			     "allocate it with bench_be_ioas_alloc (it is %u)", t->who, ioas,
			     T1_IOAS_ID);
		return -ENOENT;
	}
	return t1_device_bind(be, why, whylen);
}

static int t1_detach(struct bench_be *be, int handle)
{
	if (handle < 0 || handle >= T1_MAX_DEV || to_t1(be)->devfd[handle] < 0)
		return -ENOENT;
	t1_device_unbind(be, handle);
	return 0;
}

static int t1_device_bind(struct bench_be *be, char *why, size_t whylen)
{
	struct be_type1 *t = to_t1(be);
	int slot, fd, err;

	if (!t->have_dev) {
		bench_be_why(why, whylen, "%s", t->nodev_why);
		return -ENODEV;
	}
	for (slot = 0; slot < T1_MAX_DEV && t->devfd[slot] >= 0; slot++)
		;
	if (slot == T1_MAX_DEV) {
		bench_be_why(why, whylen, "%s: %d device fds are open: unbind one first", t->who,
			     T1_MAX_DEV);
		return -ENOSPC;
	}
	fd = ioctl(t->group, VFIO_GROUP_GET_DEVICE_FD, t->dev.name);
	if (fd < 0) {
		err = errno;
		bench_be_why(why, whylen, "%s: VFIO_GROUP_GET_DEVICE_FD %s of group %u: %s%s",
			     t->who, t->dev.name, t->group_id, strerror(err),
			     err == ENOMEM ? ": raise RLIMIT_MEMLOCK (ulimit -l), the device's "
					     "domain pins what is mapped" : "");
		return -err;
	}
	t->devfd[slot] = fd;
	return slot;
}

static bool t1_dev_ok(const struct be_type1 *t, int dev)
{
	return dev >= 0 && dev < T1_MAX_DEV && t->devfd[dev] >= 0;
}

static int t1_device_attach(struct bench_be *be, int dev, uint32_t ioas, char *why,
			    size_t whylen)
{
	struct be_type1 *t = to_t1(be);

	if (!t1_dev_ok(t, dev)) {
		bench_be_why(why, whylen, "%s: device handle %d is not open: use the handle "
			     "bench_be_device_bind returned", t->who, dev);
		return -ENOENT;
	}
	if (!t1_ioas_ok(t, ioas)) {
		bench_be_why(why, whylen, "%s: IOAS %u is not the container's address space (it "
			     "is %u)", t->who, ioas, T1_IOAS_ID);
		return -ENOENT;
	}
	return 0;   /* the device's open attached it */
}

static int t1_device_detach(struct bench_be *be, int dev)
{
	return t1_dev_ok(to_t1(be), dev) ? 0 : -ENOENT;
}

static void t1_device_unbind(struct bench_be *be, int dev)
{
	struct be_type1 *t = to_t1(be);

	if (!t1_dev_ok(t, dev))
		return;
	close(t->devfd[dev]);
	t->devfd[dev] = -1;
}

const struct bench_be_ops bench_be_type1_ops = {
	.open = t1_open,
	.close = t1_close,
	.ioas_alloc = t1_ioas_alloc,
	.ioas_destroy = t1_ioas_destroy,
	.map = t1_map,
	.unmap = t1_unmap,
	.attach = t1_attach,
	.detach = t1_detach,
	.device_bind = t1_device_bind,
	.device_attach = t1_device_attach,
	.device_detach = t1_device_detach,
	.device_unbind = t1_device_unbind,
};
