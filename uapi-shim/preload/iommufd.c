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
 *   IOASID_TOPOLOGY=F   the platform topology file (set by `ioasid-run --topology F`), checked
 *                       once, on the first open. The loader comes later; for now a missing or
 *                       unreadable F makes every open fail with its errno and a message naming
 *                       F, and a readable F is reported as not loaded yet (the built-in default
 *                       platform is used).
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
	shim_err("topology file %s: readable, but this build has no topology loader yet: "
		 "using the built-in default platform", path);
	return 0;
bad:
	shim_err("topology file %s: %s: check the path (IOASID_TOPOLOGY, or ioasid-run "
		 "--topology)", path, strerror(err));
	return -err;
}

static void env_parse(void)
{
	const char *s = getenv("IOASID_TOPOLOGY");

	if (s && *s)
		env_error = topology_check(s);
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
