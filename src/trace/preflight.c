/* preflight.c — before loading anything, say what this process lacks to trace a source.
 *
 * Each problem is one line naming what is missing, why it is needed and how to get it:
 *  - BPF programs and maps: root, or CAP_BPF + CAP_PERFMON;
 *  - uprobes (the reference's USDT probes): CAP_SYS_ADMIN on this kernel generation;
 *  - CO-RE relocation: kernel BTF (/sys/kernel/btf/vmlinux), or --btf PATH;
 *  - kernel.unprivileged_bpf_disabled and lockdown only matter without root: mentioned then.
 * Nothing here suggests raising RLIMIT_MEMLOCK: BPF memory is charged to the memory cgroup. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "trace/backend.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool has_cap(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

static int problem(FILE *out, const char *fmt, const char *a, const char *b)
{
	if (out) {
		fputs("preflight: ", out);
		fprintf(out, fmt, a, b);
		fputc('\n', out);
	}
	return 1;
}

int ioasid_trace_preflight(enum ioasid_trace_kind kind, const char *btf_path, FILE *out)
{
	const char *btf = btf_path ? btf_path : "/sys/kernel/btf/vmlinux";
	bool admin = has_cap(CAP_SYS_ADMIN);
	int n = 0;

	if (kind == IOASID_TRACE_FILE)
		return 0;
	if (!admin && !(has_cap(CAP_BPF) && has_cap(CAP_PERFMON)))
		n += problem(out, "loading BPF programs needs root, or CAP_BPF and CAP_PERFMON "
			     "(missing: %s%s): run with sudo, or grant them with "
			     "'setcap cap_bpf,cap_perfmon+ep' on the tool",
			     has_cap(CAP_BPF) ? "" : "CAP_BPF ",
			     has_cap(CAP_PERFMON) ? "" : "CAP_PERFMON");
	if (kind != IOASID_TRACE_KERNEL && !admin)
		n += problem(out, "attaching uprobes to the reference's USDT probes needs "
			     "CAP_SYS_ADMIN on this kernel%s%s: run as root", "", "");
	if (access(btf, R_OK))
		n += problem(out, "kernel BTF %s: %s: the BPF programs are CO-RE and need the "
			     "kernel's type information; use a kernel built with "
			     "CONFIG_DEBUG_INFO_BTF=y, or pass --btf PATH to a BTF file for this "
			     "kernel (e.g. from btfhub)", btf, strerror(errno));
	if (!admin && n) {
		FILE *f = fopen("/proc/sys/kernel/unprivileged_bpf_disabled", "re");
		int v = 0;

		if (f) {
			if (fscanf(f, "%d", &v) != 1)
				v = 0;
			fclose(f);
		}
		if (v)
			n += problem(out, "kernel.unprivileged_bpf_disabled=%s: without root, BPF "
				     "needs the capabilities above%s", v == 2 ? "2" : "1", "");
	}
	return n;
}
