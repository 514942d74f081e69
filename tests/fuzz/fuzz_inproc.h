/* fuzz_inproc.h — running one fuzz input in this process, judged by the oracles (inproc.c).
 *
 * Used by the libFuzzer target (fuzz_uapi.c), the regression test (test_fuzz_regressions.c)
 * and the fail-nth sweep. Single-threaded.
 */
#ifndef IOASID_TESTS_FUZZ_INPROC_H
#define IOASID_TESTS_FUZZ_INPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct fz_inproc_result {
	bool ok;                 /* every oracle held */
	bool fired;              /* fail-nth: the injection happened */
	unsigned int calls;      /* calls decoded and run */
	unsigned int nth;        /* sweep: the last nth run */
	unsigned int nth_left;   /* fail-nth: what was left of the count at the teardown */
	size_t events;           /* events the checker was fed */
	unsigned int guest_stale;/* MAP-4 reports: the sequence (the guest) did not invalidate */
	char msg[8192];          /* what failed, one line per finding */
};

/* Once per process (fz_inproc_run calls it): the arena, the memfd, the event subscriber. */
int fz_inproc_init(void);

/* Run one input on a fresh host; fail_nth > 0 arms fault injection for the sequence; trace
 * (may be NULL) gets the text form of every call with its result. Returns 0 once the run
 * happened (then r->ok says whether every oracle held) or -errno if it could not run. */
int fz_inproc_run(const uint8_t *data, size_t len, unsigned int fail_nth, FILE *trace,
		  struct fz_inproc_result *r);

/* The fail-nth sweep of one input: nth = 1, 2, ... until a run in which the injection is
 * never reached, each with every oracle. 0: swept clean; -EIO: a run failed (r says which
 * nth and why); -E2BIG: still injecting at max_nth. */
int fz_inproc_sweep(const uint8_t *data, size_t len, unsigned int max_nth,
		    struct fz_inproc_result *r);

#endif
