/* iommufd.c — the /dev/iommu node (alias /dev/ioasid) of the interposer.
 *
 * Owns: the mapping "one open file = one reference context" and the process environment the
 * reference reads through the shim.
 *
 *   open     ioasid_ctx_open(); the context lives in file->priv
 *   ioctl    ioasid_ctx_ioctl(), whose 0 / -errno is the kernel's return value
 *   release  ioasid_ctx_close(), when the last fd and the last ioctl in flight are gone
 *   read/write/mmap: no methods, so the interposer answers EINVAL/EINVAL/ENODEV like the kernel
 *
 * Environment:
 *   IOASID_FAIL_NTH=N   read by ioasid_ctx_open() itself (include/ioasid/ioasid.h): it arms
 *                       fail-nth in the thread that opens the first context, before that
 *                       context's own allocation (N=1 makes the first open() fail with ENOMEM).
 *                       The shim's open() runs ioasid_ctx_open() in the caller's thread, so
 *                       that is the thread that called open("/dev/iommu") first.
 *   IOASID_TOPOLOGY=F   the platform topology file (set by `ioasid-run --topology F`) and
 *   IOASID_PLATFORM=N   the shared host name: read by the platform layer on first use
 *                       (src/platform/platform.h). A topology that does not load makes every
 *                       open fail with its errno; the reason (FILE:LINE) is printed once.
 *
 * Files the reference creates itself (fault queue fds, selftest access fds: real eventfds) are
 * installed in the shim's fd table through ioasid_anon_fd_set_hook(), so that the program's
 * read()/write()/close() on them reach the reference (anon_fops below); poll() works natively.
 *
 * Locking: the environment is parsed under pthread_once; contexts are thread-safe themselves.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim.h"

#include <ioasid/ioasid.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static long iommufd_ioctl(struct shim_file *file, unsigned long cmd, void *arg)
{
	return ioasid_ctx_ioctl(file->priv, cmd, arg);
}

static void iommufd_release(struct shim_file *file)
{
	ioasid_ctx_close(file->priv);
	file->priv = NULL;
}

static const struct shim_file_ops iommufd_fops = {
	.name = "iommufd",
	.ioctl = iommufd_ioctl,
	.release = iommufd_release,
};

/* ---- files created by the reference -------------------------------------------------------- */

static ssize_t anon_read(struct shim_file *file, void *buf, size_t len)
{
	return ioasid_fd_read((int)(intptr_t)file->priv, buf, len);
}

static ssize_t anon_write(struct shim_file *file, const void *buf, size_t len)
{
	return ioasid_fd_write((int)(intptr_t)file->priv, buf, len);
}

static void anon_release(struct shim_file *file)
{
	ioasid_fd_release((int)(intptr_t)file->priv);
}

static const struct shim_file_ops anon_fops = {
	.name = "iommufd-anon",
	.read = anon_read,
	.write = anon_write,
	.release = anon_release,
};

/* Called by the reference with every fd it creates: route the number to it. The fd is the
 * file's own placeholder (an eventfd), so poll and close act on it as on any fd. */
static void anon_install(int fd, const char *name)
{
	struct shim_file *file = shim_file_alloc();

	if (!file) {
		shim_err("%s fd %d: out of memory for its shim file: read/write on it will "
			 "reach the kernel's eventfd instead of the reference", name, fd);
		return;
	}
	file->ops = &anon_fops;
	file->priv = (void *)(intptr_t)fd;
	file->open_flags = O_RDWR;
	snprintf(file->path, sizeof(file->path), "anon:[%s]", name);
	shim_file_publish(file);
	if (shim_fd_install(fd, file))
		shim_err("%s fd %d: beyond the shim's fd table; read/write on it will not "
			 "reach the reference", name, fd);
}

/* ---- environment ------------------------------------------------------------------------- */

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static int env_error; /* -errno that every open returns, or 0 */

static int topology_check(const char *path)
{
	struct stat st;
	int fd, err;

	fd = REAL(open)(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		goto bad;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		REAL(close)(fd);
		err = EISDIR;
		goto bad;
	}
	REAL(close)(fd);
	return 0;
bad:
	shim_err("topology file %s: %s: check the path (IOASID_TOPOLOGY, or ioasid-run "
		 "--topology)", path, strerror(err));
	return -err;
}

static void env_parse(void)
{
	const char *s = getenv("IOASID_TOPOLOGY");

	ioasid_anon_fd_set_hook(anon_install);
	if (s && *s)
		env_error = topology_check(s);
	if (!env_error)
		env_error = ioasid_platform_check();
}

int iommufd_node_open(const struct shim_node *node, const char *path, int flags,
		      struct shim_file *file)
{
	struct ioasid_ctx *ctx = NULL;
	int rc;

	(void)node;
	(void)path;
	(void)flags;
	pthread_once(&env_once, env_parse);
	if (env_error)
		return env_error;
	rc = ioasid_ctx_open(&ctx);
	if (rc)
		return rc;
	file->ops = &iommufd_fops;
	file->priv = ctx;
	return 0;
}
