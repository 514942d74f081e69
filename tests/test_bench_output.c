/* test_bench_output.c — ioasid-bench's numbers and what it prints: samples, their summaries
 * and their pooling over rounds (src/benchkit/stats.c), the table and JSON Lines
 * (src/benchkit/output.c): suite `bench_output`. The rounds' machinery of src/benchkit/runner.c
 * that needs no backend — the driver's pool and the worker's stream: suite `bench_runner`.
 *
 * Expected values are worked out by hand from the percentile rule (linear interpolation between
 * closest ranks: h = (n-1)·p, v[⌊h⌋] + (h-⌊h⌋)·(v[⌊h⌋+1] - v[⌊h⌋])) and spelled out, so these
 * tests are the specification of what a record says and how it looks. The reservoir tests
 * shrink cap_op after bench_samples_init (a smaller reservoir in the same allocation) so that a
 * stream 100 times larger than the reservoir stays quick.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchkit/workload.h"

/* ---- helpers ------------------------------------------------------------------------------- */
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define CAPTURE(text, call)                                                                        \
	do {                                                                                       \
		size_t len_;                                                                       \
		FILE *out = open_memstream(&(text), &len_);                                        \
		cr_assert(out);                                                                    \
		call;                                                                              \
		cr_assert_eq(fclose(out), 0);                                                      \
	} while (0)

/* Equal, or within a relative 1e-12 for values the binary fractions of the rule round. */
static void expect_near(double got, double want, const char *what)
{
	double tol = fabs(want) * 1e-12;

	cr_assert(fabs(got - want) <= tol, "%s: got %.17g, expected %.17g", what, got, want);
}

static void expect_summary(const struct bench_summary *s, uint64_t n, double median, double min,
			   double max, double p10, double p90)
{
	cr_assert_eq(s->n, n, "n: got %llu, expected %llu", (unsigned long long)s->n,
		     (unsigned long long)n);
	expect_near(s->median, median, "median");
	expect_near(s->min, min, "min");
	expect_near(s->max, max, "max");
	expect_near(s->p10, p10, "p10");
	expect_near(s->p90, p90, "p90");
}

static void config(struct bench_config *c, const char *backend, const char *served_by,
		   const char *workload, const char *phase, const char *attach)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->backend, sizeof(c->backend), "%s", backend);
	snprintf(c->served_by, sizeof(c->served_by), "%s", served_by);
	snprintf(c->workload, sizeof(c->workload), "%s", workload);
	snprintf(c->phase, sizeof(c->phase), "%s", phase);
	snprintf(c->pattern, sizeof(c->pattern), "seq");
	snprintf(c->inval, sizeof(c->inval), "-");
	snprintf(c->trace, sizeof(c->trace), "off");
	snprintf(c->attach, sizeof(c->attach), "%s", attach);
	c->page_size = 4096;
	c->leaf_max = 4096;
	c->op_bytes = 4096;
	c->ops = 1024;
	c->repeat_bytes = c->ops * c->op_bytes;
	c->threads = 1;
	c->repeats = 5;
	c->rounds = 1;
}

static struct bench_summary summary(double median, double min, double max)
{
	return (struct bench_summary){ .n = 5, .median = median, .min = min, .max = max,
				       .p10 = min, .p90 = max };
}

static struct bench_latency latency(double p50, double p99, double max)
{
	return (struct bench_latency){ .n = 5120, .p50 = p50, .p99 = p99, .max = max };
}

static struct bench_skip skip(const char *backend, const char *workload, const char *why)
{
	struct bench_skip s = { .magic = BENCH_SKIP_MAGIC, .size = sizeof(s) };

	snprintf(s.backend, sizeof(s.backend), "%s", backend);
	snprintf(s.workload, sizeof(s.workload), "%s", workload);
	snprintf(s.why, sizeof(s.why), "%s", why);
	return s;
}

/* ---- bench_summarize ----------------------------------------------------------------------- */

Test(bench_output, summarize_odd_count)
{
	double v[] = { 5, 1, 4, 2, 3 };
	struct bench_summary s;

	bench_summarize(v, NELEM(v), &s);
	/* p10: h = 0.4 → 1 + 0.4·(2-1); p90: h = 3.6 → 4 + 0.6·(5-4) */
	expect_summary(&s, 5, 3, 1, 5, 1.4, 4.6);
	for (size_t i = 0; i < NELEM(v); i++)   /* sorted in place */
		cr_assert_eq(v[i], (double)(i + 1));
}

Test(bench_output, summarize_even_count_median_is_mean_of_middle_two)
{
	double v[] = { 40, 10, 30, 20 };
	struct bench_summary s;

	bench_summarize(v, NELEM(v), &s);
	/* median: h = 1.5 → (20+30)/2; p10: h = 0.3 → 13; p90: h = 2.7 → 37 */
	expect_summary(&s, 4, 25, 10, 40, 13, 37);
}

Test(bench_output, summarize_one_and_none)
{
	double one[] = { 7.5 };
	struct bench_summary s;

	bench_summarize(one, 1, &s);
	expect_summary(&s, 1, 7.5, 7.5, 7.5, 7.5, 7.5);

	memset(&s, 0xff, sizeof(s));
	bench_summarize(NULL, 0, &s);
	cr_assert_eq(s.n, 0);
	cr_assert_eq(s.median, 0);
	cr_assert_eq(s.min, 0);
	cr_assert_eq(s.max, 0);
	cr_assert_eq(s.p10, 0);
	cr_assert_eq(s.p90, 0);
}

/* Whole ranks give the value at that rank exactly, even where p·(n-1) is not exact in binary
 * (0.1 × 30 is 3.0000000000000004). */
Test(bench_output, percentiles_on_whole_ranks_are_exact)
{
	double v11[11], v31[31], v101[101];
	struct bench_summary s;

	for (int i = 0; i < 11; i++)
		v11[i] = 10.0 * (10 - i);
	bench_summarize(v11, 11, &s);
	cr_assert_eq(s.p10, 10);
	cr_assert_eq(s.median, 50);
	cr_assert_eq(s.p90, 90);

	for (int i = 0; i < 31; i++)
		v31[i] = i;
	bench_summarize(v31, 31, &s);
	cr_assert_eq(s.p10, 3);
	cr_assert_eq(s.median, 15);
	cr_assert_eq(s.p90, 27);

	for (int i = 0; i < 101; i++)
		v101[i] = 100 - i;
	bench_summarize(v101, 101, &s);
	expect_summary(&s, 101, 50, 0, 100, 10, 90);
	cr_assert_eq(s.p10, 10);
	cr_assert_eq(s.p90, 90);
}

Test(bench_output, percentiles_interpolate_between_ranks)
{
	double v[] = { 100, 200, 300, 400, 500, 600 };
	struct bench_summary s;

	bench_summarize(v, NELEM(v), &s);
	/* h(p10) = 0.5 → 150; h(p50) = 2.5 → 350; h(p90) = 4.5 → 550 */
	expect_summary(&s, 6, 350, 100, 600, 150, 550);
}

/* NaN sorts above every number, so the order is total and a NaN shows where it falls. */
Test(bench_output, summarize_nan_sorts_last)
{
	double v[] = { NAN, 2, 1 };
	struct bench_summary s;

	bench_summarize(v, NELEM(v), &s);
	cr_assert_eq(s.n, 3);
	cr_assert_eq(s.min, 1);
	cr_assert_eq(s.median, 2);
	cr_assert(isnan(s.max));
	cr_assert_eq(v[0], 1);
	cr_assert_eq(v[1], 2);
	cr_assert(isnan(v[2]));
}

/* ---- samples and the reservoir ------------------------------------------------------------- */

Test(bench_output, samples_init_free)
{
	struct bench_samples s;

	cr_assert_eq(bench_samples_init(&s, 3), 0);
	cr_assert(s.repeat_ns && s.op_ns);
	cr_assert_eq(s.cap_repeat, 3);
	cr_assert_eq(s.cap_op, BENCH_OP_SAMPLES);
	cr_assert_eq(s.nrepeat + s.nop + s.seen_op, 0);
	cr_assert_neq(s.rng, 0);
	bench_samples_free(&s);
	cr_assert_null(s.repeat_ns);
	cr_assert_null(s.op_ns);
	bench_samples_free(&s);         /* twice is fine, and so is NULL */
	bench_samples_free(NULL);
}

