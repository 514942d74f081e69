#!/usr/bin/env bash
# Run every test binary of a build: the normal build, then the ASan/UBSan build.
# Usage: scripts/run-tests.sh BUILD_DIR
# Prints each binary's Criterion synthesis and ends with one line "check: N passed, N failed".
# Exit status 0 only when every binary ran and nothing failed or crashed.
#
# Environment: IOASID_SKIP_ASAN=1 skips the sanitizer build (make check-fast).
set -uo pipefail

build=${1:-build}
total_pass=0 total_fail=0 bad_bins=()

run_bin() {
	local bin=$1 label=$2 log synth tested passing failing crashing rc
	log=$(mktemp)
	"$bin" --jobs 2 >"$log" 2>&1
	rc=$?
	synth=$(grep -a 'Synthesis:' "$log" | tail -1)
	if [ -z "$synth" ]; then
		echo "FAIL $label: no Criterion synthesis (exit $rc); output follows" >&2
		tail -40 "$log" >&2
		bad_bins+=("$label")
		total_fail=$((total_fail + 1))
		rm -f "$log"
		return
	fi
	tested=$(sed -E 's/.*Tested: *([0-9]+).*/\1/' <<<"$synth")
	passing=$(sed -E 's/.*Passing: *([0-9]+).*/\1/' <<<"$synth")
	failing=$(sed -E 's/.*Failing: *([0-9]+).*/\1/' <<<"$synth")
	crashing=$(sed -E 's/.*Crashing: *([0-9]+).*/\1/' <<<"$synth")
	total_pass=$((total_pass + passing))
	total_fail=$((total_fail + failing + crashing))
	if [ "$rc" -ne 0 ] || [ "$failing" -ne 0 ] || [ "$crashing" -ne 0 ]; then
		echo "FAIL $label ($synth)" >&2
		grep -aE '\[FAIL\]|\[----\]|ERROR|Sanitizer|runtime error' "$log" | head -60 >&2
		bad_bins+=("$label")
	else
		printf '  ok   %-40s %s tests\n' "$label" "$tested"
	fi
	rm -f "$log"
}

echo "== tests ($build)"
for bin in "$build"/tests/test_*; do
	[ -x "$bin" ] || continue
	run_bin "$bin" "$(basename "$bin")"
done

if [ "${IOASID_SKIP_ASAN:-0}" != 1 ]; then
	echo "== tests under ASan/UBSan ($build/asan)"
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	for bin in "$build"/asan/tests/test_*; do
		[ -x "$bin" ] || continue
		run_bin "$bin" "asan/$(basename "$bin")"
	done
fi

if [ ${#bad_bins[@]} -ne 0 ]; then
	echo "failing: ${bad_bins[*]}" >&2
fi
echo "check: $total_pass passed, $total_fail failed"
[ ${#bad_bins[@]} -eq 0 ]
