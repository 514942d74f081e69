/* shim.h — private interfaces of the LD_PRELOAD interposer (libioasid-preload.so).
 *
 * Three parts, one file each:
 *   fdtable.c    the "open file" objects (struct shim_file), the fd → file table, the fork gate
 *   nodes.c      the device-node table {path, open_fn} and the path normaliser; one open path
 *   iommufd.c    the /dev/iommu node: one reference context per open file
 *   vfio.c       the VFIO nodes (device cdevs, groups, the type1 container)
 *   failnth.c    the kernel's fault-injection files, served from the reference's fail-nth
 *   interpose.c  the libc entry points (open*, ioctl, close*, dup*, fcntl*, read/write, mmap)
 *
 * A device node is added by writing a `struct shim_node` (path + open_fn) and a
 * `struct shim_file_ops`; nothing in interpose.c or fdtable.c changes. VFIO nodes
 * (/dev/vfio/devices/vfioN, /dev/vfio/N, /dev/vfio/vfio) are meant to come in that way; they can
 * resolve an iommufd fd number passed inside an ioctl struct with shim_fget()/shim_fput().
 */
#ifndef IOASID_SHIM_H
#define IOASID_SHIM_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#define SHIM_EXPORT __attribute__((visibility("default")))

/* The table covers every fd the kernel can hand out with the default fs.nr_open (2^20).
 * A shim fd that would land above it is refused with EMFILE (logged). */
#define SHIM_FD_MAX (1u << 20)

struct shim_file;

/* Behaviour of one kind of device file. NULL members get the kernel's answer for a file whose
 * file_operations lack that method: read/write → EINVAL, mmap → ENODEV, ioctl → ENOTTY. */
struct shim_file_ops {
	const char *name; /* for logs: "iommufd" */
	/* Returns >= 0 (the ioctl's return value) or -errno. */
	long (*ioctl)(struct shim_file *file, unsigned long cmd, void *arg);
	ssize_t (*read)(struct shim_file *file, void *buf, size_t len);
	ssize_t (*write)(struct shim_file *file, const void *buf, size_t len);
	/* Positional I/O (pread/pwrite and their 64 forms); NULL: ESPIPE (no FMODE_PREAD). */
	ssize_t (*pread)(struct shim_file *file, void *buf, size_t len, off_t off);
	ssize_t (*pwrite)(struct shim_file *file, const void *buf, size_t len, off_t off);
	/* Returns 0 and the mapping in *out, or -errno. */
	int (*mmap)(struct shim_file *file, void *addr, size_t len, int prot, int flags,
		    off_t offset, void **out);
	/* The last reference went: undo what open_fn set up. Called once, inside the fork gate. */
	void (*release)(struct shim_file *file);
};

/* An open file: what open() of a device node creates and what dup() shares. Reference counted:
 * one reference per fd slot that points to it, one per call in flight. Memory is type-stable
 * (recycled through a free list, never returned to malloc) so that shim_fget() may touch
 * `refs` of a file that is concurrently being released; see fdtable.c. */
struct shim_file {
	atomic_uint refs;
	const struct shim_file_ops *ops;
	void *priv;        /* the node's state, e.g. struct ioasid_ctx * */
	int open_flags;    /* flags given to open(): O_ACCMODE decides EBADF vs EINVAL */
	char path[64];     /* the node path, for logs */
	struct shim_file *free_next;
};

/* A device node. `path` is absolute and normalised ("/dev/iommu"). `match` (optional) accepts
 * other normalised paths, e.g. a prefix plus a number; NULL means "exactly `path`".
 * `open` fills file->ops and file->priv, returns 0 or -errno. It runs inside the fork gate. */
struct shim_node {
	const char *path;
	bool (*match)(const struct shim_node *node, const char *normalised);
	int (*open)(const struct shim_node *node, const char *path, int flags,
		    struct shim_file *file);
};

/* ---- nodes.c ----------------------------------------------------------------------------- */
/* The node that `path` (as given to openat(dirfd, path)) names, or NULL. Cheap for paths that
 * cannot be device nodes. */
const struct shim_node *shim_node_lookup(int dirfd, const char *path);
/* Create the file, the placeholder fd and install it. Returns the fd or -errno. */
int shim_node_open(const struct shim_node *node, const char *path, int flags);

/* ---- iommufd.c ------------------------------------------------------------------------------- */
int iommufd_node_open(const struct shim_node *node, const char *path, int flags,
		      struct shim_file *file);

/* ---- vfio.c: /dev/vfio/devices/vfioN, /dev/vfio/N, /dev/vfio/vfio ------------------------- */
bool vfio_cdev_node_match(const struct shim_node *node, const char *normalised);
bool vfio_group_node_match(const struct shim_node *node, const char *normalised);
int vfio_cdev_node_open(const struct shim_node *node, const char *path, int flags,
			struct shim_file *file);
int vfio_group_node_open(const struct shim_node *node, const char *path, int flags,
			 struct shim_file *file);
int vfio_container_node_open(const struct shim_node *node, const char *path, int flags,
			     struct shim_file *file);

/* ---- fdtable.c ------------------------------------------------------------------------------- */
extern _Atomic(struct shim_file *) shim_slots[SHIM_FD_MAX];

