/* ioasid/check.h — the invariant checker: a shadow model fed only by events.
 *
 *     struct ioasid_check_opts o = { .sz = sizeof(o) };
 *     struct ioasid_check *c;
 *     ioasid_check_new(&o, on_report, arg, &c);
 *     for each event ev (any source: ring buffer, in-process hook, trace file):
 *             ioasid_check_feed(c, &ev);            // reports arrive through on_report
 *     ioasid_check_end(c);                          // end of stream: late gaps, final checks
 *     ioasid_check_summary(c, &sum);
 *     ioasid_check_free(c);
 *
 * The checker never looks inside the reference module: everything it knows comes from the event
 * records of ioasid/event.h, so the same code audits the reference live (USDT or in-process),
 * a recorded trace file, or a real kernel. It keeps a shadow of contexts, devices, groups and
 * their owners, drivers, HWPTs and hardware domains, attachments per (device, PASID), IOAS areas
 * with allowed and reserved ranges, unflushed (stale-able) ranges per domain, pinned pages and
 * accounting, global PASIDs; and checks every invariant of DESIGN.md as a rule with a stable ID.
 *
 * Reports are of three kinds: a VIOLATION of a rule (the rule, the objects, the event that broke
 * it, the recent events that led there), a WARNING (memlock headroom, group viability, map-count
 * growth: things an operator wants to know before they fail), and a STREAM diagnostic (events
 * lost, duplicated, out of order, a damaged source). After a violation the shadow adopts what
 * the events say happened, so one bug gives one report, not a cascade.
 *
 * Partial history: a context whose CTX_OPEN was not seen (attached to a running process, a
 * trace started late) is "joined late": rules that need its whole history (e.g. "attached
 * while not bound") are not applied to objects it had before the checker joined; rules whose
 * evidence is in the event itself still are.
 *
 * Stream integrity: events carry a producer sequence number. The checker restores producer
 * order inside a window (ring-buffer producers on different CPUs commit slightly out of
 * order), drops duplicates, and turns a sequence gap into a STREAM report; every rule that
 * could have been affected is then marked INCOMPLETE in the summary, so a damaged stream can
 * never be reported clean.
 *
 * Not thread-safe: one thread feeds one checker.
 */
#ifndef IOASID_CHECK_H
#define IOASID_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ioasid/event.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef IOASID_API
#define IOASID_API __attribute__((visibility("default")))
#endif

/* ---- the rule catalogue (DESIGN.md "Invariants the checker verifies"; stable, never renumber) */
#define IOASID_RULES(X)                                                                            \
	X(OWN_1, "OWN-1", "a device is bound to at most one context at a time")                    \
	X(OWN_2, "OWN-2", "a device is attached only while bound, only to objects of its own "     \
			  "context")                                                               \
	X(OWN_3, "OWN-3", "all user-owned devices of a group belong to one owner; no device of a " \
			  "claimed group is bound to a kernel driver that uses the DMA API")       \
	X(OWN_4, "OWN-4", "an object is not destroyed while another object or an attachment uses " \
			  "it")                                                                    \
	X(GRP_1, "GRP-1", "when a group is first claimed, every device in it is driver-less, "     \
			  "bound to the same owner, or bound to a driver that manages its own DMA") \
	X(GRP_2, "GRP-2", "a kernel driver that uses the DMA API never binds to a device of a "    \
			  "claimed group")                                                         \
	X(GRP_3, "GRP-3", "devices of one group share one RID translation (same domain) unless "   \
			  "the platform isolates them")                                            \
	X(PAS_1, "PAS-1", "a PASID attach targets a PASID-capable device and a PASID below its "   \
			  "width; never PASID 0 (the RID)")                                        \
	X(PAS_2, "PAS-2", "a (device, PASID) is attached to at most one domain; re-attach needs "  \
			  "replace")                                                               \
	X(PAS_3, "PAS-3", "PASID attach requires a PASID-compatible domain on the RID and a "      \
			  "singleton group (or every device in the group PASID-capable)")          \
	X(PAS_4, "PAS-4", "a global PASID is owned by one context at a time and its IOTLB and "    \
			  "device-TLB entries are flushed before reuse")                           \
	X(MAP_1, "MAP-1", "mapped areas of an IOAS never overlap and stay inside the allowed IOVA " \
			  "ranges and out of reserved regions")                                    \
	X(MAP_2, "MAP-2", "after an unmap returns (strict mode), no IOTLB entry for the range "    \
			  "survives in any domain that mapped it; DMA to it faults")               \
	X(MAP_3, "MAP-3", "pinned pages are accounted to the right user/process, stay within "     \
			  "RLIMIT_MEMLOCK, and are all released when their last area goes")        \
	X(MAP_4, "MAP-4", "a nested (stage-1) change is followed by the guest's invalidation "     \
			  "before the next DMA through it is trusted")

