/* fd_client.c — an unmodified client that exercises what an iommufd fd is as a file:
 * duplication, closing, flags, errors of the calls a char device without read/write/mmap
 * methods refuses, /proc/self/fd, pass-through of other fds, path aliases, exec and fork.
 *
 * Only <linux/iommufd.h>, libc, open() and ioctl(). `fd_client SCENARIO` runs one scenario and
 * prints one "label: result" line per check; tests/test_preload.c compares them. Lines
 * "MARK name" go to stderr so a test can place the shim's debug log (IOASID_SHIM_DEBUG=1)
 * between them, e.g. to see exactly when a context is released.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/iommufd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static const char *self_path;

static const char *errno_name(int err)
{
	switch (err) {
	case 0: return "0";
	case ENOENT: return "ENOENT";
	case EBADF: return "EBADF";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EEXIST: return "EEXIST";
	case ENOTDIR: return "ENOTDIR";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case ESPIPE: return "ESPIPE";
	case EMSGSIZE: return "EMSGSIZE";
	case ENODEV: return "ENODEV";
	case EISDIR: return "EISDIR";
	default: return "E?";
	}
}

static void mark(const char *name)
{
	fflush(stdout);
	dprintf(2, "MARK %s\n", name);
}

static int open_iommu(int flags)
{
	int fd = open("/dev/iommu", flags);

	if (fd < 0) {
		printf("open /dev/iommu: errno=%s\n", errno_name(errno));
		exit(1);
	}
	return fd;
}

/* "id=N" or "errno=X". */
static const char *ioas_alloc(int fd, uint32_t *id)
{
	static char out[32];
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	if (ioctl(fd, IOMMU_IOAS_ALLOC, &cmd)) {
		snprintf(out, sizeof(out), "errno=%s", errno_name(errno));
		if (id)
			*id = 0;
		return out;
	}
	if (id)
		*id = cmd.out_ioas_id;
	snprintf(out, sizeof(out), "id=%u", cmd.out_ioas_id);
	return out;
}

static const char *ioas_destroy(int fd, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioctl(fd, IOMMU_DESTROY, &cmd) ? errno_name(errno) : "0";
}

/* Is IOAS `id` in the context behind `fd`? IOVA_RANGES with no array: EMSGSIZE = it is. */
static const char *ioas_seen(int fd, uint32_t id)
{
	struct iommu_ioas_iova_ranges cmd = { .size = sizeof(cmd), .ioas_id = id };

	if (ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd) == 0)
		return "visible?";
	if (errno == EMSGSIZE)
		return "visible";
	if (errno == ENOENT)
		return "missing";
	return errno_name(errno);
}

static int cloexec_of(int fd)
{
	int f = fcntl(fd, F_GETFD);

	return f < 0 ? -1 : !!(f & FD_CLOEXEC);
}

static const char *shim_or_not(int fd)
{
	char proc[64], link[256];
	ssize_t n;

	if (fd < 0)
		return "not-shim";
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, link, sizeof(link) - 1);
	if (n < 0)
		return "readlink-failed";
	link[n] = '\0';
	return strncmp(link, "/memfd:ioasid:", 14) == 0 ? "shim" : "not-shim";
}

/* ---- scenarios ----------------------------------------------------------------------------- */

