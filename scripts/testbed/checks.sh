# checks.sh — the PASS/FAIL line of the testbed's host-side verifiers (sourced by
# verify-kernel-path.sh and verify-bench.sh).
#   check NAME GOT WANT   one check: PASS when GOT equals WANT, else FAIL with both values
#   checks_summary TOOL   "TOOL: P of N checks passed"; returns 1 when one failed
# CHECK_WIDTH sets the name column (default 46).
fails=0 checks=0

check() {
	checks=$((checks + 1))
	if [ "$2" = "$3" ]; then
		printf "  PASS %-${CHECK_WIDTH:-46}s %s\n" "$1" "$2"
	else
		printf "  FAIL %-${CHECK_WIDTH:-46}s got %s, expected %s\n" "$1" "${2:-nothing}" "$3"
		fails=$((fails + 1))
	fi
}

checks_summary() {
	echo "$1: $((checks - fails)) of $checks checks passed"
	[ "$fails" -eq 0 ]
}
