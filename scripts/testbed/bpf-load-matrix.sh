#!/usr/bin/env bash
# bpf-load-matrix.sh — does one build of bpf/ioasid_kernel.bpf.c load on every kernel we care
# about (CO-RE), program by program, and when a program does not run, is that the kernel's
# doing (the target is absent, fentry is refused) or ours (a CO-RE relocation or the verifier)?
#
#   scripts/testbed/bpf-load-matrix.sh [BUILD] [--only NAMES]      (BUILD defaults to build)
#
# Kernels (columns):
#   host         the running kernel: `ioasid-trace -k -v -q -d 2`, a real load and attach
#   debian-6.1   Debian bookworm's newest 6.1 (scripts/testbed/fetch-debian-kernel.sh 6.1)
#   debian-6.12  bookworm-backports' newest 6.12 (fetch-debian-kernel.sh 6.12)
#   custom-6.12  BUILD/testbed/kernel-6.12/vmlinux (build-kernel.sh: iommufd built in), when there
# Each guest boots once (boot.sh) with suite bpfload (guest/suite-bpfload.sh): modules loaded,
# the bridge group on vfio-pci, the tracer loaded for real while type1_map_loop makes 1000
# map/unmap pairs, and the recorded events counted against them.
# --only NAMES: a comma-separated subset of the column names above.
#
# Writes BUILD/testbed/bpf-load-matrix.md: one row per program, one column per kernel, each cell
# "attached" or the loader's exact reason, then the event counts and the failures. Per kernel,
# everything the runs produced is kept under BUILD/testbed/bpf-load/NAME/.
#
# Exit status: 0 when every program on every kernel either attached or was skipped for a reason
# that is the kernel's (acceptable_reason below) and every guest's event counts matched; 1
# otherwise, each failure named on stderr with the program and the kernel; 2 could not run.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
say() { echo "bpf-load-matrix: $*"; }
die() { echo "bpf-load-matrix: error: $*" >&2; exit 2; }

BUILD=build ONLY=
while [ $# -gt 0 ]; do
	case "$1" in
	--only) ONLY=$2; shift 2 ;;
	-*) die "unknown option '$1' (see the head of $0)" ;;
	*) BUILD=$1; shift ;;
	esac
done
[ -x "$BUILD/bin/ioasid-trace" ] || die "no $BUILD/bin/ioasid-trace: build the toolkit first (make all)"
[ -x "$BUILD/tests/clients/type1_map_loop" ] || die "no $BUILD/tests/clients/type1_map_loop: build the toolkit first (make all)"
BUILD=$(cd "$BUILD" && pwd)
top=$BUILD/testbed/bpf-load
out_md=$BUILD/testbed/bpf-load-matrix.md
mkdir -p "$top"

want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }

# The tracer's attach plan ("  attach|skip  PROGRAM  KIND TARGET[: REASON]", source_cli.h) as
# "program<TAB>kind<TAB>target<TAB>attached|skipped<TAB>reason". The guest suite has the same.
plan_to_tsv() {
	awk '
	/^  (attach|skip) / {
		st = $1; prog = $2
		rest = $0; sub(/^  [a-z]+ +[^ ]+ +/, "", rest)
		target = rest; reason = ""
		i = index(rest, ": ")
		if (st == "skip" && i > 0) { target = substr(rest, 1, i - 1); reason = substr(rest, i + 2) }
		kind = target; sub(/ .*/, "", kind); sub(/^[^ ]+ /, "", target)
		printf "%s\t%s\t%s\t%s\t%s\n", prog, kind, target, st == "attach" ? "attached" : "skipped", reason
	}' "$1"
}