enum ioasid_rule {
#define IOASID_X_RULE(sym, id, statement) IOASID_RULE_##sym,
	IOASID_RULES(IOASID_X_RULE)
#undef IOASID_X_RULE
	IOASID_RULE_COUNT
};

struct ioasid_rule_info {
	enum ioasid_rule rule;
	const char *id;          /* "MAP-2" */
	const char *statement;   /* the one-line invariant */
	const char *evidence;    /* what in the event stream proves a violation */
	uint64_t needs;          /* event types (bit 1 << type) the rule cannot be checked without */
};

/* The catalogue entry of a rule; NULL for a bad number. */
IOASID_API const struct ioasid_rule_info *ioasid_check_rule(unsigned int rule);
/* "OWN-1" (or "own-1", "OWN_1") → the rule, or -ENOENT. */
IOASID_API int ioasid_check_rule_from_id(const char *id);

/* ---- warnings (stable codes) ---------------------------------------------------------------- */
#define IOASID_WARNINGS(X)                                                                         \
	X(MEMLOCK,   "memlock-headroom", "pinned memory needed by the mapped areas (one copy per "  \
				     "IOAS: a vIOMMU setup pays once per domain) against "  \
				     "RLIMIT_MEMLOCK")                                       \
	X(VIABILITY, "group-viability",  "a group cannot be claimed: which device blocks it, "     \
				     "its driver, and the fix")                              \
	X(MAP_COUNT, "map-count",        "the areas of an IOAS keep growing toward VFIO type1's "   \
				     "dma_entry_limit (65535)")

enum ioasid_warning {
#define IOASID_X_WARN(sym, code, what) IOASID_WARN_##sym,
	IOASID_WARNINGS(IOASID_X_WARN)
#undef IOASID_X_WARN
	IOASID_WARN_COUNT
};

/* ---- stream diagnostics (stable codes) ------------------------------------------------------- */
#define IOASID_STREAM_ISSUES(X)                                                                    \
	X(GAP,          "gap",          "events never arrived (sequence gap, ring buffer full)")     \
	X(DUPLICATE,    "duplicate",    "an event with a sequence number already seen")              \
	X(OUT_OF_ORDER, "out-of-order", "an event arrived after its place in the sequence was "      \
					"declared lost (later than the reorder window)")     \
	X(DAMAGED,      "damaged",      "the source is corrupt or truncated (trace file damage)")    \
	X(MALFORMED,    "malformed",    "an event that no producer makes (unknown type or version, " \
					"a field outside its domain)")

enum ioasid_stream_issue {
#define IOASID_X_STREAM(sym, code, what) IOASID_STREAM_##sym,
	IOASID_STREAM_ISSUES(IOASID_X_STREAM)
#undef IOASID_X_STREAM
	IOASID_STREAM_COUNT
};

/* ---- options ---------------------------------------------------------------------------------- */
struct ioasid_check_opts {
	size_t sz;                  /* sizeof(struct ioasid_check_opts) */
	uint64_t observable;        /* event types (1 << type) the source can produce; 0: every
	                             * type (the reference). A rule whose `needs` are not all
	                             * observable is NOT_CHECKABLE and never reported. */
	unsigned int history;       /* related recent events attached to a report (0: 8; max 32) */
	unsigned int reorder_window;/* events held to restore producer order (0: 4096) */
	bool no_warnings;           /* do not produce WARNING reports */
	uint64_t memlock_limit_pages;/* RLIMIT_MEMLOCK to assume when no ACCOUNT event said it
	                             * (0: unknown; UINT64_MAX: unlimited) */
};

/* ---- reports ---------------------------------------------------------------------------------- */
enum ioasid_report_kind {
	IOASID_REPORT_VIOLATION = 1,
	IOASID_REPORT_WARNING = 2,
	IOASID_REPORT_STREAM = 3,
};

#define IOASID_CHECK_MAX_HISTORY 32

struct ioasid_check_report {
	enum ioasid_report_kind kind;
	int code;                   /* enum ioasid_rule / ioasid_warning / ioasid_stream_issue */
	const char *id;             /* "MAP-2", "memlock-headroom", "gap" */
	char message[512];          /* names the objects, the values and what to do */
	bool has_event;             /* `event` is the event that broke the rule / raised it */
	struct ioasid_event event;
	size_t nhistory;            /* the recent events that led there, oldest first: events of */
	struct ioasid_event history[IOASID_CHECK_MAX_HISTORY]; /* the same ctx/device/domain/... */
	uint64_t lost;              /* STREAM: events lost or skipped by this issue */
};

