#!/usr/bin/env bash
# conformance.sh — build the kernel's own iommufd selftests (Debian's linux-source-6.12) against
# uapi-shim/ and run them, unmodified, against the userspace reference through ioasid-run.
#
#   scripts/conformance.sh [BUILD] [--update-doc] [--only iommufd|iommufd_fail_nth] [--build-only]
#
#   --build-only   build the two test binaries and stop (the real-kernel testbed runs the same
#                  binaries in its guest: scripts/testbed/check-kernel.sh)
#
# What it does, in order:
#   1. /usr/src/linux-source-6.12.tar.xz: installed with apt-get (non-interactive) when missing.
#   2. Extracts ONLY tools/testing/selftests/iommu/, the kselftest harness headers and
#      drivers/iommu/iommufd/iommufd_test.h into BUILD/conformance/src (never into the repo).
#   3. Builds `iommufd` and `iommufd_fail_nth` with gcc, -isystem uapi-shim before the system
#      headers. The 6.12 test sources already use a few newer definitions (Debian backported
#      test changes without the kernel side); the missing ones are supplied by a generated
#      -include header (BUILD/conformance/compat.h). The test sources are never edited.
#   4. Runs each binary under `BUILD/bin/ioasid-run --private-platform --` (or, if this
#      ioasid-run does not know that option, with IOASID_PLATFORM= in the environment, which
#      also means "a private mock host"), with a per-binary timeout.
#   5. Parses the kselftest TAP output: one line per case (PASS/FAIL/SKIP and the first
#      diagnostic line), totals with the pass percentage, BUILD/conformance/results.tsv
#      (binary, case, result, reason) and BUILD/conformance/results.md (the table that
#      docs/CONFORMANCE.md carries; --update-doc rewrites it there between its markers).
#
# Huge pages: the tests mmap MAP_HUGETLB buffers. As root the script raises vm.nr_hugepages to
# at least 64 for the run and restores the previous value on exit (it says so); otherwise it
# warns that the hugepage variants will fail.
#
# Environment: CONFORMANCE_TIMEOUT (seconds per binary, default 900), LINUX_SOURCE_TARBALL
# (default /usr/src/linux-source-6.12.tar.xz), CC (default gcc).
#
# Exit status: 0 when the run completed (whatever the pass rate: conformance is reported, not
# enforced), 1 when something prevented the run (no tarball, build failure), 2 usage.
set -euo pipefail

usage() {
	sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-2}"
}

BUILD=build
UPDATE_DOC=0
ONLY=
BUILD_ONLY=0
while [ $# -gt 0 ]; do
	case "$1" in
	-h|--help) usage 0 ;;
	--update-doc) UPDATE_DOC=1 ;;
	--only) shift; ONLY="${1:-}" ;;
	--build-only) BUILD_ONLY=1 ;;
	-*) echo "conformance.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
	*) BUILD="$1" ;;
	esac
	shift
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
TARBALL="${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}"
TOP="linux-source-6.12"
OUT="$BUILD/conformance"
SRC="$OUT/src"
CC="${CC:-gcc}"
TIMEOUT="${CONFORMANCE_TIMEOUT:-900}"
RUNNER="$BUILD/bin/ioasid-run"

say() { printf 'conformance: %s\n' "$*"; }
die() { printf 'conformance: %s\n' "$*" >&2; exit 1; }

[ -x "$RUNNER" ] || die "$RUNNER is missing: build first (make BUILD=${BUILD#$ROOT/} all)"
[ -e "$BUILD/lib/libioasid-preload.so" ] || die "$BUILD/lib/libioasid-preload.so is missing: build first"

