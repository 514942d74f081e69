/* interpose.c — the libc entry points of libioasid-preload.so.
 *
 * Owns: the exported definitions that shadow glibc's (open, open64, openat, openat64, __open_2,
 * __open64_2, __openat_2, __openat64_2, ioctl, close, close_range, closefrom, dup, dup2, dup3,
 * fcntl, fcntl64, read, __read_chk, write, pread, pread64, pwrite, pwrite64, readv, writev,
 * mmap, mmap64), the table of the next definitions (dlsym(RTLD_NEXT)) and the debug log.
 *
 * Invariants
 *  - A call on an fd that is not a shim fd costs one relaxed atomic load, then goes to the next
 *    definition with its arguments untouched (errno is whatever that call sets).
 *  - A call on a shim fd runs inside the fork gate and holds a file reference for its whole
 *    duration, so a concurrent close() cannot release the context under an ioctl in flight.
 *  - Every call that creates an fd number (open, dup, F_DUPFD) clears a stale slot at that
 *    number, so an fd closed behind our back cannot capture a new file.
 *  - A call racing with close() of the same shim fd either runs before it or fails with EBADF
 *    (the slot is marked "closing" across the real close); it never reaches the placeholder.
 *  - In a vfork() child (our memory, its own fd table) close, closefrom, close_range, dup* and
 *    open go straight to libc and leave the parent's slots and contexts alone.
 *  - Calls on a shim fd are answered as the kernel answers them on /dev/iommu: ioctl → the
 *    node (cmd truncated to 32 bits as by the syscall; FIOCLEX/FIONCLEX/FIONBIO/FIOASYNC act on
 *    the fd like do_vfs_ioctl does); read/write family → EBADF if the access mode forbids it,
 *    else EINVAL (no read/write methods); mmap → EACCES on an access-mode conflict, else
 *    ENODEV; close/dup/dup2/dup3/F_DUPFD/close_range/closefrom → the real call on the
 *    placeholder plus the matching change of references.
 *
 * Not interposed (documented limits): raw syscall(2)s, glibc-internal calls (fclose of an
 * fdopen'ed shim fd, isatty()'s TCGETS — which reaches the memfd and gets ENOTTY anyway),
 * socket/pipe/accept (they never name a shim fd; the stale-slot check on the next open covers
 * fds closed behind our back). exec(): every context is lost with the address space; shim fds
 * without O_CLOEXEC survive as plain memfds that the new image's shim does not know (ioctl on
 * them gives ENOTTY).
 *
 * Locking: none of its own; see fdtable.c for the gate and the reference counts.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim.h"

#include <dlfcn.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

struct shim_real shim_real;
int shim_debug;

/* ---- next definitions ----------------------------------------------------------------------- */

void shim_real_resolve(void)
{
#define RESOLVE(field, sym) \
	do { if (!shim_real.field) \
		__atomic_store_n((void **)&shim_real.field, dlsym(RTLD_NEXT, sym), \
				 __ATOMIC_RELAXED); } while (0)
	RESOLVE(open, "open");
	RESOLVE(open64, "open64");
	RESOLVE(openat, "openat");
	RESOLVE(openat64, "openat64");
	RESOLVE(open_2, "__open_2");
	RESOLVE(open64_2, "__open64_2");
	RESOLVE(openat_2, "__openat_2");
	RESOLVE(openat64_2, "__openat64_2");
	RESOLVE(ioctl, "ioctl");
	RESOLVE(close, "close");
	RESOLVE(close_range, "close_range");
	RESOLVE(closefrom, "closefrom");
	RESOLVE(dup, "dup");
	RESOLVE(dup2, "dup2");
	RESOLVE(dup3, "dup3");
	RESOLVE(fcntl, "fcntl");
	RESOLVE(fcntl64, "fcntl64");
	RESOLVE(read, "read");
	RESOLVE(read_chk, "__read_chk");
	RESOLVE(write, "write");
	RESOLVE(pread, "pread");
	RESOLVE(pread64, "pread64");
	RESOLVE(pwrite, "pwrite");
	RESOLVE(pwrite64, "pwrite64");
	RESOLVE(readv, "readv");
	RESOLVE(writev, "writev");
	RESOLVE(mmap, "mmap");
	RESOLVE(mmap64, "mmap64");
	RESOLVE(opendir, "opendir");
#undef RESOLVE
	/* Symbols a glibc older than 2.34 lacks: fall back to their neighbours. */
	if (!shim_real.fcntl64)
		shim_real.fcntl64 = shim_real.fcntl;
}

