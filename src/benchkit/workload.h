/* workload.h — what ioasid-bench measures (workloads.c) and how a worker runs it with tracing
 * attached (tracemode.c). A workload drives a backend through bench.h's bench_be_* calls only,
 * and hands each finished measurement to `emit` as a struct bench_record carrying its exact
 * configuration; what it cannot do on this backend goes to `skip` with the reason. */
#ifndef IOASID_BENCHKIT_WORKLOAD_H
#define IOASID_BENCHKIT_WORKLOAD_H

#include "benchkit/bench.h"

#define BENCH_MAX_LIST 8

/* The run's parameters (the tool's options; defaults from bench_params_default). */
struct bench_params {
	unsigned int repeats;                   /* samples per measurement (median over them) */
	uint64_t min_time_ns;                   /* ...and more, while a measurement's repeats
	                                         * have run less than this (0: exactly
	                                         * `repeats`; at most BENCH_MIN_TIME_REPEATS) */
	uint64_t regions[BENCH_MAX_LIST];       /* `region`: bytes per map call (1G, 16G) */
	unsigned int nregions;
	uint64_t pages[BENCH_MAX_LIST];         /* page sizes: 4K, 2M, 1G */
	unsigned int npages;
	unsigned int patterns;                  /* BENCH_PAT_* bits */
	unsigned int threads[BENCH_MAX_LIST];   /* `threads`: thread counts */
	unsigned int nthreads;
	uint64_t page_ops_bytes;                /* `pages`: bytes mapped per repeat (4K pages:
	                                         * this / 4K operations), at least 2 pages */
	unsigned int small_regions;             /* `small-regions`: how many (10 k+) */
	uint64_t small_region_bytes;            /* ... each this big */
	uint64_t guest_ram;                     /* `vm-start`: guest RAM bytes ... */
	uint64_t guest_chunk;                   /* ... mapped in chunks of this */
	uint64_t dma_bytes;                     /* `dma`: bytes per device access */
	unsigned int fq_size;                   /* `dma-api`: deferred flush-queue entries */
	uint64_t thread_pairs;                  /* `threads`: map+unmap pairs per thread */
	bool big_regions_ref_only;              /* `region` above 4 GiB on `ref` only (the
	                                         * standard set: the uAPI backends share its
	                                         * io_pagetable; faulting 16 GiB in takes ~20 s
	                                         * here per backend) */
	enum bench_big_scope {                  /* which `region` sizes this worker measures */
		BENCH_BIG_INLINE = 0,           /* all (a run of one round) */
		BENCH_BIG_NONE,                 /* none above 4 GiB: the big phase has them */
		BENCH_BIG_ONLY,                 /* the big phase: `region` above 4 GiB only */
	} big_scope;
	uint64_t big_region_bytes;              /* `region` sizes above this are "big": a phase
	                                         * of their own with -R above 1 (default 4 GiB) */
};
#define BENCH_MIN_TIME_REPEATS 128u     /* repeats per measurement and round, min_time's cap */
#define BENCH_PAT_SEQ    (1u << 0)
#define BENCH_PAT_RANDOM (1u << 1)
#define BENCH_PAT_FRAG   (1u << 2)

void bench_params_default(struct bench_params *p);
/* Smaller sizes for a quick look (and the tests): every workload still runs. */
void bench_params_quick(struct bench_params *p);

/* What a workload reports to: a measurement's record (configuration and note) and its
 * samples, which stay the workload's (the sink copies what it keeps). Nobody fills the figures
 * before every round is pooled: the driver does (bench_pool_emit). */
struct bench_sink {
	void (*emit)(void *arg, struct bench_record *r, struct bench_samples *s);
	void (*skip)(void *arg, const char *backend, const char *workload, const char *why);
	void *arg;
};

struct bench_run {
	struct bench_be *be;
	enum bench_backend_id id;
	const struct bench_params *p;
	const char *trace;                      /* the trace mode in force, for the records */
	unsigned int round;                     /* 0-based round of the run (a worker runs one) */
	struct bench_sink sink;
};

struct bench_workload {
	const char *name;
	const char *what;                       /* one line for --list */
	unsigned int needs;                     /* BENCH_CAP_* every measurement needs */
	/* Run every measurement of the workload; 0, or -errno when it had to stop (the reason
	 * was sent to skip). */
	int (*run)(struct bench_run *r);
};

