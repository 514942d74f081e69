#!/usr/bin/env bash
# verify-bench.sh — judge suite-bench.sh's run of ioasid-bench's kernel backends in the guest.
#
#   scripts/testbed/verify-bench.sh DIR        (DIR: the boot's --out directory)
#
# Passes when ioasid-bench exited 0 and, for both kernel backends (kernel = /dev/iommu with a
# vfio-pci device attached, kernel-type1 = a VFIO type1 container), every workload the backend
# can run produced figures served by the kernel (not the reference), with a positive median,
# and every traced pass (-t counters,events,check: the BPF programs attached kernel-wide) has an
# overhead ratio, counted events, no drops and no violations. A workload may be skipped only for
# what the backend truly lacks: device DMA through the mock IOTLB and deferred invalidation
# (both backends), a second IOAS (type1), and the host probe of process_vm_readv where the
# guest kernel lacks it (CONFIG_CROSS_MEMORY_ATTACH). Any other skip, a lost round, or a record
# from another source fails with the record named.
set -uo pipefail
DIR=${1:?usage: verify-bench.sh DIR}
J=$DIR/bench.jsonl
[ -f "$J" ] || { echo "verify-bench: $J is missing (see $DIR/console.log)" >&2; exit 2; }
command -v jq >/dev/null || { echo "verify-bench: needs jq (apt-get install jq)" >&2; exit 2; }
CHECK_WIDTH=58
. "$(dirname "$0")/checks.sh"
echo "verify-bench: ioasid-bench's kernel backends ($J)"
check "ioasid-bench exit status" "$(awk -F'\t' '$1 == "bench" { print $2 }' "$DIR/steps.tsv")" 0
for b in kernel kernel-type1; do
	case $b in
	kernel) want="pages region small-regions copy vm-start threads" ;;
	kernel-type1) want="pages region small-regions vm-start threads" ;;
	esac
	for w in $want; do
		n=$(jq -r --arg b "$b" --arg w "$w" 'select(.config? and .config.backend == $b and
			.config.workload == $w and .config.trace == "off")
			| select(.config.served_by == "kernel" and .ops_s.median > 0) | 1' "$J" | wc -l)
		check "$b $w: figures served by the kernel" "$([ "$n" -gt 0 ] && echo yes)" yes
	done
	for p in 4096 2097152 1073741824; do
		n=$(jq -r --arg b "$b" --argjson p $p 'select(.config? and .config.backend == $b and
			.config.workload == "pages" and .config.page_size == $p) | 1' "$J" | wc -l)
		check "$b pages of $p bytes measured" "$([ "$n" -gt 0 ] && echo yes)" yes
	done
	for t in counters events check; do
		bad=$(jq -r --arg b "$b" --arg t "$t" 'select(.config? and .config.backend == $b and
			.config.trace == $t) | select((.overhead > 0 and .dropped == 0 and
			(.violations <= 0)) | not) | "\(.config.workload)/\(.config.phase)"' "$J" |
			head -3 | tr '\n' ' ')
		n=$(jq -r --arg b "$b" --arg t "$t" 'select(.config? and .config.backend == $b and
			.config.trace == $t) | 1' "$J" | wc -l)
		check "$b traced ($t): figures with an overhead ratio" \
			"$([ "$n" -gt 0 ] && [ -z "$bad" ] && echo yes || echo "${bad:-none}")" yes
	done
	ev=$(jq -r --arg b "$b" 'select(.config? and .config.backend == $b and
		.config.trace == "events") | .events' "$J" | awk '{ s += $1 } END { print s + 0 }')
	check "$b traced (events): events counted" "$([ "$ev" -gt 0 ] && echo yes)" yes
done
lacks="no device DMA through the mock IOTLB|no deferred invalidation|no second IOAS"
lacks="$lacks|no process_vm_readv"
unexpected=$(jq -r --arg lacks "$lacks" 'select(.skipped == true) | select((.why |
	test($lacks)) | not)
	| "\(.backend) \(.workload): \(.why)"' "$J")
check "skips only for what a kernel backend lacks" "${unexpected:-none}" none
lost=$(jq -r 'select(.skipped == true and (.workload | startswith("round"))) | 1' "$J" | wc -l)
check "rounds lost" "$lost" 0
checks_summary verify-bench
