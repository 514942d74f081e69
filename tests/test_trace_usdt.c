/* test_trace_usdt.c — the reference's USDT probes traced with BPF (suite trace_usdt).
 *
 * Needs BPF and uprobes (root here; CI runs as root: never skipped there, see bpf_test.h).
 *  - The BPF stream equals the in-process stream (same events, same order, same bodies): the
 *    in-process stream's fields are asserted exactly by test_events.c, so every event type the
 *    workload produces arrives through BPF with correct fields.
 *  - Counts equal the operations performed; aggregates agree with the events.
 *  - Under a flood: received + dropped == emitted, with and without a concurrent consumer.
 *  - Semaphores gate the sites: zero before open and after close.
 *  - PID mode on another process, launch mode under the shim (with recording and replay),
 *    dry run, and the errors for a process without probes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ioasid_test.h"
#include "bpf_test.h"
#include "common/probe.h"
#include "ioasid/trace.h"
#include "ioasid/trace_file.h"

#define NVME "0000:00:02.0"
#define MAX_EVENTS 200000

struct stream {
	struct ioasid_event *ev;
	size_t n, cap;
	pthread_mutex_t lock;
};

static struct stream bpf_stream, inproc_stream;

static void stream_push(struct stream *s, const struct ioasid_event *ev)
{
	pthread_mutex_lock(&s->lock);
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->ev = realloc(s->ev, s->cap * sizeof(*s->ev));
		cr_assert_not_null(s->ev);
	}
	s->ev[s->n++] = *ev;
	pthread_mutex_unlock(&s->lock);
}

static int on_bpf_event(void *arg, const struct ioasid_event *ev)
{
	stream_push(arg, ev);
	return 0;
}

static void on_inproc_event(void *arg, const struct ioasid_event *ev)
{
	stream_push(arg, ev);
}

static void setup(void)
{
	setenv("IOASID_QUIET", "1", 1);
	unsetenv("IOASID_PLATFORM");
	unsetenv("IOASID_TOPOLOGY");
	pthread_mutex_init(&bpf_stream.lock, NULL);
	pthread_mutex_init(&inproc_stream.lock, NULL);
}

TestSuite(trace_usdt, .init = setup, .timeout = 120);

static struct ioasid_trace *open_self(unsigned int produce, size_t ringbuf)
{
	struct ioasid_trace_opts o = {
		.sz = sizeof(o), .kind = IOASID_TRACE_SELF, .produce = produce,
		.ringbuf_bytes = ringbuf,
	};
	struct ioasid_trace *t = NULL;
	int rc = ioasid_trace_open(&o, &t);

	cr_assert_eq(rc, 0, "ioasid_trace_open(SELF): %d: %s", rc, ioasid_trace_last_error());
	return t;
}

/* Poll until the source is drained (no event for a few rounds, or -ECHILD: the traced process
 * exited and everything was delivered). */
static void drain(struct ioasid_trace *t, struct stream *s)
{
	int idle = 0;

	while (idle < 3) {
		int rc = ioasid_trace_poll(t, 20, on_bpf_event, s);

		if (rc == -ECHILD)
			break;
		cr_assert_geq(rc, 0, "poll: %d: %s", rc, ioasid_trace_last_error());
		idle = rc ? 0 : idle + 1;
	}
}

static struct ioasid_trace_stats stats_of(struct ioasid_trace *t)
{
	struct ioasid_trace_stats st;

	cr_assert_eq(ioasid_trace_stats(t, &st), 0);
	return st;
}

static size_t count_type(const struct stream *s, unsigned int type)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->ev[i].type == type;
	return n;
}

/* A workload touching every layer: IOAS map/copy/unmap, a device bound, attached to the IOAS
 * (auto HWPT, domain map, IOTLB), DMA, detach, unbind. Returns the number of IOAS maps. */
