#!/bin/sh
# replay-corpus.sh — the fuzzer's seed corpus as plain programs on one side: a real kernel (in
# the testbed guest) or the reference (on the host, under ioasid-run), one transcript per entry,
# for compare-transcripts.sh (issue 9's differential mode).
#
#   scripts/testbed/replay-corpus.sh kernel OUTDIR [BINDIR [CORPUS [device|selftest]]]
#       in the guest (busybox sh, as root): fuzz-replay from BINDIR (default /testbed/bin),
#       entries from CORPUS (default /testbed/corpus); "device": all entries but selftest_*,
#       "selftest": only those (the guest replays each half in its own boot)
#   scripts/testbed/replay-corpus.sh reference OUTDIR [BUILD [CORPUS]]
#       on the host: BUILD/fuzz/fuzz-replay under BUILD/bin/ioasid-run on a mock host of its
#       own made from examples/topologies/qemu-testbed.topo (CORPUS default tests/fuzz/corpus)
#
# Both sides first put the bridge group's two NICs (0000:02:01.0, 0000:02:02.0) on vfio-pci, so
# /dev/vfio/4, /dev/vfio/devices/vfio0 and vfio1 exist on both, then replay every entry
# (fuzz-replay: only open/ioctl/close/dup/read/write/pread/pwrite; driver bind/unbind answer
# EOPNOTSUPP on both sides). A transcript line is "CALL: rc=RC errno=E", the form
# compare-transcripts.sh pairs by step; OUTDIR/replay-NAME.txt per entry NAME.bin.
# POSIX sh. Exit status: 0 when every entry ran, 1 otherwise, 2 usage.
MODE=$1
OUT=$2
[ -n "$MODE" ] && [ -n "$OUT" ] || {
	echo "usage: replay-corpus.sh kernel|reference OUTDIR [BINDIR|BUILD [CORPUS]]" >&2
	exit 2
}
here=$(cd "$(dirname "$0")" && pwd)
status=0
mkdir -p "$OUT" || exit 1
rm -f "$OUT"/replay-*.txt "$OUT"/replay-*.err
BDFS="0000:02:01.0 0000:02:02.0"

case "$MODE" in
kernel)
	BIN=${3:-/testbed/bin}
	CORPUS=${4:-/testbed/corpus}
	FILTER=${5:-}
	[ "$FILTER" = selftest ] && BDFS=    # VT-d off: no groups, nothing to bind
	for b in $BDFS; do
		d=/sys/bus/pci/devices/$b
		echo vfio-pci >"$d/driver_override"
		[ -e "$d/driver" ] && echo "$b" >"$d/driver/unbind"
		echo "$b" >/sys/bus/pci/drivers_probe
		[ "$(basename "$(readlink "$d/driver")")" = vfio-pci ] ||
			{ echo "replay-corpus: $b did not bind to vfio-pci" >&2; status=1; }
	done
	replay() { "$BIN/fuzz-replay" "$1"; }
	finish() { :; }
	;;
reference)
	BUILD=${3:-build}
	CORPUS=${4:-$here/../../tests/fuzz/corpus}
	FILTER=
	TOPO=$here/../../examples/topologies/qemu-testbed.topo
	PLATFORM=replay-$$
	for t in "$BUILD/bin/ioasid-run" "$BUILD/bin/ioasid-platform" "$BUILD/fuzz/fuzz-replay"; do
		[ -x "$t" ] || { echo "replay-corpus: no $t: build first (make all fuzz-replay)" >&2
			exit 1; }
	done
	plat() { "$BUILD/bin/ioasid-platform" --platform "$PLATFORM" --topology "$TOPO" "$@"; }
	plat reset >/dev/null 2>&1
	for b in $BDFS; do
		{ plat unbind "$b" && plat bind "$b" vfio-pci; } >/dev/null ||
			{ echo "replay-corpus: $b did not bind to vfio-pci on the mock host" >&2
			  status=1; }
	done
	replay() {
		"$BUILD/bin/ioasid-run" --platform "$PLATFORM" --topology "$TOPO" -- \
			"$BUILD/fuzz/fuzz-replay" "$1"
	}
	finish() { plat reset >/dev/null 2>&1; }
	;;
*)
	echo "replay-corpus: unknown mode '$MODE': kernel or reference" >&2
	exit 2
	;;
esac
trap finish EXIT

n=0
for f in "$CORPUS"/*.bin; do
	[ -f "$f" ] || continue
	name=$(basename "$f" .bin)
	case "$FILTER:$name" in
	device:selftest_*) continue ;;
	selftest:selftest_*) ;;
	selftest:*) continue ;;
	esac
	# "NAME: RC ERRNO" -> "NAME: rc=RC errno=ERRNO"; the "# file" header is dropped (paths
	# differ between the sides)
	replay "$f" 2>"$OUT/replay-$name.err" |
		sed -n 's/^\([^#][^:]*\): \(-\{0,1\}[0-9][0-9]*\) \(.*\)$/\1: rc=\2 errno=\3/p' \
		>"$OUT/replay-$name.txt"
	[ -s "$OUT/replay-$name.txt" ] || { echo "replay-corpus: $name produced no calls" >&2
		status=1; }
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "replay-corpus: no *.bin in $CORPUS" >&2; status=1; }
echo "replay-corpus: $MODE: $n entries replayed into $OUT"
exit $status
