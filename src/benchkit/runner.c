/* runner.c — rounds: one backend's round as ioasid-bench's worker runs it, the stream that
 * carries it to the driver, and the driver's pool of every round's samples.
 *
 * Why rounds, interleaved. Repeats taken back to back share the machine's state of that moment
 * (memory placement, huge pages available, the neighbours' load, a VM's host), and a VM may
 * drift 10-30 % over minutes. So the driver runs round 1 of every backend, then round 2 of
 * every backend, and so on, each in a worker process of its own, and pools each figure's
 * samples over all rounds before computing anything: a figure's spread spans the whole run,
 * and no backend's figures come from one time window alone. Regions above 4 GiB are the one
 * exception: they get workers of their own, back to back before the rounds (--big-rounds;
 * why is at has_big_region in ioasid-bench.c); their figures say "in K of N rounds".
 *
 * The worker (bench_runner_run): the backend is probed and opened; the selected workloads run
 * once untraced, then once per --trace mode with that tracing attached. A measurement's samples
 * are packed as its workload emits it and sent when the workload is done (the tracer counts per
 * workload: only then are its events, losses and violations known). Skips go out as they come.
 * Last comes END, with the status and how many figures and skips came before it.
 *
 * The stream (bench_wire_*): a header {magic, version, type, round, len}, then len bytes. The
 * reader checks each field against what it expects and each payload's own lengths (a figure:
 * its record's magic and size, nrepeat <= BENCH_WIRE_MAX_REPEATS, nop <= BENCH_OP_SAMPLES and
 * <= seen_op, len = the fixed part + 8 × (nrepeat + nop)), so that damage is named, never
 * pooled. Records and samples travel in the host's layout: both ends are one binary.
 *
 * The pool (bench_pool_*), the driver's: figures keyed by backend, measurement (workload,
 * phase, pattern, inval, page and leaf size, bytes and operations per call, threads) and trace
 * mode, kept in the order they first came, each round's samples merged in
 * (bench_samples_merge); the latest round's configuration and note stand for the figure. Only
 * at emit are the figures filled, and a traced figure's overhead is its pooled median time over
 * the pooled untraced median of the same backend and measurement: both span the same rounds.
 * One thread.
 *
 * Calibration (bench_calibrate): a fixed chain of integer steps (xorshift and a multiply, each
 * depending on the last, no memory traffic), timed a few times; the median is the round's
 * figure for how fast this machine runs plain CPU work at that moment.
 */
#include "benchkit/workload.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(struct bench_wire_hdr) % sizeof(double) == 0 &&
	       sizeof(struct bench_wire_figure) % sizeof(double) == 0,
	       "a figure's samples follow its fixed part aligned");

/* ---- the stream ------------------------------------------------------------------------------ */

void *bench_wire_pack(enum bench_wire_type type, uint32_t round, const void *payload,
		      size_t plen, const struct bench_samples *s, size_t *len)
{
	size_t nrep = s ? s->nrepeat : 0, nop = s ? s->nop : 0;
	size_t body = plen + (nrep + nop) * sizeof(double);
	struct bench_wire_hdr *h;
	char *msg, *p;

	if (body > UINT32_MAX)
		return NULL;
	msg = malloc(sizeof(*h) + body);
	if (!msg)
		return NULL;
	h = (struct bench_wire_hdr *)msg;
	*h = (struct bench_wire_hdr){ .magic = BENCH_WIRE_MAGIC, .version = BENCH_WIRE_VERSION,
				      .type = (uint16_t)type, .round = round,
				      .len = (uint32_t)body };
	p = msg + sizeof(*h);
	memcpy(p, payload, plen);
	p += plen;
	if (nrep)
		memcpy(p, s->repeat_ns, nrep * sizeof(double));
	p += nrep * sizeof(double);
	if (nop)
		memcpy(p, s->op_ns, nop * sizeof(double));
	*len = sizeof(*h) + body;
	return msg;
}

/* 1: all len bytes read; 0: the stream ended before the first; -EBADMSG: it ended after *got
 * of them; -errno of read. */
