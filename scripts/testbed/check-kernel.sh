#!/usr/bin/env bash
# check-kernel.sh — the toolkit against a real Linux IOMMU stack: `make check-kernel`.
#
#   scripts/testbed/check-kernel.sh [BUILD]          (BUILD defaults to build)
#
# Builds (or reuses) the testbed kernel — Debian's linux-source-6.12 with the real iommufd, its
# selftest mock, VFIO cdev + type1, emulated-VT-d support, BPF, BTF, ftrace — and boots it under
# QEMU (software emulation) with the host-built toolkit in its initramfs. Then:
#   1. kernel path — suite-kernel.sh (intel_iommu=on, strict): ioasid-trace, ioasid-check and
#      ioasid-top attach kernel-wide while DMA-API, iommufd and VFIO type1 work happens;
#      verify-kernel-path.sh compares every count with the kernel's own trace buffer;
#   2. selftests — suite-selftests.sh (intel_iommu=off): the kernel's iommufd selftests, the
#      very binaries `make conformance` runs on the reference; compare-selftests.sh compares
#      them case by case with the reference's run and fails on a difference that
#      docs/CONFORMANCE.md does not explain;
#   3. differential — the uAPI clients on the real kernel and on the reference (a topology that
#      mirrors the guest), transcripts compared line by line (compare-transcripts.sh);
#   3b. replay — the fuzzer's seed corpus (tests/fuzz/corpus) replayed call by call with
#      fuzz-replay on the real kernel and on the reference, compared as the clients are;
#   4. ioasid-bench — its kernel backends (/dev/iommu and a type1 container) in the guest;
#   5. CO-RE — bpf-load-matrix.sh: the same BPF object on the host's kernel, Debian's 6.1 and
#      6.12 (fetched from Debian's registry) and the testbed kernel, program by program.
# Results: BUILD/testbed/run/<part>/; a summary table at the end.
#
# TB_UPDATE_DOC=1 also rewrites docs/PERFORMANCE.md's "Kernel backends under emulation" section
# (between its kernel-emulated markers) with part 4's table.
# Environment: TB_LOOPS (map/unmap pairs of the kernel-path workload, default 200),
# TB_TIMEOUT (seconds per boot, default 600), TB_ONLY (a space-separated subset of
# "kernel selftests diff replay bench core").
# Exit status: 0 every part passed, 1 a part failed, 2 the testbed could not be set up.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD=$root/$BUILD ;; esac
LOOPS=${TB_LOOPS:-200}
TIMEOUT=${TB_TIMEOUT:-600}
ONLY=${TB_ONLY:-kernel selftests diff replay bench core}
RUN=$BUILD/testbed/run
KERNEL=$BUILD/testbed/kernel-6.12/vmlinux
INITRD=$BUILD/testbed/initramfs.cpio
cd "$root"

say() { echo "check-kernel: $*"; }
setup_fail() { echo "check-kernel: error: $*" >&2; exit 2; }
want() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }
results=()
record() { # record PART STATUS SECONDS DETAIL
	results+=("$(printf '%-10s %-5s %5ss  %s' "$1" "$2" "$3" "$4")")
}

t_all=$(date +%s)
"$here/deps.sh" --quiet || setup_fail "the testbed's packages could not be installed"
"$here/build-kernel.sh" "$BUILD" || setup_fail "the testbed kernel did not build"
"$root/scripts/conformance.sh" "$BUILD" --build-only >/dev/null ||
	setup_fail "the kernel's selftests did not build (scripts/conformance.sh --build-only)"
"$here/mkinitramfs.sh" "$BUILD" "$INITRD" || setup_fail "the initramfs could not be made"

boot() { # boot SUITE OUTDIR [boot.sh options]
	local suite=$1 out=$2
	shift 2
	"$here/boot.sh" --kernel "$KERNEL" --initrd "$INITRD" --suite "$suite" --out "$out" \
		--timeout "$TIMEOUT" "$@"
}

# The emulated figures into docs/PERFORMANCE.md, labelled as such, with how they were made.
update_perf_doc() { # update_perf_doc BENCH_DIR
	local doc=$root/docs/PERFORMANCE.md md=$1/perf-section.md
	grep -q '<!-- kernel-emulated:begin -->' "$doc" && grep -q '<!-- kernel-emulated:end -->' "$doc" ||
		{ say "docs/PERFORMANCE.md has no kernel-emulated markers: not updated"; return 1; }
	{
		echo "**Emulated: QEMU $(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p')"
		echo "TCG (software emulation), 2 vCPUs, emulated VT-d (caching-mode=on, strict); figures"
		echo "are good for function and for comparing the two kernel paths with each other, never as"
		echo "hardware performance.** Run $(date -u +%Y-%m-%d) on Linux"
		echo "$(cat "$BUILD/testbed/kernel-6.12/release") (the testbed kernel) by"
		echo '`TB_ONLY=bench TB_UPDATE_DOC=1 scripts/testbed/check-kernel.sh build`; in the guest:'
		echo '`ioasid-bench -b kernel,kernel-type1 --quick -t counters,events,check`.'
		echo
		echo '```'
		grep -v '^$' "$1/bench.out"
		echo '```'
	} >"$md"
	awk -v md="$md" '
	/<!-- kernel-emulated:begin -->/ { print; while ((getline l < md) > 0) print l; skip = 1; next }
	/<!-- kernel-emulated:end -->/ { skip = 0 }
	!skip' "$doc" >"$doc.new" && mv "$doc.new" "$doc"
	say "docs/PERFORMANCE.md: the emulated kernel figures rewritten"
}

