/* test_preload.c — the LD_PRELOAD shim (uapi-shim/preload) and ioasid-run, end to end.
 *
 * Suite `preload`. Every test runs real child processes: build/bin/ioasid-run starts the
 * unmodified clients of tests/clients/ (built with only -Iuapi-shim) and the test compares what
 * they print. Where the shim's debug log (IOASID_SHIM_DEBUG=1) matters, the clients write
 * "MARK name" lines to stderr, so a test can check that a context is released exactly between
 * two calls.
 *
 * The build tree is found from this binary: build/tests/test_preload → build/bin/ioasid-run,
 * build/tests/clients/; build/asan/tests/test_preload → the same two levels up.
 *
 * The expected output of ioas_client is what a kernel with iommufd gives (no device attached,
 * x86-64, 4 KiB pages): derived from the kernel's rules (io_pagetable.c iopt_alloc_iova(),
 * iopt_unmap_iova_range(), iopt_get_pages(); ioas.c), not from the reference.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


static char run_bin[PATH_MAX];     /* build/bin/ioasid-run */
static char clients_dir[PATH_MAX]; /* build/tests/clients */
static char shim_so[PATH_MAX];     /* build/lib/libioasid-preload.so, resolved */
static char client[4][PATH_MAX + 16]; /* ioas_client, fd_client, mt_client, failnth_client */

enum { IOAS_CLIENT, FD_CLIENT, MT_CLIENT, FAILNTH_CLIENT };

#define RUN_TIMEOUT_S 90
#include "run_child.h"

/* ---- locating the build ----------------------------------------------------------------- */

static bool exists_x(const char *path)
{
	return access(path, X_OK) == 0;
}

