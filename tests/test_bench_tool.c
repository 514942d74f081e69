/* test_bench_tool.c — ioasid-bench end to end (suite bench_tool): the operator's view.
 *
 * Runs the built tool as a child, always with --quick (3 repeats, small sizes), and reads
 * its JSON Lines back:
 *  - --list names every backend (with why it is unusable here) and every workload;
 *  - the three reference backends measure the same figure: 4 MiB in 4 KiB calls, 3 repeats,
 *    the rates exactly ops (or bytes) over the median repeat, latency counted per call;
 *  - the kernel backends are skipped with the missing node named (or measured where it exists);
 *  - every workload runs on ref, and its notes say what it measured: the IOTLB hit rate of
 *    the hit and miss passes, invalidations per unmap strict and deferred, a VMM's phases, one
 *    record per thread count; what a backend cannot do is reported skipped with a reason;
 *  - tracing (BPF, uprobes): counters and check figures with their overhead exactly the traced
 *    median time over the untraced one (no bound on it: the box is shared), events seen, none
 *    lost, no violation;
 *  - --anchors: the Markdown table carries this run's figures beside the published ones;
 *  - usage errors and a --json path that cannot be written: exit 2 naming the value;
 *  - --min-time: more repeats of a figure whose repeats are microseconds, each counted;
 *  - rounds (-R): round 1 of every backend before round 2 of any (the -v start lines), each
 *    figure pooled over every repeat of every round, a calibration line per round;
 *  - a worker killed in round 2, or whose stream is cut short or damaged there (the
 *    IOASID_BENCH_FAULT hook): that backend's round 2 reported lost by backend and round, the
 *    other rounds and backends pooled, exit status 1;
 *  - the machine workload: the host's four probes, first, timed per repeat only;
 *  - --compare: agreement counted, the two runs' calibrations set side by side, the host's
 *    probes paired apart from the figures.
 * Needs BPF for the trace test only (bpf_test.h rules: never skipped under CI=true). */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#define RUN_TIMEOUT_S 120
#include "run_child.h"
#include "bpf_test.h"

static char bench_bin[PATH_MAX];

static void locate(void)
{
	run_locate("../bin/ioasid-bench", "../../bin/ioasid-bench", bench_bin);
}

TestSuite(bench_tool, .init = locate, .timeout = 200);

static char *tmp_path(const char *what)
{
	return run_tmp_path("bench", what);
}

static char *slurp(const char *path)
{
	char *text = run_slurp(path);

	cr_assert_not_null(text, "%s: %s", path, strerror(errno));
	return text;
}

/* ---- the JSON Lines of a run ----------------------------------------------------------------- */

/* Every line of the file: each a figure ({"config":{...},...}) or a skip ({"skipped":true,...})
 * in line[], or a round's calibration ({"type":"calibration",...}) in cal[]. */
struct jsonl {
	char *text;
	const char **line;
	size_t n;
	const char **cal;
	size_t ncal;
};

static void lines_add(const char ***v, size_t *n, const char *line)
{
	*v = realloc(*v, (*n + 1) * sizeof(**v));
	cr_assert_not_null(*v);
	(*v)[(*n)++] = line;
}

static void jsonl_read(struct jsonl *j, const char *path)
{
	static const char cal_start[] = "{\"type\":\"calibration\",";
	char *p;

	j->text = slurp(path);
	j->line = j->cal = NULL;
	j->n = j->ncal = 0;
	for (p = j->text; *p;) {
		char *nl = strchr(p, '\n');

		cr_assert_not_null(nl, "%s: its last line is not terminated: %s", path, p);
		*nl = '\0';
		if (!strncmp(p, cal_start, strlen(cal_start)))
			lines_add(&j->cal, &j->ncal, p);
		else
			lines_add(&j->line, &j->n, p);
		p = nl + 1;
	}
}

static void jsonl_free(struct jsonl *j)
{
	free(j->text);
	free(j->line);
	free(j->cal);
}

/* Where the value of `path` starts in one JSON line: "key" at the top level, "obj.key" inside
 * the nested object obj (the records nest one level). Strings are skipped whole, so a key's
 * name inside a value is not a key. NULL when absent. */
static const char *json_value(const char *line, const char *path)
{
	const char *dot = strchr(path, '.'), *inner = dot ? dot + 1 : NULL;
	size_t outer_len = dot ? (size_t)(dot - path) : strlen(path);
	bool inside = false;            /* in the nested object named by the path's first part */
	int depth = 0;

	for (const char *p = line; *p; p++) {
		const char *key, *end, *want;
		size_t want_len;

		if (*p == '{') {
			depth++;
			continue;
		}
		if (*p == '}') {
			if (--depth < 2)
				inside = false;
			continue;
		}
		if (*p != '"')
			continue;
		key = p + 1;
		for (end = key; *end && *end != '"'; end += (*end == '\\' && end[1]) ? 2 : 1)
			;
		if (!*end)
			return NULL;
		p = end;
		if (end[1] != ':')
			continue;           /* a value, not a key */
		if (depth == 1) {
			want = path;
			want_len = outer_len;
		} else if (depth == 2 && inside) {
			want = inner;
			want_len = strlen(inner);
		} else {
			continue;
		}
		if ((size_t)(end - key) != want_len || strncmp(key, want, want_len))
			continue;
		if (depth == 1 && inner) {
			inside = true;
			continue;
		}
		return end + 2;
	}
	return NULL;
}

static double jnum(const char *line, const char *path)
{
	const char *v = json_value(line, path);
	char *end;
	double d;

	cr_assert_not_null(v, "no %s in %s", path, line);
	d = strtod(v, &end);
	cr_assert(end > v && (*end == ',' || *end == '}'), "%s is not a number in %s", path, line);
	return d;
}

/* A string value (none of the values these tests read has an escape), in one of four
 * rotating buffers. */
static const char *jstr(const char *line, const char *path)
{
	static char bufs[4][1024];
	static int next;
	char *b = bufs[next++ % 4];
	const char *v = json_value(line, path), *end;

	cr_assert_not_null(v, "no %s in %s", path, line);
	cr_assert_eq(*v, '"', "%s is not a string in %s", path, line);
	end = strchr(v + 1, '"');
	cr_assert_not_null(end);
	snprintf(b, sizeof(bufs[0]), "%.*s", (int)(end - v - 1), v + 1);
	return b;
}

static bool is_skip(const char *line)
{
	const char *v = json_value(line, "skipped");

	return v && !strncmp(v, "true", 4);
}

/* Does the value at `path` read `want`? Strings compare unquoted, numbers as written. */
static bool value_is(const char *line, const char *path, const char *want)
{
	const char *v = json_value(line, path);
	size_t n;

	if (!v)
		return false;
	if (*v == '"') {
		n = strlen(want);
		return !strncmp(v + 1, want, n) && v[1 + n] == '"';
	}
	n = strcspn(v, ",}");
	return n == strlen(want) && !strncmp(v, want, n);
}

