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
 * Environment (read once, on the first open of the node):
 *   IOASID_FAIL_NTH=N   arms ioasid_fail_nth_set(N) in the thread that opens the first context,
 *                       just before that open (so N=1 fails the first context's allocation).
 *   IOASID_TOPOLOGY=F   the platform topology file (set by `ioasid-run --topology F`). The
 *                       loader comes later; for now a missing or unreadable F makes every open
 *                       fail with its errno and a message naming F, and a readable F is
 *                       reported as not loaded yet (the built-in default platform is used).
 * A malformed value is reported once on stderr and every open fails with EINVAL.
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
#include <limits.h>
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
static int env_error;             /* -errno that every open returns, or 0 */
static unsigned int env_fail_nth; /* 0: not armed */
static atomic_bool first_open_done;

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
	const char *s = getenv("IOASID_FAIL_NTH");
	int rc;

	if (s && *s) {
		char *end;
		unsigned long n;

		errno = 0;
		n = strtoul(s, &end, 10);
		if (errno || *end || s[0] == '-' || n > UINT_MAX) {
			shim_err("IOASID_FAIL_NTH=%s: not a count: give a whole number N >= 1 "
				 "(the Nth allocation fails) or 0 to disarm", s);
			env_error = -EINVAL;
		} else {
			env_fail_nth = (unsigned int)n;
		}
	}
	s = getenv("IOASID_TOPOLOGY");
	if (s && *s) {
		rc = topology_check(s);
		if (rc && !env_error)
			env_error = rc;
	}
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
	if (env_fail_nth && !atomic_exchange(&first_open_done, true)) {
		SHIM_DBG(1, "IOASID_FAIL_NTH=%u armed in this thread", env_fail_nth);
		ioasid_fail_nth_set(env_fail_nth);
	}
	rc = ioasid_ctx_open(&ctx);
	if (rc)
		return rc;
	file->ops = &iommufd_fops;
	file->priv = ctx;
	return 0;
}