static int read_full(int fd, void *buf, size_t len, size_t *got)
{
	*got = 0;
	while (*got < len) {
		ssize_t n = read(fd, (char *)buf + *got, len - *got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return *got ? -EBADMSG : 0;
		*got += (size_t)n;
	}
	return 1;
}

static const char *wire_type_name(unsigned int type)
{
	switch (type) {
	case BENCH_WIRE_FIGURE:
		return "figure";
	case BENCH_WIRE_SKIP:
		return "skip";
	case BENCH_WIRE_END:
		return "end";
	}
	return "unknown";
}

#define TERMINATE(field) ((field)[sizeof(field) - 1] = '\0')

static void record_terminate(struct bench_record *r)
{
	TERMINATE(r->cfg.backend);
	TERMINATE(r->cfg.served_by);
	TERMINATE(r->cfg.workload);
	TERMINATE(r->cfg.phase);
	TERMINATE(r->cfg.pattern);
	TERMINATE(r->cfg.inval);
	TERMINATE(r->cfg.trace);
	TERMINATE(r->cfg.attach);
	TERMINATE(r->note);
}

/* What the payload of a message says about itself; 0 or -EBADMSG with why. */
static int payload_check(struct bench_wire_msg *m, char *why, size_t whylen)
{
	uint32_t len = m->hdr.len;

	if (m->hdr.type == BENCH_WIRE_FIGURE) {
		struct bench_wire_figure *f = m->payload;

		if (f->rec.magic != BENCH_RECORD_MAGIC || f->rec.size != sizeof(f->rec)) {
			snprintf(why, whylen, "a figure whose record has magic 0x%08x and size %u "
				 "(expected 0x%08x and %zu)", f->rec.magic, f->rec.size,
				 BENCH_RECORD_MAGIC, sizeof(f->rec));
			return -EBADMSG;
		}
		if (f->nrepeat > BENCH_WIRE_MAX_REPEATS || f->nop > BENCH_OP_SAMPLES ||
		    f->nop > f->seen_op || (!f->nop) != (!f->seen_op) ||
		    len != sizeof(*f) + (f->nrepeat + f->nop) * sizeof(double)) {
			snprintf(why, whylen, "a figure of %llu repeats and %llu of %llu "
				 "operations in %u bytes (limits %u and %u; %zu bytes + 8 per "
				 "sample)",
				 (unsigned long long)f->nrepeat, (unsigned long long)f->nop,
				 (unsigned long long)f->seen_op, len, BENCH_WIRE_MAX_REPEATS,
				 BENCH_OP_SAMPLES, sizeof(*f));
			return -EBADMSG;
		}
		record_terminate(&f->rec);
	} else if (m->hdr.type == BENCH_WIRE_SKIP) {
		struct bench_skip *s = m->payload;

		if (s->magic != BENCH_SKIP_MAGIC || s->size != sizeof(*s)) {
			snprintf(why, whylen, "a skip with magic 0x%08x and size %u (expected "
				 "0x%08x and %zu)", s->magic, s->size, BENCH_SKIP_MAGIC,
				 sizeof(*s));
			return -EBADMSG;
		}
		TERMINATE(s->backend);
		TERMINATE(s->workload);
		TERMINATE(s->why);
	}
	return 0;
}

int bench_wire_recv(int fd, uint32_t round, struct bench_wire_msg *m, char *why,
		    size_t whylen)
{
	struct bench_wire_hdr *h = &m->hdr;
	size_t got, min, max;
	int rc;

	m->payload = NULL;
	rc = read_full(fd, h, sizeof(*h), &got);
	if (rc == 0)
		return 0;
	if (rc == -EBADMSG) {
		snprintf(why, whylen, "the stream ends inside a message header (%zu of %zu bytes)",
			 got, sizeof(*h));
		return rc;
	}
	if (rc < 0) {
		snprintf(why, whylen, "reading the stream: %s", strerror(-rc));
		return rc;
	}
	if (h->magic != BENCH_WIRE_MAGIC) {
		snprintf(why, whylen, "a message header with magic 0x%08x (expected 0x%08x)",
			 h->magic, BENCH_WIRE_MAGIC);
		return -EBADMSG;
	}
	if (h->version != BENCH_WIRE_VERSION) {
		snprintf(why, whylen, "a message of protocol version %u (this driver reads %u)",
			 h->version, BENCH_WIRE_VERSION);
		return -EBADMSG;
	}
	if (h->round != round) {
		snprintf(why, whylen, "a message of round %u in the stream of round %u",
			 h->round + 1, round + 1);
		return -EBADMSG;
	}
	switch (h->type) {
	case BENCH_WIRE_FIGURE:
		min = sizeof(struct bench_wire_figure);
		max = min + ((size_t)BENCH_WIRE_MAX_REPEATS + BENCH_OP_SAMPLES) * sizeof(double);
		break;
	case BENCH_WIRE_SKIP:
		min = max = sizeof(struct bench_skip);
		break;
	case BENCH_WIRE_END:
		min = max = sizeof(struct bench_wire_end);
		break;
	default:
		snprintf(why, whylen, "a message of unknown type %u", h->type);
		return -EBADMSG;
	}
	if (h->len < min || h->len > max) {
		snprintf(why, whylen, "a %s message of %u bytes (expected %s%zu)",
			 wire_type_name(h->type), h->len,
			 min == max ? "" : h->len < min ? "at least " : "at most ",
			 h->len < min ? min : max);
		return -EBADMSG;
	}
	m->payload = malloc(h->len);
	if (!m->payload) {
		snprintf(why, whylen, "no memory for a %s message of %u bytes",
			 wire_type_name(h->type), h->len);
		return -ENOMEM;
	}
	rc = read_full(fd, m->payload, h->len, &got);
	if (rc != 1) {
		if (rc < 0 && rc != -EBADMSG)
			snprintf(why, whylen, "reading the stream: %s", strerror(-rc));
		else
			snprintf(why, whylen, "the stream ends inside a %s message (%zu of %u "
				 "bytes)", wire_type_name(h->type), got, h->len);
		rc = rc < 0 ? rc : -EBADMSG;
		goto err_payload;
	}
	rc = payload_check(m, why, whylen);
	if (rc)
		goto err_payload;
	return 1;

err_payload:
	bench_wire_msg_free(m);
	return rc;
}

void bench_wire_msg_free(struct bench_wire_msg *m)
{
	free(m->payload);
	m->payload = NULL;
}

const struct bench_record *bench_wire_figure(const struct bench_wire_msg *m,
					     struct bench_samples *view)
{
	struct bench_wire_figure *f = m->payload;
	double *samples = (double *)(f + 1);

	memset(view, 0, sizeof(*view));
	view->repeat_ns = samples;
	view->nrepeat = view->cap_repeat = f->nrepeat;
	view->op_ns = samples + f->nrepeat;
	view->nop = view->alloc_op = f->nop;
	view->cap_op = BENCH_OP_SAMPLES;
	view->seen_op = f->seen_op;
	return &f->rec;
}

/* ---- the worker: one round of one backend --------------------------------------------------- */

struct pending {
	void *msg;
	size_t len;
};

struct worker {
	const struct bench_runner_opts *o;
	struct pending *p;              /* figures of the workload running */
	size_t n, cap;
	uint32_t figures, skips;        /* sent */
	bool failed;                    /* out of memory: figures were lost */
};

static void send_skip(struct worker *w, const char *backend, const char *workload,
		      const char *why)
{
	struct bench_skip s = { .magic = BENCH_SKIP_MAGIC, .size = sizeof(s) };
	size_t len;
	void *msg;

	snprintf(s.backend, sizeof(s.backend), "%s", backend);
	snprintf(s.workload, sizeof(s.workload), "%s", workload);
	snprintf(s.why, sizeof(s.why), "%s", why);
	msg = bench_wire_pack(BENCH_WIRE_SKIP, w->o->round, &s, sizeof(s), NULL, &len);
	if (!msg) {
		w->failed = true;
		return;
	}
	w->o->send(w->o->arg, msg, len);
	free(msg);
	w->skips++;
}

static void on_skip(void *arg, const char *backend, const char *workload, const char *why)
{
	send_skip(arg, backend, workload, why);
}

/* A measurement: packed now (the workload frees its samples), sent when its workload ends. */
static void on_emit(void *arg, struct bench_record *r, struct bench_samples *s)
{
	struct worker *w = arg;
	struct bench_wire_figure f = { .rec = *r, .nrepeat = s->nrepeat, .nop = s->nop,
				       .seen_op = s->seen_op };
	struct pending *pd;

	f.rec.magic = BENCH_RECORD_MAGIC;
	f.rec.size = sizeof(f.rec);
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 16;
		struct pending *v = realloc(w->p, cap * sizeof(*v));

		if (!v) {
			w->failed = true;
			return;
		}
		w->p = v;
		w->cap = cap;
	}
	pd = &w->p[w->n];
	pd->msg = bench_wire_pack(BENCH_WIRE_FIGURE, w->o->round, &f, sizeof(f), s, &pd->len);
	if (!pd->msg) {
		w->failed = true;
		return;
	}
	w->n++;
}