if want kernel; then
	t0=$(date +%s)
	say "1. the BPF kernel path (suite kernel, TB_LOOPS=$LOOPS)"
	if boot kernel "$RUN/kernel" --append "testbed.loops=$LOOPS" &&
		"$here/verify-kernel-path.sh" "$RUN/kernel" "$LOOPS" | tee "$RUN/kernel/verify.txt"; then
		record kernel pass $(( $(date +%s) - t0 )) "$(tail -1 "$RUN/kernel/verify.txt")"
	else
		record kernel FAIL $(( $(date +%s) - t0 )) "see $RUN/kernel/ (verify.txt, console.log)"
	fi
fi

if want selftests; then
	t0=$(date +%s)
	say "2. the kernel's iommufd selftests: real kernel vs the reference"
	if boot selftests "$RUN/selftests" --iommu off; then :; fi
	if [ -f "$RUN/selftests/selftest-iommufd.out" ] &&
		"$root/scripts/conformance.sh" "$BUILD" >"$RUN/selftests/reference.log" 2>&1 &&
		"$here/compare-selftests.sh" "$RUN/selftests" "$BUILD/conformance/results.tsv" \
			| tee "$RUN/selftests/compare.txt"; then
		record selftests pass $(( $(date +%s) - t0 )) "$(tail -1 "$RUN/selftests/compare.txt")"
	else
		record selftests FAIL $(( $(date +%s) - t0 )) "see $RUN/selftests/"
	fi
fi

if want diff; then
	t0=$(date +%s)
	say "3. the differential suite: the same clients on the real kernel and on the reference"
	if [ ! -x "$here/diff-clients.sh" ]; then
		record diff FAIL 0 "scripts/testbed/diff-clients.sh is missing"
	elif boot diff "$RUN/diff-kernel" &&
		"$here/diff-clients.sh" reference "$RUN/diff-reference" "$BUILD" \
			>"$RUN/diff-reference.log" 2>&1 &&
		"$here/compare-transcripts.sh" "$RUN/diff-kernel" "$RUN/diff-reference" \
			| tee "$RUN/diff-compare.txt"; then
		record diff pass $(( $(date +%s) - t0 )) "$(grep -E '^[a-z0-9_]+: lines ' \
			"$RUN/diff-compare.txt" | paste -sd ';' | sed 's/;/; /g')"
	else
		record diff FAIL $(( $(date +%s) - t0 )) "see $RUN/diff-kernel/, $RUN/diff-compare.txt"
	fi
fi

if want replay; then
	t0=$(date +%s)
	say "3b. the fuzzer's seed corpus replayed on the real kernel and on the reference"
	if [ ! -x "$BUILD/fuzz/fuzz-replay" ]; then
		record replay FAIL 0 "no $BUILD/fuzz/fuzz-replay: make fuzz-replay"
	elif boot replay "$RUN/replay-kernel" && boot replay "$RUN/replay-kernel" --iommu off &&
		"$here/replay-corpus.sh" reference "$RUN/replay-reference" "$BUILD" \
			>"$RUN/replay-reference.log" 2>&1 &&
		"$here/compare-transcripts.sh" "$RUN/replay-kernel" "$RUN/replay-reference" \
			| tee "$RUN/replay-compare.txt"; then
		record replay pass $(( $(date +%s) - t0 )) "$(awk '/: lines /{ n++; l += $3;
			a += $5; d += $7 } END { printf "%d entries, %d calls: %d agree, %d " \
			"documented, 0 disagree", n, l, a, d }' "$RUN/replay-compare.txt")"
	else
		record replay FAIL $(( $(date +%s) - t0 )) "see $RUN/replay-compare.txt"
	fi
fi

if want bench; then
	t0=$(date +%s)
	say "4. ioasid-bench's kernel backends in the guest (emulated: functional, not performance)"
	if boot bench "$RUN/bench" --mem 6144 && "$here/verify-bench.sh" "$RUN/bench" | tee "$RUN/bench/verify.txt"; then
		record bench pass $(( $(date +%s) - t0 )) "$(tail -1 "$RUN/bench/verify.txt")"
		[ "${TB_UPDATE_DOC:-0}" != 1 ] || update_perf_doc "$RUN/bench"
	else
		record bench FAIL $(( $(date +%s) - t0 )) "see $RUN/bench/"
	fi
fi

if want core; then
	t0=$(date +%s)
	say "5. CO-RE: one BPF object on the host, Debian 6.1, Debian 6.12 and the testbed kernel"
	if "$here/bpf-load-matrix.sh" "$BUILD" >"$RUN/bpf-load-matrix.log" 2>&1; then
		record core pass $(( $(date +%s) - t0 )) "$(tail -1 "$RUN/bpf-load-matrix.log")"
	else
		tail -20 "$RUN/bpf-load-matrix.log"
		record core FAIL $(( $(date +%s) - t0 )) "see $RUN/bpf-load-matrix.log"
	fi
fi

echo
echo "check-kernel: summary (Linux $(cat "$BUILD/testbed/kernel-6.12/release") under QEMU TCG," \
	"$(( $(date +%s) - t_all )) s in all)"
printf '  %s\n' "${results[@]}"
failed=$(printf '%s\n' "${results[@]}" | grep -c ' FAIL ')
[ "$failed" -eq 0 ] || { echo "check-kernel: $failed part(s) failed"; exit 1; }
echo "check-kernel: every part passed"
