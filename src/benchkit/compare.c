/* compare.c — do two runs agree? `ioasid-bench --compare OLD.jsonl NEW.jsonl`.
 *
 * Reads the JSON Lines ioasid-bench writes (this file parses only that format: the keys of
 * output.c, in any order, one object per line), pairs the figures of the two runs by their
 * configuration (backend, workload, phase, pattern, invalidation, trace, page and leaf size,
 * bytes and operations per call, threads), and calls a pair in agreement when one run's
 * median ops/s lies within the other's [min, max] over the repeats (either way round: the new
 * median inside the old spread, or the old inside the new). A pair that does not agree is
 * listed with both medians and their ratio, marked "spreads apart" when the two [min, max]
 * do not even overlap (the figure moved beyond what either run sampled); figures found in one
 * run only are counted, not judged. Lines that are not records (skips, damage) are skipped and
 * counted; a line that cannot be read is named by file and line number.
 *
 * The host's probes (workload machine, machine.c: system call, 64-byte cross-process copy,
 * page fault, memory chase, timed in each worker as it starts) are paired the same way but are
 * not figures of an IOMMU: they are neither counted nor listed with the figures, and do not
 * set the exit status. One line per backend gives each probe's ratio between the runs, so that
 * a figure which moved can be set beside a host which moved with it.
 *
 * Calibration lines ({"type":"calibration","ns":...}, one per round: how long a fixed CPU loop
 * took as the round began) say how fast the machine was. When both runs carry them, the summary
 * gives each run's median and their ratio, so that a disagreement on every figure at once can
 * be told from the machine's own drift. The figures are compared as measured, never rescaled:
 * a CPU loop's speed is not a map call's (memory, caches and the host weigh differently).
 */
#include "benchkit/workload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct figure {
	char key[320];
	char backend[16], phase[16];    /* for the host's probes' lines */
	unsigned int threads;
	double median, min, max;
	bool used, machine;             /* machine: the `machine` workload, the host's probes */
	const struct figure *old;       /* a figure of the new run: its pair in the old one */
};

struct run {
	struct figure *v;
	size_t n, cap;
	size_t bad;                     /* lines that were neither a record nor a skip */
	double *cal;                    /* the calibration of each round, ns */
	size_t ncal, cap_cal;
};

/* The text value of "name":"..." inside obj (no escapes in the fields compared); "" if none. */
static void str_field(const char *obj, const char *name, char *out, size_t len)
{
	char pat[48];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\":\"", name);
	out[0] = '\0';
	p = strstr(obj, pat);
	if (!p)
		return;
	p += strlen(pat);
	e = strchr(p, '"');
	if (e && (size_t)(e - p) < len) {
		memcpy(out, p, (size_t)(e - p));
		out[e - p] = '\0';
	}
}

/* The number of "name":N after `from` (the first match); NaN if none or null. */
static double num_field(const char *from, const char *name)
{
	char pat[48];
	const char *p;
	char *end;
	double v;

	snprintf(pat, sizeof(pat), "\"%s\":", name);
	p = strstr(from, pat);
	if (!p)
		return __builtin_nan("");
	p += strlen(pat);
	v = strtod(p, &end);
	return end == p ? __builtin_nan("") : v;
}