# ---- 1. the kernel source package ------------------------------------------------------------
if [ ! -r "$TARBALL" ]; then
	[ "$TARBALL" = /usr/src/linux-source-6.12.tar.xz ] ||
		die "$TARBALL (LINUX_SOURCE_TARBALL) is not readable: point it at a linux-source-6.12 tarball"
	[ "$(id -u)" = 0 ] ||
		die "$TARBALL is missing and installing it needs root: run 'sudo apt-get install linux-source-6.12', then retry"
	say "installing Debian's linux-source-6.12 (apt-get, non-interactive)"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q --no-install-recommends linux-source-6.12 >"$BUILD/apt-linux-source.log" 2>&1; then
		apt-get update -q >>"$BUILD/apt-linux-source.log" 2>&1 || true
		apt-get install -y -q --no-install-recommends linux-source-6.12 >>"$BUILD/apt-linux-source.log" 2>&1 ||
			die "apt-get install linux-source-6.12 failed: see $BUILD/apt-linux-source.log"
	fi
	[ -r "$TARBALL" ] || die "linux-source-6.12 is installed but $TARBALL is not there"
fi

# ---- 2. extract only what the tests need ----------------------------------------------------
MEMBERS=(
	"$TOP/tools/testing/selftests/iommu"
	"$TOP/tools/testing/selftests/kselftest_harness.h"
	"$TOP/tools/testing/selftests/kselftest.h"
	"$TOP/drivers/iommu/iommufd/iommufd_test.h"
)
STAMP="$SRC/.extracted"
if [ ! -e "$STAMP" ] || [ "$TARBALL" -nt "$STAMP" ]; then
	say "extracting the iommu selftests from $TARBALL into ${SRC#$ROOT/}"
	rm -rf "$SRC"
	mkdir -p "$SRC"
	tar -xJf "$TARBALL" -C "$SRC" "${MEMBERS[@]}" ||
		die "could not extract ${MEMBERS[*]} from $TARBALL"
	touch "$STAMP"
fi
TDIR="$SRC/$TOP/tools/testing/selftests/iommu"
# Every quoted include of the test sources and the harness must resolve inside the extract.
for f in "$TDIR"/*.c "$TDIR"/*.h "$SRC/$TOP/tools/testing/selftests/"*.h; do
	d="$(dirname "$f")"
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
		[ -e "$d/$inc" ] || die "${f#$SRC/} includes \"$inc\", which was not extracted: add it to MEMBERS"
	done
done

# ---- 3. build --------------------------------------------------------------------------------
# Newer definitions the 6.12 test sources use: each one only when uapi-shim/ lacks it.
COMPAT="$OUT/compat.h"
probe() { # probe NAME: does <linux/iommufd.h> from uapi-shim define NAME (macro or enum)?
	printf '#include <linux/iommufd.h>\nint x = (int)(%s);\n' "$1" |
		"$CC" -x c -fsyntax-only -isystem "$ROOT/uapi-shim" - >/dev/null 2>&1
}
{
	echo "/* Generated by scripts/conformance.sh: definitions newer than the 6.12 test header"
	echo " * (drivers/iommu/iommufd/iommufd_test.h) and, if missing, the uAPI header, which the"
	echo " * Debian 6.12 test sources use. Values from shared/reference/iommufd-uapi.md §3. */"
	echo "#ifndef IOASID_CONFORMANCE_COMPAT_H"
	echo "#define IOASID_CONFORMANCE_COMPAT_H"
	grep -q MOCK_FLAGS_DEVICE_PASID "$SRC/$TOP/drivers/iommu/iommufd/iommufd_test.h" ||
		echo "#define MOCK_FLAGS_DEVICE_PASID (1 << 2)"
	grep -q MOCK_PASID_WIDTH "$SRC/$TOP/drivers/iommu/iommufd/iommufd_test.h" ||
		echo "#define MOCK_PASID_WIDTH 20"
	probe IOMMU_HW_INFO_TYPE_DEFAULT || echo "#define IOMMU_HW_INFO_TYPE_DEFAULT 0"
	probe IOMMU_HW_INFO_FLAG_INPUT_TYPE || echo "#define IOMMU_HW_INFO_FLAG_INPUT_TYPE (1 << 0)"
	echo "#endif"
} >"$COMPAT.new"
if ! cmp -s "$COMPAT.new" "$COMPAT" 2>/dev/null; then mv "$COMPAT.new" "$COMPAT"; else rm -f "$COMPAT.new"; fi
printf '#include <linux/iommufd.h>\nint x = (int)sizeof(((struct iommu_hw_info *)0)->in_data_type);\n' |
	"$CC" -x c -fsyntax-only -isystem "$ROOT/uapi-shim" - >/dev/null 2>&1 ||
	die "uapi-shim/linux/iommufd.h lacks struct iommu_hw_info.in_data_type, which the 6.12 tests use"

