/* stream.c — restore producer order, and say what the stream lost.
 *
 * Sequence spaces: the in-process hook numbers events per process (one space per pid), the
 * reference's USDT programs share one counter (one space), and the kernel programs
 * (tracepoints and fentry) share another. seq 0 means "unsequenced": processed at once.
 *
 * Each space holds up to opts.reorder_window events in a min-heap by seq (copies in slots; the
 * heap sorts 16-byte {seq, slot} entries). The fast path — nothing held and the event is the
 * expected one — processes the caller's event in place, no copy. The first event released
 * from a space sets where it starts (events before the trace began are not gaps); until then
 * events are held, so reordering at the very start is absorbed too.
 *
 * Release: the heap top is processed while it is the expected seq. When the heap outgrows the
 * window, on ioasid_check_flush() for events older than max_age, and at the end, the top is
 * released even if seqs are missing in front of it: that is a GAP (the range and the count are
 * reported, every checkable rule becomes INCOMPLETE), and the space continues from the top.
 * A later arrival of a seq already passed is OUT_OF_ORDER if it falls in a declared gap (it
 * is skipped: the rules it feeds become INCOMPLETE) and a DUPLICATE otherwise (ignored). A
 * duplicate inside the heap is found when it surfaces (its seq is then behind `expected`).
 *
 * Reports are coalesced: at most one STREAM report per kind per CK_COALESCE events; the ones
 * held back are counted and summed into the next report of that kind (or one at the end), so
 * counts (lost, duplicates, per_stream) stay exact.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check_private.h"

/* ---- validation ---------------------------------------------------------------------------- */
bool ck_event_malformed(const struct ioasid_event *ev, char *why, size_t len)
{
	if (ev->version != IOASID_EVENT_VERSION)
		snprintf(why, len, "record version %u (this build reads version %u)", ev->version,
			 IOASID_EVENT_VERSION);
	else if (ev->type == IOASID_EV_NONE || ev->type >= IOASID_EV_MAX)
		snprintf(why, len, "unknown event type %u (known: 1..%u)", ev->type,
			 IOASID_EV_MAX - 1);
	else if (ev->source > IOASID_SRC_KERNEL_FN)
		snprintf(why, len, "unknown source %u", ev->source);
	else if (ev->name[IOASID_EVENT_NAME_LEN - 1] &&
		 !memchr(ev->name, 0, IOASID_EVENT_NAME_LEN))
		snprintf(why, len, "device name not NUL-terminated within %u bytes",
			 IOASID_EVENT_NAME_LEN);
	else
		return false;
	return true;
}

static inline bool quick_valid(const struct ioasid_event *ev)
{
	return ev->version == IOASID_EVENT_VERSION && ev->type != 0 && ev->type < IOASID_EV_MAX &&
	       ev->source <= IOASID_SRC_KERNEL_FN && !ev->name[IOASID_EVENT_NAME_LEN - 1];
}

/* ---- reports ------------------------------------------------------------------------------- */
void ck_mark_all_incomplete(struct ioasid_check *c)
{
	c->lost_any = true;
	for (unsigned int i = 0; i < IOASID_RULE_COUNT; i++)
		if (c->checkable[i])
			c->incomplete[i] = true;
}

static const char *const issue_ids[IOASID_STREAM_COUNT] = {
#define X(sym, code, what) [IOASID_STREAM_##sym] = code,
	IOASID_STREAM_ISSUES(X)
#undef X
};

void ck_stream_issue(struct ioasid_check *c, enum ioasid_stream_issue kind,
		     const struct ioasid_event *ev, uint64_t lost, const char *fmt, ...)
{
	char suffix[160] = "";
	va_list ap;

	c->sum.per_stream[kind]++;
	if (c->stream_reported[kind] &&
	    c->sum.events - c->stream_last_report[kind] < CK_COALESCE && !c->ended) {
		c->stream_suppressed[kind]++;
		c->suppressed_lost[kind] += lost;
		return;
	}
	if (c->stream_suppressed[kind])
		snprintf(suffix, sizeof(suffix), " (and %llu more %s issue(s) since the previous "
			 "report, coalesced, %llu event(s) lost by them)",
			 (unsigned long long)c->stream_suppressed[kind], issue_ids[kind],
			 (unsigned long long)c->suppressed_lost[kind]);
	lost += c->suppressed_lost[kind];
	c->stream_reported[kind] = true;
	c->stream_last_report[kind] = c->sum.events;
	c->stream_suppressed[kind] = 0;
	c->suppressed_lost[kind] = 0;
	c->sum.stream_issues++;
	va_start(ap, fmt);
	ck_report_emit(c, IOASID_REPORT_STREAM, kind, issue_ids[kind], ev, lost, suffix, fmt, ap);
	va_end(ap);
}

