// SPDX-License-Identifier: GPL-2.0
/* ioasid_usdt.bpf.c — events from the reference module's USDT probes (provider "ioasid").
 *
 * Every site passes one argument, a pointer to the struct ioasid_event its caller built
 * (src/common/probes.c); one program serves every probe name, attached once per name with the
 * event type as the USDT cookie. The record is copied with one bpf_probe_read_user() straight
 * into the ring buffer; the header fields are ours. A site whose record is unreadable, or whose
 * type disagrees with the cookie, still produces an event (type from the cookie) flagged by
 * IOASID_STAT_READ_ERR, so counts stay exact.
 *
 * Launch mode follows children: with filter_tgids set, a fork of a traced process adds the
 * child to `tgids` (sched_process_fork; attached only in that mode).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "ioasid_emit.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("usdt")
int BPF_USDT(ioasid_usdt_event, void *record)
{
	__u16 type = (__u16)bpf_usdt_cookie(ctx);
	struct ioasid_event *e;
	__u64 reserved;

	if (!ioasid_tgid_wanted())
		return 0;
	e = ioasid_event_begin(&reserved);
	if (!e)
		return 0;
	if (bpf_probe_read_user(e, sizeof(*e), record) || e->type != type) {
		__builtin_memset(e, 0, sizeof(*e));
		e->type = type;
		ioasid_stat_inc(IOASID_STAT_READ_ERR);
	}
	ioasid_event_end(e, reserved, IOASID_SRC_REFERENCE);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(ioasid_follow_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid;
	__u32 ctgid = child->tgid;
	__u8 one = 1;

	if (ptgid != ctgid && bpf_map_lookup_elem(&tgids, &ptgid))
		bpf_map_update_elem(&tgids, &ctgid, &one, BPF_ANY);
	return 0;
}
