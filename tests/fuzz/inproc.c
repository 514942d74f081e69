/* inproc.c — the in-process backend of the uAPI fuzzer, and its oracles.
 *
 * Owns: a small file table (fd number → open file: an iommufd or container context, a VFIO
 * device or group file, or a file the reference made itself: fault queue, selftest access),
 * served by the reference (ioasid_ctx_*), the VFIO layer (src/vfio) and a private copy of the
 * default platform made afresh for every input; and the oracles that judge one run:
 *
 *   1. every call returned >= 0 or a real -errno (1..4095);
 *   2. after the sequence closed its fds: no file left in the table, no reference fd that the
 *      caller never got, no allocation left (ioasid_live_allocations back to where it was),
 *      no page pinned or charged (process-wide accounts at 0), and the host released: no
 *      group owned, no group fd open, no cdev bound, no PASID attached, every group on its
 *      default domain;
 *   3. the invariant checker (src/check), fed the in-process event stream of the same run:
 *      no violation, no stream issue, and its shadow empty at the end (no context, bound
 *      device, claimed group, HWPT, area or pinned page). Except MAP-4: it is the guest's
 *      duty (invalidate after editing its stage-1 table), and here the sequence is the guest:
 *      it edits guest RAM at will (POKE, DMA writes, outputs) and its invalidations may fail,
 *      so a stale nested hit is the input's doing, not the reference's. MAP-4 reports are
 *      counted (r->guest_stale) but do not fail the run.
 *
 * fd numbers are real: each open file gets a placeholder (a dup of /dev/null; the reference's
 * own files keep their eventfd numbers), so numbers passed inside structs behave as on a host,
 * and a closed number can come back. Global state the reference keeps between contexts (the
 * selftest's temporary memory limit) is put back before every input, the arena and the memfd
 * are zeroed: one input never sees another's leftovers, so every finding replays.
 *
 * Fail-nth (fz_inproc_run's fail_nth > 0): the Nth allocation or object lookup of the sequence
 * fails (armed before the first call, disarmed before the teardown), with the same oracles.
 *
 * Single-threaded: libFuzzer and the tests call it from one thread.
 */
#include "fuzz.h"
#include "fuzz_inproc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/iommufd.h>

#include "ioasid/check.h"
#include "ioasid/event.h"
#include "ioasid/ioasid.h"
#include "platform/platform.h"
#include "reference/selftest_abi.h"
#include "vfio/vfio.h"

/* The process-wide pinned-page accounts (src/reference/pages.c). */
void ref_account_snapshot(uint64_t *user_pages, uint64_t *mm_pages, uint64_t *pinned_pages);

#define FDMAP_MAX 4096
#define SELFTEST_MEMORY_LIMIT 65536   /* the kernel's and the reference's default */

enum file_kind { FILE_CTX = 1, FILE_CONTAINER, FILE_DEVICE, FILE_GROUP, FILE_ANON };

struct file {
	enum file_kind kind;
	unsigned int refs;
	void *priv;            /* ctx, vfio_device_file, vfio_group_file */
	int anon_fd;           /* FILE_ANON: the reference's own fd number */
	bool pending;          /* FILE_ANON: made during the call in flight */
	bool adopted;          /* FILE_ANON: made by a call that succeeded: the caller's fd */
};

static struct {
	bool ready;
	int devnull;
	struct fz_backend be;
	struct file *map[FDMAP_MAX];
	/* the run */
	struct ioasid_event *ev;
	size_t nev, cap;
	bool ev_oom;
	unsigned int fail_nth, nth_left;
	long bad_rc;
	char bad_rc_call[64];
	struct fz_state st;
} g;

/* ---- the file table -------------------------------------------------------------------------- */

static struct file *file_new(enum file_kind kind, void *priv)
{
	struct file *f = calloc(1, sizeof(*f));

	if (f) {
		f->kind = kind;
		f->refs = 1;
		f->priv = priv;
		f->anon_fd = -1;
	}
	return f;
}

