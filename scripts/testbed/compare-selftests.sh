#!/usr/bin/env bash
# compare-selftests.sh — the kernel's iommufd selftests, case by case: the real kernel (the
# testbed guest) against the reference (make conformance), same binaries.
#
#   scripts/testbed/compare-selftests.sh GUEST_DIR REFERENCE_TSV [--markdown FILE]
#
# GUEST_DIR holds selftest-iommufd.out and selftest-iommufd_fail_nth.out (TAP, from
# guest/suite-selftests.sh); REFERENCE_TSV is scripts/conformance.sh's results.tsv. Both sides
# are parsed by scripts/tap2tsv.awk. Every case whose result differs must be explained by a row of
# the table between <!-- selftest-diff:begin --> and <!-- selftest-diff:end --> in
# docs/CONFORMANCE.md:
#   | binary | case (shell glob) | kernel | reference | reason |
# Prints the totals of both sides, each differing case with its explanation (or UNEXPLAINED and
# both diagnostics), and rows of the table that no case needed any more (stale). --markdown
# writes the per-case comparison as a Markdown table.
# Exit status: 0 every difference explained, 1 an unexplained difference, 2 bad input.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
GUEST=${1:?usage: compare-selftests.sh GUEST_DIR REFERENCE_TSV [--markdown FILE]}
REF=${2:?usage: compare-selftests.sh GUEST_DIR REFERENCE_TSV [--markdown FILE]}
MD=
[ "${3:-}" = --markdown ] && MD=${4:?--markdown needs a FILE}
DOC=${CONFORMANCE_DOC:-$root/docs/CONFORMANCE.md}
[ -f "$REF" ] || { echo "compare-selftests: no reference results $REF (run make conformance)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for b in iommufd iommufd_fail_nth; do
	f=$GUEST/selftest-$b.out
	[ -f "$f" ] || { echo "compare-selftests: $f is missing: the guest did not run $b" \
		"(see $GUEST/console.log)" >&2; exit 2; }
	awk -v bin="$b" -f "$root/scripts/tap2tsv.awk" "$f"
done >"$tmp/kernel.tsv"
tail -n +2 "$REF" >"$tmp/ref.tsv"
sed -n '/<!-- selftest-diff:begin -->/,/<!-- selftest-diff:end -->/p' "$DOC" |
	awk -F'|' 'NF >= 6 && $2 !~ /^ *(binary|-+) *$/ {
		for (i = 2; i <= 6; i++) { gsub(/^ +| +$/, "", $i); gsub(/`/, "", $i) }
		printf "%s\t%s\t%s\t%s\t%s\n", $2, $3, $4, $5, $6 }' >"$tmp/explained.tsv"

totals() { awk -F'\t' '{ n++; c[$3]++ } END { printf "%d cases: %d pass, %d fail, %d skip", n,
	c["pass"], c["fail"], c["skip"] }' "$1"; }
echo "compare-selftests: real kernel: $(totals "$tmp/kernel.tsv")"
echo "compare-selftests: reference:   $(totals "$tmp/ref.tsv")"

# Join on binary+case; "absent" where one side has no such case.
awk -F'\t' -v OFS='\t' '
	FNR == NR { k[$1 "\t" $2] = $3; kr[$1 "\t" $2] = $4; order[++n] = $1 "\t" $2; next }
	{ r[$1 "\t" $2] = $3; rr[$1 "\t" $2] = $4; if (!($1 "\t" $2 in k)) order[++n] = $1 "\t" $2 }
	END { for (i = 1; i <= n; i++) { key = order[i]
		kv = (key in k) ? k[key] : "absent"; rv = (key in r) ? r[key] : "absent"
		if (kv != rv) print key, kv, rv, (key in kr ? kr[key] : "-"), (key in rr ? rr[key] : "-") } }' \
	"$tmp/kernel.tsv" "$tmp/ref.tsv" >"$tmp/diff.tsv"

unexplained=0 explained=0
: >"$tmp/used"
while IFS=$'\t' read -r bin case kres rres kwhy rwhy; do
	why=
	while IFS=$'\t' read -r eb ec ek er reason; do
		# shellcheck disable=SC2254
		case "$case" in $ec) ;; *) continue ;; esac
		[ "$eb" = "$bin" ] && [ "$ek" = "$kres" ] && [ "$er" = "$rres" ] || continue
		why=$reason
		echo "$eb|$ec|$ek|$er" >>"$tmp/used"
		break
	done <"$tmp/explained.tsv"
	if [ -n "$why" ]; then
		explained=$((explained + 1))
		printf '  explained    %-16s %-56s kernel %-4s reference %-4s %s\n' "$bin" "$case" \
			"$kres" "$rres" "$why"
	else
		unexplained=$((unexplained + 1))
		printf '  UNEXPLAINED  %-16s %-56s kernel %-4s reference %-4s\n' "$bin" "$case" "$kres" "$rres"
		printf '               kernel: %s\n               reference: %s\n' "$kwhy" "$rwhy"
	fi
done <"$tmp/diff.tsv"
while IFS=$'\t' read -r eb ec ek er reason; do
	grep -qxF "$eb|$ec|$ek|$er" "$tmp/used" ||
		echo "  stale row in docs/CONFORMANCE.md (no case needs it now): $eb $ec $ek/$er"
done <"$tmp/explained.tsv"

if [ -n "$MD" ]; then
	{
		echo "| binary | case | real kernel | reference |"
		echo "|---|---|---|---|"
		awk -F'\t' '{ printf "| %s | `%s` | %s | %s |\n", $1, $2, $3, $4 }' "$tmp/diff.tsv"
	} >"$MD"
fi
same=$(( $(wc -l <"$tmp/kernel.tsv") - $(wc -l <"$tmp/diff.tsv") ))
echo "compare-selftests: $same cases agree, $explained differ with a documented reason," \
	"$unexplained differ unexplained"
[ "$unexplained" -eq 0 ]