static void locate_build(void)
{
	static const char *const ups[] = { "..", "../.." };
	static const char *const names[] = { "ioas_client", "fd_client", "mt_client",
					     "failnth_client" };
	char self[PATH_MAX - 64], try_[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	size_t i;
	char *slash;

	cr_assert_gt(n, 0, "readlink /proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	slash = strrchr(self, '/');
	cr_assert_not_null(slash);
	*slash = '\0'; /* build/tests or build/asan/tests */

	run_bin[0] = '\0';
	for (i = 0; i < sizeof(ups) / sizeof(ups[0]) && !run_bin[0]; i++) {
		snprintf(try_, sizeof(try_), "%s/%s/bin/ioasid-run", self, ups[i]);
		if (exists_x(try_))
			cr_assert_not_null(realpath(try_, run_bin));
	}
	cr_assert(run_bin[0], "ioasid-run not found in %s/../bin or %s/../../bin: run 'make'",
		  self, self);

	snprintf(try_, sizeof(try_), "%s/clients/fd_client", self);
	if (exists_x(try_))
		snprintf(clients_dir, sizeof(clients_dir), "%s/clients", self);
	else
		snprintf(clients_dir, sizeof(clients_dir), "%s/../../tests/clients", self);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(client[i], sizeof(client[i]), "%s/%s", clients_dir, names[i]);
		cr_assert(exists_x(client[i]), "client %s not built: run 'make'", client[i]);
	}

	snprintf(try_, sizeof(try_), "%s", run_bin);
	*strrchr(try_, '/') = '\0';
	strcat(try_, "/../lib/libioasid-preload.so");
	cr_assert_not_null(realpath(try_, shim_so), "%s: %s: run 'make'", try_, strerror(errno));
}

TestSuite(preload, .init = locate_build, .timeout = 150);

/* ---- running a child: tests/run_child.h ---- */

/* ioasid-run [opts...] -- CLIENT args... */
static void run_client(struct run *r, const char *const *env, int which, const char *arg)
{
	if (arg)
		run_v(r, env, ARGV(run_bin, "--", client[which], arg));
	else
		run_v(r, env, ARGV(run_bin, "--", client[which]));
}

/* Compare line by line and name the first line that differs. */
static void assert_lines(const struct run *r, const char *want)
{
	const char *g = r->out, *w = want;
	int line = 1;

	while (*g || *w) {
		size_t gl = strcspn(g, "\n"), wl = strcspn(w, "\n");

		cr_assert(gl == wl && !strncmp(g, w, gl),
			  "stdout line %d differs\n  got:      %.*s\n  expected: %.*s\n"
			  "--- whole stdout:\n%s--- stderr:\n%s",
			  line, (int)gl, g, (int)wl, w, r->out, r->err);
		g += gl + (g[gl] == '\n');
		w += wl + (w[wl] == '\n');
		line++;
	}
}


/* Occurrences of `needle` between the lines "MARK from" and "MARK to" (NULL: start / end). */
static int count_between(const char *text, const char *from, const char *to, const char *needle)
{
	char mark[96];
	const char *start = text, *end = text + strlen(text), *p;
	int count = 0;

	if (from) {
		snprintf(mark, sizeof(mark), "MARK %s\n", from);
		start = strstr(text, mark);
		cr_assert_not_null(start, "no \"%s\" in stderr:\n%s", mark, text);
	}
	if (to) {
		snprintf(mark, sizeof(mark), "MARK %s\n", to);
		end = strstr(start, mark);
		cr_assert_not_null(end, "no \"%s\" in stderr:\n%s", mark, text);
	}
	for (p = strstr(start, needle); p && p < end; p = strstr(p + 1, needle))
		count++;
	return count;
}

#define RELEASE "release /dev/iommu"

/* ---- the unmodified C client vs. the kernel's answers ------------------------------------- */

/* What a kernel with iommufd prints for ioas_client (see its comments for the rules). */
static const char ioas_client_kernel[] =
"open /dev/iommu: rc=0\n"
"IOAS_ALLOC: rc=0 id=1\n"
"IOAS_ALLOC: rc=0 id=2\n"
"IOAS_ALLOC flags=0x1: rc=-1 errno=EOPNOTSUPP\n"
"IOAS_ALLOC size=8: rc=-1 errno=EINVAL\n"
"IOAS_ALLOC size=16 tail=1: rc=-1 errno=E2BIG\n"
"IOAS_ALLOC size=16 tail=0: rc=0 id=3\n"
"DESTROY id=3: rc=0\n"
/* respond() copies the struct back before EMSGSIZE: the count and alignment are valid */
"IOVA_RANGES ioas=1 num_iovas=0: rc=-1 errno=EMSGSIZE num_iovas=1 alignment=0x1\n"
"IOVA_RANGES ioas=1 num_iovas=4: rc=0 num_iovas=1 alignment=0x1 "
	"range[0]=[0x0,0xffffffffffffffff]\n"
"IOVA_RANGES ioas=99 num_iovas=4: rc=-1 errno=ENOENT num_iovas=4 alignment=0x0\n"
"MAP fixed va=A+0x1000 length=0x4000 iova=0x100000: rc=0 iova=0x100000\n"
"MAP fixed overlapping va=A+0x1000 length=0x4000 iova=0x102000: rc=-1 errno=EEXIST\n"
"MAP fixed va=A+0x1000 length=0x1000 iova=0x0: rc=0 iova=0x0\n"
"MAP fixed iova=0xfffffffffffff000 length=0x2000: rc=-1 errno=EOVERFLOW\n"
"MAP no READABLE/WRITEABLE: rc=-1 errno=EINVAL\n"
"MAP unknown flag 0x8: rc=-1 errno=EOPNOTSUPP\n"
"MAP length=0: rc=-1 errno=EINVAL\n"
"MAP ioas=99: rc=-1 errno=ENOENT\n"
/* min(roundup_pow_of_two(0x2000), 0x1000) = 0x1000; first hole from PAGE_SIZE */
"MAP auto va=A+0x1000 length=0x2000: rc=0 iova=0x1000\n"
/* 2 MiB alignment: the hole below 0x100000 is too small, ALIGN(0x104000, 2M) */
"MAP auto va=A+0x200000 length=0x200000: rc=0 iova=0x200000\n"
"MAP auto va=A+0x3000 length=0x3000: rc=0 iova=0x3000\n"
/* 64 KiB alignment: ALIGN(0x6000, 0x10000) */
"MAP auto va=A+0x10000 length=0x10000: rc=0 iova=0x10000\n"
/* alignment 0x800 and the page offset 0x800 kept: ALIGN(0x6000, 0x800) | 0x800 */
"MAP auto va=A+0x1800 length=0x800: rc=0 iova=0x6800\n"
"COPY 1:0x100000+0x4000 -> 2 fixed 0x40000000: rc=0 dst_iova=0x40000000\n"
"COPY 1:0x200000+0x200000 -> 2 auto: rc=0 dst_iova=0x200000\n"
"COPY 1:0x201000+0x1000 -> 2 auto: rc=0 dst_iova=0x1000\n"
"COPY 1:0x1000+0x5000 (two adjacent areas) -> 2 auto: rc=0 dst_iova=0x2000\n"
"COPY 1:0x5000+0x2000 (gap) -> 2 auto: rc=-1 errno=ENOENT\n"
"COPY 1:0x500000+0x1000 (unmapped) -> 2 auto: rc=-1 errno=ENOENT\n"
"COPY no READABLE/WRITEABLE: rc=-1 errno=EINVAL\n"
"COPY 1:0x100000+0x4000 -> 2 fixed 0x40002000 (overlap): rc=-1 errno=EEXIST\n"
"IOVA_RANGES ioas=2 num_iovas=0: rc=-1 errno=EMSGSIZE num_iovas=1 alignment=0x1\n"
"UNMAP ioas=1 iova=0x100000 length=0x2000 (part of an area): rc=-1 errno=ENOENT "
	"length=0x2000\n"
"UNMAP ioas=1 iova=0x7000000 length=0x1000 (nothing): rc=-1 errno=ENOENT length=0x1000\n"
"UNMAP ioas=1 iova=0x1000 length=U64_MAX (overflow): rc=-1 errno=EOVERFLOW "
	"length=0xffffffffffffffff\n"
"UNMAP ioas=1 iova=0x100000 length=0x4000: rc=0 length=0x4000\n"
"UNMAP ioas=1 iova=0x1000 length=0x6000 (three areas): rc=0 length=0x5800\n"
/* the whole area at 0x10000 goes before the 2 MiB area sticks out and ENOENT ends the walk */
"UNMAP ioas=1 iova=0x10000 length=0x1f1000 (one whole, one partial): rc=-1 errno=ENOENT "
	"length=0x1f1000\n"
"UNMAP ioas=1 iova=0x10000 length=0x10000: rc=-1 errno=ENOENT length=0x10000\n"
"UNMAP all ioas=1: rc=0 length=0x201000\n"
"UNMAP all ioas=1 (empty): rc=0 length=0x0\n"
"UNMAP all ioas=2: rc=0 length=0x20a000\n"
"DESTROY id=1: rc=0\n"
"DESTROY id=1 again: rc=-1 errno=ENOENT\n"
"DESTROY id=2: rc=0\n"
"ioctl nr=0xbf (unknown): rc=-1 errno=ENOTTY\n"
"close: rc=0\n";

Test(preload, ioas_client_gives_the_kernels_answers)
{
	struct run r;

	run_client(&r, NULL, IOAS_CLIENT, NULL);
	assert_status(&r, 0);
	assert_lines(&r, ioas_client_kernel);
	cr_assert_str_empty(r.err, "the shim writes nothing unless asked:\n%s", r.err);
	run_free(&r);
}

/* The kernel's fault-injection files (uapi-shim/preload/failnth.c), as a program uses them:
 * the real 6.12 kernel of the testbed prints exactly these lines (scripts/testbed, part diff). */
static const char failnth_client_kernel[] =
	"debugfs: failslab present, fail_page_alloc present, ignore-gfp-wait takes N\n"
	"initial: 0\n"
	"second read: 0 bytes\n"
	"write 7: rc=1 reads 7\n"
	"write +3: rc=3 reads 3\n"
	"write 0x10: rc=4 reads 16\n"
	"write 3 with two newlines: rc=-1 errno=EINVAL\n"
	"write abc: rc=-1 errno=EINVAL\n"
	"write -1: rc=-1 errno=EINVAL\n"
	"write 4294967296: rc=-1 errno=ERANGE\n"
	"write 0: rc=1 reads 0\n"
	"armed at 1, IOAS_ALLOC: ENOMEM, left 0\n"
	"sweep: success with the counter unspent after some failures, 0 other errnos, then "
	"success\n"
	"next IOAS_ALLOC unarmed: rc=0\n";

Test(preload, fail_nth_files_give_the_kernels_answers)
{
	struct run r;
	char dir[] = "/tmp/ioasid-preload-failnth-XXXXXX", env[64];

	cr_assert_not_null(mkdtemp(dir));
	snprintf(env, sizeof(env), "TMPDIR=%s", dir);
	run_client(&r, ENV(env), FAILNTH_CLIENT, NULL);
	assert_status(&r, 0);
	assert_lines(&r, failnth_client_kernel);
	cr_assert_str_empty(r.err, "the shim writes nothing unless asked:\n%s", r.err);
	run_free(&r);
	/* the debugfs stand-in was made under $TMPDIR and went with the process */
	cr_assert_eq(rmdir(dir), 0, "%s is not empty after the client exited: %s", dir,
		     strerror(errno));
}

Test(preload, ioas_client_through_the_dev_ioasid_alias)
{
	struct run r;

	run_client(&r, NULL, IOAS_CLIENT, "/dev/ioasid");
	assert_status(&r, 0);
	cr_assert_eq(strncmp(r.out, "open /dev/ioasid: rc=0\n", 23), 0, "%s", r.out);
	cr_assert_str_eq(strchr(r.out, '\n'), strchr(ioas_client_kernel, '\n'));
	run_free(&r);
}

/* ---- fd semantics --------------------------------------------------------------------- */

static const char *const debug_env[] = { "IOASID_SHIM_DEBUG=1", NULL };

Test(preload, dups_share_one_context_released_by_the_last_close)
{
	struct run r;

	run_client(&r, debug_env, FD_CLIENT, "dup");
	assert_status(&r, 0);
	assert_lines(&r,
		"alloc via fd: id=1\n"
		"dup: ioas 1 visible cloexec=0\n"
		"dup2 -> 10: ret=10 ioas 1 visible cloexec=0\n"
		"dup3 -> 11: ret=11 ioas 1 visible cloexec=1\n"
		"F_DUPFD 20: ret=20 ioas 1 visible cloexec=0\n"
		"F_DUPFD_CLOEXEC 30: ret=30 ioas 1 visible cloexec=1\n"
		"alloc via dup2 fd: id=2\n"
		"ioas 2 via F_DUPFD_CLOEXEC fd: visible\n"
		"destroy 2 via F_DUPFD fd: 0\n"
		"ioas 2 via fd: missing\n"
		"close fd: 0\n"
		"alloc via dup after closing fd: id=2\n"
		"close dups: 0 0 0 0\n"
		"ioas 1 via the last fd: visible\n"
		"close last fd: 0\n"
		"ioctl after close: EBADF\n");
	cr_assert_eq(count_between(r.err, NULL, NULL, RELEASE), 1, "%s", r.err);
	cr_assert_eq(count_between(r.err, "before-last-close", "after-last-close", RELEASE), 1,
		     "%s", r.err);
	run_free(&r);
}

Test(preload, dup2_onto_a_shim_fd_drops_its_reference_first)
{
	struct run r;

	run_client(&r, debug_env, FD_CLIENT, "dup2");
	assert_status(&r, 0);
	assert_lines(&r,
		"alloc a: id=2\n"
		"alloc b: id=1\n"
		"ioas 2 via b: missing\n"
		"dup2(a, b): ret=b\n"
		"ioas 2 via b: visible\n"
		"dup2(pipe, b): ret=b\n"
		"ioctl via b: ENOTTY\n"
		"ioas 2 via a: visible\n"
		"dup2(a, a): ret=a ioas 2 visible\n"
		"dup3(a, a, 0): ret=-1 errno=EINVAL\n"
		"close a: 0\n");
	/* b's own context goes inside dup2(a, b); a's only when its last fd closes */
	cr_assert_eq(count_between(r.err, "before-dup2", "after-dup2", RELEASE), 1, "%s", r.err);
	cr_assert_eq(count_between(r.err, "before-dup2-pipe", "after-dup2-pipe", RELEASE), 0,
		     "%s", r.err);
	cr_assert_eq(count_between(r.err, "before-close-a", "after-close-a", RELEASE), 1, "%s",
		     r.err);
	cr_assert_eq(count_between(r.err, NULL, NULL, RELEASE), 2, "%s", r.err);
	run_free(&r);
}

Test(preload, close_range_and_closefrom_release_shim_fds)
{
	struct run r;

	run_client(&r, debug_env, FD_CLIENT, "close-range");
	assert_status(&r, 0);
	assert_lines(&r,
		"fd order: ok\n"
		"close_range(f1, f2, 0): 0\n"
		"ioctl f1: EBADF\n"
		"pipe fd: EBADF\n"
		"ioctl f2: EBADF\n"
		"ioctl f3: visible\n"
		"close_range(f3, f3, CLOEXEC): 0 cloexec=1\n"
		"ioctl f3: visible\n"
		"reused fd number: yes\n"
		"alloc f4: id=1\n"
		"after closefrom: f3 EBADF, f5 EBADF, f4 visible\n");
	cr_assert_eq(count_between(r.err, "before-close-range", "after-close-range", RELEASE), 2,
		     "%s", r.err);
	cr_assert_eq(count_between(r.err, "before-closefrom", "after-closefrom", RELEASE), 2,
		     "%s", r.err);
	run_free(&r);
}

Test(preload, calls_a_char_device_without_methods_refuses)
{
	struct run r;

	run_client(&r, NULL, FD_CLIENT, "errors");
	assert_status(&r, 0);
	assert_lines(&r,
		"isatty: ret=0 errno=ENOTTY\n"
		"ioctl TCGETS: ret=-1 errno=ENOTTY\n"
		"ioctl FIONREAD: ret=-1 errno=ENOTTY\n"
		"read: ret=-1 errno=EINVAL\n"
		"write: ret=-1 errno=EINVAL\n"
		"pread: ret=-1 errno=EINVAL\n"
		"readv: ret=-1 errno=EINVAL\n"
		"writev: ret=-1 errno=EINVAL\n"
		"mmap shared: MAP_FAILED errno=ENODEV\n"
		"mmap private: MAP_FAILED errno=ENODEV\n"
		"O_RDONLY read: ret=-1 errno=EINVAL\n"
		"O_RDONLY write: ret=-1 errno=EBADF\n"
		"O_RDONLY mmap shared rw: errno=EACCES\n"
		"O_RDONLY ioctl: id=1\n"
		"O_WRONLY read: ret=-1 errno=EBADF\n"
		"O_WRONLY write: ret=-1 errno=EINVAL\n"
		"O_WRONLY mmap: errno=EACCES\n"
		"O_WRONLY ioctl: id=1\n"
		"ioctl FIONBIO: ret=0 O_NONBLOCK=1\n"
		"ioctl FIOCLEX: ret=0 cloexec=1\n"
		"ioctl cmd with upper bits: ret=0 id=1\n"
		"open O_DIRECTORY: ret=-1 errno=ENOTDIR\n"
		"open O_CREAT|O_EXCL: ret=-1 errno=EEXIST\n"
		"open O_PATH: ok\n"
		"O_PATH ioctl: errno=EBADF\n"
		"O_PATH close: 0\n"
		"close: 0\n"
		"close again: ret=-1 errno=EBADF\n"
		"ioctl after close: errno=EBADF\n"
		"read after close: ret=-1 errno=EBADF\n");
	run_free(&r);
}

Test(preload, open_flags_reach_the_placeholder)
{
	struct run r;

	run_client(&r, NULL, FD_CLIENT, "flags");
	assert_status(&r, 0);
	assert_lines(&r,
		"O_CLOEXEC: cloexec=1\n"
		"no O_CLOEXEC: cloexec=0\n"
		"O_NONBLOCK: 1\n"
		"O_NONBLOCK ioctl: id=1\n"
		"O_RDONLY F_GETFL accmode: O_RDONLY\n"
		"O_WRONLY|O_CLOEXEC: accmode O_WRONLY cloexec=1\n"
		"O_RDWR F_GETFL accmode: O_RDWR\n"
		"F_SETFD FD_CLOEXEC: ret=0 cloexec=1\n"
		"F_SETFL O_NONBLOCK seen through the dup: 1\n"
		"open returns the lowest free fd: yes\n"
		"O_RDONLY|O_NONBLOCK returns the lowest free fd: yes\n");
	run_free(&r);
}

Test(preload, proc_self_fd_readlink_works_on_every_entry)
{
	struct run r;

	run_client(&r, NULL, FD_CLIENT, "procfd");
	assert_status(&r, 0);
	assert_lines(&r,
		"readlink on every /proc/self/fd entry: ok (failed=0)\n"
		"/dev/iommu fd: /memfd:ioasid:/dev/iommu (deleted)\n"
		"/dev/ioasid fd: /memfd:ioasid:/dev/ioasid (deleted)\n");
	run_free(&r);
}

Test(preload, other_fds_pass_through_untouched)
{
	struct run r;

	run_client(&r, NULL, FD_CLIENT, "passthrough");
	assert_status(&r, 0);
	assert_lines(&r,
		"shim alloc: id=1\n"
		"pipe write: 5\n"
		"pipe FIONREAD: ret=0 n=5\n"
		"pipe read: 5 hello\n"
		"pipe isatty: 0 errno=ENOTTY\n"
		"file write: 4\n"
		"file read: 4 data\n"
		"file F_GETFL accmode: O_RDWR\n"
		"file pread via dup: 2 ta\n"
		"file mmap: ok data\n"
		"file FIONREAD: 0 n=0\n"
		"file reopen: ok\n"
		"/dev/null write: 3 read: 0\n"
		"shim still works: id=2\n");
	run_free(&r);
}

Test(preload, which_paths_name_the_node)
{
	struct run r;

	run_client(&r, NULL, FD_CLIENT, "alias");
	assert_status(&r, 0);
	assert_lines(&r,
		"/dev/ioasid: shim id=1\n"
		"//dev//iommu: shim\n"
		"/dev/./iommu: shim\n"
		"/dev/../dev/iommu: not-shim\n"
		"/dev/iommu/: not-shim\n"
		"/dev/iommux: not-shim\n"
		"/dev/iommu/.: not-shim\n"
		"openat(/tmp fd, /dev/iommu): shim\n"
		"openat(AT_FDCWD, /dev/ioasid): shim\n"
		"relative dev/iommu from /: not-shim\n"
		"openat(/dev fd, iommu): not-shim\n"
		"fopen /dev/iommu: not-shim\n");
	run_free(&r);
}

/* exec loses every context; an fd without O_CLOEXEC survives as a plain memfd. */
Test(preload, exec_keeps_fds_but_not_contexts)
{
	struct run r;

	run_client(&r, NULL, FD_CLIENT, "exec");
	assert_status(&r, 0);
	assert_lines(&r,
		"before exec: id=1\n"
		"inherited fd: open=1 link=/memfd:ioasid:/dev/iommu (deleted)\n"
		"inherited fd ioctl: errno=ENOTTY\n"
		"O_CLOEXEC fd: EBADF\n"
		"fresh open after exec: id=1\n");
	run_free(&r);
}

/* fork gives the child a copy-on-write snapshot: it sees the parent's IOAS 1, and from then on
 * each side allocates in its own copy (the kernel shares one context: the parent would get 3). */
Test(preload, fork_gives_the_child_a_snapshot)
{
	struct run r;

	run_client(&r, NULL, FD_CLIENT, "fork");
	assert_status(&r, 0);
	assert_lines(&r,
		"parent alloc: id=1\n"
		"child: ioas 1 visible\n"
		"child: alloc id=2\n"
		"child: close 0\n"
		"child exit: 0\n"
		"parent: ioas 1 visible\n"
		"parent: ioas 2 missing\n"
		"parent: alloc id=2\n");
	run_free(&r);
}

Test(preload, vfork_child_closing_fds_leaves_the_parents_context)
{
	struct run r;

	run_client(&r, debug_env, FD_CLIENT, "vfork");
	assert_status(&r, 0);
	assert_lines(&r,
		"parent alloc: id=1\n"
		"child exit: 0\n"
		"parent: ioas 1 visible\n"
		"parent: alloc id=2\n"
		"parent: close 0\n");
	cr_assert_eq(count_between(r.err, "before-vfork", "after-vfork", RELEASE), 0, "%s", r.err);
	cr_assert_eq(count_between(r.err, NULL, NULL, RELEASE), 1, "%s", r.err);
	run_free(&r);
}

/* ---- threads ----------------------------------------------------------------------------- */

Test(preload, threads_share_one_fd_while_others_dup_and_close)
{
	struct run r;

	run_v(&r, NULL, ARGV(run_bin, "--", client[MT_CLIENT], "stress", "10000"));
	assert_status(&r, 0);
	assert_lines(&r,
		"stress: alloc/destroy ok=40000 errors=0\n"
		"stress: dup cycles >0 errors=0\n"
		"stress: open cycles >0 errors=0\n"
		"stress: kept ioas visible\n"
		"stress: next alloc id=2\n"
		"stress: close=0\n");
	run_free(&r);
}

Test(preload, close_during_ioctls_gives_ebadf_not_a_crash)
{
	struct run r;

	run_v(&r, NULL, ARGV(run_bin, "--", client[MT_CLIENT], "close-race"));
	assert_status(&r, 0);
	assert_contains(r.out, "close-race: rounds=200 unexpected=0 ", "stdout");
	run_free(&r);
}

Test(preload, fork_while_threads_are_in_ioctls_does_not_deadlock)
{
	struct run r;

	run_v(&r, NULL, ARGV(run_bin, "--", client[MT_CLIENT], "fork", "100"));
	assert_status(&r, 0);
	assert_lines(&r,
		"fork: children=100 ok=100\n"
		"fork: parent errors=0 kept ioas visible\n");
	run_free(&r);
}

/* ---- environment: fail-nth, topology, debug ---------------------------------------------- */

Test(preload, fail_nth_1_fails_the_first_open)
{
	struct run r;

	run_v(&r, NULL, ARGV(run_bin, "--fail-nth", "1", "--", client[IOAS_CLIENT]));
	assert_status(&r, 1);
	assert_lines(&r, "open /dev/iommu: rc=-1 errno=ENOMEM\n");
	run_free(&r);
}

Test(preload, fail_nth_2_fails_the_first_ioctl_allocation_once)
{
	static const char head[] = "open /dev/iommu: rc=0\n"
				   "IOAS_ALLOC: rc=-1 errno=ENOMEM\n"
				   "IOAS_ALLOC: rc=0 id=1\n";
	struct run r;

	run_v(&r, NULL, ARGV(run_bin, "--fail-nth", "2", "--", client[IOAS_CLIENT]));
	assert_status(&r, 0);
	/* The failed IOAS_ALLOC consumes no ID; then the switch is spent. */
	cr_assert_eq(strncmp(r.out, head, strlen(head)), 0, "%s", r.out);
	run_free(&r);
}

Test(preload, missing_topology_is_refused_by_ioasid_run)
{
	struct run r;

	run_v(&r, NULL, ARGV(run_bin, "--topology", "/nonexistent/ioasid.topo", "--",
			     client[IOAS_CLIENT]));
	assert_status(&r, 2);
	assert_contains(r.err, "ioasid-run: topology file /nonexistent/ioasid.topo: "
			"No such file or directory: check the path", "stderr");
	cr_assert_str_empty(r.out);
	run_free(&r);
}

Test(preload, missing_topology_fails_every_open_in_the_shim)
{
	char preload[PATH_MAX + 16];
	struct run r;

	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", shim_so);
	run_v(&r, ENV(preload, "IOASID_TOPOLOGY=/nonexistent/ioasid.topo"),
	      ARGV(client[IOAS_CLIENT]));
	assert_status(&r, 1);
	assert_lines(&r, "open /dev/iommu: rc=-1 errno=ENOENT\n");
	assert_contains(r.err, "topology file /nonexistent/ioasid.topo: No such file or "
			"directory: check the path", "stderr");
	run_free(&r);
}

Test(preload, readable_topology_is_passed_through_absolute)
{
	char path[] = "/tmp/ioasid-topo-XXXXXX", want[PATH_MAX + 32];
	static const char topo[] =
		"# a small host\n"
		"iommu dmar0 type=vtd pgsizes=4k,2m ias=48 coherent\n"
		"group 5 iommu=dmar0\n"
		"device 0000:00:03.0 group=5 vfio=0 driver=vfio-pci\n";
	int fd = mkstemp(path);
	struct run r;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, topo, sizeof(topo) - 1), (ssize_t)sizeof(topo) - 1);
	close(fd);
	run_v(&r, NULL, ARGV(run_bin, "--private-platform", "--topology", path, "--",
			     "/usr/bin/env"));
	assert_status(&r, 0);
	snprintf(want, sizeof(want), "IOASID_TOPOLOGY=%s\n", path);
	assert_contains(r.out, want, "env output");
	run_free(&r);

	run_v(&r, NULL, ARGV(run_bin, "--private-platform", "--topology", path, "--",
			     client[IOAS_CLIENT]));
	assert_status(&r, 0);
	assert_lines(&r, ioas_client_kernel);
	run_free(&r);

	/* a malformed file: every open fails and the reason names the file and line */
	fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert_geq(fd, 0);
	{
		static const char bad[] = "iommu dmar0 type=vtd pgsizes=4k ias=48 coherent\n"
					  "group 5 iommu=dmar9\n";

		cr_assert_eq(write(fd, bad, sizeof(bad) - 1), (ssize_t)sizeof(bad) - 1);
	}
	close(fd);
	run_v(&r, NULL, ARGV(run_bin, "--private-platform", "--topology", path, "--",
			     client[IOAS_CLIENT]));
	cr_assert_neq(r.status, 0);
	snprintf(want, sizeof(want), "%s:2:", path);
	assert_contains(r.err, want, "stderr");
	unlink(path);
	run_free(&r);
}

