/* stats.c — samples of one benchmark phase, and what a record says about them.
 *
 * Owns struct bench_samples: per-repeat durations (a growable array; a repeat is rare) and
 * per-operation latencies (a fixed array of at most BENCH_OP_SAMPLES, allocated once by
 * bench_samples_init so that bench_samples_add_op, which runs between timed operations, never
 * allocates and costs O(1)). One writer: a samples struct is not locked.
 *
 * The operation reservoir. Every latency is counted (seen_op). Slot 0 always holds the largest
 * latency seen, so the reported maximum is the true one however many operations ran; slots
 * 1..cap_op-1 hold a uniform sample (Vitter's algorithm R) of every other operation: an arriving
 * latency larger than slot 0 takes slot 0 and the one it displaces goes through the reservoir
 * step in its place. Until cap_op operations have been seen every one is kept, so the
 * percentiles are exact; beyond, they are those of the sample plus the maximum (one forced
 * value among a million moves p99 by nothing a reader can see). The random index comes from a
 * xorshift64 generator (rng, seeded with a constant: a run is reproducible) scaled to the range
 * by a 64x64→128 multiplication rather than a division. lat.n is seen_op: every operation.
 * cap_op may be lowered after init (a smaller reservoir in the same array; the tests do).
 *
 * Percentile rule, for every percentile here (p10, p50/median, p90, p99): linear interpolation
 * between closest ranks over the values sorted ascending (Hyndman & Fan type 7, as numpy's and
 * spreadsheets' default): for n values v[0..n-1] and a fraction p, h = (n-1)·p and the
 * percentile is v[⌊h⌋] + (h-⌊h⌋)·(v[⌊h⌋+1] - v[⌊h⌋]). So p=0 is the minimum, p=1 the maximum,
 * and the median of an even count is the mean of the two middle values. h is computed from p in
 * thousandths with integer arithmetic, so that it is exact (30 × 0.1 is not 3 in binary).
 * NaN sorts above every number (a total order for qsort); it shows where it falls.
 *
 * Rates (bench_record_fill) are summarised from the per-repeat rates, not derived from the
 * summary of durations: a repeat of t ns gives ops × 1e9 / t operations per second and
 * repeat_bytes / t GB/s (bytes per ns is 1e9 bytes per second). The rates of the repeats sorted
 * ascending are the durations sorted descending, so both are read off the sorted durations
 * without a copy; the median rate of an even count is still the mean of the two middle rates
 * (it is 1 / the median duration only for an odd count). A duration of 0 gives an infinite
 * rate (null in JSON); with no ops, or no bytes, the rate's summary is all zero, n = 0.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "benchkit/bench.h"

#define RNG_SEED 0x9e3779b97f4a7c15ull         /* any non-zero state; fixed: reproducible */

/* Percentiles in thousandths. */
#define PM_P10 100
#define PM_P50 500
#define PM_P90 900
#define PM_P99 990

int bench_samples_init(struct bench_samples *s, uint64_t repeats)
{
	memset(s, 0, sizeof(*s));
	s->cap_repeat = repeats ? repeats : 1;
	s->repeat_ns = calloc(s->cap_repeat, sizeof(*s->repeat_ns));
	if (!s->repeat_ns)
		goto err_repeat;
	s->cap_op = BENCH_OP_SAMPLES;
	/* Not touched here: the pages are faulted in as operations fill them, so a phase of a
	 * few operations costs a few pages. */
	s->op_ns = malloc(s->cap_op * sizeof(*s->op_ns));
	if (!s->op_ns)
		goto err_op;
	s->rng = RNG_SEED;
	return 0;

err_op:
	free(s->repeat_ns);
err_repeat:
	memset(s, 0, sizeof(*s));
	return -ENOMEM;
}

void bench_samples_free(struct bench_samples *s)
{
	if (!s)
		return;
	free(s->repeat_ns);
	free(s->op_ns);
	memset(s, 0, sizeof(*s));
}

/* More repeats than announced grow the array; if that fails the repeat is left out, and the
 * summary's n says how many were kept. */
void bench_samples_add_repeat(struct bench_samples *s, double ns)
{
	if (s->nrepeat == s->cap_repeat) {
		uint64_t cap = s->cap_repeat ? s->cap_repeat * 2 : 1;
		double *v = realloc(s->repeat_ns, cap * sizeof(*v));

		if (!v)
			return;
		s->repeat_ns = v;
		s->cap_repeat = cap;
	}
	s->repeat_ns[s->nrepeat++] = ns;
}

