/* bench_check.c — how fast the invariant checker (src/check/) consumes events.
 *
 *   bench_check [--events N] [--repeats R] [--batch B] [--json]
 *   bench_check --events N --write FILE        the same stream as a trace file, then exit
 *   bench_check --read FILE [--repeats R] [--json]
 *
 * --read times what `ioasid-check -q -r FILE` does (the offline audit): the trace library
 * reads and inflates the file (ioasid_trace_poll on a FILE source) and every event goes to
 * ioasid_check_feed, R times; the verdict must be clean.
 *
 * Builds N events in memory first (default 10 000 000; 128 bytes each): the stream the
 * reference emits, in its order, while a VMM with two devices (each behind its own HWPT on one
 * IOAS, so two domains) maps and unmaps guest memory from four threads. Setup: CTX_OPEN,
 * OBJ_ALLOC IOAS, per device GROUP_CLAIM + DEV_BIND + OBJ_ALLOC, HWPT_ALLOC + OBJ_ALLOC,
 * DEV_ATTACH. Then per map: ACCOUNT, DOMAIN_MAP per domain, IOAS_MAP, a DMA into the new
 * range; and 64 maps behind, per unmap: DOMAIN_UNMAP + IOTLB_INV (UNMAP, STRICT) per domain,
 * ACCOUNT, IOAS_UNMAP. Sizes 4 KiB..2 MiB at a rising IOVA. Every so often a refused map
 * (EEXIST, no state change). It ends with everything unmapped, detached, destroyed, unbound
 * and the context closed, so the stream is clean end to end.
 *
 * Then, R times (default 5): a new checker, ioasid_check_feed_batch in batches of B events
 * (default 4096, what a trace reader hands out), ioasid_check_end — timed — and the verdict
 * must be 0 (clean) with exactly N events checked, so the figure can never come from a checker
 * that broke or skipped work. Prints the median (min, max) events/s by wall time and by this
 * process's CPU time; --json adds one JSON line per measurement:
 * {"name","events_per_s","min","max","events","repeats"}.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ioasid/check.h"
#include "ioasid/trace.h"
#include "ioasid/trace_file.h"

#include "bench/bench_common.h"

#define MAX_REPEATS 99
#define PID 4242u
#define CTX 0x7f3a5c001000ULL
#define IOAS 1u
#define BEHIND 64


/* ---- the stream ------------------------------------------------------------------------------ */
struct gen {
	struct ioasid_event *ev;
	size_t n, cap;
	uint64_t seq, ts, pinned;
	uint32_t tid;
};

static struct ioasid_event *emit(struct gen *g, uint16_t type)
{
	struct ioasid_event *e = &g->ev[g->n++];

	memset(e, 0, sizeof(*e));
	e->type = type;
	e->source = IOASID_SRC_REFERENCE;
	e->version = IOASID_EVENT_VERSION;
	e->seq = ++g->seq;
	g->ts += 300 + rng() % 2000;
	e->ts_ns = g->ts;
	e->pid = PID;
	e->tid = g->tid;
	return e;
}

static const struct { uint32_t dev, group, obj_dev, hwpt, domain; const char *name; } devs[2] = {
	{ 1, 3, 2, 3, 1, "0000:00:02.0" },
	{ 2, 4, 4, 5, 2, "0000:00:03.0" },
};