Test(preload, verbose_logs_each_shim_call)
{
	struct run r;

	run_v(&r, NULL, ARGV(run_bin, "-v", "--", client[IOAS_CLIENT]));
	assert_status(&r, 0);
	assert_lines(&r, ioas_client_kernel);
	assert_contains(r.err, "ioasid-run: shim ", "stderr");
	assert_contains(r.err, "open(\"/dev/iommu\", 02000002) = 3", "stderr");
	assert_contains(r.err, "ioctl(3, 0x3b81 IOMMU_IOAS_ALLOC) = 0", "stderr");
	assert_contains(r.err, "ioctl(3, 0x3b84 IOMMU_IOAS_IOVA_RANGES) = -1 Message too long",
			"stderr");
	assert_contains(r.err, RELEASE, "stderr");
	run_free(&r);
}

/* ---- the launcher ------------------------------------------------------------------------ */

Test(preload, run_help_has_usage_and_examples)
{
	struct run r;

	run_v(&r, NULL, ARGV(run_bin, "--help"));
	assert_status(&r, 0);
	assert_contains(r.out, "Usage: ioasid-run [OPTIONS] [--] COMMAND [ARG...]", "--help");
	assert_contains(r.out, "Examples:", "--help");
	assert_contains(r.out, "--fail-nth N", "--help");
	assert_contains(r.out, "--topology FILE", "--help");
	assert_contains(r.out, "IOASID_PRELOAD", "--help");
	run_free(&r);
}

