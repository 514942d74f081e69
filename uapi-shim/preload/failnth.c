/* failnth.c — the kernel's fault-injection files, served from the reference's fail-nth.
 *
 * A program tests its error paths on a kernel by making the Nth fault-injection point of its own
 * thread fail: it writes N to /proc/self/task/TID/fail-nth, makes the call, and reads the file
 * back, "0\n" meaning the failure happened (Documentation/fault-injection/fault-injection.rst).
 * Before that it enables the points under debugfs (failslab/, fail_page_alloc/). The kernel's
 * own iommufd_fail_nth selftest works that way. Under the shim the allocations that matter are
 * the reference's, and the reference has the same per-thread counter (ioasid_fail_nth_set/get:
 * its Nth allocation or object lookup fails), so:
 *
 *   /proc/self/task/TID/fail-nth, /proc/PID/task/TID/fail-nth (PID, TID: the caller's own) and
 *   /proc/thread-self/fail-nth  → a file whose read gives "%u\n" of what is left of the caller's
 *       counter and whose write of a number N arms it (0 disarms), parsed as the kernel's
 *       kstrtouint_from_user() parses it. Another thread's file is not served (the reference's
 *       counter is per thread and only the caller's own can be reached; the real open answers).
 *   opendir("/sys/kernel/debug") → a directory the shim makes, with failslab/ and
 *       fail_page_alloc/ holding the attribute files the selftest writes (ignore-gfp-wait,
 *       ignore-gfp-highmem, verbose, probability, times). Writes land there and change
 *       nothing: the reference's points are always enabled. The directory is
 *       $TMPDIR/ioasid-debugfs-PID, removed at exit.
 *
 * Counting differs from the kernel's: the kernel counts slab and page allocations, the reference
 * its allocations and object lookups. A sweep (N = 1, 2, ... until the call succeeds with the
 * counter unspent) reaches every failure point either way; the number of steps differs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ioasid/ioasid.h"

/* ---- /proc/.../fail-nth ---------------------------------------------------------------------- */

/* "%u" with nothing after it; false when s is not exactly a decimal number. */
static bool parse_id(const char *s, size_t len, unsigned long *out)
{
	char *end;

	if (!len || s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && (size_t)(end - s) == len;
}

bool failnth_node_match(const struct shim_node *node, const char *path)
{
	unsigned long pid, tid;
	const char *p, *slash;

	(void)node;
	if (strcmp(path, "/proc/thread-self/fail-nth") == 0)
		return true;
	if (strncmp(path, "/proc/", 6) != 0)
		return false;
	p = path + 6;
	if (strncmp(p, "self/", 5) == 0) {
		p += 5;
		pid = (unsigned long)getpid();
	} else {
		slash = strchr(p, '/');
		if (!slash || !parse_id(p, (size_t)(slash - p), &pid) || pid != (unsigned long)getpid())
			return false;
		p = slash + 1;
	}
	if (strncmp(p, "task/", 5) != 0)
		return false;
	p += 5;
	slash = strchr(p, '/');
	if (!slash || strcmp(slash, "/fail-nth") != 0 || !parse_id(p, (size_t)(slash - p), &tid))
		return false;
	return tid == (unsigned long)gettid();
}

static ssize_t failnth_pread(struct shim_file *file, void *buf, size_t len, off_t off)
{
	char text[16];
	int n;

	(void)file;
	if (off < 0)
		return -EINVAL;
	n = snprintf(text, sizeof(text), "%u\n", ioasid_fail_nth_get());
	if (off >= n)
		return 0;
	if (len > (size_t)(n - off))
		len = (size_t)(n - off);
	memcpy(buf, text + off, len);
	return (ssize_t)len;
}

/* read() advances the file position as the kernel's simple_read_from_buffer() does, so a
 * second read returns 0 (end of file); pread() does not. */
static ssize_t failnth_read(struct shim_file *file, void *buf, size_t len)
{
	off_t pos = (off_t)(intptr_t)file->priv;
	ssize_t n = failnth_pread(file, buf, len, pos);

	if (n > 0)
		file->priv = (void *)(intptr_t)(pos + n);
	return n;
}

/* kstrtouint_from_user(buf, count, 0): at most 34 bytes are looked at; an optional '+', a
 * number in base 0 (0x.. hex, 0.. octal, else decimal), at most one '\n'; EINVAL for anything
 * else, ERANGE above UINT_MAX. The whole count is consumed. */
static ssize_t failnth_pwrite(struct shim_file *file, const void *buf, size_t len, off_t off)
{
	char text[35], *s = text, *end;
	unsigned long long n;
	size_t k = len < sizeof(text) - 1 ? len : sizeof(text) - 1;

	(void)file;
	(void)off;
	memcpy(text, buf, k);
	text[k] = '\0';
	if (*s == '+')
		s++;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 0);
	if (*end == '\n')
		end++;
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || n > UINT_MAX)
		return -ERANGE;
	ioasid_fail_nth_set((unsigned int)n);
	return (ssize_t)len;
}