/* What every workload's measurements share (workloads.c). A measurement in progress: its
 * configuration (backend, served_by, trace of the run; pattern and inval "-", one thread, the
 * run's repeats) and samples. init: 0 or -ENOMEM. emit: to the run's sink, then the samples
 * are freed; drop: freed, nothing sent. */
struct bench_meas {
	struct bench_record rec;
	struct bench_samples s;
};
int bench_meas_init(struct bench_meas *m, struct bench_run *r, const char *workload,
		    const char *phase, const char *attach);
void bench_meas_emit(struct bench_meas *m, struct bench_run *r);
void bench_meas_drop(struct bench_meas *m);
uint64_t bench_now_ns(void);    /* CLOCK_MONOTONIC */

/* The workloads in their standard order; NULL-terminated. `machine` (machine.c) comes first:
 * it measures the host as the worker starts. */
extern const struct bench_workload bench_wl_machine;
const struct bench_workload *const *bench_workloads(void);
const struct bench_workload *bench_workload_find(const char *name);

/* ---- tracing the worker (tracemode.c) ------------------------------------------------------- */
enum bench_trace_mode {
	BENCH_TRACE_OFF = 0,
	BENCH_TRACE_COUNTERS,   /* the BPF programs with per-CPU aggregates only (ioasid-top's) */
	BENCH_TRACE_EVENTS,     /* every event streamed through the ring buffer to a consumer */
	BENCH_TRACE_CHECK,      /* events, fed to a live ioasid-check model */
	BENCH_TRACE_COUNT
};
const char *bench_trace_name(enum bench_trace_mode m);
int bench_trace_from_name(const char *name);    /* mode or -ENOENT */

struct bench_tracer;
/* Attach tracing of this process (the reference's probes: in-process or the shim) or of the
 * kernel (kernel backends), with a consumer thread for EVENTS/CHECK. 0 or -errno with why. */
int bench_tracer_start(enum bench_trace_mode m, bool kernel, struct bench_tracer **out,
		       char *why, size_t whylen);
/* Counters since the last call: events produced, lost; check: violations so far. */
void bench_tracer_take(struct bench_tracer *t, uint64_t *events, uint64_t *dropped,
		       int64_t *violations);
/* Drain, stop, and report the check verdict into why (0 clean, 1 violations, 2 not clean). */
int bench_tracer_stop(struct bench_tracer *t, char *why, size_t whylen);

/* ---- rounds: one backend's round in a worker, the stream to the driver, the pool (runner.c)
 *
 * A worker runs ONE round of one backend: probe and open it, run the selected workloads once
 * untraced, then once per selected trace mode with that tracing attached, and send each
 * measurement's raw samples (every repeat, the operation reservoir) with its configuration,
 * note and tracer counts — no summary: the driver pools every round of a figure first. The
 * round ends with an END message; a stream without one lost its round. Returns 0, or 1 when a
 * trace mode could not start, a live check was not clean, or figures were lost. */
struct bench_runner_opts {
	struct bench_be_opts be;
	const struct bench_params *p;
	const bool *workload;                   /* per bench_workloads() index */
	const bool *trace;                      /* per enum bench_trace_mode */
	unsigned int round;                     /* 0-based: which round this worker runs */
	/* one whole message (header and payload) per call */
	void (*send)(void *arg, const void *msg, size_t len);
	void *arg;
};
int bench_runner_run(const struct bench_runner_opts *o);

/* The stream: messages of a header and `len` payload bytes. Both ends are the same binary,
 * but magic, version, round and every length are checked, so that a stream cut short or
 * damaged is reported (and its round discarded), never pooled. */
#define BENCH_WIRE_MAGIC   0x49424e32u  /* "IBN2" */
#define BENCH_WIRE_VERSION 2
#define BENCH_WIRE_MAX_REPEATS (1u << 20)

enum bench_wire_type {
	BENCH_WIRE_FIGURE = 1,  /* struct bench_wire_figure, nrepeat then nop doubles */
	BENCH_WIRE_SKIP,        /* struct bench_skip */
	BENCH_WIRE_END,         /* struct bench_wire_end: the round is complete */
};