static int parse_line(const char *line, struct figure *f)
{
	static const char *const strs[] = { "backend", "workload", "phase", "pattern", "inval",
					    "trace" };
	static const char *const nums[] = { "page_size", "leaf_max", "op_bytes", "ops",
					    "threads" };
	const char *cfg = strstr(line, "\"config\":{"), *ops = strstr(line, "\"ops_s\":{");
	size_t used = 0;

	if (!cfg || !ops)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		char v[64];

		str_field(cfg, strs[i], v, sizeof(v));
		if (!strcmp(strs[i], "backend"))
			snprintf(f->backend, sizeof(f->backend), "%s", v);
		else if (!strcmp(strs[i], "phase"))
			snprintf(f->phase, sizeof(f->phase), "%s", v);
		else if (!strcmp(strs[i], "workload"))
			f->machine = !strcmp(v, "machine");
		used += (size_t)snprintf(f->key + used, sizeof(f->key) - used, "%s%s",
					 i ? " " : "", v);
	}
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		double v = num_field(cfg, nums[i]);

		if (!strcmp(nums[i], "threads"))
			f->threads = v >= 1 ? (unsigned int)v : 1;
		used += (size_t)snprintf(f->key + used, sizeof(f->key) - used, " %s=%.0f",
					 nums[i], v);
	}
	f->median = num_field(ops, "median");
	f->min = num_field(ops, "min");
	f->max = num_field(ops, "max");
	f->used = false;
	f->old = NULL;
	if (!(f->median > 0) || !(f->min > 0) || !(f->max >= f->min))
		return -ERANGE;
	return 0;
}

/* Room for one more element of `size` bytes in *v (n used, *cap allocated); -ENOMEM if none. */
static int grow(void **v, size_t n, size_t *cap, size_t size)
{
	size_t nc;
	void *nv;

	if (n < *cap)
		return 0;
	nc = *cap ? 2 * *cap : 64;
	nv = realloc(*v, nc * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = nc;
	return 0;
}

/* A calibration line's ns into r; -EINVAL when it has none that is positive. */
static int add_calibration(const char *line, struct run *r)
{
	double ns = num_field(line, "ns");

	if (!(ns > 0))
		return -EINVAL;
	if (grow((void **)&r->cal, r->ncal, &r->cap_cal, sizeof(*r->cal)))
		return -ENOMEM;
	r->cal[r->ncal++] = ns;
	return 0;
}

static int load(const char *path, struct run *r, FILE *out)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;

	if (!f) {
		fprintf(out, "ioasid-bench: --compare %s: %s: give a file written by "
			"ioasid-bench --json\n", path, strerror(errno));
		return -errno;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		struct figure fig;

		lineno++;
		if (strstr(line, "\"skipped\":true"))
			continue;
		if (strstr(line, "\"type\":\"calibration\"")) {
			int rc = add_calibration(line, r);

			if (rc == -ENOMEM)
				goto err_nomem;
			if (rc && r->bad++ < 3)
				fprintf(out, "ioasid-bench: %s line %zu: a calibration line "
					"without a positive ns: ignored\n", path, lineno);
			continue;
		}
		if (parse_line(line, &fig)) {
			if (r->bad++ < 3)
				fprintf(out, "ioasid-bench: %s line %zu: not an ioasid-bench "
					"record (or a figure without ops/s): ignored\n", path,
					lineno);
			continue;
		}
		if (grow((void **)&r->v, r->n, &r->cap, sizeof(*r->v)))
			goto err_nomem;
		r->v[r->n++] = fig;
	}
	free(line);
	fclose(f);
	return 0;

err_nomem:
	fprintf(out, "ioasid-bench: --compare %s: out of memory at line %zu: free memory and "
		"rerun\n", path, lineno);
	free(line);
	fclose(f);
	return -ENOMEM;
}

/* Median of a run's calibrations (the stats of every figure: bench_summarize), and max/min. */
static double calibration_median(struct run *r, double *max_min)
{
	struct bench_summary s;

	bench_summarize(r->cal, r->ncal, &s);
	*max_min = s.max / s.min;
	return s.median;
}

static void print_calibration(struct run *a, struct run *b, const char *old_path,
			      const char *new_path, FILE *out)
{
	double ma, mb, ra, rb;

	if (!a->ncal || !b->ncal) {
		if (a->ncal || b->ncal)
			fprintf(out, "calibration: only %s has calibration lines (the other run "
				"is older than them): the machine's speed between the runs is "
				"not known\n", a->ncal ? old_path : new_path);
		return;
	}
	ma = calibration_median(a, &ra);
	mb = calibration_median(b, &rb);
	fprintf(out, "calibration (a fixed CPU loop, median of each run's rounds): %.3f ms in %s "
		"(max/min x%.3f over %zu rounds), %.3f ms in %s (x%.3f over %zu): the second "
		"took x%.3f the first's time; figures are compared as measured, not rescaled\n",
		ma / 1e6, old_path, ra, a->ncal, mb / 1e6, new_path, rb, b->ncal, mb / ma);
}

