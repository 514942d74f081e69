/* backend_iommufd.c — the "ref-uapi" and "kernel" backends: an fd from open("/dev/iommu") and
 * the ioctls of <linux/iommufd.h>, exactly what a VMM issues. Under the LD_PRELOAD shim the
 * node is the reference's; without it, the running kernel's (backend.c checks which).
 *
 * Owns: the iommufd; the cdev fd of the one device it uses (/dev/vfio/devices/vfioN, device
 * from hostdev: opts.device or the first usable one), which is open exactly while the device
 * is bound (VFIO unbinds on close); and the attach handles.
 *
 *   IOAS ops   IOMMU_IOAS_ALLOC / MAP / UNMAP / COPY / OPTION(HUGE_PAGES) / DESTROY
 *   attach     the device: open its cdev, VFIO_DEVICE_BIND_IOMMUFD, VFIO_DEVICE_ATTACH_IOMMUFD_PT
 *              to the IOAS (the server allocates the domain); if there is no usable device
 *              (none, or it is already taken by another attach or by device_bind), a selftest
 *              mock domain (IOMMU_TEST_CMD / IOMMU_TEST_OP_MOCK_DOMAIN, CONFIG_IOMMUFD_TEST
 *              kernels and the reference); else -ENODEV with both reasons. detach undoes it:
 *              DETACH_PT and close, or IOMMU_DESTROY of the selftest object.
 *   device     VM start as a VMM does it: bind = open the cdev + BIND_IOMMUFD; attach/detach
 *              = ATTACH_PT/DETACH_PT; unbind = close. One device, so one bind at a time.
 *   no DMA     the uAPI gives no way to make a device do DMA or to read an IOTLB: no DMA,
 *              IOTLB_STATS or LAZY_INVAL capability (use "ref" for those).
 *
 * Capabilities are what the access path offers (MULTI_IOAS, COPY, HUGE_OPTION, DOMAIN,
 * DEVICE); whether this host has a device or the selftest is decided at open and reported by
 * attach / device_bind (-ENODEV with why), so the reason reaches the report.
 *
 * Threads: map/unmap/copy only read the fd. The rest is single-threaded per backend.
 */
#include "benchkit/backend_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "common/compiler.h"
#include "reference/selftest_abi.h"   /* IOMMU_TEST_CMD: the kernel's iommufd_test.h ABI */

#define FD_MAX_ATTACH 16
#define FD_OWNER_NONE (-1)
#define FD_OWNER_VM   FD_MAX_ATTACH   /* held by bench_be_device_bind */

enum fd_attach_kind { FD_ATT_FREE = 0, FD_ATT_DEVICE, FD_ATT_SELFTEST };

struct fd_attach {
	enum fd_attach_kind kind;
	uint32_t ioas;
	uint32_t stdev;                 /* FD_ATT_SELFTEST: the selftest object's ID */
};

struct be_fd {
	struct bench_be be;
	const char *who;                /* the backend's name, for messages */
	int fd;                         /* the iommufd */

	bool have_dev;
	struct bench_hostdev dev;
	char nodev_why[BENCH_WHY];
	bool have_selftest;             /* the server knows IOMMU_TEST_CMD */

	int devfd;                      /* the cdev while bound, else -1 */
	int dev_owner;                  /* FD_OWNER_NONE, FD_OWNER_VM or an attach handle */

	struct fd_attach att[FD_MAX_ATTACH];
};

static struct be_fd *to_fd(struct bench_be *be)
{
	return container_of(be, struct be_fd, be);
}

/* describe: the device (or "no device") until an attach, then what the latest attach attached
 * (a detach leaves it: the report reads it after a measurement's teardown). */
static void fd_describe_device(struct be_fd *f, const char *state)
{
	char cdev[16] = "no cdev";

	if (f->dev.cdev >= 0)
		snprintf(cdev, sizeof(cdev), "vfio%d", f->dev.cdev);
	snprintf(f->be.describe, sizeof(f->be.describe), "iommufd fd, device %s (%s)%s",
		 f->dev.name, cdev, state);
}