/* ---- logging ------------------------------------------------------------------------------ */

static void log_vwrite(const char *fmt, va_list ap)
{
	char buf[768];
	int saved = errno;
	int n;

	n = snprintf(buf, sizeof(buf), "ioasid-preload[%d]: ", (int)getpid());
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	/* A raw write: never re-enters write() below, never takes stdio's lock. */
	(void)syscall(SYS_write, 2, buf, (size_t)n);
	errno = saved;
}

void shim_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(fmt, ap);
	va_end(ap);
}

void shim_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(fmt, ap);
	va_end(ap);
}

/* iommufd command names for the log; the numbers are the ABI (IOMMUFD_CMD_BASE = 0x80). */
static const char *const iommufd_cmd_names[] = {
	"IOMMU_DESTROY", "IOMMU_IOAS_ALLOC", "IOMMU_IOAS_ALLOW_IOVAS", "IOMMU_IOAS_COPY",
	"IOMMU_IOAS_IOVA_RANGES", "IOMMU_IOAS_MAP", "IOMMU_IOAS_UNMAP", "IOMMU_OPTION",
	"IOMMU_VFIO_IOAS", "IOMMU_HWPT_ALLOC", "IOMMU_GET_HW_INFO",
	"IOMMU_HWPT_SET_DIRTY_TRACKING", "IOMMU_HWPT_GET_DIRTY_BITMAP", "IOMMU_HWPT_INVALIDATE",
	"IOMMU_FAULT_QUEUE_ALLOC", "IOMMU_IOAS_MAP_FILE", "IOMMU_VIOMMU_ALLOC",
	"IOMMU_VDEVICE_ALLOC", "IOMMU_IOAS_CHANGE_PROCESS", "IOMMU_VEVENTQ_ALLOC",
	"IOMMU_HW_QUEUE_ALLOC",
};

static const char *ioctl_name(unsigned int cmd)
{
	unsigned int type = (cmd >> 8) & 0xff, nr = cmd & 0xff;

	if (type != ';')
		return "not iommufd";
	if (nr >= 0x80 && nr - 0x80 < sizeof(iommufd_cmd_names) / sizeof(iommufd_cmd_names[0]))
		return iommufd_cmd_names[nr - 0x80];
	if (nr == 0xa0)
		return "IOMMU_TEST_CMD";
	if (nr < 0x80)
		return "VFIO";
	return "unknown iommufd";
}

/* Turn 0 / -errno into the libc convention. */
static long ret_errno(long rc)
{
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return rc;
}

__attribute__((constructor)) static void interpose_init(void)
{
	const char *dbg = getenv("IOASID_SHIM_DEBUG");

	shim_real_resolve();
	if (dbg && *dbg)
		shim_debug = atoi(dbg) > 0 ? atoi(dbg) : 1;
	SHIM_DBG(1, "loaded; serving /dev/iommu and /dev/ioasid");
}

/* ---- open ----------------------------------------------------------------------------------- */

enum open_kind { OPEN, OPEN64, OPENAT, OPENAT64, OPEN_2, OPEN64_2, OPENAT_2, OPENAT64_2 };