static bool agree(const struct figure *a, const struct figure *b)
{
	return (b->median >= a->min && b->median <= a->max) ||
	       (a->median >= b->min && a->median <= b->max);
}

/* Do the two spreads not even touch? Then the figure moved, beyond what either run sampled. */
static bool apart(const struct figure *a, const struct figure *b)
{
	return a->max < b->min || b->max < a->min;
}

/* The host's probes (workload machine) paired in the new run, one line per backend: the
 * second run's median over the first's, "outside" where neither median lies in the other's
 * spread. Figures of one backend are consecutive in a run. */
static void print_machine(const struct run *b, FILE *out)
{
	const char *backend = NULL;

	for (size_t i = 0; i < b->n; i++) {
		const struct figure *n = &b->v[i], *o = n->old;

		if (!n->machine || !o)
			continue;
		if (!backend)
			fprintf(out, "the host as each worker started (workload machine, no IOMMU "
				"code), the second run's median over the first's (\"outside\": "
				"neither median within the other's spread):\n");
		if (!backend || strcmp(backend, n->backend))
			fprintf(out, "%s  %s:", backend ? "\n" : "", n->backend);
		else
			fputc(',', out);
		backend = n->backend;
		fprintf(out, " %s", n->phase);
		if (n->threads > 1)
			fprintf(out, " on %u threads", n->threads);
		fprintf(out, " x%.3f%s", n->median / o->median, agree(o, n) ? "" : " (outside)");
	}
	if (backend)
		fputc('\n', out);
}

int bench_compare_files(const char *old_path, const char *new_path, FILE *out)
{
	struct run a = { 0 }, b = { 0 };
	size_t pairs = 0, differ = 0, far = 0, only_old = 0, only_new = 0;
	int rc;

	if ((rc = load(old_path, &a, out)) || (rc = load(new_path, &b, out)))
		goto done;
	for (size_t i = 0; i < b.n; i++) {
		struct figure *nb = &b.v[i], *oa = NULL;

		for (size_t j = 0; j < a.n && !oa; j++)
			if (!a.v[j].used && !strcmp(a.v[j].key, nb->key))
				oa = &a.v[j];
		if (!oa) {
			only_new += !nb->machine;
			continue;
		}
		oa->used = nb->used = true;
		nb->old = oa;
		if (nb->machine)                /* the host, not a figure of an IOMMU */
			continue;
		pairs++;
		if (agree(oa, nb))
			continue;
		if (!differ++)
			fprintf(out, "figures outside each other's spread "
				"(ops/s median [min-max]):\n");
		far += apart(oa, nb);
		fprintf(out, "  %s: %.4g [%.4g-%.4g] then %.4g [%.4g-%.4g], x%.3f%s\n", nb->key,
			oa->median, oa->min, oa->max, nb->median, nb->min, nb->max,
			nb->median / oa->median, apart(oa, nb) ? " (spreads apart)" : "");
	}
	for (size_t j = 0; j < a.n; j++)
		only_old += !a.v[j].used && !a.v[j].machine;
	fprintf(out, "compare: %zu figures in both runs, %zu agree within the reported spread, "
		"%zu do not (%zu of them with spreads apart); %zu only in %s, %zu only in %s\n",
		pairs, pairs - differ, differ, far, only_old, old_path, only_new, new_path);
	print_machine(&b, out);
	print_calibration(&a, &b, old_path, new_path, out);
	rc = pairs ? (int)differ : -ENODATA;
	if (!pairs)
		fprintf(out, "ioasid-bench: --compare: no figure of %s has the configuration of "
			"one in %s: compare runs of the same workloads\n", new_path, old_path);
done:
	free(a.v);
	free(b.v);
	free(a.cal);
	free(b.cal);
	return rc;
}