struct bench_wire_hdr {
	uint32_t magic;         /* BENCH_WIRE_MAGIC */
	uint16_t version;       /* BENCH_WIRE_VERSION */
	uint16_t type;          /* enum bench_wire_type */
	uint32_t round;         /* 0-based */
	uint32_t len;           /* payload bytes after the header */
};

struct bench_wire_figure {
	struct bench_record rec;        /* configuration, note, tracer counts; no summaries */
	uint64_t nrepeat, nop, seen_op; /* struct bench_samples' */
};

struct bench_wire_end {
	int32_t status;                 /* bench_runner_run's */
	uint32_t figures, skips;        /* messages sent before this one */
	uint32_t opened;                /* 0: the backend could not be opened (a skip said why) */
};

/* A message: type, payload (with the samples of a figure when s is not NULL) and round,
 * framed, in one allocation (*len bytes), or NULL (out of memory). */
void *bench_wire_pack(enum bench_wire_type type, uint32_t round, const void *payload,
		      size_t plen, const struct bench_samples *s, size_t *len);

struct bench_wire_msg {
	struct bench_wire_hdr hdr;
	void *payload;                  /* malloc'd, hdr.len bytes; NULL when 0 */
};
/* The next message of round `round` from fd: 1 (bench_wire_msg_free it), 0 at the stream's
 * end between messages, or -EBADMSG (bad magic, version, type, round or length; cut short)
 * with why saying what was wrong, -ENOMEM, or -errno of read. Strings of a figure or skip are
 * NUL-terminated on arrival. */
int bench_wire_recv(int fd, uint32_t round, struct bench_wire_msg *m, char *why,
		    size_t whylen);
void bench_wire_msg_free(struct bench_wire_msg *m);
/* A BENCH_WIRE_FIGURE message's record, and its samples as a read-only view into it. */
const struct bench_record *bench_wire_figure(const struct bench_wire_msg *m,
					     struct bench_samples *view);

/* The driver's pool: every round's samples of a figure — same backend, configuration and
 * trace mode — pooled (bench_samples_merge), then filled once all rounds are in: medians,
 * spread and percentiles over every repeat of every round. */
struct bench_pool;
struct bench_pool *bench_pool_new(unsigned int rounds); /* rounds the run has */
void bench_pool_free(struct bench_pool *p);            /* NULL is fine */
/* A figure of round `round` (0-based): its configuration, note and tracer counts (events and
 * losses add up, so do violations where checked) and its samples. 0 or -ENOMEM. */
int bench_pool_add(struct bench_pool *p, const struct bench_record *r,
		   const struct bench_samples *s, unsigned int round);
/* Every figure, in the order figures first came, filled: config.repeats the repeats pooled,
 * config.rounds the rounds that measured it (the note says "in K of N rounds" when fewer than
 * the run's), a traced figure's overhead its median time over the untraced median of the same
 * backend and configuration, and its note the tracer's counts. */
void bench_pool_emit(struct bench_pool *p, void (*fn)(void *arg, const struct bench_record *r),
		     void *arg);

/* How long a fixed CPU-bound loop (integer work, ~1 M dependent steps) takes here now: the
 * median of a few tries, in ns. The driver times it as each round starts. */
double bench_calibrate(void);

/* ---- published figures (anchors.c) ----------------------------------------------------------
 * The figures the issues cite, each matched against the records of a run: a Markdown table
 * "figure | backend | ioasid | anchor | ratio" on f, one row per anchor and backend measured.
 * Returns the number of rows (0: nothing matched; the table says so). */
size_t bench_anchors_markdown(FILE *f, const struct bench_record *recs, size_t n);

/* ---- do two runs agree? (compare.c) ----------------------------------------------------------
 * Pair the figures of two JSON Lines files by configuration; a pair agrees when either run's
 * median ops/s lies within the other's [min, max]. The disagreements and a summary line go to
 * out, and when both runs carry calibration lines, the ratio of their calibrations (figures
 * are not rescaled by it). Returns how many pairs disagree, -ENODATA when no figure pairs up,
 * or -errno. */
int bench_compare_files(const char *old_path, const char *new_path, FILE *out);

#endif
