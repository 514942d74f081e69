/* backend.h — private to src/trace: the pieces a live source is made of.
 *
 *  trace.c           public API (ioasid/trace.h): sources, the ring-buffer consumer, stats,
 *                    aggregates, recording while polling;
 *  diag.c            error messages, libbpf log routing, BPF failures explained;
 *  usdt_backend.c    the reference's USDT probes (bpf/ioasid_usdt.bpf.c);
 *  kernel_backend.c  tracepoints and fentry/fexit on a kernel (bpf/ioasid_kernel.bpf.c);
 *  plan.c            the attach plan: what was (or would be) attached and why not;
 *  preflight.c       privileges and BTF, explained;
 *  trace_file.c      record / replay (ioasid/trace_file.h);
 *  event_format.c    names, one-line text and JSON of an event (ioasid/event_format.h).
 *
 * A backend opens its skeleton, sets the rodata knobs from the options, loads, attaches what
 * exists and records every decision in the plan (dry run: decides, loads nothing), then hands
 * the maps every ioasid BPF program has (bpf/ioasid_emit.bpf.h) to trace.c.
 */
#ifndef IOASID_TRACE_BACKEND_H
#define IOASID_TRACE_BACKEND_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ioasid/trace.h"

/* ---- the attach plan (plan.c) --------------------------------------------------------------- */
struct trace_plan {
	struct ioasid_trace_plan_item *items;
	size_t n, cap;
};
/* Append one decision; reason (printf format) is required when !attached. 0 or -ENOMEM. */
int trace_plan_add(struct trace_plan *p, const char *program, const char *target, bool attached,
		   const char *reason_fmt, ...) __attribute__((format(printf, 5, 6)));
void trace_plan_free(struct trace_plan *p);
size_t trace_plan_attached(const struct trace_plan *p);

/* ---- errors and logging (diag.c) ----------------------------------------------------------- */
/* Set this thread's message (ioasid_trace_last_error) and return -err (err > 0). */
int trace_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Route libbpf's log per opts (verbose → log_file or stderr; otherwise warnings only, with
 * libbpf's misleading "ulimit -l" hint removed). Call before opening a skeleton. */
void trace_libbpf_log_setup(const struct ioasid_trace_opts *opts);
/* Explain a load/attach failure: the errno, what it means here, what to do. Never suggests
 * raising RLIMIT_MEMLOCK (memory for BPF is charged to the memory cgroup on this kernel). */
int trace_bpf_failure(int err, const char *what);

/* ---- the maps of a loaded program (bpf/ioasid_emit.bpf.h) ----------------------------------- */
struct trace_maps {
	int events_fd;       /* ring buffer; -1 when events are off */
	int stats_fd;        /* per-CPU array, enum ioasid_stat */
	int aggregates_fd;   /* per-CPU hash */
	int tgids_fd;        /* process filter (hash tgid → 1) */
};

/* ---- USDT backend (usdt_backend.c) ----------------------------------------------------------- */
struct usdt_backend;
/* pid: the process to trace (its binary/libraries are searched for the ioasid provider unless
 * opts->binary); for LAUNCH, pid is the stopped child and binary the shim. */
int usdt_backend_open(const struct ioasid_trace_opts *opts, pid_t pid, const char *binary,
		      struct trace_plan *plan, struct usdt_backend **out);
int usdt_backend_maps(struct usdt_backend *b, struct trace_maps *out);
void usdt_backend_close(struct usdt_backend *b);

/* ---- kernel backend (kernel_backend.c) ------------------------------------------------------- */
struct kernel_backend;
int kernel_backend_open(const struct ioasid_trace_opts *opts, struct trace_plan *plan,
			struct kernel_backend **out);
int kernel_backend_maps(struct kernel_backend *b, struct trace_maps *out);
/* The event types (1 << type) the attached programs emit (dry run: would emit). */
uint64_t kernel_backend_observable(const struct kernel_backend *b);
void kernel_backend_close(struct kernel_backend *b);

#endif
