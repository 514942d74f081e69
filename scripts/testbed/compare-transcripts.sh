#!/bin/sh
# compare-transcripts.sh — compare the differential clients' transcripts of a real kernel with
# the reference's, line by line, against the documented differences.
#
#   scripts/testbed/compare-transcripts.sh KERNEL_DIR REFERENCE_DIR [--doc FILE] [--quiet]
#
# KERNEL_DIR and REFERENCE_DIR hold one CLIENT.txt per client (scripts/testbed/diff-clients.sh
# kernel|reference writes them). A transcript line is "STEP: rc=N[ errno=NAME][ field=value...]"
# (tests/clients/diff_common.h) or a "# ..." note. Lines are paired by STEP and by how many
# times that STEP occurred before in the same section (a "# heading" line without a colon opens
# a section), so one missing or extra line does not shift the rest; a line present on one side
# only is paired with "(missing)".
#
# A pair that differs is "documented" when a row of the table in the section
# "Reference vs real kernel (testbed)" of docs/CONFORMANCE.md (--doc FILE) matches it:
#   | client | step | kernel | reference | reason |
# client is the transcript's name (edges, type1, cdev); step, kernel and reference are the
# STEP and each side's result (the text after "STEP: ", or "(missing)"), written plainly or in
# backquotes; '*' in them matches any text. Every row needs a reason.
#
# Prints, per client, "CLIENT: lines N, agree A, documented D, disagree X", then each
# undocumented disagreement as "CLIENT: STEP: kernel '…' vs reference '…'", and documented rows
# that matched nothing ("stale"). Exit status: 0 when every difference is documented, 1 when one
# is not (or a transcript is missing on one side), 2 for a usage error.
KDIR=
RDIR=
DOC=$(cd "$(dirname "$0")/../.." && pwd)/docs/CONFORMANCE.md
QUIET=0
while [ $# -gt 0 ]; do
	case "$1" in
	--doc) DOC=$2; shift 2 ;;
	--quiet) QUIET=1; shift ;;
	-*) echo "compare-transcripts: unknown option $1" >&2; exit 2 ;;
	*)
		if [ -z "$KDIR" ]; then KDIR=$1; elif [ -z "$RDIR" ]; then RDIR=$1; else
			echo "compare-transcripts: one KERNEL_DIR and one REFERENCE_DIR" >&2; exit 2
		fi
		shift ;;
	esac
done
[ -n "$KDIR" ] && [ -n "$RDIR" ] || {
	echo "usage: compare-transcripts.sh KERNEL_DIR REFERENCE_DIR [--doc FILE] [--quiet]" >&2
	exit 2
}
for d in "$KDIR" "$RDIR"; do
	[ -d "$d" ] || { echo "compare-transcripts: $d: no such directory" >&2; exit 2; }
done
[ -f "$DOC" ] || { echo "compare-transcripts: $DOC: no such file (--doc)" >&2; exit 2; }

clients=$({ (cd "$KDIR" && ls ./*.txt 2>/dev/null); (cd "$RDIR" && ls ./*.txt 2>/dev/null); } |
	sed 's|^\./||; s|\.txt$||' | sort -u)
[ -n "$clients" ] || { echo "compare-transcripts: no *.txt in $KDIR or $RDIR" >&2; exit 1; }

rc=0
for c in $clients; do
	k=$KDIR/$c.txt
	r=$RDIR/$c.txt
	[ -f "$k" ] || { echo "$c: no transcript in $KDIR"; rc=1; k=/dev/null; }
	[ -f "$r" ] || { echo "$c: no transcript in $RDIR"; rc=1; r=/dev/null; }
	awk -v client="$c" -v quiet="$QUIET" '
	function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
	function unquote(s) { s = trim(s); if (s ~ /^`.*`$/) s = substr(s, 2, length(s) - 2)
		return s }
	# a cell with * wildcards as an anchored regular expression
	function glob(s,    out, i, ch) {
		out = ""
		for (i = 1; i <= length(s); i++) {
			ch = substr(s, i, 1)
			if (ch == "*") out = out ".*"
			else if (ch ~ /[][\\^$.|?+(){}]/) out = out "\\" ch
			else out = out ch
		}
		return "^" out "$"
	}
	# a "# heading" without a colon opens a section: steps are paired within sections
	function section(line) {
		if (line ~ /^# / && index(line, ":") == 0) sect = line
	}
	# "STEP: rc=..." -> STEP; a "# note" is its own step
	function stepof(line,    i) {
		i = index(line, ": rc=")
		return i ? substr(line, 1, i - 1) : line
	}
	function resultof(line,    i) {
		i = index(line, ": rc=")
		return i ? substr(line, i + 2) : line
	}
	FILENAME == ARGV[1] {
		# a fenced code block is text, whatever its lines look like ("# comment")
		if ($0 ~ /^```/) { infence = !infence; next }
		if (infence) next
		if ($0 ~ /^#+ /) {
			insec = ($0 ~ /^#+ Reference vs real kernel \(testbed\)/)
			next
		}
		# only the table whose header is "| client | step | kernel | reference | reason |"
		if ($0 !~ /^\|/) { intable = 0; next }
		if ($0 ~ /^\| *client *\| *step *\| *kernel *\| *reference *\| *reason *\|/) {
			intable = 1
			next
		}
		if (!insec || !intable) next
		n = split($0, cell, "|")
		if (n < 7) next
		cl = unquote(cell[2])
		if (cl ~ /^-+$/ || cl != client) next
		nd++
		dstep[nd] = glob(unquote(cell[3]))
		dk[nd] = glob(unquote(cell[4]))
		dr[nd] = glob(unquote(cell[5]))
		drow[nd] = $0
		next
	}
	FILENAME == ARGV[2] {
		if (FNR == 1) sect = ""
		section($0)
		s = stepof($0); seen[sect, s]++; key = sect SUBSEP s SUBSEP seen[sect, s]
		if (!(key in kline)) { order[++nk] = key; kstep[key] = s }
		kline[key] = $0
		next
	}
	{
		if (FNR == 1) sect = ""
		section($0)
		s = stepof($0); rseen[sect, s]++; key = sect SUBSEP s SUBSEP rseen[sect, s]
		if (!(key in kline) && !(key in rextra)) { extra[++nx] = key; kstep[key] = s }
		rextra[key] = 1
		rline[key] = $0
	}
	function judge(key,    s, kv, rv, i) {
		s = kstep[key]
		kv = (key in kline) ? resultof(kline[key]) : "(missing)"
		rv = (key in rline) ? resultof(rline[key]) : "(missing)"
		total++
		if ((key in kline) && (key in rline) && kline[key] == rline[key]) { agree++; return }
		for (i = 1; i <= nd; i++)
			if (s ~ dstep[i] && kv ~ dk[i] && rv ~ dr[i]) { documented++; used[i] = 1
				return }
		disagree++
		msg[disagree] = client ": " s ": kernel '\''" kv "'\'' vs reference '\''" rv "'\''"
	}
	END {
		for (j = 1; j <= nk; j++) judge(order[j])
		for (j = 1; j <= nx; j++) if (!(extra[j] in kline)) judge(extra[j])
		printf "%s: lines %d, agree %d, documented %d, disagree %d\n", client, total,
			agree, documented, disagree
		for (j = 1; j <= disagree; j++) print msg[j]
		if (!quiet)
			for (i = 1; i <= nd; i++) if (!used[i])
				print client ": stale documented row (matched nothing): " drow[i]
		exit disagree ? 1 : 0
	}' "$DOC" "$k" "$r" || rc=1
done
exit $rc