static int open_common(enum open_kind kind, int dirfd, const char *path, int flags, mode_t mode)
{
	const struct shim_node *node = shim_node_lookup(dirfd, path);
	int fd;

	/* A vfork child would install into its parent's table: it gets the real node, if any. */
	if (unlikely(node != NULL) && !shim_foreign_process()) {
		fd = shim_node_open(node, path, flags);
		SHIM_DBG(1, "open(\"%s\", 0%o) = %d%s%s", path, flags, fd < 0 ? -1 : fd,
			 fd < 0 ? " " : "", fd < 0 ? strerror(-fd) : "");
		return (int)ret_errno(fd);
	}
	switch (kind) {
	case OPEN:       fd = REAL(open)(path, flags, mode); break;
	case OPEN64:     fd = REAL(open64)(path, flags, mode); break;
	case OPENAT:     fd = REAL(openat)(dirfd, path, flags, mode); break;
	case OPENAT64:   fd = REAL(openat64)(dirfd, path, flags, mode); break;
	case OPEN_2:     fd = REAL(open_2)(path, flags); break;
	case OPEN64_2:   fd = REAL(open64_2)(path, flags); break;
	case OPENAT_2:   fd = REAL(openat_2)(dirfd, path, flags); break;
	default:         fd = REAL(openat64_2)(dirfd, path, flags); break;
	}
	if (fd >= 0)
		shim_fd_fresh(fd);
	SHIM_DBG(2, "pass: open(\"%s\") = %d", path ? path : "(null)", fd);
	return fd;
}

#define OPEN_MODE(flags, last)                                   \
	({ mode_t m_ = 0;                                        \
	   if (__OPEN_NEEDS_MODE(flags)) {                       \
		va_list ap_;                                     \
		va_start(ap_, last);                             \
		m_ = va_arg(ap_, mode_t);                        \
		va_end(ap_);                                     \
	   }                                                     \
	   m_; })

SHIM_EXPORT int open(const char *path, int flags, ...)
{
	return open_common(OPEN, AT_FDCWD, path, flags, OPEN_MODE(flags, flags));
}

SHIM_EXPORT int open64(const char *path, int flags, ...)
{
	return open_common(OPEN64, AT_FDCWD, path, flags, OPEN_MODE(flags, flags));
}

SHIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	return open_common(OPENAT, dirfd, path, flags, OPEN_MODE(flags, flags));
}

SHIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	return open_common(OPENAT64, dirfd, path, flags, OPEN_MODE(flags, flags));
}

/* The _FORTIFY_SOURCE entry points (no mode argument). */
SHIM_EXPORT int __open_2(const char *path, int flags);
SHIM_EXPORT int __open64_2(const char *path, int flags);
SHIM_EXPORT int __openat_2(int dirfd, const char *path, int flags);
SHIM_EXPORT int __openat64_2(int dirfd, const char *path, int flags);

int __open_2(const char *path, int flags)
{
	return open_common(OPEN_2, AT_FDCWD, path, flags, 0);
}

int __open64_2(const char *path, int flags)
{
	return open_common(OPEN64_2, AT_FDCWD, path, flags, 0);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	return open_common(OPENAT_2, dirfd, path, flags, 0);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	return open_common(OPENAT64_2, dirfd, path, flags, 0);
}

/* ---- ioctl ---------------------------------------------------------------------------------- */

/* Generic ioctls that the kernel's do_vfs_ioctl() serves for every file before the driver sees
 * the command; they act on the fd/open file, so the placeholder performs them. */
static bool ioctl_is_vfs_generic(unsigned int cmd)
{
	return cmd == FIOCLEX || cmd == FIONCLEX || cmd == FIONBIO || cmd == FIOASYNC;
}

static int shim_ioctl(int fd, unsigned long request, void *arg)
{
	unsigned int cmd = (unsigned int)request; /* the syscall takes an unsigned int */
	struct shim_file *file;
	long rc;
	int err;

	shim_gate_enter();
	file = shim_fget(fd, &err);
	if (!file) {
		shim_gate_exit();
		if (!err) /* closed and reused meanwhile: not ours any more */
			return REAL(ioctl)(fd, request, arg);
		SHIM_DBG(1, "ioctl(%d, 0x%x) = -1 EBADF (being closed)", fd, cmd);
		return (int)ret_errno(err);
	}
	if (ioctl_is_vfs_generic(cmd))
		rc = REAL(ioctl)(fd, cmd, arg) < 0 ? -errno : 0;
	else if (file->ops->ioctl)
		rc = file->ops->ioctl(file, cmd, arg);
	else
		rc = -ENOTTY;
	shim_fput(file);
	shim_gate_exit();
	SHIM_DBG(1, "ioctl(%d, 0x%x %s) = %ld%s%s", fd, cmd, ioctl_name(cmd), rc < 0 ? -1 : rc,
		 rc < 0 ? " " : "", rc < 0 ? strerror((int)-rc) : "");
	return (int)ret_errno(rc);
}

