/* vfio_group.c — VFIO group files (/dev/vfio/N) and containers (/dev/vfio/vfio): the kernel's
 * drivers/vfio/group.c, with the container served by an iommufd context (container.c's role is
 * played by reference/vfio_compat.c, as with CONFIG_IOMMUFD_VFIO_CONTAINER).
 *
 * Owns: struct vfio_group (one per open group in this process) and its container link.
 *
 * Rules (kernel facts):
 *  - A group opens once at a time (EBUSY), and not while one of its devices is bound through its
 *    cdev; a cdev bind is refused while the group is open (platform_vfio_group_open/_cdev_bind).
 *    Device files from GET_DEVICE_FD hold the group: it stays open until they are closed too.
 *  - GET_STATUS: CONTAINER_SET|VIABLE once a container or iommufd is set; otherwise VIABLE when
 *    nobody holds the group's DMA (no DMA-API driver, no user owner). With an iommufd the claim
 *    happens per device at GET_DEVICE_FD, so VIABLE can be set and GET_DEVICE_FD still fail.
 *  - SET_CONTAINER: fd not open → EBADF; a container already set → EINVAL; a container fd claims
 *    the group for the container's context (EPERM, with the device and driver that prevent it);
 *    an iommufd fd claims nothing yet; anything else → EBADFD. Either way the context gets a
 *    compat IOAS (ref_vfio_compat_ioas_create).
 *  - UNSET_CONTAINER: none set → EINVAL; a container with device files open → EBUSY.
 *  - GET_DEVICE_FD: the name (up to 4 KiB, NUL-terminated: else EINVAL) is a device of the group
 *    served by VFIO, optionally followed by " vf_token=<uuid>" (anything else: EINVAL); unknown →
 *    ENODEV; no container → EINVAL. The first open binds the device to the container's context
 *    and attaches its RID to the compat IOAS; later opens share that.
 *
 * Locking: group->lock (the kernel's group_lock) guards everything in the group; device locks
 * nest inside it.
 */
#define IOASID_VFIO_INTERNAL
#include "vfio/vfio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/vfio.h>

#include "platform/platform.h"
#include "reference/device.h"
#include "reference/ref_private.h" /* uaccess helpers and the allocator only */

#ifndef offsetofend
#define offsetofend(T, m) (offsetof(T, m) + sizeof(((T *)0)->m))
#endif

#define DEVICE_NAME_MAX 4096 /* strndup_user(arg, PAGE_SIZE) */

struct vfio_group {
	struct platform *plat;
	uint32_t index;                  /* in the topology */
	uint32_t id;                     /* N of /dev/vfio/N */
	bool emulated;                   /* only software-table devices: no DMA ownership */
	pthread_mutex_t lock;
	uint32_t refs;                   /* the group fd + device files from it */
	uint32_t device_users;           /* device files from it */
	enum vfio_fd_kind kind;          /* VFIO_FD_OTHER: no container set */
	struct ioasid_ctx *ctx;          /* the container's or iommufd's context (a reference) */
	bool claimed;                    /* a container claimed the group at SET_CONTAINER */
};

struct vfio_group_file {
	struct vfio_group *group;
};

int vfio_container_open(struct ioasid_ctx **out)
{
	return ref_vfio_container_ctx_open(out);
}

/* ---- open / close ------------------------------------------------------------------------------ */

static void describe_group_devices(struct platform *p, uint32_t gidx, char *buf, size_t len)
{
	const struct plat_topology *t = platform_topology(p);
	size_t n = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i != t->nr_devices && n < len; i++) {
		int drv;

		if (t->devices[i].group != gidx)
			continue;
		drv = platform_device_driver(p, i);
		n += (size_t)snprintf(buf + n, len - n, "%s%s (%s)", n ? ", " : "",
				      t->devices[i].name, drv < 0 ? "no driver" : t->drivers[drv].name);
	}
}