Test(bench_output, repeats_beyond_the_announced_count_are_kept)
{
	struct bench_samples s;
	struct bench_summary r;

	cr_assert_eq(bench_samples_init(&s, 2), 0);
	for (int i = 5; i >= 1; i--)
		bench_samples_add_repeat(&s, i * 1000.0);
	cr_assert_eq(s.nrepeat, 5);
	bench_samples_summary(&s, &r, NULL);
	expect_summary(&r, 5, 3000, 1000, 5000, 1400, 4600);
	bench_samples_free(&s);
}

Test(bench_output, latency_exact_below_the_reservoir)
{
	struct bench_samples s;
	struct bench_latency lat;
	struct bench_summary r;

	cr_assert_eq(bench_samples_init(&s, 1), 0);
	for (int i = 100; i >= 1; i--)
		bench_samples_add_op(&s, i);
	bench_samples_summary(&s, &r, &lat);
	cr_assert_eq(r.n, 0);
	cr_assert_eq(lat.n, 100);
	expect_near(lat.p50, 50.5, "p50");      /* h = 49.5 */
	expect_near(lat.p99, 99.01, "p99");     /* h = 98.01 → 99 + 0.01 */
	cr_assert_eq(lat.max, 100);
	bench_samples_free(&s);

	cr_assert_eq(bench_samples_init(&s, 1), 0);
	bench_samples_summary(&s, &r, &lat);
	cr_assert_eq(lat.n, 0);
	cr_assert_eq(lat.p50 + lat.p99 + lat.max, 0);
	bench_samples_free(&s);
}

#define RES_CAP 1000
#define STREAM 100000

/* The sample (every slot but 0) holds distinct values of the stream, spread evenly over it:
 * 10 bins of the stream get about 99.9 each (binomial, σ ≈ 9.5) and the mean is the stream's
 * (σ ≈ 913). The generator is seeded, so a run always gives the same counts; the bounds (4σ)
 * would hold for another seed too. */
static void expect_uniform(const struct bench_samples *s, double lo, double hi)
{
	unsigned int bins[10] = { 0 };
	double mean = 0;

	for (uint64_t i = 1; i < s->nop; i++) {
		double v = s->op_ns[i];
		int b = (int)((v - lo) * 10 / (hi - lo));

		cr_assert(v >= lo && v < hi && v == floor(v), "slot %llu: %g",
			  (unsigned long long)i, v);
		bins[b < 10 ? b : 9]++;
		mean += v;
	}
	mean /= (double)(s->nop - 1);
	for (int b = 0; b < 10; b++)
		cr_assert(bins[b] >= 60 && bins[b] <= 140, "bin %d: %u of %llu", b, bins[b],
			  (unsigned long long)s->nop - 1);
	cr_assert(fabs(mean - (lo + hi) / 2) < 4000, "mean %g", mean);

	{       /* distinct: each value of the stream went in once at most */
		double *v = malloc(s->nop * sizeof(*v));
		struct bench_summary unused;

		cr_assert(v);
		memcpy(v, s->op_ns, s->nop * sizeof(*v));
		bench_summarize(v, s->nop, &unused);
		for (uint64_t i = 1; i < s->nop; i++)
			cr_assert_neq(v[i], v[i - 1], "%g twice", v[i]);
		free(v);
	}
}

Test(bench_output, reservoir_uniform_keeps_true_max_and_count)
{
	struct bench_samples s;
	struct bench_latency lat;
	double *slots;

	cr_assert_eq(bench_samples_init(&s, 1), 0);
	s.cap_op = RES_CAP;
	slots = s.op_ns;
	for (int i = 0; i < STREAM; i++)
		bench_samples_add_op(&s, i == STREAM / 2 ? 1e9 : i);
	cr_assert_eq(s.op_ns, slots);   /* nothing allocated */
	cr_assert_eq(s.seen_op, STREAM);
	cr_assert_eq(s.nop, RES_CAP);
	cr_assert_eq(s.op_ns[0], 1e9);
	expect_uniform(&s, 0, STREAM);

	bench_samples_summary(&s, NULL, &lat);
	cr_assert_eq(lat.n, STREAM);
	cr_assert_eq(lat.max, 1e9);
	cr_assert(lat.p50 > 40000 && lat.p50 < 60000, "p50 %g", lat.p50);
	cr_assert(lat.p99 > 95000 && lat.p99 < 100000, "p99 %g", lat.p99);

	/* Sampling goes on after a summary: the maximum is back in slot 0. */
	cr_assert_eq(s.op_ns[0], 1e9);
	bench_samples_add_op(&s, 2e9);
	bench_samples_add_op(&s, 5);
	bench_samples_summary(&s, NULL, &lat);
	cr_assert_eq(lat.n, STREAM + 2);
	cr_assert_eq(lat.max, 2e9);
	bench_samples_free(&s);
}

/* Every value a new maximum: each one displaced from slot 0 still has its fair chance. */
Test(bench_output, reservoir_rising_stream)
{
	struct bench_samples s;
	struct bench_latency lat;

	cr_assert_eq(bench_samples_init(&s, 1), 0);
	s.cap_op = RES_CAP;
	for (int i = 0; i < STREAM; i++)
		bench_samples_add_op(&s, i);
	cr_assert_eq(s.op_ns[0], STREAM - 1);
	expect_uniform(&s, 0, STREAM - 1);
	bench_samples_summary(&s, NULL, &lat);
	cr_assert_eq(lat.n, STREAM);
	cr_assert_eq(lat.max, STREAM - 1);
	bench_samples_free(&s);
}

/* ---- pooling rounds (bench_samples_merge) -------------------------------------------------- */

/* Samples of one round: these repeats and operations, as a workload takes them. */
static void round_samples(struct bench_samples *s, const double *rep, size_t nrep,
			  const double *ops, size_t nops)
{
	cr_assert_eq(bench_samples_init(s, nrep), 0);
	for (size_t i = 0; i < nrep; i++)
		bench_samples_add_repeat(s, rep[i]);
	for (size_t i = 0; i < nops; i++)
		bench_samples_add_op(s, ops[i]);
}

/* 1 000 ops per repeat, 4 096 000 bytes: the durations 1..6 ms of three rounds of two. */
static void expect_six_ms(const struct bench_record *r)
{
	/* durations 1..6 ms: median h = 2.5, p10 h = 0.5, p90 h = 4.5 */
	expect_summary(&r->repeat_ns, 6, 3.5e6, 1e6, 6e6, 1.5e6, 5.5e6);
	/* rates 1e12 / t, ascending: 1e12/6e6 .. 1e12/1e6; the median is the mean of the rates
	 * of 4 and 3 ms */
	expect_summary(&r->ops_s, 6, (1e12 / 4e6 + 1e12 / 3e6) / 2, 1e12 / 6e6, 1e12 / 1e6,
		       1e12 / 6e6 + 0.5 * (1e12 / 5e6 - 1e12 / 6e6),
		       1e12 / 2e6 + 0.5 * (1e12 / 1e6 - 1e12 / 2e6));
}

