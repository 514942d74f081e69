/* anon_fd.c — file descriptors the reference hands out itself: the fault queue fd of
 * IOMMU_FAULT_QUEUE_ALLOC and the selftest's access fds (the kernel's anon_inode files).
 *
 * Each is a real eventfd so that poll()/select()/epoll report readiness natively: the owner
 * calls ref_anon_fd_set_ready() and the eventfd counter follows (non-zero = readable). Reads,
 * writes and the final close are routed here: the LD_PRELOAD shim registers a hook
 * (ioasid_anon_fd_set_hook) and installs every new fd in its own fd table so that the program's
 * read()/write()/close() reach ioasid_fd_read/_write/_close; a program linked directly against
 * the library calls those itself.
 *
 * The table is process-wide, indexed by fd number, guarded by one mutex; entries are looked up
 * and pinned (users) so that a release waits for calls in flight on other threads.
 */
#include "reference/ref_private.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

struct anon_file {
	const struct ref_anon_fd_ops *ops;
	void *priv;
	uint32_t users;        /* calls in flight */
	bool closing;
	bool ready;
};

static pthread_mutex_t anon_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t anon_idle = PTHREAD_COND_INITIALIZER;
static struct anon_file **anon_table;
static unsigned int anon_nr;
static void (*anon_hook)(int fd, const char *name);

void ioasid_anon_fd_set_hook(void (*hook)(int fd, const char *name))
{
	pthread_mutex_lock(&anon_lock);
	anon_hook = hook;
	pthread_mutex_unlock(&anon_lock);
}

int ref_anon_fd_create(const struct ref_anon_fd_ops *ops, void *priv)
{
	struct anon_file *f, *stale;
	void (*hook)(int, const char *);
	int fd;

	f = ioasid_zalloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->ops = ops;
	f->priv = priv;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		int err = -errno;

		ioasid_free(f);
		return err;
	}
	pthread_mutex_lock(&anon_lock);
	if ((unsigned int)fd >= anon_nr) {
		unsigned int nr = anon_nr ? anon_nr : 64;
		struct anon_file **t;

		while (nr <= (unsigned int)fd)
			nr *= 2;
		t = realloc(anon_table, nr * sizeof(*t));  /* process-lifetime table: not counted */
		if (!t) {
			pthread_mutex_unlock(&anon_lock);
			close(fd);
			ioasid_free(f);
			return -ENOMEM;
		}
		memset(t + anon_nr, 0, (nr - anon_nr) * sizeof(*t));
		anon_table = t;
		anon_nr = nr;
	}
	stale = anon_table[fd];     /* its number was closed behind our back and reused */
	anon_table[fd] = f;
	hook = anon_hook;
	pthread_mutex_unlock(&anon_lock);
	if (stale) {
		if (stale->ops->release)
			stale->ops->release(stale->priv);
		ioasid_free(stale);
	}
	if (hook)
		hook(fd, ops->name);
	return fd;
}

static struct anon_file *anon_get(int fd)
{
	struct anon_file *f = NULL;

	pthread_mutex_lock(&anon_lock);
	if (fd >= 0 && (unsigned int)fd < anon_nr && anon_table[fd] && !anon_table[fd]->closing) {
		f = anon_table[fd];
		f->users++;
	}
	pthread_mutex_unlock(&anon_lock);
	return f;
}

static void anon_put(struct anon_file *f)
{
	pthread_mutex_lock(&anon_lock);
	if (--f->users == 0)
		pthread_cond_broadcast(&anon_idle);
	pthread_mutex_unlock(&anon_lock);
}

void ref_anon_fd_set_ready(int fd, bool ready)
{
	uint64_t v;

	/* The eventfd counter is ours, never the program's: raw syscalls, because under the shim
	 * read()/write() on this fd are routed back to ioasid_fd_read/_write, which would wait
	 * for anon_lock held here (a fault reported through the shim deadlocked). */
	pthread_mutex_lock(&anon_lock);
	if (fd >= 0 && (unsigned int)fd < anon_nr && anon_table[fd] &&
	    anon_table[fd]->ready != ready) {
		anon_table[fd]->ready = ready;
		if (ready) {
			v = 1;
			if (syscall(SYS_write, fd, &v, sizeof(v)) != sizeof(v)) {
				/* counter full: still readable */
			}
		} else if (syscall(SYS_read, fd, &v, sizeof(v)) != sizeof(v)) {
			/* already zero */
		}
	}
	pthread_mutex_unlock(&anon_lock);
}

long ioasid_fd_read(int fd, void *buf, size_t len)
{
	struct anon_file *f = anon_get(fd);
	long rc;

	if (!f)
		return -EBADF;
	rc = f->ops->read ? f->ops->read(f->priv, buf, len) : -EINVAL;
	anon_put(f);
	return rc;
}

long ioasid_fd_write(int fd, const void *buf, size_t len)
{
	struct anon_file *f = anon_get(fd);
	long rc;

	if (!f)
		return -EBADF;
	rc = f->ops->write ? f->ops->write(f->priv, buf, len) : -EINVAL;
	anon_put(f);
	return rc;
}

static int anon_release(int fd, bool do_close)
{
	struct anon_file *f;

	pthread_mutex_lock(&anon_lock);
	if (fd < 0 || (unsigned int)fd >= anon_nr || !anon_table[fd] || anon_table[fd]->closing) {
		pthread_mutex_unlock(&anon_lock);
		return -EBADF;
	}
	f = anon_table[fd];
	f->closing = true;
	while (f->users)
		pthread_cond_wait(&anon_idle, &anon_lock);
	anon_table[fd] = NULL;
	pthread_mutex_unlock(&anon_lock);
	if (f->ops->release)
		f->ops->release(f->priv);
	ioasid_free(f);
	if (do_close)
		return close(fd) ? -errno : 0;
	return 0;
}

int ioasid_fd_close(int fd)
{
	return anon_release(fd, true);
}

int ioasid_fd_release(int fd)
{
	return anon_release(fd, false);
}
