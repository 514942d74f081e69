/* nodes.c — the device-node table and the one open path that serves every node.
 *
 * Owns: shim_nodes[] ({path, match, open_fn}), the path normaliser, the placeholder fds.
 *
 * What is matched (and what is not). A path names a node when it is absolute and, after
 * collapsing repeated '/' and dropping "." components, equals the node's path: "/dev/iommu",
 * "//dev//iommu" and "/dev/./iommu" all match. Not matched (the call goes to the real open(),
 * which on a host without the node fails with ENOENT): relative paths (also with a dirfd that
 * names /dev), paths with ".." components, symlinks to a node, a trailing '/' or "/.", and
 * fopen()/freopen() (glibc opens those internally, past the interposer). This keeps the check
 * cheap and never touches the file system on the open path of other files.
 *
 * The placeholder. A shim fd is a real kernel fd: a memfd named "ioasid:<node path>" (so
 * /proc/self/fd shows "/memfd:ioasid:/dev/iommu (deleted)"), created with the caller's
 * O_CLOEXEC, O_NONBLOCK and access mode, at the lowest free fd number as open() promises.
 * fd numbers therefore never collide with the program's own, and F_GETFD/F_SETFL/close_range
 * and exec act on it as the kernel acts on any fd.
 *
 * Locking: the table is constant; shim_node_open() runs the node's open_fn inside the fork gate.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* To add a node: one line here and a `struct shim_file_ops` next to its open function. */
static const struct shim_node shim_nodes[] = {
	{ .path = "/dev/iommu",  .open = iommufd_node_open },
	{ .path = "/dev/ioasid", .open = iommufd_node_open }, /* the 2021 RFC's name for it */
	{ .path = "/dev/vfio/vfio", .open = vfio_container_node_open },
	{ .path = "/dev/vfio/devices/vfioN", .match = vfio_cdev_node_match, .open = vfio_cdev_node_open },
	{ .path = "/dev/vfio/N", .match = vfio_group_node_match, .open = vfio_group_node_open },
	{ .path = "/proc/self/task/TID/fail-nth", .match = failnth_node_match,
	  .open = failnth_node_open },
};

#define NODE_PATH_MAX 64

/* Collapse "//" and drop "." components of an absolute path. false: not a candidate. */
static bool path_normalise(const char *in, char *out, size_t outsz)
{
	bool last_was_dot = false;
	size_t n = 0;
	const char *p = in;

	if (p[0] != '/')
		return false;
	while (*p) {
		const char *comp;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		comp = p;
		while (*p && *p != '/')
			p++;
		len = (size_t)(p - comp);
		last_was_dot = len == 1 && comp[0] == '.';
		if (last_was_dot)
			continue;
		if (len == 2 && comp[0] == '.' && comp[1] == '.')
			return false;
		if (n + 1 + len + 1 > outsz)
			return false;
		out[n++] = '/';
		memcpy(out + n, comp, len);
		n += len;
	}
	/* "/dev/iommu/" and "/dev/iommu/." treat the node as a directory: the kernel says ENOTDIR,
	 * and so does the real open() they are left to. */
	if (n == 0 || last_was_dot || in[strlen(in) - 1] == '/')
		return false;
	out[n] = '\0';
	return true;
}

const struct shim_node *shim_node_lookup(int dirfd, const char *path)
{
	char norm[NODE_PATH_MAX];
	size_t i;

	(void)dirfd; /* an absolute path ignores dirfd, relative ones are never matched */
	if (!path || path[0] != '/')
		return NULL;
	/* Cheap reject: every node lives under /dev, but the fail-nth files. */
	if (!strstr(path, "dev") && !strstr(path, "fail-nth"))
		return NULL;
	if (!path_normalise(path, norm, sizeof(norm)))
		return NULL;
	for (i = 0; i < sizeof(shim_nodes) / sizeof(shim_nodes[0]); i++) {
		const struct shim_node *node = &shim_nodes[i];

		if (node->match ? node->match(node, norm) : strcmp(norm, node->path) == 0)
			return node;
	}
	return NULL;
}

/* A memfd standing for the node, with the caller's access mode and flags, at the lowest free
 * fd. memfd_create() only knows CLOEXEC and always opens O_RDWR, so another access mode or
 * O_NONBLOCK is obtained by reopening it through /proc/self/fd and moving the result onto the
 * memfd's number. Without /proc the memfd stays O_RDWR (reads and writes are refused by the shim
 * anyway, with the errno the access mode calls for). */
static int placeholder_create(const char *node_path, int flags)
{
	int cloexec = flags & O_CLOEXEC;
	int accmode = flags & O_ACCMODE;
	char label[16 + NODE_PATH_MAX], proc[48];
	int mfd, fd;

	snprintf(label, sizeof(label), "ioasid:%s", node_path);
	mfd = memfd_create(label, cloexec ? MFD_CLOEXEC : 0);
	if (mfd < 0)
		return -errno;
	if (accmode == O_RDWR && !(flags & O_NONBLOCK))
		return mfd;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", mfd);
	fd = REAL(openat)(AT_FDCWD, proc, accmode | (flags & (O_NONBLOCK | O_CLOEXEC)));
	if (fd >= 0) {
		if (REAL(dup3)(fd, mfd, cloexec) < 0) {
			REAL(close)(fd);
			goto fallback;
		}
		REAL(close)(fd);
		return mfd;
	}
fallback:
	if (flags & O_NONBLOCK)
		REAL(fcntl)(mfd, F_SETFL, O_NONBLOCK);
	return mfd;
}

/* O_PATH opens give a path-only fd in the kernel: no ioctl (EBADF), no read/write. A plain
 * O_PATH placeholder that the shim does not track gives exactly that. */
static int placeholder_opath(const char *node_path, int flags)
{
	char label[16 + NODE_PATH_MAX], proc[48];
	int mfd, fd;

	snprintf(label, sizeof(label), "ioasid:%s", node_path);
	mfd = memfd_create(label, MFD_CLOEXEC);
	if (mfd < 0)
		return -errno;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", mfd);
	fd = REAL(openat)(AT_FDCWD, proc, O_PATH | (flags & O_CLOEXEC));
	if (fd < 0) {
		int err = errno;

		REAL(close)(mfd);
		return -err;
	}
	if (REAL(dup3)(fd, mfd, flags & O_CLOEXEC) >= 0) {
		REAL(close)(fd);
		return mfd;
	}
	REAL(close)(mfd);
	return fd;
}

int shim_node_open(const struct shim_node *node, const char *path, int flags)
{
	struct shim_file *file;
	int fd, rc;

	(void)path;
	/* What the kernel answers for these flags on a character device that exists. */
	if (flags & O_DIRECTORY) /* also O_TMPFILE */
		return -ENOTDIR;
	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
		return -EEXIST;
	if (flags & O_PATH)
		return placeholder_opath(node->path, flags);

	file = shim_file_alloc();
	if (!file)
		return -ENOMEM;
	file->open_flags = flags;
	snprintf(file->path, sizeof(file->path), "%s", node->path);

	shim_gate_enter();
	rc = node->open(node, node->path, flags, file);
	if (rc) {
		shim_gate_exit();
		shim_file_discard(file);
		return rc;
	}
	shim_file_publish(file);

	fd = placeholder_create(node->path, flags);
	if (fd < 0) {
		shim_fput(file); /* releases what open_fn set up */
		shim_gate_exit();
		return fd;
	}
	rc = shim_fd_install(fd, file); /* consumes our reference, also on failure */
	if (rc) {
		REAL(close)(fd);
		shim_gate_exit();
		return rc;
	}
	shim_gate_exit();
	return fd;
}
