/* test_testbed.c — the real-kernel testbed's host-side judges (scripts/testbed/), on fixtures.
 *
 * `make check-kernel` trusts five scripts to say pass or fail: unframe.awk (the guest's results
 * channel back into files), verify-kernel-path.sh (tool counts against the kernel's trace
 * buffer), compare-selftests.sh and compare-transcripts.sh (real kernel against reference,
 * differences explained or not), verify-bench.sh (the kernel backends' figures). Each is run
 * here on small fixtures written by the test, once consistent (it must pass) and once with one
 * thing wrong (it must fail and name that thing), so none of them can pass by accident.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RUN_TIMEOUT_S 60
#include "run_child.h"

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ioasid-testbed-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(testbed, .init = make_dir, .fini = remove_dir, .timeout = 60);

/* A script of the repository, from build/tests or build/asan/tests. */
static void script(const char *rel, char out[PATH_MAX])
{
	char self[PATH_MAX - 64], try_[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	cr_assert_gt(n, 0);
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(try_, sizeof(try_), "%s/../../%s", self, rel);
	if (access(try_, R_OK))
		snprintf(try_, sizeof(try_), "%s/../../../%s", self, rel);
	cr_assert_not_null(realpath(try_, out), "%s not found beside the build directory", rel);
}

static void put(const char *name, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static char *slurp_in(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return run_slurp(path);
}

/* ---- unframe.awk ---------------------------------------------------------------------------- */

static void unframe(struct run *r)
{
	char awkf[PATH_MAX], out[PATH_MAX + 8], chan[PATH_MAX];

	script("scripts/testbed/unframe.awk", awkf);
	snprintf(out, sizeof(out), "out=%s", dir);
	snprintf(chan, sizeof(chan), "%s/channel.log", dir);
	run_v(r, NULL, ARGV("/usr/bin/awk", "-v", out, "-f", awkf, chan));
}

Test(testbed, unframe_keeps_complete_files_and_the_exit_status)
{
	struct run r;
	char *a;

	/* "hello\n" is aGVsbG8K; lines end in \r\n as a tty may write them */
	put("channel.log", "@@TESTBED BOOTED 6.12.117\r\n@@TESTBED FILE a.txt 6\r\naGVsbG8K\r\n"
	    "@@TESTBED END a.txt\r\n@@TESTBED MISSING b.txt\r\n@@TESTBED EXIT 3\r\n");
	unframe(&r);
	assert_status(&r, 0);
	cr_assert_str_eq(r.out, "3\n");
	a = slurp_in("a.txt");
	cr_assert_not_null(a);
	cr_assert_str_eq(a, "hello\n");
	free(a);
	run_free(&r);
}

Test(testbed, unframe_drops_cut_damaged_and_escaping_blocks_naming_them)
{
	struct run r;

	put("channel.log",
	    "@@TESTBED FILE short.txt 9\naGVsbG8K\n@@TESTBED END short.txt\n"   /* 6 bytes, not 9 */
	    "@@TESTBED FILE ../up.txt 6\naGVsbG8K\n@@TESTBED END ../up.txt\n"
	    "@@TESTBED FILE cut.txt 6\naGVs\n");                             /* the guest died */
	unframe(&r);
	assert_status(&r, 0);
	cr_assert_str_eq(r.out, "\n", "no EXIT line: no status");
	assert_contains(r.err, "file short.txt: 9 bytes announced, 6 decoded: dropped", "stderr");
	assert_contains(r.err, "malformed FILE line '@@TESTBED FILE ../up.txt 6'", "stderr");
	assert_contains(r.err, "file cut.txt has no END", "stderr");
	cr_assert_null(slurp_in("short.txt"));
	cr_assert_null(slurp_in("cut.txt"));
	cr_assert_null(slurp_in("../up.txt"));
	run_free(&r);
}

/* ---- verify-kernel-path.sh ------------------------------------------------------------------ */

/* A consistent set: 3 IOAS maps (N=3), 10 domain maps, 10 flushes, ... */
static void kernel_path_fixture(unsigned domain_maps_in_oracle)
{
	put("oracle.txt", "event map %u\nevent unmap 10\nevent attach_device_to_domain 6\n"
	    "event add_device_to_group 1\nevent remove_device_from_group 1\n"
	    "event cache_tag_flush_range 9\nevent cache_tag_flush_all 1\n"
	    "function iommufd_device_bind 1\nfunction iommufd_device_unbind 1\n"
	    "function iommufd_device_attach 1\nfunction iommufd_device_detach 1\n"
	    "function iommu_device_claim_dma_owner 1\nfunction iommu_device_release_dma_owner 1\n"
	    "function iopt_map_user_pages 3\nfunction iopt_unmap_iova 3\n"
	    "function iommufd_hwpt_paging_alloc 1\n", domain_maps_in_oracle);
	put("replay-summary.txt", "ioasid-trace: 52 events received, 52 emitted, 0 dropped\n"
	    "ioasid-trace: by type: dev_bind=1 dev_unbind=1 dev_attach=7 dev_detach=1 "
	    "hwpt_alloc=1 ioas_map=3 ioas_unmap=3 domain_map=10 domain_unmap=10 iotlb_inv=10 "
	    "group_claim=1 group_release=1 group_add_dev=1 group_del_dev=1\n");
	put("exits.txt", "ioasid-trace exit 0\nioasid-check exit 0\nioasid-top exit 0\n");
	put("top.jsonl", "{\"type\":\"header\",\"maps\":3,\"unmaps\":3,\"invs\":10,"
	    "\"attach_ops\":7,\"detach_ops\":1,\"events\":52,\"dropped\":0}\n");
	put("check.jsonl", "{\"kind\":\"summary\",\"events\":52,\"violations\":0,\"lost\":0,"
	    "\"verdict\":0,\"verdict_text\":\"clean\"}\n");
	put("trace.err", "ioasid-trace: 26 of 44 programs/probes attached, 18 skipped\n");
	put("iommufd_map_loop.out", "iommufd_map_loop: done binds=1 attaches=1 detaches=1 "
	    "maps=3 unmaps=3 bytes=12288\n");
}

static void verify_kernel_path(struct run *r)
{
	char sh[PATH_MAX];

	script("scripts/testbed/verify-kernel-path.sh", sh);
	run_v(r, NULL, ARGV(sh, dir, "3"));
}

Test(testbed, verify_kernel_path_passes_when_every_count_matches_the_oracle)
{
	struct run r;

	kernel_path_fixture(10);
	verify_kernel_path(&r);
	assert_status(&r, 0);
	assert_contains(r.out, "PASS domain_map = iommu:map", "stdout");
	assert_contains(r.out, "verify: 48 of 48 checks passed", "stdout");
	run_free(&r);
}

Test(testbed, verify_kernel_path_fails_on_one_count_naming_both_numbers)
{
	struct run r;

	kernel_path_fixture(11);
	verify_kernel_path(&r);
	assert_status(&r, 1);
	assert_contains(r.out, "FAIL domain_map = iommu:map", "stdout");
	assert_contains(r.out, "got 10, expected 11", "stdout");
	assert_contains(r.out, "verify: 47 of 48 checks passed", "stdout");
	run_free(&r);
}

Test(testbed, verify_kernel_path_fails_on_a_skipped_program_and_a_missing_file)
{
	struct run r;
	char path[PATH_MAX];

	kernel_path_fixture(10);
	put("trace.err", "  skip      ioasid_fexit_iopt_map        fexit iopt_map_user_pages: "
	    "function iopt_map_user_pages not in this kernel's BTF\n");
	verify_kernel_path(&r);
	assert_status(&r, 1);
	assert_contains(r.out, "FAIL attached: ioasid_fexit_iopt_map", "stdout");
	run_free(&r);

	snprintf(path, sizeof(path), "%s/oracle.txt", dir);
	cr_assert_eq(unlink(path), 0);
	verify_kernel_path(&r);
	assert_status(&r, 2);
	assert_contains(r.err, "oracle.txt is missing", "stderr");
	run_free(&r);
}

/* ---- compare-selftests.sh ------------------------------------------------------------------- */

static const char *doc_rows =
	"<!-- selftest-diff:begin -->\n"
	"| binary | case | kernel | reference | reason |\n"
	"|---|---|---|---|---|\n"
	"| t | `fix.*.b` | fail | pass | the kernel lacks b |\n"
	"%s"
	"<!-- selftest-diff:end -->\n";

static void selftest_fixture(const char *extra_row, const char *c_kernel)
{
	put("selftest-iommufd.out", "TAP version 13\n1..3\n# RUN fix.v.a ...\nok 1 fix.v.a\n"
	    "# RUN fix.v.b ...\n# t.c:9:b:Expected 0 (0) == x (-1)\nnot ok 2 fix.v.b\n"
	    "# RUN fix.v.c ...\n%s 3 fix.v.c\n", c_kernel);
	put("selftest-iommufd_fail_nth.out", "TAP version 13\n1..0\n");
	put("ref.tsv", "binary\tcase\tresult\treason\n"
	    "iommufd\tfix.v.a\tpass\t-\niommufd\tfix.v.b\tpass\t-\niommufd\tfix.v.c\tpass\t-\n");
	put("doc.md", doc_rows, extra_row);
}

static void compare_selftests(struct run *r)
{
	char sh[PATH_MAX], ref[PATH_MAX], env[PATH_MAX + 32];

	script("scripts/testbed/compare-selftests.sh", sh);
	snprintf(ref, sizeof(ref), "%s/ref.tsv", dir);
	snprintf(env, sizeof(env), "CONFORMANCE_DOC=%s/doc.md", dir);
	run_v(r, ENV(env), ARGV(sh, dir, ref));
}

Test(testbed, compare_selftests_accepts_explained_differences_only)
{
	struct run r;

	/* binary "t" does not match the binary "iommufd": the row explains nothing */
	selftest_fixture("", "ok");
	compare_selftests(&r);
	assert_status(&r, 1);
	assert_contains(r.out, "UNEXPLAINED  iommufd", "stdout");
	assert_contains(r.out, "kernel: t.c:9:b:Expected 0 (0) == x (-1)", "stdout");
	assert_contains(r.out, "stale row in docs/CONFORMANCE.md (no case needs it now): t fix.*.b",
			"stdout");
	run_free(&r);

	selftest_fixture("| iommufd | `fix.*.b` | fail | pass | the kernel lacks b |\n", "ok");
	compare_selftests(&r);
	assert_status(&r, 0);
	assert_contains(r.out, "2 cases agree, 1 differ with a documented reason, 0 differ "
			"unexplained", "stdout");
	run_free(&r);

	selftest_fixture("| iommufd | `fix.*.b` | fail | pass | the kernel lacks b |\n", "not ok");
	compare_selftests(&r);
	assert_status(&r, 1);
	assert_contains(r.out, "UNEXPLAINED  iommufd          fix.v.c", "stdout");
	run_free(&r);
}

/* ---- compare-transcripts.sh ----------------------------------------------------------------- */

static void compare_transcripts(struct run *r)
{
	char sh[PATH_MAX], k[PATH_MAX], ref[PATH_MAX], doc[PATH_MAX];

	script("scripts/testbed/compare-transcripts.sh", sh);
	snprintf(k, sizeof(k), "%s/k", dir);
	snprintf(ref, sizeof(ref), "%s/r", dir);
	snprintf(doc, sizeof(doc), "%s/doc.md", dir);
	run_v(r, NULL, ARGV(sh, k, ref, "--doc", doc));
}

Test(testbed, compare_transcripts_fails_on_an_undocumented_errno)
{
	struct run r;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/k", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/r", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	put("k/edges.txt", "# edges\nIOAS_ALLOC: rc=0 id=1\nIOAS_MAP len=0: rc=-1 errno=EINVAL\n");
	put("r/edges.txt", "# edges\nIOAS_ALLOC: rc=0 id=1\nIOAS_MAP len=0: rc=-1 errno=ENOENT\n");
	put("doc.md", "## Reference vs real kernel (testbed)\n\n"
	    "| client | step | kernel | reference | reason |\n|---|---|---|---|---|\n");
	compare_transcripts(&r);
	assert_status(&r, 1);
	assert_contains(r.out, "IOAS_MAP len=0", "stdout");
	assert_contains(r.out, "errno=EINVAL", "stdout");
	assert_contains(r.out, "errno=ENOENT", "stdout");
	run_free(&r);

	put("doc.md", "## Reference vs real kernel (testbed)\n\n"
	    "| client | step | kernel | reference | reason |\n|---|---|---|---|---|\n"
	    "| edges | `IOAS_MAP len=0` | `rc=-1 errno=EINVAL` | `rc=-1 errno=ENOENT` | a test |\n");
	compare_transcripts(&r);
	assert_status(&r, 0);
	assert_contains(r.out, "edges: lines 3, agree 2, documented 1, disagree 0", "stdout");
	run_free(&r);
}

/* ---- verify-bench.sh ------------------------------------------------------------------------ */

/* Every figure verify-bench.sh asks for, for both kernel backends; `bad_skip` adds a skip the
 * kernel backends have no reason for. */
static void bench_fixture(bool bad_skip)
{
	static const char *const wl[] = { "pages", "region", "small-regions", "copy", "vm-start",
					  "threads" };
	static const char *const tr[] = { "off", "counters", "events", "check" };
	static const unsigned long long ps[] = { 4096, 2097152, 1073741824 };
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/bench.jsonl", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	for (int b = 0; b < 2; b++)
		for (size_t w = 0; w < 6; w++)
			for (size_t t = 0; t < 4; t++)
				for (size_t p = 0; p < 3; p++)
					fprintf(f, "{\"config\":{\"backend\":\"%s\",\"served_by\":"
						"\"kernel\",\"workload\":\"%s\",\"trace\":\"%s\","
						"\"page_size\":%llu,\"phase\":\"map\"},\"ops_s\":"
						"{\"median\":1000},\"overhead\":%s,\"events\":%d,"
						"\"dropped\":0,\"violations\":%d}\n",
						b ? "kernel-type1" : "kernel", wl[w], tr[t], ps[p],
						t ? "1.2" : "0", t ? 50 : 0, t == 3 ? 0 : -1);
	fprintf(f, "{\"skipped\":true,\"backend\":\"kernel\",\"workload\":\"dma\",\"why\":\"has "
		"no device DMA through the mock IOTLB\"}\n");
	if (bad_skip)
		fprintf(f, "{\"skipped\":true,\"backend\":\"kernel\",\"workload\":\"region\","
			"\"why\":\"mmap failed\"}\n");
	fclose(f);
	put("steps.tsv", "bench\t0\t12\n");
}

Test(testbed, verify_bench_accepts_only_skips_a_kernel_backend_has_a_reason_for)
{
	struct run r;
	char sh[PATH_MAX];

	script("scripts/testbed/verify-bench.sh", sh);
	bench_fixture(false);
	run_v(&r, NULL, ARGV(sh, dir));
	assert_status(&r, 0);
	assert_contains(r.out, "verify-bench: 28 of 28 checks passed", "stdout");
	run_free(&r);

	bench_fixture(true);
	run_v(&r, NULL, ARGV(sh, dir));
	assert_status(&r, 1);
	assert_contains(r.out, "FAIL skips only for what a kernel backend lacks", "stdout");
	assert_contains(r.out, "kernel region: mmap failed", "stdout");
	run_free(&r);
}