Test(preload, run_usage_errors_exit_2)
{
	struct run r;

	run_v(&r, NULL, ARGV(run_bin));
	assert_status(&r, 2);
	assert_contains(r.err, "no command given", "stderr");
	run_free(&r);

	run_v(&r, NULL, ARGV(run_bin, "--frobnicate", "--", "/bin/true"));
	assert_status(&r, 2);
	assert_contains(r.err, "unknown option '--frobnicate'", "stderr");
	run_free(&r);

	run_v(&r, NULL, ARGV(run_bin, "--fail-nth", "abc", "--", "/bin/true"));
	assert_status(&r, 2);
	assert_contains(r.err, "--fail-nth 'abc': not a count: give a whole number N >= 1",
			"stderr");
	run_free(&r);

	run_v(&r, NULL, ARGV(run_bin, "--fail-nth", "0", "--", "/bin/true"));
	assert_status(&r, 2);
	run_free(&r);

	run_v(&r, NULL, ARGV(run_bin, "--topology"));
	assert_status(&r, 2);
	assert_contains(r.err, "needs a value", "stderr");
	run_free(&r);
}

Test(preload, run_command_not_found_exits_127)
{
	struct run r;

	run_v(&r, NULL, ARGV(run_bin, "--", "/nonexistent/ioasid-cmd"));
	assert_status(&r, 127);
	assert_contains(r.err, "command '/nonexistent/ioasid-cmd': not found: check the name",
			"stderr");
	run_free(&r);

	run_v(&r, NULL, ARGV(run_bin, "--", "no-such-ioasid-command-xyz"));
	assert_status(&r, 127);
	assert_contains(r.err, "not found in PATH", "stderr");
	run_free(&r);
}