int vfio_group_open(uint32_t group_id, struct vfio_group_file **out)
{
	const struct plat_topology *t;
	struct vfio_group_file *gf;
	struct vfio_group *group;
	char why[256] = "", devs[512];
	bool served = false, emulated = true;
	struct platform *p;
	int gidx, rc;

	rc = platform_default(&p);
	if (rc)
		return rc;
	t = platform_topology(p);
	gidx = plat_topology_find_group_id(t, group_id);
	if (gidx < 0) {
		vfio_error("/dev/vfio/%u: no IOMMU group %u on this platform (%s): list the groups "
			   "with ioasid-platform show", group_id, group_id, t->source);
		return -ENOENT;
	}
	for (uint32_t i = 0; i != t->nr_devices; i++) {
		if (t->devices[i].group != (uint32_t)gidx)
			continue;
		if (vfio_device_registered(p, i))
			served = true;
		if (!t->devices[i].sw_table)
			emulated = false;
	}
	if (!served) {
		describe_group_devices(p, (uint32_t)gidx, devs, sizeof(devs));
		vfio_error("/dev/vfio/%u: no device of group %u is bound to vfio-pci (%s), so the "
			   "node does not exist: bind one (ioasid-platform bind BDF vfio-pci)",
			   group_id, group_id, devs);
		return -ENOENT;
	}
	rc = platform_vfio_group_open(p, (uint32_t)gidx, why, sizeof(why));
	if (rc) {
		vfio_error("/dev/vfio/%u: open refused (%s): %s", group_id, strerror(-rc),
			   why[0] ? why : "the group is open already or a device of it is bound "
					  "through its cdev; close that first");
		return rc;
	}
	group = ioasid_zalloc(sizeof(*group));
	gf = ioasid_zalloc(sizeof(*gf));
	if (!group || !gf) {
		ioasid_free(group);
		ioasid_free(gf);
		platform_vfio_group_close(p, (uint32_t)gidx);
		return -ENOMEM;
	}
	group->plat = p;
	group->index = (uint32_t)gidx;
	group->id = group_id;
	group->emulated = emulated;
	group->refs = 1;
	pthread_mutex_init(&group->lock, NULL);
	gf->group = group;
	*out = gf;
	return 0;
}

/* Under group->lock. */
static void group_detach_container(struct vfio_group *group)
{
	if (!group->ctx)
		return;
	if (group->claimed)
		ref_vfio_compat_group_release(group->ctx, group->plat, group->index);
	ioasid_ctx_put(group->ctx);
	group->ctx = NULL;
	group->claimed = false;
	group->kind = VFIO_FD_OTHER;
}

static void group_put(struct vfio_group *group)
{
	bool last;

	pthread_mutex_lock(&group->lock);
	last = --group->refs == 0;
	if (last)
		group_detach_container(group);
	pthread_mutex_unlock(&group->lock);
	if (!last)
		return;
	platform_vfio_group_close(group->plat, group->index);
	pthread_mutex_destroy(&group->lock);
	ioasid_free(group);
}

void vfio_group_close(struct vfio_group_file *gf)
{
	group_put(gf->group);
	ioasid_free(gf);
}

void vfio_group_device_closed(struct vfio_group *group, struct vfio_device_file *df)
{
	struct vfio_device *dev = df->device;

	pthread_mutex_lock(&group->lock);
	pthread_mutex_lock(&dev->lock);
	if (--dev->open_count == 0)
		vfio_device_last_close(dev);
	pthread_mutex_unlock(&dev->lock);
	group->device_users--;
	pthread_mutex_unlock(&group->lock);
	group_put(group);
}

/* ---- ioctls ------------------------------------------------------------------------------------ */

/* Is the group free for a user: no DMA-API driver in it, nobody owning its DMA. */
static bool group_viable(struct vfio_group *group)
{
	struct plat_state_snapshot *snap;
	bool viable;

	if (!platform_group_viable(group->plat, group->index, NULL, 0))
		return false;
	snap = ioasid_zalloc(sizeof(*snap));
	if (!snap)
		return false;
	viable = platform_snapshot(group->plat, snap) == 0 &&
		 snap->groups[group->index].owner_cnt == 0;
	ioasid_free(snap);
	return viable;
}