static void stream_emit(struct ioasid_check *c, unsigned int kind, uint64_t lost,
			const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ck_report_emit(c, IOASID_REPORT_STREAM, (int)kind, issue_ids[kind], NULL, lost, NULL, fmt,
		       ap);
	va_end(ap);
}

/* The reports held back by coalescing, one per kind, at the end. */
void ck_stream_report_suppressed(struct ioasid_check *c)
{
	static const char *const what[IOASID_STREAM_COUNT] = {
		[IOASID_STREAM_GAP] = "more sequence gaps",
		[IOASID_STREAM_DUPLICATE] = "more duplicate events (ignored)",
		[IOASID_STREAM_OUT_OF_ORDER] = ("more events that arrived after their place was "
						"declared lost (skipped)"),
		[IOASID_STREAM_DAMAGED] = "more damage notes",
		[IOASID_STREAM_MALFORMED] = "more malformed events (skipped)",
	};

	for (unsigned int k = 0; k < IOASID_STREAM_COUNT; k++) {
		uint64_t n = c->stream_suppressed[k], lost = c->suppressed_lost[k];

		if (!n)
			continue;
		c->stream_suppressed[k] = 0;
		c->suppressed_lost[k] = 0;
		c->stream_last_report[k] = c->sum.events;
		c->sum.stream_issues++;
		stream_emit(c, k, lost, "%llu %s since the previous %s report (coalesced: one "
			    "report per %u events); %llu event(s) lost by them",
			    (unsigned long long)n, what[k], issue_ids[k], CK_COALESCE,
			    (unsigned long long)lost);
	}
}

/* ---- spaces -------------------------------------------------------------------------------- */
static struct ck_space *space_new(struct ioasid_check *c, uint8_t source, uint32_t pid)
{
	struct ck_space *s;