static void fd_describe_selftest(struct be_fd *f)
{
	snprintf(f->be.describe, sizeof(f->be.describe), "iommufd fd, selftest mock domain "
		 "attached");
}


/* ---- the device's cdev ------------------------------------------------------------------- */

static const char *fd_bind_hint(int err)
{
	switch (err) {
	case EPERM:
		return "another owner or a DMA-API driver in its group holds its DMA, or the "
		       "group has no MSI isolation";
	case EBUSY:
		return "its group is open through /dev/vfio/GROUP (legacy VFIO) or is resetting";
	case EINVAL:
		return "it is already bound to an iommufd";
	case ENOENT:
	case ENODEV:
		return "the device is gone or not bound to vfio-pci";
	default:
		return "see the kernel log (or the shim's stderr for the reference)";
	}
}

static int fd_cdev_bind(struct be_fd *f, char *why, size_t whylen)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = f->fd };
	char path[48];
	int devfd, err;

	if (f->dev.cdev < 0) {
		bench_be_why(why, whylen, "%s: device %s has no VFIO cdev (no vfio-dev/vfioN in "
			     "sysfs): the kernel lacks CONFIG_VFIO_DEVICE_CDEV (6.6+); use the "
			     "type1 backend", f->who, f->dev.name);
		return -ENODEV;
	}
	snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%d", f->dev.cdev);
	devfd = open(path, O_RDWR | O_CLOEXEC);
	if (devfd < 0) {
		err = errno;
		bench_be_why(why, whylen, "%s: open %s (device %s): %s: %s", f->who, path,
			     f->dev.name, strerror(err), fd_bind_hint(err));
		return -err;
	}
	if (ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind)) {
		err = errno;
		bench_be_why(why, whylen, "%s: VFIO_DEVICE_BIND_IOMMUFD of %s (device %s): %s: %s",
			     f->who, path, f->dev.name, strerror(err), fd_bind_hint(err));
		close(devfd);
		return -err;
	}
	f->devfd = devfd;
	return 0;
}

static void fd_cdev_unbind(struct be_fd *f)
{
	if (f->devfd >= 0)
		close(f->devfd);
	f->devfd = -1;
	f->dev_owner = FD_OWNER_NONE;
}

static int fd_cdev_attach(struct be_fd *f, uint32_t ioas, char *why, size_t whylen)
{
	struct vfio_device_attach_iommufd_pt cmd = { .argsz = sizeof(cmd), .pt_id = ioas };
	int err;

	if (!ioctl(f->devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd))
		return 0;
	err = errno;
	bench_be_why(why, whylen, "%s: VFIO_DEVICE_ATTACH_IOMMUFD_PT of device %s to IOAS %u: "
		     "%s%s", f->who, f->dev.name, ioas, strerror(err),
		     err == ENOENT ? ": no such IOAS, allocate it first" :
		     err == EINVAL ? ": the IOAS holds mappings the device's IOMMU cannot reach "
				     "(aperture or reserved ranges)" : "");
	return -err;
}

static int fd_cdev_detach(struct be_fd *f)
{
	struct vfio_device_detach_iommufd_pt cmd = { .argsz = sizeof(cmd) };

	return ioctl(f->devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &cmd) ? -errno : 0;
}

/* ---- open / close -------------------------------------------------------------------------- */

static int fd_issue(struct bench_be *be, unsigned long cmd, void *arg)
{
	return ioctl(to_fd(be)->fd, cmd, arg) ? -errno : 0;
}

