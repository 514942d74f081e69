/* bpf_test.h — the rule for tests that need BPF (DEVELOPERS' contract):
 *
 * A test may skip only where BPF truly cannot load, must say why loudly, and must never skip
 * when CI=true (CI runs as root on a kernel that loads these programs: a failure there is a
 * real failure). bpf_test_require() asks the trace library's own pre-flight check (privileges
 * for BPF, CAP_SYS_ADMIN for uprobes when `uprobes`, kernel BTF) and either returns (go on),
 * skips loudly with the pre-flight's explanation, or — under CI=true — fails with it. */
#ifndef IOASID_TESTS_BPF_TEST_H
#define IOASID_TESTS_BPF_TEST_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ioasid/trace.h"

static inline bool bpf_test_in_ci(void)
{
	const char *ci = getenv("CI");

	return ci && !strcmp(ci, "true");
}

/* Returns if BPF can be used; otherwise skips loudly (or fails under CI=true). */
#define bpf_test_require(uprobes)                                                              \
	do {                                                                                   \
		char *why__ = NULL;                                                            \
		size_t len__ = 0;                                                              \
		FILE *f__ = open_memstream(&why__, &len__);                                    \
		int problems__;                                                                \
		cr_assert_not_null(f__);                                                       \
		problems__ = ioasid_trace_preflight((uprobes) ? IOASID_TRACE_SELF              \
							      : IOASID_TRACE_KERNEL, NULL, f__); \
		fclose(f__);                                                                   \
		if (problems__) {                                                              \
			if (bpf_test_in_ci())                                                  \
				cr_assert_fail("BPF test cannot run under CI=true: %s", why__); \
			fprintf(stderr, "\n*** SKIPPED (BPF cannot load here): %s: %s ***\n\n", \
				__func__, why__);                                              \
			cr_skip_test("BPF cannot load here: %s", why__);                       \
		}                                                                              \
		free(why__);                                                                   \
	} while (0)

#endif
