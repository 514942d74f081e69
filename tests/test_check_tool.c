/* test_check_tool.c — ioasid-check end to end (suite check_tool): the operator's view.
 *
 * Runs the built tool as a child: usage errors (exit 2) and the rule catalogue; a VMM scenario
 * audited live under the shim (BPF, USDT) and its recording audited offline, with the same
 * report byte for byte, clean (exit 0) and with the guest's deliberate stale DMA (MAP-4, exit
 * 1); a bug injected into the reference under the shim caught live (IOASID_INJECT passes
 * through ioasid-run); a truncated recording and a hand-made hostile stream (duplicated,
 * reordered beyond the window, gapped) never called clean (exit 2); the kernel source with its
 * not-checkable rules. Needs BPF for the live parts (bpf_test.h rules). */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#define RUN_TIMEOUT_S 120
#include "run_child.h"
#include "bpf_test.h"
#include "ioasid/trace_file.h"

static char check_bin[PATH_MAX], scenario[PATH_MAX], cdev_client[PATH_MAX], bench_map[PATH_MAX];

static void locate(void)
{
	run_locate("../bin/ioasid-check", "../../bin/ioasid-check", check_bin);
	run_locate("clients/vmm_scenario", "../../tests/clients/vmm_scenario", scenario);
	run_locate("clients/cdev_client", "../../tests/clients/cdev_client", cdev_client);
	run_locate("../bench/bench_ioas_map", "../../bench/bench_ioas_map", bench_map);
}

TestSuite(check_tool, .init = locate, .timeout = 200);

static char *tmp_path(const char *what)
{
	return run_tmp_path("check", what);
}

