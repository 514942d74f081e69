/* fuzz_uapi.c — the libFuzzer target: one input = one sequence of uAPI calls (fuzz.h), run
 * in-process on a fresh mock host and judged by every oracle of inproc.c (rc sanity, nothing
 * left open, allocated, pinned or owned after the teardown, the invariant checker clean).
 * A broken oracle prints what broke and aborts, so libFuzzer saves the input as a crash
 * (and -minimize_crash=1 shrinks it) like any sanitizer report.
 *
 * Environment:
 *   IOASID_FUZZ_FAIL_NTH=N  every input is swept with fault injection (nth = 1, 2, ... until
 *                           the sequence no longer reaches it, at most N): the fail-nth sweep
 *                           over a corpus is `IOASID_FUZZ_FAIL_NTH=2000 fuzz_uapi -runs=0 DIR`
 *   IOASID_FUZZ_FAIL_AT=N   run each input once with its Nth allocation or lookup failing
 *                           (to reproduce one step of a sweep, with IOASID_FUZZ_TRACE)
 *   IOASID_FUZZ_TRACE=1     print every call of every input with its result (stderr)
 *
 * Built by `make fuzz` (clang, -fsanitize=fuzzer,address,undefined); scripts/fuzz.sh drives it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "fuzz_inproc.h"

static unsigned int sweep_max, fail_at;
static FILE *trace;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *s = getenv("IOASID_FUZZ_FAIL_NTH");

	(void)argc;
	(void)argv;
	if (s && *s)
		sweep_max = (unsigned int)strtoul(s, NULL, 0);
	s = getenv("IOASID_FUZZ_FAIL_AT");
	if (s && *s)
		fail_at = (unsigned int)strtoul(s, NULL, 0);
	if (getenv("IOASID_FUZZ_TRACE"))
		trace = stderr;
	if (fz_inproc_init()) {
		fprintf(stderr, "fuzz_uapi: the in-process backend did not start (see above)\n");
		exit(2);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_inproc_result r;

	if (sweep_max)
		fz_inproc_sweep(data, size, sweep_max, &r);
	else
		fz_inproc_run(data, size, fail_at, trace, &r);
	if (!r.ok) {
		fprintf(stderr, "==ioasid-fuzz== ORACLE FAILURE after %u call(s)%s%u:\n%s\n"
			"==ioasid-fuzz== replay it with IOASID_FUZZ_TRACE=1 %s FILE to see every "
			"call; minimise with -minimize_crash=1\n", r.calls,
			sweep_max ? ", fail-nth " : "", sweep_max ? r.nth : 0, r.msg,
			"fuzz_uapi");
		abort();
	}
	return 0;
}
