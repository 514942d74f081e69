/* test_trace_tool.c — ioasid-trace end to end (suite trace_tool): the operator's view.
 *
 * Runs the built tool as a child: usage errors (exit 2), --check, --dry-run -v listing what
 * would attach and what would be skipped with reasons (reference and kernel), a launched
 * client traced and recorded, the recording replayed as text and JSON Lines with the same
 * counts, a damaged recording reported at its offset (exit 1), and libbpf's misleading
 * memlock hint never printed. Needs BPF for the live parts (bpf_test.h rules). */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>

#define RUN_TIMEOUT_S 120
#include "run_child.h"
#include "bpf_test.h"

static char trace_bin[PATH_MAX], workload[PATH_MAX];

static void locate(void)
{
	char self[PATH_MAX - 64], try_[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	cr_assert_gt(n, 0);
	self[n] = '\0';
	*strrchr(self, '/') = '\0';       /* build/tests or build/asan/tests */
	snprintf(try_, sizeof(try_), "%s/../bin/ioasid-trace", self);
	if (access(try_, X_OK))
		snprintf(try_, sizeof(try_), "%s/../../bin/ioasid-trace", self);
	cr_assert_not_null(realpath(try_, trace_bin), "ioasid-trace not built: run 'make'");
	snprintf(try_, sizeof(try_), "%s/clients/vmm_workload", self);
	if (access(try_, X_OK))
		snprintf(try_, sizeof(try_), "%s/../../tests/clients/vmm_workload", self);
	cr_assert_not_null(realpath(try_, workload), "vmm_workload not built: run 'make'");
}

TestSuite(trace_tool, .init = locate, .timeout = 150);

static int count_lines(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

Test(trace_tool, usage_errors_exit_2)
{
	struct run r;

	run_v(&r, NULL, ARGV(trace_bin));
	assert_status(&r, 2);
	assert_contains(r.err, "no source", "stderr");
	run_free(&r);
	run_v(&r, NULL, ARGV(trace_bin, "-k", "-r", "x"));
	assert_status(&r, 2);
	assert_contains(r.err, "give one source", "stderr");
	run_free(&r);
	run_v(&r, NULL, ARGV(trace_bin, "-p", "12x"));
	assert_status(&r, 2);
	assert_contains(r.err, "-p '12x': not a process id", "stderr");
	run_free(&r);
	run_v(&r, NULL, ARGV(trace_bin, "-e", "ioas_mapp", "-k"));
	assert_status(&r, 2);
	assert_contains(r.err, "-e 'ioas_mapp': unknown event type", "stderr");
	run_free(&r);
	run_v(&r, NULL, ARGV(trace_bin, "--help"));
	assert_status(&r, 0);
	assert_contains(r.out, "Examples:", "--help");
	run_free(&r);
}

Test(trace_tool, check_and_dry_run)
{
	struct run r;

	bpf_test_require(true);
	run_v(&r, NULL, ARGV(trace_bin, "--check", "-k"));
	assert_status(&r, 0);
	assert_contains(r.err, "nothing missing", "stderr");
	run_free(&r);

	run_v(&r, NULL, ARGV(trace_bin, "--dry-run", "-v", "--", workload, "64"));
	assert_status(&r, 0);
	assert_contains(r.err, "attach    ioasid_usdt_event", "plan");
	assert_contains(r.err, "usdt ioasid:ioas_map in", "plan");
	assert_contains(r.err, "libioasid-preload.so", "plan");
	cr_assert_eq(strstr(r.err, "ulimit"), NULL, "never the memlock hint:\n%s", r.err);
	run_free(&r);

	/* The kernel: tracepoints attach; fentry is skipped here with a reason, not a failure. */
	run_v(&r, NULL, ARGV(trace_bin, "--dry-run", "-v", "-k"));
	assert_status(&r, 0);
	assert_contains(r.err, "iommu:map", "plan");
	assert_contains(r.err, "skip", "plan");
	assert_contains(r.err, "fentry", "plan");
	cr_assert_eq(strstr(r.err, "ulimit"), NULL, "never the memlock hint:\n%s", r.err);
	run_free(&r);

	run_v(&r, NULL, ARGV(trace_bin, "--dry-run", "-k", "--btf", "/nonexistent/vmlinux"));
	assert_status(&r, 2);
	assert_contains(r.err, "/nonexistent/vmlinux", "stderr");
	run_free(&r);
}

Test(trace_tool, launch_record_replay_text_and_json)
{
	char rec[] = "/tmp/ioasid-trace-tool-XXXXXX";
	char bad[sizeof(rec) + 8];
	struct run r;
	int fd, maps_live;
	FILE *f;
	long size;

	bpf_test_require(true);
	fd = mkstemp(rec);
	cr_assert_geq(fd, 0);
	close(fd);

	/* Live, printed as text and recorded. */
	run_v(&r, NULL, ARGV(trace_bin, "-w", rec, "--platform", "", "--", workload, "64"));
	assert_status(&r, 0);
	assert_contains(r.out, "done: all iommufd calls succeeded", "the client's own output");
	assert_contains(r.err, "dropped", "summary");
	assert_contains(r.err, " 0 dropped", "summary");
	assert_contains(r.err, "command exited with status 0", "summary");
	maps_live = count_lines(r.out, " ioas_map ");
	cr_assert_eq(maps_live, 33, "32 RAM chunks + the bounce buffer; got %d\n%s", maps_live,
		     r.out);
	run_free(&r);

	/* Replayed as text: the same maps. */
	run_v(&r, NULL, ARGV(trace_bin, "-r", rec));
	assert_status(&r, 0);
	cr_assert_eq(count_lines(r.out, " ioas_map "), 33, "%s", r.out);
	run_free(&r);

	/* Replayed as JSON Lines, filtered. */
	run_v(&r, NULL, ARGV(trace_bin, "-r", rec, "-j", "-e", "ioas_map,ioas_unmap"));
	assert_status(&r, 0);
	cr_assert_eq(count_lines(r.out, "\"event\":\"ioas_map\""), 33, "%s", r.out);
	cr_assert_eq(count_lines(r.out, "\"event\":\"ioas_unmap\""), 2, "%s", r.out);
	cr_assert_eq(count_lines(r.out, "\n"), 35, "only the filtered types:\n%s", r.out);
	run_free(&r);

	/* Truncated: every event before the damage, then the offset, exit 1. */
	snprintf(bad, sizeof(bad), "%s.bad", rec);
	f = fopen(rec, "rb");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	{
		char cmd[PATH_MAX * 2];

		snprintf(cmd, sizeof(cmd), "head -c %ld '%s' > '%s'", size - 7, rec, bad);
		cr_assert_eq(system(cmd), 0);
	}
	run_v(&r, NULL, ARGV(trace_bin, "-r", bad));
	assert_status(&r, 1);
	assert_contains(r.err, "offset", "the error names the offset");
	run_free(&r);
	unlink(bad);
	unlink(rec);
}

Test(trace_tool, missing_file_exits_2)
{
	struct run r;

	run_v(&r, NULL, ARGV(trace_bin, "-r", "/nonexistent/trace.bin"));
	assert_status(&r, 2);
	assert_contains(r.err, "/nonexistent/trace.bin", "stderr");
	run_free(&r);
}