/* The figures of a finished workload, with its tracer counts when traced. */
static void send_pending(struct worker *w, bool traced, uint64_t events, uint64_t dropped,
			 int64_t violations)
{
	for (size_t i = 0; i < w->n; i++) {
		struct bench_wire_figure *f =
			(void *)((char *)w->p[i].msg + sizeof(struct bench_wire_hdr));

		if (traced) {
			f->rec.events = events;
			f->rec.dropped = dropped;
			f->rec.violations = violations;
		}
		w->o->send(w->o->arg, w->p[i].msg, w->p[i].len);
		free(w->p[i].msg);
		w->figures++;
	}
	w->n = 0;
}

/* "<backend> has no A, B": what a workload needs and the backend lacks, in words. */
static void missing_caps(unsigned int missing, const char *backend, char *why, size_t len)
{
	static const struct { unsigned int cap; const char *words; } names[] = {
		{ BENCH_CAP_MULTI_IOAS, "second IOAS (a type1 container is one address space)" },
		{ BENCH_CAP_COPY, "IOMMU_IOAS_COPY" },
		{ BENCH_CAP_DOMAIN, "domain" },
		{ BENCH_CAP_DMA, "device DMA through the mock IOTLB (measured in-process: ref)" },
		{ BENCH_CAP_IOTLB_STATS, "IOTLB statistics" },
		{ BENCH_CAP_LAZY_INVAL, "deferred invalidation (iommufd and type1 are always "
					"strict; the DMA-API comparison runs on ref)" },
		{ BENCH_CAP_DEVICE, "device to bind" },
	};
	size_t used = (size_t)snprintf(why, len, "%s has no ", backend);
	bool first = true;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && used < len; i++) {
		if (!(missing & names[i].cap))
			continue;
		used += (size_t)snprintf(why + used, len - used, "%s%s", first ? "" : ", ",
					 names[i].words);
		first = false;
	}
}

