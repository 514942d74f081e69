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
 * Pooling rounds (bench_samples_merge; the driver pools each figure's rounds with it). Repeats
 * are appended. Operations: while both sides hold every operation they saw and the sum fits
 * cap_op, the values are concatenated, so the percentiles stay exact. Otherwise the result
 * is a reservoir again: the larger maximum in slot 0, the smaller one kept as a sample value
 * (a forced value per merge: a round's worth among up to a million), and the other slots a
 * uniform sample of both sides' samples, each value of either side kept with the same
 * probability f: f·seen values are drawn (Knuth's selection sampling, from the same seeded
 * generator) from a side that saw `seen`, f as large as cap_op and both sides' samples allow.
 * A merged array is allocated to what it holds (alloc_op). bench_samples_add_op works on merged
 * and empty samples too: it appends while every value so far is kept (growing their array;
 * never one of bench_samples_init, which is whole from the start, so that timed code does not
 * allocate), else Algorithm R over the nop - 1 slots there are.
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
	s->alloc_op = s->cap_op;
	s->rng = RNG_SEED;
	return 0;

err_op:
	free(s->repeat_ns);
err_repeat:
	memset(s, 0, sizeof(*s));
	return -ENOMEM;
}

void bench_samples_init_empty(struct bench_samples *s)
{
	memset(s, 0, sizeof(*s));
	s->cap_op = BENCH_OP_SAMPLES;
	s->rng = RNG_SEED;
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

/* A merged (or empty) array full of kept values: room for more, up to cap_op. */
static int ops_grow(struct bench_samples *s)
{
	uint64_t cap = s->alloc_op ? 2 * s->alloc_op : 64;
	double *v;

	cap = cap < s->cap_op ? cap : s->cap_op;
	v = realloc(s->op_ns, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->op_ns = v;
	s->alloc_op = cap;
	return 0;
}

void bench_samples_add_op(struct bench_samples *s, double ns)
{
	uint64_t fed;   /* values the reservoir (slots 1..) has been offered, this one included */

	if (!s->cap_op || (!s->alloc_op && ops_grow(s)))
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
	if (s->nop == fed && s->nop < s->cap_op &&     /* every value so far is kept */
	    (s->nop < s->alloc_op || !ops_grow(s))) {
		s->op_ns[s->nop++] = ns;
		return;
	}
	/* Algorithm R over the nop - 1 slots: keep the fed-th value with probability
	 * (nop - 1) / fed, in place of a uniformly chosen one. */
	{
		uint64_t j = rng_below(&s->rng, fed);

		if (j < s->nop - 1)
			s->op_ns[1 + j] = ns;
	}
}

/* ---- pooling ------------------------------------------------------------------------------- */

static int repeats_append(struct bench_samples *d, const double *v, uint64_t n)
{
	if (!n)
		return 0;
	if (d->nrepeat + n > d->cap_repeat) {
		double *nv = realloc(d->repeat_ns, (d->nrepeat + n) * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		d->repeat_ns = nv;
		d->cap_repeat = d->nrepeat + n;
	}
	memcpy(d->repeat_ns + d->nrepeat, v, n * sizeof(*v));
	d->nrepeat += n;
	return 0;
}

/* Knuth's selection sampling: `take` of v[0..n) chosen uniformly, in order, into out. */
static uint64_t select_into(double *out, const double *v, uint64_t n, uint64_t take,
			    uint64_t *rng)
{
	uint64_t got = 0;

	for (uint64_t i = 0; i < n && got < take; i++)
		if (rng_below(rng, n - i) < take - got)
			out[got++] = v[i];
	return got;
}

/* Both sides hold every value they saw and the sum fits: concatenate. */
static int ops_concat(struct bench_samples *d, const struct bench_samples *s)
{
	uint64_t need = d->nop + s->nop;

	if (need > d->alloc_op) {
		double *nv = realloc(d->op_ns, need * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		d->op_ns = nv;
		d->alloc_op = need;
	}
	memcpy(d->op_ns + d->nop, s->op_ns, s->nop * sizeof(*s->op_ns));
	if (d->nop && d->op_ns[d->nop] > d->op_ns[0]) {        /* src's maximum to slot 0 */
		double t = d->op_ns[0];

		d->op_ns[0] = d->op_ns[d->nop];
		d->op_ns[d->nop] = t;
	}
	d->nop = need;
	d->seen_op += s->seen_op;
	return 0;
}

/* A reservoir of both (design note). */
static int ops_sample(struct bench_samples *d, const struct bench_samples *s)
{
	bool both = d->seen_op > 0;
	uint64_t pa = both ? d->seen_op - 1 : 0, pb = s->seen_op - 1;
	uint64_t ka = both ? d->nop - 1 : 0, kb = s->nop - 1;
	uint64_t fixed = both ? 2 : 1, room = d->cap_op > fixed ? d->cap_op - fixed : 0;
	uint64_t ta, tb, n;
	double f = pa + pb ? (double)room / (double)(pa + pb) : 1, *v;

	if (pa && (double)ka / (double)pa < f)
		f = (double)ka / (double)pa;
	if (pb && (double)kb / (double)pb < f)
		f = (double)kb / (double)pb;
	ta = (uint64_t)llround(f * (double)pa);
	tb = (uint64_t)llround(f * (double)pb);
	ta = ta < ka ? ta : ka;
	tb = tb < kb ? tb : kb;
	while (ta + tb > room)          /* both rounded up: one over at most */
		*(ta > tb ? &ta : &tb) -= 1;
	n = fixed + ta + tb;
	if (n > d->cap_op)              /* a reservoir of one: the maximum alone */
		n = d->cap_op;
	v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (both && d->op_ns[0] >= s->op_ns[0]) {
		v[0] = d->op_ns[0];
		if (n > 1)
			v[1] = s->op_ns[0];
	} else {
		v[0] = s->op_ns[0];
		if (both && n > 1)
			v[1] = d->op_ns[0];
	}
	if (n > fixed) {
		n = fixed;
		if (both)
			n += select_into(v + n, d->op_ns + 1, ka, ta, &d->rng);
		n += select_into(v + n, s->op_ns + 1, kb, tb, &d->rng);
	}
	free(d->op_ns);
	d->op_ns = v;
	d->nop = n;
	d->alloc_op = n;
	d->seen_op += s->seen_op;
	return 0;
}

int bench_samples_merge(struct bench_samples *dst, const struct bench_samples *src)
{
	uint64_t nrepeat = dst->nrepeat;
	int rc;

	rc = repeats_append(dst, src->repeat_ns, src->nrepeat);
	if (rc || !src->nop || !dst->cap_op)    /* no operations, or no reservoir to keep them */
		return rc;
	if (dst->nop == dst->seen_op && src->nop == src->seen_op &&
	    dst->nop + src->nop <= dst->cap_op)
		rc = ops_concat(dst, src);
	else
		rc = ops_sample(dst, src);
	if (rc)
		dst->nrepeat = nrepeat;
	return rc;
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