static void file_release(struct file *f)
{
	switch (f->kind) {
	case FILE_CTX:
	case FILE_CONTAINER: ioasid_ctx_close(f->priv); break;
	case FILE_DEVICE: vfio_device_close(f->priv); break;
	case FILE_GROUP: vfio_group_close(f->priv); break;
	case FILE_ANON: ioasid_fd_close(f->anon_fd); break;
	}
	free(f);
}

static void file_put(struct file *f)
{
	if (--f->refs == 0)
		file_release(f);
}

static struct file *file_of(int fd)
{
	return fd >= 0 && fd < FDMAP_MAX ? g.map[fd] : NULL;
}

/* Give f a placeholder fd; consumes the caller's reference (also on failure). */
static int fd_install(struct file *f)
{
	int fd = dup(g.devnull);

	if (fd < 0) {
		fd = -errno;
		file_put(f);
		return fd;
	}
	if (fd >= FDMAP_MAX) {
		close(fd);
		file_put(f);
		return -EMFILE;
	}
	g.map[fd] = f;
	return fd;
}

/* The reference made a file (fault queue, access): its eventfd number is its fd. */
static void anon_hook(int fd, const char *name)
{
	struct file *f;

	(void)name;
	if (fd < 0 || fd >= FDMAP_MAX)
		return;
	if (g.map[fd]) {
		/* the number was closed inside the reference and reused: forget the old file */
		free(g.map[fd]);
		g.map[fd] = NULL;
	}
	f = file_new(FILE_ANON, NULL);
	if (!f)
		return;
	f->anon_fd = fd;
	f->pending = true;
	g.map[fd] = f;
}

/* ---- the VFIO layer's view of the table ------------------------------------------------------ */

static int files_get(void *data, int fd, struct vfio_fd_ref *ref)
{
	struct file *f = file_of(fd);

	memset(ref, 0, sizeof(*ref));
	if (!f)
		return fd >= 0 && fcntl(fd, F_GETFD) >= 0 ? 0 : -EBADF;   /* 0: VFIO_FD_OTHER */
	f->refs++;
	ref->handle = f;
	if (f->kind == FILE_CTX || f->kind == FILE_CONTAINER) {
		ref->kind = f->kind == FILE_CTX ? VFIO_FD_IOMMUFD : VFIO_FD_CONTAINER;
		ref->ctx = f->priv;
	}
	return 0;
}

static void files_put(void *data, struct vfio_fd_ref *ref)
{
	if (ref->handle)
		file_put(ref->handle);
	ref->handle = NULL;
}

static int files_install_device(void *data, struct vfio_device_file *df)
{
	struct file *f = file_new(FILE_DEVICE, df);

	if (!f) {
		vfio_device_close(df);
		return -ENOMEM;
	}
	return fd_install(f);
}

static const struct vfio_files files = {
	.get = files_get, .put = files_put, .install_device = files_install_device,
};

/* ---- the backend ----------------------------------------------------------------------------- */

static int be_open(void *data, const char *path)
{
	struct ioasid_ctx *ctx;
	struct file *f = NULL;
	unsigned int n;
	char tail;
	void *priv;
	int rc;

	if (!strcmp(path, "/dev/iommu")) {
		rc = ioasid_ctx_open(&ctx);
		if (!rc && !(f = file_new(FILE_CTX, ctx)))
			ioasid_ctx_close(ctx);
	} else if (!strcmp(path, "/dev/vfio/vfio")) {
		rc = vfio_container_open(&ctx);
		if (!rc && !(f = file_new(FILE_CONTAINER, ctx)))
			ioasid_ctx_close(ctx);
	} else if (sscanf(path, "/dev/vfio/devices/vfio%u%c", &n, &tail) == 1) {
		rc = vfio_cdev_open(n, (struct vfio_device_file **)&priv);
		if (!rc && !(f = file_new(FILE_DEVICE, priv)))
			vfio_device_close(priv);
	} else if (sscanf(path, "/dev/vfio/%u%c", &n, &tail) == 1) {
		rc = vfio_group_open(n, (struct vfio_group_file **)&priv);
		if (!rc && !(f = file_new(FILE_GROUP, priv)))
			vfio_group_close(priv);
	} else {
		return -ENOENT;
	}
	if (rc)
		return rc;
	return f ? fd_install(f) : -ENOMEM;
}