typedef void (*ioasid_check_report_fn)(void *arg, const struct ioasid_check_report *r);

/* ---- the checker ------------------------------------------------------------------------------ */
struct ioasid_check;

/* -EINVAL (bad options), -ENOMEM. `fn` may be NULL (count only). */
IOASID_API int ioasid_check_new(const struct ioasid_check_opts *opts, ioasid_check_report_fn fn,
				void *arg, struct ioasid_check **out);

/* Feed one event / a batch, in the order the source delivered them. Returns 0, or -ENOMEM (the
 * checker then reports DAMAGED and marks every rule INCOMPLETE: it never silently drops). */
IOASID_API int ioasid_check_feed(struct ioasid_check *c, const struct ioasid_event *ev);
IOASID_API int ioasid_check_feed_batch(struct ioasid_check *c, const struct ioasid_event *evs,
				       size_t n);

/* Live sources: release events held for reordering that are older than `max_age_ns` relative to
 * the newest event seen (declaring the gaps in front of them). Call on idle polls. */
IOASID_API void ioasid_check_flush(struct ioasid_check *c, uint64_t max_age_ns);

/* What the source itself knows it lost or could not read: producer drops (ring buffer full,
 * IOASID_STAT_DROPPED), a damaged trace file (the reader's message). Each makes a STREAM report
 * and marks every rule INCOMPLETE. */
IOASID_API void ioasid_check_note_dropped(struct ioasid_check *c, uint64_t dropped);
IOASID_API void ioasid_check_note_damage(struct ioasid_check *c, const char *what);

/* End of stream: everything held is released, end-of-stream checks run. Idempotent. */
IOASID_API void ioasid_check_end(struct ioasid_check *c);

enum ioasid_rule_state {
	IOASID_RULE_CHECKED = 0,        /* every event it needs was seen */
	IOASID_RULE_NOT_CHECKABLE = 1,  /* the source cannot produce what it needs */
	IOASID_RULE_INCOMPLETE = 2,     /* checked, but events it needs were lost */
};

struct ioasid_check_summary {
	uint64_t events;            /* events checked (after dropping duplicates) */
	uint64_t violations;
	uint64_t warnings;
	uint64_t stream_issues;     /* STREAM reports */
	uint64_t lost;              /* events lost: gaps + producer drops + skipped late events */
	uint64_t duplicates;
	uint64_t per_rule[IOASID_RULE_COUNT];        /* violations per rule */
	enum ioasid_rule_state state[IOASID_RULE_COUNT];
	uint64_t per_warning[IOASID_WARN_COUNT];
	uint64_t per_stream[IOASID_STREAM_COUNT];
	/* the shadow at the end, for the summary line */
	uint32_t contexts, devices_bound, groups_claimed, hwpts, domains, ioas_areas;
	uint64_t pinned_pages;
	uint64_t observable;        /* the event types the source could produce (opts.observable) */
};

IOASID_API int ioasid_check_summary(const struct ioasid_check *c, struct ioasid_check_summary *out);

/* Verdict: 0 clean (no violation, every checkable rule CHECKED, no stream issue), 1 violations,
 * 2 not clean for another reason (stream damaged or events lost, no event at all, or no rule
 * checkable on this source: see the summary). */
IOASID_API int ioasid_check_verdict(const struct ioasid_check_summary *s);

IOASID_API void ioasid_check_free(struct ioasid_check *c);

/* ---- output (the tool's formats; used by tests to compare live and offline reports) ----------- */
#include <stdio.h>
/* One report as text: "VIOLATION MAP-2: ...", then "  event: ..." and "  before: ..." lines. */
IOASID_API void ioasid_check_report_print(FILE *f, const struct ioasid_check_report *r);
/* One report as one JSON object on one line (JSON Lines), with "kind", "id", "message",
 * "event", "history" (arrays of event objects as event_format.h writes them). */
IOASID_API void ioasid_check_report_json(FILE *f, const struct ioasid_check_report *r);
/* The summary: per-rule state and counts, warnings, stream issues, lost events, the verdict. */
IOASID_API void ioasid_check_summary_print(FILE *f, const struct ioasid_check_summary *s);
IOASID_API void ioasid_check_summary_json(FILE *f, const struct ioasid_check_summary *s);

/* The source's observable event types for opts.observable: a reference source (USDT, in-process,
 * a trace file recorded from one) produces every type; a kernel source produces what its
 * attached programs produce (ioasid_trace_observable() in trace.h). */
#define IOASID_CHECK_ALL_TYPES (~(uint64_t)1)

#ifdef __cplusplus
}
#endif
#endif
