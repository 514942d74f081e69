/* runner.c — one backend's whole run, as ioasid-bench's worker process does it.
 *
 * Order: the backend is probed and opened; the selected workloads run untraced, then once per
 * --trace mode with that tracing attached. Each of these passes runs the workload list
 * `rounds` times, and a figure's repeats are pooled over its rounds: repeats taken back to back
 * share the machine's state of that moment (memory placement, huge pages available,
 * neighbours' load), so a spread from one round understates how much a rerun can differ;
 * rounds spread the samples over the run. A traced figure's overhead is its median time over
 * the untraced median of the same configuration in this run; its events, losses and
 * violations are those of its workload (the tracer counts per workload, not per figure).
 * Results go out through opts.send as whole records and skips, in pass order.
 */
#include "benchkit/workload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	struct bench_record rec;
	struct bench_samples s;
	uint64_t events, dropped;
	int64_t violations;
	bool touched;                   /* measured by the workload now running */
};

struct runner {
	const struct bench_runner_opts *o;
	struct entry *e;                /* this pass's figures */
	size_t n, cap;
	struct bench_record *base;      /* the untraced figures (overhead baseline) */
	size_t nbase;
	bool failed;                    /* out of memory: figures were lost */
};

static bool same_measurement(const struct bench_config *a, const struct bench_config *b)
{
	return !strcmp(a->workload, b->workload) && !strcmp(a->phase, b->phase) &&
	       !strcmp(a->pattern, b->pattern) && !strcmp(a->inval, b->inval) &&
	       a->page_size == b->page_size && a->leaf_max == b->leaf_max &&
	       a->op_bytes == b->op_bytes && a->threads == b->threads && a->ops == b->ops;
}

static void send_skip(const struct bench_runner_opts *o, const char *backend,
		      const char *workload, const char *why)
{
	struct bench_skip s = { .magic = BENCH_SKIP_MAGIC, .size = sizeof(s) };

	snprintf(s.backend, sizeof(s.backend), "%s", backend);
	snprintf(s.workload, sizeof(s.workload), "%s", workload);
	snprintf(s.why, sizeof(s.why), "%s", why);
	o->send(o->arg, &s, sizeof(s));
}

static void on_skip(void *arg, const char *backend, const char *workload, const char *why)
{
	struct runner *rn = arg;

	send_skip(rn->o, backend, workload, why);
}