#define WL_MAPS 16
static void workload(struct ioasid_ctx *ctx)
{
	size_t len = 2u << 20;
	char *buf = test_buffer(len * WL_MAPS);
	uint32_t ioas, ioas2, dev_id = 0, pt;
	uint64_t iova = 0x100000000ull, dst = 0;
	char data[64] = { 0 };

	self = ctx;
	ioas = ioas_alloc_ok();
	ioas2 = ioas_alloc_ok();
	for (int i = 0; i < WL_MAPS; i++)
		ioas_map_fixed_ok(ioas, buf + (size_t)i * len, len, iova + (uint64_t)i * len);
	assert_rc(0, _ioas_copy(ioas2, &dst, ioas, iova, len, IOMMU_IOAS_MAP_READABLE));
	assert_rc(0, ioasid_device_bind(ctx, NVME, &dev_id));
	pt = ioas;
	assert_rc(0, ioasid_device_attach(ctx, dev_id, 0, &pt));
	assert_rc(0, ioasid_device_dma(ctx, dev_id, 0, iova, data, sizeof(data), 0, NULL));
	ioas_unmap_ok(ioas, iova, len, len);
	/* DMA to the unmapped range faults: the unmap flushed the IOTLB. */
	assert_rc(-EFAULT, ioasid_device_dma(ctx, dev_id, 0, iova, data, sizeof(data), 0, NULL));
	assert_rc(0, ioasid_device_detach(ctx, dev_id, 0));
	assert_rc(0, ioasid_device_unbind(ctx, dev_id));
	ioas_unmap_ok(ioas, 0, UINT64_MAX, len * (WL_MAPS - 1));
	destroy_ok(ioas2);
	destroy_ok(ioas);
	munmap(buf, len * WL_MAPS);
}

Test(trace_usdt, bpf_stream_equals_inproc_stream)
{
	struct ioasid_trace *t;
	struct ioasid_ctx *ctx;
	struct ioasid_trace_stats st;
	int h;

	bpf_test_require(true);
	t = open_self(0, 0);
	h = ioasid_events_subscribe(on_inproc_event, &inproc_stream);
	cr_assert_geq(h, 0);
	cr_assert_eq(ioasid_ctx_open(&ctx), 0);
	workload(ctx);
	ioasid_ctx_close(ctx);
	cr_assert_eq(ioasid_events_unsubscribe(h), 0);
	drain(t, &bpf_stream);
	st = stats_of(t);

	cr_assert_eq(st.dropped, 0);
	cr_assert_eq(st.read_errors, 0);
	cr_assert_eq(st.received, bpf_stream.n);
	cr_assert_eq(st.received + st.dropped, st.emitted);
	cr_assert_eq(bpf_stream.n, inproc_stream.n, "BPF saw %zu events, in-process %zu",
		     bpf_stream.n, inproc_stream.n);
	for (size_t i = 0; i < bpf_stream.n; i++) {
		const struct ioasid_event *b = &bpf_stream.ev[i], *p = &inproc_stream.ev[i];
		size_t body = offsetof(struct ioasid_event, ctx);

		cr_assert_eq(b->type, p->type, "event %zu: BPF %s, in-process %s", i,
			     ioasid_event_type_name(b->type), ioasid_event_type_name(p->type));
		cr_assert_eq(b->source, IOASID_SRC_REFERENCE);
		cr_assert_eq(p->source, IOASID_SRC_INPROC);
		cr_assert_eq(b->version, IOASID_EVENT_VERSION);
		cr_assert_eq(b->pid, (uint32_t)getpid());
		cr_assert_eq(b->tid, p->tid);
		cr_assert_eq(b->flags, p->flags, "event %zu (%s): flags", i,
			     ioasid_event_type_name(b->type));
		cr_assert_eq(memcmp((const char *)b + body, (const char *)p + body,
				    sizeof(*b) - body), 0, "event %zu (%s): bodies differ", i,
			     ioasid_event_type_name(b->type));
		if (i)
			cr_assert_gt(b->seq, bpf_stream.ev[i - 1].seq, "seq must increase");
	}
	/* Counts equal the operations performed. */
	cr_assert_eq(count_type(&bpf_stream, IOASID_EV_IOAS_MAP), WL_MAPS);
	cr_assert_eq(count_type(&bpf_stream, IOASID_EV_IOAS_COPY), 1);
	cr_assert_eq(count_type(&bpf_stream, IOASID_EV_IOAS_UNMAP), 2);
	cr_assert_eq(count_type(&bpf_stream, IOASID_EV_CTX_OPEN), 1);
	cr_assert_eq(count_type(&bpf_stream, IOASID_EV_CTX_CLOSE), 1);
	cr_assert_eq(count_type(&bpf_stream, IOASID_EV_DEV_BIND), 1);
	cr_assert_eq(count_type(&bpf_stream, IOASID_EV_DEV_ATTACH), 1);
	cr_assert_eq(count_type(&bpf_stream, IOASID_EV_DEV_DETACH), 1);
	cr_assert_eq(count_type(&bpf_stream, IOASID_EV_DEV_UNBIND), 1);
	cr_assert_eq(count_type(&bpf_stream, IOASID_EV_DMA), 2);
	cr_assert_geq(count_type(&bpf_stream, IOASID_EV_IOTLB_INV), 1);
	cr_assert_geq(count_type(&bpf_stream, IOASID_EV_DOMAIN_MAP), 1);
	cr_assert_geq(count_type(&bpf_stream, IOASID_EV_HWPT_ALLOC), 1);
	ioasid_trace_close(t);
}

