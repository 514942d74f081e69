#!/bin/sh
# diff-clients.sh — run the differential clients (tests/clients/diff_*.c) on one side: a real
# kernel (in the testbed guest) or the reference (on the host, under ioasid-run), with the same
# sequence of driver changes on both, one transcript per client.
#
#   scripts/testbed/diff-clients.sh kernel OUTDIR [BINDIR]
#       in the guest (busybox sh, as root): drivers change through sysfs (driver_override,
#       unbind, drivers_probe); clients from BINDIR (default /testbed/bin).
#   scripts/testbed/diff-clients.sh reference OUTDIR [BUILD]
#       on the host: every client runs under BUILD/bin/ioasid-run (default BUILD: build) on a
#       mock host of its own made from examples/topologies/qemu-testbed.topo (a platform named
#       diff-PID, removed at the end); drivers change with BUILD/bin/ioasid-platform.
#
# The sequence (the guest's devices, scripts/testbed/boot.sh; all NICs start on e1000e):
#   1. diff_edges, failnth_client                   (no device)
#   2. 0000:02:01.0 -> vfio-pci; its sibling 0000:02:02.0 stays on e1000e (group 4 not viable)
#      diff_type1 nonviable 4 0000:02:01.0; diff_cdev nonviable CDEV(02:01.0)
#   3. 0000:02:02.0 -> vfio-pci, 0000:00:03.0 (group 1, alone) -> vfio-pci
#      diff_type1 viable 4 0000:02:01.0 0000:02:02.0 0000:01:00.0
#      diff_cdev viable 4 CDEV(02:01.0) CDEV(02:02.0) CDEV(00:03.0)
#   4. every device back on e1000e (kernel) / the mock host removed (reference)
# The CDEV paths are found, not assumed: /sys/bus/pci/devices/BDF/vfio-dev/vfioN in the guest,
# `ioasid-platform show` on the host; the transcripts name them only in "# ..." lines.
#
# OUTDIR gets edges.txt, failnth.txt, type1.txt, cdev.txt (the transcripts: compare them with
# scripts/testbed/compare-transcripts.sh) and NAME.err (each client's stderr, not compared).
# POSIX sh: runs under busybox sh, dash and bash. Exit status: 0 when every client ran and
# every driver change took effect, 1 otherwise (the transcripts say which step), 2 for usage.
MODE=$1
OUT=$2
[ -n "$MODE" ] && [ -n "$OUT" ] || {
	echo "usage: diff-clients.sh kernel|reference OUTDIR [BINDIR|BUILD]" >&2
	exit 2
}
here=$(cd "$(dirname "$0")" && pwd)
status=0
mkdir -p "$OUT" || exit 1
rm -f "$OUT/edges.txt" "$OUT/failnth.txt" "$OUT/type1.txt" "$OUT/cdev.txt" "$OUT"/*.err

case "$MODE" in
kernel)
	BIN=${3:-/testbed/bin}
	[ -c /dev/iommu ] || echo "diff-clients: warning: no /dev/iommu on this kernel" >&2
	# driver BDF: the bound driver's name, or none
	driver() {
		if [ -e "/sys/bus/pci/devices/$1/driver" ]; then
			basename "$(readlink "/sys/bus/pci/devices/$1/driver")"
		else
			echo none
		fi
	}
	# set_driver BDF DRIVER: as an administrator does it, through sysfs
	set_driver() {
		d=/sys/bus/pci/devices/$1
		[ -d "$d" ] || return 1
		if [ "$2" = vfio-pci ]; then
			echo vfio-pci >"$d/driver_override"
		else
			echo >"$d/driver_override"
		fi
		[ -e "$d/driver" ] && echo "$1" >"$d/driver/unbind"
		echo "$1" >/sys/bus/pci/drivers_probe
		[ "$(driver "$1")" = "$2" ]
	}
	# cdev BDF: the device's /dev/vfio/devices/vfioN
	cdev() {
		for n in /sys/bus/pci/devices/"$1"/vfio-dev/vfio*; do
			[ -e "$n" ] && { echo "/dev/vfio/devices/$(basename "$n")"; return 0; }
		done
		echo "/dev/vfio/devices/none-for-$1"
		return 1
	}
	# run NAME CLIENT ARGS...: the client, stdout appended to the transcript
	run() {
		name=$1
		shift
		"$BIN/$@" >>"$OUT/$name.txt" 2>>"$OUT/$name.err"
	}
	finish() {
		for b in 0000:02:01.0 0000:02:02.0 0000:00:03.0; do
			set_driver "$b" e1000e || {
				echo "diff-clients: $b did not go back to e1000e" >&2
				status=1
			}
		done
	}
	;;
reference)
	BUILD=${3:-build}
	TOPO=$here/../../examples/topologies/qemu-testbed.topo
	PLATFORM=diff-$$
	for t in "$BUILD/bin/ioasid-run" "$BUILD/bin/ioasid-platform"; do
		[ -x "$t" ] || { echo "diff-clients: no $t: build first (make BUILD=$BUILD all)" >&2
			exit 1; }
	done
	plat() {
		"$BUILD/bin/ioasid-platform" --platform "$PLATFORM" --topology "$TOPO" "$@"
	}
	# `show` columns: DEVICE VFIO GROUP DRIVER DRIVER_KIND USER_PID CAPS
	driver() {
		plat show | awk -v d="$1" '$1 == d && $2 ~ /^vfio/ {
			print ($4 == "-" ? "none" : $4) }'
	}
	set_driver() {
		if [ "$(driver "$1")" != none ]; then
			plat unbind "$1" >/dev/null || return 1
		fi
		plat bind "$1" "$2" >/dev/null || return 1
		[ "$(driver "$1")" = "$2" ]
	}
	cdev() {
		n=$(plat show | awk -v d="$1" '$1 == d && $2 ~ /^vfio/ { print $2 }')
		echo "/dev/vfio/devices/${n:-none-for-$1}"
	}
	run() {
		name=$1
		shift
		"$BUILD/bin/ioasid-run" --platform "$PLATFORM" --topology "$TOPO" -- \
			"$BUILD/tests/clients/$@" >>"$OUT/$name.txt" 2>>"$OUT/$name.err"
	}
	finish() {
		plat reset >/dev/null 2>&1
	}
	plat reset >/dev/null 2>&1
	plat show >/dev/null || { echo "diff-clients: cannot create the mock host" >&2; exit 1; }
	;;
*)
	echo "diff-clients: unknown mode '$MODE': kernel or reference" >&2
	exit 2
	;;
esac

# note NAME TEXT: a "# TEXT" line in transcript NAME (compared like the clients' lines)
note() {
	echo "# $2" >>"$OUT/$1.txt"
}

# to_vfio BDF NAME...: bind BDF to vfio-pci, say so in each transcript NAME
to_vfio() {
	b=$1
	shift
	if set_driver "$b" vfio-pci; then
		r=vfio-pci
	else
		r="FAILED (driver $(driver "$b"))"
		status=1
	fi
	for t in "$@"; do
		note "$t" "driver $b: $r"
	done
}

# client NAME CLIENT ARGS...: run it; a crash or an exit status other than 0 is a finding
client() {
	name=$1
	shift
	run "$name" "$@"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		note "$name" "exit $1: status $rc"
		status=1
	fi
}

trap finish EXIT
trap 'exit 1' INT TERM

client edges diff_edges /dev/iommu
client failnth failnth_client

to_vfio 0000:02:01.0 type1 cdev
A=$(cdev 0000:02:01.0)
note cdev "cdev 0000:02:01.0: $(basename "$A")"
client type1 diff_type1 nonviable 4 0000:02:01.0
client cdev diff_cdev nonviable "$A"

to_vfio 0000:02:02.0 type1 cdev
to_vfio 0000:00:03.0 type1 cdev
B=$(cdev 0000:02:02.0)
C=$(cdev 0000:00:03.0)
note cdev "cdev 0000:02:02.0: $(basename "$B")"
note cdev "cdev 0000:00:03.0: $(basename "$C")"
client type1 diff_type1 viable 4 0000:02:01.0 0000:02:02.0 0000:01:00.0
client cdev diff_cdev viable 4 "$A" "$B" "$C"

for t in edges failnth type1 cdev; do
	echo "diff-clients: $MODE: $OUT/$t.txt: $(wc -l <"$OUT/$t.txt") lines"
done
exit $status