#define WHERE(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* Does the line satisfy every "path=value" of `where`? */
static bool line_matches(const char *line, const char *const *where)
{
	for (; *where; where++) {
		char path[64];
		const char *eq = strchr(*where, '=');

		snprintf(path, sizeof(path), "%.*s", (int)(eq - *where), *where);
		if (!value_is(line, path, eq + 1))
			return false;
	}
	return true;
}

/* The figures (skip lines aside) matching `where`, into out[max]; their count. */
static size_t figures(const struct jsonl *j, const char *const *where, const char **out,
		      size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < j->n; i++) {
		if (is_skip(j->line[i]) || !line_matches(j->line[i], where))
			continue;
		if (n < max)
			out[n] = j->line[i];
		n++;
	}
	return n;
}

static const char *where_text(const char *const *where)
{
	static char text[512];
	size_t used = 0;

	text[0] = '\0';
	for (; *where && used < sizeof(text); where++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s ", *where);
	return text;
}

/* The one figure matching `where` (fails when there is none, or more). */
static const char *the_figure(const struct jsonl *j, const char *const *where)
{
	const char *found = NULL;
	size_t n = figures(j, where, &found, 1);

	cr_assert_eq(n, 1, "%zu figures with %s(want exactly 1); the file:\n%s", n,
		     where_text(where), j->text);
	return found;
}

static size_t count_skips(const struct jsonl *j, const char *backend)
{
	size_t n = 0;

	for (size_t i = 0; i < j->n; i++)
		if (is_skip(j->line[i]) && (!backend || value_is(j->line[i], "backend", backend)))
			n++;
	return n;
}

/* The skip line of backend/workload ("*": the whole backend). */
static const char *the_skip(const struct jsonl *j, const char *backend, const char *workload)
{
	const char *found = NULL;
	size_t n = 0;

	for (size_t i = 0; i < j->n; i++)
		if (is_skip(j->line[i]) && value_is(j->line[i], "backend", backend) &&
		    value_is(j->line[i], "workload", workload)) {
			found = j->line[i];
			n++;
		}
	cr_assert_eq(n, 1, "%zu skip lines for %s %s (want exactly 1); the file:\n%s", n, backend,
		     workload, j->text);
	cr_assert_gt(strlen(jstr(found, "why")), 0, "a skip without a reason: %s", found);
	return found;
}

/* What holds of every figure: ordered summaries, a positive rate, the run's repeats. */
static void assert_figure_sane(const char *rec, unsigned int repeats)
{
	cr_assert_eq(jnum(rec, "config.repeats"), repeats, "%s", rec);
	cr_assert_gt(jnum(rec, "ops_s.median"), 0, "%s", rec);
	cr_assert_eq(jnum(rec, "ops_s.n"), repeats, "one rate per repeat: %s", rec);
	cr_assert_leq(jnum(rec, "ops_s.min"), jnum(rec, "ops_s.median"), "%s", rec);
	cr_assert_leq(jnum(rec, "ops_s.median"), jnum(rec, "ops_s.max"), "%s", rec);
	cr_assert_gt(jnum(rec, "lat.n"), 0, "%s", rec);
	cr_assert_leq(jnum(rec, "lat.p50"), jnum(rec, "lat.p99"), "%s", rec);
	cr_assert_leq(jnum(rec, "lat.p99"), jnum(rec, "lat.max"), "%s", rec);
}

/* Every line of the file is a figure or a skip line (calibration lines aside). */
static void assert_shapes(const struct jsonl *j)
{
	cr_assert_gt(j->n, 0, "no JSON line at all");
	for (size_t i = 0; i < j->n; i++)
		cr_assert(is_skip(j->line[i]) || json_value(j->line[i], "config.backend"),
			  "line %zu is neither a figure nor a skip: %s", i + 1, j->line[i]);
}

/* One calibration line per round, in order, each with a positive time and the run's max/min
 * (the largest time over the smallest). */
static void assert_calibration(const struct jsonl *j, unsigned int rounds)
{
	double lo = 0, hi = 0;

	cr_assert_eq(j->ncal, rounds, "%zu calibration lines for %u rounds:\n%s", j->ncal,
		     rounds, j->text);
	for (size_t i = 0; i < j->ncal; i++) {
		double ns = jnum(j->cal[i], "ns");

		cr_assert_eq(jnum(j->cal[i], "round"), i + 1, "%s", j->cal[i]);
		cr_assert_eq(jnum(j->cal[i], "rounds"), rounds, "%s", j->cal[i]);
		cr_assert_gt(ns, 0, "%s", j->cal[i]);
		lo = i && lo < ns ? lo : ns;
		hi = i && hi > ns ? hi : ns;
	}
	for (size_t i = 0; i < j->ncal; i++)
		cr_assert_eq(jnum(j->cal[i], "max_min"), hi / lo, "%s", j->cal[i]);
}

/* Run ioasid-bench with the arguments after the binary (BENCH_ENV: and these "NAME=value"
 * added to its environment), expecting exit status `want`. On another status the --json file
 * is shown too: with -q a failure's reasons are in its skip lines only. */
#define BENCH(r, want, ...) bench_expect((r), (want), NULL, ARGV(bench_bin, __VA_ARGS__))
#define BENCH_ENV(r, want, env, ...)                                                       \
	bench_expect((r), (want), (env), ARGV(bench_bin, __VA_ARGS__))

static void bench_expect(struct run *r, int want, const char *const *env,
			 const char *const *argv)
{
	run_v(r, env, argv);
	if (r->status == want)
		return;
	for (size_t i = 1; argv[i] && argv[i + 1]; i++) {
		FILE *f;
		char text[8192];
		size_t n;

		if (strcmp(argv[i], "-j") || !(f = fopen(argv[i + 1], "r")))
			continue;
		n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = '\0';
		fclose(f);
		cr_assert_fail("exit status %d, expected %d\n--- stderr:\n%s--- %s:\n%s", r->status,
			       want, r->err, argv[i + 1], text);
	}
	assert_status(r, want);
}

/* ---- the catalogue --------------------------------------------------------------------------- */

/* The line of `text` that starts with `prefix` (a pointer into text); fails when there is none. */
static const char *line_at(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, prefix, n))
			return p;
	cr_assert_fail("no line starting \"%s\" in:\n%s", prefix, text);
	return NULL;
}

/* That line alone, in a static buffer. */
static const char *line_starting(const char *text, const char *prefix)
{
	static char line[1024];
	const char *p = line_at(text, prefix);

	snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\n"), p);
	return line;
}