SHIM_EXPORT int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (likely(!shim_fd_maybe(fd))) {
		SHIM_DBG(2, "pass: ioctl(%d, 0x%lx)", fd, request);
		return REAL(ioctl)(fd, request, arg);
	}
	return shim_ioctl(fd, request, arg);
}

/* ---- close ---------------------------------------------------------------------------------- */

SHIM_EXPORT int close(int fd)
{
	struct shim_file *file;
	long token; /* its address marks the slot as ours while closing */
	int rc, err;

	if (likely(!shim_fd_maybe(fd)) || shim_foreign_process()) {
		SHIM_DBG(2, "pass: close(%d)", fd);
		return REAL(close)(fd);
	}
	/* Mark the slot "closing" before the number is free again: no new file can be captured,
	 * and calls racing with this close get EBADF rather than reaching the placeholder. */
	shim_gate_enter();
	file = shim_fd_close_begin(fd, &token);
	rc = REAL(close)(fd);
	err = errno;
	shim_fd_close_end(fd, &token, NULL);
	if (file)
		shim_fput(file);
	shim_gate_exit();
	SHIM_DBG(1, "close(%d) = %d", fd, rc);
	errno = err;
	return rc;
}

/* Mark every shim slot in [first, last] "closing" (its file into *taken), so the real call can
 * close the numbers. Returns the count, or -ENOMEM. */
struct taken_slot {
	int fd;
	struct shim_file *file; /* NULL: the slot was already another closer's mark */
};

static int slots_take_range(unsigned int first, unsigned int last, void *token,
			    struct taken_slot **taken)
{
	unsigned int hw = shim_fd_high_water(), fd, n = 0;
	struct taken_slot *arr;

	*taken = NULL;
	if (first >= hw)
		return 0;
	if (last >= hw)
		last = hw - 1;
	arr = calloc((size_t)(last - first) + 1, sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	for (fd = first; fd <= last; fd++) {
		if (!shim_fd_maybe((int)fd))
			continue;
		arr[n].fd = (int)fd;
		arr[n].file = shim_fd_close_begin((int)fd, token);
		n++;
	}
	*taken = arr;
	return (int)n;
}

/* After the real call: closed → drop the references; failed → put the files back. */
static void slots_settle(struct taken_slot *taken, int n, void *token, bool closed)
{
	int i;

	for (i = 0; i < n; i++) {
		shim_fd_close_end(taken[i].fd, token, closed ? NULL : taken[i].file);
		if (closed && taken[i].file)
			shim_fput(taken[i].file);
	}
	free(taken);
}

SHIM_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	struct taken_slot *taken;
	int n, rc, err;
	long token;

	if (!REAL(close_range))
		return (int)syscall(SYS_close_range, first, last, flags);
	/* CLOEXEC only marks fds; an invalid range fails before closing anything. */
	if ((flags & CLOSE_RANGE_CLOEXEC) || first > last || first >= shim_fd_high_water() ||
	    shim_foreign_process()) {
		SHIM_DBG(2, "pass: close_range(%u, %u, 0x%x)", first, last, flags);
		return REAL(close_range)(first, last, flags);
	}
	shim_gate_enter();
	n = slots_take_range(first, last, &token, &taken);
	if (n < 0) {
		shim_gate_exit();
		errno = -n;
		return -1;
	}
	rc = REAL(close_range)(first, last, flags);
	err = errno;
	slots_settle(taken, n, &token, rc == 0);
	shim_gate_exit();
	SHIM_DBG(1, "close_range(%u, %u, 0x%x) = %d (%d shim fds)", first, last, flags, rc, n);
	errno = err;
	return rc;
}

