#!/usr/bin/env bash
# verify-kernel-path.sh — judge what suite-kernel.sh collected in the guest: did the toolkit's
# kernel-side BPF programs see, and its tools count, exactly what the kernel did?
#
#   scripts/testbed/verify-kernel-path.sh DIR N
#
# DIR is the boot's --out directory, N the loop count the suite used (TB_LOOPS, default 200).
# The oracle is the kernel's own trace buffer (oracle.txt: tracepoint hits and, through the
# function tracer, calls of the functions our fentry/fexit programs hook), recorded over exactly
# the window in which every tool was attached. Checks, each printed as PASS/FAIL with both numbers:
#   - every required program attached (tracepoints, and fentry/fexit: this kernel allows them);
#   - ioasid-trace's recording, by event type, equals the oracle (domain map/unmap = iommu:map/
#     unmap; IOTLB invalidations = intel_iommu:cache_tag_flush_*; attaches = the tracepoint plus
#     iommufd_device_attach; bind/unbind/detach/claim/release/HWPT alloc/IOAS map/unmap = calls);
#   - the workload's own numbers: N IOAS maps and unmaps (iommufd_map_loop), N type1 pairs;
#   - ioasid-top's final totals (maps, unmaps, invalidations, attaches, detaches, events) and
#     ioasid-check's summary (every event, 0 lost, 0 violations, verdict clean);
#   - no tool dropped an event or exited non-zero.
# Exit status: 0 all passed, 1 a check failed, 2 the directory lacks a file the suite sends.
set -uo pipefail
DIR=${1:?usage: verify-kernel-path.sh DIR N}
N=${2:?usage: verify-kernel-path.sh DIR N}

for f in oracle.txt replay-summary.txt exits.txt top.jsonl check.jsonl trace.err \
	iommufd_map_loop.out; do
	[ -f "$DIR/$f" ] || { echo "verify: $DIR/$f is missing: the guest suite did not send it" \
		"(see $DIR/console.log)" >&2; exit 2; }
done

. "$(dirname "$0")/checks.sh"
oracle() { awk -v k="$1" -v n="$2" '$1 == k && $2 == n { print $3 }' "$DIR/oracle.txt"; }
traced() { # the recording's count of one event type (0 when absent)
	sed -n 's/.*by type: //p' "$DIR/replay-summary.txt" | tr ' ' '\n' |
		awk -F= -v t="$1" '$1 == t { c = $2 } END { print c + 0 }'
}
json_last() { # json_last FILE SELECTOR FIELD: FIELD of the last line containing SELECTOR
	grep -F "$2" "$1" | tail -1 | sed -n "s/.*\"$3\":\\([^,}]*\\).*/\\1/p"
}

echo "verify: the BPF kernel path ($DIR)"
# Programs that must be attached on this kernel (tracepoints; fentry/fexit allowed here).
for p in ioasid_tp_map ioasid_tp_unmap ioasid_tp_attach_dev ioasid_tp_group_add \
	ioasid_tp_group_del ioasid_tp_ct_flush ioasid_tp_ct_flush_all ioasid_fexit_dev_bind \
	ioasid_fentry_dev_unbind ioasid_fexit_dev_attach ioasid_fentry_dev_detach \
	ioasid_fexit_dma_claim ioasid_fentry_dma_release ioasid_fexit_iopt_map \
	ioasid_fexit_iopt_unmap ioasid_fexit_hwpt_alloc ioasid_fexit_vfio_bind; do
	skip=$(grep -E "^ +skip +$p " "$DIR/trace.err" | sed 's/^ *skip *//')
	check "attached: $p" "${skip:-attached}" attached
done

one() { check "$1 = $2" "$(traced "$1")" "$3"; }
one domain_map "iommu:map" "$(oracle event map)"
one domain_unmap "iommu:unmap" "$(oracle event unmap)"
one iotlb_inv "cache_tag_flush_range+all" \
	"$(( $(oracle event cache_tag_flush_range) + $(oracle event cache_tag_flush_all) ))"
one dev_attach "attach_device_to_domain+iommufd_device_attach" \
	"$(( $(oracle event attach_device_to_domain) + $(oracle function iommufd_device_attach) ))"
one dev_detach "iommufd_device_detach()" "$(oracle function iommufd_device_detach)"
one dev_bind "iommufd_device_bind()" "$(oracle function iommufd_device_bind)"
one dev_unbind "iommufd_device_unbind()" "$(oracle function iommufd_device_unbind)"
one group_claim "iommu_device_claim_dma_owner()" \
	"$(oracle function iommu_device_claim_dma_owner)"
one group_release "iommu_device_release_dma_owner()" \
	"$(oracle function iommu_device_release_dma_owner)"
one hwpt_alloc "iommufd_hwpt_paging_alloc()" "$(oracle function iommufd_hwpt_paging_alloc)"
one ioas_map "iopt_map_user_pages()" "$(oracle function iopt_map_user_pages)"
one ioas_unmap "iopt_unmap_iova()" "$(oracle function iopt_unmap_iova)"
one group_add_dev "iommu:add_device_to_group" "$(oracle event add_device_to_group)"
one group_del_dev "iommu:remove_device_from_group" "$(oracle event remove_device_from_group)"

check "iommufd_map_loop finished N pairs" \
	"$(grep -c "done binds=1 attaches=1 detaches=1 maps=$N unmaps=$N" \
	"$DIR/iommufd_map_loop.out")" 1
check "ioas_map = the workload's N" "$(traced ioas_map)" "$N"
if [ -f "$DIR/type1_map_loop.out" ]; then
	check "type1_map_loop finished N pairs" \
		"$(grep -c " pairs $N .* maps $N unmaps $N " "$DIR/type1_map_loop.out")" 1
	check "domain maps >= DMA-API + iommufd + type1 loops" \
		"$([ "$(traced domain_map)" -ge $((2 * N)) ] && echo yes)" yes
fi

total=$(sed -n 's/.*: \([0-9]*\) events received.*/\1/p' "$DIR/replay-summary.txt")
top() { json_last "$DIR/top.jsonl" '"type":"header"' "$1"; }
check "ioasid-top maps = ioas_map" "$(top maps)" "$(traced ioas_map)"
check "ioasid-top unmaps = ioas_unmap" "$(top unmaps)" "$(traced ioas_unmap)"
check "ioasid-top invs = iotlb_inv" "$(top invs)" "$(traced iotlb_inv)"
check "ioasid-top attach_ops = dev_attach" "$(top attach_ops)" "$(traced dev_attach)"
check "ioasid-top detach_ops = dev_detach" "$(top detach_ops)" "$(traced dev_detach)"
check "ioasid-top events = recorded events" "$(top events)" "$total"
check "ioasid-top dropped" "$(top dropped)" 0
chk() { json_last "$DIR/check.jsonl" '"kind":"summary"' "$1"; }
check "ioasid-check events = recorded events" "$(chk events)" "$total"
check "ioasid-check lost" "$(chk lost)" 0
check "ioasid-check violations" "$(chk violations)" 0
check "ioasid-check verdict" "$(chk verdict_text)" '"clean"'
check "ioasid-trace dropped" \
	"$(sed -n 's/.* \([0-9]*\) dropped.*/\1/p' "$DIR/replay-summary.txt")" 0
for t in ioasid-trace ioasid-check ioasid-top; do
	check "$t exit status" "$(sed -n "s/^$t exit //p" "$DIR/exits.txt")" 0
done
checks_summary verify
