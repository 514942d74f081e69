/* fdtable.c — open-file objects, the fd → file table and the fork gate of the interposer.
 *
 * Owns: shim_slots[] (one atomic pointer per fd number), the free list of struct shim_file,
 * the high-water mark of shim fds, the fork gate and its pthread_atfork handlers.
 *
 * Invariants
 *  - A non-NULL slot holds one reference to its file; so does every call in flight on it.
 *    The file is released (ops->release, then back to the free list) exactly once, by whoever
 *    drops the last reference, like the kernel's fput() → release(). So dup()s share one
 *    context, and the context is closed when the last fd and the last ioctl in flight go.
 *  - struct shim_file memory is type-stable: recycled through the free list, never freed.
 *    shim_fget() may therefore try to take a reference on a file that another thread is
 *    releasing: refs == 0 refuses it, and re-reading the slot after the increment catches a file
 *    that was released and reused meanwhile (the scheme of the kernel's __fget_files_rcu with
 *    SLAB_TYPESAFE_BY_RCU files).
 *  - A file becomes visible (refs 0 → 1, release store) only after its ops and priv are set.
 *  - A non-shim fd costs one relaxed atomic load (shim_fd_maybe()); nothing here locks for it.
 *  - A slot is NULL, a file, or a "closing" mark (a caller's token with bit 0 set) while
 *    close()/close_range() runs the real close: calls on the fd then fail with EBADF instead of
 *    reaching the placeholder, and a mark never holds a reference.
 *
 * Locking
 *  - slots and file->refs: atomics only.
 *  - free_lock (mutex): the free list; taken on open and on the final release only.
 *  - gate (rwlock, writer-preferring so fork cannot starve): held shared by every operation on a
 *    shim file (see shim_gate_enter()), exclusively by fork()'s prepare handler. While fork holds
 *    it, no thread is inside the reference module through the shim, so the child's copy holds no
 *    lock and no half-done operation. Lock order: gate → free_lock → the reference's own locks.
 *  - Recursion: the gate is re-entrant per thread (a depth counter), because a release or a
 *    node's ioctl may close or dup shim fds itself.
 *
 * fork(): the child gets a copy-on-write snapshot of everything here and of every reference
 * context; from then on parent and child change their own copies (the kernel would share one
 * context between them). _Fork(), vfork() and posix_spawn() run no atfork handlers; their
 * children must only exec or _exit, as POSIX requires anyway. A vfork() child shares this
 * memory with its parent: its close()/closefrom()/dup2() before exec act on its own fd table
 * only and leave the slots alone (shim_foreign_process()); an ioctl it issues acts on the
 * parent's context, as the kernel's shared file would.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Atomic(struct shim_file *) shim_slots[SHIM_FD_MAX];
static atomic_uint high_water;

static pthread_mutex_t free_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shim_file *free_list;

static pthread_rwlock_t gate = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static __thread unsigned int gate_depth;
/* Set by the prepare handler when it took the gate (not taken if fork() was called from inside
 * the gate, e.g. from a signal handler that interrupted a shim call: waiting would deadlock). */
static bool fork_holds_gate;
/* The process whose fd table shim_slots[] describes: set at load and in each fork child. */
static pid_t owner_pid;

/* ---- files ------------------------------------------------------------------------------- */

struct shim_file *shim_file_alloc(void)
{
	struct shim_file *file;

	pthread_mutex_lock(&free_lock);
	file = free_list;
	if (file)
		free_list = file->free_next;
	pthread_mutex_unlock(&free_lock);

	if (!file) {
		file = calloc(1, sizeof(*file));
		if (!file)
			return NULL;
		atomic_init(&file->refs, 0);
	}
	/* refs is 0 here: a racing shim_fget() that still holds this pointer refuses it. */
	file->ops = NULL;
	file->priv = NULL;
	file->open_flags = 0;
	file->path[0] = '\0';
	file->free_next = NULL;
	return file;
}

static void file_free(struct shim_file *file)
{
	pthread_mutex_lock(&free_lock);
	file->free_next = free_list;
	free_list = file;
	pthread_mutex_unlock(&free_lock);
}

void shim_file_publish(struct shim_file *file)
{
	atomic_store_explicit(&file->refs, 1, memory_order_release);
}

void shim_file_discard(struct shim_file *file)
{
	file_free(file);
}

static bool file_get_unless_zero(struct shim_file *file)
{
	unsigned int refs = atomic_load_explicit(&file->refs, memory_order_relaxed);

	do {
		if (refs == 0)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&file->refs, &refs, refs + 1,
							memory_order_acquire,
							memory_order_relaxed));
	return true;
}

static inline bool slot_is_mark(const struct shim_file *p)
{
	return (uintptr_t)p & 1;
}

static inline struct shim_file *closing_mark(void *token)
{
	return (struct shim_file *)((uintptr_t)token | 1);
}

struct shim_file *shim_fget(int fd, int *err)
{
	struct shim_file *file;

	*err = 0;
	if ((unsigned int)fd >= SHIM_FD_MAX)
		return NULL;
	for (;;) {
		file = atomic_load_explicit(&shim_slots[fd], memory_order_acquire);
		if (!file)
			return NULL;
		if (slot_is_mark(file)) {
			*err = -EBADF;
			return NULL;
		}
		if (!file_get_unless_zero(file))
			continue; /* being released: the slot has changed or will */
		if (atomic_load_explicit(&shim_slots[fd], memory_order_acquire) == file)
			return file;
		shim_fput(file); /* recycled for another fd meanwhile */
	}
}

