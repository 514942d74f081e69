/* top.h — ioasid-top's model: collect → update → render, kept apart (STYLE.md, after htop).
 *
 *  collect  (engine.c)  events from the trace library and the BPF per-CPU aggregates (or, for a
 *                       trace file, aggregates folded from the events by the same rule the BPF
 *                       programs use) into cumulative per-key counters and a small state model
 *                       (contexts, bound devices, attachments, pinned pages, memlock limits,
 *                       which domain belongs to which context and IOAS, the last events of every
 *                       object).
 *  update   (engine.c)  a struct top_snapshot: header totals and one row per process / context /
 *                       IOAS-or-domain / device, rates over the interval since the previous
 *                       snapshot (deltas of cumulative counters over monotonic time), latency
 *                       percentiles from the log2 histograms of the interval.
 *  arrange  (arrange.c) sort and filter the rows of a snapshot (pure).
 *  render   (render.c)  a snapshot + the UI state → screen lines of exactly the terminal's size;
 *           (output.c)  batch text, JSON Lines and OpenMetrics text from a snapshot. Renderers
 *                       only print: every number they show is in the snapshot.
 *  ui       (ui.c)      key → UI state (pure); keys.c turns terminal bytes into keys; tty.c
 *                       owns the terminal (raw mode, alternate screen, restore on every exit).
 *
 * Field names: every metric column has one name, used as the screen header and as the JSON
 * key (STYLE.md convention 8); JSON carries raw units (per second, bytes, ns), the screen
 * scaled ones (k/M/G, B/KiB.., ns/us/ms).
 */
#ifndef IOASID_TOP_TOP_H
#define IOASID_TOP_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ioasid/aggregate.h"
#include "ioasid/event.h"

/* ---- rows and columns ---------------------------------------------------------------------- */

enum top_view {
	TOP_VIEW_PROCESS = 0,   /* one row per process (pid) */
	TOP_VIEW_CONTEXT,       /* one row per iommufd context (pid, ctx) */
	TOP_VIEW_IOAS,          /* one row per IOAS; a domain whose IOAS is unknown (kernel
	                         * tracepoints, joined late) is a row of its own */
	TOP_VIEW_DEVICE,        /* one row per device */
	TOP_VIEW_COUNT
};

/* Metric columns, in screen order. */
#define TOP_COLUMNS(X)                                                                             \
	X(MAP_S,       "map_s",       "IOAS maps per second (successful)")                         \
	X(UNMAP_S,     "unmap_s",     "IOAS unmaps per second (successful)")                       \
	X(MAP_BYTES_S, "map_bytes_s", "bytes mapped per second")                                   \
	X(PINNED,      "pinned",      "bytes pinned now (accounted pages x 4 KiB)")                \
	X(HEADROOM,    "headroom",    "RLIMIT_MEMLOCK left before a map fails with ENOMEM")       \
	X(INV_S,       "inv_s",       "IOTLB invalidations per second")                            \
	X(ATTACH,      "attach",      "attachments now: (device, PASID) pairs on a page table")    \
	X(PASIDS,      "pasids",      "PASIDs in use now: non-zero PASIDs attached + global PASIDs")\
	X(FAULT_S,     "fault_s",     "IO page faults per second (DMA the IOMMU refused)")         \
	X(MAP_P50,     "map_p50",     "median map latency over the interval (ns)")                 \
	X(MAP_P99,     "map_p99",     "99th percentile map latency over the interval (ns)")        \
	X(UNMAP_P50,   "unmap_p50",   "median unmap latency over the interval (ns)")               \
	X(UNMAP_P99,   "unmap_p99",   "99th percentile unmap latency over the interval (ns)")

enum top_col {
#define TOP_X_ENUM(up, name, doc) TOP_COL_##up,
	TOP_COLUMNS(TOP_X_ENUM)
#undef TOP_X_ENUM
	TOP_COL_COUNT
};

/* Sort keys: the default "load" (operations per second of every kind, then pinned bytes: the
 * heaviest row first), then one per metric column. */
#define TOP_SORT_LOAD (-1)

/* A value that may be unknown (the source cannot see it) or unlimited (headroom with no limit). */
enum top_avail { TOP_UNKNOWN = 0, TOP_VALUE = 1, TOP_UNLIMITED = 2 };

#define TOP_NAME_LEN 16
#define TOP_LABEL_LEN 32

/* What identifies a row. Fields the view does not use are 0 / "". */
struct top_row_id {
	uint32_t pid;
	char comm[TOP_NAME_LEN];        /* process name ("" when unknown: a trace file) */
	uint64_t ctx;                   /* context cookie (context, IOAS, device views) */
	uint32_t ioas;                  /* IOAS ID (IOAS view; 0: a domain of unknown IOAS) */
	uint32_t iommu, domain;         /* IOAS view: the row's first domain / the domain itself */
	uint32_t dev;                   /* device view: platform device index + 1 */
	char name[TOP_NAME_LEN];        /* device view: device name */
	uint32_t group;                 /* device view: IOMMU group */
	char label[TOP_LABEL_LEN];      /* the row's name as the screen shows it: "vmm_scenario",
	                                 * "ctx 1a2b", "ioas 3", "dom 1:5", "0000:00:03.0" */
};

