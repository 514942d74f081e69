/* ioasid_emit.bpf.h — the one way every BPF program of ioasid hands out an event.
 *
 * Owns the maps every program shares in shape (each skeleton has its own instances):
 *  events      ring buffer of struct ioasid_event; wake-ups are batched: an event is submitted
 *              without a wake-up unless wakeup_bytes or more are waiting (the consumer also
 *              polls with a timeout, so nothing waits longer than that);
 *  stats       per-CPU counters (enum ioasid_stat): emitted, dropped, unreadable, unaggregated;
 *  aggregates  per-CPU hash of struct ioasid_agg_value by struct ioasid_agg_key;
 *  seq         one global sequence counter (a gap in seq = an event lost);
 *  scratch     per-CPU record used when the ring buffer is full or events are off, so the
 *              aggregates stay exact even when events are dropped.
 * Knobs (rodata, set before load): emit_events, emit_aggregates, wakeup_bytes, filter_tgids.
 *
 * Usage: e = ioasid_event_begin(&reserved); fill *e; ioasid_event_end(e, reserved, source).
 * `reserved` (is the record a ring-buffer slot?) is a __u64 pinned in a register by an empty
 * asm: as a bool, clang may keep it in half a stack slot, a neighbouring 4-byte store makes the
 * verifier forget it, and it then rejects bpf_ringbuf_submit() of the scratch record on the
 * path it can no longer rule out.
 */
#ifndef IOASID_EMIT_BPF_H
#define IOASID_EMIT_BPF_H

#include "ioasid/event.h"
#include "ioasid/aggregate.h"

const volatile bool emit_events = true;
const volatile bool emit_aggregates = true;
const volatile __u64 wakeup_bytes = 64 * 1024;
/* Only processes in the `tgids` map are traced (launch / -p modes); false: every process. */
const volatile bool filter_tgids = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IOASID_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ioasid_agg_key);
	__type(value, struct ioasid_agg_value);
} aggregates SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} seq SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ioasid_event);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);      /* tgid */
	__type(value, __u8);
} tgids SEC(".maps");

static const struct ioasid_agg_value ioasid_agg_zero;

#define ioasid_reg_pin(x) asm volatile("" : "+r"(x))

static __always_inline void ioasid_stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1;
}

/* Is the current process one we trace? Counts the hits it ignores. */
static __always_inline bool ioasid_tgid_wanted(void)
{
	__u32 tgid;

	if (!filter_tgids)
		return true;
	tgid = bpf_get_current_pid_tgid() >> 32;
	if (bpf_map_lookup_elem(&tgids, &tgid))
		return true;
	ioasid_stat_inc(IOASID_STAT_FILTERED);
	return false;
}

/* A record to fill: in the ring buffer (*reserved = true) or, when the ring buffer is full or
 * events are off, the per-CPU scratch record. NULL only if scratch is unavailable (never). The
 * caller fills the body; ioasid_event_end() fills the header. */
static __always_inline struct ioasid_event *ioasid_event_begin(__u64 *reserved)
{
	struct ioasid_event *e = NULL;
	__u32 zero = 0;
	__u64 r = 0;

	ioasid_stat_inc(IOASID_STAT_EMITTED);
	if (emit_events) {
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (e)
			r = 1;
		else
			ioasid_stat_inc(IOASID_STAT_DROPPED);
	}
	ioasid_reg_pin(r);
	*reserved = r;
	if (!e)
		e = bpf_map_lookup_elem(&scratch, &zero);
	return e;
}

static __always_inline void ioasid_aggregate(const struct ioasid_event *e)
{
	struct ioasid_agg_key key = {};
	struct ioasid_agg_value *v;

	ioasid_agg_key_of(e, &key);
	v = bpf_map_lookup_elem(&aggregates, &key);
	if (!v) {
		/* EEXIST (another CPU inserted it meanwhile) is fine: look it up again. */
		bpf_map_update_elem(&aggregates, &key, &ioasid_agg_zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&aggregates, &key);
		if (!v) {
			ioasid_stat_inc(IOASID_STAT_AGG_FULL);
			return;
		}
	}
	/* Per-CPU value: no other CPU writes it. */
	ioasid_agg_add(v, e);
}

/* Fill the header (source, version, seq, ts, pid, tid), aggregate, and hand the record out. */
static __always_inline void ioasid_event_end(struct ioasid_event *e, __u64 reserved, __u8 source)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 zero = 0;
	__u64 *s;

	e->source = source;
	e->version = IOASID_EVENT_VERSION;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	s = bpf_map_lookup_elem(&seq, &zero);
	e->seq = s ? __sync_fetch_and_add(s, 1) + 1 : 0;
	if (emit_aggregates)
		ioasid_aggregate(e);
	ioasid_reg_pin(reserved);
	if (!reserved)
		return;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	else
		bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

#endif