SHIM_EXPORT void closefrom(int lowfd)
{
	struct taken_slot *taken;
	long token;
	int n;

	if (!REAL(closefrom))
		return;
	if (lowfd < 0 || (unsigned int)lowfd >= shim_fd_high_water() || shim_foreign_process()) {
		REAL(closefrom)(lowfd);
		return;
	}
	shim_gate_enter();
	n = slots_take_range((unsigned int)lowfd, ~0u, &token, &taken);
	REAL(closefrom)(lowfd); /* glibc's closefrom() cannot fail (it aborts instead) */
	if (n >= 0)
		slots_settle(taken, n, &token, true);
	shim_gate_exit();
	SHIM_DBG(1, "closefrom(%d) (%d shim fds)", lowfd, n);
}

/* ---- dup family ------------------------------------------------------------------------- */

enum dup_kind { DUP, DUP2, DUP3, FCNTL_DUPFD };

/* The slow path of every duplication that involves a shim fd (as old or as new fd). */
static int dup_common(enum dup_kind kind, int oldfd, int newfd, int arg,
		      int (*real_fcntl)(int, int, ...))
{
	struct shim_file *file;
	int nfd, err, rc;

	if (shim_foreign_process()) { /* a vfork child: its own fd table, our memory */
		switch (kind) {
		case DUP:  return REAL(dup)(oldfd);
		case DUP2: return REAL(dup2)(oldfd, newfd);
		case DUP3: return REAL(dup3)(oldfd, newfd, arg);
		default:   return real_fcntl(oldfd, newfd, arg);
		}
	}
	shim_gate_enter();
	file = shim_fget(oldfd, &err);
	if (!file && err) { /* oldfd is being closed */
		shim_gate_exit();
		errno = -err;
		return -1;
	}
	switch (kind) {
	case DUP:  nfd = REAL(dup)(oldfd); break;
	case DUP2: nfd = REAL(dup2)(oldfd, newfd); break;
	case DUP3: nfd = REAL(dup3)(oldfd, newfd, arg); break;
	default:   nfd = real_fcntl(oldfd, newfd, arg); break; /* newfd: F_DUPFD(_CLOEXEC) */
	}
	err = errno;
	if (nfd < 0) {
		if (file)
			shim_fput(file);
		shim_gate_exit();
		errno = err;
		return -1;
	}
	if (nfd == oldfd) { /* dup2(fd, fd): nothing changes */
		if (file)
			shim_fput(file);
		shim_gate_exit();
		return nfd;
	}
	/* Drop what nfd referred to (dup2/dup3 onto a shim fd) and share oldfd's file. */
	rc = shim_fd_install(nfd, file);
	shim_gate_exit();
	SHIM_DBG(1, "%s(%d) = %d%s", kind == DUP ? "dup" : kind == DUP2 ? "dup2" :
		 kind == DUP3 ? "dup3" : "fcntl(F_DUPFD)", oldfd, nfd,
		 file ? " (shares the open file)" : "");
	if (rc) {
		REAL(close)(nfd);
		errno = -rc;
		return -1;
	}
	return nfd;
}

SHIM_EXPORT int dup(int oldfd)
{
	int nfd;

	if (likely(!shim_fd_maybe(oldfd))) {
		nfd = REAL(dup)(oldfd);
		if (nfd >= 0)
			shim_fd_fresh(nfd);
		return nfd;
	}
	return dup_common(DUP, oldfd, -1, 0, NULL);
}

SHIM_EXPORT int dup2(int oldfd, int newfd)
{
	int nfd;

	if (likely(!shim_fd_maybe(oldfd) && !shim_fd_maybe(newfd))) {
		nfd = REAL(dup2)(oldfd, newfd);
		return nfd;
	}
	return dup_common(DUP2, oldfd, newfd, 0, NULL);
}

SHIM_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	if (likely(!shim_fd_maybe(oldfd) && !shim_fd_maybe(newfd)))
		return REAL(dup3)(oldfd, newfd, flags);
	return dup_common(DUP3, oldfd, newfd, flags, NULL);
}

