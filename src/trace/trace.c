/* trace.c — the trace library's public face (ioasid/trace.h): sources, the ring-buffer
 * consumer, accounting, aggregates, recording while polling.
 *
 * A live source is one or two backends (usdt_backend.c, kernel_backend.c), each with the maps
 * of bpf/ioasid_emit.bpf.h. Their ring buffers are polled through one libbpf ring_buffer
 * manager (one epoll fd). Wake-ups are batched in BPF (only when wakeup_bytes wait), so every
 * poll also consumes what is there without a wake-up: nothing waits longer than the caller's
 * timeout.
 *
 * Accounting: `received` counts records handed to callbacks; `emitted`, `dropped` and the rest
 * are the BPF programs' per-CPU counters summed. After the traced activity stopped and a final
 * poll drained the ring buffer, received + dropped == emitted (tests hold us to it).
 *
 * Launch: the command is forked, held on a pipe until every probe is attached (so nothing it
 * does is missed), its pid put in the `tgids` filter, and then exec'd through ioasid-run; the
 * BPF side follows its forks.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/locate.h"
#include "ioasid/trace_file.h"
#include "trace/backend.h"

#define FILE_BATCH 4096

struct ioasid_trace {
	struct ioasid_trace_opts opts;
	struct trace_plan plan;
	struct usdt_backend *usdt;
	struct kernel_backend *kernel;
	struct trace_maps maps[2];
	int nr_maps;
	struct ring_buffer *rb;

	/* during a poll */
	ioasid_trace_event_fn cb;
	void *cb_arg;
	int cb_rc;
	int delivered;
	uint64_t received;
	uint64_t bad_size;
	uint64_t start_ns;                  /* PID/KERNEL: events before this are not delivered */
	uint64_t before_start;

	struct ioasid_trace_writer *rec;
	int rec_err;
	uint64_t rec_flushed_ns;
	struct ioasid_trace_reader *reader;
	const struct ioasid_event *batch;   /* file: the decoded chunk being delivered */
	size_t batch_n, batch_next;
	bool file_end;

	pid_t child;
	int child_status;
	bool child_exited;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int deliver(struct ioasid_trace *t, const struct ioasid_event *ev)
{
	if (ev->ts_ns < t->start_ns) {
		t->before_start++;
		return 0;
	}
	if (t->rec && !t->rec_err)
		t->rec_err = ioasid_trace_writer_append(t->rec, ev);
	t->received++;
	t->delivered++;
	if (t->cb) {
		int rc = t->cb(t->cb_arg, ev);

		if (rc) {
			t->cb_rc = rc;
			return -ECANCELED;
		}
	}
	return 0;
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct ioasid_trace *t = ctx;
	struct ioasid_event ev;

	if (size < sizeof(ev)) {
		t->bad_size++;
		return 0;
	}
	memcpy(&ev, data, sizeof(ev));
	return deliver(t, &ev);
}

/* ---- the recorder --------------------------------------------------------------------------- */
static int recorder_open(struct ioasid_trace *t)
{
	struct ioasid_trace_file_header hdr;
	char source[128];
	struct utsname u;
	int err;

	switch (t->opts.kind) {
	case IOASID_TRACE_PID:
		snprintf(source, sizeof(source), "pid %d", (int)t->opts.pid);
		break;
	case IOASID_TRACE_SELF:
		snprintf(source, sizeof(source), "self pid %d", (int)getpid());
		break;
	case IOASID_TRACE_LAUNCH: {
		size_t used = (size_t)snprintf(source, sizeof(source), "launch:");

		for (int i = 0; t->opts.argv[i] && used < sizeof(source); i++)
			used += (size_t)snprintf(source + used, sizeof(source) - used, " %s",
						 t->opts.argv[i]);
		break;
	}
	case IOASID_TRACE_KERNEL:
		snprintf(source, sizeof(source), "kernel %.100s", uname(&u) ? "?" : u.release);
		break;
	case IOASID_TRACE_HOST:
		snprintf(source, sizeof(source), "host: every process using the shim");
		break;
	default:
		snprintf(source, sizeof(source), "?");
	}
	ioasid_trace_file_header_init(&hdr, t->opts.kind, source);
	err = ioasid_trace_writer_open(t->opts.record_path, &hdr, &t->rec);
	if (err)
		return trace_error(-err, "record file %s: %s: check the directory exists and is "
				   "writable", t->opts.record_path, strerror(-err));
	t->rec_flushed_ns = now_ns();
	return 0;
}