static long ioctl_get_status(struct vfio_group *group, void *arg)
{
	const size_t minsz = offsetofend(struct vfio_group_status, flags);
	struct vfio_group_status status;

	if (ref_copy_from_user(&status, (uintptr_t)arg, minsz))
		return -EFAULT;
	if (status.argsz < minsz)
		return -EINVAL;
	status.flags = 0;
	pthread_mutex_lock(&group->lock);
	if (group->ctx)
		status.flags |= VFIO_GROUP_FLAGS_CONTAINER_SET | VFIO_GROUP_FLAGS_VIABLE;
	else if (group_viable(group))
		status.flags |= VFIO_GROUP_FLAGS_VIABLE;
	pthread_mutex_unlock(&group->lock);
	return ref_copy_to_user((uintptr_t)arg, &status, minsz) ? -EFAULT : 0;
}

static long ioctl_set_container(struct vfio_group *group, void *arg,
				const struct vfio_files *files)
{
	struct vfio_fd_ref ref = { 0 };
	char why[256] = "";
	uint32_t ioas_id;
	bool claimed = false;
	int32_t fd;
	int rc;

	if (ref_copy_from_user(&fd, (uintptr_t)arg, sizeof(fd)))
		return -EFAULT;
	rc = files->get(files->data, fd, &ref);
	if (rc)
		return rc;

	pthread_mutex_lock(&group->lock);
	if (group->ctx) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (ref.kind != VFIO_FD_CONTAINER && ref.kind != VFIO_FD_IOMMUFD) {
		rc = -EBADFD; /* neither a container nor an iommufd */
		goto out_unlock;
	}
	if (ref.kind == VFIO_FD_CONTAINER && !group->emulated) {
		rc = ref_vfio_compat_group_claim(ref.ctx, group->plat, group->index, why,
						 sizeof(why));
		if (rc) {
			vfio_error("group %u: VFIO_GROUP_SET_CONTAINER refused (%s): %s", group->id,
				   strerror(-rc), why[0] ? why : "another user owns the group's DMA");
			goto out_unlock;
		}
		claimed = true;
	}
	rc = ref_vfio_compat_ioas_create(ref.ctx, &ioas_id);
	if (rc) {
		if (claimed)
			ref_vfio_compat_group_release(ref.ctx, group->plat, group->index);
		goto out_unlock;
	}
	ioasid_ctx_get(ref.ctx);
	group->ctx = ref.ctx;
	group->kind = ref.kind;
	group->claimed = claimed;
out_unlock:
	pthread_mutex_unlock(&group->lock);
	files->put(files->data, &ref);
	return rc;
}

static long ioctl_unset_container(struct vfio_group *group)
{
	int rc = 0;

	pthread_mutex_lock(&group->lock);
	if (!group->ctx)
		rc = -EINVAL;
	else if (group->kind == VFIO_FD_CONTAINER && group->device_users)
		rc = -EBUSY; /* the container still has users: the device files */
	else
		group_detach_container(group);
	pthread_mutex_unlock(&group->lock);
	return rc;
}

/* strndup_user(arg, PAGE_SIZE): -EFAULT, or -EINVAL without a NUL in the first 4 KiB. */
static int get_user_name(void *arg, char *buf)
{
	for (size_t i = 0; i != DEVICE_NAME_MAX; i++) {
		if (ref_copy_from_user(&buf[i], (uintptr_t)arg + i, 1))
			return -EFAULT;
		if (!buf[i])
			return 0;
	}
	return -EINVAL;
}