Test(bench_output, merge_pools_every_repeat_and_operation_exactly)
{
	static const double rep[3][2] = { { 4e6, 2e6 }, { 5e6, 1e6 }, { 3e6, 6e6 } };
	static const double ops[3][2] = { { 100, 300 }, { 200, 900 }, { 400 } };
	static const size_t nops[3] = { 2, 2, 1 };
	struct bench_samples pool, round;
	struct bench_record r = { 0 };

	bench_samples_init_empty(&pool);
	cr_assert_null(pool.op_ns);
	cr_assert_null(pool.repeat_ns);
	for (int k = 0; k < 3; k++) {
		round_samples(&round, rep[k], 2, ops[k], nops[k]);
		cr_assert_eq(bench_samples_merge(&pool, &round), 0);
		cr_assert_eq(round.nrepeat, 2, "the round is not changed");
		bench_samples_free(&round);
	}
	cr_assert_eq(pool.nrepeat, 6);
	cr_assert_eq(pool.nop, 5);
	cr_assert_eq(pool.seen_op, 5);
	cr_assert_eq(pool.op_ns[0], 900, "the maximum in slot 0: %g", pool.op_ns[0]);

	config(&r.cfg, "ref", "reference", "pages", "map", "mock domain");
	r.cfg.ops = 1000;
	r.cfg.repeat_bytes = 4096000;
	bench_record_fill(&r, &pool);
	expect_six_ms(&r);
	/* every operation of every round: 100 200 300 400 900; p99 h = 3.96 */
	cr_assert_eq(r.lat.n, 5);
	expect_near(r.lat.p50, 300, "p50");
	expect_near(r.lat.p99, 400 + 0.96 * 500, "p99");
	cr_assert_eq(r.lat.max, 900);
	bench_samples_free(&pool);
}

/* Past the reservoir: the true maximum, the count of every operation, a sample that takes
 * from each round in proportion to what it saw, each value once. */
Test(bench_output, merge_of_reservoirs_keeps_max_count_and_proportion)
{
	struct bench_samples a, b, pool;
	struct bench_latency lat;
	uint64_t from_a = 0;
	bool has_lesser_max = false;

	cr_assert_eq(bench_samples_init(&a, 1), 0);
	cr_assert_eq(bench_samples_init(&b, 1), 0);
	a.cap_op = b.cap_op = RES_CAP;
	for (int i = 0; i < STREAM; i++)
		bench_samples_add_op(&a, i == 10 ? 5e8 : i);
	for (int i = 0; i < 3 * STREAM; i++)
		bench_samples_add_op(&b, i == 20 ? 1e9 : STREAM + i);
	bench_samples_init_empty(&pool);
	pool.cap_op = RES_CAP;
	cr_assert_eq(bench_samples_merge(&pool, &a), 0);
	cr_assert_eq(pool.nop, RES_CAP, "a reservoir of the cap's size merges whole");
	cr_assert_eq(bench_samples_merge(&pool, &b), 0);

	cr_assert_eq(pool.seen_op, 4 * STREAM);
	cr_assert_leq(pool.nop, RES_CAP);
	cr_assert_geq(pool.nop, RES_CAP - 2);
	cr_assert_eq(pool.op_ns[0], 1e9);
	for (uint64_t i = 1; i < pool.nop; i++) {
		if (pool.op_ns[i] == 5e8)
			has_lesser_max = true;
		else if (pool.op_ns[i] < STREAM)
			from_a++;
	}
	cr_assert(has_lesser_max, "the other round's maximum is a value like any other");
	/* a saw a quarter of the operations: ~250 of ~998 */
	cr_assert(from_a >= 240 && from_a <= 260, "%llu of %llu from the first round",
		  (unsigned long long)from_a, (unsigned long long)pool.nop);
	bench_samples_summary(&pool, NULL, &lat);
	cr_assert_eq(lat.n, 4 * STREAM);
	cr_assert_eq(lat.max, 1e9);
	cr_assert(lat.p50 > 180000 && lat.p50 < 220000, "p50 %g", lat.p50);
	{       /* each value once */
		double *v = malloc(pool.nop * sizeof(*v));
		struct bench_summary unused;

		cr_assert(v);
		memcpy(v, pool.op_ns, pool.nop * sizeof(*v));
		bench_summarize(v, pool.nop, &unused);
		for (uint64_t i = 1; i < pool.nop; i++)
			cr_assert_neq(v[i], v[i - 1], "%g twice", v[i]);
		free(v);
	}
	bench_samples_free(&a);
	bench_samples_free(&b);
	bench_samples_free(&pool);
}

/* Merged samples take more operations as a reservoir still: kept while all fit. */
Test(bench_output, merged_samples_keep_sampling)
{
	static const double ops[] = { 3, 1, 2 };
	struct bench_samples pool, round;
	struct bench_latency lat;

	round_samples(&round, NULL, 0, ops, NELEM(ops));
	bench_samples_init_empty(&pool);
	cr_assert_eq(bench_samples_merge(&pool, &round), 0);
	bench_samples_add_op(&pool, 10);
	bench_samples_add_op(&pool, 0.5);
	cr_assert_eq(pool.nop, 5);
	cr_assert_eq(pool.seen_op, 5);
	bench_samples_summary(&pool, NULL, &lat);
	cr_assert_eq(lat.max, 10);
	expect_near(lat.p50, 2, "p50");
	bench_samples_free(&round);
	bench_samples_free(&pool);
}

/* ---- bench_record_fill --------------------------------------------------------------------- */

Test(bench_output, record_fill_rates_from_each_repeat)
{
	static const double ns[] = { 4e6, 2e6, 5e6, 1e6 };
	struct bench_samples s;
	struct bench_record r = { 0 };

	config(&r.cfg, "ref", "reference", "map-unmap", "map", "mock domain");
	r.cfg.ops = 1000;
	r.cfg.repeat_bytes = 4096000;
	cr_assert_eq(bench_samples_init(&s, NELEM(ns)), 0);
	for (size_t i = 0; i < NELEM(ns); i++)
		bench_samples_add_repeat(&s, ns[i]);
	for (int i = 1; i <= 10; i++)
		bench_samples_add_op(&s, i * 100.0);
	bench_record_fill(&r, &s);

	/* durations 1, 2, 4, 5 ms */
	expect_summary(&r.repeat_ns, 4, 3e6, 1e6, 5e6, 1.3e6, 4.7e6);
	/* 1000 ops: 200k, 250k, 500k, 1M per second; the median rate is the mean of the middle
	 * two (375k), not 1000 / the median duration (333.3k) */
	expect_summary(&r.ops_s, 4, 375000, 200000, 1e6, 215000, 850000);
	/* 4096000 bytes: 0.8192, 1.024, 2.048, 4.096 GB/s */
	expect_summary(&r.gb_s, 4, 1.536, 0.8192, 4.096, 0.88064, 3.4816);
	/* ops 100 .. 1000 ns: p50 h = 4.5, p99 h = 8.91 */
	cr_assert_eq(r.lat.n, 10);
	expect_near(r.lat.p50, 550, "p50");
	expect_near(r.lat.p99, 991, "p99");
	cr_assert_eq(r.lat.max, 1000);
	bench_samples_free(&s);
}

Test(bench_output, record_fill_odd_count_and_no_bytes)
{
	static const double ns[] = { 3e6, 1e6, 2e6 };
	struct bench_samples s;
	struct bench_record r = { 0 };

	config(&r.cfg, "ref", "reference", "vm-start", "start", "none");
	r.cfg.ops = 2;
	r.cfg.repeat_bytes = 0;
	cr_assert_eq(bench_samples_init(&s, NELEM(ns)), 0);
	for (size_t i = 0; i < NELEM(ns); i++)
		bench_samples_add_repeat(&s, ns[i]);
	bench_record_fill(&r, &s);
	/* odd count: the median rate is the rate of the median duration, 2 / 2 ms */
	expect_summary(&r.ops_s, 3, 1000, 2000.0 / 3, 2000, 2000.0 / 3 + 0.2 * (1000 - 2000.0 / 3),
		       1000 + 0.8 * 1000);
	cr_assert_eq(r.gb_s.n, 0);      /* no bytes: no byte rate */
	cr_assert_eq(r.gb_s.median, 0);
	cr_assert_eq(r.lat.n, 0);
	bench_samples_free(&s);
}

/* ---- JSON Lines ---------------------------------------------------------------------------- */

static struct bench_record json_record(void)
{
	struct bench_record r = { .magic = BENCH_RECORD_MAGIC, .size = sizeof(r) };