static void setup(struct gen *g)
{
	struct ioasid_event *e;

	g->tid = PID;
	emit(g, IOASID_EV_CTX_OPEN)->ctx = CTX;
	e = emit(g, IOASID_EV_OBJ_ALLOC);
	e->ctx = CTX, e->obj = IOAS, e->aux = IOASID_OBJK_IOAS;
	for (int i = 0; i < 2; i++) {
		e = emit(g, IOASID_EV_GROUP_CLAIM);
		e->ctx = CTX, e->group = devs[i].group, e->dev = devs[i].dev, e->value = 1;
		e->aux = IOASID_DRV_USER;
		strcpy(e->name, devs[i].name);
		e = emit(g, IOASID_EV_DEV_BIND);
		e->ctx = CTX, e->dev = devs[i].dev, e->group = devs[i].group;
		e->obj = devs[i].obj_dev, e->iommu = 1, e->value = 20, e->length = 1;
		strcpy(e->name, devs[i].name);
		e = emit(g, IOASID_EV_OBJ_ALLOC);
		e->ctx = CTX, e->obj = devs[i].obj_dev, e->aux = IOASID_OBJK_DEVICE;
		e = emit(g, IOASID_EV_HWPT_ALLOC);
		e->ctx = CTX, e->obj = devs[i].hwpt, e->pt = IOAS, e->iommu = 1;
		e->domain = devs[i].domain;
		e = emit(g, IOASID_EV_OBJ_ALLOC);
		e->ctx = CTX, e->obj = devs[i].hwpt, e->aux = IOASID_OBJK_HWPT_PAGING;
		e = emit(g, IOASID_EV_DEV_ATTACH);
		e->ctx = CTX, e->dev = devs[i].dev, e->group = devs[i].group;
		e->obj = devs[i].obj_dev, e->pt = devs[i].hwpt, e->iommu = 1;
		e->domain = devs[i].domain, e->value = devs[i].hwpt;
		strcpy(e->name, devs[i].name);
	}
}

static void account(struct gen *g, int64_t delta)
{
	struct ioasid_event *e = emit(g, IOASID_EV_ACCOUNT);

	g->pinned += (uint64_t)delta;
	e->ctx = CTX, e->value = g->pinned, e->length = (uint64_t)delta, e->aux = 1;
	e->iova = UINT64_MAX, e->pt = g->pinned;
}

static void map_op(struct gen *g, uint64_t iova, uint64_t len, uint64_t paddr)
{
	struct ioasid_event *e;

	account(g, (int64_t)(len >> 12));
	for (int i = 0; i < 2; i++) {
		e = emit(g, IOASID_EV_DOMAIN_MAP);
		e->iommu = 1, e->domain = devs[i].domain, e->iova = iova, e->length = len;
		e->value = paddr, e->aux = 7;
	}
	e = emit(g, IOASID_EV_IOAS_MAP);
	e->ctx = CTX, e->obj = IOAS, e->iova = iova, e->length = len, e->value = len >> 12;
	e->aux = 7, e->latency_ns = 800 + rng() % 4000;
	e = emit(g, IOASID_EV_DMA);
	e->ctx = CTX, e->obj = devs[0].obj_dev, e->dev = devs[0].dev, e->iommu = 1;
	e->domain = devs[0].domain, e->iova = iova + (rng() % len & ~63ULL), e->length = 64;
	e->aux = rng() & 1;
	strcpy(e->name, devs[0].name);
}

static void unmap_op(struct gen *g, uint64_t iova, uint64_t len)
{
	struct ioasid_event *e;

	for (int i = 0; i < 2; i++) {
		e = emit(g, IOASID_EV_DOMAIN_UNMAP);
		e->iommu = 1, e->domain = devs[i].domain, e->iova = iova, e->length = len;
		e->value = len;
		e = emit(g, IOASID_EV_IOTLB_INV);
		e->iommu = 1, e->domain = devs[i].domain, e->pasid = 0xffffffffu, e->iova = iova;
		e->length = len, e->aux = IOASID_INV_UNMAP, e->value = len >> 12;
		e->flags = IOASID_EVF_STRICT;
	}
	account(g, -(int64_t)(len >> 12));
	e = emit(g, IOASID_EV_IOAS_UNMAP);
	e->ctx = CTX, e->obj = IOAS, e->iova = iova, e->length = len, e->value = len;
	e->latency_ns = 800 + rng() % 4000;
}