/* Every event type the probes know travels through BPF intact: one record of each type, every
 * field set to a value derived from the type, fired at its own site. (test_events.c checks
 * that the reference fills each type's fields correctly; this checks the transport.) */
static void fill_pattern(struct ioasid_event *ev, unsigned int type)
{
	uint64_t k = type * 0x0101010101010101ull;

	memset(ev, 0, sizeof(*ev));
	ev->type = (uint16_t)type;
	ev->flags = (uint32_t)k;
	ev->ctx = k ^ 1;
	ev->dev = type + 100;
	ev->obj = type + 200;
	ev->pt = type + 300;
	ev->iommu = type + 400;
	ev->domain = type + 500;
	ev->group = type + 600;
	ev->pasid = type + 700;
	ev->result = -(int32_t)type;
	ev->aux = type + 800;
	ev->iova = k << 12;
	ev->length = k ^ 0xfff;
	ev->value = ~k;
	ev->latency_ns = k >> 3;
	snprintf(ev->name, sizeof(ev->name), "dev-%u", type);
}

Test(trace_usdt, every_event_type_arrives_intact)
{
	struct ioasid_trace *t;
	struct ioasid_trace_stats st;
	struct ioasid_event ev, want;
	size_t body = offsetof(struct ioasid_event, ctx);

	bpf_test_require(true);
	t = open_self(0, 0);
#define FIRE_ONE(up, low, num, doc)                                                           \
	fill_pattern(&ev, num);                                                               \
	ioasid_probe_fire_##low(&ev);
	IOASID_EVENT_TYPES(FIRE_ONE)
#undef FIRE_ONE
	drain(t, &bpf_stream);
	st = stats_of(t);
	cr_assert_eq(st.read_errors, 0);
	cr_assert_eq(bpf_stream.n, IOASID_EV_MAX - 1, "one event per type: got %zu", bpf_stream.n);
	for (size_t i = 0; i < bpf_stream.n; i++) {
		const struct ioasid_event *b = &bpf_stream.ev[i];

		fill_pattern(&want, (unsigned int)i + 1);
		cr_assert_eq(b->type, i + 1, "event %zu has type %u", i, b->type);
		cr_assert_eq(b->flags, want.flags);
		cr_assert_eq(b->source, IOASID_SRC_REFERENCE);
		cr_assert_eq(memcmp((const char *)b + body, (const char *)&want + body,
				    sizeof(*b) - body), 0, "type %s: body differs",
			     ioasid_event_type_name(b->type));
	}
	ioasid_trace_close(t);
}

struct agg_find {
	unsigned int type;
	struct ioasid_agg_value sum;
	unsigned int keys;
};

static int on_agg(void *arg, const struct ioasid_agg_key *key, const struct ioasid_agg_value *v)
{
	struct agg_find *f = arg;

	if (key->type != f->type || key->pid != (uint32_t)getpid())
		return 0;
	f->keys++;
	f->sum.count += v->count;
	f->sum.bytes += v->bytes;
	f->sum.errors += v->errors;
	for (int s = 0; s < IOASID_HIST_SLOTS; s++) {
		f->sum.latency_hist[s] += v->latency_hist[s];
		f->sum.size_hist[s] += v->size_hist[s];
	}
	return 0;
}

