/* test_fuzz_regressions.c — the uAPI fuzzer's corpus and reproducers, replayed with its oracles
 * in the normal and the ASan/UBSan build (make check). Suite `fuzz`.
 *
 * The decoder, the call table and the in-process backend are the fuzzer's own (tests/fuzz/),
 * compiled in here, so a reproducer runs exactly as libFuzzer ran it:
 *   - every seed (tests/fuzz/corpus/) and every reproducer (tests/fuzz/regressions/) runs with
 *     every oracle: sane return values, nothing left open, allocated, pinned or owned after the
 *     teardown, the invariant checker clean on the run's own event stream;
 *   - each seed is swept with fail-nth (every allocation and lookup failing in turn);
 *   - the seeds' text (tests/fuzz/seeds/) assembles to the committed bytes, and a run's text
 *     form assembles back to an input that runs the same calls;
 *   - the oracles are live: a bug injected into the reference is reported.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "fuzz/fuzz_inproc.h"
#include "fuzz/decoder.c"
#include "fuzz/calls.c"
#include "fuzz/inproc.c"

#ifndef FUZZ_DIR
#define FUZZ_DIR "tests/fuzz"
#endif
#define SWEEP_MAX 3000

TestSuite(fuzz);

static int slurp(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		return -errno;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	*out = malloc((size_t)n + 1);
	cr_assert_not_null(*out);
	*len = fread(*out, 1, (size_t)n, f);
	(*out)[*len] = 0;
	fclose(f);
	return 0;
}

typedef void (*file_fn)(const char *path, const char *name);

/* Call fn on every regular file of dir whose name ends with suffix ("" for any); count them. */
static unsigned int each_file(const char *dir, const char *suffix, file_fn fn)
{
	struct dirent **list;
	unsigned int n = 0;
	int nl = scandir(dir, &list, NULL, alphasort);

	if (nl < 0)
		return 0;
	for (int i = 0; i < nl; i++) {
		const char *name = list[i]->d_name;
		size_t ln = strlen(name), ls = strlen(suffix);
		char path[1024];

		if (name[0] != '.' && ln > ls && !strcmp(name + ln - ls, suffix) &&
		    strcmp(name, "README.md")) {
			snprintf(path, sizeof(path), "%s/%s", dir, name);
			fn(path, name);
			n++;
		}
		free(list[i]);
	}
	free(list);
	return n;
}

static void run_clean(const char *path, const char *name)
{
	static struct fz_inproc_result r;
	uint8_t *in;
	size_t len;

	cr_assert_eq(slurp(path, &in, &len), 0, "%s: cannot read", path);
	cr_assert_eq(fz_inproc_run(in, len, 0, NULL, &r), 0, "%s: did not run: %s", name, r.msg);
	cr_assert(r.ok, "%s: an oracle failed after %u calls:\n%s\n(trace it: "
		  "IOASID_FUZZ_TRACE=1 build-fuzz/fuzz/fuzz_uapi %s)", name, r.calls, r.msg, path);
	cr_assert_gt(r.calls, 0, "%s: no call decoded", name);
	free(in);
}

Test(fuzz, corpus_runs_clean)
{
	cr_assert_geq(each_file(FUZZ_DIR "/corpus", ".bin", run_clean), 8,
		      "the seed corpus " FUZZ_DIR "/corpus is missing or small");
}

Test(fuzz, regressions_run_clean)
{
	each_file(FUZZ_DIR "/regressions", ".bin", run_clean);
}

static void sweep_clean(const char *path, const char *name)
{
	static struct fz_inproc_result r;
	uint8_t *in;
	size_t len;
	int rc;

	cr_assert_eq(slurp(path, &in, &len), 0);
	rc = fz_inproc_sweep(in, len, SWEEP_MAX, &r);
	cr_assert_eq(rc, 0, "%s: fail-nth %u: %s", name, r.nth, r.msg);
	cr_assert_gt(r.nth, 5, "%s: the sweep reached only %u injection points", name, r.nth);
	free(in);
}

Test(fuzz, corpus_fail_nth_sweep, .timeout = 1800)
{
	each_file(FUZZ_DIR "/corpus", ".bin", sweep_clean);
}

Test(fuzz, regressions_fail_nth_sweep, .timeout = 1800)
{
	each_file(FUZZ_DIR "/regressions", ".bin", sweep_clean);
}

static void seed_matches(const char *path, const char *name)
{
	char bin[1024], err[512];
	uint8_t *text, *want, *got;
	size_t tlen, wlen, glen;

	snprintf(bin, sizeof(bin), FUZZ_DIR "/corpus/%.*s.bin", (int)strlen(name) - 4, name);
	cr_assert_eq(slurp(path, &text, &tlen), 0);
	cr_assert_eq(slurp(bin, &want, &wlen), 0, "%s has no %s: run scripts/fuzz.sh BUILD corpus",
		     name, bin);
	cr_assert_eq(fz_asm((char *)text, &got, &glen, err, sizeof(err)), 0, "%s: %s", name, err);
	cr_assert(glen == wlen && !memcmp(got, want, glen),
		  "%s does not assemble to %s (stale: run scripts/fuzz.sh BUILD corpus)", name,
		  bin);
	free(text);
	free(want);
	free(got);
}

Test(fuzz, seeds_assemble_to_the_corpus)
{
	cr_assert_geq(each_file(FUZZ_DIR "/seeds", ".txt", seed_matches), 8);
}

/* A run's text form, assembled again, runs the same calls with the same results. */
static void round_trip(const char *path, const char *name)
{
	static struct fz_inproc_result r;
	char *t1 = NULL, *t2 = NULL, err[512];
	size_t n1 = 0, n2 = 0, len, glen;
	uint8_t *in, *again;
	FILE *f;

	cr_assert_eq(slurp(path, &in, &len), 0);
	f = open_memstream(&t1, &n1);
	fz_inproc_run(in, len, 0, f, &r);
	fclose(f);
	cr_assert_eq(fz_asm(t1, &again, &glen, err, sizeof(err)), 0, "%s: its text does not "
		     "assemble: %s", name, err);
	f = open_memstream(&t2, &n2);
	fz_inproc_run(again, glen, 0, f, &r);
	fclose(f);
	cr_assert_str_eq(t1, t2, "%s: the text form does not round-trip", name);
	free(t1);
	free(t2);
	free(in);
	free(again);
}

Test(fuzz, text_form_round_trips)
{
	each_file(FUZZ_DIR "/corpus", ".bin", round_trip);
}

/* The oracles are live: with a bug injected, the same seed is reported, by the rule. */
static void expect_caught(const char *bug, const char *seed, const char *what)
{
	static struct fz_inproc_result r;
	uint8_t *in;
	size_t len;

	cr_assert_eq(slurp(seed, &in, &len), 0);
	cr_assert_eq(ioasid_inject_set(bug), 0);
	fz_inproc_run(in, len, 0, NULL, &r);
	cr_assert_eq(ioasid_inject_set(""), 0);
	cr_assert_not(r.ok, "bug %s: no oracle fired", bug);
	cr_assert(strstr(r.msg, what), "bug %s: expected \"%s\" in:\n%s", bug, what, r.msg);
	free(in);
}

Test(fuzz, oracles_catch_injected_bugs)
{
	expect_caught("unmap-skip-flush", FUZZ_DIR "/corpus/cdev_devices.bin", "MAP-2");
	expect_caught("unmap-leak-pins", FUZZ_DIR "/corpus/cdev_devices.bin", "MAP-3");
	expect_caught("destroy-in-use", FUZZ_DIR "/corpus/nested_vtd.bin", "OWN-4");
}