Test(bench_tool, list_names_every_backend_and_workload)
{
	static const char *const backends[] = { "ref", "ref-uapi", "ref-type1", "kernel",
						"kernel-type1" };
	static const char *const workloads[] = { "machine", "pages", "region", "small-regions",
						 "copy", "dma", "dma-api", "vm-start", "threads" };
	const char *wl_section;
	char prefix[64];
	struct run r;

	BENCH(&r, 0, "--list");
	wl_section = strstr(r.out, "\nworkloads:\n");
	cr_assert_not_null(wl_section, "no workloads section:\n%s", r.out);
	cr_assert_eq(strncmp(r.out, "backends:\n", 10), 0, "no backends section:\n%s", r.out);
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		/* in the backends section, the name then its state */
		snprintf(prefix, sizeof(prefix), "  %s ", backends[i]);
		cr_assert(line_at(r.out, prefix) < wl_section, "%s is not among the backends:\n%s",
			  backends[i], r.out);
	}
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		snprintf(prefix, sizeof(prefix), "  %s ", workloads[i]);
		line_at(wl_section + 1, prefix);
	}
	if (access("/dev/iommu", F_OK))
		assert_contains(line_starting(r.out, "  kernel "), "/dev/iommu does not exist",
				"the kernel line");
	if (access("/dev/vfio/vfio", F_OK))
		assert_contains(line_starting(r.out, "  kernel-type1 "),
				"/dev/vfio/vfio does not exist", "the kernel-type1 line");
	assert_contains(line_starting(r.out, "  ref "), "usable", "the ref line");
	run_free(&r);
}

/* ---- the same figure on the three reference backends ----------------------------------------- */

Test(bench_tool, three_reference_backends_measure_the_same_figure)
{
	static const char *const backends[] = { "ref", "ref-uapi", "ref-type1" };
	static const char *const phases[] = { "map", "unmap" };
	char *json = tmp_path("ref3");
	struct jsonl j;
	struct run r;

	BENCH(&r, 0, "--quick", "-b", "ref,ref-uapi,ref-type1", "-w", "pages", "--pages", "4K",
	      "--pattern", "seq", "-j", json, "-q");
	cr_assert_str_empty(r.out, "-q: no table");
	run_free(&r);
	jsonl_read(&j, json);
	assert_shapes(&j);
	cr_assert_eq(count_skips(&j, NULL), 0, "nothing skipped:\n%s", j.text);
	cr_assert_eq(j.n, 6, "a map and an unmap figure per backend:\n%s", j.text);
	assert_calibration(&j, 1);
	for (size_t b = 0; b < 3; b++)
		for (size_t p = 0; p < 2; p++) {
			char want_b[64], want_p[64];
			const char *rec;
			double ns;

			snprintf(want_b, sizeof(want_b), "config.backend=%s", backends[b]);
			snprintf(want_p, sizeof(want_p), "config.phase=%s", phases[p]);
			rec = the_figure(&j, WHERE(want_b, "config.workload=pages", want_p));
			assert_figure_sane(rec, 3);
			/* --quick: 4 MiB of 4 KiB calls per repeat */
			cr_assert_eq(jnum(rec, "config.ops"), 1024, "%s", rec);
			cr_assert_eq(jnum(rec, "config.op_bytes"), 4096, "%s", rec);
			cr_assert_eq(jnum(rec, "config.page_size"), 4096, "%s", rec);
			cr_assert_eq(jnum(rec, "config.repeat_bytes"), 4194304, "%s", rec);
			cr_assert_eq(jnum(rec, "config.threads"), 1, "%s", rec);
			cr_assert_str_eq(jstr(rec, "config.pattern"), "seq", "%s", rec);
			cr_assert_str_eq(jstr(rec, "config.served_by"), "reference", "%s", rec);
			cr_assert_str_eq(jstr(rec, "config.trace"), "off", "%s", rec);
			/* every call of every repeat timed */
			cr_assert_eq(jnum(rec, "lat.n"), 1024 * 3, "%s", rec);
			/* a repeat's rate is its ops (bytes) over its time: the median rate is that
			 * of the median repeat (3 repeats), the slowest the longest */
			ns = jnum(rec, "repeat_ns.median");
			cr_assert_gt(ns, 0, "%s", rec);
			cr_assert_eq(jnum(rec, "ops_s.median"), 1024 * 1e9 / ns, "%s", rec);
			cr_assert_eq(jnum(rec, "ops_s.min"), 1024 * 1e9 / jnum(rec, "repeat_ns.max"),
				     "%s", rec);
			cr_assert_eq(jnum(rec, "ops_s.max"), 1024 * 1e9 / jnum(rec, "repeat_ns.min"),
				     "%s", rec);
			cr_assert_eq(jnum(rec, "gb_s.median"), 4194304 / ns, "GB/s is bytes per ns: %s",
				     rec);
			/* untraced: no overhead, no tracer counts, nothing checked */
			cr_assert_eq(jnum(rec, "overhead"), 0, "%s", rec);
			cr_assert_eq(jnum(rec, "events"), 0, "%s", rec);
			cr_assert_eq(jnum(rec, "dropped"), 0, "%s", rec);
			cr_assert_eq(jnum(rec, "violations"), -1, "%s", rec);
		}
	jsonl_free(&j);
	unlink(json);
}

/* ---- the kernel's backends on this host ------------------------------------------------------ */

/* A kernel backend: skipped naming its missing node, or (the node is there) measured — or,
 * for type1, which needs a group bound to vfio-pci as well, skipped for another reason. */
static void assert_kernel_backend(const struct jsonl *j, const char *backend, const char *node,
				  bool needs_group)
{
	char want_b[64];
	size_t n;

	snprintf(want_b, sizeof(want_b), "config.backend=%s", backend);
	n = figures(j, WHERE(want_b), NULL, 0);
	if (access(node, F_OK)) {
		const char *skip = the_skip(j, backend, "*");

		assert_contains(jstr(skip, "why"), node, "the reason");
		assert_contains(jstr(skip, "why"), "does not exist", "the reason");
		cr_assert_eq(n, 0, "%s: figures without %s:\n%s", backend, node, j->text);
		cr_assert_eq(count_skips(j, backend), 1, "one skip for the whole backend:\n%s",
			     j->text);
		return;
	}
	if (n == 0 && needs_group) {
		const char *skip = the_skip(j, backend, "*");

		cr_assert_null(strstr(jstr(skip, "why"), "does not exist"), "%s exists: %s", node,
			       skip);
		fprintf(stderr, "\n*** %s: %s exists but no group is usable: %s ***\n\n", backend,
			node, jstr(skip, "why"));
		return;
	}
	cr_assert_gt(n, 0, "%s exists, yet %s measured nothing:\n%s", node, backend, j->text);
}

Test(bench_tool, kernel_backends_are_skipped_with_the_missing_node_named)
{
	char *json = tmp_path("kernel");
	struct jsonl j;
	struct run r;

	BENCH(&r, 0, "-b", "kernel,kernel-type1", "--quick", "-w", "pages", "--pages", "4K",
	      "--pattern", "seq", "-j", json, "-q");
	run_free(&r);
	jsonl_read(&j, json);
	assert_shapes(&j);
	assert_kernel_backend(&j, "kernel", "/dev/iommu", false);
	assert_kernel_backend(&j, "kernel-type1", "/dev/vfio/vfio", true);
	if (access("/dev/iommu", F_OK) && access("/dev/vfio/vfio", F_OK))
		cr_assert_eq(j.n, 2, "two skip lines and nothing else:\n%s", j.text);
	jsonl_free(&j);
	unlink(json);
}

/* ---- every workload on ref ------------------------------------------------------------------- */