Test(preload, run_command_not_executable_exits_126)
{
	char path[] = "/tmp/ioasid-noexec-XXXXXX";
	int fd = mkstemp(path);
	struct run r;

	cr_assert_geq(fd, 0);
	close(fd);
	chmod(path, 0644);
	run_v(&r, NULL, ARGV(run_bin, "--", path));
	unlink(path);
	assert_status(&r, 126); /* EACCES: no x bit at all stops root too */
	assert_contains(r.err, "check that it is an executable file", "stderr");
	run_free(&r);
}

Test(preload, run_passes_the_exit_status_through)
{
	struct run r;

	run_v(&r, NULL, ARGV(run_bin, "--", "/bin/sh", "-c", "exit 7"));
	assert_status(&r, 7);
	run_free(&r);
}

Test(preload, run_prepends_to_ld_preload_once)
{
	char want[2 * PATH_MAX];
	struct run r;

	run_v(&r, ENV("LD_PRELOAD=/nonexistent/libother.so"),
	      ARGV(run_bin, "--", "/usr/bin/printenv", "LD_PRELOAD"));
	assert_status(&r, 0);
	snprintf(want, sizeof(want), "%s:/nonexistent/libother.so\n", shim_so);
	cr_assert_str_eq(r.out, want);
	run_free(&r);

	snprintf(want, sizeof(want), "LD_PRELOAD=%s", shim_so);
	run_v(&r, ENV(want), ARGV(run_bin, "--", "/usr/bin/printenv", "LD_PRELOAD"));
	assert_status(&r, 0);
	snprintf(want, sizeof(want), "%s\n", shim_so);
	cr_assert_str_eq(r.out, want);
	run_free(&r);
}