static int scenario_dup(void)
{
	int fd = open_iommu(O_RDWR), d1, d2, d3, d4, d5;
	uint32_t id;

	printf("alloc via fd: %s\n", ioas_alloc(fd, NULL));
	d1 = dup(fd);
	printf("dup: ioas 1 %s cloexec=%d\n", ioas_seen(d1, 1), cloexec_of(d1));
	d2 = dup2(fd, 10);
	printf("dup2 -> 10: ret=%d ioas 1 %s cloexec=%d\n", d2, ioas_seen(d2, 1), cloexec_of(d2));
	d3 = dup3(fd, 11, O_CLOEXEC);
	printf("dup3 -> 11: ret=%d ioas 1 %s cloexec=%d\n", d3, ioas_seen(d3, 1), cloexec_of(d3));
	d4 = fcntl(fd, F_DUPFD, 20);
	printf("F_DUPFD 20: ret=%d ioas 1 %s cloexec=%d\n", d4, ioas_seen(d4, 1), cloexec_of(d4));
	d5 = fcntl(fd, F_DUPFD_CLOEXEC, 30);
	printf("F_DUPFD_CLOEXEC 30: ret=%d ioas 1 %s cloexec=%d\n", d5, ioas_seen(d5, 1),
	       cloexec_of(d5));

	printf("alloc via dup2 fd: %s\n", ioas_alloc(d2, &id));
	printf("ioas %u via F_DUPFD_CLOEXEC fd: %s\n", id, ioas_seen(d5, id));
	printf("destroy %u via F_DUPFD fd: %s\n", id, ioas_destroy(d4, id));
	printf("ioas %u via fd: %s\n", id, ioas_seen(fd, id));

	printf("close fd: %d\n", close(fd));
	printf("alloc via dup after closing fd: %s\n", ioas_alloc(d1, NULL));
	printf("close dups:");
	printf(" %d", close(d1));
	printf(" %d", close(d2));
	printf(" %d", close(d3));
	printf(" %d\n", close(d4));
	printf("ioas 1 via the last fd: %s\n", ioas_seen(d5, 1));
	mark("before-last-close");
	printf("close last fd: %d\n", close(d5));
	mark("after-last-close");
	printf("ioctl after close: %s\n", ioas_seen(d5, 1));
	return 0;
}

static int scenario_dup2(void)
{
	int a = open_iommu(O_RDWR), b = open_iommu(O_RDWR), p[2], r;

	ioas_alloc(a, NULL);
	printf("alloc a: %s\n", ioas_alloc(a, NULL));
	printf("alloc b: %s\n", ioas_alloc(b, NULL));
	printf("ioas 2 via b: %s\n", ioas_seen(b, 2));
	mark("before-dup2");
	r = dup2(a, b);
	mark("after-dup2");
	printf("dup2(a, b): %s\n", r == b ? "ret=b" : "wrong");
	printf("ioas 2 via b: %s\n", ioas_seen(b, 2));

	if (pipe(p))
		return 1;
	mark("before-dup2-pipe");
	r = dup2(p[0], b);
	mark("after-dup2-pipe");
	printf("dup2(pipe, b): %s\n", r == b ? "ret=b" : "wrong");
	printf("ioctl via b: %s\n", ioas_seen(b, 2));
	printf("ioas 2 via a: %s\n", ioas_seen(a, 2));

	r = dup2(a, a);
	printf("dup2(a, a): %s ioas 2 %s\n", r == a ? "ret=a" : "wrong", ioas_seen(a, 2));
	r = dup3(a, a, 0);
	printf("dup3(a, a, 0): ret=%d errno=%s\n", r, errno_name(errno));
	close(b);
	close(p[0]);
	close(p[1]);
	mark("before-close-a");
	printf("close a: %d\n", close(a));
	mark("after-close-a");
	return 0;
}

static int scenario_close_range(void)
{
	int f1 = open_iommu(O_RDWR), p[2], f2, f3, f4, f5, r;

	if (pipe(p))
		return 1;
	f2 = open_iommu(O_RDWR);
	f3 = open_iommu(O_RDWR);
	printf("fd order: %s\n", f1 < p[0] && p[1] < f2 && f2 < f3 ? "ok" : "unexpected");
	ioas_alloc(f1, NULL);
	ioas_alloc(f2, NULL);
	ioas_alloc(f3, NULL);

	mark("before-close-range");
	r = close_range(f1, f2, 0);
	printf("close_range(f1, f2, 0): %d\n", r);
	mark("after-close-range");
	printf("ioctl f1: %s\n", ioas_seen(f1, 1));
	printf("pipe fd: %s\n", fcntl(p[0], F_GETFD) < 0 ? errno_name(errno) : "open");
	printf("ioctl f2: %s\n", ioas_seen(f2, 1));
	printf("ioctl f3: %s\n", ioas_seen(f3, 1));

	r = close_range(f3, f3, CLOSE_RANGE_CLOEXEC);
	printf("close_range(f3, f3, CLOEXEC): %d cloexec=%d\n", r, cloexec_of(f3));
	printf("ioctl f3: %s\n", ioas_seen(f3, 1));

	f4 = open_iommu(O_RDWR);
	printf("reused fd number: %s\n", f4 == f1 ? "yes" : "no");
	printf("alloc f4: %s\n", ioas_alloc(f4, NULL));
	f5 = open_iommu(O_RDWR);
	ioas_alloc(f5, NULL);
	mark("before-closefrom");
	closefrom(f3 < f5 ? f3 : f5);
	mark("after-closefrom");
	printf("after closefrom: f3 %s, f5 %s, f4 %s\n", ioas_seen(f3, 1), ioas_seen(f5, 1),
	       f4 < f3 && f4 < f5 ? ioas_seen(f4, 1) : "closed");
	if (f4 < f3 && f4 < f5)
		close(f4);
	return 0;
}