static void teardown(struct gen *g)
{
	struct ioasid_event *e;

	for (int i = 0; i < 2; i++) {
		e = emit(g, IOASID_EV_DEV_DETACH);
		e->ctx = CTX, e->dev = devs[i].dev, e->group = devs[i].group;
		e->obj = devs[i].obj_dev, e->pt = devs[i].hwpt, e->iommu = 1;
		e->domain = devs[i].domain;
		e = emit(g, IOASID_EV_HWPT_DESTROY);
		e->ctx = CTX, e->obj = devs[i].hwpt, e->pt = IOAS, e->iommu = 1;
		e->domain = devs[i].domain;
		e = emit(g, IOASID_EV_OBJ_DESTROY);
		e->ctx = CTX, e->obj = devs[i].hwpt, e->aux = IOASID_OBJK_HWPT_PAGING;
		e = emit(g, IOASID_EV_DEV_UNBIND);
		e->ctx = CTX, e->dev = devs[i].dev, e->group = devs[i].group;
		e->obj = devs[i].obj_dev, e->iommu = 1;
		e = emit(g, IOASID_EV_GROUP_RELEASE);
		e->ctx = CTX, e->group = devs[i].group, e->dev = devs[i].dev;
		e = emit(g, IOASID_EV_OBJ_DESTROY);
		e->ctx = CTX, e->obj = devs[i].obj_dev, e->aux = IOASID_OBJK_DEVICE;
	}
	e = emit(g, IOASID_EV_OBJ_DESTROY);
	e->ctx = CTX, e->obj = IOAS, e->aux = IOASID_OBJK_IOAS;
	emit(g, IOASID_EV_CTX_CLOSE)->ctx = CTX;
}

/* Exactly n events (n >= 64). */
static void make_events(struct gen *g)
{
	static const uint64_t sizes[] = { 0x1000, 0x10000, 0x200000, 0x200000 };
	uint64_t ring_iova[BEHIND] = { 0 }, ring_len[BEHIND] = { 0 }, iova = 0x100000000ULL;
	uint64_t paddr = 0x240000000ULL;
	const size_t tail = 13 + (size_t)BEHIND * 8 + 16;  /* teardown + unmapping what is left */
	size_t op = 0, live = 0;

	setup(g);
	while (g->n + 14 + tail < g->cap) {
		uint64_t len = sizes[rng() % 4];
		size_t slot = op % BEHIND;

		g->tid = PID + (uint32_t)(rng() % 4);
		if (live == BEHIND) {
			unmap_op(g, ring_iova[slot], ring_len[slot]);
			live--;
		}
		if (op % 997 == 996) {          /* a refused map: EEXIST, nothing changes */
			struct ioasid_event *e = emit(g, IOASID_EV_IOAS_MAP);

			e->ctx = CTX, e->obj = IOAS, e->iova = ring_iova[(op + 1) % BEHIND];
			e->length = 0x1000, e->result = -EEXIST, e->flags = IOASID_EVF_REFUSED;
		}
		map_op(g, iova, len, paddr);
		ring_iova[slot] = iova;
		ring_len[slot] = len;
		live++;
		iova += len;
		paddr += len;
		op++;
	}
	g->tid = PID;
	for (size_t k = 0; k < live; k++) {
		size_t slot = (op - live + k) % BEHIND;

		unmap_op(g, ring_iova[slot], ring_len[slot]);
	}
	teardown(g);
	/* pad to exactly n with events that change nothing */
	while (g->n < g->cap)
		emit(g, IOASID_EV_GROUP_ADD_DEV)->group = 99;
}

static void on_report(void *arg, const struct ioasid_check_report *r)
{
	unsigned int *n = arg;

	if ((*n)++ < 5)
		ioasid_check_report_print(stderr, r);
}

static int feed_one(void *arg, const struct ioasid_event *ev)
{
	return ioasid_check_feed(arg, ev);
}