BINS=(iommufd iommufd_fail_nth)
[ -z "$ONLY" ] || BINS=("$ONLY")
CFLAGS_T=(-Wall -O2 -g -Wno-unused-function -D_GNU_SOURCE -isystem "$ROOT/uapi-shim" -include "$COMPAT")
for b in "${BINS[@]}"; do
	[ -e "$TDIR/$b.c" ] || die "no test source $b.c in the 6.12 selftests"
	if [ ! -x "$OUT/$b" ] || [ "$TDIR/$b.c" -nt "$OUT/$b" ] || [ "$COMPAT" -nt "$OUT/$b" ] ||
	   [ "$TDIR/iommufd_utils.h" -nt "$OUT/$b" ]; then
		say "building $b (gcc, -isystem uapi-shim)"
		# Dynamically linked on purpose: LD_PRELOAD must be able to interpose libc.
		"$CC" "${CFLAGS_T[@]}" -o "$OUT/$b" "$TDIR/$b.c" >"$OUT/$b.build.log" 2>&1 ||
			{ cat "$OUT/$b.build.log" >&2; die "building $b failed (log: $OUT/$b.build.log)"; }
	fi
done

[ "$BUILD_ONLY" = 0 ] || { say "built: ${BINS[*]/#/$OUT/}"; exit 0; }

# ---- huge pages --------------------------------------------------------------------------------
HP_FILE=/proc/sys/vm/nr_hugepages
HP_OLD=
restore_hugepages() {
	if [ -n "$HP_OLD" ]; then
		echo "$HP_OLD" >"$HP_FILE" 2>/dev/null &&
			say "restored vm.nr_hugepages to $HP_OLD"
	fi
}
trap restore_hugepages EXIT
if [ -r "$HP_FILE" ]; then
	cur="$(cat "$HP_FILE")"
	if [ "$cur" -lt 64 ]; then
		if [ "$(id -u)" = 0 ] && echo 64 >"$HP_FILE" 2>/dev/null; then
			HP_OLD="$cur"
			say "raised vm.nr_hugepages from $cur to $(cat "$HP_FILE") for the run (MAP_HUGETLB tests); it is restored on exit"
		else
			say "warning: vm.nr_hugepages is $cur (< 64) and cannot be raised (not root?): the MAP_HUGETLB cases will fail"
		fi
	else
		say "vm.nr_hugepages is $cur (>= 64): huge pages available"
	fi
fi

# ---- 4. run -------------------------------------------------------------------------------------
RUN_PREFIX=("$RUNNER" --private-platform --)
if ! "$RUNNER" --private-platform -- true >/dev/null 2>&1; then
	RUN_PREFIX=(env IOASID_PLATFORM= "$RUNNER" --)
	say "ioasid-run has no --private-platform: using IOASID_PLATFORM= (private host) instead"
fi

TSV="$OUT/results.tsv"
MD="$OUT/results.md"
printf 'binary\tcase\tresult\treason\n' >"$TSV"

# TAP of one binary → TSV rows (scripts/tap2tsv.awk).
parse_tap() { # parse_tap BINARY LOGFILE
	awk -v bin="$1" -f "$ROOT/scripts/tap2tsv.awk" "$2"
}