static void check_map_aggregates(struct ioasid_trace *t)
{
	struct agg_find f = { .type = IOASID_EV_IOAS_MAP };
	uint64_t lat = 0;

	cr_assert_eq(ioasid_trace_aggregates(t, on_agg, &f), 0);
	cr_assert_eq(f.keys, 1, "one (process, ctx, IOAS) key for the maps, got %u", f.keys);
	cr_assert_eq(f.sum.count, WL_MAPS);
	cr_assert_eq(f.sum.bytes, (uint64_t)WL_MAPS << 21);
	cr_assert_eq(f.sum.errors, 0);
	/* every map of 2 MiB lands in size slot log2(2 MiB) - 12 = 9 */
	cr_assert_eq(f.sum.size_hist[9], WL_MAPS);
	for (int s = 0; s < IOASID_HIST_SLOTS; s++)
		lat += f.sum.latency_hist[s];
	cr_assert_eq(lat, WL_MAPS, "each map has a latency");
}

Test(trace_usdt, aggregates_match_operations)
{
	struct ioasid_trace *t;
	struct ioasid_ctx *ctx;

	bpf_test_require(true);
	t = open_self(0, 0);
	cr_assert_eq(ioasid_ctx_open(&ctx), 0);
	workload(ctx);
	ioasid_ctx_close(ctx);
	drain(t, &bpf_stream);
	check_map_aggregates(t);
	ioasid_trace_close(t);
}

Test(trace_usdt, counters_only_mode)
{
	struct ioasid_trace *t;
	struct ioasid_ctx *ctx;
	struct ioasid_trace_stats st;

	bpf_test_require(true);
	t = open_self(IOASID_TRACE_AGGREGATES, 0);
	cr_assert_eq(ioasid_ctx_open(&ctx), 0);
	workload(ctx);
	ioasid_ctx_close(ctx);
	drain(t, &bpf_stream);
	st = stats_of(t);
	cr_assert_eq(bpf_stream.n, 0, "no events in counters-only mode");
	cr_assert_eq(st.received, 0);
	cr_assert_eq(st.dropped, 0);
	cr_assert_gt(st.emitted, WL_MAPS);
	check_map_aggregates(t);
	ioasid_trace_close(t);
}

/* ---- floods ------------------------------------------------------------------------------------ */
static void fire_maps(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		IOASID_PROBE(ioas_map, .ctx = 7, .obj = 1, .iova = i << 12, .length = 4096);
}

Test(trace_usdt, flood_without_consumer_accounts_every_event)
{
	const uint64_t n = 100000;
	struct ioasid_trace *t;
	struct ioasid_trace_stats st;

	bpf_test_require(true);
	t = open_self(0, 16384);     /* ~120 records fit */
	fire_maps(n);
	drain(t, &bpf_stream);
	st = stats_of(t);
	cr_assert_eq(st.emitted, n);
	cr_assert_gt(st.dropped, 0, "a 16 KiB ring buffer must overflow");
	cr_assert_eq(st.received + st.dropped, st.emitted, "received %llu + dropped %llu != "
		     "emitted %llu", (unsigned long long)st.received,
		     (unsigned long long)st.dropped, (unsigned long long)st.emitted);
	cr_assert_eq(st.received, bpf_stream.n);
	/* What was received is in order and intact. */
	for (size_t i = 1; i < bpf_stream.n; i++) {
		cr_assert_gt(bpf_stream.ev[i].seq, bpf_stream.ev[i - 1].seq);
		cr_assert_eq(bpf_stream.ev[i].length, 4096);
	}
	ioasid_trace_close(t);
}

struct flood_arg {
	uint64_t n;
};

static void *flood_thread(void *arg)
{
	fire_maps(((struct flood_arg *)arg)->n);
	return NULL;
}

Test(trace_usdt, flood_with_consumer_two_producers)
{
	const uint64_t per_thread = 150000;
	struct flood_arg a = { per_thread };
	pthread_t th[2];
	struct ioasid_trace *t;
	struct ioasid_trace_stats st;
	volatile int running = 2;

	bpf_test_require(true);
	t = open_self(0, 65536);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, flood_thread, &a), 0);
	while (running) {
		int rc = ioasid_trace_poll(t, 5, on_bpf_event, &bpf_stream);

		cr_assert_geq(rc, 0);
		st = stats_of(t);
		if (st.emitted == 2 * per_thread)
			running = 0;
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	drain(t, &bpf_stream);
	st = stats_of(t);
	cr_assert_eq(st.emitted, 2 * per_thread);
	cr_assert_eq(st.received + st.dropped, st.emitted, "received %llu + dropped %llu != "
		     "emitted %llu", (unsigned long long)st.received,
		     (unsigned long long)st.dropped, (unsigned long long)st.emitted);
	/* seq is unique per event: received seqs are distinct */
	for (size_t i = 1; i < bpf_stream.n; i++)
		cr_assert_neq(bpf_stream.ev[i].seq, bpf_stream.ev[i - 1].seq);
	ioasid_trace_close(t);
}