/* The number in a note right after `label` ("IOTLB hit rate 99.5 %": label "IOTLB hit rate "). */
static double note_number_after(const char *rec, const char *label)
{
	const char *note = jstr(rec, "note"), *p = strstr(note, label);
	char *end;
	double v;

	cr_assert_not_null(p, "the note lacks \"%s\": %s", label, note);
	v = strtod(p + strlen(label), &end);
	cr_assert(end > p + strlen(label), "no number after \"%s\": %s", label, note);
	return v;
}

/* "N IOTLB invalidations per unmap" at the start of a dma-api note. */
static double invalidations_per_unmap(const char *rec)
{
	const char *note = jstr(rec, "note");
	char *end;
	double v = strtod(note, &end);

	cr_assert(end > note && !strncmp(end, " IOTLB invalidations per unmap", 30),
		  "no \"N IOTLB invalidations per unmap\" in: %s", note);
	return v;
}

Test(bench_tool, every_workload_runs_on_ref_and_says_what_it_measured)
{
	static const char *const workloads[] = { "machine", "pages", "region", "small-regions",
						 "copy", "dma", "dma-api", "vm-start", "threads" };
	static const struct { const char *phase, *threads; double ops, op_bytes; } probes[] = {
		{ "syscall", "1", 20000, 0 }, { "syscall", "2", 40000, 0 },
		{ "copy", "1", 5000, 64 }, { "fault", "1", 1024, 4096 },
		{ "chase", "1", 100000, 64 },
	};
	static const char *const vm_phases[] = { "bind", "attach", "map-ram", "total",
						 "teardown" };
	char *json = tmp_path("all");
	const char *rec, *found[8];
	struct jsonl j;
	struct run r;
	double v;

	BENCH(&r, 0, "--quick", "-b", "ref", "-j", json, "-q");
	run_free(&r);
	jsonl_read(&j, json);
	assert_shapes(&j);
	cr_assert_eq(count_skips(&j, NULL), 0, "ref can run everything:\n%s", j.text);
	for (size_t i = 0; i < j.n; i++) {
		if (!value_is(j.line[i], "config.workload", "machine"))
			assert_figure_sane(j.line[i], 3);
		cr_assert(value_is(j.line[i], "config.backend", "ref"), "%s", j.line[i]);
		cr_assert(value_is(j.line[i], "config.served_by", "reference"), "%s", j.line[i]);
		cr_assert(value_is(j.line[i], "config.trace", "off"), "%s", j.line[i]);
	}
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		char want[64];

		snprintf(want, sizeof(want), "config.workload=%s", workloads[i]);
		cr_assert_gt(figures(&j, WHERE(want), NULL, 0), 0, "no figure of %s:\n%s",
			     workloads[i], j.text);
	}
	/* machine: the host's probes, timed per repeat only (no latency), first */
	cr_assert_eq(figures(&j, WHERE("config.workload=machine"), NULL, 0), 5, "%s", j.text);
	cr_assert(value_is(j.line[0], "config.workload", "machine"), "first: %s", j.line[0]);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		char want[64], threads[64];

		snprintf(want, sizeof(want), "config.phase=%s", probes[i].phase);
		snprintf(threads, sizeof(threads), "config.threads=%s", probes[i].threads);
		rec = the_figure(&j, WHERE("config.workload=machine", want, threads));
		cr_assert_eq(jnum(rec, "config.ops"), probes[i].ops, "%s", rec);
		cr_assert_eq(jnum(rec, "config.op_bytes"), probes[i].op_bytes, "%s", rec);
		cr_assert_eq(jnum(rec, "ops_s.n"), 3, "%s", rec);
		cr_assert_gt(jnum(rec, "ops_s.min"), 0, "%s", rec);
		cr_assert_eq(jnum(rec, "ops_s.median"), probes[i].ops * 1e9 /
			     jnum(rec, "repeat_ns.median"), "%s", rec);
		cr_assert_eq(jnum(rec, "lat.n"), 0, "probes are timed per repeat only: %s", rec);
		cr_assert_str_eq(jstr(rec, "note"), "the host, not the backend: timed per repeat "
				 "only", "%s", rec);
	}
	/* pages: 4K, 2M, 1G × seq, random, frag, each a map and an unmap */
	cr_assert_eq(figures(&j, WHERE("config.workload=pages"), NULL, 0), 18, "%s", j.text);

	/* dma: the hot set stays in the IOTLB, the cold walk misses */
	rec = the_figure(&j, WHERE("config.workload=dma", "config.phase=hit"));
	v = note_number_after(rec, "IOTLB hit rate ");
	cr_assert(v > 90 && v <= 100, "hit pass: IOTLB hit rate %.1f %%: %s", v, rec);
	rec = the_figure(&j, WHERE("config.workload=dma", "config.phase=miss"));
	v = note_number_after(rec, "IOTLB hit rate ");
	cr_assert(v >= 0 && v < 10, "miss pass: IOTLB hit rate %.1f %%: %s", v, rec);

	/* dma-api: strict invalidates on every unmap; deferred batches them (flush queue) */
	for (const char *const *ph = (const char *const[]){ "config.phase=map",
							     "config.phase=unmap", NULL };
	     *ph; ph++) {
		rec = the_figure(&j, WHERE("config.workload=dma-api", "config.inval=strict", *ph));
		v = invalidations_per_unmap(rec);
		cr_assert_geq(v, 1.0, "strict: %.3f invalidations per unmap: %s", v, rec);
		rec = the_figure(&j, WHERE("config.workload=dma-api", "config.inval=deferred", *ph));
		v = invalidations_per_unmap(rec);
		cr_assert(v >= 0 && v < 0.1, "deferred: %.3f invalidations per unmap: %s", v, rec);
	}

	/* vm-start: a VMM's phases, once each */
	for (size_t i = 0; i < sizeof(vm_phases) / sizeof(vm_phases[0]); i++) {
		char want[64];

		snprintf(want, sizeof(want), "config.phase=%s", vm_phases[i]);
		the_figure(&j, WHERE("config.workload=vm-start", want));
	}
	cr_assert_eq(figures(&j, WHERE("config.workload=vm-start"), NULL, 0), 5, "%s", j.text);

	/* threads: one figure per thread count (--quick: 1 and 2) */
	cr_assert_eq(figures(&j, WHERE("config.workload=threads"), found, 8), 2, "%s", j.text);
	the_figure(&j, WHERE("config.workload=threads", "config.threads=1"));
	the_figure(&j, WHERE("config.workload=threads", "config.threads=2"));
	jsonl_free(&j);
	unlink(json);
}

/* ---- what a backend cannot do ---------------------------------------------------------------- */

