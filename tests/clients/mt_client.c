/* mt_client.c — an unmodified multithreaded iommufd client.
 *
 *   mt_client stress [N]   4 threads × N (default 10000) IOAS_ALLOC/DESTROY on one fd, while
 *                          one thread dups the fd (dup, dup2, dup3, F_DUPFD_CLOEXEC), uses
 *                          the dup and closes it, and another opens/uses/closes fresh fds
 *   mt_client close-race   2 threads issue ioctls on an fd while the main thread closes it:
 *                          every ioctl either works or fails with EBADF, 200 rounds
 *   mt_client fork [N]     4 threads busy with ioctls while the main thread forks N children
 *                          (default 50); each child must use the fd at once (no lock of the
 *                          parent's busy threads may be held in its copy) and exit
 *
 * Only <linux/iommufd.h>, libc, pthreads, open() and ioctl(). Prints one summary line per
 * check; tests/test_preload.c compares them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/iommufd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 4

static int iommufd;
static uint32_t keep_id;
static atomic_bool stop;
static atomic_long n_ok, n_err, n_dup, n_dup_err, n_open, n_open_err;
static long iterations = 10000;

static int ioas_alloc(int fd, uint32_t *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc = ioctl(fd, IOMMU_IOAS_ALLOC, &cmd);

	*id = cmd.out_ioas_id;
	return rc ? errno : 0;
}

static int ioas_destroy(int fd, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioctl(fd, IOMMU_DESTROY, &cmd) ? errno : 0;
}

/* 0 if IOAS `id` is visible through fd (IOVA_RANGES without an array says EMSGSIZE). */
static int ioas_seen(int fd, uint32_t id)
{
	struct iommu_ioas_iova_ranges cmd = { .size = sizeof(cmd), .ioas_id = id };

	if (ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd) == 0)
		return -1;
	return errno == EMSGSIZE ? 0 : errno;
}

static void *alloc_worker(void *arg)
{
	long i;

	(void)arg;
	for (i = 0; i < iterations; i++) {
		uint32_t id;

		if (ioas_alloc(iommufd, &id) || ioas_destroy(iommufd, id))
			atomic_fetch_add(&n_err, 1);
		else
			atomic_fetch_add(&n_ok, 1);
	}
	return NULL;
}

static void *dup_worker(void *arg)
{
	long k = 0;

	(void)arg;
	do { /* at least one cycle, however the scheduler runs us */
		int d;

		switch (k++ % 4) {
		case 0: d = dup(iommufd); break;
		case 1: d = dup2(iommufd, 200); break;
		case 2: d = dup3(iommufd, 201, O_CLOEXEC); break;
		default: d = fcntl(iommufd, F_DUPFD_CLOEXEC, 100); break;
		}
		if (d < 0 || ioas_seen(d, keep_id) || close(d))
			atomic_fetch_add(&n_dup_err, 1);
		else
			atomic_fetch_add(&n_dup, 1);
	} while (!atomic_load(&stop));
	return NULL;
}

static void *open_worker(void *arg)
{
	(void)arg;
	do {
		int fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
		uint32_t id = 0;

		/* A fresh context: its first IOAS is 1, whatever the shared fd does. */
		if (fd < 0 || ioas_alloc(fd, &id) || id != 1 || close(fd))
			atomic_fetch_add(&n_open_err, 1);
		else
			atomic_fetch_add(&n_open, 1);
	} while (!atomic_load(&stop));
	return NULL;
}