/* The stream as a trace file (a launched command's recording, as ioasid-check -w makes). */
static int write_file(const struct gen *g, const char *path)
{
	struct ioasid_trace_file_header h;
	struct ioasid_trace_writer *w;
	int rc;

	ioasid_trace_file_header_init(&h, IOASID_TRACE_LAUNCH, "bench_check synthetic stream");
	rc = ioasid_trace_writer_open(path, &h, &w);
	if (!rc)
		rc = ioasid_trace_writer_append_batch(w, g->ev, g->n);
	if (!rc)
		rc = ioasid_trace_writer_close(w);
	if (rc)
		fprintf(stderr, "bench_check: %s: %s\n", path, ioasid_trace_last_error());
	else
		printf("bench_check: %zu events written to %s\n", g->n, path);
	return rc ? 1 : 0;
}

/* One offline audit of a file, timed: events/s by wall and CPU time; -1 on failure. */
static int audit_file(const char *path, double *wall, double *cpu, uint64_t *events)
{
	struct ioasid_trace_opts to = { .sz = sizeof(to), .kind = IOASID_TRACE_FILE, .path = path };
	struct ioasid_check_opts o = { .sz = sizeof(o) };
	struct ioasid_check_summary s;
	struct ioasid_check *chk;
	struct ioasid_trace *t;
	unsigned int reports = 0;
	struct stamp t0, t1;
	int rc;

	t0 = now();
	if (ioasid_trace_open(&to, &t)) {
		fprintf(stderr, "bench_check: %s\n", ioasid_trace_last_error());
		return -1;
	}
	if (ioasid_trace_observable(t, &o.observable) ||
	    ioasid_check_new(&o, on_report, &reports, &chk)) {
		ioasid_trace_close(t);
		return -1;
	}
	while ((rc = ioasid_trace_poll(t, 0, feed_one, chk)) > 0)
		;
	ioasid_check_end(chk);
	t1 = now();
	ioasid_check_summary(chk, &s);
	ioasid_check_free(chk);
	ioasid_trace_close(t);
	if (rc != -ENODATA || ioasid_check_verdict(&s) != 0 || reports) {
		fprintf(stderr, "bench_check: %s did not check clean (poll %d, verdict %d, %u "
			"reports)\n", path, rc, ioasid_check_verdict(&s), reports);
		return -1;
	}
	*events = s.events;
	*wall = (double)s.events * 1e9 / (double)(t1.wall - t0.wall);
	*cpu = (double)s.events * 1e9 / (double)(t1.cpu - t0.cpu);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
"Usage: bench_check [--events N] [--repeats R] [--batch B] [--json]\n"
"Check N events of a clean map/unmap stream, R times; print the median events/s.\n"
"  --events N    events per run (default 10000000, at least 2000)\n"
"  --repeats R   runs (default 5, at most %d)\n"
"  --batch B     events per ioasid_check_feed_batch call (default 4096)\n"
"  --json        also print one JSON line per measurement\n"
"  --write FILE  write the N-event stream to FILE as a trace file and exit\n"
"  --read FILE   time the offline audit of FILE (read, inflate, check), R times\n"
"Example: bench_check --events 2000000 --repeats 9 --json\n", MAX_REPEATS);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "events", required_argument, NULL, 'n' }, { "repeats", required_argument, NULL, 'r' },
		{ "batch", required_argument, NULL, 'b' },  { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },         { "write", required_argument, NULL, 'w' },
		{ "read", required_argument, NULL, 'R' },   { 0 },
	};
	const char *write_path = NULL, *read_path = NULL;
	size_t n = 10000000, repeats = 5, batch = 4096;
	double wall[MAX_REPEATS], cpu[MAX_REPEATS];
	struct gen g = { 0 };
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "n:r:b:jhw:R:", longopts, NULL)) != -1) {
		switch (c) {
		case 'w': write_path = optarg; break;
		case 'R': read_path = optarg; break;
		case 'n': n = strtoull(optarg, NULL, 0); break;
		case 'r': repeats = strtoull(optarg, NULL, 0); break;
		case 'b': batch = strtoull(optarg, NULL, 0); break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (n < 2000 || !repeats || repeats > MAX_REPEATS || !batch) {
		usage(stderr);
		return 2;
	}
	if (read_path) {
		uint64_t events = 0;

		for (size_t r = 0; r < repeats; r++)
			if (audit_file(read_path, &wall[r], &cpu[r], &events))
				return 1;
		n = (size_t)events;
		goto report;
	}
	g.cap = n;
	g.ev = malloc(n * sizeof(*g.ev));
	if (!g.ev) {
		fprintf(stderr, "bench_check: no memory for %zu events (%zu MiB): use --events\n", n,
			n * sizeof(*g.ev) >> 20);
		return 1;
	}
	make_events(&g);
	if (write_path) {
		c = write_file(&g, write_path);
		free(g.ev);
		return c;
	}

	for (size_t r = 0; r < repeats; r++) {
		struct ioasid_check_opts o = { .sz = sizeof(o) };
		struct ioasid_check_summary s;
		struct ioasid_check *chk;
		unsigned int reports = 0;
		struct stamp t0, t1;
		int rc;

		rc = ioasid_check_new(&o, on_report, &reports, &chk);
		if (rc) {
			fprintf(stderr, "bench_check: ioasid_check_new: %s\n", strerror(-rc));
			return 1;
		}
		t0 = now();
		for (size_t i = 0; i < n; i += batch) {
			rc = ioasid_check_feed_batch(chk, &g.ev[i], i + batch <= n ? batch : n - i);
			if (rc) {
				fprintf(stderr, "bench_check: feed: %s\n", strerror(-rc));
				return 1;
			}
		}
		ioasid_check_end(chk);
		t1 = now();
		ioasid_check_summary(chk, &s);
		if (ioasid_check_verdict(&s) != 0 || s.events != n || reports) {
			fprintf(stderr, "bench_check: the stream did not check clean (verdict %d, %llu "
				"of %zu events, %u reports): the checker is broken\n",
				ioasid_check_verdict(&s), (unsigned long long)s.events, n, reports);
			ioasid_check_summary_print(stderr, &s);
			return 1;
		}
		ioasid_check_free(chk);
		wall[r] = (double)n * 1e9 / (double)(t1.wall - t0.wall);
		cpu[r] = (double)n * 1e9 / (double)(t1.cpu - t0.cpu);
	}

report:
	{
		const char *names[2] = { read_path ? "offline" : "check",
					 read_path ? "offline_cpu" : "check_cpu" };
		double *v[2] = { wall, cpu };

		printf("%-10s %14s %14s %14s %10s\n", "", "events/s (med)", "min", "max", "events");
		for (int i = 0; i < 2; i++) {
			qsort(v[i], repeats, sizeof(double), cmp_double);
			printf("%-10s %14.0f %14.0f %14.0f %10zu\n", names[i], v[i][repeats / 2],
			       v[i][0], v[i][repeats - 1], n);
		}
		if (read_path)
			printf("(median of %zu runs; *_cpu: events per second of this process's CPU "
			       "time; %s read, inflated and checked as ioasid-check -r does; every "
			       "run checked clean)\n", repeats, read_path);
		else
			printf("(median of %zu runs; *_cpu: events per second of this process's CPU "
			       "time; batches of %zu events; every run checked clean)\n", repeats,
			       batch);
		for (int i = 0; json && i < 2; i++)
			printf("{\"name\":\"%s\",\"events_per_s\":%.0f,\"min\":%.0f,\"max\":%.0f,"
			       "\"events\":%zu,\"repeats\":%zu}\n", names[i], v[i][repeats / 2],
			       v[i][0], v[i][repeats - 1], n, repeats);
	}
	free(g.ev);
	return 0;
}
