/* ioasid/trace.h — the trace library: one event stream from any source.
 *
 *     struct ioasid_trace_opts o = { .sz = sizeof(o), .kind = IOASID_TRACE_PID, .pid = 1234 };
 *     struct ioasid_trace *t;
 *     int rc = ioasid_trace_open(&o, &t);           // -errno; ioasid_trace_last_error() says why
 *     while (running)
 *             ioasid_trace_poll(t, 100, on_event, arg);   // events delivered, or -errno
 *     ioasid_trace_close(t);
 *
 * Sources: a reference process by pid (USDT probes of the ioasid provider in whatever object
 * of that process holds them), every process of the host using the shim, a command launched under the LD_PRELOAD shim (traced from its
 * first instruction, children followed), the running kernel (iommu:* tracepoints; fentry on
 * iommufd/VFIO/IOMMU-core/driver functions where the kernel allows), or a trace file.
 * Every source yields struct ioasid_event (ioasid/event.h). A live source can be recorded to a
 * trace file while it is polled (opts.record_path).
 *
 * Conventions: options structs carry `sz` (set it to sizeof) so they can grow; functions
 * return negative errno; messages for the operator are in ioasid_trace_last_error(), naming
 * the object, the value and what to do.
 */
#ifndef IOASID_TRACE_H
#define IOASID_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "ioasid/event.h"
#include "ioasid/aggregate.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef IOASID_API
#define IOASID_API __attribute__((visibility("default")))
#endif

enum ioasid_trace_kind {
	IOASID_TRACE_PID = 1,       /* a running process using the reference (pid) */
	IOASID_TRACE_LAUNCH = 2,    /* argv run under the shim, traced from the start */
	IOASID_TRACE_KERNEL = 3,    /* the running kernel, system-wide */
	IOASID_TRACE_FILE = 4,      /* a trace file (path) */
	IOASID_TRACE_SELF = 5,      /* this process (tests, in-process benchmarks) */
	IOASID_TRACE_HOST = 6,      /* every process on this host that uses the reference through
	                             * the LD_PRELOAD shim (ioasid-run), now and started later;
	                             * programs linking libioasid statically need PID */
};

/* What to produce (live sources). */
#define IOASID_TRACE_EVENTS      (1u << 0)   /* the event stream (ring buffer) */
#define IOASID_TRACE_AGGREGATES  (1u << 1)   /* per-CPU counters and histograms */

struct ioasid_trace_opts {
	size_t sz;                  /* sizeof(struct ioasid_trace_opts) */
	enum ioasid_trace_kind kind;
	pid_t pid;                  /* PID */
	char *const *argv;          /* LAUNCH: NULL-terminated command */
	const char *platform;       /* LAUNCH: shared platform name (NULL: "default") */
	const char *path;           /* FILE: trace file to read */
	const char *binary;         /* PID/SELF: object holding the probes (NULL: find it) */
	const char *btf_path;       /* KERNEL: BTF to use instead of /sys/kernel/btf/vmlinux */
	const char *record_path;    /* live sources: also write every event to this trace file */
	unsigned int produce;       /* IOASID_TRACE_* (0: both) */
	size_t ringbuf_bytes;       /* 0: 8 MiB */
	size_t wakeup_bytes;        /* 0: 64 KiB (batched wake-ups; poll timeouts drain the rest) */
	bool dry_run;               /* resolve and report what would attach; load nothing */
	int verbose;                /* >0: libbpf's log goes to log_file */
	FILE *log_file;             /* NULL: stderr */
};

struct ioasid_trace;

/* Per-source accounting. Once the source is drained (after the traced activity stopped, a final
 * poll), received + dropped + before_start == emitted. */
struct ioasid_trace_stats {
	uint64_t received;          /* events delivered to callbacks */
	uint64_t emitted;           /* events the producers made (IOASID_STAT_EMITTED) */
	uint64_t dropped;           /* not delivered: ring buffer full (IOASID_STAT_DROPPED) */
	uint64_t read_errors;       /* IOASID_STAT_READ_ERR */
	uint64_t agg_full;          /* IOASID_STAT_AGG_FULL */
	uint64_t filtered;          /* IOASID_STAT_FILTERED */
	uint64_t before_start;      /* PID / KERNEL: made while the probes were still being
	                             * attached (seen by some, missed by others), so not
	                             * delivered: the stream starts complete */
};