# Is a skip the kernel's doing? (Reasons as kernel_backend.c words them.)
acceptable_reason() {
	case "$1" in
	"tracepoint "*" not in this kernel"*) return 0 ;;            # target absent
	"function "*" not in this kernel's BTF"*) return 0 ;;        # target absent
	"this kernel refuses fentry/fexit programs"*) return 0 ;;    # lockdown / BPF LSM
	"this kernel cannot load fentry/fexit programs"*) return 0 ;;  # no trampoline
	"the running kernel exposes no BTF"*) return 0 ;;            # raw_tp fallback used
	"its tp_btf twin "*" is attached"*) return 0 ;;              # redundant fallback
	*" is attached and reports the same invalidations") return 0 ;;  # redundant
	"its exit half "*" is not attached"*) return 0 ;;            # judged on the exit half
	*) return 1 ;;
	esac
}

kernels=() failures=()
declare -A release=() how=() events=() secs=()

# ---- host -------------------------------------------------------------------------------------
if want host; then
	d=$top/host
	mkdir -p "$d"
	say "host $(uname -r): ioasid-trace -k -v -q -d 2 (real load)"
	t0=$(date +%s)
	"$BUILD/bin/ioasid-trace" -k -v -q -d 2 >"$d/trace.out" 2>"$d/bpfload-trace.err"
	rc=$?
	secs[host]=$(( $(date +%s) - t0 ))
	"$BUILD/bin/ioasid-trace" -k --dry-run -v >"$d/dryrun.out" 2>&1
	if grep -q 'programs/probes attached' "$d/bpfload-trace.err"; then
		plan_to_tsv "$d/bpfload-trace.err" >"$d/bpfload-table.tsv"
	else
		why=$(grep '^ioasid-trace: ' "$d/bpfload-trace.err" | head -1)
		plan_to_tsv "$d/dryrun.out" |
			awk -F'\t' -v why="NOT LOADED: ${why:-ioasid-trace exit $rc}" \
			'BEGIN { OFS = "\t" } $4 == "attached" { $4 = "skipped"; $5 = why } { print }' \
			>"$d/bpfload-table.tsv"
	fi
	kernels+=(host)
	release[host]=$(uname -r)
	how[host]="the build host, \`ioasid-trace -k -v -q -d 2\` (exit $rc)"
	events[host]="not exercised (no VFIO device on the host)"
fi

# ---- guests -----------------------------------------------------------------------------------
guest() {   # NAME VMLINUX MODULES-DIR-or-""
	local name=$1 vmlinux=$2 mods=$3 d=$top/$1 rc t0
	local initrd=$d/initrd.cpio
	mkdir -p "$d"
	say "$name: initramfs"
	if ! "$here/mkinitramfs.sh" "$BUILD" "$initrd" ${mods:+--modules "$mods"} >"$d/mkinitramfs.log" 2>&1; then
		cat "$d/mkinitramfs.log" >&2
		failures+=("$name: the initramfs could not be made ($d/mkinitramfs.log)")
		return
	fi
	say "$name: booting $vmlinux (suite bpfload)"
	t0=$(date +%s)
	"$here/boot.sh" --kernel "$vmlinux" --initrd "$initrd" --suite bpfload --out "$d/run" \
		--timeout "${BPFLOAD_TIMEOUT:-600}" >"$d/boot.log" 2>&1
	rc=$?
	secs[$name]=$(( $(date +%s) - t0 ))
	cat "$d/boot.log"
	kernels+=("$name")
	release[$name]=$(sed -n 's/^@@TESTBED BOOTED //p' "$d/run/channel.log" 2>/dev/null | tr -d '\r')
	[ -n "${release[$name]}" ] || release[$name]="(did not boot)"
	how[$name]="QEMU guest, suite bpfload (boot.sh exit $rc, ${secs[$name]} s)"
	if [ -f "$d/run/bpfload-table.tsv" ]; then
		cp "$d/run/bpfload-table.tsv" "$d/bpfload-table.tsv"
		cp "$d/run/bpfload-trace.err" "$d/bpfload-trace.err" 2>/dev/null
	else
		: >"$d/bpfload-table.tsv"
		failures+=("$name: the guest sent no program table (boot.sh exit $rc; console: $d/run/console.log)")
	fi
	if [ -f "$d/run/events.out" ]; then
		events[$name]=$(grep -E 'events: (MATCH|MISMATCH)|at the client IOVA|type1 probe' "$d/run/events.out" | tr -s ' ' | tr '\n' ';' | sed 's/;$//; s/;/; /g')
		grep -q 'events: MATCH' "$d/run/events.out" ||
			failures+=("$name: the traced map/unmap events do not match what the client did: $(tr '\n' ' ' <"$d/run/events.out")")
	else
		events[$name]="no count (the events step did not run)"
		failures+=("$name: no event count came back (console: $d/run/console.log)")
	fi
	if [ -f "$d/run/flushes.out" ]; then
		events[$name]+="; $(grep -E 'iotlb_inv events recorded|flushes: ' "$d/run/flushes.out" |
			tr '\n' ';' | sed 's/;$//; s/;/; /g')"
		grep -q 'flushes: MATCH' "$d/run/flushes.out" ||
			failures+=("$name: the traced IOTLB flushes do not match the kernel's tracer: $(tr '\n' ' ' <"$d/run/flushes.out")")
	else
		failures+=("$name: no flush count came back (console: $d/run/console.log)")
	fi
}

