#!/usr/bin/env bash
# The main job on the built-in default platform (make demo): unmodified VMM-style clients talk
# to /dev/iommu served by the reference module through ioasid-run, while ioasid-trace records
# one run and ioasid-check audits the others live, from their first event.
# Usage: scripts/demo.sh [BUILD_DIR]
#
# 1. trace and record a VMM's IOAS setup/teardown, replay part of the recording;
# 2. audit a VMM with three passthrough devices (vIOMMU nesting, PASID, DMA): clean;
# 3. audit the same VMM whose guest DMAs before invalidating its stage-1 edit: MAP-4 caught;
# 4. audit a VFIO cdev client with a bug injected into the reference (IOASID_INJECT: the IOTLB
#    flush on unmap is skipped): MAP-2 caught, as a silent kernel bug would be.
# 5. watch the VMM with ioasid-top (batch mode, per device: one update per second, the last one
#    after it exits): maps, unmaps, bytes, pinned guest RAM, flushes, faults, latencies.
# Tracing, auditing and monitoring live need root (BPF + uprobes): without it the demo says why,
# runs the workload untraced and audits nothing.
set -euo pipefail
build=${1:-build}
rec=$(mktemp /tmp/ioasid-demo-XXXXXX.trace)
trap 'rm -f "$rec"' EXIT
clients=$build/tests/clients

# Run an audit whose expected verdict is $1 (0 clean, 1 violations): anything else fails.
audit() {
	local want=$1 rc=0
	shift
	echo "\$ $*"
	"$@" || rc=$?
	if [ "$rc" != "$want" ]; then
		echo "demo: expected exit status $want from ioasid-check, got $rc" >&2
		exit 1
	fi
	echo
}

echo "== 1. a VMM's IOAS setup and teardown, served by the reference module, traced"
if "$build/bin/ioasid-trace" --check -- /bin/true 2>/dev/null; then
	echo "\$ $build/bin/ioasid-trace -q -w $rec -- $clients/vmm_workload 1024"
	"$build/bin/ioasid-trace" -q -w "$rec" -- "$clients/vmm_workload" 1024
	echo
	echo "== the recording, replayed: everything but the 512 guest-RAM maps"
	echo "\$ $build/bin/ioasid-trace -r $rec -e ctx_open,obj_alloc,ioas_allow,ioas_copy,ioas_unmap,obj_destroy,ctx_close"
	"$build/bin/ioasid-trace" -r "$rec" \
		-e ctx_open,obj_alloc,ioas_allow,ioas_copy,ioas_unmap,obj_destroy,ctx_close
	echo
	echo "== 2. ioasid-check audits a VMM with three passthrough devices live: clean"
	audit 0 "$build/bin/ioasid-check" -- "$clients/vmm_scenario" 1 --guest-invalidates
	echo "== 3. the same VMM, but its guest DMAs before invalidating a stage-1 edit"
	audit 1 "$build/bin/ioasid-check" --history 4 -- "$clients/vmm_scenario" 1
	echo "== 4. a VFIO cdev client on a reference with a bug injected: no IOTLB flush on unmap"
	echo "(the client's own 'copy after unmap faults' check fails too: the device still reads)"
	audit 1 env IOASID_INJECT=unmap-skip-flush "$build/bin/ioasid-check" --history 4 -- \
		"$clients/cdev_client"
	echo "== 5. ioasid-top watches the VMM per device (its own output to /dev/null), then its totals"
	echo "\$ $build/bin/ioasid-top -b -V device 1 -- sh -c 'exec \"\$0\" \"\$@\" >/dev/null' $clients/vmm_scenario 1 --guest-invalidates --churn 500"
	"$build/bin/ioasid-top" -b -V device 1 -- sh -c 'exec "$0" "$@" >/dev/null' \
		"$clients/vmm_scenario" 1 --guest-invalidates --churn 500
else
	"$build/bin/ioasid-trace" --check -- /bin/true || true
	echo "(tracing and auditing unavailable here: running the workload untraced)"
	echo "\$ $build/bin/ioasid-run -- $clients/vmm_workload 1024"
	"$build/bin/ioasid-run" -- "$clients/vmm_workload" 1024
fi