static long be_ioctl(void *data, int fd, unsigned long cmd, void *arg)
{
	struct file *f = file_of(fd);

	if (!f)
		return fd >= 0 && fcntl(fd, F_GETFD) >= 0 ? -ENOTTY : -EBADF;
	switch (f->kind) {
	case FILE_CTX:
	case FILE_CONTAINER: return ioasid_ctx_ioctl(f->priv, cmd, arg);
	case FILE_DEVICE: return vfio_device_ioctl(f->priv, cmd, arg, &files);
	case FILE_GROUP: return vfio_group_ioctl(f->priv, cmd, arg, &files);
	default: return -ENOTTY;
	}
}

static int be_close(void *data, int fd)
{
	struct file *f = file_of(fd);

	if (!f)
		return -EBADF;
	g.map[fd] = NULL;
	/* a reference file's own number is its eventfd: ioasid_fd_close() closes it with the
	 * last reference */
	if (f->kind != FILE_ANON || f->anon_fd != fd)
		close(fd);
	file_put(f);
	return 0;
}

static int be_dup(void *data, int fd)
{
	struct file *f = file_of(fd);

	if (!f)
		return -EBADF;
	f->refs++;
	return fd_install(f);
}

static long be_read(void *data, int fd, void *buf, size_t len)
{
	struct file *f = file_of(fd);

	if (!f)
		return -EBADF;
	if (f->kind == FILE_DEVICE)
		return vfio_device_read(f->priv, buf, len);
	if (f->kind == FILE_ANON)
		return ioasid_fd_read(f->anon_fd, buf, len);
	return -EINVAL;
}

static long be_write(void *data, int fd, const void *buf, size_t len)
{
	struct file *f = file_of(fd);

	if (!f)
		return -EBADF;
	if (f->kind == FILE_DEVICE)
		return vfio_device_write(f->priv, buf, len);
	if (f->kind == FILE_ANON)
		return ioasid_fd_write(f->anon_fd, buf, len);
	return -EINVAL;
}

static long be_pread(void *data, int fd, void *buf, size_t len, uint64_t off)
{
	struct file *f = file_of(fd);

	if (!f)
		return -EBADF;
	if ((int64_t)off < 0)
		return -EINVAL;
	return f->kind == FILE_DEVICE ? vfio_device_pread(f->priv, buf, len, off) : -ESPIPE;
}

static long be_pwrite(void *data, int fd, const void *buf, size_t len, uint64_t off)
{
	struct file *f = file_of(fd);

	if (!f)
		return -EBADF;
	if ((int64_t)off < 0)
		return -EINVAL;
	return f->kind == FILE_DEVICE ? vfio_device_pwrite(f->priv, buf, len, off) : -ESPIPE;
}

static int be_driver_bind(void *data, uint32_t dev, const char *driver)
{
	struct platform *p;
	int rc = platform_default(&p);

	return rc ? rc : platform_driver_bind(p, dev, driver, NULL, 0);
}

static int be_driver_unbind(void *data, uint32_t dev)
{
	struct platform *p;
	int rc = platform_default(&p);

	return rc ? rc : platform_driver_unbind(p, dev, NULL, 0);
}

/* ---- the event stream ------------------------------------------------------------------------ */

static void on_event(void *arg, const struct ioasid_event *ev)
{
	if (g.nev == g.cap) {
		size_t cap = g.cap ? g.cap * 2 : 4096;
		void *n = realloc(g.ev, cap * sizeof(*g.ev));

		if (!n) {
			g.ev_oom = true;
			return;
		}
		g.ev = n;
		g.cap = cap;
	}
	g.ev[g.nev++] = *ev;
}