static inline uint64_t rng_next(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/* Uniform in [0, bound) (bias at most bound / 2^64). */
static inline uint64_t rng_below(uint64_t *state, uint64_t bound)
{
	return (uint64_t)(((unsigned __int128)rng_next(state) * bound) >> 64);
}

void bench_samples_add_op(struct bench_samples *s, double ns)
{
	uint64_t fed;   /* values the reservoir (slots 1..) has been offered, this one included */

	if (!s->cap_op)
		return;
	s->seen_op++;
	if (s->seen_op == 1) {
		s->op_ns[0] = ns;
		s->nop = 1;
		return;
	}
	if (ns > s->op_ns[0]) {         /* a new maximum: it stays; the old one is offered */
		double old = s->op_ns[0];

		s->op_ns[0] = ns;
		ns = old;
	}
	fed = s->seen_op - 1;
	if (s->nop < s->cap_op) {
		s->op_ns[s->nop++] = ns;
		return;
	}
	/* Algorithm R over cap_op - 1 slots: keep the fed-th value with probability
	 * (cap_op - 1) / fed, in place of a uniformly chosen one. */
	{
		uint64_t j = rng_below(&s->rng, fed);

		if (j < s->cap_op - 1)
			s->op_ns[1 + j] = ns;
	}
}

/* ---- summaries ----------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	if (isnan(x) || isnan(y))
		return !!isnan(x) - !!isnan(y);
	return (x > y) - (x < y);
}

/* The values sorted ascending, seen either as they are (scale 0) or as scale / value read from
 * the top down: the ascending order of the rates of durations sorted ascending. */
struct sorted_view {
	const double *v;
	uint64_t n;
	double scale;
};

static double view_at(const struct sorted_view *sv, uint64_t i)
{
	if (!sv->scale)
		return sv->v[i];
	return sv->scale / sv->v[sv->n - 1 - i];
}

/* The percentile rule of the design note; n > 0. */
static double view_percentile(const struct sorted_view *sv, unsigned int permille)
{
	uint64_t h = (sv->n - 1) * permille;
	uint64_t lo = h / 1000;
	double frac = (double)(h % 1000) / 1000.0;
	double a = view_at(sv, lo), b;

	if (!frac)
		return a;
	b = view_at(sv, lo + 1);
	if (a == b)     /* two infinities are not NaN apart */
		return a;
	return a + frac * (b - a);
}

static void view_summarize(const struct sorted_view *sv, struct bench_summary *out)
{
	memset(out, 0, sizeof(*out));
	if (!sv->n)
		return;
	out->n = sv->n;
	out->min = view_at(sv, 0);
	out->max = view_at(sv, sv->n - 1);
	out->median = view_percentile(sv, PM_P50);
	out->p10 = view_percentile(sv, PM_P10);
	out->p90 = view_percentile(sv, PM_P90);
}

void bench_summarize(double *v, uint64_t n, struct bench_summary *out)
{
	struct sorted_view sv = { .v = v, .n = n };

	if (n)
		qsort(v, n, sizeof(*v), cmp_double);
	view_summarize(&sv, out);
}

void bench_samples_summary(struct bench_samples *s, struct bench_summary *repeats,
			   struct bench_latency *lat)
{
	if (repeats)
		bench_summarize(s->repeat_ns, s->nrepeat, repeats);
	if (!lat)
		return;
	memset(lat, 0, sizeof(*lat));
	if (!s->nop)
		return;
	{
		struct sorted_view sv = { .v = s->op_ns, .n = s->nop };

		qsort(s->op_ns, s->nop, sizeof(*s->op_ns), cmp_double);
		lat->n = s->seen_op;
		lat->p50 = view_percentile(&sv, PM_P50);
		lat->p99 = view_percentile(&sv, PM_P99);
		lat->max = s->op_ns[s->nop - 1];
		/* Back to the reservoir's invariant (the maximum in slot 0), so that sampling can
		 * go on after a summary. */
		s->op_ns[s->nop - 1] = s->op_ns[0];
		s->op_ns[0] = lat->max;
	}
}

/* Per-repeat rates scale / duration, summarised; a zero summary when nothing is counted. */
static void rate_summary(const double *sorted_ns, uint64_t n, double scale,
			 struct bench_summary *out)
{
	struct sorted_view sv = { .v = sorted_ns, .n = scale ? n : 0, .scale = scale };

	view_summarize(&sv, out);
}

void bench_record_fill(struct bench_record *r, struct bench_samples *s)
{
	bench_samples_summary(s, &r->repeat_ns, &r->lat);
	/* repeat_ns is sorted now. */
	rate_summary(s->repeat_ns, s->nrepeat, (double)r->cfg.ops * 1e9, &r->ops_s);
	rate_summary(s->repeat_ns, s->nrepeat, (double)r->cfg.repeat_bytes, &r->gb_s);
}