Test(bench_tool, capabilities_a_backend_lacks_are_skipped_with_a_reason)
{
	char *json = tmp_path("caps");
	struct jsonl j;
	struct run r;

	BENCH(&r, 0, "--quick", "-b", "ref-uapi,ref-type1", "-w", "copy,dma,dma-api", "-j", json,
	      "-q");
	run_free(&r);
	jsonl_read(&j, json);
	assert_shapes(&j);
	/* ref-uapi: an iommufd has a second IOAS to copy from, but no in-process DMA */
	the_skip(&j, "ref-uapi", "dma");
	the_skip(&j, "ref-uapi", "dma-api");
	cr_assert_eq(count_skips(&j, "ref-uapi"), 2, "%s", j.text);
	the_figure(&j, WHERE("config.backend=ref-uapi", "config.workload=copy", "config.phase=copy"));
	the_figure(&j, WHERE("config.backend=ref-uapi", "config.workload=copy", "config.phase=map"));
	/* ref-type1: a container is one address space: nothing to copy from */
	assert_contains(jstr(the_skip(&j, "ref-type1", "copy"), "why"), "IOAS_COPY", "the reason");
	the_skip(&j, "ref-type1", "dma");
	the_skip(&j, "ref-type1", "dma-api");
	cr_assert_eq(count_skips(&j, "ref-type1"), 3, "%s", j.text);
	cr_assert_eq(figures(&j, WHERE("config.backend=ref-type1"), NULL, 0), 0, "%s", j.text);
	jsonl_free(&j);
	unlink(json);
}

/* ---- tracing: what it costs ------------------------------------------------------------------ */

Test(bench_tool, traced_figures_carry_their_overhead_and_the_tracers_counts)
{
	static const char *const phases[] = { "config.phase=map", "config.phase=unmap" };
	char *json = tmp_path("trace");
	struct jsonl j;
	struct run r;

	bpf_test_require(true);
	BENCH(&r, 0, "--quick", "-b", "ref", "-w", "pages", "--pages", "4K", "--pattern", "seq",
	      "-t", "counters,check", "-R", "2", "-j", json, "-q");
	run_free(&r);
	jsonl_read(&j, json);
	assert_shapes(&j);
	cr_assert_eq(count_skips(&j, NULL), 0, "%s", j.text);
	cr_assert_eq(j.n, 6, "map and unmap, untraced, with counters, with the check:\n%s", j.text);
	for (size_t p = 0; p < 2; p++) {
		const char *off = the_figure(&j, WHERE("config.trace=off", phases[p]));

		cr_assert_eq(jnum(off, "overhead"), 0, "%s", off);
		assert_figure_sane(off, 6);
		cr_assert_eq(jnum(off, "config.rounds"), 2, "%s", off);
		for (const char *const *mode = (const char *const[]){ "config.trace=counters",
								       "config.trace=check", NULL };
		     *mode; mode++) {
			const char *rec = the_figure(&j, WHERE(*mode, phases[p]));
			double over = jnum(rec, "overhead");

			/* 2 rounds of 3 repeats, both pooled before the ratio is taken */
			assert_figure_sane(rec, 6);
			cr_assert_eq(jnum(rec, "config.rounds"), 2, "%s", rec);
			/* the ratio of this figure's median time to the untraced one's. Not bounded
			 * further: the two runs are seconds apart, and with the tests running in
			 * parallel a disturbed untraced run gives ratios from 0.2 to 8 */
			cr_assert_gt(over, 0, "%s", rec);
			cr_assert_eq(over, jnum(rec, "repeat_ns.median") /
					   jnum(off, "repeat_ns.median"),
				     "%s\nthe untraced figure: %s", rec, off);
			/* events of both rounds: 3 or more per call, 6 × 1024 calls */
			cr_assert_geq(jnum(rec, "events"), 3 * 6 * 1024, "%s", rec);
			cr_assert_eq(jnum(rec, "dropped"), 0, "events lost: %s", rec);
			/* checked: none found; counters only: not checked (-1) */
			cr_assert_eq(jnum(rec, "violations"), strstr(*mode, "check") ? 0 : -1,
				     "%s", rec);
		}
	}
	/* the tracer's counts are per workload: the map and unmap figures of a mode agree */
	for (const char *const *mode = (const char *const[]){ "config.trace=counters",
							       "config.trace=check", NULL };
	     *mode; mode++)
		cr_assert_eq(jnum(the_figure(&j, WHERE(*mode, "config.phase=map")), "events"),
			     jnum(the_figure(&j, WHERE(*mode, "config.phase=unmap")), "events"),
			     "%s", *mode);
	jsonl_free(&j);
	unlink(json);
}

/* ---- usage ----------------------------------------------------------------------------------- */

static void assert_usage_error(const char *const *argv, const char *needle)
{
	struct run r;

	run_v(&r, NULL, argv);
	assert_status(&r, 2);
	assert_contains(r.err, needle, "stderr");
	cr_assert_str_empty(r.out, "nothing measured, nothing printed");
	run_free(&r);
}

Test(bench_tool, usage_errors_exit_2_naming_the_value)
{
	assert_usage_error(ARGV(bench_bin, "-b", "nosuch"), "backend 'nosuch' unknown");
	assert_usage_error(ARGV(bench_bin, "-b", "ref,nosuch"), "'nosuch'");
	assert_usage_error(ARGV(bench_bin, "--pages", "3K"), "'3K'");
	assert_usage_error(ARGV(bench_bin, "--pages", "8K"), "'8K'");
	assert_usage_error(ARGV(bench_bin, "--repeats", "0"), "--repeats '0'");
	assert_usage_error(ARGV(bench_bin, "--trace", "sometimes"), "'sometimes'");
	assert_usage_error(ARGV(bench_bin, "-w", "pagez"), "'pagez'");
	assert_usage_error(ARGV(bench_bin, "--quick", "leftover"), "'leftover'");
	assert_usage_error(ARGV(bench_bin, "--big-rounds", "0"), "--big-rounds '0'");
	assert_usage_error(ARGV(bench_bin, "--big-above", "lots"), "--big-above 'lots'");
	assert_usage_error(ARGV(bench_bin, "--min-time", "10001"), "--min-time '10001': give "
			   "1..10000");
	assert_usage_error(ARGV(bench_bin, "--min-time", "-1"), "--min-time '-1'");
}

/* --min-time: a figure whose repeats are microseconds takes more of them (at most 128 a
 * round), each counted and each call timed; without it, exactly -r (the tests above). */
Test(bench_tool, min_time_takes_more_repeats_of_quick_figures)
{
	char *json = tmp_path("min-time");
	struct jsonl j;
	struct run r;

	BENCH(&r, 0, "--quick", "-b", "ref", "-w", "pages", "--pages", "2M", "--pattern", "seq",
	      "--min-time", "50", "-j", json, "-q");
	run_free(&r);
	jsonl_read(&j, json);
	assert_shapes(&j);
	cr_assert_eq(j.n, 2, "a map and an unmap figure:\n%s", j.text);
	for (size_t i = 0; i < j.n; i++) {
		const char *rec = j.line[i];
		double n = jnum(rec, "ops_s.n");

		/* 2 MiB calls take microseconds: 3 repeats are far from 50 ms */
		cr_assert(n > 3 && n <= 128, "%.0f repeats: %s", n, rec);
		cr_assert_eq(jnum(rec, "config.repeats"), n, "%s", rec);
		cr_assert_eq(jnum(rec, "repeat_ns.n"), n, "%s", rec);
		cr_assert_eq(jnum(rec, "lat.n"), n * jnum(rec, "config.ops"), "every call: %s", rec);
	}
	/* the map and unmap of one repeat are one sample each */
	cr_assert_eq(jnum(j.line[0], "ops_s.n"), jnum(j.line[1], "ops_s.n"), "%s", j.text);
	jsonl_free(&j);
	unlink(json);
}

