/* ioasid/aggregate.h — what the BPF programs count, shared by bpf/ and userspace.
 *
 * Besides the event stream (a BPF ring buffer of struct ioasid_event), every BPF program keeps:
 *  - `aggregates`: a per-CPU hash map, key struct ioasid_agg_key (process, context, object,
 *    device, IOMMU domain, event type), value struct ioasid_agg_value (count, errors, bytes,
 *    log2 histograms of latency and size). Cheap enough to leave on: ioasid-top reads it.
 *  - `stats`: a per-CPU array indexed by enum ioasid_stat. Invariant, once the ring buffer has
 *    been drained: events received by userspace + IOASID_STAT_DROPPED == IOASID_STAT_EMITTED.
 * Userspace sums the per-CPU copies (src/trace/). The rule that turns an event into a key and
 * adds it to a value is below, shared by the BPF programs and by userspace (ioasid-top folds a
 * trace file's events with it), so both count alike.
 */
#ifndef IOASID_AGGREGATE_H
#define IOASID_AGGREGATE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "ioasid/event.h"

#define IOASID_HIST_SLOTS 32

/* Histogram slot of a latency: floor(log2(ns)), clamped to [0, 31] (slot 31: >= 2.1 s). */
/* Histogram slot of a size: floor(log2(bytes)) - 12, clamped to [0, 31] (slot 0: <= 4 KiB,
 * slot 18: 1 GiB, slot 31: >= 8 TiB). */
#define IOASID_SIZE_HIST_SHIFT 12

struct ioasid_agg_key {
	__u32 pid;          /* tgid */
	__u16 type;         /* enum ioasid_event_type */
	__u16 source;       /* enum ioasid_event_source */
	__u64 ctx;
	__u32 obj;          /* IOAS / HWPT / fault queue, as in the event */
	__u32 dev;
	__u32 iommu;
	__u32 domain;
};

struct ioasid_agg_value {
	__u64 count;
	__u64 errors;       /* events with result < 0 */
	__u64 bytes;        /* sum of length over the events that succeeded (result >= 0) */
	__u64 value_sum;    /* sum of value (pages pinned, bytes unmapped, entries dropped...) */
	__u64 latency_sum_ns;
	__u64 latency_hist[IOASID_HIST_SLOTS];
	__u64 size_hist[IOASID_HIST_SLOTS];
};

enum ioasid_stat {
	IOASID_STAT_EMITTED = 0,    /* events the program produced (after filtering) */
	IOASID_STAT_DROPPED = 1,    /* of those, not delivered: the ring buffer was full */
	IOASID_STAT_READ_ERR = 2,   /* probe argument unreadable (event still counted) */
	IOASID_STAT_AGG_FULL = 3,   /* aggregate map full: event not aggregated */
	IOASID_STAT_FILTERED = 4,   /* hits ignored by the process filter */
	IOASID_STAT_MAX
};

/* floor(log2(v)) for v > 0; 0 for 0. Branch-free: the verifier likes it. */
static inline __attribute__((always_inline)) __u32 ioasid_log2(__u64 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xFFFFFFFFull) << 5; v >>= shift; r |= shift;
	shift = (v > 0xFFFF) << 4; v >>= shift; r |= shift;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (__u32)(v >> 1);
	return r;
}

static inline __attribute__((always_inline)) __u32 ioasid_hist_slot(__u32 s)
{
	return s < IOASID_HIST_SLOTS ? s : IOASID_HIST_SLOTS - 1;
}

/* The array index of a slot, bounded in a way every verifier sees. Without the barrier the
 * compiler drops the mask (it knows slot <= 31 already) and indexes with a register whose
 * 64-bit range the 6.1 verifier has lost (it marks the result of a 32-bit OR of two unknown
 * registers fully unknown, upper half included): "math between map_value pointer and register
 * with unbounded min value is not allowed". A 64-bit AND after the barrier bounds it on any
 * kernel; outside BPF the barrier is absent and the mask is a no-op. */
static inline __attribute__((always_inline)) __u64 ioasid_hist_index(__u32 slot)
{
	__u64 i = slot;

#ifdef __bpf__
	asm volatile("" : "+r"(i));
#endif
	return i & (IOASID_HIST_SLOTS - 1);
}

/* The aggregate an event belongs to. */
static inline __attribute__((always_inline)) void
ioasid_agg_key_of(const struct ioasid_event *e, struct ioasid_agg_key *key)
{
	key->pid = e->pid;
	key->type = e->type;
	key->source = e->source;
	key->ctx = e->ctx;
	key->obj = e->obj;
	key->dev = e->dev;
	key->iommu = e->iommu;
	key->domain = e->domain;
}

/* Add an event to its aggregate. */
static inline __attribute__((always_inline)) void
ioasid_agg_add(struct ioasid_agg_value *v, const struct ioasid_event *e)
{
	__u32 slot;

	v->count += 1;
	if (e->result < 0)
		v->errors += 1;
	else
		v->bytes += e->length;
	v->value_sum += e->value;
	if (e->latency_ns) {
		v->latency_sum_ns += e->latency_ns;
		slot = ioasid_hist_slot(ioasid_log2(e->latency_ns));
		v->latency_hist[ioasid_hist_index(slot)] += 1;
	}
	if (e->length) {
		slot = ioasid_log2(e->length);
		slot = slot > IOASID_SIZE_HIST_SHIFT ? slot - IOASID_SIZE_HIST_SHIFT : 0;
		slot = ioasid_hist_slot(slot);
		v->size_hist[ioasid_hist_index(slot)] += 1;
	}
}
#endif