	if (c->nspaces == c->cap_spaces) {
		uint32_t ncap = c->cap_spaces ? c->cap_spaces * 2 : 8;
		struct ck_space **ns = realloc(c->spaces, ncap * sizeof(*ns));

		if (!ns)
			return NULL;
		c->spaces = ns;
		c->cap_spaces = ncap;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->source = source;
	s->pid = pid;
	c->spaces[c->nspaces++] = s;
	return s;
}

static struct ck_space *space_of(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_space *s;

	switch (ev->source) {
	case IOASID_SRC_REFERENCE:
		if (!c->space_ref)
			c->space_ref = space_new(c, IOASID_SRC_REFERENCE, 0);
		return c->space_ref;
	case IOASID_SRC_KERNEL_TP:
	case IOASID_SRC_KERNEL_FN:
		if (!c->space_kernel)
			c->space_kernel = space_new(c, IOASID_SRC_KERNEL_TP, 0);
		return c->space_kernel;
	case IOASID_SRC_INPROC:
		s = c->space_last_inproc;
		if (s && s->pid == ev->pid)
			return s;
		for (uint32_t i = 0; i < c->nspaces; i++)
			if (c->spaces[i]->source == IOASID_SRC_INPROC &&
			    c->spaces[i]->pid == ev->pid)
				return c->space_last_inproc = c->spaces[i];
		s = space_new(c, IOASID_SRC_INPROC, ev->pid);
		if (s)
			c->space_last_inproc = s;
		return s;
	default:
		return NULL;                    /* SOURCE_NONE: unsequenced */
	}
}

static const char *space_name(const struct ck_space *s, char *buf, size_t len)
{
	if (s->source == IOASID_SRC_INPROC)
		snprintf(buf, len, "in-process events of pid %u", s->pid);
	else if (s->source == IOASID_SRC_REFERENCE)
		snprintf(buf, len, "reference (USDT) events");
	else
		snprintf(buf, len, "kernel events");
	return buf;
}

/* ---- the heap ------------------------------------------------------------------------------ */
static void heap_up(struct ck_heap_ent *h, uint32_t i)
{
	struct ck_heap_ent e = h[i];

	while (i) {
		uint32_t p = (i - 1) / 2;

		if (h[p].seq <= e.seq)
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = e;
}

static void heap_down(struct ck_heap_ent *h, uint32_t n, uint32_t i)
{
	struct ck_heap_ent e = h[i];

	for (;;) {
		uint32_t l = 2 * i + 1, m;

		if (l >= n)
			break;
		m = (l + 1 < n && h[l + 1].seq < h[l].seq) ? l + 1 : l;
		if (h[m].seq >= e.seq)
			break;
		h[i] = h[m];
		i = m;
	}
	h[i] = e;
}

static int space_grow(struct ck_space *s)
{
	uint32_t ncap = s->cap ? s->cap * 2 : 64;
	struct ck_heap_ent *nh = realloc(s->heap, ncap * sizeof(*nh));
	struct ioasid_event *nslots;
	uint32_t *nfree;

	if (!nh)
		return -ENOMEM;
	s->heap = nh;
	nslots = realloc(s->slots, ncap * sizeof(*nslots));
	if (!nslots)
		return -ENOMEM;
	s->slots = nslots;
	nfree = realloc(s->free_slots, ncap * sizeof(*nfree));
	if (!nfree)
		return -ENOMEM;
	s->free_slots = nfree;
	for (uint32_t i = ncap; i > s->cap; i--)
		s->free_slots[s->nfree++] = i - 1;
	s->cap = ncap;
	return 0;
}

static int heap_push(struct ck_space *s, const struct ioasid_event *ev)
{
	uint32_t slot;

	if (!s->nfree && space_grow(s))
		return -ENOMEM;
	slot = s->free_slots[--s->nfree];
	s->slots[slot] = *ev;
	s->heap[s->nheap] = (struct ck_heap_ent){ ev->seq, slot };
	heap_up(s->heap, s->nheap++);
	return 0;
}

/* Pop the top into *out (a copy: processing may push into this same heap? no — processing
 * never feeds the stream — but the slot is recycled at once). */
static void heap_pop(struct ck_space *s, struct ioasid_event *out)
{
	uint32_t slot = s->heap[0].slot;

	*out = s->slots[slot];
	s->free_slots[s->nfree++] = slot;
	s->heap[0] = s->heap[--s->nheap];
	if (s->nheap)
		heap_down(s->heap, s->nheap, 0);
}

/* ---- release ------------------------------------------------------------------------------- */
static void note_gap(struct ioasid_check *c, struct ck_space *s, uint64_t first, uint64_t last,
		     const struct ioasid_event *next)
{
	struct ck_gap *g = &c->gaps[c->ngaps++ % CK_GAPS];
	uint64_t n = last - first + 1;
	char name[64];

	g->space = s;
	g->first = first;
	g->last = last;
	c->sum.lost += n;
	ck_mark_all_incomplete(c);
	ck_stream_issue(c, IOASID_STREAM_GAP, next, n,
			"%llu event(s) never arrived from the %s: seq %llu..%llu missing (a ring "
			"buffer overflowed or the producer dropped them); every rule is now "
			"INCOMPLETE — enlarge the ring buffer or the reorder window "
			"(reorder_window %u)", (unsigned long long)n, space_name(s, name, sizeof(name)),
			(unsigned long long)first, (unsigned long long)last,
			c->opts.reorder_window);
}

static bool in_declared_gap(const struct ioasid_check *c, const struct ck_space *s, uint64_t seq)
{
	uint32_t n = c->ngaps < CK_GAPS ? c->ngaps : CK_GAPS;

	for (uint32_t i = 0; i < n; i++)
		if (c->gaps[i].space == s && seq >= c->gaps[i].first && seq <= c->gaps[i].last)
			return true;
	return false;
}

static void late_event(struct ioasid_check *c, struct ck_space *s, const struct ioasid_event *ev)
{
	char name[64];

	if (in_declared_gap(c, s, ev->seq)) {
		uint64_t bit = 1ULL << ev->type;

		/* its loss is already counted in the gap's */
		c->lost_any = true;
		for (unsigned int i = 0; i < IOASID_RULE_COUNT; i++)
			if (c->checkable[i] && (ioasid_check_rule(i)->needs & bit))
				c->incomplete[i] = true;
		ck_stream_issue(c, IOASID_STREAM_OUT_OF_ORDER, ev, 1,
				"%s seq %llu from the %s arrived after its place was declared lost "
				"(later than the reorder window of %u events): skipped; raise "
				"reorder_window if the producer reorders this much",
				ioasid_event_type_name(ev->type), (unsigned long long)ev->seq,
				space_name(s, name, sizeof(name)), c->opts.reorder_window);
	} else {
		c->sum.duplicates++;
		ck_stream_issue(c, IOASID_STREAM_DUPLICATE, ev, 0,
				"%s seq %llu from the %s was already seen: ignored (a trace read "
				"twice, or a producer that repeats events)",
				ioasid_event_type_name(ev->type), (unsigned long long)ev->seq,
				space_name(s, name, sizeof(name)));
	}
}

/* Process the heap's top events while they are the expected ones. */
static void drain(struct ioasid_check *c, struct ck_space *s)
{
	struct ioasid_event ev;

	while (s->nheap && s->heap[0].seq <= s->expected) {
		heap_pop(s, &ev);
		if (ev.seq < s->expected) {
			late_event(c, s, &ev);          /* a duplicate that waited in the heap */
			continue;
		}
		s->expected++;
		ck_process(c, &ev);
	}
}

/* Release the top even with seqs missing in front of it. */
static void force_one(struct ioasid_check *c, struct ck_space *s)
{
	if (!s->nheap)
		return;
	if (!s->started) {
		s->started = true;
		s->expected = s->heap[0].seq;
	} else if (s->heap[0].seq > s->expected) {
		note_gap(c, s, s->expected, s->heap[0].seq - 1, &s->slots[s->heap[0].slot]);
		s->expected = s->heap[0].seq;
	}
	drain(c, s);
}

int ck_stream_feed(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_space *s;

	if (__builtin_expect(!quick_valid(ev), 0)) {
		char why[128];

		if (ck_event_malformed(ev, why, sizeof(why)) && ev->source > IOASID_SRC_KERNEL_FN) {
			/* no sequence space to hold it in */
			ck_mark_all_incomplete(c);
			ck_stream_issue(c, IOASID_STREAM_MALFORMED, ev, 1,
					"malformed event skipped: %s; no producer makes it (a "
					"corrupt trace, or a reader of another format)", why);
			return 0;
		}
		/* malformed with a valid source: it keeps its place in the sequence, and is
		 * reported (and skipped) when released */
	}
	if (ev->ts_ns > c->newest_ts)
		c->newest_ts = ev->ts_ns;
	if (!ev->seq || !(s = space_of(c, ev))) {
		if (ev->seq == 0 || ev->source == IOASID_SRC_NONE) {
			ck_process(c, ev);
			return 0;
		}
		ck_nomem(c, ev);
		return -ENOMEM;
	}
	if (__builtin_expect(s->started && ev->seq == s->expected, 1)) {
		s->expected++;
		ck_process(c, ev);
		if (s->nheap)
			drain(c, s);
		return 0;
	}
	if (s->started && ev->seq < s->expected) {
		late_event(c, s, ev);
		return 0;
	}
	if (heap_push(s, ev)) {
		ck_nomem(c, ev);
		return -ENOMEM;
	}
	while (s->nheap > c->opts.reorder_window)
		force_one(c, s);
	return 0;
}

void ck_stream_flush(struct ioasid_check *c, uint64_t max_age_ns)
{
	for (uint32_t i = 0; i < c->nspaces; i++) {
		struct ck_space *s = c->spaces[i];

		while (s->nheap) {
			const struct ioasid_event *top = &s->slots[s->heap[0].slot];

			if (top->ts_ns + max_age_ns >= c->newest_ts && max_age_ns != 0)
				break;
			force_one(c, s);
		}
	}
}

void ck_stream_end(struct ioasid_check *c)
{
	for (uint32_t i = 0; i < c->nspaces; i++)
		while (c->spaces[i]->nheap)
			force_one(c, c->spaces[i]);
}

void ck_stream_free(struct ioasid_check *c)
{
	for (uint32_t i = 0; i < c->nspaces; i++) {
		free(c->spaces[i]->heap);
		free(c->spaces[i]->slots);
		free(c->spaces[i]->free_slots);
		free(c->spaces[i]);
	}
	free(c->spaces);
}
