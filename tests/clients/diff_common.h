/* diff_common.h — the transcript format of the differential clients (diff_edges, diff_type1,
 * diff_cdev), shared so that the three print exactly alike.
 *
 * One line per step, as tests/clients/ioas_client.c:
 *   "<step>: rc=<rc>[ errno=<NAME>][ <field>=<value>...]"
 * Numbers that legitimately differ between runs (file descriptors, user addresses) are never
 * printed: an fd-returning ioctl prints "rc=fd", a user address is given relative to a base.
 * scripts/testbed/compare-transcripts.sh compares a real kernel's lines with the reference's.
 *
 * Header-only (static functions), uAPI headers and libc only: the clients stay unmodified
 * programs that build with nothing but -Iuapi-shim.
 */
#ifndef DIFF_COMMON_H
#define DIFF_COMMON_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

/* Every client uses a different subset. */
#define DIFF_FN __attribute__((unused)) static

/* Put before every step name ("vfio: ", "compat: "): steps of different sections that share a
 * name stay apart in the comparison's table of documented differences. */
static const char *diff_prefix = "";

DIFF_FN const char *errno_name(int err)
{
	static char buf[16];

	switch (err) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case ENOSPC: return "ENOSPC";
	case ERANGE: return "ERANGE";
	case EDEADLK: return "EDEADLK";
	case ENOSYS: return "ENOSYS";
	case EMSGSIZE: return "EMSGSIZE";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EOVERFLOW: return "EOVERFLOW";
	case EADDRINUSE: return "EADDRINUSE";
	default:
		snprintf(buf, sizeof(buf), "E%d", err);
		return buf;
	}
}

/* ioctl(fd, cmd, arg) as one step: prints "<name>: rc=<rc>[ errno=<NAME>]" and leaves the line
 * open for fields; returns the ioctl's result (errno kept). */
DIFF_FN int step(const char *name, int fd, unsigned long cmd, void *arg)
{
	int rc = ioctl(fd, cmd, arg);
	int err = rc < 0 ? errno : 0;

	printf("%s%s: rc=%d", diff_prefix, name, rc < 0 ? -1 : rc);
	if (rc < 0)
		printf(" errno=%s", errno_name(err));
	errno = err;
	return rc;
}

/* The same for an ioctl that returns a new file descriptor: "rc=fd" on success. */
DIFF_FN int step_fd(const char *name, int fd, unsigned long cmd, void *arg)
{
	int rc = ioctl(fd, cmd, arg);
	int err = rc < 0 ? errno : 0;

	if (rc >= 0)
		printf("%s%s: rc=fd", diff_prefix, name);
	else
		printf("%s%s: rc=-1 errno=%s", diff_prefix, name, errno_name(err));
	errno = err;
	return rc;
}

/* printf into the open line, then end it. */
__attribute__((format(printf, 1, 2)))
DIFF_FN void field(const char *fmt, ...)
{
	va_list ap;

	putchar(' ');
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

DIFF_FN void end(void)
{
	putchar('\n');
	fflush(stdout);
}

/* A line that is not an ioctl: "<name>: rc=<rc>[ errno=<NAME>]" for open/close and the like. */
DIFF_FN void result_line(const char *name, int rc, int err)
{
	printf("%s%s: rc=%d", diff_prefix, name, rc < 0 ? -1 : 0);
	if (rc < 0)
		printf(" errno=%s", errno_name(err));
	end();
}

/* "# text": a section heading; compared like any other line. */
__attribute__((format(printf, 1, 2)))
DIFF_FN void heading(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	end();
}

#endif /* DIFF_COMMON_H */