/* A recording loses at most REC_FLUSH_NS of events if the recorder dies: the current chunk is
 * ended that often (while events arrive). */
#define REC_FLUSH_NS 1000000000ull
static void recorder_tick(struct ioasid_trace *t)
{
	uint64_t now;

	if (!t->rec || t->rec_err || !t->delivered)
		return;
	now = now_ns();
	if (now - t->rec_flushed_ns < REC_FLUSH_NS)
		return;
	t->rec_err = ioasid_trace_writer_flush(t->rec);
	t->rec_flushed_ns = now;
}

/* ---- launch ----------------------------------------------------------------------------------- */
/* Fork the command, held until `go` is written. */
static int launch_fork(struct ioasid_trace *t, int *go_fd)
{
	char run[PATH_MAX], err[PATH_MAX * 4];
	int pipefd[2], rc, argc = 0;
	const char *platform = t->opts.platform ? t->opts.platform : "default";
	pid_t pid;

	rc = ioasid_locate_tool("ioasid-run", run, sizeof(run), err, sizeof(err));
	if (rc)
		return trace_error(-rc, "cannot launch under the shim: %s", err);
	while (t->opts.argv[argc])
		argc++;
	if (pipe2(pipefd, O_CLOEXEC))
		return trace_error(errno, "launch: pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		rc = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return trace_error(rc, "launch: fork: %s", strerror(rc));
	}
	if (pid == 0) {
		char **argv = calloc((size_t)argc + 6, sizeof(char *));
		char go;
		int i = 0;

		close(pipefd[1]);
		if (read(pipefd[0], &go, 1) != 1)
			_exit(125);          /* the tracer gave up: never run untraced */
		if (!argv)
			_exit(125);
		argv[i++] = run;
		if (*platform) {
			argv[i++] = "--platform";
			argv[i++] = (char *)platform;
		} else {
			argv[i++] = "--private-platform";
		}
		argv[i++] = "--";
		for (int j = 0; j < argc; j++)
			argv[i++] = t->opts.argv[j];
		execv(run, argv);
		fprintf(stderr, "ioasid trace: exec %s: %s\n", run, strerror(errno));
		_exit(127);
	}
	close(pipefd[0]);
	t->child = pid;
	*go_fd = pipefd[1];
	return 0;
}

static void launch_abort(struct ioasid_trace *t, int go_fd)
{
	if (go_fd >= 0)
		close(go_fd);          /* the child reads EOF and exits 125 */
	if (t->child > 0) {
		waitpid(t->child, &t->child_status, 0);
		t->child_exited = true;
	}
}