	config(&r.cfg, "ref", "reference", "map-unmap", "map", "mock domain");
	r.ops_s = (struct bench_summary){ .n = 5, .median = 1234567.5, .min = 1200000,
					  .max = 1250000.25, .p10 = 1210000, .p90 = 1245000 };
	r.gb_s = (struct bench_summary){ .n = 5, .median = 5.0567, .min = 4.9152, .max = 5.12,
					 .p10 = 4.95, .p90 = 0.1 + 0.2 };
	r.repeat_ns = (struct bench_summary){ .n = 5, .median = 829444, .min = 819200,
					      .max = 853333, .p10 = 820000, .p90 = 1.5e20 };
	r.lat = (struct bench_latency){ .n = 5120, .p50 = 812, .p99 = 1200.5, .max = 45000 };
	r.violations = -1;
	snprintf(r.note, sizeof(r.note), "4K pages, \"strict\"");
	return r;
}

static const char exp_json_record[] =
	"{\"config\":{\"backend\":\"ref\",\"served_by\":\"reference\",\"workload\":\"map-unmap\","
	"\"phase\":\"map\",\"pattern\":\"seq\",\"inval\":\"-\",\"trace\":\"off\","
	"\"attach\":\"mock domain\",\"page_size\":4096,\"leaf_max\":4096,\"op_bytes\":4096,"
	"\"repeat_bytes\":4194304,\"ops\":1024,\"threads\":1,\"repeats\":5,\"rounds\":1},"
	"\"ops_s\":{\"median\":1234567.5,\"min\":1200000,\"max\":1250000.25,\"p10\":1210000,"
	"\"p90\":1245000,\"n\":5},"
	"\"gb_s\":{\"median\":5.0567,\"min\":4.9152,\"max\":5.12,\"p10\":4.95,"
	"\"p90\":0.30000000000000004,\"n\":5},"
	"\"repeat_ns\":{\"median\":829444,\"min\":819200,\"max\":853333,\"p10\":820000,"
	"\"p90\":1.5e+20,\"n\":5},"
	"\"lat\":{\"n\":5120,\"p50\":812,\"p99\":1200.5,\"max\":45000},"
	"\"overhead\":0,\"events\":0,\"dropped\":0,\"violations\":-1,"
	"\"note\":\"4K pages, \\\"strict\\\"\"}\n";

Test(bench_output, json_record_exact)
{
	struct bench_record r = json_record();
	char *text;

	CAPTURE(text, bench_record_json(out, &r));
	cr_assert_str_eq(text, exp_json_record, "got:\n%s", text);
	free(text);
}

Test(bench_output, json_trace_fields)
{
	struct bench_record r = json_record();
	char *text;

	snprintf(r.cfg.trace, sizeof(r.cfg.trace), "check");
	r.overhead = 1.18;
	r.events = 2097152;
	r.dropped = 3;
	r.violations = 0;
	r.note[0] = '\0';
	CAPTURE(text, bench_record_json(out, &r));
	cr_assert(strstr(text, "\"trace\":\"check\""), "%s", text);
	cr_assert(strstr(text, ",\"overhead\":1.18,\"events\":2097152,\"dropped\":3,"
			       "\"violations\":0,\"note\":\"\"}\n"), "%s", text);
	free(text);
}

Test(bench_output, json_nan_and_infinity_are_null)
{
	struct bench_record r = json_record();
	char *text;

	r.ops_s.median = NAN;
	r.gb_s.max = INFINITY;
	r.lat.max = -INFINITY;
	r.overhead = NAN;
	CAPTURE(text, bench_record_json(out, &r));
	cr_assert(strstr(text, "\"ops_s\":{\"median\":null,\"min\":1200000,"), "%s", text);
	cr_assert(strstr(text, ",\"max\":null,\"p10\":4.95,"), "%s", text);
	cr_assert(strstr(text, "\"lat\":{\"n\":5120,\"p50\":812,\"p99\":1200.5,\"max\":null},"
			       "\"overhead\":null,"), "%s", text);
	cr_assert_null(strstr(text, "nan"), "%s", text);
	cr_assert_null(strstr(text, "inf"), "%s", text);
	free(text);
}

Test(bench_output, json_skip_exact)
{
	struct bench_skip s = skip("kernel", "", "kernel: /dev/iommu does not exist: this kernel "
				   "has no CONFIG_IOMMUFD (or the module is not loaded)");
	char *text;

	CAPTURE(text, bench_skip_json(out, &s));
	cr_assert_str_eq(text, "{\"skipped\":true,\"backend\":\"kernel\",\"workload\":\"\","
			       "\"why\":\"kernel: /dev/iommu does not exist: this kernel has no "
			       "CONFIG_IOMMUFD (or the module is not loaded)\"}\n",
			 "got:\n%s", text);
	free(text);
}

/* Quotes, backslashes, named and numbered controls, DEL; UTF-8 passes as bytes (é, 日, 𝄞);
 * each byte that is not part of a well-formed sequence (a stray continuation, an overlong
 * '/', a surrogate, a sequence cut by the field's end) becomes U+FFFD. */
Test(bench_output, json_escapes_hostile_strings)
{
	struct bench_record r = json_record();
	struct bench_skip s;
	char *text, *note;

	snprintf(r.note, sizeof(r.note),
		 "\"q\" \\b\\ \b\f\n\r\t \x01\x1f\x7f é日𝄞 \x80 \xc0\xaf \xed\xa0\x80 \xe6\x97");
	CAPTURE(text, bench_record_json(out, &r));
	note = strstr(text, ",\"note\":");
	cr_assert(note, "%s", text);
	cr_assert_str_eq(note, ",\"note\":\"\\\"q\\\" \\\\b\\\\ \\b\\f\\n\\r\\t "
			       "\\u0001\\u001f\\u007f é日𝄞 \\ufffd \\ufffd\\ufffd "
			       "\\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\"}\n", "got:\n%s", note);
	free(text);

	s = skip("ref-uapi", "map\"unmap", "line one\nline two: \x1b[31mred\x1b[0m");
	CAPTURE(text, bench_skip_json(out, &s));
	cr_assert_str_eq(text, "{\"skipped\":true,\"backend\":\"ref-uapi\","
			       "\"workload\":\"map\\\"unmap\",\"why\":\"line one\\nline two: "
			       "\\u001b[31mred\\u001b[0m\"}\n", "got:\n%s", text);
	free(text);
}

/* A field filled to its last byte (no NUL, as a pipe may bring it) is read up to its end. */
Test(bench_output, json_unterminated_field)
{
	struct bench_record r = json_record();
	char *text;

	memcpy(r.cfg.backend, "abcdefghijklmnop", sizeof(r.cfg.backend));
	CAPTURE(text, bench_record_json(out, &r));
	cr_assert(strstr(text, "{\"config\":{\"backend\":\"abcdefghijklmnop\",\"served_by\":"),
		  "%s", text);
	free(text);
}

/* A process whose locale writes "1,5" still writes JSON numbers with a point. Skipped where no
 * such locale is installed. */
Test(bench_output, json_numbers_whatever_the_locale)
{
	static const char *const comma[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
					     "fr_FR.utf8", "ru_RU.UTF-8" };
	struct bench_record r = json_record();
	char *text, num[16];
	const char *set = NULL;

	for (size_t i = 0; i < NELEM(comma) && !set; i++)
		set = setlocale(LC_NUMERIC, comma[i]);
	if (!set)
		cr_skip_test("no locale with a decimal comma is installed");
	snprintf(num, sizeof(num), "%.1f", 1.5);
	cr_assert_str_eq(num, "1,5");
	CAPTURE(text, bench_record_json(out, &r));
	setlocale(LC_NUMERIC, "C");
	cr_assert_str_eq(text, exp_json_record, "got:\n%s", text);
	free(text);
}

/* JSON only: each line is written as it comes; the table, absent, prints nothing. */
Test(bench_output, output_jsonl_streams)
{
	struct bench_record r = json_record();
	struct bench_skip s = skip("kernel-type1", "", "no group");
	struct bench_output *o;
	char *text;
	size_t len;
	FILE *out = open_memstream(&text, &len);

	cr_assert(out);
	o = bench_output_new(NULL, out);
	cr_assert(o);
	bench_output_record(o, &r);
	cr_assert_str_eq(text, exp_json_record);        /* flushed: there already */
	bench_output_skip(o, &s);
	bench_output_finish(o);
	cr_assert_eq(fclose(out), 0);
	cr_assert(!strncmp(text, exp_json_record, strlen(exp_json_record)));
	cr_assert_str_eq(text + strlen(exp_json_record),
			 "{\"skipped\":true,\"backend\":\"kernel-type1\",\"workload\":\"\","
			 "\"why\":\"no group\"}\n");
	free(text);
}