/* A measurement of one round: pooled into its figure. */
static void on_emit(void *arg, struct bench_record *r, struct bench_samples *s)
{
	struct runner *rn = arg;
	struct entry *e = NULL;

	for (size_t i = 0; i < rn->n && !e; i++)
		if (same_measurement(&rn->e[i].rec.cfg, &r->cfg))
			e = &rn->e[i];
	if (!e) {
		if (rn->n == rn->cap) {
			size_t cap = rn->cap ? 2 * rn->cap : 64;
			struct entry *v = realloc(rn->e, cap * sizeof(*v));

			if (!v) {
				rn->failed = true;
				return;
			}
			rn->e = v;
			rn->cap = cap;
		}
		e = &rn->e[rn->n];
		memset(e, 0, sizeof(*e));
		if (bench_samples_init(&e->s, s->nrepeat)) {
			rn->failed = true;
			return;
		}
		rn->n++;
	}
	e->rec = *r;            /* configuration and note of the latest round */
	e->touched = true;
	for (uint64_t i = 0; i < s->nrepeat; i++)
		bench_samples_add_repeat(&e->s, s->repeat_ns[i]);
	for (uint64_t i = 0; i < s->nop; i++)
		bench_samples_add_op(&e->s, s->op_ns[i]);
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

/* The figures of a finished pass: filled from the pooled samples, sent, freed. */
static void finish_pass(struct runner *rn, bool traced)
{
	for (size_t i = 0; i < rn->n; i++) {
		struct entry *e = &rn->e[i];
		struct bench_record *r = &e->rec;

		bench_record_fill(r, &e->s);
		r->cfg.repeats = (uint32_t)e->s.nrepeat;
		if (traced) {
			size_t used = strlen(r->note);

			r->events = e->events;
			r->dropped = e->dropped;
			r->violations = e->violations;
			snprintf(r->note + used, sizeof(r->note) - used,
				 "%sworkload traced: %llu events, %llu lost%s", used ? "; " : "",
				 (unsigned long long)e->events, (unsigned long long)e->dropped,
				 e->violations > 0 ? ", VIOLATIONS" :
				 e->violations == 0 ? ", checked" : "");
			for (size_t j = 0; j < rn->nbase; j++)
				if (same_measurement(&rn->base[j].cfg, &r->cfg) &&
				    rn->base[j].repeat_ns.median > 0) {
					r->overhead = r->repeat_ns.median /
						      rn->base[j].repeat_ns.median;
					break;
				}
		} else {
			struct bench_record *v = realloc(rn->base, (rn->nbase + 1) * sizeof(*v));

			if (v) {
				rn->base = v;
				rn->base[rn->nbase++] = *r;
			}
		}
		rn->o->send(rn->o->arg, r, sizeof(*r));
		bench_samples_free(&e->s);
	}
	rn->n = 0;
}

/* One pass: the selected workloads, `rounds` times, then its figures. */
static void run_pass(struct runner *rn, struct bench_run *run, struct bench_tracer *t)
{
	const struct bench_workload *const *wl = bench_workloads();
	unsigned int caps = bench_be_caps(run->be);

	for (unsigned int round = 0; round < rn->o->rounds; round++) {
		run->round = round;
		for (int i = 0; wl[i]; i++) {
			uint64_t events = 0, dropped = 0;
			int64_t violations = -1;

			if (!rn->o->workload[i])
				continue;
			if ((wl[i]->needs & caps) != wl[i]->needs) {
				char why[BENCH_WHY];

				/* said once: in the first round of the untraced pass */
				if (t || round)
					continue;
				missing_caps(wl[i]->needs & ~caps, bench_be_describe(run->be),
					     why, sizeof(why));
				send_skip(rn->o, bench_backend_name(run->id), wl[i]->name, why);
				continue;
			}
			if (t)
				bench_tracer_take(t, &events, &dropped, &violations);
			wl[i]->run(run);
			if (t)
				bench_tracer_take(t, &events, &dropped, &violations);
			for (size_t k = 0; k < rn->n; k++) {
				struct entry *e = &rn->e[k];

				if (!e->touched)
					continue;
				e->touched = false;
				e->events += events;
				e->dropped += dropped;
				e->violations = violations;
			}
		}
	}
	finish_pass(rn, t != NULL);
}

int bench_runner_run(const struct bench_runner_opts *o)
{
	struct runner rn = { .o = o };
	struct bench_run run = { .id = o->be.id, .p = o->p };
	const char *name = bench_backend_name(o->be.id);
	char why[BENCH_WHY] = "";
	bool kernel = o->be.id == BENCH_BE_KERNEL || o->be.id == BENCH_BE_KERNEL_TYPE1;
	int rc, status = 0;

	rc = bench_backend_probe(o->be.id, why, sizeof(why));
	if (!rc)
		rc = bench_be_open(&o->be, &run.be, why, sizeof(why));
	if (rc) {
		send_skip(o, name, "*", why[0] ? why : strerror(-rc));
		return 0;
	}
	run.sink = (struct bench_sink){ on_emit, on_skip, &rn };
	run.trace = "off";
	run_pass(&rn, &run, NULL);
	for (int m = BENCH_TRACE_COUNTERS; m < BENCH_TRACE_COUNT; m++) {
		struct bench_tracer *t;
		char what[24];

		if (!o->trace[m])
			continue;
		rc = bench_tracer_start(m, kernel, &t, why, sizeof(why));
		if (rc) {
			snprintf(what, sizeof(what), "--trace %s", bench_trace_name(m));
			send_skip(o, name, what, why);
			fprintf(stderr, "ioasid-bench: %s: %s\n", name, why);
			status = 1;
			continue;
		}
		run.trace = bench_trace_name(m);
		run_pass(&rn, &run, t);
		if (bench_tracer_stop(t, why, sizeof(why)) != 0)
			status = 1;
		if (why[0])
			fprintf(stderr, "ioasid-bench: %s, --trace %s: %s\n", name,
				bench_trace_name(m), why);
	}
	bench_be_close(run.be);
	if (rn.failed) {
		fprintf(stderr, "ioasid-bench: %s: out of memory while pooling the rounds: some "
			"figures are missing\n", name);
		status = 1;
	}
	free(rn.e);
	free(rn.base);
	return status;
}