static int fd_open(const struct bench_be_opts *opts, struct bench_be **out, char *why,
		   size_t whylen)
{
	struct iommu_test_cmd probe = { .size = sizeof(probe) };
	struct be_fd *f = calloc(1, sizeof(*f));
	int rc;

	if (!f) {
		bench_be_why(why, whylen, "%s: no memory for the backend (%zu bytes)",
			     bench_backend_name(opts->id), sizeof(*f));
		return -ENOMEM;
	}
	f->who = bench_backend_name(opts->id);
	f->devfd = -1;
	f->dev_owner = FD_OWNER_NONE;
	rc = bench_be_open_node(opts->id, &f->fd, why, whylen);
	if (rc) {
		free(f);
		return rc;
	}
	f->have_dev = !bench_be_pick_device(opts->id, opts->device, &f->dev, f->nodev_why,
					     sizeof(f->nodev_why));
	/* Op 0 is no test op: a server with the selftest answers EOPNOTSUPP, one without it
	 * does not know the ioctl (ENOTTY). */
	f->have_selftest = ioctl(f->fd, IOMMU_TEST_CMD, &probe) && errno != ENOTTY;
	f->be.issue = fd_issue;
	f->be.caps = BENCH_CAP_MULTI_IOAS | BENCH_CAP_COPY | BENCH_CAP_HUGE_OPTION |
		     BENCH_CAP_DOMAIN | BENCH_CAP_DEVICE;
	if (f->have_dev)
		fd_describe_device(f, "");
	else
		snprintf(f->be.describe, sizeof(f->be.describe), "iommufd fd, no device");
	*out = &f->be;
	return 0;
}

static void fd_close(struct bench_be *be)
{
	struct be_fd *f = to_fd(be);

	/* Closing the cdev unbinds the device; closing the iommufd frees every object. */
	fd_cdev_unbind(f);
	close(f->fd);
	free(f);
}

/* ---- attach: the device, else a selftest mock domain ---------------------------------------- */

/* Why the device cannot serve an attach now, into why. */
static void fd_device_unusable(struct be_fd *f, char *why, size_t whylen)
{
	if (!f->have_dev)
		bench_be_why(why, whylen, "%s", f->nodev_why);
	else if (f->dev_owner == FD_OWNER_VM)
		bench_be_why(why, whylen, "%s: device %s is bound by bench_be_device_bind: unbind "
			     "it first", f->who, f->dev.name);
	else
		bench_be_why(why, whylen, "%s: device %s is attached to IOAS %u (handle %d): "
			     "detach it first", f->who, f->dev.name, f->att[f->dev_owner].ioas,
			     f->dev_owner);
}

static int fd_attach(struct bench_be *be, uint32_t ioas, char *why, size_t whylen)
{
	struct be_fd *f = to_fd(be);
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = ioas,
	};
	char devwhy[BENCH_WHY];
	int slot, rc, err;

	for (slot = 0; slot < FD_MAX_ATTACH && f->att[slot].kind != FD_ATT_FREE; slot++)
		;
	if (slot == FD_MAX_ATTACH) {
		bench_be_why(why, whylen, "%s: %d attachments are open: detach one first", f->who,
			     FD_MAX_ATTACH);
		return -ENOSPC;
	}
	if (f->have_dev && f->dev_owner == FD_OWNER_NONE) {
		rc = fd_cdev_bind(f, devwhy, sizeof(devwhy));
		if (!rc) {
			rc = fd_cdev_attach(f, ioas, devwhy, sizeof(devwhy));
			if (rc)
				fd_cdev_unbind(f);
		}
		if (!rc) {
			f->att[slot] = (struct fd_attach){ .kind = FD_ATT_DEVICE, .ioas = ioas };
			f->dev_owner = slot;
			fd_describe_device(f, " attached");
			return slot;
		}
		if (!f->have_selftest) {
			bench_be_why(why, whylen, "%s", devwhy);
			return rc;
		}
	} else {
		fd_device_unusable(f, devwhy, sizeof(devwhy));
	}
	if (!f->have_selftest) {
		bench_be_why(why, whylen, "%s; and the server has no IOMMU_TEST_CMD for a mock "
			     "domain (a kernel without CONFIG_IOMMUFD_TEST)", devwhy);
		return -ENODEV;
	}
	if (ioctl(f->fd, IOMMU_TEST_CMD, &cmd)) {
		err = errno;
		bench_be_why(why, whylen, "%s: IOMMU_TEST_CMD MOCK_DOMAIN on IOAS %u: %s (the "
			     "device was not usable either: %s)", f->who, ioas, strerror(err),
			     devwhy);
		return -err;
	}
	f->att[slot] = (struct fd_attach){
		.kind = FD_ATT_SELFTEST, .ioas = ioas, .stdev = cmd.mock_domain.out_stdev_id,
	};
	fd_describe_selftest(f);
	return slot;
}