/* A process traced by pid that has exited (gone, or a zombie its parent has not reaped). */
static bool pid_gone(pid_t pid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	if (kill(pid, 0) && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');          /* "pid (comm) S ...": comm may hold spaces and ')' */
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static bool child_gone(struct ioasid_trace *t)
{
	if (t->opts.kind == IOASID_TRACE_PID)
		return t->child_exited || (t->child_exited = pid_gone(t->opts.pid));
	if (t->child <= 0)
		return false;
	if (!t->child_exited && waitpid(t->child, &t->child_status, WNOHANG) == t->child)
		t->child_exited = true;
	return t->child_exited;
}

/* ---- open / close ------------------------------------------------------------------------------ */
static int open_live(struct ioasid_trace *t)
{
	char shim[PATH_MAX], err[PATH_MAX * 4];
	const struct ioasid_trace_opts *o = &t->opts;
	int rc, go_fd = -1;

	switch (o->kind) {
	case IOASID_TRACE_PID:
		if (o->pid <= 0)
			return trace_error(EINVAL, "pid %d: give the pid of a running process that "
					   "uses the ioasid reference", (int)o->pid);
		rc = usdt_backend_open(o, o->pid, o->binary, &t->plan, &t->usdt);
		break;
	case IOASID_TRACE_SELF:
		rc = usdt_backend_open(o, getpid(), o->binary, &t->plan, &t->usdt);
		break;
	case IOASID_TRACE_LAUNCH:
		if (!o->argv || !o->argv[0])
			return trace_error(EINVAL, "launch: no command given");
		rc = ioasid_locate_preload(shim, sizeof(shim), err, sizeof(err));
		if (rc)
			return trace_error(-rc, "cannot trace a launched command: %s", err);
		if (!o->dry_run) {
			rc = launch_fork(t, &go_fd);
			if (rc)
				return rc;
		}
		rc = usdt_backend_open(o, t->child, shim, &t->plan, &t->usdt);
		break;
	case IOASID_TRACE_KERNEL:
		rc = kernel_backend_open(o, &t->plan, &t->kernel);
		break;
	case IOASID_TRACE_HOST:
		/* Every process, present and future, that maps the shim: one uprobe per probe
		 * site on the file, no process filter. */
		if (o->binary)
			snprintf(shim, sizeof(shim), "%s", o->binary);
		else if ((rc = ioasid_locate_preload(shim, sizeof(shim), err, sizeof(err))))
			return trace_error(-rc, "cannot trace the host's reference users: %s", err);
		rc = usdt_backend_open(o, -1, shim, &t->plan, &t->usdt);
		break;
	default:
		return trace_error(EINVAL, "trace source kind %d: unknown", (int)o->kind);
	}
	if (rc)
		goto fail;
	if (o->dry_run)
		return 0;
	/* A running process or kernel kept going while the probes were attached one by one: what
	 * it did meanwhile was seen by some probes and not by others. The stream starts once all
	 * are in (a launched command is held until then, so it loses nothing). */
	if (o->kind == IOASID_TRACE_PID || o->kind == IOASID_TRACE_KERNEL ||
	    o->kind == IOASID_TRACE_HOST)
		t->start_ns = now_ns();
	if (t->usdt)
		usdt_backend_maps(t->usdt, &t->maps[t->nr_maps++]);
	if (t->kernel)
		kernel_backend_maps(t->kernel, &t->maps[t->nr_maps++]);
	if (t->child > 0) {
		__u32 tgid = (__u32)t->child;
		__u8 one = 1;

		if (bpf_map_update_elem(t->maps[0].tgids_fd, &tgid, &one, BPF_ANY)) {
			rc = trace_error(errno, "launch: cannot add pid %d to the trace filter: %s",
					 (int)t->child, strerror(errno));
			goto fail;
		}
	}
	for (int i = 0; i < t->nr_maps; i++) {
		int err = 0;

		if (t->maps[i].events_fd < 0)
			continue;
		if (!t->rb) {
			t->rb = ring_buffer__new(t->maps[i].events_fd, on_sample, t, NULL);
			if (!t->rb)
				err = errno;
		} else {
			err = -ring_buffer__add(t->rb, t->maps[i].events_fd, on_sample, t);
		}
		if (err) {
			rc = trace_error(err, "ring buffer: %s", strerror(err));
			goto fail;
		}
	}
	if (o->record_path) {
		rc = recorder_open(t);
		if (rc)
			goto fail;
	}
	if (go_fd >= 0) {
		char go = 'g';

		if (write(go_fd, &go, 1) != 1) {
			rc = trace_error(errno, "launch: cannot release the command: %s",
					 strerror(errno));
			goto fail;
		}
		close(go_fd);
	}
	return 0;
fail:
	launch_abort(t, go_fd);
	return rc;
}

int ioasid_trace_open(const struct ioasid_trace_opts *opts, struct ioasid_trace **out)
{
	struct ioasid_trace *t;
	int rc;

	if (!opts || !out || opts->sz < offsetof(struct ioasid_trace_opts, log_file) + sizeof(FILE *))
		return trace_error(EINVAL, "ioasid_trace_open: options missing or opts.sz too small "
				   "(set it to sizeof(struct ioasid_trace_opts))");
	t = calloc(1, sizeof(*t));
	if (!t)
		return trace_error(ENOMEM, "ioasid_trace_open: out of memory");
	memcpy(&t->opts, opts, sizeof(t->opts));
	t->child = -1;
	if (opts->kind == IOASID_TRACE_FILE) {
		if (!opts->path) {
			free(t);
			return trace_error(EINVAL, "trace file: no path given");
		}
		rc = ioasid_trace_reader_open(opts->path, &t->reader);
	} else {
		rc = open_live(t);
	}
	if (rc) {
		ioasid_trace_close(t);
		return rc;
	}
	*out = t;
	return 0;
}

int ioasid_trace_record_finish(struct ioasid_trace *t)
{
	int rc;

	if (!t)
		return -EINVAL;
	if (!t->rec)
		return t->rec_err;
	rc = ioasid_trace_writer_close(t->rec);
	t->rec = NULL;
	if (!t->rec_err)
		t->rec_err = rc;
	if (t->rec_err)
		return trace_error(-t->rec_err, "record file %s: %s: the recording is incomplete "
				   "(it still reads up to its last complete chunk)",
				   t->opts.record_path, strerror(-t->rec_err));
	return 0;
}

void ioasid_trace_close(struct ioasid_trace *t)
{
	if (!t)
		return;
	ring_buffer__free(t->rb);
	usdt_backend_close(t->usdt);
	kernel_backend_close(t->kernel);
	ioasid_trace_record_finish(t);
	ioasid_trace_reader_close(t->reader);
	if (t->child > 0 && !t->child_exited)
		waitpid(t->child, &t->child_status, 0);
	trace_plan_free(&t->plan);
	free(t);
}

/* ---- polling ------------------------------------------------------------------------------------ */
/* One decoded chunk per call; a callback that stops delivery leaves the rest of the chunk for
 * the next call. */
static int poll_file(struct ioasid_trace *t)
{
	int rc;

	if (t->batch_next == t->batch_n) {
		if (t->file_end)
			return -ENODATA;
		rc = ioasid_trace_reader_next_batch(t->reader, &t->batch, &t->batch_n);
		t->batch_next = 0;
		if (rc == 0) {
			t->batch_n = 0;
			t->file_end = true;
			return -ENODATA;
		}
		if (rc < 0) {
			t->batch_n = 0;
			return trace_error(-rc, "%s", ioasid_trace_reader_error(t->reader));
		}
	}
	while (t->batch_next < t->batch_n)
		if (deliver(t, &t->batch[t->batch_next++]))
			break;
	return t->cb_rc ? t->cb_rc : t->delivered;
}

int ioasid_trace_poll(struct ioasid_trace *t, int timeout_ms, ioasid_trace_event_fn fn, void *arg)
{
	int rc;

	if (!t)
		return -EINVAL;
	t->cb = fn;
	t->cb_arg = arg;
	t->cb_rc = 0;
	t->delivered = 0;
	if (t->reader)
		return poll_file(t);
	if (!t->rb)
		return trace_error(EOPNOTSUPP, "this trace was opened as a dry run: nothing to poll");
	/* A traced process that is gone, once nothing is left to deliver: say so. Asked only
	 * when a poll finds nothing (the check reads /proc): a busy stream pays nothing. */
	if (t->child_exited) {
		rc = ring_buffer__consume(t->rb);
		if (rc < 0 && rc != -ECANCELED)
			return trace_error(-rc, "ring buffer: %s", strerror(-rc));
		if (t->cb_rc)
			return t->cb_rc;
		return t->delivered ? t->delivered : -ECHILD;
	}
	rc = ring_buffer__poll(t->rb, timeout_ms);
	if (rc >= 0 || rc == -ECANCELED) {
		if (!t->cb_rc)
			rc = ring_buffer__consume(t->rb);
	}
	if (rc < 0 && rc != -ECANCELED && rc != -EINTR)
		return trace_error(-rc, "ring buffer: %s", strerror(-rc));
	if (t->cb_rc)
		return t->cb_rc;
	recorder_tick(t);
	if (t->rec_err)
		return trace_error(-t->rec_err, "record file %s: %s", t->opts.record_path,
				   strerror(-t->rec_err));
	if (!t->delivered && child_gone(t))
		return ioasid_trace_poll(t, 0, fn, arg);    /* drain what came meanwhile */
	return t->delivered;
}

/* ---- accounting and aggregates ----------------------------------------------------------------- */
static int sum_stats(int fd, uint64_t sums[IOASID_STAT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 k = 0; k < IOASID_STAT_MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			sums[k] += vals[c];
	}
	free(vals);
	return 0;
}

int ioasid_trace_stats(struct ioasid_trace *t, struct ioasid_trace_stats *out)
{
	uint64_t sums[IOASID_STAT_MAX] = { 0 };

	if (!t || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->received = t->received;
	out->before_start = t->before_start;
	if (t->reader) {
		out->emitted = t->received;
		return 0;
	}
	for (int i = 0; i < t->nr_maps; i++) {
		int rc = sum_stats(t->maps[i].stats_fd, sums);

		if (rc)
			return trace_error(-rc, "reading the BPF counters: %s", strerror(-rc));
	}
	out->emitted = sums[IOASID_STAT_EMITTED];
	out->dropped = sums[IOASID_STAT_DROPPED];
	out->read_errors = sums[IOASID_STAT_READ_ERR];
	out->agg_full = sums[IOASID_STAT_AGG_FULL];
	out->filtered = sums[IOASID_STAT_FILTERED];
	return 0;
}

int ioasid_trace_aggregates(struct ioasid_trace *t, ioasid_trace_agg_fn fn, void *arg)
{
	int ncpu = libbpf_num_possible_cpus(), rc = 0;
	struct ioasid_agg_value *vals, sum;

	if (!t || !fn)
		return -EINVAL;
	if (t->reader || !t->nr_maps)
		return trace_error(EOPNOTSUPP, "aggregates exist only for live sources (this is a "
				   "trace file or a dry run): replay the events instead");
	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (int i = 0; i < t->nr_maps && !rc; i++) {
		struct ioasid_agg_key key, next;
		struct ioasid_agg_key *prev = NULL;

		while (!rc && !bpf_map_get_next_key(t->maps[i].aggregates_fd, prev, &next)) {
			key = next;
			prev = &key;
			if (bpf_map_lookup_elem(t->maps[i].aggregates_fd, &key, vals))
				continue;       /* deleted meanwhile */
			memset(&sum, 0, sizeof(sum));
			for (int c = 0; c < ncpu; c++) {
				sum.count += vals[c].count;
				sum.errors += vals[c].errors;
				sum.bytes += vals[c].bytes;
				sum.value_sum += vals[c].value_sum;
				sum.latency_sum_ns += vals[c].latency_sum_ns;
				for (int s = 0; s < IOASID_HIST_SLOTS; s++) {
					sum.latency_hist[s] += vals[c].latency_hist[s];
					sum.size_hist[s] += vals[c].size_hist[s];
				}
			}
			rc = fn(arg, &key, &sum);
		}
	}
	free(vals);
	return rc;
}

int ioasid_trace_plan(struct ioasid_trace *t, const struct ioasid_trace_plan_item **items,
		      size_t *count)
{
	if (!t || !items || !count)
		return -EINVAL;
	*items = t->plan.items;
	*count = t->plan.n;
	return 0;
}

/* What the reference announces: every type but the kernel's own group membership events. */
#define REFERENCE_TYPES                                                                           \
	(~(uint64_t)1 & ~(1ull << IOASID_EV_GROUP_ADD_DEV) & ~(1ull << IOASID_EV_GROUP_DEL_DEV) & \
	 ((1ull << IOASID_EV_MAX) - 1))
/* What any kernel offers without fentry: the iommu:* and VT-d cache_tag tracepoints. */
#define KERNEL_TRACEPOINT_TYPES                                                                   \
	((1ull << IOASID_EV_DOMAIN_MAP) | (1ull << IOASID_EV_DOMAIN_UNMAP) |                      \
	 (1ull << IOASID_EV_DEV_ATTACH) | (1ull << IOASID_EV_DEV_DETACH) |                        \
	 (1ull << IOASID_EV_GROUP_ADD_DEV) | (1ull << IOASID_EV_GROUP_DEL_DEV) |                  \
	 (1ull << IOASID_EV_FAULT) | (1ull << IOASID_EV_IOTLB_INV))

int ioasid_trace_observable(struct ioasid_trace *t, uint64_t *types)
{
	if (!t || !types)
		return trace_error(EINVAL, "ioasid_trace_observable: no trace or no output");
	switch (t->opts.kind) {
	case IOASID_TRACE_KERNEL:
		*types = kernel_backend_observable(t->kernel);
		return 0;
	case IOASID_TRACE_FILE: {
		const struct ioasid_trace_file_header *h = ioasid_trace_reader_header(t->reader);

		*types = h && h->source_kind == IOASID_TRACE_KERNEL ? KERNEL_TRACEPOINT_TYPES
								      : REFERENCE_TYPES;
		return 0;
	}
	default:
		*types = REFERENCE_TYPES;
		return 0;
	}
}

pid_t ioasid_trace_child(struct ioasid_trace *t)
{
	return t ? t->child : -EINVAL;
}

int ioasid_trace_child_status(struct ioasid_trace *t, int *wstatus)
{
	if (!t || t->child <= 0)
		return -EINVAL;
	if (!child_gone(t))
		return -EBUSY;
	if (wstatus)
		*wstatus = t->child_status;
	return 0;
}

int ioasid_trace_fd(struct ioasid_trace *t)
{
	if (!t)
		return -EINVAL;
	if (!t->rb)
		return -EOPNOTSUPP;
	return ring_buffer__epoll_fd(t->rb);
}