/* ---- fail-nth and the rc oracle: around every call ------------------------------------------- */

static void before_call(struct fz_state *st, unsigned int index)
{
	if (index == 0 && g.fail_nth)
		ioasid_fail_nth_set(g.fail_nth);
	if (index == FZ_TEARDOWN && g.fail_nth) {
		g.nth_left = ioasid_fail_nth_get();
		ioasid_fail_nth_set(0);
	}
}

static void after_call(struct fz_state *st, const struct fz_call *call, long rc)
{
	/* A file the reference made during a call that succeeded is in the caller's fd table, as
	 * the kernel's fd_install() puts it there, whether or not the caller read its number
	 * (TEST_RAW does not know where an op returns one): it is the caller's to close. One made
	 * during a call that failed is what the leak oracle looks for at the end. */
	for (int fd = 0; fd < FDMAP_MAX; fd++) {
		struct file *f = g.map[fd];

		if (f && f->kind == FILE_ANON && f->pending) {
			f->pending = false;
			f->adopted = rc >= 0;
		}
	}
	if ((rc < 0 && rc <= -4096) && !g.bad_rc) {
		g.bad_rc = rc;
		snprintf(g.bad_rc_call, sizeof(g.bad_rc_call), "%s", call->name);
	}
}

/* ---- setup ----------------------------------------------------------------------------------- */

int fz_inproc_init(void)
{
	if (g.ready)
		return 0;
	setenv("IOASID_QUIET", "1", 1);
	unsetenv("IOASID_PLATFORM");
	unsetenv("IOASID_TOPOLOGY");
	unsetenv("IOASID_FAIL_NTH");
	unsetenv("IOASID_INJECT");
	g.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	g.be = (struct fz_backend){
		.name = "inproc", .open_node = be_open, .ioctl = be_ioctl, .close = be_close,
		.dup = be_dup, .read = be_read, .write = be_write, .pread = be_pread,
		.pwrite = be_pwrite, .driver_bind = be_driver_bind,
		.driver_unbind = be_driver_unbind,
	};
	g.be.arena = fz_arena_map();
	g.be.memfd = memfd_create("ioasid-fuzz", MFD_CLOEXEC);
	if (g.devnull < 0 || !g.be.arena || g.be.memfd < 0) {
		fprintf(stderr, "fuzz: setup failed (/dev/null, a %llu MiB arena or a memfd): %s; "
			"check the memory and fd limits\n", FZ_ARENA_SIZE >> 20, strerror(errno));
		return -ENOMEM;
	}
	ioasid_anon_fd_set_hook(anon_hook);
	if (ioasid_events_subscribe(on_event, NULL) < 0)
		return -ENOSPC;
	g.st.before_call = before_call;
	g.st.after_call = after_call;
	g.ready = true;
	return 0;
}

/* Put back what one input may have changed for the next: a fresh host, the selftest's memory
 * limit, zeroed user memory. */