void shim_fput(struct shim_file *file)
{
	if (atomic_fetch_sub_explicit(&file->refs, 1, memory_order_acq_rel) != 1)
		return;
	shim_gate_enter();
	SHIM_DBG(1, "release %s (%s)", file->path, file->ops ? file->ops->name : "?");
	if (file->ops && file->ops->release)
		file->ops->release(file);
	shim_gate_exit();
	file_free(file);
}

/* ---- the table --------------------------------------------------------------------------- */

static void high_water_raise(unsigned int fd)
{
	unsigned int hw = atomic_load_explicit(&high_water, memory_order_relaxed);

	while (hw <= fd && !atomic_compare_exchange_weak_explicit(&high_water, &hw, fd + 1,
								 memory_order_relaxed,
								 memory_order_relaxed))
		;
}

int shim_fd_install(int fd, struct shim_file *file)
{
	struct shim_file *old;

	if ((unsigned int)fd >= SHIM_FD_MAX) {
		if (file) {
			shim_err("fd %d is beyond the shim's table (%u entries): refusing it; "
				 "lower fs.nr_open or RLIMIT_NOFILE", fd, SHIM_FD_MAX);
			shim_fput(file);
			return -EMFILE;
		}
		return 0;
	}
	if (file)
		high_water_raise((unsigned int)fd);
	old = atomic_exchange_explicit(&shim_slots[fd], file, memory_order_acq_rel);
	if (old && !slot_is_mark(old))
		shim_fput(old);
	return 0;
}

struct shim_file *shim_fd_take(int fd)
{
	struct shim_file *old;

	if ((unsigned int)fd >= SHIM_FD_MAX)
		return NULL;
	old = atomic_exchange_explicit(&shim_slots[fd], NULL, memory_order_acq_rel);
	return old && !slot_is_mark(old) ? old : NULL;
}

struct shim_file *shim_fd_close_begin(int fd, void *token)
{
	struct shim_file *old;

	if ((unsigned int)fd >= SHIM_FD_MAX)
		return NULL;
	old = atomic_exchange_explicit(&shim_slots[fd], closing_mark(token), memory_order_acq_rel);
	return old && !slot_is_mark(old) ? old : NULL;
}

void shim_fd_close_end(int fd, void *token, struct shim_file *restore)
{
	struct shim_file *expect = closing_mark(token);

	if ((unsigned int)fd >= SHIM_FD_MAX)
		return;
	/* Fails when the number was reused (a new open or dup2 installed something): leave it. */
	if (!atomic_compare_exchange_strong_explicit(&shim_slots[fd], &expect, restore,
						     memory_order_acq_rel, memory_order_relaxed) &&
	    restore)
		shim_fput(restore); /* could not put it back: its fd is someone else's now */
}

unsigned int shim_fd_high_water(void)
{
	return atomic_load_explicit(&high_water, memory_order_relaxed);
}

void shim_fd_fresh(int fd)
{
	struct shim_file *stale;

	if (__builtin_expect(!shim_fd_maybe(fd), 1) || shim_foreign_process())
		return;
	shim_gate_enter();
	stale = shim_fd_take(fd);
	if (stale) {
		SHIM_DBG(1, "fd %d was closed behind the shim's back (raw syscall or fclose); "
			 "dropping its stale %s reference", fd, stale->path);
		shim_fput(stale);
	}
	shim_gate_exit();
}

bool shim_foreign_process(void)
{
	return getpid() != owner_pid;
}

/* ---- the fork gate ----------------------------------------------------------------------- */

void shim_gate_enter(void)
{
	if (gate_depth++ == 0)
		pthread_rwlock_rdlock(&gate);
}

void shim_gate_exit(void)
{
	if (--gate_depth == 0)
		pthread_rwlock_unlock(&gate);
}

static void atfork_prepare(void)
{
	fork_holds_gate = gate_depth == 0;
	if (fork_holds_gate)
		pthread_rwlock_wrlock(&gate);
	else
		SHIM_DBG(1, "fork() called inside a shim call: the child's snapshot may hold a "
			 "reference-module lock");
	pthread_mutex_lock(&free_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&free_lock);
	if (fork_holds_gate)
		pthread_rwlock_unlock(&gate);
}

static void atfork_child(void)
{
	pthread_rwlockattr_t attr;

	/* The child's only thread owns both locks, but glibc's rwlock records the writer's TID,
	 * which changed: re-initialise instead of unlocking. */
	pthread_mutex_init(&free_lock, NULL);
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&gate, &attr);
	pthread_rwlockattr_destroy(&attr);
	owner_pid = getpid();
	if (gate_depth) /* fork from inside the gate: keep the child's depth consistent */
		pthread_rwlock_rdlock(&gate);
	SHIM_DBG(1, "fork: this child continues with a copy-on-write snapshot of the reference "
		 "state (the kernel would share the contexts with the parent)");
}

__attribute__((constructor)) static void fdtable_init(void)
{
	owner_pid = getpid();
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}