static int fd_detach(struct bench_be *be, int handle)
{
	struct be_fd *f = to_fd(be);
	struct fd_attach *a;
	int rc;

	if (handle < 0 || handle >= FD_MAX_ATTACH || f->att[handle].kind == FD_ATT_FREE)
		return -ENOENT;
	a = &f->att[handle];
	if (a->kind == FD_ATT_DEVICE) {
		rc = fd_cdev_detach(f);
		fd_cdev_unbind(f);
	} else {
		struct iommu_destroy cmd = { .size = sizeof(cmd), .id = a->stdev };

		rc = ioctl(f->fd, IOMMU_DESTROY, &cmd) ? -errno : 0;
	}
	a->kind = FD_ATT_FREE;
	return rc;
}

/* ---- VM start: the device the way a VMM opens it ------------------------------------------- */

static int fd_device_bind(struct bench_be *be, char *why, size_t whylen)
{
	struct be_fd *f = to_fd(be);
	int rc;

	if (!f->have_dev || f->dev_owner != FD_OWNER_NONE) {
		fd_device_unusable(f, why, whylen);
		return f->have_dev ? -EBUSY : -ENODEV;
	}
	rc = fd_cdev_bind(f, why, whylen);
	if (rc)
		return rc;
	f->dev_owner = FD_OWNER_VM;
	return 0;
}

static bool fd_vm_handle(struct be_fd *f, int dev)
{
	return dev == 0 && f->dev_owner == FD_OWNER_VM;
}

static int fd_device_attach(struct bench_be *be, int dev, uint32_t ioas, char *why,
			    size_t whylen)
{
	struct be_fd *f = to_fd(be);
	int rc;

	if (!fd_vm_handle(f, dev)) {
		bench_be_why(why, whylen, "%s: device handle %d is not bound: use the handle "
			     "bench_be_device_bind returned", f->who, dev);
		return -ENOENT;
	}
	rc = fd_cdev_attach(f, ioas, why, whylen);
	if (!rc)
		fd_describe_device(f, " attached");
	return rc;
}

static int fd_device_detach(struct bench_be *be, int dev)
{
	struct be_fd *f = to_fd(be);

	return fd_vm_handle(f, dev) ? fd_cdev_detach(f) : -ENOENT;
}

static void fd_device_unbind(struct bench_be *be, int dev)
{
	struct be_fd *f = to_fd(be);

	if (!fd_vm_handle(f, dev))
		return;
	fd_cdev_unbind(f);
}

const struct bench_be_ops bench_be_iommufd_ops = {
	.open = fd_open,
	.close = fd_close,
	.ioas_alloc = bench_ioas_alloc_op,
	.ioas_destroy = bench_ioas_destroy_op,
	.set_huge_pages = bench_ioas_huge_pages_op,
	.map = bench_ioas_map_op,
	.unmap = bench_ioas_unmap_op,
	.copy = bench_ioas_copy_op,
	.attach = fd_attach,
	.detach = fd_detach,
	.device_bind = fd_device_bind,
	.device_attach = fd_device_attach,
	.device_detach = fd_device_detach,
	.device_unbind = fd_device_unbind,
};