static int fresh_world(char *err, size_t errlen)
{
	struct iommu_test_cmd cmd = { .size = sizeof(cmd),
				      .op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
				      .memory_limit.limit = SELFTEST_MEMORY_LIMIT };
	struct ioasid_ctx *ctx;
	struct platform *p;
	int rc;

	rc = platform_open(plat_topology_default(), NULL, &p, err, errlen);
	if (rc)
		return rc;
	platform_set_default(p);
	rc = ioasid_ctx_open(&ctx);
	if (rc) {
		snprintf(err, errlen, "ioasid_ctx_open: %s", strerror(-rc));
		return rc;
	}
	rc = ioasid_ctx_ioctl(ctx, IOMMU_TEST_CMD, &cmd);
	ioasid_ctx_close(ctx);
	if (rc) {
		snprintf(err, errlen, "IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT: %s", strerror(-rc));
		return rc;
	}
	fz_arena_reset(g.be.arena);
	if (ftruncate(g.be.memfd, 0) || ftruncate(g.be.memfd, FZ_MEMFD_SIZE)) {
		snprintf(err, errlen, "memfd: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* ---- the oracles ----------------------------------------------------------------------------- */

static void fail(struct fz_inproc_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail(struct fz_inproc_result *r, const char *fmt, ...)
{
	va_list ap;
	size_t used = strlen(r->msg);

	if (used >= sizeof(r->msg) - 2)
		return;
	if (used)
		r->msg[used++] = '\n';
	va_start(ap, fmt);
	vsnprintf(r->msg + used, sizeof(r->msg) - used, fmt, ap);
	va_end(ap);
	r->ok = false;
}

static void check_files(struct fz_inproc_result *r)
{
	for (int fd = 0; fd < FDMAP_MAX; fd++) {
		struct file *f = g.map[fd];

		if (!f)
			continue;
		g.map[fd] = NULL;
		if (f->kind == FILE_ANON && f->anon_fd == fd) {
			/* made by the reference, never returned: 0 means it was still open there;
			 * a successful call's file is the caller's, closed as its exit would */
			if (ioasid_fd_close(fd) == 0 && !f->adopted)
				fail(r, "leak: the reference created fd %d but the caller "
				     "never got it (an ioctl that failed after making its file?)",
				     fd);
			free(f);
			continue;
		}
		fail(r, "harness: fd %d (kind %d) still open after the teardown", fd, f->kind);
		close(fd);
		file_put(f);
	}
}

static void check_host(struct fz_inproc_result *r)
{
	struct plat_state_snapshot *s = malloc(sizeof(*s));
	const struct plat_topology *t;
	struct platform *p;

	if (!s || platform_default(&p) || platform_snapshot(p, s)) {
		fail(r, "harness: no platform snapshot");
		free(s);
		return;
	}
	t = platform_topology(p);
	for (uint32_t i = 0; i < t->nr_groups; i++) {
		if (s->groups[i].owner.pid)
			fail(r, "leak: group %u still owned (owner_cnt %u) after every fd closed",
			     t->groups[i].id, s->groups[i].owner_cnt);
		if (s->groups[i].group_fd_pid)
			fail(r, "leak: group %u: its group fd is still open", t->groups[i].id);
		if (s->groups[i].cdev_bound)
			fail(r, "leak: group %u: %u device(s) still bound through their cdev",
			     t->groups[i].id, s->groups[i].cdev_bound);
		if (s->groups[i].pasid_cnt)
			fail(r, "leak: group %u: %u PASID(s) still attached", t->groups[i].id,
			     s->groups[i].pasid_cnt);
		if (s->groups[i].domain != PLAT_DOMAIN_DEFAULT)
			fail(r, "leak: group %u not back on its default domain (domain %d)",
			     t->groups[i].id, (int)s->groups[i].domain);
	}
	for (uint32_t i = 0; i < t->nr_devices; i++)
		if (s->devices[i].user_pid)
			fail(r, "leak: device %s still opened through VFIO", t->devices[i].name);
	free(s);
}

struct audit {
	struct fz_inproc_result *r;
	unsigned int shown;
};

static void on_report(void *arg, const struct ioasid_check_report *rep)
{
	struct audit *a = arg;
	char buf[4096];
	FILE *f;

	if (rep->kind == IOASID_REPORT_WARNING)
		return;
	if (rep->kind == IOASID_REPORT_VIOLATION && rep->code == IOASID_RULE_MAP_4) {
		a->r->guest_stale++;
		return;
	}
	if (a->shown++ >= 3)
		return;
	f = fmemopen(buf, sizeof(buf) - 1, "w");
	if (!f)
		return;
	ioasid_check_report_print(f, rep);
	fclose(f);
	buf[sizeof(buf) - 1] = 0;
	fail(a->r, "checker: %s", buf);
}

static void check_events(struct fz_inproc_result *r)
{
	struct ioasid_check_opts o = { .sz = sizeof(o), .no_warnings = true };
	struct ioasid_check_summary sum;
	struct audit a = { .r = r };
	struct ioasid_check *c;

	if (g.ev_oom) {
		fail(r, "harness: out of memory for the event stream");
		return;
	}
	if (ioasid_check_new(&o, on_report, &a, &c)) {
		fail(r, "harness: ioasid_check_new failed");
		return;
	}
	ioasid_check_feed_batch(c, g.ev, g.nev);
	ioasid_check_end(c);
	ioasid_check_summary(c, &sum);
	ioasid_check_free(c);
	if (sum.violations > sum.per_rule[IOASID_RULE_MAP_4] || sum.stream_issues)
		fail(r, "checker: %llu violation(s), %llu stream issue(s) in %zu events",
		     (unsigned long long)(sum.violations - sum.per_rule[IOASID_RULE_MAP_4]),
		     (unsigned long long)sum.stream_issues, g.nev);
	if (sum.contexts || sum.devices_bound || sum.groups_claimed || sum.hwpts ||
	    sum.ioas_areas || sum.pinned_pages)
		fail(r, "checker: the shadow is not empty after every fd closed: %u contexts, "
		     "%u devices bound, %u groups claimed, %u HWPTs, %u areas, %llu pinned pages",
		     sum.contexts, sum.devices_bound, sum.groups_claimed, sum.hwpts,
		     sum.ioas_areas, (unsigned long long)sum.pinned_pages);
}

int fz_inproc_run(const uint8_t *data, size_t len, unsigned int fail_nth, FILE *trace,
		  struct fz_inproc_result *r)
{
	uint64_t user, mm, pinned;
	int64_t live0, live;
	char err[256];
	int rc;

	memset(r, 0, sizeof(*r));
	r->ok = true;
	rc = fz_inproc_init();
	if (rc) {
		fail(r, "harness: setup failed: %s", strerror(-rc));
		return rc;
	}
	rc = fresh_world(err, sizeof(err));
	if (rc) {
		fail(r, "harness: %s", err);
		return rc;
	}
	live0 = ioasid_live_allocations();
	g.nev = 0;
	g.ev_oom = false;
	g.fail_nth = fail_nth;
	g.nth_left = 0;
	g.bad_rc = 0;

	r->calls = fz_run(&g.st, &g.be, data, len, trace);
	r->nth_left = g.nth_left;
	r->fired = fail_nth && g.nth_left == 0;

	if (g.bad_rc)
		fail(r, "rc: %s returned %ld, which is neither >= 0 nor a -errno", g.bad_rc_call,
		     g.bad_rc);
	check_files(r);
	live = ioasid_live_allocations();
	if (live != live0)
		fail(r, "leak: %lld allocation(s) of the reference not freed after every fd "
		     "closed", (long long)(live - live0));
	ref_account_snapshot(&user, &mm, &pinned);
	if (user || mm || pinned)
		fail(r, "leak: pages still pinned or charged after every fd closed: %llu pinned, "
		     "%llu charged to the user, %llu to the process", (unsigned long long)pinned,
		     (unsigned long long)user, (unsigned long long)mm);
	check_host(r);
	check_events(r);
	r->events = g.nev;
	return 0;
}

int fz_inproc_sweep(const uint8_t *data, size_t len, unsigned int max_nth,
		    struct fz_inproc_result *r)
{
	unsigned int nth;

	for (nth = 1; nth <= max_nth; nth++) {
		fz_inproc_run(data, len, nth, NULL, r);
		r->nth = nth;
		if (!r->ok)
			return -EIO;
		if (!r->fired)
			return 0;      /* the sequence has no Nth allocation or lookup: swept */
	}
	fail(r, "fail-nth: still injecting at nth %u: raise the bound or shorten the input",
	     max_nth);
	return -E2BIG;
}