static int fcntl_common(int (*real_fcntl)(int, int, ...), int fd, int cmd, void *arg)
{
	int nfd;

	if (cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC) {
		if (unlikely(shim_fd_maybe(fd)))
			SHIM_DBG(1, "fcntl(%d, %d) on the placeholder", fd, cmd);
		return real_fcntl(fd, cmd, arg);
	}
	if (likely(!shim_fd_maybe(fd))) {
		nfd = real_fcntl(fd, cmd, arg);
		if (nfd >= 0)
			shim_fd_fresh(nfd);
		return nfd;
	}
	return dup_common(FCNTL_DUPFD, fd, cmd, (int)(long)arg, real_fcntl);
}

SHIM_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	/* Every fcntl argument is an int or a pointer; a pointer-sized read covers both. */
	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(REAL(fcntl), fd, cmd, arg);
}

SHIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(REAL(fcntl64), fd, cmd, arg);
}

/* ---- read/write family --------------------------------------------------------------------- */

enum rw_kind { RW_PLAIN, RW_VECTOR, RW_POSITIONAL };

/* The answer for a shim fd. Returns false when fd is no longer a shim fd (pass through).
 * vfs_read()/vfs_write(): EBADF without FMODE_READ/WRITE, then EINVAL without a method. */
static bool shim_rw(int fd, bool is_write, enum rw_kind kind, void *buf, size_t len,
		    const struct iovec *iov, int iovcnt, off_t off, ssize_t *ret)
{
	struct shim_file *file;
	ssize_t rc;
	int fmode, err;

	shim_gate_enter();
	file = shim_fget(fd, &err);
	if (!file) {
		shim_gate_exit();
		if (!err)
			return false;
		*ret = ret_errno(err);
		return true;
	}
	fmode = (file->open_flags + 1) & O_ACCMODE; /* the kernel's OPEN_FMODE(): 1 R, 2 W */
	if (!(fmode & (is_write ? 2 : 1))) {
		rc = -EBADF;
	} else if (is_write ? !file->ops->write : !file->ops->read) {
		rc = -EINVAL;
	} else if (kind == RW_POSITIONAL) {
		/* without a positional method the file cannot seek (no FMODE_PREAD): ESPIPE */
		if (is_write ? !file->ops->pwrite : !file->ops->pread)
			rc = -ESPIPE;
		else
			rc = is_write ? file->ops->pwrite(file, buf, len, off)
				      : file->ops->pread(file, buf, len, off);
	} else if (kind == RW_VECTOR) {
		int i;

		rc = 0;
		for (i = 0; i < iovcnt; i++) {
			ssize_t n = is_write
				? file->ops->write(file, iov[i].iov_base, iov[i].iov_len)
				: file->ops->read(file, iov[i].iov_base, iov[i].iov_len);
			if (n < 0) {
				if (rc == 0)
					rc = n;
				break;
			}
			rc += n;
			if ((size_t)n < iov[i].iov_len)
				break;
		}
	} else {
		rc = is_write ? file->ops->write(file, buf, len) : file->ops->read(file, buf, len);
	}
	shim_fput(file);
	shim_gate_exit();
	SHIM_DBG(1, "%s(%d, %zu) = %zd%s%s", is_write ? "write" : "read", fd, len,
		 rc < 0 ? (ssize_t)-1 : rc, rc < 0 ? " " : "", rc < 0 ? strerror((int)-rc) : "");
	*ret = ret_errno(rc);
	return true;
}

SHIM_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	ssize_t ret;

	if (likely(!shim_fd_maybe(fd)) || !shim_rw(fd, false, RW_PLAIN, buf, len, NULL, 0, 0, &ret))
		return REAL(read)(fd, buf, len);
	return ret;
}

SHIM_EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen);
ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	ssize_t ret;

	if (likely(!shim_fd_maybe(fd)) || len > buflen ||
	    !shim_rw(fd, false, RW_PLAIN, buf, len, NULL, 0, 0, &ret))
		return REAL(read_chk)(fd, buf, len, buflen); /* also its overflow abort */
	return ret;
}

SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	ssize_t ret;

	if (likely(!shim_fd_maybe(fd)) ||
	    !shim_rw(fd, true, RW_PLAIN, (void *)buf, len, NULL, 0, 0, &ret))
		return REAL(write)(fd, buf, len);
	return ret;
}