/* ---- semaphores and the plan ------------------------------------------------------------------- */
Test(trace_usdt, semaphores_gate_the_sites)
{
	struct ioasid_trace *t;

	bpf_test_require(true);
	cr_assert_eq(ioasid_ioas_map_semaphore, 0);
	cr_assert_eq(ioasid_iotlb_inv_semaphore, 0);
	t = open_self(0, 0);
	cr_assert_gt(ioasid_ioas_map_semaphore, 0, "attached: the kernel raised the semaphore");
	cr_assert_gt(ioasid_iotlb_inv_semaphore, 0);
	ioasid_trace_close(t);
	cr_assert_eq(ioasid_ioas_map_semaphore, 0, "detached: the semaphore is back to 0");
}

Test(trace_usdt, dry_run_plans_every_probe_and_loads_nothing)
{
	struct ioasid_trace_opts o = { .sz = sizeof(o), .kind = IOASID_TRACE_SELF, .dry_run = true };
	const struct ioasid_trace_plan_item *it;
	struct ioasid_trace *t;
	size_t n, probes = 0;

	bpf_test_require(true);
	cr_assert_eq(ioasid_trace_open(&o, &t), 0, "%s", ioasid_trace_last_error());
	cr_assert_eq(ioasid_ioas_map_semaphore, 0, "a dry run attaches nothing");
	cr_assert_eq(ioasid_trace_plan(t, &it, &n), 0);
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(it[i].target, "usdt ioasid:", 12)) {
			probes++;
			cr_assert(it[i].attached, "%s: %s", it[i].target, it[i].reason);
		} else if (!it[i].attached) {
			cr_assert_neq(it[i].reason[0], '\0', "%s skipped without a reason",
				      it[i].target);
		}
	}
	cr_assert_eq(probes, IOASID_EV_MAX - 1, "every event type has a probe: %zu", probes);
	assert_rc(-EOPNOTSUPP, ioasid_trace_poll(t, 0, on_bpf_event, &bpf_stream));
	ioasid_trace_close(t);
}

Test(trace_usdt, process_without_probes_is_refused_clearly)
{
	struct ioasid_trace_opts o = { .sz = sizeof(o), .kind = IOASID_TRACE_PID };
	struct ioasid_trace *t = NULL;
	pid_t child;
	int rc;

	bpf_test_require(true);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		execl("/bin/sleep", "sleep", "10", (char *)NULL);
		_exit(127);
	}
	usleep(100000);
	o.pid = child;
	rc = ioasid_trace_open(&o, &t);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_rc(-ENOENT, rc);
	cr_assert(strstr(ioasid_trace_last_error(), "does not use the ioasid reference"), "%s",
		  ioasid_trace_last_error());
	o.pid = child;          /* reaped: gone */
	assert_rc(-ESRCH, ioasid_trace_open(&o, &t));
	cr_assert(strstr(ioasid_trace_last_error(), "no such process"), "%s",
		  ioasid_trace_last_error());
	o.pid = 0;
	assert_rc(-EINVAL, ioasid_trace_open(&o, &t));
}