/* ---- calibration --------------------------------------------------------------------------- */

Test(bench_output, calibration_json_exact)
{
	struct bench_calibration c = { .round = 2, .ns = 2500000.5 };
	char *text;

	CAPTURE(text, bench_calibration_json(out, &c, 3, 1.25));
	cr_assert_str_eq(text, "{\"type\":\"calibration\",\"round\":2,\"rounds\":3,"
			       "\"ns\":2500000.5,\"max_min\":1.25}\n", "got:\n%s", text);
	free(text);
}

/* The table's footer and the JSON lines, at finish: every round's figure and the run's drift. */
Test(bench_output, calibration_footer_and_lines_at_finish)
{
	static const double ns[] = { 2e6, 2.5e6, 2.2e6 };
	struct bench_record r = json_record();
	struct bench_output *o;
	char *table, *jsonl;
	size_t tlen, jlen;
	FILE *tf = open_memstream(&table, &tlen), *jf = open_memstream(&jsonl, &jlen);

	cr_assert(tf && jf);
	o = bench_output_new(tf, jf);
	cr_assert(o);
	bench_output_record(o, &r);
	for (uint32_t i = 0; i < NELEM(ns); i++)
		bench_output_calibration(o, &(struct bench_calibration){ i + 1, ns[i] });
	fflush(jf);
	cr_assert_str_eq(jsonl, exp_json_record, "calibration lines wait for finish");
	bench_output_finish(o);
	cr_assert_eq(fclose(tf), 0);
	cr_assert_eq(fclose(jf), 0);
	cr_assert_str_eq(strstr(table, "\n\ncalibration") + 1,
			 "\ncalibration (a fixed CPU loop, timed as each round starts): round 1 "
			 "2.00ms, round 2 2.50ms, round 3 2.20ms; max/min ×1.25\n", "got:\n%s",
			 table);
	cr_assert_str_eq(jsonl + strlen(exp_json_record),
			 "{\"type\":\"calibration\",\"round\":1,\"rounds\":3,\"ns\":2000000,"
			 "\"max_min\":1.25}\n"
			 "{\"type\":\"calibration\",\"round\":2,\"rounds\":3,\"ns\":2500000,"
			 "\"max_min\":1.25}\n"
			 "{\"type\":\"calibration\",\"round\":3,\"rounds\":3,\"ns\":2200000,"
			 "\"max_min\":1.25}\n", "got:\n%s", jsonl);
	free(table);
	free(jsonl);
}

/* ---- the table ----------------------------------------------------------------------------- */

/* Two backends, their records interleaved as parallel workers send them; ref's last record
 * has another attach; one record traced. Then skips, one for a whole backend. */
static void table_set(struct bench_record rec[4])
{
	struct bench_record *a = &rec[0], *b = &rec[1], *c = &rec[2], *d = &rec[3];

	memset(rec, 0, 4 * sizeof(*rec));
	config(&a->cfg, "ref", "reference", "map-unmap", "map", "mock domain");
	a->ops_s = summary(1234567, 1200000, 1250000);
	a->gb_s = summary(5.04, 4.98, 5.1);
	a->lat = latency(812, 1200, 45000);

	config(&b->cfg, "kernel", "kernel", "map-unmap", "map", "device 0000:00:02.0");
	b->cfg.op_bytes = 2 << 20;
	b->ops_s = summary(41300, 40600, 41500);
	b->gb_s = summary(86.6, 85.1, 87.0);
	b->lat = latency(23400, 51000, 2.5e6);
	snprintf(b->note, sizeof(b->note), "IOTLB hit rate 99.8 %%");

	config(&c->cfg, "ref", "reference", "map-unmap", "unmap", "mock domain");
	snprintf(c->cfg.trace, sizeof(c->cfg.trace), "counters");
	c->ops_s = summary(2.5e6, 2.4e6, 2.6e6);
	c->gb_s = summary(10.24, 10.1, 10.3);
	c->lat = latency(350, 700, 12000);
	c->overhead = 1.18;

	config(&d->cfg, "ref", "reference", "vm-start", "start", "device 0000:00:02.0");
	d->cfg.op_bytes = 0;
	d->cfg.repeat_bytes = 0;
	snprintf(d->cfg.pattern, sizeof(d->cfg.pattern), "-");
	d->ops_s = summary(0.5, 0.45, 0.52);
	d->lat = (struct bench_latency){ .n = 3, .p50 = 1.9e9, .p99 = 2.1e9, .max = 2.1e9 };
	snprintf(d->note, sizeof(d->note), "bind+attach+detach+unbind");
}

/* Lines are split where the source would pass 100 columns; the second parts align too. */
static const char exp_table[] =
	"backend  workload   phase  op_bytes  pattern  threads  inval  trace     "
	/**/ "ops_s  gb_s  [min–max]      lat.p50  lat.p99  lat.max  overhead  note\n"
	"ref: served by reference, attach: mock domain\n"
	"ref      map-unmap  map          4K  seq            1  -      off       "
	/**/ "1.23M  5.04  [4.98–5.10]      812ns   1.20µs   45.0µs\n"
	"ref      map-unmap  unmap        4K  seq            1  -      counters  "
	/**/ "2.50M  10.2  [10.1–10.3]      350ns    700ns   12.0µs     ×1.18\n"
	"\n"
	"ref: served by reference, attach: device 0000:00:02.0\n"
	/* no bytes moved: the spread is the rate's, calls per second */
	"ref      vm-start   start         -  -              1  -      off       "
	/**/ "0.500     -  [0.450–0.520]    1.90s    2.10s    2.10s            "
	/**/ "bind+attach+detach+unbind\n"
	"\n"
	"kernel: served by kernel, attach: device 0000:00:02.0\n"
	"kernel   map-unmap  map          2M  seq            1  -      off       "
	/**/ "41.3k  86.6  [85.1–87.0]     23.4µs   51.0µs   2.50ms            "
	/**/ "IOTLB hit rate 99.8 %\n"
	"\n"
	"skipped:\n"
	"  kernel-type1: kernel-type1: /dev/vfio/vfio does not exist: load vfio-pci\n"
	"  ref-uapi dma-api: ref-uapi: needs BENCH_CAP_LAZY_INVAL, which this backend lacks\n";

Test(bench_output, table_two_backends_and_skips)
{
	struct bench_record rec[4];
	struct bench_skip s1 = skip("kernel-type1", "",
				    "kernel-type1: /dev/vfio/vfio does not exist: load vfio-pci");
	struct bench_skip s2 = skip("ref-uapi", "dma-api", "ref-uapi: needs "
				    "BENCH_CAP_LAZY_INVAL, which this backend lacks");
	struct bench_output *o;
	char *text;

	table_set(rec);
	CAPTURE(text, {
		o = bench_output_new(out, NULL);
		cr_assert(o);
		for (int i = 0; i < 4; i++)
			bench_output_record(o, &rec[i]);
		bench_output_skip(o, &s1);
		bench_output_skip(o, &s2);
		bench_output_finish(o);
	});
	cr_assert_str_eq(text, exp_table, "got:\n%s\nexpected:\n%s", text, exp_table);
	free(text);
}

Test(bench_output, table_nothing_measured)
{
	struct bench_skip s = skip("kernel", "", "kernel: /dev/iommu does not exist");
	struct bench_output *o;
	char *text;

	CAPTURE(text, {
		o = bench_output_new(out, NULL);
		bench_output_finish(o);
	});
	cr_assert_str_eq(text, "no measurements\n");
	free(text);

	CAPTURE(text, {
		o = bench_output_new(out, NULL);
		bench_output_skip(o, &s);
		bench_output_finish(o);
	});
	cr_assert_str_eq(text, "no measurements\n\nskipped:\n"
			       "  kernel: kernel: /dev/iommu does not exist\n", "got:\n%s", text);
	free(text);
	bench_output_finish(NULL);
}