SHIM_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	ssize_t ret;

	if (likely(!shim_fd_maybe(fd)) || !shim_rw(fd, false, RW_VECTOR, NULL, 0, iov, iovcnt, 0, &ret))
		return REAL(readv)(fd, iov, iovcnt);
	return ret;
}

SHIM_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	ssize_t ret;

	if (likely(!shim_fd_maybe(fd)) || !shim_rw(fd, true, RW_VECTOR, NULL, 0, iov, iovcnt, 0, &ret))
		return REAL(writev)(fd, iov, iovcnt);
	return ret;
}

SHIM_EXPORT ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	ssize_t ret;

	if (likely(!shim_fd_maybe(fd)) || !shim_rw(fd, false, RW_POSITIONAL, buf, len, NULL, 0, off, &ret))
		return REAL(pread)(fd, buf, len, off);
	return ret;
}

SHIM_EXPORT ssize_t pread64(int fd, void *buf, size_t len, off64_t off)
{
	ssize_t ret;

	if (likely(!shim_fd_maybe(fd)) || !shim_rw(fd, false, RW_POSITIONAL, buf, len, NULL, 0, off, &ret))
		return REAL(pread64)(fd, buf, len, off);
	return ret;
}

SHIM_EXPORT ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t ret;

	if (likely(!shim_fd_maybe(fd)) ||
	    !shim_rw(fd, true, RW_POSITIONAL, (void *)buf, len, NULL, 0, off, &ret))
		return REAL(pwrite)(fd, buf, len, off);
	return ret;
}

SHIM_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
	ssize_t ret;

	if (likely(!shim_fd_maybe(fd)) ||
	    !shim_rw(fd, true, RW_POSITIONAL, (void *)buf, len, NULL, 0, off, &ret))
		return REAL(pwrite64)(fd, buf, len, off);
	return ret;
}

/* ---- mmap ----------------------------------------------------------------------------------- */

/* Returns false when fd is no longer a shim fd. do_mmap(): EINVAL for length 0, EACCES when the
 * access mode forbids the mapping, then ENODEV for a file without an mmap method. */
static bool shim_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off, void **ret)
{
	struct shim_file *file;
	void *out = MAP_FAILED;
	int fmode, rc, err;

	shim_gate_enter();
	file = shim_fget(fd, &err);
	if (!file) {
		shim_gate_exit();
		if (!err)
			return false;
		errno = -err;
		*ret = MAP_FAILED;
		return true;
	}
	fmode = (file->open_flags + 1) & O_ACCMODE;
	if (len == 0)
		rc = -EINVAL;
	else if (!(fmode & 1))
		rc = -EACCES;
	else if ((flags & MAP_TYPE) != MAP_PRIVATE && (prot & PROT_WRITE) && !(fmode & 2))
		rc = -EACCES;
	else if (!file->ops->mmap)
		rc = -ENODEV;
	else
		rc = file->ops->mmap(file, addr, len, prot, flags, off, &out);
	shim_fput(file);
	shim_gate_exit();
	SHIM_DBG(1, "mmap(fd %d, %zu) = %s", fd, len, rc ? strerror(-rc) : "ok");
	if (rc) {
		errno = -rc;
		out = MAP_FAILED;
	}
	*ret = out;
	return true;
}

SHIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *ret;

	if (likely((flags & MAP_ANONYMOUS) || !shim_fd_maybe(fd)) ||
	    !shim_mmap(addr, len, prot, flags, fd, off, &ret))
		return REAL(mmap)(addr, len, prot, flags, fd, off);
	return ret;
}

SHIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	void *ret;

	if (likely((flags & MAP_ANONYMOUS) || !shim_fd_maybe(fd)) ||
	    !shim_mmap(addr, len, prot, flags, fd, off, &ret))
		return REAL(mmap64)(addr, len, prot, flags, fd, off);
	return ret;
}

/* ---- opendir: the debugfs stand-in of the fault-injection switches (failnth.c) --------------- */

SHIM_EXPORT DIR *opendir(const char *path)
{
	const char *instead = failnth_debugfs_redirect(path);

	if (instead && shim_debug)
		shim_log("opendir(%s): the shim's fault-injection stand-in %s", path, instead);
	return REAL(opendir)(instead ? instead : path);
}
