/* ioasid/aggregate.h — what the BPF programs count, shared by bpf/ and userspace.
 *
 * Besides the event stream (a BPF ring buffer of struct ioasid_event), every BPF program keeps:
 *  - `aggregates`: a per-CPU hash map, key struct ioasid_agg_key (process, context, object,
 *    device, IOMMU domain, event type), value struct ioasid_agg_value (count, errors, bytes,
 *    log2 histograms of latency and size). Cheap enough to leave on: ioasid-top reads it.
 *  - `stats`: a per-CPU array indexed by enum ioasid_stat. Invariant, once the ring buffer has
 *    been drained: events received by userspace + IOASID_STAT_DROPPED == IOASID_STAT_EMITTED.
 * Userspace sums the per-CPU copies (src/trace/).
 */
#ifndef IOASID_AGGREGATE_H
#define IOASID_AGGREGATE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

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
	__u64 bytes;        /* sum of length */
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

#endif