/* The cells of a one-record table's record line (line 3), split at runs of 2+ spaces. */
#define MAX_CELLS 20
static int row_cells(const struct bench_record *r, char cells[MAX_CELLS][200])
{
	struct bench_output *o;
	char *text, *line, *end;
	int n = 0;

	CAPTURE(text, {
		o = bench_output_new(out, NULL);
		bench_output_record(o, r);
		bench_output_finish(o);
	});
	line = strchr(strchr(text, '\n') + 1, '\n') + 1;
	end = strchr(line, '\n');
	cr_assert(end);
	*end = '\0';
	cr_assert_null(strchr(line, '\n'));
	for (char *p = line; *p;) {
		char *sep = strstr(p, "  ");
		size_t len = sep ? (size_t)(sep - p) : strlen(p);

		cr_assert_lt(n, MAX_CELLS);
		snprintf(cells[n++], 200, "%.*s", (int)len, p);
		if (!sep)
			break;
		p = sep;
		while (*p == ' ')
			p++;
	}
	free(text);
	return n;
}

enum { C_BACKEND, C_WORKLOAD, C_PHASE, C_OP_BYTES, C_PATTERN, C_THREADS, C_INVAL, C_TRACE,
       C_OPS_S, C_GB_S, C_SPREAD, C_P50, C_P99, C_MAX, C_NEXT };

static struct bench_record fmt_record(void)
{
	struct bench_record r = { 0 };

	config(&r.cfg, "ref", "reference", "map-unmap", "map", "mock domain");
	r.ops_s = summary(1000, 1000, 1000);
	r.gb_s = summary(1, 1, 1);
	r.lat = latency(1, 1, 1);
	return r;
}

static void expect_cell(const struct bench_record *r, int col, const char *want)
{
	char cells[MAX_CELLS][200];
	int n = row_cells(r, cells);

	cr_assert_gt(n, col);
	cr_assert_str_eq(cells[col], want, "column %d: got \"%s\", expected \"%s\"", col,
			 cells[col], want);
}

Test(bench_output, table_rates_three_significant_digits)
{
	static const struct {
		double v;
		const char *s;
	} cases[] = {
		{ 0, "0" }, { 0.5, "0.500" }, { 0.01234, "0.0123" }, { 1, "1.00" },
		{ 9.994, "9.99" }, { 9.996, "10.0" }, { 99.94, "99.9" }, { 99.96, "100" },
		{ 812, "812" }, { 999.4, "999" }, { 999.5, "1.00k" }, { 41300, "41.3k" },
		{ 999499, "999k" }, { 999500, "1.00M" }, { 1234567, "1.23M" },
		{ 2.5e9, "2.50G" }, { 7.2e15, "7.20P" }, { 3e21, "3000E" }, { NAN, "-" },
		{ INFINITY, "inf" },
	};
	struct bench_record r = fmt_record();

	for (size_t i = 0; i < NELEM(cases); i++) {
		r.ops_s.median = cases[i].v;
		expect_cell(&r, C_OPS_S, cases[i].s);
		r.gb_s.median = cases[i].v;      /* one formatter for both rates */
		expect_cell(&r, C_GB_S, cases[i].s);
	}
	r.gb_s = summary(1.5, 0.999, 12345);
	expect_cell(&r, C_SPREAD, "[0.999–12.3k]");
	r.ops_s.n = 0;
	expect_cell(&r, C_OPS_S, "-");
}

Test(bench_output, table_latency_units)
{
	static const struct {
		double ns;
		const char *s;
	} cases[] = {
		{ 0, "0ns" }, { 1, "1ns" }, { 812, "812ns" }, { 999.4, "999ns" },
		{ 999.5, "1.00µs" }, { 1200, "1.20µs" }, { 45000, "45.0µs" }, { 999400, "999µs" },
		{ 999500, "1.00ms" }, { 2.5e6, "2.50ms" }, { 1.234e9, "1.23s" },
		{ 1234e9, "1234s" }, { NAN, "-" },
	};
	struct bench_record r = fmt_record();

	for (size_t i = 0; i < NELEM(cases); i++) {
		r.lat.max = cases[i].ns;
		expect_cell(&r, C_MAX, cases[i].s);
	}
	r.lat.n = 0;
	expect_cell(&r, C_P50, "-");
	expect_cell(&r, C_P99, "-");
	expect_cell(&r, C_MAX, "-");
}

Test(bench_output, table_op_sizes)
{
	static const struct {
		uint64_t b;
		const char *s;
	} cases[] = {
		{ 0, "-" }, { 1, "1B" }, { 512, "512B" }, { 4096, "4K" }, { 1536 << 10, "1.5M" },
		{ 2 << 20, "2M" }, { 1 << 30, "1G" }, { 16ull << 30, "16G" }, { 4097, "4097B" },
		{ 1ull << 40, "1T" }, { 3ull << 60, "3E" }, { 1000000, "976.6K" },
	};
	struct bench_record r = fmt_record();

	for (size_t i = 0; i < NELEM(cases); i++) {
		r.cfg.op_bytes = cases[i].b;
		expect_cell(&r, C_OP_BYTES, cases[i].s);
	}
}

Test(bench_output, table_overhead_and_note_only_when_present)
{
	struct bench_record r = fmt_record();
	char cells[MAX_CELLS][200];

	cr_assert_eq(row_cells(&r, cells), C_NEXT);
	r.overhead = 1.184;
	cr_assert_eq(row_cells(&r, cells), C_NEXT + 1);
	cr_assert_str_eq(cells[C_NEXT], "×1.18");
	r.overhead = NAN;
	expect_cell(&r, C_NEXT, "-");
	r.overhead = 0;
	snprintf(r.note, sizeof(r.note), "a note");
	cr_assert_eq(row_cells(&r, cells), C_NEXT + 1);
	cr_assert_str_eq(cells[C_NEXT], "a note");
}

/* Nothing a record carries reaches the terminal as a control: C0, DEL, C1 (U+009B is CSI on
 * some terminals) and malformed UTF-8 show as '?'; well-formed UTF-8 passes. */
Test(bench_output, table_hostile_strings)
{
	struct bench_record r = fmt_record();
	struct bench_skip s = skip("ref", "x\ty", "why\r\n\x1b]0;title\x07 \xc2\x9b" "2J é \xff");
	struct bench_output *o;
	char *text;

	snprintf(r.note, sizeof(r.note), "\x1b[2Jclear\nnext \xc2\x9b" "1m é日 \xc3");
	memcpy(r.cfg.workload, "abcdefghijklmnopqrstuvwx", sizeof(r.cfg.workload));
	expect_cell(&r, C_NEXT, "?[2Jclear?next ?1m é日 ?");
	expect_cell(&r, C_WORKLOAD, "abcdefghijklmnopqrstuvwx");

	CAPTURE(text, {
		o = bench_output_new(out, NULL);
		bench_output_skip(o, &s);
		bench_output_finish(o);
	});
	cr_assert_str_eq(text, "no measurements\n\nskipped:\n"
			       "  ref x?y: why???]0;title? ?2J é ?\n", "got:\n%s", text);
	free(text);
}

/* The numbers of the table do not depend on the order records come in: widths are the widest
 * value's, whichever record holds it. */
Test(bench_output, table_columns_fit_the_widest_value)
{
	struct bench_record rec[2] = { fmt_record(), fmt_record() };
	struct bench_output *o;
	char *text;

	snprintf(rec[1].cfg.workload, sizeof(rec[1].cfg.workload), "a-much-longer-workload");
	rec[1].cfg.threads = 128;
	CAPTURE(text, {
		o = bench_output_new(out, NULL);
		bench_output_record(o, &rec[0]);
		bench_output_record(o, &rec[1]);
		bench_output_finish(o);
	});
	cr_assert_str_eq(text,
			 "backend  workload                phase  op_bytes  pattern  threads  "
			 /**/ "inval  trace  ops_s  gb_s  [min–max]    lat.p50  lat.p99  lat.max\n"
			 "ref: served by reference, attach: mock domain\n"
			 "ref      map-unmap               map          4K  seq            1  "
			 /**/ "-      off    1.00k  1.00  [1.00–1.00]      1ns      1ns      1ns\n"
			 "ref      a-much-longer-workload  map          4K  seq          128  "
			 /**/ "-      off    1.00k  1.00  [1.00–1.00]      1ns      1ns      1ns\n",
			 "got:\n%s", text);
	free(text);
}