fetch() {   # VERSION: 0 when BUILD/testbed/debian-VERSION is usable
	"$here/fetch-debian-kernel.sh" "$1" "$BUILD" >"$top/fetch-$1.log" 2>&1
	local rc=$?
	cat "$top/fetch-$1.log"
	return $rc
}
for v in 6.1 6.12; do
	want "debian-$v" || continue
	if fetch "$v"; then
		guest "debian-$v" "$BUILD/testbed/debian-$v/vmlinux" "$BUILD/testbed/debian-$v/modules"
	else
		failures+=("debian-$v: the kernel could not be fetched: $(grep 'error:' "$top/fetch-$v.log" | head -1)")
	fi
done
if want custom-6.12; then
	if [ -f "$BUILD/testbed/kernel-6.12/vmlinux" ]; then
		guest custom-6.12 "$BUILD/testbed/kernel-6.12/vmlinux" ""
	else
		say "custom-6.12: no $BUILD/testbed/kernel-6.12/vmlinux (scripts/testbed/build-kernel.sh): column left out"
	fi
fi

# ---- judge and write --------------------------------------------------------------------------
# What libbpf said about the programs the kernel refused: "program<TAB>what" per program, from
# the tracer's -v log (the verifier's verdict is the line before "processed N insns"; a CO-RE
# relocation that could not be resolved is named by libbpf itself).
culprits() {
	awk '
	/^libbpf: prog .*-- BEGIN PROG LOAD LOG --/ {
		prog = $0; sub(/^libbpf: prog .\047?/, "", prog); sub(/\047?: .*/, "", prog); inlog = 1; prev = ""; next
	}
	inlog && /^processed [0-9]+ insns/ { if (prev != "") verdict[prog] = "verifier: " prev; next }
	inlog && /^-- END PROG LOAD LOG --/ { inlog = 0; next }
	inlog { if ($0 !~ /^;/ && $0 != "") prev = $0; next }
	/^libbpf: prog .*(failed to resolve CO-RE|relo #[0-9]+: .*(fail|unexpected|poison)|failed to relocate)/ {
		p = $0; sub(/^libbpf: prog .\047?/, "", p); sub(/\047?: .*/, "", p)
		line = $0; sub(/^libbpf: /, "", line)
		if (!(p in core)) core[p] = "CO-RE: " line
		next
	}
	/^libbpf: prog .*: BPF program load failed: / {
		p = $0; sub(/^libbpf: prog .\047?/, "", p); sub(/\047?: .*/, "", p)
		err[p] = $0; sub(/.*BPF program load failed: /, "", err[p])
	}
	END {
		for (p in err) printf "%s\t%s%s%s\n", p, err[p], (p in verdict) ? "; " verdict[p] : "", (p in core) ? "; " core[p] : ""
		for (p in core) if (!(p in err)) printf "%s\t%s\n", p, core[p]
	}' "$1" | sort
}