/* One line of the attach plan: every program the source could use, whether it is attached
 * and, if not, why. */
struct ioasid_trace_plan_item {
	char program[64];           /* BPF program name */
	char target[320];           /* what it attaches to: "iommu:map", "usdt ioasid:ioas_map in
	                             * /path/lib.so", "fentry iommufd_device_bind" */
	bool attached;              /* (dry run: would attach) */
	char reason[192];           /* when not attached: why (never empty then) */
};

typedef int (*ioasid_trace_event_fn)(void *arg, const struct ioasid_event *ev);
typedef int (*ioasid_trace_agg_fn)(void *arg, const struct ioasid_agg_key *key,
				   const struct ioasid_agg_value *sum);

/* Open a source. -EINVAL (bad options), -EPERM (missing privileges: see the message),
 * -ENOENT (no such process / file / probes), -EBADMSG (corrupt trace file header), ... */
IOASID_API int ioasid_trace_open(const struct ioasid_trace_opts *opts, struct ioasid_trace **out);

/* Wait up to timeout_ms (0: no wait, -1: forever) and deliver what is ready, in order, to fn;
 * a non-zero return from fn stops delivery and is returned. Returns the number of events
 * delivered (0: none ready), or -errno. For a file: -ENODATA at the clean end; -EBADMSG at a
 * corrupt or truncated spot (every event before it was delivered; the message gives the
 * offset). For LAUNCH: -ECHILD once the command exited and everything was delivered; for PID
 * the same once the traced process exited. */
IOASID_API int ioasid_trace_poll(struct ioasid_trace *t, int timeout_ms, ioasid_trace_event_fn fn,
				 void *arg);

IOASID_API int ioasid_trace_stats(struct ioasid_trace *t, struct ioasid_trace_stats *out);

/* Walk the aggregates (summed over CPUs). Live sources only (-EOPNOTSUPP for files). */
IOASID_API int ioasid_trace_aggregates(struct ioasid_trace *t, ioasid_trace_agg_fn fn, void *arg);

/* The attach plan (valid until close). */
IOASID_API int ioasid_trace_plan(struct ioasid_trace *t, const struct ioasid_trace_plan_item **items,
				 size_t *count);

/* The event types (bit 1 << type) this source can produce, for ioasid-check's "not checkable
 * on this source": a reference source (PID, LAUNCH, SELF) every type the reference announces;
 * KERNEL what its attached programs emit; FILE what the recorded source could produce (a
 * kernel recording: the tracepoints' types only, since the file does not say which fentry
 * programs were attached). 0, or -EINVAL. */
IOASID_API int ioasid_trace_observable(struct ioasid_trace *t, uint64_t *types);

/* LAUNCH: the command's pid, and its exit status once it is gone (-EBUSY while running). */
IOASID_API pid_t ioasid_trace_child(struct ioasid_trace *t);
IOASID_API int ioasid_trace_child_status(struct ioasid_trace *t, int *wstatus);

/* The file descriptor to poll()/epoll for readiness (live sources; -EOPNOTSUPP for files). */
IOASID_API int ioasid_trace_fd(struct ioasid_trace *t);

/* End the recording (opts.record_path): flush, write the trailer, close the file. Returns the
 * first error the recording met (0: the file is complete). Idempotent; close does it too, but
 * cannot report. */
IOASID_API int ioasid_trace_record_finish(struct ioasid_trace *t);

IOASID_API void ioasid_trace_close(struct ioasid_trace *t);

/* The last error message of this thread ("" if none). */
IOASID_API const char *ioasid_trace_last_error(void);

/* ---- pre-flight ------------------------------------------------------------------------------
 * What this process lacks to trace `kind`: one line per problem, each naming what is missing
 * and how to fix it, written to `out` (may be NULL). Returns 0 when all is there, else the
 * number of problems. */
IOASID_API int ioasid_trace_preflight(enum ioasid_trace_kind kind, const char *btf_path, FILE *out);

/* ---- event names ---------------------------------------------------------------------------- */
IOASID_API const char *ioasid_event_type_name(unsigned int type);     /* "ioas_map"; "?" */
IOASID_API int ioasid_event_type_from_name(const char *name);         /* type or -ENOENT */
IOASID_API const char *ioasid_event_source_name(unsigned int source); /* "reference", ... */

#ifdef __cplusplus
}
#endif
#endif