/* ---- the driver's pool (runner.c) ---------------------------------------------------------- */

TestSuite(bench_runner);

#define MAX_EMITTED 16

struct emitted {
	struct bench_record r[MAX_EMITTED];
	size_t n;
};

static void collect_emitted(void *arg, const struct bench_record *r)
{
	struct emitted *e = arg;

	cr_assert_lt(e->n, MAX_EMITTED);
	e->r[e->n++] = *r;
}

/* A figure of one round into the pool: its repeats and operations as a worker sends them. */
static void pool_add(struct bench_pool *p, const struct bench_record *r, unsigned int round,
		     const double *rep, size_t nrep, const double *ops, size_t nops)
{
	struct bench_samples s;

	round_samples(&s, rep, nrep, ops, nops);
	cr_assert_eq(bench_pool_add(p, r, &s, round), 0);
	bench_samples_free(&s);
}

/* Three rounds of two repeats: one figure of six samples, summarised over all of them. */
Test(bench_runner, pool_three_rounds_of_two_repeats_is_one_figure_of_six)
{
	static const double rep[3][2] = { { 2e6, 4e6 }, { 1e6, 6e6 }, { 3e6, 5e6 } };
	static const double ops[3][2] = { { 10, 20 }, { 30 }, { 5, 40 } };
	static const size_t nops[3] = { 2, 1, 2 };
	struct bench_pool *p = bench_pool_new(3);
	struct bench_record r = { 0 };
	struct emitted e = { 0 };
	char *text;

	cr_assert(p);
	config(&r.cfg, "ref", "reference", "pages", "map", "mock domain");
	r.cfg.ops = 1000;
	r.cfg.repeat_bytes = 4096000;
	r.cfg.repeats = 2;
	r.violations = -1;
	for (unsigned int k = 0; k < 3; k++)
		pool_add(p, &r, k, rep[k], 2, ops[k], nops[k]);
	bench_pool_emit(p, collect_emitted, &e);
	cr_assert_eq(e.n, 1);
	cr_assert_eq(e.r[0].cfg.repeats, 6);
	cr_assert_eq(e.r[0].cfg.rounds, 3);
	expect_six_ms(&e.r[0]);
	/* 5 10 20 30 40: p99 h = 3.96 */
	cr_assert_eq(e.r[0].lat.n, 5);
	expect_near(e.r[0].lat.p50, 20, "p50");
	expect_near(e.r[0].lat.p99, 39.6, "p99");
	cr_assert_eq(e.r[0].lat.max, 40);
	cr_assert_str_eq(e.r[0].note, "", "measured in every round: nothing to say");
	cr_assert_eq(e.r[0].overhead, 0);
	CAPTURE(text, bench_record_json(out, &e.r[0]));
	cr_assert(strstr(text, "\"repeats\":6,\"rounds\":3},\"ops_s\":{"), "%s", text);
	cr_assert(strstr(text, "\"p90\":750000,\"n\":6},\"gb_s\""), "%s", text);
	free(text);
	bench_pool_free(p);
}

/* What a traced figure says, and a figure of some rounds only, among several backends. */
Test(bench_runner, pool_overhead_tracer_counts_and_partial_figures)
{
	static const double off0[] = { 2e6, 4e6 }, off1[] = { 6e6, 8e6 };
	static const double cnt0[] = { 9e6 }, cnt1[] = { 11e6, 13e6 };
	static const double big[] = { 7e9, 8e9 }, op[] = { 100 };
	struct bench_pool *p = bench_pool_new(2);
	struct bench_record off = { 0 }, cnt, chk, region, uapi;
	struct emitted e = { 0 };

	cr_assert(p);
	config(&off.cfg, "ref", "reference", "pages", "map", "mock domain");
	off.violations = -1;
	cnt = off;
	snprintf(cnt.cfg.trace, sizeof(cnt.cfg.trace), "counters");
	chk = off;
	snprintf(chk.cfg.trace, sizeof(chk.cfg.trace), "check");
	region = off;
	snprintf(region.cfg.workload, sizeof(region.cfg.workload), "region");
	region.cfg.op_bytes = 16ull << 30;
	uapi = off;
	snprintf(uapi.cfg.backend, sizeof(uapi.cfg.backend), "ref-uapi");

	/* round 1 */
	snprintf(off.note, sizeof(off.note), "first");
	pool_add(p, &off, 0, off0, 2, op, 1);
	pool_add(p, &region, 0, big, 2, op, 1);
	cnt.events = 100;
	cnt.dropped = 1;
	pool_add(p, &cnt, 0, cnt0, 1, op, 1);
	chk.events = 10;
	chk.violations = 0;
	pool_add(p, &chk, 0, cnt0, 1, op, 1);
	pool_add(p, &uapi, 0, cnt1, 2, op, 1);
	/* round 2: no region (the 16 GiB one is measured in round 1 only) */
	snprintf(off.note, sizeof(off.note), "second");
	pool_add(p, &off, 1, off1, 2, op, 1);
	cnt.events = 200;
	cnt.dropped = 2;
	pool_add(p, &cnt, 1, cnt1, 2, op, 1);
	chk.events = 20;
	chk.violations = 2;
	pool_add(p, &chk, 1, cnt1, 2, op, 1);
	pool_add(p, &uapi, 1, off1, 2, op, 1);

	bench_pool_emit(p, collect_emitted, &e);
	cr_assert_eq(e.n, 5, "one figure per backend, configuration and trace mode");
	/* in the order they first came */
	cr_assert_str_eq(e.r[0].cfg.workload, "pages");
	cr_assert_str_eq(e.r[0].cfg.trace, "off");
	cr_assert_str_eq(e.r[1].cfg.workload, "region");
	cr_assert_str_eq(e.r[2].cfg.trace, "counters");
	cr_assert_str_eq(e.r[3].cfg.trace, "check");
	cr_assert_str_eq(e.r[4].cfg.backend, "ref-uapi");

	/* untraced: 2 4 6 8 ms, the latest round's note */
	expect_summary(&e.r[0].repeat_ns, 4, 5e6, 2e6, 8e6, 2.6e6, 7.4e6);
	cr_assert_eq(e.r[0].cfg.rounds, 2);
	cr_assert_str_eq(e.r[0].note, "second");
	cr_assert_eq(e.r[0].overhead, 0);
	/* the region: one round of two */
	cr_assert_eq(e.r[1].cfg.rounds, 1);
	cr_assert_eq(e.r[1].cfg.repeats, 2);
	cr_assert_str_eq(e.r[1].note, "in 1 of 2 rounds");
	/* counters: 9 11 13 ms over the untraced 5 ms; events and losses of both rounds */
	cr_assert_eq(e.r[2].repeat_ns.median, 11e6);
	cr_assert_eq(e.r[2].overhead, 11e6 / 5e6);
	cr_assert_eq(e.r[2].events, 300);
	cr_assert_eq(e.r[2].dropped, 3);
	cr_assert_eq(e.r[2].violations, -1);
	cr_assert_str_eq(e.r[2].note, "workload traced: 300 events, 3 lost");
	/* check: violations of both rounds */
	cr_assert_eq(e.r[3].overhead, 11e6 / 5e6);
	cr_assert_eq(e.r[3].violations, 2);
	cr_assert_str_eq(e.r[3].note, "workload traced: 30 events, 0 lost, VIOLATIONS");
	/* another backend's figure of the same configuration is its own: 6 8 11 13 ms */
	expect_summary(&e.r[4].repeat_ns, 4, 9.5e6, 6e6, 13e6, 6.6e6, 12.4e6);
	cr_assert_eq(e.r[4].overhead, 0);
	bench_pool_free(p);
}