/* One pass: the selected workloads once, untraced (t NULL) or with t attached. */
static void run_pass(struct worker *w, struct bench_run *run, struct bench_tracer *t)
{
	const struct bench_workload *const *wl = bench_workloads();
	unsigned int caps = bench_be_caps(run->be);

	for (int i = 0; wl[i]; i++) {
		uint64_t events = 0, dropped = 0;
		int64_t violations = -1;

		if (!w->o->workload[i])
			continue;
		if (run->p->big_scope == BENCH_BIG_ONLY && strcmp(wl[i]->name, "region"))
			continue;       /* a big-phase worker: its round is the big regions only */
		if ((wl[i]->needs & caps) != wl[i]->needs) {
			char why[BENCH_WHY];

			if (t)          /* said in the untraced pass */
				continue;
			missing_caps(wl[i]->needs & ~caps, bench_be_describe(run->be), why,
				     sizeof(why));
			send_skip(w, bench_backend_name(run->id), wl[i]->name, why);
			continue;
		}
		if (t)
			bench_tracer_take(t, &events, &dropped, &violations);
		wl[i]->run(run);
		if (t)
			bench_tracer_take(t, &events, &dropped, &violations);
		send_pending(w, t != NULL, events, dropped, violations);
	}
}

static void send_end(struct worker *w, int status, bool opened)
{
	struct bench_wire_end e = { .status = status, .figures = w->figures, .skips = w->skips,
				    .opened = opened };
	size_t len;
	void *msg = bench_wire_pack(BENCH_WIRE_END, w->o->round, &e, sizeof(e), NULL, &len);

	if (!msg)               /* no END: the driver counts the round as lost, and says so */
		return;
	w->o->send(w->o->arg, msg, len);
	free(msg);
}

