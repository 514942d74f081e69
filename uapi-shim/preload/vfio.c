/* vfio.c — the VFIO nodes of the interposer: /dev/vfio/devices/vfioN (device cdevs),
 * /dev/vfio/N (groups) and /dev/vfio/vfio (the container), served by src/vfio.
 *
 * Owns: the mapping "one open file = one VFIO file object" for the three kinds, the device
 * files that VFIO_GROUP_GET_DEVICE_FD creates (a memfd named "ioasid:[vfio-device]" as the
 * placeholder, like the kernel's anon inode "[vfio-device]"), and the translation of fd numbers
 * found inside ioctl structs (VFIO_DEVICE_BIND_IOMMUFD's iommufd, VFIO_GROUP_SET_CONTAINER's
 * fd) into contexts, which src/vfio asks for through struct vfio_files at the point where the
 * kernel calls fdget(): src/vfio never sees the shim.
 *
 *   node                       open                 ioctl                read/write, pread/pwrite
 *   /dev/vfio/devices/vfioN    vfio_cdev_open(N)    vfio_device_ioctl    the device's regions
 *   /dev/vfio/N                vfio_group_open(N)   vfio_group_ioctl     (none: EINVAL)
 *   /dev/vfio/vfio             vfio_container_open  ioasid_ctx_ioctl     (none: EINVAL)
 *
 * N is whatever the platform topology says; a node whose N the topology lacks fails to open
 * with ENOENT (and a message), as a missing node does. Only canonical decimal N match
 * ("vfio07" is not a node and goes to the real open()).
 *
 * Positional I/O (pread/pwrite on a device fd) needs interpose.c to route the positional calls
 * to shim_file_ops.pread/.pwrite; read()/write() use the file's own position.
 *
 * Locking: none of its own; everything runs inside the fork gate with a file reference held.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim.h"

#include <ioasid/ioasid.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vfio/vfio.h"

#define PREFIX_CDEV  "/dev/vfio/devices/vfio"
#define PREFIX_GROUP "/dev/vfio/"

/* "123" → 123; false unless canonical decimal (no sign, no leading zero) within u32. */
static bool parse_index(const char *s, uint32_t *out)
{
	unsigned long v = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > UINT32_MAX)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* shim_node_open() hands the node's own path ("/dev/vfio/N") to the open function, not the
 * path that matched; the match function keeps the latter for this thread, and the open that
 * follows it in the same thread (interpose.c: lookup, then open) reads it back. A path that
 * names the index itself is used directly. */
static __thread char matched_path[64];

static const char *node_index_path(const char *path, const char *prefix, uint32_t *n)
{
	if (!strncmp(path, prefix, strlen(prefix)) && parse_index(path + strlen(prefix), n))
		return path;
	if (!strncmp(matched_path, prefix, strlen(prefix)) &&
	    parse_index(matched_path + strlen(prefix), n))
		return matched_path;
	return NULL;
}

static bool match_prefix_index(const char *path, const char *prefix)
{
	uint32_t n;

	if (strncmp(path, prefix, strlen(prefix)) || !parse_index(path + strlen(prefix), &n))
		return false;
	snprintf(matched_path, sizeof(matched_path), "%s", path);
	return true;
}

/* ---- the file table as src/vfio sees it -------------------------------------------------- */

static const struct shim_file_ops vfio_device_fops;
static const struct shim_file_ops vfio_container_fops;

static int files_get(void *data, int fd, struct vfio_fd_ref *ref)
{
	struct shim_file *file;
	int err;

	(void)data;
	memset(ref, 0, sizeof(*ref));
	file = shim_fget(fd, &err);
	if (!file) {
		if (err)
			return err;
		/* Not ours: an open file of another kind (EBADFD later), or no file (EBADF). */
		if (fd < 0 || REAL(fcntl)(fd, F_GETFD) < 0)
			return -EBADF;
		ref->kind = VFIO_FD_OTHER;
		return 0;
	}
	ref->handle = file;
	if (file->ops == &vfio_container_fops) {
		ref->kind = VFIO_FD_CONTAINER;
		ref->ctx = file->priv;
	} else if (file->ops->name && !strcmp(file->ops->name, "iommufd") && file->priv) {
		ref->kind = VFIO_FD_IOMMUFD;
		ref->ctx = file->priv;
	} else {
		ref->kind = VFIO_FD_OTHER;
	}
	return 0;
}

static void files_put(void *data, struct vfio_fd_ref *ref)
{
	(void)data;
	if (ref->handle)
		shim_fput(ref->handle);
	ref->handle = NULL;
}

/* A device fd from VFIO_GROUP_GET_DEVICE_FD: O_RDWR, close-on-exec, like the kernel's. */
static int files_install_device(void *data, struct vfio_device_file *df)
{
	struct shim_file *file;
	int fd, rc;

	(void)data;
	file = shim_file_alloc();
	if (!file) {
		vfio_device_close(df);
		return -ENOMEM;
	}
	file->ops = &vfio_device_fops;
	file->priv = df;
	file->open_flags = O_RDWR | O_CLOEXEC;
	snprintf(file->path, sizeof(file->path), "[vfio-device]");
	fd = memfd_create("ioasid:[vfio-device]", MFD_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		shim_file_discard(file);
		vfio_device_close(df);
		return rc;
	}
	shim_file_publish(file);
	rc = shim_fd_install(fd, file); /* consumes the reference; on failure releases df */
	if (rc) {
		REAL(close)(fd);
		return rc;
	}
	SHIM_DBG(1, "VFIO_GROUP_GET_DEVICE_FD: device fd %d", fd);
	return fd;
}

