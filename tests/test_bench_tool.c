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
 *  - usage errors and a --json path that cannot be written: exit 2 naming the value.
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

/* Every line of the file, each a figure ({"config":{...},...}) or a skip ({"skipped":true,...}). */
struct jsonl {
	char *text;
	const char **line;
	size_t n;
};

static void jsonl_read(struct jsonl *j, const char *path)
{
	char *p;

	j->text = slurp(path);
	j->line = NULL;
	j->n = 0;
	for (p = j->text; *p;) {
		char *nl = strchr(p, '\n');

		cr_assert_not_null(nl, "%s: its last line is not terminated: %s", path, p);
		*nl = '\0';
		j->line = realloc(j->line, (j->n + 1) * sizeof(*j->line));
		cr_assert_not_null(j->line);
		j->line[j->n++] = p;
		p = nl + 1;
	}
}

static void jsonl_free(struct jsonl *j)
{
	free(j->text);
	free(j->line);
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

/* Every line of the file is a figure or a skip line. */
static void assert_shapes(const struct jsonl *j)
{
	cr_assert_gt(j->n, 0, "no JSON line at all");
	for (size_t i = 0; i < j->n; i++)
		cr_assert(is_skip(j->line[i]) || json_value(j->line[i], "config.backend"),
			  "line %zu is neither a figure nor a skip: %s", i + 1, j->line[i]);
}

/* Run ioasid-bench with the arguments after the binary, expecting exit status `want`. On
 * another status the --json file is shown too: with -q a failure's reasons are in its skip
 * lines only. */
#define BENCH(r, want, ...) bench_expect((r), (want), ARGV(bench_bin, __VA_ARGS__))

static void bench_expect(struct run *r, int want, const char *const *argv)
{
	run_v(r, NULL, argv);
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
	static const char *const workloads[] = { "pages", "region", "small-regions", "copy", "dma",
						 "dma-api", "vm-start", "threads" };
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
	static const char *const workloads[] = { "pages", "region", "small-regions", "copy", "dma",
						 "dma-api", "vm-start", "threads" };
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
	      "-t", "counters,check", "-j", json, "-q");
	run_free(&r);
	jsonl_read(&j, json);
	assert_shapes(&j);
	cr_assert_eq(count_skips(&j, NULL), 0, "%s", j.text);
	cr_assert_eq(j.n, 6, "map and unmap, untraced, with counters, with the check:\n%s", j.text);
	for (size_t p = 0; p < 2; p++) {
		const char *off = the_figure(&j, WHERE("config.trace=off", phases[p]));

		cr_assert_eq(jnum(off, "overhead"), 0, "%s", off);
		for (const char *const *mode = (const char *const[]){ "config.trace=counters",
								       "config.trace=check", NULL };
		     *mode; mode++) {
			const char *rec = the_figure(&j, WHERE(*mode, phases[p]));
			double over = jnum(rec, "overhead");

			assert_figure_sane(rec, 3);
			/* the ratio of this figure's median time to the untraced one's. Not bounded
			 * further: the two runs are seconds apart, and with the tests running in
			 * parallel a disturbed untraced run gives ratios from 0.2 to 8 */
			cr_assert_gt(over, 0, "%s", rec);
			cr_assert_eq(over, jnum(rec, "repeat_ns.median") /
					   jnum(off, "repeat_ns.median"),
				     "%s\nthe untraced figure: %s", rec, off);
			cr_assert_gt(jnum(rec, "events"), 0, "the tracer saw nothing: %s", rec);
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