/* ---- the worker's stream (runner.c) -------------------------------------------------------- */

/* A file holding `len` bytes, read back from its start. */
static int stream_of(const void *bytes, size_t len)
{
	FILE *f = tmpfile();
	int fd;

	cr_assert(f);
	fd = dup(fileno(f));
	fclose(f);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, bytes, len), (ssize_t)len);
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void *pack_figure(uint32_t round, const struct bench_samples *s, size_t *len)
{
	struct bench_wire_figure f = { .nrepeat = s->nrepeat, .nop = s->nop,
				       .seen_op = s->seen_op };
	void *msg;

	config(&f.rec.cfg, "ref-uapi", "reference", "pages", "map", "iommufd fd");
	f.rec.magic = BENCH_RECORD_MAGIC;
	f.rec.size = sizeof(f.rec);
	f.rec.violations = -1;
	snprintf(f.rec.note, sizeof(f.rec.note), "a note");
	msg = bench_wire_pack(BENCH_WIRE_FIGURE, round, &f, sizeof(f), s, len);
	cr_assert(msg);
	return msg;
}

Test(bench_runner, wire_messages_arrive_as_sent)
{
	static const double rep[] = { 3e6, 1e6, 2e6 }, ops[] = { 7, 9 };
	struct bench_skip sk = skip("ref-uapi", "dma", "ref-uapi has no device DMA");
	struct bench_wire_end end = { .status = 1, .figures = 1, .skips = 1, .opened = 1 };
	struct bench_samples s, view;
	struct bench_wire_msg m;
	const struct bench_record *r;
	char why[BENCH_WHY], *all;
	void *msg[3];
	size_t len[3], total = 0;
	int fd;

	round_samples(&s, rep, NELEM(rep), ops, NELEM(ops));
	msg[0] = pack_figure(4, &s, &len[0]);
	msg[1] = bench_wire_pack(BENCH_WIRE_SKIP, 4, &sk, sizeof(sk), NULL, &len[1]);
	msg[2] = bench_wire_pack(BENCH_WIRE_END, 4, &end, sizeof(end), NULL, &len[2]);
	cr_assert(msg[1] && msg[2]);
	cr_assert_eq(len[0], sizeof(struct bench_wire_hdr) + sizeof(struct bench_wire_figure) +
			     5 * sizeof(double));
	all = malloc(len[0] + len[1] + len[2]);
	cr_assert(all);
	for (int i = 0; i < 3; i++) {
		memcpy(all + total, msg[i], len[i]);
		total += len[i];
		free(msg[i]);
	}
	fd = stream_of(all, total);
	free(all);

	cr_assert_eq(bench_wire_recv(fd, 4, &m, why, sizeof(why)), 1, "%s", why);
	cr_assert_eq(m.hdr.type, BENCH_WIRE_FIGURE);
	r = bench_wire_figure(&m, &view);
	cr_assert_str_eq(r->cfg.backend, "ref-uapi");
	cr_assert_str_eq(r->note, "a note");
	cr_assert_eq(view.nrepeat, 3);
	cr_assert_eq(view.nop, 2);
	cr_assert_eq(view.seen_op, 2);
	cr_assert_eq(memcmp(view.repeat_ns, rep, sizeof(rep)), 0);
	cr_assert_eq(view.op_ns[0], 9, "the reservoir as it was: the maximum first");
	cr_assert_eq(view.op_ns[1], 7);
	bench_wire_msg_free(&m);

	cr_assert_eq(bench_wire_recv(fd, 4, &m, why, sizeof(why)), 1, "%s", why);
	cr_assert_eq(m.hdr.type, BENCH_WIRE_SKIP);
	cr_assert_eq(memcmp(m.payload, &sk, sizeof(sk)), 0);
	bench_wire_msg_free(&m);

	cr_assert_eq(bench_wire_recv(fd, 4, &m, why, sizeof(why)), 1, "%s", why);
	cr_assert_eq(m.hdr.type, BENCH_WIRE_END);
	cr_assert_eq(memcmp(m.payload, &end, sizeof(end)), 0);
	bench_wire_msg_free(&m);

	cr_assert_eq(bench_wire_recv(fd, 4, &m, why, sizeof(why)), 0, "the end, between messages");
	cr_assert_null(m.payload);
	close(fd);
	bench_samples_free(&s);
}

/* bytes[0..len) as a stream of round 0: -EBADMSG with why containing `needle`. */
static void expect_damage(const void *bytes, size_t len, const char *needle)
{
	struct bench_wire_msg m;
	char why[BENCH_WHY] = "";
	int fd = stream_of(bytes, len), rc;

	rc = bench_wire_recv(fd, 0, &m, why, sizeof(why));
	close(fd);
	cr_assert_eq(rc, -EBADMSG, "rc %d (%s), expected -EBADMSG for \"%s\"", rc, why, needle);
	cr_assert_null(m.payload);
	cr_assert(strstr(why, needle), "why \"%s\" lacks \"%s\"", why, needle);
}

Test(bench_runner, wire_damage_is_named_never_taken)
{
	static const double rep[] = { 1e6, 2e6, 3e6 }, ops[] = { 5 };
	struct bench_skip sk = skip("ref", "x", "y");
	struct bench_samples s;
	struct bench_wire_hdr h;
	struct bench_wire_figure *f;
	char want[96];
	size_t len;
	char *msg;

	round_samples(&s, rep, NELEM(rep), ops, NELEM(ops));
	msg = pack_figure(0, &s, &len);
	f = (struct bench_wire_figure *)(msg + sizeof(h));

	expect_damage(msg, 5, "the stream ends inside a message header (5 of 16 bytes)");
	snprintf(want, sizeof(want), "the stream ends inside a figure message (%zu of %zu bytes)",
		 len / 2 - sizeof(h), len - sizeof(h));
	expect_damage(msg, len / 2, want);

	memcpy(&h, msg, sizeof(h));
	((struct bench_wire_hdr *)msg)->magic = 0x12345678;
	expect_damage(msg, len, "a message header with magic 0x12345678 (expected 0x49424e32)");
	memcpy(msg, &h, sizeof(h));
	((struct bench_wire_hdr *)msg)->version = 7;
	expect_damage(msg, len, "a message of protocol version 7 (this driver reads 2)");
	memcpy(msg, &h, sizeof(h));
	((struct bench_wire_hdr *)msg)->round = 1;
	expect_damage(msg, len, "a message of round 2 in the stream of round 1");
	memcpy(msg, &h, sizeof(h));
	((struct bench_wire_hdr *)msg)->type = 9;
	expect_damage(msg, len, "a message of unknown type 9");
	memcpy(msg, &h, sizeof(h));
	((struct bench_wire_hdr *)msg)->len = 8;
	snprintf(want, sizeof(want), "a figure message of 8 bytes (expected at least %zu)",
		 sizeof(*f));
	expect_damage(msg, len, want);
	memcpy(msg, &h, sizeof(h));

	f->nrepeat++;           /* one sample more than the message holds */
	snprintf(want, sizeof(want), "a figure of 4 repeats and 1 of 1 operations in %zu bytes",
		 len - sizeof(h));
	expect_damage(msg, len, want);
	f->nrepeat--;
	f->seen_op = 0;         /* operations kept, none seen */
	expect_damage(msg, len, "a figure of 3 repeats and 1 of 0 operations");
	f->seen_op = 1;
	f->rec.magic = BENCH_SKIP_MAGIC;
	expect_damage(msg, len, "a figure whose record has magic 0x49424e53");
	free(msg);

	sk.size = 3;
	msg = bench_wire_pack(BENCH_WIRE_SKIP, 0, &sk, sizeof(sk), NULL, &len);
	cr_assert(msg);
	expect_damage(msg, len, "a skip with magic 0x49424e53 and size 3");
	((struct bench_wire_hdr *)msg)->len = 10;
	snprintf(want, sizeof(want), "a skip message of 10 bytes (expected %zu)", sizeof(sk));
	expect_damage(msg, len, want);
	free(msg);
	bench_samples_free(&s);
}