int bench_runner_run(const struct bench_runner_opts *o)
{
	struct worker w = { .o = o };
	struct bench_run run = { .id = o->be.id, .p = o->p, .round = o->round };
	const char *name = bench_backend_name(o->be.id);
	char why[BENCH_WHY] = "";
	bool kernel = o->be.id == BENCH_BE_KERNEL || o->be.id == BENCH_BE_KERNEL_TYPE1;
	int rc, status = 0;

	rc = bench_backend_probe(o->be.id, why, sizeof(why));
	if (!rc)
		rc = bench_be_open(&o->be, &run.be, why, sizeof(why));
	if (rc) {
		send_skip(&w, name, "*", why[0] ? why : strerror(-rc));
		send_end(&w, 0, false);
		return 0;
	}
	run.sink = (struct bench_sink){ on_emit, on_skip, &w };
	run.trace = bench_trace_name(BENCH_TRACE_OFF);
	run_pass(&w, &run, NULL);
	for (int m = BENCH_TRACE_COUNTERS; m < BENCH_TRACE_COUNT; m++) {
		struct bench_tracer *t;
		char what[24];

		if (!o->trace[m])
			continue;
		rc = bench_tracer_start(m, kernel, &t, why, sizeof(why));
		if (rc) {
			snprintf(what, sizeof(what), "--trace %s", bench_trace_name(m));
			send_skip(&w, name, what, why);
			fprintf(stderr, "ioasid-bench: %s: %s\n", name, why);
			status = 1;
			continue;
		}
		run.trace = bench_trace_name(m);
		run_pass(&w, &run, t);
		if (bench_tracer_stop(t, why, sizeof(why)) != 0)
			status = 1;
		if (why[0])
			fprintf(stderr, "ioasid-bench: %s, --trace %s: %s\n", name,
				bench_trace_name(m), why);
	}
	bench_be_close(run.be);
	if (w.failed) {
		fprintf(stderr, "ioasid-bench: %s, round %u: out of memory while packing the "
			"samples: some figures of this round are missing (free memory, or fewer "
			"workloads with -w)\n", name, o->round + 1);
		status = 1;
	}
	free(w.p);
	send_end(&w, status, true);
	return status;
}

/* ---- the driver's pool ----------------------------------------------------------------------- */

struct pool_entry {
	struct bench_record rec;        /* the latest round's configuration and note */
	struct bench_samples s;         /* every round's, merged */
	uint64_t events, dropped;
	int64_t violations;             /* -1: never checked */
	uint32_t rounds, last_round;
};

struct bench_pool {
	struct pool_entry *e;
	size_t n, cap;
	unsigned int rounds;            /* the run's */
};

static bool same_measurement(const struct bench_config *a, const struct bench_config *b)
{
	return !strcmp(a->workload, b->workload) && !strcmp(a->phase, b->phase) &&
	       !strcmp(a->pattern, b->pattern) && !strcmp(a->inval, b->inval) &&
	       a->page_size == b->page_size && a->leaf_max == b->leaf_max &&
	       a->op_bytes == b->op_bytes && a->threads == b->threads && a->ops == b->ops;
}

static bool same_figure(const struct bench_config *a, const struct bench_config *b)
{
	return !strcmp(a->backend, b->backend) && !strcmp(a->trace, b->trace) &&
	       same_measurement(a, b);
}

struct bench_pool *bench_pool_new(unsigned int rounds)
{
	struct bench_pool *p = calloc(1, sizeof(*p));

	if (p)
		p->rounds = rounds;
	return p;
}

void bench_pool_free(struct bench_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		bench_samples_free(&p->e[i].s);
	free(p->e);
	free(p);
}