for k in "${kernels[@]}"; do
	t=$top/$k/bpfload-table.tsv
	if [ -f "$top/$k/bpfload-trace.err" ]; then
		while IFS=$'\t' read -r prog what; do
			failures+=("$k (${release[$k]}): program $prog was refused by the kernel at load: $what")
		done < <(culprits "$top/$k/bpfload-trace.err")
	fi
	while IFS=$'\t' read -r prog kind target st reason; do
		[ "$st" = attached ] && continue
		acceptable_reason "$reason" && continue
		failures+=("$k (${release[$k]}): program $prog ($kind $target) did not run: $reason")
	done <"$t"
done

{
	echo "# BPF load matrix: bpf/ioasid_kernel.bpf.c, one build, every kernel"
	echo
	echo "Written by \`scripts/testbed/bpf-load-matrix.sh\` on $(date -u +%Y-%m-%dT%H:%MZ)."
	echo "A cell is \`attached\` or the loader's reason for skipping the program (src/trace/kernel_backend.c)."
	echo "Acceptable reasons: the target does not exist in that kernel, the kernel refuses fentry/fexit,"
	echo "or another attached program already reports the same events. Anything else is a failure"
	echo "(a CO-RE relocation or a verifier rejection) and is listed at the end."
	echo
	echo "| kernel | release | how | time |"
	echo "|---|---|---|---|"
	for k in "${kernels[@]}"; do
		echo "| $k | ${release[$k]} | ${how[$k]} | ${secs[$k]:-?} s |"
	done
	echo
	printf '| program | kind | target |'
	for k in "${kernels[@]}"; do printf ' %s |' "$k"; done
	echo
	printf '|---|---|---|'
	for k in "${kernels[@]}"; do printf -- '---|'; done
	echo
	# Rows: the union of every table's programs, in the first table's order.
	for k in "${kernels[@]}"; do cat "$top/$k/bpfload-table.tsv"; done |
		awk -F'\t' '!seen[$1]++ { print $1 "\t" $2 "\t" $3 }' |
		while IFS=$'\t' read -r prog kind target; do
			printf '| %s | %s | %s |' "$prog" "$kind" "${target//|/\\|}"
			for k in "${kernels[@]}"; do
				cell=$(awk -F'\t' -v p="$prog" '$1 == p { print ($4 == "attached" ? "attached" : $5); exit }' \
					"$top/$k/bpfload-table.tsv")
				[ -n "$cell" ] || cell="(no row)"
				acceptable_reason "$cell" || [ "$cell" = attached ] || cell="**FAIL**: $cell"
				printf ' %s |' "${cell//|/\\|}"
			done
			echo
		done
	echo
	echo "Attached per kernel:"
	for k in "${kernels[@]}"; do
		echo "- $k: $(awk -F'\t' '$4 == "attached"' "$top/$k/bpfload-table.tsv" | wc -l) of $(wc -l <"$top/$k/bpfload-table.tsv") programs"
	done
	echo
	echo "## Events (type1_map_loop: 1000 map/unmap pairs of 4 KiB on the bridge group, traced)"
	echo
	for k in "${kernels[@]}"; do echo "- $k: ${events[$k]}"; done
	echo
	echo "## Failures"
	echo
	if [ ${#failures[@]} -eq 0 ]; then
		echo "None."
	else
		for f in "${failures[@]}"; do echo "- $f"; done
	fi
} >"$out_md"

say "wrote $out_md"
if [ ${#failures[@]} -gt 0 ]; then
	for f in "${failures[@]}"; do echo "bpf-load-matrix: FAIL: $f" >&2; done
	exit 1
fi
say "every program attached or was skipped for a reason of the kernel's, on ${#kernels[@]} kernels: ${kernels[*]}"
exit 0
