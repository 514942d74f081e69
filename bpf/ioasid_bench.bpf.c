// SPDX-License-Identifier: GPL-2.0
/* ioasid_bench.bpf.c — the baseline for what tracing costs: a bare uprobe hit.
 *
 * One uprobe program that only counts (a per-CPU counter), attached by bench_trace to sites that
 * are nothing but a nop: what any uprobe-based tracer pays at the least. bench_trace reports the
 * reference's per-event cost as a ratio to this, measured in the same run. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

SEC("uprobe")
int bench_bare_hit(struct pt_regs *ctx)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&hits, &zero);

	if (v)
		*v += 1;
	return 0;
}