static int count_of(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

Test(check_tool, usage_errors_and_the_rule_catalogue)
{
	static const char *const ids[] = { "OWN-1", "OWN-2", "OWN-3", "OWN-4", "GRP-1", "GRP-2",
					   "GRP-3", "PAS-1", "PAS-2", "PAS-3", "PAS-4", "MAP-1",
					   "MAP-2", "MAP-3", "MAP-4" };
	struct run r;

	run_v(&r, NULL, ARGV(check_bin));
	assert_status(&r, 2);
	assert_contains(r.err, "no source", "stderr");
	run_free(&r);
	run_v(&r, NULL, ARGV(check_bin, "--history", "0", "-r", "x"));
	assert_status(&r, 2);
	assert_contains(r.err, "--history '0'", "stderr");
	run_free(&r);
	run_v(&r, NULL, ARGV(check_bin, "-r", "/nonexistent/x.trace"));
	assert_status(&r, 2);
	assert_contains(r.err, "/nonexistent/x.trace", "stderr");
	run_free(&r);
	run_v(&r, NULL, ARGV(check_bin, "--rules"));
	assert_status(&r, 0);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		assert_contains(r.out, ids[i], "--rules");
	assert_contains(r.out, "evidence:", "--rules");
	run_free(&r);
}

static char *slurp(const char *path)
{
	char *text = run_slurp(path);

	cr_assert_not_null(text, "%s: %s", path, strerror(errno));
	return text;
}

/* Live under the shim (a private host: tests run in parallel), recorded; then the recording
 * offline. The reports (-o: the command keeps stdout) must be the same, byte for byte.
 * Returns the live report (malloc'd). */
static char *live_then_offline(const char *const *env, const char *const *cmd_args, int want,
			       const char *rec)
{
	char *out_live = tmp_path("live"), *out_off = tmp_path("off");
	const char *argv[16] = { check_bin, "--platform", "", "-o", out_live, "-w", rec, "--" };
	size_t n = 8;
	struct run r;
	char *live, *off;

	for (size_t i = 0; cmd_args[i]; i++)
		argv[n++] = cmd_args[i];
	argv[n] = NULL;
	run_v(&r, env, argv);
	assert_status(&r, want);
	run_free(&r);
	run_v(&r, NULL, ARGV(check_bin, "-o", out_off, "-r", rec));
	assert_status(&r, want);
	run_free(&r);
	live = slurp(out_live);
	off = slurp(out_off);
	cr_assert_str_eq(off, live, "offline and live reports differ:\n--- live\n%s\n--- offline\n%s",
			 live, off);
	free(off);
	unlink(out_live);
	unlink(out_off);
	return live;
}

Test(check_tool, a_well_behaved_vmm_audits_clean_live_and_offline)
{
	char *rec = tmp_path("clean"), *live;
	struct run off;

	bpf_test_require(true);
	live = live_then_offline(NULL, ARGV(scenario, "1", "--guest-invalidates"), 0, rec);
	assert_contains(live, "verdict: clean", "report");
	cr_assert_null(strstr(live, "VIOLATION"), "%s", live);
	assert_contains(live, "OWN-1  checked", "summary per rule");
	free(live);
	/* JSON Lines: a summary object with the verdict */
	run_v(&off, NULL, ARGV(check_bin, "-j", "-r", rec));
	assert_status(&off, 0);
	assert_contains(off.out, "\"kind\":\"summary\"", "-j");
	run_free(&off);
	unlink(rec);
}

Test(check_tool, the_guests_stale_dma_is_map_4_live_and_offline)
{
	char *rec = tmp_path("stale"), *live;
	struct run off;

	bpf_test_require(true);
	live = live_then_offline(NULL, ARGV(scenario, "1"), 1, rec);
	assert_contains(live, "VIOLATION MAP-4", "report");
	assert_contains(live, "  event: ", "the breaking event");
	assert_contains(live, "  before: ", "the events that led there");
	cr_assert_null(strstr(live, "VIOLATION MAP-2"), "only MAP-4:\n%s", live);
	free(live);
	run_v(&off, NULL, ARGV(check_bin, "-j", "-r", rec));
	assert_status(&off, 1);
	assert_contains(off.out, "\"id\":\"MAP-4\"", "-j");
	run_free(&off);
	unlink(rec);
}

Test(check_tool, an_injected_bug_is_caught_under_the_shim)
{
	char *rec = tmp_path("inject"), *live;

	bpf_test_require(true);
	live = live_then_offline(ENV("IOASID_INJECT=unmap-skip-flush"), ARGV(cdev_client), 1, rec);
	assert_contains(live, "VIOLATION MAP-2", "report");
	cr_assert_eq(count_of(live, "VIOLATION"), 1, "one missed flush, one report:\n%s", live);
	free(live);
	unlink(rec);
}

Test(check_tool, a_truncated_recording_is_never_clean)
{
	char *rec = tmp_path("trunc");
	struct run r;
	struct stat st;

	bpf_test_require(true);
	run_v(&r, NULL, ARGV(check_bin, "--platform", "", "-q", "-w", rec, "--", scenario, "1",
			     "--guest-invalidates"));
	assert_status(&r, 0);
	run_free(&r);
	cr_assert_eq(stat(rec, &st), 0);
	cr_assert_eq(truncate(rec, st.st_size / 2), 0);
	run_v(&r, NULL, ARGV(check_bin, "-r", rec));
	assert_status(&r, 2);
	assert_contains(r.out, "STREAM damaged", "stdout");
	assert_contains(r.out, "not clean", "stdout");
	run_free(&r);
	unlink(rec);
}

/* A hand-made file: a clean little stream, then the same with one event duplicated, two
 * swapped far beyond the window, and a hole. */
static void write_stream(const char *path, const struct ioasid_event *evs, size_t n)
{
	struct ioasid_trace_file_header h;
	struct ioasid_trace_writer *w;

	ioasid_trace_file_header_init(&h, IOASID_TRACE_LAUNCH, "test_check_tool");
	cr_assert_eq(ioasid_trace_writer_open(path, &h, &w), 0, "%s", ioasid_trace_last_error());
	cr_assert_eq(ioasid_trace_writer_append_batch(w, evs, n), 0);
	cr_assert_eq(ioasid_trace_writer_close(w), 0);
}

static struct ioasid_event mk(uint64_t seq, uint16_t type, uint64_t iova)
{
	struct ioasid_event e = { .type = type, .source = IOASID_SRC_REFERENCE,
				  .version = IOASID_EVENT_VERSION, .seq = seq, .ts_ns = seq * 1000,
				  .pid = 4242, .tid = 4242, .ctx = 0x77 };

	if (type == IOASID_EV_OBJ_ALLOC)
		e.obj = 1, e.aux = IOASID_OBJK_IOAS;
	if (type == IOASID_EV_IOAS_MAP || type == IOASID_EV_IOAS_UNMAP) {
		e.obj = 1;
		e.iova = iova;
		e.length = 0x1000;
		e.value = type == IOASID_EV_IOAS_UNMAP ? 0x1000 : 0;
	}
	return e;
}

Test(check_tool, hostile_streams_get_diagnostics_never_clean)
{
	enum { N = 6000 };
	static struct ioasid_event evs[N + 8];
	char *path = tmp_path("hostile");
	struct run r;
	size_t n = 0;
	uint64_t seq = 1;

	evs[n++] = mk(seq++, IOASID_EV_CTX_OPEN, 0);
	evs[n++] = mk(seq++, IOASID_EV_OBJ_ALLOC, 0);
	for (int i = 0; i < (N - 2) / 2; i++) {
		evs[n++] = mk(seq++, IOASID_EV_IOAS_MAP, 0x100000 + (uint64_t)i * 0x1000);
		evs[n++] = mk(seq++, IOASID_EV_IOAS_UNMAP, 0x100000 + (uint64_t)i * 0x1000);
	}
	write_stream(path, evs, n);
	run_v(&r, NULL, ARGV(check_bin, "-r", path));
	assert_status(&r, 0);
	assert_contains(r.out, "verdict: clean", "the intact stream");
	run_free(&r);

	evs[100] = evs[99];                              /* a duplicate (and seq 101 is lost) */
	{
		struct ioasid_event t = evs[10];         /* 5000 events apart: beyond the window */

		evs[10] = evs[5010];
		evs[5010] = t;
	}
	write_stream(path, evs, n);
	run_v(&r, NULL, ARGV(check_bin, "-r", path));
	assert_status(&r, 2);
	assert_contains(r.out, "STREAM duplicate", "stdout");
	assert_contains(r.out, "STREAM gap", "stdout");
	assert_contains(r.out, "STREAM out-of-order", "stdout");
	assert_contains(r.out, "not clean", "stdout");
	run_free(&r);
	unlink(path);
}

/* -p: a running process that links the reference (the map/unmap benchmark), joined while it
 * works: the events made while the probes were being attached are held back, so the stream
 * starts complete and a late join raises no false violation; the audit ends with the process. */
Test(check_tool, joining_a_running_process_audits_clean)
{
	char cmd[3 * PATH_MAX];
	struct run r;

	bpf_test_require(true);
	snprintf(cmd, sizeof(cmd), "(exec %s --small 20000 --repeats 7 >/dev/null) & sleep 0.2; "
		 "exec %s -q -p $!", bench_map, check_bin);
	run_v(&r, NULL, ARGV("/bin/bash", "-c", cmd));
	assert_status(&r, 0);
	assert_contains(r.out, "verdict: clean", "stdout");
	cr_assert_null(strstr(r.out, "events checked  0\n"), "events were checked:\n%s", r.out);
	run_free(&r);
}

Test(check_tool, the_kernel_source_says_what_it_cannot_check)
{
	struct run r;

	bpf_test_require(false);
	run_v(&r, NULL, ARGV(check_bin, "-k", "-d", "1"));
	/* this kernel has no iommufd fentry: the ownership rules need events it cannot give */
	assert_contains(r.out, "not checkable on this source", "stdout");
	cr_assert(r.status == 0 || r.status == 2, "status %d\n%s%s", r.status, r.out, r.err);
	run_free(&r);
}