/* The fast path for every interposed call: one relaxed atomic load. false means "not ours":
 * pass the call through. true means "maybe ours": take the slow path (shim_fget()). */
static inline bool shim_fd_maybe(int fd)
{
	return (unsigned int)fd < SHIM_FD_MAX &&
	       atomic_load_explicit(&shim_slots[fd], memory_order_relaxed) != NULL;
}

struct shim_file *shim_file_alloc(void);          /* refs = 0, not visible yet; NULL: ENOMEM */
void shim_file_publish(struct shim_file *file);   /* refs = 1: the caller's reference */
void shim_file_discard(struct shim_file *file);   /* never published: back to the free list */
/* +1 reference on fd's file. NULL with *err == 0: not a shim fd (pass the call through);
 * NULL with *err == -EBADF: the fd is being closed by another thread (fail the call with
 * EBADF, as the kernel does once close() has begun). */
struct shim_file *shim_fget(int fd, int *err);
void shim_fput(struct shim_file *file);           /* -1; the last one releases */
/* Point `fd` at `file` (consumes one reference of the caller; NULL clears the slot) and drop
 * the reference the slot held before, if any. Returns -EMFILE if fd is beyond the table. */
int shim_fd_install(int fd, struct shim_file *file);
/* Clear `fd`'s slot; returns the file it held (the caller owns that reference) or NULL. */
struct shim_file *shim_fd_take(int fd);
/* close() of a shim fd in two steps around the real close: begin marks the slot "closing"
 * (calls on the fd fail with EBADF, none reaches the placeholder) and returns the file whose
 * reference the caller now owns; end clears the mark unless the number was reused meanwhile.
 * `token` is any 8-byte-aligned address unique to this close (a local variable). */
struct shim_file *shim_fd_close_begin(int fd, void *token);
void shim_fd_close_end(int fd, void *token, struct shim_file *restore);
/* One past the highest fd that ever held a file: range operations stop there. */
unsigned int shim_fd_high_water(void);
/* After a pass-through call created `fd`: a slot left over from an fd closed behind our back
 * (raw syscall, fclose of an fdopen'ed shim fd) must not capture it. */
void shim_fd_fresh(int fd);

/* True in a vfork() child (or any clone sharing our memory without running the atfork
 * handlers): its fd table is its own but shim_slots[] is the parent's, so fd-table changes
 * there (close, closefrom, dup2 before exec) must pass through without touching the slots.
 * One getpid() call: used on the slow path of fd-table changes only. */
bool shim_foreign_process(void);

/* The fork gate: every operation on a shim file runs between enter and exit. fork() waits for
 * them to drain (pthread_atfork) so the child's copy of the reference holds no lock and no
 * half-done operation. Recursive in one thread. */
void shim_gate_enter(void);
void shim_gate_exit(void);

/* ---- failnth.c: the kernel's fault-injection files (fail-nth, the debugfs switches) ------------ */
bool failnth_node_match(const struct shim_node *node, const char *normalised);
int failnth_node_open(const struct shim_node *node, const char *path, int flags,
		      struct shim_file *file);
/* The directory opendir() opens instead of `path` ("/sys/kernel/debug"), or NULL. */
const char *failnth_debugfs_redirect(const char *path);

/* ---- interpose.c: the next definitions of the interposed functions --------------------------- */
struct shim_real {
	int (*open)(const char *, int, ...);
	int (*open64)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*openat64)(int, const char *, int, ...);
	int (*open_2)(const char *, int);
	int (*open64_2)(const char *, int);
	int (*openat_2)(int, const char *, int);
	int (*openat64_2)(int, const char *, int);
	int (*ioctl)(int, unsigned long, ...);
	int (*close)(int);
	int (*close_range)(unsigned int, unsigned int, int);
	void (*closefrom)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*read_chk)(int, void *, size_t, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*pread)(int, void *, size_t, off_t);
	ssize_t (*pread64)(int, void *, size_t, off64_t);
	ssize_t (*pwrite)(int, const void *, size_t, off_t);
	ssize_t (*pwrite64)(int, const void *, size_t, off64_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	void *(*mmap64)(void *, size_t, int, int, int, off64_t);
	void *(*opendir)(const char *); /* DIR *, kept opaque here */
};
extern struct shim_real shim_real;
void shim_real_resolve(void);
/* The real function, resolved on first use (a constructor of another library may call us
 * before ours ran). */
#define REAL(fn) (__builtin_expect(shim_real.fn != NULL, 1) ? shim_real.fn \
		  : (shim_real_resolve(), shim_real.fn))

/* ---- logging (interpose.c) ------------------------------------------------------------------- */
/* IOASID_SHIM_DEBUG: 0 off; 1 every call that reaches a shim file or a device node; 2 also
 * every pass-through call of an interposed function. Lines go to fd 2 with a raw write(2), so
 * logging never re-enters the interposer. */
extern int shim_debug;
void shim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void shim_err(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* always printed */
#define SHIM_DBG(level, ...) \
	do { if (__builtin_expect(shim_debug >= (level), 0)) shim_log(__VA_ARGS__); } while (0)

#endif
