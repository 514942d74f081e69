# tap2tsv.awk — kselftest TAP (stdout and stderr interleaved, as the harness writes them) to TSV
# rows "binary<TAB>case<TAB>pass|fail|skip<TAB>reason". Shared by scripts/conformance.sh (the
# reference's run) and scripts/testbed/compare-selftests.sh (the real kernel's run).
#   awk -v bin=NAME -f scripts/tap2tsv.awk LOGFILE
# Reason: a SKIP's own text; for a failure the first diagnostic line of the case, else the
# harness's "Test terminated by ..." line; "-" for a pass.
function clean(s) {
	gsub(/\t/, " ", s); sub(/^# */, "", s)
	sub(/^[^ :]*\/selftests\/iommu\//, "", s)   # keep "iommufd.c:118:..." of the long path
	return s
}
/^# +RUN +/ { diag = ""; term = ""; next }
/^# +(OK|FAIL|SKIP) +/ { next }
/^# [^ ]+: Test (failed|terminated)/ { if (term == "") term = clean($0); next }
/^# / { if (diag == "") diag = clean($0); next }
/^(not )?ok [0-9]+ / {
	line = $0; res = "pass"; reason = ""
	if (line ~ /^not ok /) { res = "fail"; sub(/^not ok [0-9]+ /, "", line) }
	else sub(/^ok [0-9]+ /, "", line)
	if (line ~ / # (SKIP|skip)/) {
		res = "skip"; reason = line; sub(/^.* # (SKIP|skip) */, "", reason)
		sub(/ # (SKIP|skip).*$/, "", line)
	} else if (res == "fail") {
		reason = (diag != "") ? diag : term
	}
	gsub(/[ \t]+$/, "", line)
	if (reason == "") reason = "-"
	printf "%s\t%s\t%s\t%s\n", bin, line, res, clean(reason)
	diag = ""; term = ""
}
