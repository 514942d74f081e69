#!/usr/bin/env bash
# fuzz.sh — the uAPI fuzzer's driver (docs/RELIABILITY.md).
#
#   scripts/fuzz.sh BUILD corpus            assemble tests/fuzz/seeds/*.txt into
#                                           tests/fuzz/corpus/*.bin and regenerate
#                                           tests/fuzz/uapi.dict
#   scripts/fuzz.sh BUILD campaign SECONDS  a libFuzzer campaign (corpus kept in
#                                           BUILD/fuzz/corpus across campaigns), then the
#                                           fail-nth sweep of the seed corpus and reproducers
#   scripts/fuzz.sh BUILD smoke SECONDS     the same from the seed corpus only (make check)
#   scripts/fuzz.sh BUILD sweep [FILE...]   only the fail-nth sweep (default: the seed corpus
#                                           and tests/fuzz/regressions/)
#
# Expects `make BUILD=BUILD fuzz-build` (the Makefile's fuzz targets do it). Everything runs
# under nice -n 19: the machine has 2 cores and benchmarks are measured on it.
# Prints one summary line per stage and exits non-zero on any crash, sanitizer report, leak,
# invariant violation or timeout; each finding is minimised into
# tests/fuzz/regressions/candidate-<hash> (review it, rename it, add it to the test).
set -uo pipefail

build=${1:?usage: scripts/fuzz.sh BUILD corpus|campaign SECONDS|smoke SECONDS|sweep [FILE...]}
mode=${2:?usage: scripts/fuzz.sh BUILD corpus|campaign SECONDS|smoke SECONDS|sweep [FILE...]}
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$build/fuzz
bin=$dir/fuzz_uapi
replay=$dir/fuzz-replay
seeds=$top/tests/fuzz/seeds
corpus=$top/tests/fuzz/corpus
regress=$top/tests/fuzz/regressions
dict=$top/tests/fuzz/uapi.dict
sweep_max=${FUZZ_FAIL_NTH_MAX:-3000}

report='ORACLE FAILURE\|ERROR: AddressSanitizer\|runtime error\|ERROR: LeakSanitizer'

die() { echo "fuzz: $*" >&2; exit 2; }

for b in "$bin" "$replay"; do
	[ -x "$b" ] || die "$b is missing: build it with make BUILD=$build fuzz-build"
done

assemble() {
	local f name tmp changed=0
	mkdir -p "$corpus"
	for f in "$seeds"/*.txt; do
		name=$(basename "$f" .txt)
		tmp=$(mktemp)
		"$replay" --asm "$f" "$tmp" || { rm -f "$tmp"; die "seed $f does not assemble"; }
		if ! cmp -s "$tmp" "$corpus/$name.bin"; then
			mv "$tmp" "$corpus/$name.bin"
			changed=$((changed + 1))
		else
			rm -f "$tmp"
		fi
	done
	"$replay" --dict > "$dict.tmp" && mv "$dict.tmp" "$dict"
	echo "fuzz: corpus: $(ls "$corpus" | wc -l) seed(s), $changed reassembled;" \
	     "dictionary $(grep -c = "$dict") entries"
}

# The fail-nth sweep: every allocation / lookup of every input failing in turn, all oracles.
sweep() {
	local log=$dir/sweep.log files=("$@") rc
	if [ ${#files[@]} -eq 0 ]; then
		files=("$corpus"/*.bin)
		for f in "$regress"/*.bin; do [ -f "$f" ] && files+=("$f"); done
	fi
	local t0=$SECONDS
	IOASID_FUZZ_FAIL_NTH=$sweep_max nice -n 19 "$bin" -timeout=1200 -rss_limit_mb=4096 \
		"${files[@]}" > "$log" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "fuzz: fail-nth sweep FAILED (exit $rc) on" \
		     "$(grep -a '^Running:' "$log" | tail -1); log: $log" >&2
		grep -a -A12 "$report" "$log" | head -40 >&2
		return 1
	fi
	echo "fuzz: fail-nth sweep: ${#files[@]} input(s), every allocation and lookup failing" \
	     "in turn: clean ($((SECONDS - t0)) s)"
}

minimise() {
	local a=$1 h out
	h=$(sha1sum "$a" | cut -c1-12)
	out=$regress/candidate-$h
	nice -n 19 "$bin" -minimize_crash=1 -max_total_time=120 -timeout=30 \
		-exact_artifact_path="$out" "$a" > "$dir/minimise-$h.log" 2>&1
	# keep the original when the minimised input no longer fails on its own
	if [ ! -f "$out" ] || "$bin" "$out" > /dev/null 2>&1; then
		cp "$a" "$out"
	fi
	echo "fuzz:   $(basename "$a") -> $out ($(stat -c %s "$out") bytes;" \
	     "replay: IOASID_FUZZ_TRACE=1 $bin $out)"
}

campaign() {
	local secs=$1 fresh=$2 log=$dir/campaign.log work=$dir/corpus arts=$dir/artifacts rc
	mkdir -p "$work" "$arts"
	[ "$fresh" = 1 ] && { rm -rf "$work"; mkdir -p "$work"; }
	rm -f "$arts"/*
	local before
	before=$(ls "$work" | wc -l)
	nice -n 19 "$bin" -max_total_time="$secs" -dict="$dict" -print_final_stats=1 \
		-max_len=2048 -timeout=20 -rss_limit_mb=4096 -artifact_prefix="$arts/" \
		-reload=0 "$work" "$corpus" > "$log" 2>&1
	rc=$?
	local execs eps cov ft newu size
	execs=$(grep -a 'stat::number_of_executed_units' "$log" | awk '{print $2}')
	eps=$(grep -a 'stat::average_exec_per_sec' "$log" | awk '{print $2}')
	newu=$(grep -a 'stat::new_units_added' "$log" | awk '{print $2}')
	cov=$(grep -aoE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
	ft=$(grep -aoE 'ft: [0-9]+' "$log" | tail -1 | awk '{print $2}')
	size=$(ls "$work" | wc -l)
	echo "fuzz: campaign ${secs} s: ${execs:-?} executions (${eps:-?}/s)," \
	     "cov ${cov:-?} edges, ft ${ft:-?} features," \
	     "corpus $size (${newu:-0} new, $before before); log: $log"
	local found=0 a
	for a in "$arts"/*; do
		[ -f "$a" ] || continue
		found=$((found + 1))
	done
	if [ $rc -ne 0 ] || [ $found -ne 0 ]; then
		echo "fuzz: FINDINGS: $found artifact(s), libFuzzer exit $rc" >&2
		grep -a -B2 -A16 "$report\\|ERROR: libFuzzer" "$log" | head -60 >&2
		for a in "$arts"/*; do [ -f "$a" ] && minimise "$a"; done
		return 1
	fi
	echo "fuzz: findings: none (no crash, sanitizer report, leak, violation or timeout)"
}

case $mode in
corpus)
	assemble ;;
campaign)
	secs=${3:?campaign needs SECONDS}
	assemble && campaign "$secs" 0 && sweep ;;
smoke)
	secs=${3:-45}
	assemble && campaign "$secs" 1 && sweep ;;
sweep)
	shift 2
	sweep "$@" ;;
*)
	die "unknown mode $mode: corpus, campaign SECONDS, smoke SECONDS or sweep [FILE...]" ;;
esac