/* Cumulative totals of a row since the monitor started (counts of events seen), one list for
 * the struct and every printer: X(field, is_bytes).
 *   invs        IOTLB invalidations
 *   faults      IO page faults: refused device DMA where the source sees DMA (reference), else
 *               faults the IOMMU reported (FAULT)
 *   dmas        device DMA; dma_faults: of those, refused ones
 *   stale_hits  IOTLB hits on a stale translation
 *   attach_ops  attach + replace operations (successful) */
#define TOP_TOTALS(X)                                                                              \
	X(maps, 0) X(map_fails, 0) X(map_bytes, 1)                                                 \
	X(unmaps, 0) X(unmap_fails, 0) X(unmap_bytes, 1)                                           \
	X(copies, 0) X(invs, 0) X(faults, 0) X(dmas, 0) X(dma_faults, 0) X(stale_hits, 0)          \
	X(attach_ops, 0) X(detach_ops, 0)

struct top_totals {
#define TOP_X_TOTAL(f, bytes) uint64_t f;
	TOP_TOTALS(TOP_X_TOTAL)
#undef TOP_X_TOTAL
};

struct top_row {
	struct top_row_id id;
	double rate[TOP_COL_COUNT];     /* per-second columns: MAP_S, UNMAP_S, MAP_BYTES_S, INV_S,
	                                 * FAULT_S (others unused) */
	uint64_t pinned_bytes;
	enum top_avail pinned_avail;    /* UNKNOWN: no ACCOUNT event seen for this row */
	uint64_t headroom_bytes;
	enum top_avail headroom_avail;  /* UNLIMITED: accounting off (CAP_IPC_LOCK) or no limit */
	uint32_t attach, pasids;
	uint64_t lat_ns[TOP_COL_COUNT]; /* MAP_P50..UNMAP_P99: ns; 0 = no sample in the interval */
	double load;                    /* TOP_SORT_LOAD key: all operations per second */
	struct top_totals total;
	/* cumulative histograms (detail view), slots as in ioasid/aggregate.h */
	uint64_t map_lat_hist[IOASID_HIST_SLOTS];
	uint64_t unmap_lat_hist[IOASID_HIST_SLOTS];
	uint64_t map_size_hist[IOASID_HIST_SLOTS];
	uint32_t nr_last;               /* the row's last events, oldest first (detail view) */
	struct ioasid_event last[8];
};

/* Header totals of the whole source (not only the rows shown). */
struct top_header {
	char source[96];                /* "reference: every process", "pid 1234", "kernel 6.18",
	                                 * "file vm.trace" */
	uint64_t now_ns;                /* the snapshot's time (CLOCK_MONOTONIC, trace time for a
	                                 * file) */
	int64_t wall_s;                 /* wall clock for the HH:MM:SS shown (UTC seconds) */
	double interval_s;              /* time the rates are over (0 for the first snapshot) */
	uint32_t processes, contexts, devices_bound, ioases, domains;
	uint64_t pinned_bytes;
	enum top_avail pinned_avail;
	uint64_t memlock_bytes;         /* the smallest RLIMIT_MEMLOCK an account runs under */
	enum top_avail memlock_avail;   /* UNLIMITED: accounting off / unlimited */
	double map_s, unmap_s, map_bytes_s, inv_s, fault_s;
	struct top_totals total;
	uint64_t events;                /* events received */
	uint64_t dropped;               /* events the ring buffer lost */
	uint64_t unaggregated;          /* events the aggregate map had no room for */
	bool aggregates;                /* counts come from the BPF aggregates (exact even when
	                                 * events are dropped); false: folded from events */
	bool ended;                     /* the source ended (command exited, file read) */
};

struct top_snapshot {
	struct top_header hdr;
	enum top_view view;
	size_t nr_rows;
	struct top_row *rows;           /* owned by the snapshot */
};

void top_snapshot_free(struct top_snapshot *s);     /* frees rows; the struct stays usable */

/* ---- collect + update: the engine ---------------------------------------------------------- */

struct top_engine;

struct top_engine_opts {
	size_t sz;
	bool aggregates_from_bpf;       /* counts come from top_engine_aggregate(); else every fed
	                                 * event is folded into the counters */
	bool read_comm;                 /* look up /proc/PID/comm for new processes (live) */
	const char *source;             /* header source text */
	uint64_t observable;            /* ioasid_trace_observable(): when IOAS_MAP is not among
	                                 * them (kernel tracepoints), map/unmap columns count the
	                                 * page-table operations (DOMAIN_MAP/UNMAP) instead; 0: all */
};