Test(preload, run_honours_ioasid_preload)
{
	char dir[] = "/tmp/ioasid-preload-XXXXXX", copy[PATH_MAX], env[PATH_MAX + 32], cmd[PATH_MAX * 3];
	struct run r;

	run_v(&r, ENV("IOASID_PRELOAD=/nonexistent/libioasid-preload.so"),
	      ARGV(run_bin, "--", "/bin/true"));
	assert_status(&r, 125);
	assert_contains(r.err, "IOASID_PRELOAD=/nonexistent/libioasid-preload.so: No such file "
			"or directory", "stderr");
	run_free(&r);

	cr_assert_not_null(mkdtemp(dir));
	snprintf(copy, sizeof(copy), "%s/libioasid-preload.so", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", shim_so, copy);
	cr_assert_eq(system(cmd), 0);
	snprintf(env, sizeof(env), "IOASID_PRELOAD=%s", copy);
	run_v(&r, ENV(env), ARGV(run_bin, "--", "/usr/bin/printenv", "LD_PRELOAD"));
	assert_status(&r, 0);
	snprintf(cmd, sizeof(cmd), "%s\n", copy);
	cr_assert_str_eq(r.out, cmd);
	run_free(&r);

	run_v(&r, ENV(env), ARGV(run_bin, "--", client[IOAS_CLIENT]));
	assert_status(&r, 0);
	assert_lines(&r, ioas_client_kernel);
	run_free(&r);
	unlink(copy);
	rmdir(dir);
}