Test(bench_tool, a_json_path_that_cannot_be_written_exits_2_naming_it)
{
	char *base = tmp_path("nodir"), path[PATH_MAX];

	/* a directory that does not exist: below a regular file */
	snprintf(path, sizeof(path), "%s.d/out.jsonl", base);
	assert_usage_error(ARGV(bench_bin, "--quick", "-b", "ref", "-w", "pages", "-j", path),
			   path);
	unlink(base);
}

/* ---- the published figures ------------------------------------------------------------------- */

/* A latency as the anchors table writes it. */
static void latency_text(double ns, char *out, size_t len)
{
	if (ns >= 1000)
		snprintf(out, len, "%.2f µs", ns / 1000);
	else
		snprintf(out, len, "%.0f ns", ns);
}

/* The table row of `figure` for backend ref says this run's p50 of `rec`. */
static void assert_anchor_row(const char *md, const char *figure, const char *rec)
{
	char prefix[128], value[64], want[256];
	const char *row;

	snprintf(prefix, sizeof(prefix), "| %s | ref | ", figure);
	row = line_starting(md, prefix);
	latency_text(jnum(rec, "lat.p50"), value, sizeof(value));
	snprintf(want, sizeof(want), "%s%s | dma_map_benchmark", prefix, value);
	cr_assert_eq(strncmp(row, want, strlen(want)), 0, "row \"%s\", want it to start \"%s\"",
		     row, want);
}

Test(bench_tool, anchors_table_sets_this_runs_figures_beside_the_published_ones)
{
	static const char header[] = "| figure | backend | ioasid (median) | published | ratio |\n";
	char *md_path = tmp_path("anchors"), *json = tmp_path("anchors-json"), *md;
	struct jsonl j;
	struct run r;

	BENCH(&r, 0, "--quick", "-b", "ref", "-w", "dma-api,pages", "--pages", "4K", "--pattern",
	      "seq", "-a", md_path, "-j", json, "-q");
	cr_assert_str_empty(r.out, "-q: no table");
	run_free(&r);
	md = slurp(md_path);
	jsonl_read(&j, json);
	cr_assert_eq(strncmp(md, header, strlen(header)), 0, "the header:\n%s", md);
	assert_anchor_row(md, "4 KiB map, driver cycle",
			  the_figure(&j, WHERE("config.workload=dma-api", "config.phase=map",
					       "config.inval=strict")));
	assert_anchor_row(md, "4 KiB IOAS_MAP, one call",
			  the_figure(&j, WHERE("config.workload=pages", "config.phase=map")));
	assert_anchor_row(md, "4 KiB IOAS_UNMAP, one call",
			  the_figure(&j, WHERE("config.workload=pages", "config.phase=unmap")));
	assert_contains(md, "Published figures come from other machines", "the caveat");
	jsonl_free(&j);
	free(md);
	unlink(md_path);
	unlink(json);
}

/* ---- rounds ---------------------------------------------------------------------------------- */

/* The backends in the order the driver started their workers (-v), "round:backend" each. */
static size_t start_order(const char *err, char out[][32], size_t max)
{
	static const char prefix[] = "ioasid-bench: round ";
	size_t n = 0;

	for (const char *p = err; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		unsigned int round, rounds;
		char name[24];

		if (strncmp(p, prefix, strlen(prefix)) ||
		    sscanf(p + strlen(prefix), "%u of %u: starting %23s", &round, &rounds,
			   name) != 3)
			continue;
		cr_assert_lt(n, max, "more workers than expected:\n%s", err);
		snprintf(out[n++], 32, "%u:%s", round, name);
	}
	return n;
}

/* The figures of a backend: map and unmap of 4 KiB pages, each pooled over `repeats` repeats of
 * `rounds` rounds of the run's `of`. */
static void assert_pooled(const struct jsonl *j, const char *backend, unsigned int repeats,
			  unsigned int rounds, unsigned int of)
{
	static const char *const phases[] = { "config.phase=map", "config.phase=unmap" };
	char want_b[64];

	snprintf(want_b, sizeof(want_b), "config.backend=%s", backend);
	for (size_t p = 0; p < 2; p++) {
		const char *rec = the_figure(j, WHERE(want_b, phases[p]));

		assert_figure_sane(rec, repeats);
		cr_assert_eq(jnum(rec, "config.rounds"), rounds, "%s", rec);
		cr_assert_eq(jnum(rec, "repeat_ns.n"), repeats, "%s", rec);
		/* every call of every pooled repeat */
		cr_assert_eq(jnum(rec, "lat.n"), 1024 * repeats, "%s", rec);
		cr_assert_eq(jnum(rec, "ops_s.min"), 1024 * 1e9 / jnum(rec, "repeat_ns.max"), "%s",
			     rec);
		if (rounds == of) {
			cr_assert_str_eq(jstr(rec, "note"), "", "%s", rec);
		} else {
			char note[64];

			snprintf(note, sizeof(note), "in %u of %u rounds", rounds, of);
			cr_assert_str_eq(jstr(rec, "note"), note, "%s", rec);
		}
	}
}

Test(bench_tool, rounds_interleave_backends_and_pool_every_repeat)
{
	static const char *const order[] = { "1:ref", "1:ref-uapi", "2:ref", "2:ref-uapi" };
	char *json = tmp_path("rounds"), started[8][32];
	const char *footer;
	struct jsonl j;
	struct run r;

	BENCH(&r, 0, "--quick", "-b", "ref,ref-uapi", "-w", "pages", "--pages", "4K", "--pattern",
	      "seq", "-R", "2", "-v", "-j", json);
	/* round 1 of every backend, then round 2 of every backend */
	cr_assert_eq(start_order(r.err, started, 8), 4, "stderr:\n%s", r.err);
	for (size_t i = 0; i < 4; i++)
		cr_assert_str_eq(started[i], order[i], "worker %zu; stderr:\n%s", i + 1, r.err);
	assert_contains(r.err, "ioasid-bench: round 1 of 2: calibration ", "stderr (-v)");
	assert_contains(r.err, "ioasid-bench: round 2 of 2: calibration ", "stderr (-v)");
	footer = line_starting(r.out, "calibration (a fixed CPU loop, timed as each round "
			       "starts): round 1 ");
	assert_contains(footer, ", round 2 ", "the table's footer");
	assert_contains(footer, "; max/min ×", "the table's footer");
	run_free(&r);

	jsonl_read(&j, json);
	assert_shapes(&j);
	cr_assert_eq(count_skips(&j, NULL), 0, "%s", j.text);
	cr_assert_eq(j.n, 4, "a map and an unmap figure per backend, once:\n%s", j.text);
	/* 2 rounds × 3 repeats in each figure */
	assert_pooled(&j, "ref", 6, 2, 2);
	assert_pooled(&j, "ref-uapi", 6, 2, 2);
	assert_calibration(&j, 2);
	jsonl_free(&j);
	unlink(json);
}

/* Regions above --big-above get workers of their own (--big-rounds of them), back to back
 * before the rounds, and the rounds leave them out: here 128M is "big" and 64M is not. */