int top_engine_new(const struct top_engine_opts *o, struct top_engine **out);
void top_engine_free(struct top_engine *e);

/* An event, in stream order. 0, or -ENOMEM (the event is lost: counted). */
int top_engine_feed(struct top_engine *e, const struct ioasid_event *ev);

/* One aggregate of a walk (ioasid_trace_aggregates): cumulative since the source opened (a
 * key not walked again keeps its last value). */
int top_engine_aggregate(struct top_engine *e, const struct ioasid_agg_key *key,
			 const struct ioasid_agg_value *sum);

/* The source's loss counters (ioasid_trace_stats): received, dropped, agg_full. */
void top_engine_note_stats(struct top_engine *e, uint64_t received, uint64_t dropped,
			   uint64_t unaggregated);
void top_engine_note_ended(struct top_engine *e);

/* The newest timestamp fed (a trace file's last tick). */
uint64_t top_engine_last_ts(const struct top_engine *e);

/* End an interval at now_ns: every aggregate's change since the previous tick goes to the rows
 * of every view. 0 or -ENOMEM. */
int top_engine_tick(struct top_engine *e, uint64_t now_ns, int64_t wall_s);

/* The snapshot of `view` as of the last tick (rates over that tick's interval; a view can be
 * switched between ticks without disturbing them). Rows unsorted, unfiltered. 0, -EINVAL,
 * -ENOMEM. */
int top_engine_view(struct top_engine *e, enum top_view view, struct top_snapshot *out);

/* top_engine_tick + top_engine_view. */
int top_engine_snapshot(struct top_engine *e, enum top_view view, uint64_t now_ns,
			int64_t wall_s, struct top_snapshot *out);

/* ---- arrange ------------------------------------------------------------------------------- */

/* Sort rows by `sort` (TOP_SORT_LOAD or an enum top_col), heaviest first (ascending when
 * `ascending`); ties by label, so the order is stable and total. Unknown values sort last. */
void top_arrange_sort(struct top_snapshot *s, int sort, bool ascending);

/* Keep rows whose label, comm or device name contain `filter` (any case), or whose pid,
 * group or ctx (hex) equals it. NULL or "": keep all. */
void top_arrange_filter(struct top_snapshot *s, const char *filter);

/* ---- UI state and rendering ---------------------------------------------------------------- */

enum top_mode {
	TOP_MODE_TABLE = 0,
	TOP_MODE_DETAIL,        /* the selected row: histograms and last events */
	TOP_MODE_FILTER,        /* typing a filter (the prompt line shows it) */
	TOP_MODE_HELP,
};

struct top_ui {
	enum top_view view;
	enum top_mode mode;
	int sort;                       /* TOP_SORT_LOAD or enum top_col */
	bool ascending;
	bool paused;
	size_t selected;                /* index into the arranged rows */
	size_t scroll;                  /* first row shown */
	char filter[64];                /* applied filter */
	char edit[64];                  /* FILTER mode: the text being typed */
	struct top_row_id detail_id;    /* DETAIL mode: the row shown (follows it across
	                                 * snapshots even when the order changes) */
	bool quit;
	char message[96];               /* one-shot status line text ("" none) */
};

void top_ui_init(struct top_ui *ui);

/* Screen: exactly `height` lines, each exactly `width` columns (space padded, no escape
 * sequences), into lines[height][width + 1]. The selected row is marked by the caller from
 * `*selected_line` (the screen line of the selected row, -1 if none shown), since highlighting
 * is the terminal's business. */
void top_render_screen(const struct top_snapshot *s, const struct top_ui *ui, int width,
		       int height, char *lines, int *selected_line);

/* Which columns fit `width` (a narrow terminal drops the least important first): writes
 * shown[TOP_COL_COUNT]. */
void top_render_columns(enum top_view view, int width, bool shown[TOP_COL_COUNT]);

const char *top_col_name(enum top_col c);     /* "map_s" */
const char *top_col_doc(enum top_col c);
const char *top_view_name(enum top_view v);   /* "process", "context", "ioas", "device" */
int top_view_from_name(const char *name);     /* view or -EINVAL */

/* Batch output (-b): the header as text lines, then the table, all columns, no truncation. */
void top_output_text(FILE *out, const struct top_snapshot *s);
/* JSON Lines (-j): one {"type":"header",...} line, then one {"type":"row",...} per row, keys
 * = column names (raw units) plus the identity and the totals. */
void top_output_json(FILE *out, const struct top_snapshot *s);
/* OpenMetrics text exposition of the snapshot (process view rows: at most max_series label
 * sets per family; the rest summed into one series with pid="other"), ending in "# EOF". */
void top_output_openmetrics(FILE *out, const struct top_snapshot *s, size_t max_series);

#endif