int bench_pool_add(struct bench_pool *p, const struct bench_record *r,
		   const struct bench_samples *s, unsigned int round)
{
	struct pool_entry *e = NULL;
	int rc;

	for (size_t i = 0; i < p->n && !e; i++)
		if (same_figure(&p->e[i].rec.cfg, &r->cfg))
			e = &p->e[i];
	if (!e) {
		if (p->n == p->cap) {
			size_t cap = p->cap ? 2 * p->cap : 64;
			struct pool_entry *v = realloc(p->e, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			p->e = v;
			p->cap = cap;
		}
		e = &p->e[p->n];
		memset(e, 0, sizeof(*e));
		bench_samples_init_empty(&e->s);
		e->violations = -1;
		e->last_round = UINT32_MAX;
		rc = bench_samples_merge(&e->s, s);
		if (rc) {
			bench_samples_free(&e->s);
			return rc;
		}
		p->n++;
	} else {
		rc = bench_samples_merge(&e->s, s);
		if (rc)
			return rc;
	}
	e->rec = *r;
	e->events += r->events;
	e->dropped += r->dropped;
	if (r->violations >= 0)
		e->violations = (e->violations > 0 ? e->violations : 0) + r->violations;
	if (round != e->last_round) {
		e->rounds++;
		e->last_round = round;
	}
	return 0;
}

static void __attribute__((format(printf, 2, 3))) note_append(struct bench_record *r,
								const char *fmt, ...)
{
	size_t used = strlen(r->note);
	va_list ap;

	if (used + 2 >= sizeof(r->note))
		return;
	if (used) {
		memcpy(r->note + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(r->note + used, sizeof(r->note) - used, fmt, ap);
	va_end(ap);
}

void bench_pool_emit(struct bench_pool *p, void (*fn)(void *arg, const struct bench_record *r),
		     void *arg)
{
	const char *off = bench_trace_name(BENCH_TRACE_OFF);

	for (size_t i = 0; i < p->n; i++) {
		struct pool_entry *e = &p->e[i];
		struct bench_record *r = &e->rec;

		bench_record_fill(r, &e->s);
		r->cfg.repeats = (uint32_t)e->s.nrepeat;
		r->cfg.rounds = e->rounds;
		r->events = e->events;
		r->dropped = e->dropped;
		r->violations = e->violations;
		r->overhead = 0;
	}
	for (size_t i = 0; i < p->n; i++) {
		struct bench_record *r = &p->e[i].rec;

		if (!strcmp(r->cfg.trace, off))
			continue;
		for (size_t j = 0; j < p->n; j++) {
			const struct bench_record *b = &p->e[j].rec;

			if (!strcmp(b->cfg.trace, off) && !strcmp(b->cfg.backend, r->cfg.backend) &&
			    same_measurement(&b->cfg, &r->cfg) && b->repeat_ns.median > 0) {
				r->overhead = r->repeat_ns.median / b->repeat_ns.median;
				break;
			}
		}
		note_append(r, "workload traced: %llu events, %llu lost%s",
			    (unsigned long long)r->events, (unsigned long long)r->dropped,
			    r->violations > 0 ? ", VIOLATIONS" :
			    r->violations == 0 ? ", checked" : "");
	}
	for (size_t i = 0; i < p->n; i++) {
		struct bench_record *r = &p->e[i].rec;

		if (r->cfg.rounds < p->rounds)
			note_append(r, "in %u of %u rounds", r->cfg.rounds, p->rounds);
		fn(arg, r);
	}
}

/* ---- calibration ----------------------------------------------------------------------------- */

#define CALIB_STEPS (1u << 20)
#define CALIB_TRIES 7

static volatile uint64_t calib_seed;    /* read and written: the loop cannot be folded away */

static double mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

double bench_calibrate(void)
{
	double t[CALIB_TRIES];
	struct bench_summary s;
	uint64_t x = calib_seed | 1;

	for (int i = 0; i < CALIB_TRIES; i++) {
		double t0 = mono_ns();

		for (uint32_t k = 0; k < CALIB_STEPS; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			x *= 0x2545f4914f6cdd1dull;
		}
		t[i] = mono_ns() - t0;
	}
	calib_seed = x;
	bench_summarize(t, CALIB_TRIES, &s);
	return s.median;
}
