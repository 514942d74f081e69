# suite-bpfload.sh — does the toolkit's kernel BPF object load on this kernel, program by program,
# and does what it counts match what was done?
#
# Steps (each a tb_run step, its output sent back):
#   modules   tb_load_modules (the Debian kernels' e1000e/VFIO modules; none on a built-in kernel)
#   bind      both NICs of the bridge group (02:01.0, 02:02.0) to vfio-pci: the group is viable
#   dryrun    ioasid-trace -k --dry-run -v: what the loader decides before loading anything
#   trace     ioasid-trace -k -v -q -w (the real load and attach), in the background while
#   client    type1_map_loop GROUP N: N map/unmap pairs of 4 KiB in a type1 container
#   events    the recorded domain_map/domain_unmap events of the client's process, counted:
#             N maps and N unmaps at the client's IOVA, and type1's own probe (an 8 KiB map at
#             IOVA 0 and two 4 KiB unmaps when the container's domain is set up), nothing else
#   flushes   the recorded iotlb_inv events against the kernel's trace buffer armed on exactly
#             what the attached flush programs hook (fentry: the function tracer; tracepoints:
#             the event), on while the client ran: equal, and not zero
# Results (besides each step's output):
#   bpfload-table.tsv   program, kind, target, attached|skipped, reason — one line per program of
#                       the real load (from the attach plan the tracer prints with -v); when the
#                       object did not load at all, the dry-run plan, each program it would have
#                       attached "skipped" with "NOT LOADED: " and the tracer's error
#   bpfload-trace.err   the tracer's stderr: the plan, libbpf's log (-v), its summary
# Exit status: 0 when the table was made and the counts match; 1 otherwise. Whether a skipped
# program is acceptable is judged on the host (scripts/testbed/bpf-load-matrix.sh).
. /testbed/lib.sh
N=${TB_MAP_PAIRS:-1000}
IOVA=0x100000000
fail=0
mkdir -p /results

tb_run modules tb_load_modules || fail=1

bind_group() {
	for b in 0000:02:01.0 0000:02:02.0; do
		echo "$b: driver $(tb_driver "$b") before"
		tb_vfio_bind "$b" || return 1
		echo "$b: driver $(tb_driver "$b") now"
	done
	g=$(basename "$(readlink /sys/bus/pci/devices/0000:02:01.0/iommu_group)")
	echo "group $g: $(ls /sys/kernel/iommu_groups/"$g"/devices | tr '\n' ' ')"
	ls -l /dev/vfio/
	echo "$g" >/tmp/group
}
tb_run bind bind_group || fail=1
group=$(cat /tmp/group 2>/dev/null)

tb_run dryrun ioasid-trace -k --dry-run -v

# The real load: the tracer prints its plan (every program, -v) once everything is attached.
echo "testbed: step trace: ioasid-trace -k -v -q -w /results/k.trace (background)"
t0=$(date +%s)
ioasid-trace -k -v -q -w /results/k.trace >/results/bpfload-trace.out 2>/results/bpfload-trace.err &
tpid=$!
ready=0
while [ $(( $(date +%s) - t0 )) -lt 240 ]; do
	if grep -q 'programs/probes attached' /results/bpfload-trace.err; then
		ready=1
		break
	fi
	kill -0 "$tpid" 2>/dev/null || break
	sleep 1
done
echo "testbed: step trace: ready=$ready after $(( $(date +%s) - t0 )) s"

# The IOTLB flush oracle: the kernel's own trace buffer, armed on exactly what our attached
# flush programs hook (an fentry program's function through the function tracer, a tracepoint
# program's event), on only while the client runs. Each flush our programs report must be one
# the kernel's tracer saw, and the other way round.
T=/sys/kernel/tracing
flush_oracle_arm() {
	grep -E '^  attach +ioasid_[a-z_]*(flush|tlb_sync)[a-z_]* ' /results/bpfload-trace.err |
		awk '{ print $3, $4 }' >/tmp/flush-targets
	echo 0 >$T/tracing_on
	echo nop >$T/current_tracer
	: >$T/set_ftrace_filter
	nfun=0
	while read -r kind target; do
		case "$kind" in
		fentry | fexit)
			echo "$target" >>$T/set_ftrace_filter && nfun=$((nfun + 1)) ;;
		tp_btf | raw_tp)
			echo 1 >"$T/events/${target%%:*}/${target#*:}/enable" ;;
		esac
	done </tmp/flush-targets
	[ "$nfun" -gt 0 ] && echo function >$T/current_tracer
	: >$T/trace
	echo "flush programs attached: $(awk '{ printf "%s %s; ", $1, $2 }' /tmp/flush-targets)"
}
flush_oracle_count() {
	awk '{ print $2 }' /tmp/flush-targets | while read -r target; do
		case "$target" in
		*:*) grep -c " ${target#*:}:" $T/trace ;;
		*) grep -c ": $target <-" $T/trace ;;
		esac
	done | awk '{ s += $1 } END { print s + 0 }'
}

cpid=
if [ "$ready" = 1 ] && [ -n "$group" ]; then
	flush_oracle_arm
	echo 1 >$T/tracing_on
	run_client() {
		type1_map_loop "$group" "$N" "$IOVA" &
		cpid=$!
		echo "$cpid" >/tmp/cpid
		wait "$cpid"
	}
	tb_run client run_client || fail=1
	cpid=$(cat /tmp/cpid 2>/dev/null)
	echo 0 >$T/tracing_on
	flush_oracle_count >/tmp/flush-oracle
	sleep 1   # let the ring buffer drain
