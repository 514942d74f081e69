/* bpf_test.h — the rule for tests that need BPF (DEVELOPERS' contract):
 *
 * A test may skip only where BPF truly cannot load, must say why loudly, and must never skip
 * when CI=true (CI runs as root on a kernel that loads these programs: a failure there is a
 * real failure). bpf_test_require() checks what loading needs (CAP_BPF+CAP_PERFMON or root,
 * CAP_SYS_ADMIN for uprobes when `uprobes`), and either returns (go on), skips loudly, or —
 * under CI=true — fails the test with the reason. */
#ifndef IOASID_TESTS_BPF_TEST_H
#define IOASID_TESTS_BPF_TEST_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline bool bpf_test_has_cap(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

static inline bool bpf_test_in_ci(void)
{
	const char *ci = getenv("CI");

	return ci && !strcmp(ci, "true");
}

/* Returns if BPF can be used; otherwise skips loudly (or fails under CI=true). */
#define bpf_test_require(uprobes)                                                              \
	do {                                                                                   \
		const char *why__ = NULL;                                                      \
		if (!(bpf_test_has_cap(CAP_SYS_ADMIN) ||                                       \
		      (bpf_test_has_cap(39 /* CAP_BPF */) &&                                  \
		       bpf_test_has_cap(38 /* CAP_PERFMON */))))                              \
			why__ = "needs root or CAP_BPF+CAP_PERFMON";                           \
		else if ((uprobes) && !bpf_test_has_cap(CAP_SYS_ADMIN))                        \
			why__ = "attaching uprobes (USDT) needs CAP_SYS_ADMIN";                \
		else if (access("/sys/kernel/btf/vmlinux", R_OK))                              \
			why__ = "no kernel BTF at /sys/kernel/btf/vmlinux";                    \
		if (why__) {                                                                   \
			if (bpf_test_in_ci())                                                  \
				cr_assert_fail("BPF test cannot run under CI=true: %s", why__);      \
			fprintf(stderr, "\n*** SKIPPED (BPF cannot load here): %s: %s ***\n\n", \
				__func__, why__);                                              \
			cr_skip_test("BPF cannot load here: %s", why__);                       \
		}                                                                              \
	} while (0)

#endif
