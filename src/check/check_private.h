/* check_private.h — the checker object shared by the files of src/check/.
 *
 *   check.c     the public object: options, feed dispatch per event type, summary, verdict
 *   rules.c     the catalogue: ids, statements, evidence, `needs` masks
 *   stream.c    sequence restore: reorder window, duplicates, gaps, late and malformed events
 *   model.c     the shadow state (model.h)
 *   rules_*.c   the checks of one rule family each, with the model updates of their events
 *   warn.c      warnings (memlock headroom, group viability, map count)
 *   report.c    building reports (history selection) and their text / JSON output
 *
 * Flow of one event: ioasid_check_feed → stream (validation, order restore) → ck_process →
 * the per-type handler (checks first, then the model adopts what the event says happened) →
 * the event joins the history ring.
 */
#ifndef IOASID_CHECK_PRIVATE_H
#define IOASID_CHECK_PRIVATE_H

#include <stdarg.h>

#include "ioasid/check.h"
#include "check/model.h"
#include "ioasid/trace.h"     /* ioasid_event_type_name */

#define CK_RING 256                     /* recent events kept for report history */
#define CK_GAPS 64                      /* recent declared gaps remembered (late events) */
#define CK_COALESCE 1000                /* one STREAM report per kind per this many events */

/* A sequence space: its expected next seq and the events held to restore order. */
struct ck_heap_ent {
	uint64_t seq;
	uint32_t slot;
};

struct ck_space {
	uint8_t source;                 /* REFERENCE, INPROC (per pid), KERNEL (TP+FN) */
	uint32_t pid;                   /* INPROC only */
	bool started;
	uint64_t expected;
	struct ck_heap_ent *heap;
	uint32_t nheap, cap;
	struct ioasid_event *slots;     /* cap slots */
	uint32_t *free_slots;
	uint32_t nfree;
};

struct ck_gap {
	struct ck_space *space;
	uint64_t first, last;
};

struct ioasid_check {
	struct ioasid_check_opts opts;
	ioasid_check_report_fn fn;
	void *arg;

	uint64_t observable;
	bool checkable[IOASID_RULE_COUNT];
	bool incomplete[IOASID_RULE_COUNT];
	struct ioasid_check_summary sum;    /* counts (the shadow fields are filled on demand) */

	/* stream */
	struct ck_space **spaces;
	uint32_t nspaces, cap_spaces;
	struct ck_space *space_ref, *space_kernel, *space_last_inproc;
	struct ck_gap gaps[CK_GAPS];
	uint32_t ngaps;                     /* total declared (ring index = n % CK_GAPS) */
	uint64_t newest_ts;
	uint64_t stream_last_report[IOASID_STREAM_COUNT]; /* events count at the last report */
	bool stream_reported[IOASID_STREAM_COUNT];
	uint64_t stream_suppressed[IOASID_STREAM_COUNT];  /* since the last report of the kind */
	uint64_t suppressed_lost[IOASID_STREAM_COUNT];
	bool ended;
	bool lost_any;                      /* events were lost: absence proves nothing now */

	/* history */
	struct ioasid_event ring[CK_RING];
	uint64_t nring;

	struct ck_model m;
	struct ioasid_check_report rep;     /* scratch for the report being built */
};

/* rules.c */
extern const struct ioasid_rule_info ck_rules[IOASID_RULE_COUNT];
static inline bool ck_rule_on(const struct ioasid_check *c, enum ioasid_rule r)
{
	return c->checkable[r];
}

/* Absence-based evidence ("(H)": X happened, Y was never seen) needs the whole history: a
 * context born in the stream, and nothing lost since. */
static inline bool ck_full_history(const struct ioasid_check *c, const struct ck_ctx *cx)
{
	return cx && cx->born && !c->lost_any;
}