fi
kill -INT "$tpid" 2>/dev/null
wait "$tpid"
trc=$?
printf '%s\t%s\t%s\n' trace "$trc" "$(( $(date +%s) - t0 ))" >>/results/steps.tsv
echo "testbed: step trace: exit $trc"
tb_send /results/bpfload-trace.err

# The table: from the real run's plan; else from the dry run's, every program skipped with the
# error that stopped the load.
plan_to_tsv() {   # FILE [FORCED-REASON]
	awk -v forced="$2" '
	/^  (attach|skip) / {
		st = $1; prog = $2
		rest = $0; sub(/^  [a-z]+ +[^ ]+ +/, "", rest)
		target = rest; reason = ""
		i = index(rest, ": ")
		if (st == "skip" && i > 0) { target = substr(rest, 1, i - 1); reason = substr(rest, i + 2) }
		kind = target; sub(/ .*/, "", kind); sub(/^[^ ]+ /, "", target)
		status = st == "attach" ? "attached" : "skipped"
		if (forced != "" && st == "attach") { status = "skipped"; reason = forced }
		printf "%s\t%s\t%s\t%s\t%s\n", prog, kind, target, status, reason
	}' "$1"
}
if grep -q 'programs/probes attached' /results/bpfload-trace.err; then
	plan_to_tsv /results/bpfload-trace.err >/results/bpfload-table.tsv
else
	why=$(grep -v '^libbpf:' /results/bpfload-trace.err | grep '^ioasid-trace: ' | head -1)
	[ -n "$why" ] || why="the tracer printed no attach plan (exit $trc)"
	plan_to_tsv /results/dryrun.out "NOT LOADED: $why" >/results/bpfload-table.tsv
	fail=1
fi
tb_send /results/bpfload-table.tsv

# Count the client's events.
count_events() {
	[ -n "$cpid" ] || { echo "no client ran: nothing to count"; return 1; }
	ioasid-trace -r /results/k.trace -j -e domain_map,domain_unmap >/results/events.jsonl ||
		{ echo "replaying /results/k.trace failed"; return 1; }
	awk -v pid="$cpid" -v n="$N" -v base="$IOVA" '
	function field(k,   m) {
		if (match($0, "\"" k "\":\"?[^,\"]*")) {
			m = substr($0, RSTART, RLENGTH); sub(/^"[a-z_]+":"?/, "", m); return m
		}
		return ""
	}
	function hex(s,   v, i, c) {
		v = 0; s = tolower(s); sub(/^0x/, "", s)
		for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
		return v
	}
	BEGIN { b = hex(base) }
	{
		ev = field("event"); p = field("pid"); iova = hex(field("iova")); len = field("length") + 0
		total[ev]++
		if (p != pid) { other[ev]++; next }
		if (iova == b && len == 4096) client[ev]++
		else if (ev == "domain_map" && iova == 0 && len == 8192) probe_map++
		else if (ev == "domain_unmap" && (iova == 0 || iova == 4096) && len == 4096) probe_unmap++
		else { stray[ev]++; printf "unexpected event of the client: %s\n", $0 }
	}
	END {
		printf "client pid %s, %d pairs of 4 KiB at %s\n", pid, n, base
		printf "domain_map   at the client IOVA: %d (expected %d)\n", client["domain_map"], n
		printf "domain_unmap at the client IOVA: %d (expected %d)\n", client["domain_unmap"], n
		printf "type1 probe: %d map of 8 KiB at 0 (expected 1), %d unmaps of 4 KiB at 0/0x1000 (expected 2)\n", probe_map, probe_unmap
		printf "other events of the client: %d maps, %d unmaps (expected 0)\n", stray["domain_map"], stray["domain_unmap"]
		printf "events of other processes: %d maps, %d unmaps\n", other["domain_map"], other["domain_unmap"]
		printf "all recorded: %d domain_map, %d domain_unmap\n", total["domain_map"], total["domain_unmap"]
		ok = client["domain_map"] == n && client["domain_unmap"] == n && probe_map == 1 && \
		     probe_unmap == 2 && !stray["domain_map"] && !stray["domain_unmap"]
		print ok ? "events: MATCH" : "events: MISMATCH"
		exit !ok
	}' /results/events.jsonl
}
tb_run events count_events || fail=1

# The flushes: every iotlb_inv event recorded while the client ran against the oracle.
count_flushes() {
	[ -s /tmp/flush-oracle ] || { echo "no client ran: nothing to count"; return 1; }
	want=$(cat /tmp/flush-oracle)
	got=$(ioasid-trace -r /results/k.trace -j -e iotlb_inv 2>/dev/null | grep -c '"iotlb_inv"')
	echo "flush programs: $(awk '{ printf "%s %s; ", $1, $2 }' /tmp/flush-targets)"
	echo "iotlb_inv events recorded: $got; the kernel's tracer saw: $want"
	if [ -s /tmp/flush-targets ] && [ "$got" = "$want" ] && [ "$got" -gt 0 ]; then
		echo "flushes: MATCH"
	else
		echo "flushes: MISMATCH"
		return 1
	fi
}
tb_run flushes count_flushes || fail=1
grep -h 'ioasid-trace: .*events received\|by type\|dropped' /results/bpfload-trace.err
tb_send /results/steps.tsv
exit $fail