Test(bench_tool, big_regions_have_workers_of_their_own_before_the_rounds)
{
	static const char *const order[] = {
		"big regions, worker 1 of 2: starting ref ",
		"big regions, worker 1 of 2: starting ref-uapi ",
		"big regions, worker 2 of 2: starting ref ",
		"big regions, worker 2 of 2: starting ref-uapi ",
		"round 1 of 3: starting ref ", "round 1 of 3: starting ref-uapi ",
		"round 2 of 3: starting ref ", "round 2 of 3: starting ref-uapi ",
		"round 3 of 3: starting ref ", "round 3 of 3: starting ref-uapi ",
	};
	static const char *const backends[] = { "config.backend=ref", "config.backend=ref-uapi" };
	static const char *const phases[] = { "config.phase=map", "config.phase=unmap" };
	char *json = tmp_path("big");
	const char *p;
	struct jsonl j;
	struct run r;

	BENCH(&r, 0, "--quick", "-b", "ref,ref-uapi", "-w", "region", "--region", "64M,128M",
	      "--pages", "4K", "--big-above", "64M", "--big-rounds", "2", "-R", "3", "-v", "-j",
	      json, "-q");
	p = r.err;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		char want[96];

		snprintf(want, sizeof(want), "ioasid-bench: %s", order[i]);
		p = strstr(p, want);
		cr_assert(p, "worker %zu should be \"%s\", in this order; stderr:\n%s", i + 1,
			  want, r.err);
		p += strlen(want);
	}
	cr_assert_null(strstr(p, "starting"), "no more workers than those; stderr:\n%s", r.err);
	run_free(&r);

	jsonl_read(&j, json);
	assert_shapes(&j);
	cr_assert_eq(count_skips(&j, NULL), 0, "%s", j.text);
	cr_assert_eq(j.n, 8, "map and unmap of 64M and 128M per backend, once each:\n%s", j.text);
	for (size_t b = 0; b < 2; b++)
		for (size_t ph = 0; ph < 2; ph++) {
			const char *small = the_figure(&j, WHERE(backends[b], phases[ph],
								 "config.op_bytes=67108864"));
			const char *big = the_figure(&j, WHERE(backends[b], phases[ph],
							       "config.op_bytes=134217728"));

			/* 64M: the 3 rounds' 3 repeats; 128M: the 2 big workers' 3 repeats */
			cr_assert_eq(jnum(small, "config.rounds"), 3, "%s", small);
			cr_assert_eq(jnum(small, "repeat_ns.n"), 9, "%s", small);
			cr_assert_null(strstr(jstr(small, "note"), "rounds"), "%s", small);
			cr_assert_eq(jnum(big, "config.rounds"), 2, "%s", big);
			cr_assert_eq(jnum(big, "repeat_ns.n"), 6, "%s", big);
			assert_contains(jstr(big, "note"), "in 2 of 3 rounds", "the 128M note");
		}
	assert_calibration(&j, 3);
	jsonl_free(&j);
	unlink(json);
}

Test(bench_tool, a_worker_killed_in_round_2_loses_that_round_only)
{
	char *json = tmp_path("killed");
	const char *why;
	struct jsonl j;
	struct run r;

	BENCH_ENV(&r, 1, ARGV("IOASID_BENCH_FAULT=ref-uapi:2:kill"), "--quick", "-b",
		  "ref,ref-uapi", "-w", "pages", "--pages", "4K", "--pattern", "seq", "-R", "2",
		  "-j", json, "-q");
	assert_contains(r.err, "ioasid-bench: ref-uapi: its worker died of signal 9", "stderr");
	run_free(&r);
	jsonl_read(&j, json);
	assert_shapes(&j);
	why = jstr(the_skip(&j, "ref-uapi", "round 2"), "why");
	assert_contains(why, "its worker died of signal 9", "the reason");
	assert_contains(why, "in round 2 of 2: that round of ref-uapi is lost", "the reason");
	assert_contains(why, "rerun with -b ref-uapi", "what to do");
	cr_assert_eq(count_skips(&j, NULL), 1, "nothing else is reported lost:\n%s", j.text);
	/* ref: both rounds; ref-uapi: round 1 only, and it says so */
	assert_pooled(&j, "ref", 6, 2, 2);
	assert_pooled(&j, "ref-uapi", 3, 1, 2);
	assert_calibration(&j, 2);
	jsonl_free(&j);
	unlink(json);
}

/* A stream broken by the hook's `kind` in `round`: reported as malformed with `needle`, by
 * backend and round; everything else pooled. */
static void assert_malformed_round(const char *kind, unsigned int round, const char *needle)
{
	char *json = tmp_path(kind), fault[64], skip_wl[16], want[160];
	const char *why;
	struct jsonl j;
	struct run r;

	snprintf(fault, sizeof(fault), "IOASID_BENCH_FAULT=ref-uapi:%u:%s", round, kind);
	BENCH_ENV(&r, 1, ARGV(fault), "--quick", "-b", "ref,ref-uapi", "-w", "pages", "--pages",
		  "4K", "--pattern", "seq", "-R", "2", "-j", json, "-q");
	snprintf(want, sizeof(want), "ioasid-bench: ref-uapi: its result stream is malformed "
		 "(%s", needle);
	assert_contains(r.err, want, "stderr");
	run_free(&r);
	jsonl_read(&j, json);
	assert_shapes(&j);
	snprintf(skip_wl, sizeof(skip_wl), "round %u", round);
	why = jstr(the_skip(&j, "ref-uapi", skip_wl), "why");
	assert_contains(why, want + strlen("ioasid-bench: ref-uapi: "), "the reason");
	snprintf(want, sizeof(want), "in round %u of 2: that round of ref-uapi is lost", round);
	assert_contains(why, want, "the reason");
	cr_assert_eq(count_skips(&j, NULL), 1, "%s: nothing else is lost:\n%s", kind, j.text);
	assert_pooled(&j, "ref", 6, 2, 2);
	assert_pooled(&j, "ref-uapi", 3, 1, 2);
	jsonl_free(&j);
	unlink(json);
}

Test(bench_tool, malformed_streams_are_named_by_backend_and_round)
{
	assert_malformed_round("truncate", 2, "the stream ends inside a figure message (");
	assert_malformed_round("magic", 1, "a message header with magic 0xb6bdb1cd (expected "
			       "0x49424e32)");
	assert_malformed_round("version", 2, "a message of protocol version 3 (this driver "
			       "reads 2)");
}

/* ---- do two runs agree? ---------------------------------------------------------------------- */

static const char cmp_fig[] =
	"{\"config\":{\"backend\":\"ref\",\"workload\":\"pages\",\"phase\":\"%s\","
	"\"pattern\":\"seq\",\"inval\":\"-\",\"trace\":\"off\",\"page_size\":4096,"
	"\"leaf_max\":4096,\"op_bytes\":4096,\"ops\":1024,\"threads\":1,\"repeats\":6,"
	"\"rounds\":2},\"ops_s\":{\"median\":%g,\"min\":%g,\"max\":%g}}\n";
