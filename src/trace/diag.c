/* diag.c — what the trace library tells the operator: this thread's last error message, the
 * routing of libbpf's own log, and explanations of BPF load/attach failures.
 *
 * libbpf prints "try raising 'ulimit -l'" on EPERM from map creation. On kernels ≥ 5.11 BPF
 * memory is charged to the memory cgroup and RLIMIT_MEMLOCK plays no part, so that hint sends
 * operators the wrong way: it is filtered out of the log and never repeated here. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "trace/backend.h"

static __thread char last_error[512];
static FILE *libbpf_log_file;
static int libbpf_verbose;

const char *ioasid_trace_last_error(void)
{
	return last_error;
}

int trace_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return -err;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	FILE *out = libbpf_log_file ? libbpf_log_file : stderr;
	va_list again;
	int n;

	if (level == LIBBPF_DEBUG && libbpf_verbose < 2)
		return 0;
	if (level == LIBBPF_INFO && libbpf_verbose < 1)
		return 0;
	/* Warnings are printed only when verbose: the library reports failures itself, with
	 * context, through ioasid_trace_last_error(). */
	if (level == LIBBPF_WARN && libbpf_verbose < 1)
		return 0;
	va_copy(again, ap);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (strstr(line, "ulimit -l") || strstr(line, "RLIMIT_MEMLOCK")) {
		va_end(again);
		return 0;
	}
	/* The verifier's log comes as one "%s" of many KiB, its verdict at the end: never cut. */
	if (n >= (int)sizeof(line))
		n = vfprintf(out, fmt, again);
	else
		n = fputs(line, out);
	va_end(again);
	return n;
}

void trace_libbpf_log_setup(const struct ioasid_trace_opts *opts)
{
	libbpf_verbose = opts ? opts->verbose : 0;
	libbpf_log_file = opts ? opts->log_file : NULL;
	libbpf_set_print(libbpf_print);
}

int trace_bpf_failure(int err, const char *what)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case EPERM:
	case EACCES:
		return trace_error(err, "%s: %s: loading or attaching BPF needs root, or CAP_BPF and "
				   "CAP_PERFMON (and CAP_SYS_ADMIN for uprobes/USDT); the kernel "
				   "may also forbid this program type (lockdown, BPF LSM). Run as "
				   "root, or run 'ioasid-trace --check' to see what is missing",
				   what, strerror(err));
	case ENOENT:
	case ESRCH:
		return trace_error(err, "%s: %s: the attach target does not exist on this system",
				   what, strerror(err));
	case EINVAL:
		return trace_error(err, "%s: %s: the kernel rejected the program or its target "
				   "(run with -v to see libbpf's log and the verifier's output)",
				   what, strerror(err));
	case ENOMEM:
		return trace_error(err, "%s: %s: the kernel could not allocate the BPF maps (the "
				   "memory cgroup limit may be reached; RLIMIT_MEMLOCK is not used "
				   "on this kernel)", what, strerror(err));
	default:
		return trace_error(err, "%s: %s (run with -v to see libbpf's log)", what,
				   strerror(err));
	}
}