static const struct vfio_files shim_vfio_files = {
	.get = files_get,
	.put = files_put,
	.install_device = files_install_device,
};

/* ---- device files ------------------------------------------------------------------------ */

static long device_ioctl(struct shim_file *file, unsigned long cmd, void *arg)
{
	return vfio_device_ioctl(file->priv, cmd, arg, &shim_vfio_files);
}

static ssize_t device_read(struct shim_file *file, void *buf, size_t len)
{
	return vfio_device_read(file->priv, buf, len);
}

static ssize_t device_write(struct shim_file *file, const void *buf, size_t len)
{
	return vfio_device_write(file->priv, buf, len);
}

static ssize_t device_pread(struct shim_file *file, void *buf, size_t len, off_t off)
{
	if (off < 0)
		return -EINVAL;
	return vfio_device_pread(file->priv, buf, len, (uint64_t)off);
}

static ssize_t device_pwrite(struct shim_file *file, const void *buf, size_t len, off_t off)
{
	if (off < 0)
		return -EINVAL;
	return vfio_device_pwrite(file->priv, buf, len, (uint64_t)off);
}

/* No region of the mock device can be mmapped (BAR0 must trap): vfio-pci says EINVAL. */
static int device_mmap(struct shim_file *file, void *addr, size_t len, int prot, int flags,
		       off_t offset, void **out)
{
	return -EINVAL;
}

static void device_release(struct shim_file *file)
{
	if (file->priv)
		vfio_device_close(file->priv);
	file->priv = NULL;
}

static const struct shim_file_ops vfio_device_fops = {
	.name = "vfio-device",
	.ioctl = device_ioctl,
	.read = device_read,
	.write = device_write,
	.pread = device_pread,
	.pwrite = device_pwrite,
	.mmap = device_mmap,
	.release = device_release,
};

bool vfio_cdev_node_match(const struct shim_node *node, const char *path)
{
	(void)node;
	return match_prefix_index(path, PREFIX_CDEV);
}

int vfio_cdev_node_open(const struct shim_node *node, const char *path, int flags,
			struct shim_file *file)
{
	struct vfio_device_file *df;
	uint32_t n;
	int rc;

	(void)node;
	(void)flags;
	path = node_index_path(path, PREFIX_CDEV, &n);
	if (!path)
		return -ENOENT;
	rc = vfio_cdev_open(n, &df);
	if (rc)
		return rc;
	snprintf(file->path, sizeof(file->path), "%s", path);
	file->ops = &vfio_device_fops;
	file->priv = df;
	return 0;
}

/* ---- group files ------------------------------------------------------------------------- */

static long group_ioctl(struct shim_file *file, unsigned long cmd, void *arg)
{
	return vfio_group_ioctl(file->priv, cmd, arg, &shim_vfio_files);
}

static void group_release(struct shim_file *file)
{
	if (file->priv)
		vfio_group_close(file->priv);
	file->priv = NULL;
}

static const struct shim_file_ops vfio_group_fops = {
	.name = "vfio-group",
	.ioctl = group_ioctl,
	.release = group_release,
};

bool vfio_group_node_match(const struct shim_node *node, const char *path)
{
	(void)node;
	return match_prefix_index(path, PREFIX_GROUP);
}

int vfio_group_node_open(const struct shim_node *node, const char *path, int flags,
			 struct shim_file *file)
{
	struct vfio_group_file *gf;
	uint32_t n;
	int rc;

	(void)node;
	(void)flags;
	path = node_index_path(path, PREFIX_GROUP, &n);
	if (!path)
		return -ENOENT;
	rc = vfio_group_open(n, &gf);
	if (rc)
		return rc;
	snprintf(file->path, sizeof(file->path), "%s", path);
	file->ops = &vfio_group_fops;
	file->priv = gf;
	return 0;
}

/* ---- the container ------------------------------------------------------------------------ */

static long container_ioctl(struct shim_file *file, unsigned long cmd, void *arg)
{
	return ioasid_ctx_ioctl(file->priv, cmd, arg);
}

static void container_release(struct shim_file *file)
{
	ioasid_ctx_close(file->priv);
	file->priv = NULL;
}

static const struct shim_file_ops vfio_container_fops = {
	.name = "vfio-container",
	.ioctl = container_ioctl,
	.release = container_release,
};

int vfio_container_node_open(const struct shim_node *node, const char *path, int flags,
			     struct shim_file *file)
{
	struct ioasid_ctx *ctx;
	int rc;

	(void)node;
	(void)path;
	(void)flags;
	rc = vfio_container_open(&ctx);
	if (rc)
		return rc;
	file->ops = &vfio_container_fops;
	file->priv = ctx;
	return 0;
}
