#!/usr/bin/env bash
# Run the benchmark set and rewrite the results section of docs/PERFORMANCE.md.
# Usage: scripts/bench.sh [BUILD_DIR]      (make bench)
# Each figure is printed with the exact command that produced it, so anyone can rerun one.
# ioasid-bench's 16 GiB regions need ~17 GiB of free memory; they are skipped (and say so) when
# it is not there.
set -euo pipefail
build=${1:-build}
doc=docs/PERFORMANCE.md
out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$(date +%s)

run() {          # run CMD...: print the command, then its output, into the results
	echo '```' >>"$out"
	echo "\$ $*" >>"$out"
	"$@" 2>&1 | tee -a "$out"
	echo '```' >>"$out"
}

{
	echo "<!-- results:begin (written by scripts/bench.sh; do not edit by hand) -->"
	echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo),"
	echo "kernel $(uname -r), $(gcc --version | head -1), build flags -O2."
	echo
	echo "### Page-table layer (mock IOMMU, no ioctl path)"
} >"$out"
run "$build/bench/bench_pgtable"
{
	echo
	echo "### ioasid-bench: the standard set on every backend this host offers"
	echo
	echo "Medians over the repeats with [min–max]; latency over every timed call. Backends"
	echo "this host lacks are listed under \"skipped\" with the reason."
} >>"$out"
jsonl=$(mktemp /tmp/ioasid-bench-XXXXXX.jsonl)
anchors=$(mktemp /tmp/ioasid-bench-XXXXXX.md)
run "$build/bin/ioasid-bench" --standard -j "$jsonl" -a "$anchors"
{
	echo
	echo "#### Against the published figures (from the run above)"
	echo
	cat "$anchors"
	echo
	echo "#### What tracing costs (ratio of the traced median to the untraced one, same run)"
} >>"$out"
if [ "$(id -u)" -eq 0 ]; then
	run "$build/bin/ioasid-bench" -b ref,ref-uapi -w pages,threads --pages 4K --pattern seq --threads 1,2 -t counters,events,check
else
	echo "Tracing overhead skipped: --trace needs root (BPF, uprobes)." | tee -a "$out"
fi
rm -f "$jsonl" "$anchors"
# The 4 KiB map+unmap loop the live checking and monitoring figures below run against.
run "$build/bench/bench_ioas_map" --small 20000 --repeats 7 --json
{
	echo
	echo "### Tracing: per-event cost against a bare uprobe hit (same run), ring buffer, cost per operation"
} >>"$out"
if [ "$(id -u)" -eq 0 ]; then
	run "$build/bench/bench_trace"
else
	echo "Tracing figures skipped: bench_trace needs root (BPF, uprobes)." | tee -a "$out"
fi
{
	echo
	echo "### Trace files: write and read throughput (5 M events)"
} >>"$out"
run "$build/bench/bench_trace_file"
{
	echo
	echo "### Invariant checking (ioasid-check): offline throughput, live on the heaviest workload"
} >>"$out"
checkfile=$(mktemp /tmp/ioasid-bench-XXXXXX.trace)
run "$build/bench/bench_check" --events 10000000 --repeats 5
run "$build/bench/bench_check" --events 10000000 --write "$checkfile"
run "$build/bench/bench_check" --read "$checkfile" --repeats 5
rm -f "$checkfile"
if [ "$(id -u)" -eq 0 ]; then
	# The heaviest event rate of the set: 4 KiB map+unmap pairs back to back (about 6 events
	# each, through a test domain), audited live through the USDT probes of the running bench
	# (-p: it links the reference itself, so it is not launched under the shim); the summary
	# counts what was lost (must be 0).
	run bash -c "(exec $build/bench/bench_ioas_map --small 20000 --repeats 7 >/dev/null) & sleep 0.2; $build/bin/ioasid-check -q -p \$!"
else
	echo "Live checking skipped: ioasid-check needs root (BPF, uprobes)." | tee -a "$out"
fi
{
	echo
	echo "### Live monitoring (ioasid-top): CPU of the monitor at a 1 s refresh, idle and under the heaviest workload"
} >>"$out"
if [ "$(id -u)" -eq 0 ]; then
	# Idle: every process of the host using the shim, nothing running; 20 updates. Then the
	# heaviest event rate of the set (as above) watched with -p; the monitor's own CPU time
	# (user + sys, from /usr/bin/time: BPF load and uprobe attach included) over its wall time.
	run bash -c "/usr/bin/time -f 'ioasid-top idle: user %U s, sys %S s, wall %e s' $build/bin/ioasid-top -b 1 20 > /dev/null"
	topjson=$(mktemp)
	run bash -c "(exec $build/bench/bench_ioas_map --small 20000 --repeats 7 >/dev/null) & sleep 0.2; /usr/bin/time -f 'ioasid-top under bench_ioas_map --small: user %U s, sys %S s, wall %e s' $build/bin/ioasid-top -b -j 1 -p \$! > $topjson"
	run bash -c "grep '\"type\":\"header\"' $topjson | tail -1 | grep -o '\"events\":[0-9]*,\"dropped\":[0-9]*'"
	rm -f "$topjson"
else
	echo "Live monitoring skipped: ioasid-top needs root (BPF, uprobes)." | tee -a "$out"
fi
echo "The whole set took $(( $(date +%s) - start )) s (make bench)." >>"$out"
echo "<!-- results:end -->" >>"$out"

# Replace the section between the markers (or append it).
if grep -q '<!-- results:begin' "$doc" 2>/dev/null; then
	awk -v f="$out" '
		/<!-- results:begin/ { while ((getline l < f) > 0) print l; skip = 1; next }
		/<!-- results:end -->/ { skip = 0; next }
		!skip { print }' "$doc" >"$doc.new" && mv "$doc.new" "$doc"
else
	cat "$out" >>"$doc"
fi
echo "bench: results written to $doc"