static bool is_uuid(const char *s)
{
	for (int i = 0; i != 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		char c = s[i];

		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
					 (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

/* vfio_pci_core_match(): 1 match, 0 no match, -EINVAL for options it does not understand. */
static int match_device_name(const char *dev_name, const char *buf)
{
	size_t n = strlen(dev_name);
	bool vf_token = false;

	if (strncmp(dev_name, buf, n))
		return 0;
	buf += n;
	if (!*buf)
		return 1;
	if (*buf != ' ')
		return 0;
	while (*buf) {
		if (*buf == ' ') {
			buf++;
			continue;
		}
		if (!vf_token && !strncmp(buf, "vf_token=", 9)) {
			buf += 9;
			if (strlen(buf) < 36 || !is_uuid(buf))
				return -EINVAL;
			buf += 36;
			vf_token = true;
			continue;
		}
		return -EINVAL;
	}
	return 1;
}

static long ioctl_get_device_fd(struct vfio_group *group, void *arg,
				const struct vfio_files *files)
{
	const struct plat_topology *t = platform_topology(group->plat);
	struct vfio_device_file *df;
	struct vfio_device *dev;
	char *name, devs[512];
	int found = -1, rc, fd;

	name = ioasid_zalloc(DEVICE_NAME_MAX);
	if (!name)
		return -ENOMEM;
	rc = get_user_name(arg, name);
	if (rc)
		goto out_free;
	for (uint32_t i = 0; i != t->nr_devices; i++) {
		if (t->devices[i].group != group->index || !vfio_device_registered(group->plat, i))
			continue;
		rc = match_device_name(t->devices[i].name, name);
		if (rc < 0)
			goto out_free;
		if (rc > 0) {
			found = (int)i;
			break;
		}
	}
	if (found < 0) {
		describe_group_devices(group->plat, group->index, devs, sizeof(devs));
		vfio_error("group %u: VFIO_GROUP_GET_DEVICE_FD \"%.64s\": no such VFIO device in the "
			   "group (its devices: %s); pass the name of one bound to vfio-pci",
			   group->id, name, devs);
		rc = -ENODEV;
		goto out_free;
	}

	rc = vfio_device_get(group->plat, (uint32_t)found, &dev);
	if (rc)
		goto out_free;
	df = vfio_device_file_alloc(dev);
	if (!df) {
		vfio_device_put(dev);
		rc = -ENOMEM;
		goto out_free;
	}

	pthread_mutex_lock(&group->lock);
	if (!group->ctx) {
		vfio_error("group %u: VFIO_GROUP_GET_DEVICE_FD %s: the group has no container: "
			   "VFIO_GROUP_SET_CONTAINER first", group->id, dev->name);
		rc = -EINVAL;
		goto out_unlock;
	}
	pthread_mutex_lock(&dev->lock);
	if (dev->cdev_bound) {
		rc = -EBUSY; /* excluded by the platform; kept as a guard */
	} else if (dev->open_count == 0) {
		rc = vfio_device_first_open(dev, group->ctx, true);
	}
	if (!rc)
		dev->open_count++;
	pthread_mutex_unlock(&dev->lock);
	if (rc)
		goto out_unlock;
	df->group = group;
	df->access_granted = true;
	group->refs++;
	group->device_users++;
	pthread_mutex_unlock(&group->lock);

	/* The fd owns the file from here on, also when giving it one fails. */
	fd = files->install_device(files->data, df);
	ioasid_free(name);
	return fd;

out_unlock:
	pthread_mutex_unlock(&group->lock);
	vfio_device_close(df); /* not opened: frees the file and drops the device */
out_free:
	ioasid_free(name);
	return rc;
}

long vfio_group_ioctl(struct vfio_group_file *gf, unsigned long cmd, void *arg,
		      const struct vfio_files *files)
{
	struct vfio_group *group = gf->group;

	switch ((unsigned int)cmd) {
	case VFIO_GROUP_GET_DEVICE_FD:
		return ioctl_get_device_fd(group, arg, files);
	case VFIO_GROUP_GET_STATUS:
		return ioctl_get_status(group, arg);
	case VFIO_GROUP_SET_CONTAINER:
		return ioctl_set_container(group, arg, files);
	case VFIO_GROUP_UNSET_CONTAINER:
		return ioctl_unset_container(group);
	default:
		return -ENOTTY;
	}
}