/* stream.c */
int ck_stream_feed(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_stream_flush(struct ioasid_check *c, uint64_t max_age_ns);
void ck_stream_end(struct ioasid_check *c);
void ck_stream_free(struct ioasid_check *c);
bool ck_event_malformed(const struct ioasid_event *ev, char *why, size_t len);
/* A STREAM report (coalesced per kind); all_incomplete marks every checkable rule. */
void ck_stream_issue(struct ioasid_check *c, enum ioasid_stream_issue kind,
		     const struct ioasid_event *ev, uint64_t lost, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void ck_stream_report_suppressed(struct ioasid_check *c);
void ck_mark_all_incomplete(struct ioasid_check *c);

/* check.c: one event in producer order (malformed ones are reported and skipped). */
void ck_process(struct ioasid_check *c, const struct ioasid_event *ev);
/* Out of memory in the model: the shadow is no longer whole. */
void ck_nomem(struct ioasid_check *c, const struct ioasid_event *ev);

/* report.c */
void ck_violation(struct ioasid_check *c, enum ioasid_rule rule, const struct ioasid_event *ev,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void ck_warning(struct ioasid_check *c, enum ioasid_warning w, const struct ioasid_event *ev,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Build (history included) and deliver one report; `suffix` (may be NULL) ends the message. */
void ck_report_emit(struct ioasid_check *c, enum ioasid_report_kind kind, int code,
		    const char *id, const struct ioasid_event *ev, uint64_t lost,
		    const char *suffix, const char *fmt, va_list ap);
/* `dev 4 "0000:01:00.0"` (the name if any event named it). */
const char *ck_dev_str(struct ioasid_check *c, uint32_t ns, uint32_t dev, char *buf, size_t len);
const char *ck_ctx_str(uint32_t pid, uint64_t ctx, char *buf, size_t len);

static inline void ck_ring_push(struct ioasid_check *c, const struct ioasid_event *ev)
{
	c->ring[c->nring++ & (CK_RING - 1)] = *ev;
}

/* rules_own.c */
void ck_own_ctx_open(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_own_ctx_close(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_own_dev_bind(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_own_dev_unbind(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_own_obj_alloc(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_own_obj_destroy(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_own_hwpt_alloc(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_own_hwpt_destroy(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_own_check_attach(struct ioasid_check *c, const struct ioasid_event *ev);

/* rules_grp.c */
void ck_grp_claim(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_grp_release(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_grp_driver(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_grp_check_attach(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_grp_note_member(struct ioasid_check *c, const struct ioasid_event *ev);
const char *ck_driver_str(uint32_t kind);        /* "a DMA-API kernel driver" */

/* rules_pas.c: attach / replace / detach (all attach checks run from here) and global PASIDs */
void ck_pas_attach(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_pas_detach(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_pas_gpasid_alloc(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_pas_gpasid_free(struct ioasid_check *c, const struct ioasid_event *ev);

/* rules_map.c */
void ck_map_ioas_map(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_map_ioas_unmap(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_map_ioas_reserve(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_map_ioas_allow(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_map_domain_map(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_map_domain_unmap(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_map_iotlb_inv(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_map_stale_hit(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_map_dma(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_map_account(struct ioasid_check *c, const struct ioasid_event *ev);
/* MAP-3 (a): after the context's areas changed (IOAS_UNMAP, IOAS OBJ_DESTROY). */
void ck_map3_after_release(struct ioasid_check *c, const struct ioasid_event *ev,
			   struct ck_ctx *cx);

/* warn.c */
void ck_warn_memlock(struct ioasid_check *c, const struct ioasid_event *ev,
		     struct ck_pidstate *ps);
void ck_warn_bind_refused(struct ioasid_check *c, const struct ioasid_event *ev);
void ck_warn_driver_bind(struct ioasid_check *c, const struct ioasid_event *ev,
			 struct ck_group *g);
void ck_warn_map_count(struct ioasid_check *c, const struct ioasid_event *ev,
		       struct ck_object *ioas);
uint32_t ck_map_count_threshold(uint32_t after);

#endif