static int stress(void)
{
	pthread_t workers[WORKERS], duper, opener;
	uint32_t id;
	int i;

	iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0 || ioas_alloc(iommufd, &keep_id)) {
		printf("setup: errno=%d\n", errno);
		return 1;
	}
	pthread_create(&duper, NULL, dup_worker, NULL);
	pthread_create(&opener, NULL, open_worker, NULL);
	for (i = 0; i < WORKERS; i++)
		pthread_create(&workers[i], NULL, alloc_worker, NULL);
	for (i = 0; i < WORKERS; i++)
		pthread_join(workers[i], NULL);
	atomic_store(&stop, true);
	pthread_join(duper, NULL);
	pthread_join(opener, NULL);

	printf("stress: alloc/destroy ok=%ld errors=%ld\n", atomic_load(&n_ok),
	       atomic_load(&n_err));
	printf("stress: dup cycles %s errors=%ld\n", atomic_load(&n_dup) > 0 ? ">0" : "=0",
	       atomic_load(&n_dup_err));
	printf("stress: open cycles %s errors=%ld\n", atomic_load(&n_open) > 0 ? ">0" : "=0",
	       atomic_load(&n_open_err));
	printf("stress: kept ioas %s\n", ioas_seen(iommufd, keep_id) ? "lost" : "visible");
	printf("stress: next alloc id=%u\n", ioas_alloc(iommufd, &id) ? 0 : id);
	printf("stress: close=%d\n", close(iommufd));
	return 0;
}

/* ---- close while ioctls are in flight ------------------------------------------------- */

static atomic_int race_fd;
static atomic_long race_unexpected, race_ebadf, race_ok;

static void *race_worker(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = atomic_load(&race_fd);
		uint32_t id;
		int err = ioas_alloc(fd, &id);

		if (!err)
			err = ioas_destroy(fd, id);
		if (!err) {
			atomic_fetch_add(&race_ok, 1);
			continue;
		}
		if (err == EBADF)
			atomic_fetch_add(&race_ebadf, 1);
		else
			atomic_fetch_add(&race_unexpected, 1);
		return NULL;
	}
}

static int close_race(void)
{
	const int rounds = 200;
	int r;

	for (r = 0; r < rounds; r++) {
		pthread_t t[2];
		struct timespec ts = { 0, 20000 * (r % 10) };

		atomic_store(&race_fd, open("/dev/iommu", O_RDWR));
		pthread_create(&t[0], NULL, race_worker, NULL);
		pthread_create(&t[1], NULL, race_worker, NULL);
		nanosleep(&ts, NULL);
		close(atomic_load(&race_fd));
		pthread_join(t[0], NULL);
		pthread_join(t[1], NULL);
	}
	printf("close-race: rounds=%d unexpected=%ld ebadf=%ld\n", rounds,
	       atomic_load(&race_unexpected), atomic_load(&race_ebadf));
	return 0;
}

/* ---- fork while other threads are inside ioctls ----------------------------------------- */

static void *busy_worker(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		uint32_t id;

		if (ioas_alloc(iommufd, &id) || ioas_destroy(iommufd, id))
			atomic_fetch_add(&n_err, 1);
	}
	return NULL;
}

static int fork_busy(int children)
{
	pthread_t workers[WORKERS];
	int i, ok = 0, status;

	iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0 || ioas_alloc(iommufd, &keep_id)) {
		printf("setup: errno=%d\n", errno);
		return 1;
	}
	for (i = 0; i < WORKERS; i++)
		pthread_create(&workers[i], NULL, busy_worker, NULL);
	for (i = 0; i < children; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			uint32_t id;

			alarm(20); /* a deadlock in the child ends it with SIGALRM */
			if (ioas_seen(iommufd, keep_id) || ioas_alloc(iommufd, &id) ||
			    ioas_destroy(iommufd, id) || close(iommufd))
				_exit(1);
			_exit(0);
		}
		if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			ok++;
	}
	atomic_store(&stop, true);
	for (i = 0; i < WORKERS; i++)
		pthread_join(workers[i], NULL);
	printf("fork: children=%d ok=%d\n", children, ok);
	printf("fork: parent errors=%ld kept ioas %s\n", atomic_load(&n_err),
	       ioas_seen(iommufd, keep_id) ? "lost" : "visible");
	close(iommufd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(s, "stress")) {
		if (argc > 2)
			iterations = atol(argv[2]);
		return stress();
	}
	if (!strcmp(s, "close-race"))
		return close_race();
	if (!strcmp(s, "fork"))
		return fork_busy(argc > 2 ? atoi(argv[2]) : 50);
	fprintf(stderr, "usage: mt_client stress [N] | close-race | fork [N]\n");
	return 2;
}
