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
};
#define BENCH_PAT_SEQ    (1u << 0)
#define BENCH_PAT_RANDOM (1u << 1)
#define BENCH_PAT_FRAG   (1u << 2)

void bench_params_default(struct bench_params *p);
/* Smaller sizes for a quick look (and the tests): every workload still runs. */
void bench_params_quick(struct bench_params *p);

/* What a workload reports to: a measurement's record (configuration and note) and its
 * samples; the sink fills the figures (bench_record_fill), after pooling rounds if it does. */
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
	unsigned int round;                     /* 0-based pass over the workload list */
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

/* The workloads in their standard order; NULL-terminated. */
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

/* ---- one backend's run (runner.c) ------------------------------------------------------------
 * Probe and open the backend, run the selected workloads untraced and then once per selected
 * trace mode, each pass `rounds` times with a figure's repeats pooled over the rounds; records
 * and skips go to send() (struct bench_record / struct bench_skip, whole). Returns 0, or 1
 * when a trace mode could not start, a live check was not clean, or figures were lost. */
struct bench_runner_opts {
	struct bench_be_opts be;
	const struct bench_params *p;
	const bool *workload;                   /* per bench_workloads() index */
	const bool *trace;                      /* per enum bench_trace_mode */
	unsigned int rounds;                    /* >= 1 */
	void (*send)(void *arg, const void *msg, size_t len);
	void *arg;
};
int bench_runner_run(const struct bench_runner_opts *o);

/* ---- published figures (anchors.c) ----------------------------------------------------------
 * The figures the issues cite, each matched against the records of a run: a Markdown table
 * "figure | backend | ioasid | anchor | ratio" on f, one row per anchor and backend measured.
 * Returns the number of rows (0: nothing matched; the table says so). */
size_t bench_anchors_markdown(FILE *f, const struct bench_record *recs, size_t n);

/* ---- do two runs agree? (compare.c) ----------------------------------------------------------
 * Pair the figures of two JSON Lines files by configuration; a pair agrees when either run's
 * median ops/s lies within the other's [min, max]. The disagreements and a summary line go to
 * out. Returns how many pairs disagree, -ENODATA when no figure pairs up, or -errno. */
int bench_compare_files(const char *old_path, const char *new_path, FILE *out);

#endif