/* ---- another process by pid ---------------------------------------------------------------------- */
Test(trace_usdt, pid_mode_traces_another_process)
{
	struct ioasid_trace_opts o = { .sz = sizeof(o), .kind = IOASID_TRACE_PID };
	struct ioasid_trace *t;
	struct ioasid_trace_stats st;
	int go[2], status;
	pid_t child;
	char c = 'g';

	bpf_test_require(true);
	cr_assert_eq(pipe(go), 0);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		struct ioasid_ctx *ctx;

		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(3);
		if (ioasid_ctx_open(&ctx))
			_exit(4);
		workload(ctx);
		ioasid_ctx_close(ctx);
		_exit(0);
	}
	close(go[0]);
	o.pid = child;
	cr_assert_eq(ioasid_trace_open(&o, &t), 0, "%s", ioasid_trace_last_error());
	cr_assert_eq(write(go[1], &c, 1), 1);
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
	drain(t, &bpf_stream);
	st = stats_of(t);
	cr_assert_eq(st.received + st.dropped, st.emitted);
	cr_assert_eq(st.dropped, 0);
	cr_assert_eq(count_type(&bpf_stream, IOASID_EV_IOAS_MAP), WL_MAPS);
	for (size_t i = 0; i < bpf_stream.n; i++)
		cr_assert_eq(bpf_stream.ev[i].pid, (uint32_t)child, "only the traced process");
	ioasid_trace_close(t);
}

/* ---- launch under the shim, record, replay ------------------------------------------------------ */
static const char *client_path(const char *name)
{
	static char path[4096];
	char exe[4000];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	cr_assert_gt(n, 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	/* build/tests/test_x and build/asan/tests/test_x both find build/tests/clients */
	snprintf(path, sizeof(path), "%s/clients/%s", exe, name);
	if (access(path, X_OK))
		snprintf(path, sizeof(path), "%s/../../tests/clients/%s", exe, name);
	cr_assert_eq(access(path, X_OK), 0, "client %s not built", path);
	return path;
}

Test(trace_usdt, launch_record_and_replay)
{
	char rec[] = "/tmp/ioasid-trace-XXXXXX";
	char *argv[] = { (char *)client_path("vmm_workload"), "64", NULL };
	struct ioasid_trace_opts o = {
		.sz = sizeof(o), .kind = IOASID_TRACE_LAUNCH, .argv = argv, .platform = "",
		.record_path = rec,
	};
	struct ioasid_trace_opts r = { .sz = sizeof(r), .kind = IOASID_TRACE_FILE, .path = rec };
	struct stream replay = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct ioasid_trace *t;
	struct ioasid_trace_stats st;
	int fd, rc, ws;

	bpf_test_require(true);
	fd = mkstemp(rec);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(ioasid_trace_open(&o, &t), 0, "%s", ioasid_trace_last_error());
	cr_assert_gt(ioasid_trace_child(t), 0);
	do
		rc = ioasid_trace_poll(t, 50, on_bpf_event, &bpf_stream);
	while (rc >= 0);
	assert_rc(-ECHILD, rc);
	cr_assert_eq(ioasid_trace_child_status(t, &ws), 0);
	cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "vmm_workload status %#x", ws);
	st = stats_of(t);
	cr_assert_eq(st.dropped, 0);
	cr_assert_eq(st.received, st.emitted);
	cr_assert_eq(count_type(&bpf_stream, IOASID_EV_IOAS_MAP), 32 + 1, "32 RAM chunks + bounce");
	cr_assert_eq(count_type(&bpf_stream, IOASID_EV_IOAS_COPY), 1);
	cr_assert_eq(count_type(&bpf_stream, IOASID_EV_IOAS_UNMAP), 2);
	cr_assert_eq(count_type(&bpf_stream, IOASID_EV_CTX_OPEN), 1);
	cr_assert_eq(count_type(&bpf_stream, IOASID_EV_CTX_CLOSE), 1);
	for (size_t i = 0; i < bpf_stream.n; i++)
		cr_assert_eq(bpf_stream.ev[i].pid, (uint32_t)ioasid_trace_child(t));
	ioasid_trace_close(t);

	/* Replay: the same events, byte for byte, then a clean end. */
	cr_assert_eq(ioasid_trace_open(&r, &t), 0, "%s", ioasid_trace_last_error());
	do
		rc = ioasid_trace_poll(t, 0, on_bpf_event, &replay);
	while (rc > 0);
	assert_rc(-ENODATA, rc);
	cr_assert_eq(replay.n, bpf_stream.n);
	cr_assert_eq(memcmp(replay.ev, bpf_stream.ev, replay.n * sizeof(*replay.ev)), 0,
		     "replayed events differ from the live ones");
	assert_rc(-EOPNOTSUPP, ioasid_trace_aggregates(t, (ioasid_trace_agg_fn)on_agg, NULL));
	ioasid_trace_close(t);
	free(replay.ev);
	unlink(rec);
}