for b in "${BINS[@]}"; do
	log="$OUT/$b.log"
	say "running $b under ${RUN_PREFIX[*]} (timeout ${TIMEOUT}s)"
	start=$(date +%s)
	set +e
	(cd "$OUT" && timeout --kill-after=10 "$TIMEOUT" "${RUN_PREFIX[@]}" "./$b") >"$log" 2>&1
	rc=$?
	set -e
	secs=$(( $(date +%s) - start ))
	rows="$(parse_tap "$b" "$log")"
	[ -z "$rows" ] || printf '%s\n' "$rows" >>"$TSV"
	plan="$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$log" | head -n1)"
	seen=$(printf '%s' "$rows" | grep -c . || true)
	if [ -n "$plan" ] && [ "$seen" -lt "$plan" ]; then
		why="binary exited with status $rc after ${secs}s"
		[ "$rc" = 124 ] && why="binary timed out after ${TIMEOUT}s (CONFORMANCE_TIMEOUT)"
		for i in $(seq $((seen + 1)) "$plan"); do
			printf '%s\tcase #%d (not reported)\tfail\t%s\n' "$b" "$i" "$why" >>"$TSV"
		done
	elif [ -z "$plan" ]; then
		printf '%s\t(whole binary)\tfail\tno TAP plan: exit status %s, see %s\n' "$b" "$rc" "${log#$ROOT/}" >>"$TSV"
	fi
	say "$b: exit status $rc after ${secs}s (log: ${log#$ROOT/})"
done

# ---- 5. report ----------------------------------------------------------------------------------
awk -F'\t' 'NR > 1 { printf "%-4s  %-16s %-58s %s\n", toupper($3), $1, $2, ($3 == "pass" ? "" : $4) }' "$TSV"
summary() { # summary FILTER-BINARY-or-empty
	awk -F'\t' -v only="$1" '
	NR > 1 && (only == "" || $1 == only) { n++; c[$3]++ }
	END {
		p = c["pass"] + 0; f = c["fail"] + 0; s = c["skip"] + 0
		printf "%d cases: %d pass, %d fail, %d skip (%.1f%% pass)", n, p, f, s, n ? 100 * p / n : 0
	}' "$TSV"
}
for b in "${BINS[@]}"; do say "$b: $(summary "$b")"; done
say "total: $(summary "")"
say "results: ${TSV#$ROOT/}"

{
	echo "Run: $(date -u +%Y-%m-%d) on Linux $(uname -r), linux-source-6.12 $(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo '?')."
	echo
	echo "| binary | cases | pass | fail | skip | pass % |"
	echo "|---|---|---|---|---|---|"
	for b in "${BINS[@]}" ""; do
		awk -F'\t' -v only="$b" '
		NR > 1 && (only == "" || $1 == only) { n++; c[$3]++ }
		END {
			name = only == "" ? "**total**" : "`" only "`"
			printf "| %s | %d | %d | %d | %d | %.1f |\n", name, n, c["pass"], c["fail"], c["skip"],
			       n ? 100 * c["pass"] / n : 0
		}' "$TSV"
	done
	echo
	echo "Every case that did not pass, with the harness's first diagnostic line:"
	echo
	echo "| binary | case | result | diagnostic |"
	echo "|---|---|---|---|"
	awk -F'\t' 'NR > 1 && $3 != "pass" {
		r = $4; gsub(/\|/, "\\|", r)
		printf "| %s | `%s` | %s | %s |\n", $1, $2, $3, r }' "$TSV"
} >"$MD"

if [ "$UPDATE_DOC" = 1 ]; then
	DOC="$ROOT/docs/CONFORMANCE.md"
	grep -q '<!-- conformance:begin -->' "$DOC" && grep -q '<!-- conformance:end -->' "$DOC" ||
		die "$DOC has no <!-- conformance:begin --> / <!-- conformance:end --> markers"
	awk -v md="$MD" '
	/<!-- conformance:begin -->/ { print; while ((getline l < md) > 0) print l; skip = 1; next }
	/<!-- conformance:end -->/ { skip = 0 }
	!skip' "$DOC" >"$DOC.new" && mv "$DOC.new" "$DOC"
	say "updated the generated table in docs/CONFORMANCE.md"
fi
exit 0