static int scenario_errors(void)
{
	int fd = open_iommu(O_RDWR), ro, wo, op, one = 1, r;
	struct termios t;
	char buf[16];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	void *m;
	uint32_t id;

	errno = 0;
	r = isatty(fd);
	printf("isatty: ret=%d errno=%s\n", r, errno_name(errno));
	r = ioctl(fd, TCGETS, &t);
	printf("ioctl TCGETS: ret=%d errno=%s\n", r, errno_name(errno));
	r = ioctl(fd, FIONREAD, &one);
	printf("ioctl FIONREAD: ret=%d errno=%s\n", r, errno_name(errno));
	r = (int)read(fd, buf, sizeof(buf));
	printf("read: ret=%d errno=%s\n", r, errno_name(errno));
	r = (int)write(fd, "x", 1);
	printf("write: ret=%d errno=%s\n", r, errno_name(errno));
	r = (int)pread(fd, buf, sizeof(buf), 0);
	printf("pread: ret=%d errno=%s\n", r, errno_name(errno));
	r = (int)readv(fd, &iov, 1);
	printf("readv: ret=%d errno=%s\n", r, errno_name(errno));
	r = (int)writev(fd, &iov, 1);
	printf("writev: ret=%d errno=%s\n", r, errno_name(errno));
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	printf("mmap shared: %s errno=%s\n", m == MAP_FAILED ? "MAP_FAILED" : "mapped",
	       errno_name(errno));
	m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	printf("mmap private: %s errno=%s\n", m == MAP_FAILED ? "MAP_FAILED" : "mapped",
	       errno_name(errno));

	ro = open_iommu(O_RDONLY);
	r = (int)read(ro, buf, sizeof(buf));
	printf("O_RDONLY read: ret=%d errno=%s\n", r, errno_name(errno));
	r = (int)write(ro, "x", 1);
	printf("O_RDONLY write: ret=%d errno=%s\n", r, errno_name(errno));
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
	printf("O_RDONLY mmap shared rw: errno=%s\n", m == MAP_FAILED ? errno_name(errno) : "0");
	printf("O_RDONLY ioctl: %s\n", ioas_alloc(ro, NULL));
	wo = open_iommu(O_WRONLY);
	r = (int)read(wo, buf, sizeof(buf));
	printf("O_WRONLY read: ret=%d errno=%s\n", r, errno_name(errno));
	r = (int)write(wo, "x", 1);
	printf("O_WRONLY write: ret=%d errno=%s\n", r, errno_name(errno));
	m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, wo, 0);
	printf("O_WRONLY mmap: errno=%s\n", m == MAP_FAILED ? errno_name(errno) : "0");
	printf("O_WRONLY ioctl: %s\n", ioas_alloc(wo, NULL));

	r = ioctl(fd, FIONBIO, &one);
	printf("ioctl FIONBIO: ret=%d O_NONBLOCK=%d\n", r, !!(fcntl(fd, F_GETFL) & O_NONBLOCK));
	r = ioctl(fd, FIOCLEX);
	printf("ioctl FIOCLEX: ret=%d cloexec=%d\n", r, cloexec_of(fd));
	{
		/* The syscall's cmd is 32 bits: the kernel ignores the upper half. */
		struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

		r = ioctl(fd, 0xdead00000000UL | IOMMU_IOAS_ALLOC, &cmd);
		printf("ioctl cmd with upper bits: ret=%d id=%u\n", r, cmd.out_ioas_id);
	}

	r = open("/dev/iommu", O_RDWR | O_DIRECTORY);
	printf("open O_DIRECTORY: ret=%d errno=%s\n", r, errno_name(errno));
	r = open("/dev/iommu", O_RDWR | O_CREAT | O_EXCL, 0600);
	printf("open O_CREAT|O_EXCL: ret=%d errno=%s\n", r, errno_name(errno));
	op = open("/dev/iommu", O_PATH);
	printf("open O_PATH: %s\n", op >= 0 ? "ok" : errno_name(errno));
	printf("O_PATH ioctl: %s\n", ioas_alloc(op, NULL));
	printf("O_PATH close: %d\n", close(op));

	printf("close: %d\n", close(fd));
	r = close(fd);
	printf("close again: ret=%d errno=%s\n", r, errno_name(errno));
	printf("ioctl after close: %s\n", ioas_alloc(fd, &id));
	r = (int)read(fd, buf, sizeof(buf));
	printf("read after close: ret=%d errno=%s\n", r, errno_name(errno));
	close(ro);
	close(wo);
	return 0;
}