static const char cmp_cal[] =
	"{\"type\":\"calibration\",\"round\":%d,\"rounds\":%d,\"ns\":%g,\"max_min\":1}\n";

static char *cmp_file(const char *what, double map_median, double unmap_median,
		      const double *cal, int ncal)
{
	char *path = tmp_path(what);
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fprintf(f, cmp_fig, "map", map_median, map_median - 5, map_median + 5);
	fprintf(f, cmp_fig, "unmap", unmap_median, unmap_median - 5, unmap_median + 5);
	for (int i = 0; i < ncal; i++)
		fprintf(f, cmp_cal, i + 1, ncal, cal[i]);
	cr_assert_eq(fclose(f), 0);
	return path;
}

/* The host's probes are paired like figures but neither counted with them nor listed, nor do
 * they set the exit status: one line per backend gives each probe's ratio between the runs. */
static char *cmp_machine_file(const char *what, double syscall_median, double chase_median)
{
	static const char probe[] =
		"{\"config\":{\"backend\":\"%s\",\"workload\":\"machine\",\"phase\":\"%s\","
		"\"pattern\":\"-\",\"inval\":\"-\",\"trace\":\"off\",\"page_size\":4096,"
		"\"leaf_max\":0,\"op_bytes\":0,\"ops\":%d,\"threads\":%d},"
		"\"ops_s\":{\"median\":%g,\"min\":%g,\"max\":%g}}\n";
	char *path = tmp_path(what);
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fprintf(f, cmp_fig, "map", 100.0, 95.0, 105.0);
	for (const char *const *be = (const char *const[]){ "ref", "ref-uapi", NULL }; *be;
	     be++) {
		fprintf(f, probe, *be, "syscall", 20000, 1, syscall_median, syscall_median - 1,
			syscall_median + 1);
		fprintf(f, probe, *be, "chase", 100000, 1, chase_median, chase_median - 1,
			chase_median + 1);
		fprintf(f, probe, *be, "syscall", 40000, 2, 2 * syscall_median,
			2 * syscall_median - 1, 2 * syscall_median + 1);
	}
	cr_assert_eq(fclose(f), 0);
	return path;
}

Test(bench_tool, compare_sets_the_hosts_probes_apart_from_the_figures)
{
	char *old = cmp_machine_file("cmp-host-old", 100, 50);
	char *new = cmp_machine_file("cmp-host-new", 130, 50.5);
	char want[1024];
	const char *line;
	struct run r;

	/* the one figure agrees: exit 0, though the host's system calls moved x1.3 */
	BENCH(&r, 0, "--compare", old, new);
	snprintf(want, sizeof(want), "compare: 1 figures in both runs, 1 agree within the "
		 "reported spread, 0 do not (0 of them with spreads apart); 0 only in %s, 0 only "
		 "in %s\n", old, new);
	assert_contains(r.out, want, "the summary: probes are not figures");
	assert_contains(r.out, "the host as each worker started (workload machine, no IOMMU "
			"code), the second run's median over the first's (\"outside\": neither "
			"median within the other's spread):\n", "the heading");
	line = line_starting(r.out, "  ref:");
	cr_assert_str_eq(line, "  ref: syscall x1.300 (outside), chase x1.010, syscall on 2 "
			 "threads x1.300 (outside)", "%s", r.out);
	line = line_starting(r.out, "  ref-uapi:");
	cr_assert_str_eq(line, "  ref-uapi: syscall x1.300 (outside), chase x1.010, syscall on "
			 "2 threads x1.300 (outside)", "%s", r.out);
	cr_assert_null(strstr(r.out, "figures outside"), "no figure is listed:\n%s", r.out);
	run_free(&r);

	/* a run without probes (older): no host lines; its unmap figure is in it only */
	{
		char *bare = cmp_file("cmp-host-bare", 100, 200, NULL, 0);

		BENCH(&r, 0, "--compare", bare, new);
		assert_contains(r.out, "compare: 1 figures in both runs, 1 agree", "the summary");
		assert_contains(r.out, "1 only in", "the unmap figure of the bare run");
		cr_assert_null(strstr(r.out, "the host as"), "no pairs of probes:\n%s", r.out);
		run_free(&r);
		unlink(bare);
	}
	unlink(old);
	unlink(new);
}

Test(bench_tool, compare_counts_agreement_and_sets_calibrations_side_by_side)
{
	static const double cal_old[] = { 2e6, 2.2e6 }, cal_new[] = { 2.31e6 };
	char *old = cmp_file("cmp-old", 100, 200, cal_old, 2);
	char *new = cmp_file("cmp-new", 104, 300, cal_new, 1);
	char *near = cmp_file("cmp-near", 108, 300, cal_new, 1);
	char *bare = cmp_file("cmp-bare", 100, 200, NULL, 0);
	char want[1024];
	const char *line;
	struct run r;

	/* map 100 [95-105] then 104 [99-109]: agree; unmap 200 then 300: spreads apart */
	BENCH(&r, 1, "--compare", old, new);
	snprintf(want, sizeof(want), "compare: 2 figures in both runs, 1 agree within the "
		 "reported spread, 1 do not (1 of them with spreads apart); 0 only in %s, 0 only "
		 "in %s\n", old, new);
	assert_contains(r.out, want, "the summary");
	line = line_starting(r.out, "  ref pages unmap seq");
	assert_contains(line, ": 200 [195-205] then 300 [295-305], x1.500 (spreads apart)",
			"the unmap line");
	cr_assert_null(strstr(r.out, "  ref pages map seq"), "map agrees:\n%s", r.out);
	/* medians 2.1 ms (2.0, 2.2) and 2.31 ms: the second run's loop took 1.1 times as long */
	snprintf(want, sizeof(want), "calibration (a fixed CPU loop, median of each run's "
		 "rounds): 2.100 ms in %s (max/min x1.100 over 2 rounds), 2.310 ms in %s (x1.000 "
		 "over 1): the second took x1.100 the first's time; figures are compared as "
		 "measured, not rescaled\n", old, new);
	assert_contains(r.out, want, "the calibration line");
	cr_assert_null(strstr(r.out, "ignored"), "calibration lines are not damage:\n%s", r.out);
	run_free(&r);

	/* map 100 [95-105] then 108 [103-113]: neither median inside the other's spread, but
	 * the spreads overlap */
	BENCH(&r, 1, "--compare", old, near);
	snprintf(want, sizeof(want), "compare: 2 figures in both runs, 0 agree within the "
		 "reported spread, 2 do not (1 of them with spreads apart)");
	assert_contains(r.out, want, "the summary");
	line = line_starting(r.out, "  ref pages map seq");
	assert_contains(line, ": 100 [95-105] then 108 [103-113], x1.080", "the map line");
	cr_assert_null(strstr(line, "apart"), "the spreads overlap: %s", line);
	run_free(&r);

	BENCH(&r, 0, "--compare", old, bare);
	snprintf(want, sizeof(want), "calibration: only %s has calibration lines", old);
	assert_contains(r.out, want, "one run without calibration");
	run_free(&r);
	unlink(old);
	unlink(new);
	unlink(near);
	unlink(bare);
}