static ssize_t failnth_write(struct shim_file *file, const void *buf, size_t len)
{
	return failnth_pwrite(file, buf, len, 0);
}

static const struct shim_file_ops failnth_fops = {
	.name = "fail-nth",
	.read = failnth_read,
	.write = failnth_write,
	.pread = failnth_pread,
	.pwrite = failnth_pwrite,
};

int failnth_node_open(const struct shim_node *node, const char *path, int flags,
		      struct shim_file *file)
{
	(void)node;
	(void)path;
	(void)flags;
	file->ops = &failnth_fops;
	file->priv = (void *)(intptr_t)0; /* read() position */
	return 0;
}

/* ---- /sys/kernel/debug ----------------------------------------------------------------------- */

/* The stand-in's layout: each directory holds every attribute, with the kernel's defaults. */
static const char *const debugfs_dirs[] = { "failslab", "fail_page_alloc" };
static const char *const debugfs_attrs[] = { "ignore-gfp-wait", "ignore-gfp-highmem", "verbose",
					     "probability", "times" };
static const char *const debugfs_values[] = { "Y\n", "Y\n", "2\n", "0\n", "1\n" };
#define DEBUGFS_NDIRS  (sizeof(debugfs_dirs) / sizeof(debugfs_dirs[0]))
#define DEBUGFS_NATTRS (sizeof(debugfs_attrs) / sizeof(debugfs_attrs[0]))

static pthread_once_t debugfs_once = PTHREAD_ONCE_INIT;
static char debugfs_dir[PATH_MAX];
static pid_t debugfs_owner;

static void debugfs_remove(void)
{
	char cmd[PATH_MAX + 16];

	if (!debugfs_dir[0] || getpid() != debugfs_owner)
		return;
	/* Two levels, known names: no shell needed. */
	for (size_t d = 0; d < DEBUGFS_NDIRS; d++) {
		for (size_t a = 0; a < DEBUGFS_NATTRS; a++) {
			snprintf(cmd, sizeof(cmd), "%s/%s/%s", debugfs_dir, debugfs_dirs[d],
				 debugfs_attrs[a]);
			unlink(cmd);
		}
		snprintf(cmd, sizeof(cmd), "%s/%s", debugfs_dir, debugfs_dirs[d]);
		rmdir(cmd);
	}
	rmdir(debugfs_dir);
}

static void debugfs_make(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX + 64];

	snprintf(debugfs_dir, sizeof(debugfs_dir), "%s/ioasid-debugfs-%d",
		 tmp && *tmp ? tmp : "/tmp", (int)getpid());
	if (mkdir(debugfs_dir, 0700) && errno != EEXIST)
		goto fail;
	for (size_t d = 0; d < DEBUGFS_NDIRS; d++) {
		snprintf(path, sizeof(path), "%s/%s", debugfs_dir, debugfs_dirs[d]);
		if (mkdir(path, 0700) && errno != EEXIST)
			goto fail;
		for (size_t a = 0; a < DEBUGFS_NATTRS; a++) {
			int fd;

			snprintf(path, sizeof(path), "%s/%s/%s", debugfs_dir, debugfs_dirs[d],
				 debugfs_attrs[a]);
			fd = REAL(openat)(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
					  0600);
			if (fd < 0)
				goto fail;
			if (REAL(write)(fd, debugfs_values[a], strlen(debugfs_values[a])) < 0) {
				REAL(close)(fd);
				goto fail;
			}
			REAL(close)(fd);
		}
	}
	debugfs_owner = getpid();
	atexit(debugfs_remove);
	return;
fail:
	shim_err("fault injection: cannot make the debugfs stand-in %s: %s; programs that enable "
		 "failslab will find no fault injection (set TMPDIR to a writable directory)",
		 debugfs_dir, strerror(errno));
	debugfs_dir[0] = '\0';
}

/* The directory opendir() should open instead of `path`, or NULL to open `path` itself. */
const char *failnth_debugfs_redirect(const char *path)
{
	char norm[32];
	size_t n;

	if (!path || strncmp(path, "/sys/kernel/debug", 17) != 0)
		return NULL;
	n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n != 17 || n >= sizeof(norm))
		return NULL;
	pthread_once(&debugfs_once, debugfs_make);
	return debugfs_dir[0] ? debugfs_dir : NULL;
}
