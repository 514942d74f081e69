/* run_child.h — running a tool or client as a child process in tests: its stdout, stderr and
 * exit status, with a deadline (RUN_TIMEOUT_S, defined by the includer before this header).
 * The child gets this process's environment minus LD_PRELOAD and IOASID_*, plus `env`. */
#ifndef IOASID_TESTS_RUN_CHILD_H
#define IOASID_TESTS_RUN_CHILD_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef RUN_TIMEOUT_S
#define RUN_TIMEOUT_S 90
#endif

extern char **environ;


struct run {
	int status; /* exit status, 128 + signal, or -1 on timeout */
	char *out;
	char *err;
};

struct buf {
	char *p;
	size_t len, cap;
};

static inline void buf_append(struct buf *b, const char *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		cr_assert_not_null(b->p);
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run argv (argv[0] a path) with this process's environment minus LD_PRELOAD and IOASID_*,
 * plus `env` (NULL-terminated "NAME=value" list, may be NULL). stdin is /dev/null; only fds
 * 0-2 are inherited, so the child's fd numbers are deterministic. */
static inline void run_v(struct run *r, const char *const *env, const char *const *argv)
{
	struct buf out = { 0 }, err = { 0 };
	int po[2], pe[2], status, open_pipes = 2;
	const char *envp[512];
	size_t n = 0, i;
	double deadline;
	pid_t pid;

	for (i = 0; environ[i] && n < 480; i++) {
		if (!strncmp(environ[i], "LD_PRELOAD=", 11) || !strncmp(environ[i], "IOASID_", 7))
			continue;
		envp[n++] = environ[i];
	}
	for (i = 0; env && env[i] && n < 510; i++)
		envp[n++] = env[i];
	envp[n] = NULL;

	cr_assert_eq(pipe2(po, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(pe, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		dup2(nul, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		closefrom(3);
		execve(argv[0], (char *const *)argv, (char *const *)envp);
		dprintf(2, "execve %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);

	deadline = now_s() + RUN_TIMEOUT_S;
	while (open_pipes) {
		struct pollfd pfd[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
		char chunk[4096];
		int k;

		if (now_s() > deadline)
			break;
		if (poll(pfd, 2, 1000) < 0 && errno != EINTR)
			break;
		for (k = 0; k < 2; k++) {
			ssize_t got;

			if (pfd[k].fd < 0 || !(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			got = read(pfd[k].fd, chunk, sizeof(chunk));
			if (got > 0) {
				buf_append(k ? &err : &out, chunk, (size_t)got);
			} else if (got == 0 || errno != EINTR) {
				close(k ? pe[0] : po[0]);
				if (k)
					pe[0] = -1;
				else
					po[0] = -1;
				open_pipes--;
			}
		}
	}
	if (open_pipes) {
		kill(pid, SIGKILL);
		if (po[0] >= 0)
			close(po[0]);
		if (pe[0] >= 0)
			close(pe[0]);
	}
	waitpid(pid, &status, 0);
	if (open_pipes)
		r->status = -1;
	else if (WIFEXITED(status))
		r->status = WEXITSTATUS(status);
	else
		r->status = 128 + WTERMSIG(status);
	buf_append(&out, "", 0);
	buf_append(&err, "", 0);
	r->out = out.p;
	r->err = err.p;
}

#define ARGV(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define ENV(...)  ((const char *const[]){ __VA_ARGS__, NULL })

static inline void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static inline void assert_status(const struct run *r, int want)
{
	cr_assert_eq(r->status, want, "exit status %d, expected %d\n--- stdout:\n%s--- stderr:\n%s",
		     r->status, want, r->out, r->err);
}

static inline void assert_contains(const char *text, const char *needle, const char *what)
{
	cr_assert_not_null(strstr(text, needle), "%s lacks \"%s\"; it is:\n%s", what, needle, text);
}

/* A built binary beside this test: `rel` from build/tests, `alt` from build/asan/tests. */
static inline void run_locate(const char *rel, const char *alt, char out[PATH_MAX])
{
	char self[PATH_MAX - 64], try_[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	cr_assert_gt(n, 0);
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(try_, sizeof(try_), "%s/%s", self, rel);
	if (access(try_, X_OK))
		snprintf(try_, sizeof(try_), "%s/%s", self, alt);
	cr_assert_not_null(realpath(try_, out), "%s not built: run 'make'", rel);
}

/* The whole of a file the tool wrote (malloc'd, NUL-terminated); NULL if it cannot be
 * opened (errno says why). */
static inline char *run_slurp(const char *path)
{
	FILE *f = fopen(path, "r"), *m;
	char *text = NULL;
	size_t len = 0;
	int c;

	if (!f)
		return NULL;
	m = open_memstream(&text, &len);
	cr_assert_not_null(m);
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	fclose(f);
	return text;
}

/* A fresh empty file /tmp/ioasid-TOOL-WHAT-XXXXXX; the name stays valid for the next five
 * calls. */
static inline char *run_tmp_path(const char *tool, const char *what)
{
	static char paths[6][80];
	static int next;
	char *p = paths[next++ % 6];
	int fd;

	snprintf(p, sizeof(paths[0]), "/tmp/ioasid-%s-%s-XXXXXX", tool, what);
	fd = mkstemp(p);
	cr_assert_geq(fd, 0);
	close(fd);
	return p;
}

#endif