static int scenario_flags(void)
{
	int a = open_iommu(O_RDWR | O_CLOEXEC), b = open_iommu(O_RDWR), c, d, n, r, fl;

	printf("O_CLOEXEC: cloexec=%d\n", cloexec_of(a));
	printf("no O_CLOEXEC: cloexec=%d\n", cloexec_of(b));
	c = open_iommu(O_RDWR | O_NONBLOCK);
	printf("O_NONBLOCK: %d\n", !!(fcntl(c, F_GETFL) & O_NONBLOCK));
	printf("O_NONBLOCK ioctl: %s\n", ioas_alloc(c, NULL));
	close(c);
	c = open_iommu(O_RDONLY);
	printf("O_RDONLY F_GETFL accmode: %s\n",
	       (fcntl(c, F_GETFL) & O_ACCMODE) == O_RDONLY ? "O_RDONLY" : "other");
	close(c);
	c = open_iommu(O_WRONLY | O_CLOEXEC);
	fl = fcntl(c, F_GETFL);
	printf("O_WRONLY|O_CLOEXEC: accmode %s cloexec=%d\n",
	       (fl & O_ACCMODE) == O_WRONLY ? "O_WRONLY" : "other", cloexec_of(c));
	close(c);
	printf("O_RDWR F_GETFL accmode: %s\n",
	       (fcntl(b, F_GETFL) & O_ACCMODE) == O_RDWR ? "O_RDWR" : "other");

	r = fcntl(b, F_SETFD, FD_CLOEXEC);
	printf("F_SETFD FD_CLOEXEC: ret=%d cloexec=%d\n", r, cloexec_of(b));
	d = dup(b);
	r = fcntl(b, F_SETFL, O_NONBLOCK);
	printf("F_SETFL O_NONBLOCK seen through the dup: %d\n",
	       !!(fcntl(d, F_GETFL) & O_NONBLOCK));
	close(d);

	/* open() returns the lowest free fd number, also through the shim. */
	n = dup(0);
	close(n);
	c = open_iommu(O_RDWR);
	printf("open returns the lowest free fd: %s\n", c == n ? "yes" : "no");
	close(c);
	c = open_iommu(O_RDONLY | O_NONBLOCK);
	printf("O_RDONLY|O_NONBLOCK returns the lowest free fd: %s\n", c == n ? "yes" : "no");
	close(c);
	close(a);
	close(b);
	return 0;
}

static int scenario_procfd(void)
{
	int a = open_iommu(O_RDWR), b, p[2], nul = open("/dev/null", O_RDWR);
	int ok = 0, failed = 0;
	char proc[300], link[256];
	struct dirent *de;
	ssize_t n;
	DIR *dir;

	b = open("/dev/ioasid", O_RDWR);
	if (pipe(p))
		return 1;
	dir = opendir("/proc/self/fd");
	if (!dir) {
		printf("opendir: errno=%s\n", errno_name(errno));
		return 1;
	}
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(proc, sizeof(proc), "/proc/self/fd/%s", de->d_name);
		n = readlink(proc, link, sizeof(link) - 1);
		if (n < 0)
			failed++;
		else
			ok++;
	}
	closedir(dir);
	printf("readlink on every /proc/self/fd entry: %s (failed=%d)\n",
	       ok >= 6 && !failed ? "ok" : "FAIL", failed);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", a);
	n = readlink(proc, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	printf("/dev/iommu fd: %s\n", link);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", b);
	n = readlink(proc, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	printf("/dev/ioasid fd: %s\n", link);
	close(a);
	close(b);
	close(nul);
	return 0;
}

static int scenario_passthrough(void)
{
	int shim = open_iommu(O_RDWR), p[2], n = -1, fd, d, nul, rc;
	char buf[32] = { 0 }, path[] = "/tmp/ioasid-fd-client-XXXXXX";
	ssize_t r;
	void *m;

	printf("shim alloc: %s\n", ioas_alloc(shim, NULL));
	if (pipe(p))
		return 1;
	r = write(p[1], "hello", 5);
	printf("pipe write: %zd\n", r);
	rc = ioctl(p[0], FIONREAD, &n);
	printf("pipe FIONREAD: ret=%d n=%d\n", rc, n);
	r = read(p[0], buf, sizeof(buf));
	printf("pipe read: %zd %.*s\n", r, (int)(r > 0 ? r : 0), buf);
	rc = isatty(p[0]);
	printf("pipe isatty: %d errno=%s\n", rc, errno_name(errno));
	close(p[0]);
	close(p[1]);

	fd = mkstemp(path);
	if (fd < 0)
		return 1;
	r = write(fd, "data", 4);
	printf("file write: %zd\n", r);
	lseek(fd, 0, SEEK_SET);
	memset(buf, 0, sizeof(buf));
	r = read(fd, buf, sizeof(buf));
	printf("file read: %zd %s\n", r, buf);
	printf("file F_GETFL accmode: %s\n",
	       (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR ? "O_RDWR" : "other");
	d = dup(fd);
	r = pread(d, buf, 2, 2);
	printf("file pread via dup: %zd %.2s\n", r, buf);
	m = mmap(NULL, 4, PROT_READ, MAP_SHARED, fd, 0);
	printf("file mmap: %s %.4s\n", m == MAP_FAILED ? "failed" : "ok",
	       m == MAP_FAILED ? "" : (char *)m);
	if (m != MAP_FAILED)
		munmap(m, 4);
	n = -1;
	rc = ioctl(fd, FIONREAD, &n);
	printf("file FIONREAD: %d n=%d\n", rc, n);
	close(d);
	close(fd);
	fd = open(path, O_RDONLY);
	printf("file reopen: %s\n", fd >= 0 ? "ok" : errno_name(errno));
	close(fd);
	unlink(path);

	nul = open("/dev/null", O_RDWR);
	r = write(nul, "abc", 3);
	printf("/dev/null write: %zd", r);
	r = read(nul, buf, 3);
	printf(" read: %zd\n", r);
	close(nul);
	printf("shim still works: %s\n", ioas_alloc(shim, NULL));
	close(shim);
	return 0;
}

static int scenario_alias(void)
{
	static const char *const paths[] = {
		"/dev/ioasid", "//dev//iommu", "/dev/./iommu", "/dev/../dev/iommu", "/dev/iommu/",
		"/dev/iommux", "/dev/iommu/.",
	};
	int fd, dirfd;
	size_t i;
	FILE *f;

	fd = open("/dev/ioasid", O_RDWR);
	printf("/dev/ioasid: %s %s\n", shim_or_not(fd), ioas_alloc(fd, NULL));
	close(fd);
	for (i = 1; i < sizeof(paths) / sizeof(paths[0]); i++) {
		fd = open(paths[i], O_RDWR);
		printf("%s: %s\n", paths[i], shim_or_not(fd));
		if (fd >= 0)
			close(fd);
	}
	dirfd = open("/tmp", O_RDONLY | O_DIRECTORY);
	fd = openat(dirfd, "/dev/iommu", O_RDWR);
	printf("openat(/tmp fd, /dev/iommu): %s\n", shim_or_not(fd));
	close(fd);
	fd = openat(AT_FDCWD, "/dev/ioasid", O_RDWR);
	printf("openat(AT_FDCWD, /dev/ioasid): %s\n", shim_or_not(fd));
	close(fd);
	if (chdir("/") == 0) {
		fd = open("dev/iommu", O_RDWR);
		printf("relative dev/iommu from /: %s\n", shim_or_not(fd));
		if (fd >= 0)
			close(fd);
	}
	dirfd = open("/dev", O_RDONLY | O_DIRECTORY);
	fd = openat(dirfd, "iommu", O_RDWR);
	printf("openat(/dev fd, iommu): %s\n", shim_or_not(fd));
	if (fd >= 0)
		close(fd);
	f = fopen("/dev/iommu", "r+");
	printf("fopen /dev/iommu: %s\n", f ? shim_or_not(fileno(f)) : "not-shim");
	if (f)
		fclose(f);
	return 0;
}

static int scenario_exec(void)
{
	int a = open_iommu(O_RDWR), b = open_iommu(O_RDWR | O_CLOEXEC);
	char sa[16], sb[16];

	printf("before exec: %s\n", ioas_alloc(a, NULL));
	fflush(stdout);
	snprintf(sa, sizeof(sa), "%d", a);
	snprintf(sb, sizeof(sb), "%d", b);
	execl(self_path, "fd_client", "exec-child", sa, sb, (char *)NULL);
	printf("exec: errno=%s\n", errno_name(errno));
	return 1;
}

static int scenario_exec_child(int a, int b)
{
	char proc[64], link[256];
	ssize_t n;
	int fd;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", a);
	n = readlink(proc, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	printf("inherited fd: open=%d link=%s\n", fcntl(a, F_GETFD) >= 0, link);
	printf("inherited fd ioctl: %s\n", ioas_alloc(a, NULL));
	printf("O_CLOEXEC fd: %s\n", fcntl(b, F_GETFD) < 0 ? errno_name(errno) : "open");
	fd = open_iommu(O_RDWR);
	printf("fresh open after exec: %s\n", ioas_alloc(fd, NULL));
	close(fd);
	close(a);
	return 0;
}

static int scenario_fork(void)
{
	int fd = open_iommu(O_RDWR), status;
	pid_t pid;

	printf("parent alloc: %s\n", ioas_alloc(fd, NULL));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		printf("child: ioas 1 %s\n", ioas_seen(fd, 1));
		printf("child: alloc %s\n", ioas_alloc(fd, NULL));
		printf("child: close %d\n", close(fd));
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	printf("child exit: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	printf("parent: ioas 1 %s\n", ioas_seen(fd, 1));
	printf("parent: ioas 2 %s\n", ioas_seen(fd, 2));
	printf("parent: alloc %s\n", ioas_alloc(fd, NULL));
	close(fd);
	return 0;
}

/* A vfork child has its own fd table but the parent's memory: what it closes and opens
 * before exec must not touch the parent's contexts. */
static int scenario_vfork(void)
{
	int fd = open_iommu(O_RDWR), status;
	pid_t pid;

	printf("parent alloc: %s\n", ioas_alloc(fd, NULL));
	mark("before-vfork");
	pid = vfork();
	if (pid == 0) {
		int nul;

		close(fd);
		closefrom(3);
		nul = open("/dev/null", O_RDONLY); /* takes fd's number in the child */
		dup2(nul, 5);
		_exit(nul == fd ? 0 : 3);
	}
	waitpid(pid, &status, 0);
	mark("after-vfork");
	printf("child exit: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	printf("parent: ioas 1 %s\n", ioas_seen(fd, 1));
	printf("parent: alloc %s\n", ioas_alloc(fd, NULL));
	printf("parent: close %d\n", close(fd));
	return 0;
}

int main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : "";

	self_path = argv[0];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(s, "dup"))
		return scenario_dup();
	if (!strcmp(s, "dup2"))
		return scenario_dup2();
	if (!strcmp(s, "close-range"))
		return scenario_close_range();
	if (!strcmp(s, "errors"))
		return scenario_errors();
	if (!strcmp(s, "flags"))
		return scenario_flags();
	if (!strcmp(s, "procfd"))
		return scenario_procfd();
	if (!strcmp(s, "passthrough"))
		return scenario_passthrough();
	if (!strcmp(s, "alias"))
		return scenario_alias();
	if (!strcmp(s, "exec"))
		return scenario_exec();
	if (!strcmp(s, "exec-child") && argc == 4)
		return scenario_exec_child(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(s, "fork"))
		return scenario_fork();
	if (!strcmp(s, "vfork"))
		return scenario_vfork();
	fprintf(stderr, "usage: fd_client dup|dup2|close-range|errors|flags|procfd|passthrough|"
		"alias|exec|fork|vfork\n");
	return 2;
}
