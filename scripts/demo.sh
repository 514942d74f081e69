#!/usr/bin/env bash
# The main job on the built-in default platform (make demo): an unmodified VMM-style client
# talks to /dev/iommu served by the reference module through ioasid-run, while ioasid-trace
# watches it through the reference's USDT probes (BPF) and records the run.
# Usage: scripts/demo.sh [BUILD_DIR]
#
# Auditing (ioasid-check) and the live monitor (ioasid-top) of the same run arrive with their
# issues (#5, #6). Tracing needs root (BPF + uprobes): without it the demo says why and runs the
# workload untraced.
set -euo pipefail
build=${1:-build}
rec=$(mktemp /tmp/ioasid-demo-XXXXXX.trace)
trap 'rm -f "$rec"' EXIT

echo "== ioasid demo: a VMM's IOAS setup and teardown, served by the reference module, traced"
if "$build/bin/ioasid-trace" --check -- /bin/true 2>/dev/null; then
	echo "\$ $build/bin/ioasid-trace -q -w $rec -- $build/tests/clients/vmm_workload 1024"
	"$build/bin/ioasid-trace" -q -w "$rec" -- "$build/tests/clients/vmm_workload" 1024
	echo
	echo "== the recording, replayed: everything but the 512 guest-RAM maps"
	echo "\$ $build/bin/ioasid-trace -r $rec -e ctx_open,obj_alloc,ioas_allow,ioas_copy,ioas_unmap,obj_destroy,ctx_close"
	"$build/bin/ioasid-trace" -r "$rec" \
		-e ctx_open,obj_alloc,ioas_allow,ioas_copy,ioas_unmap,obj_destroy,ctx_close
else
	"$build/bin/ioasid-trace" --check -- /bin/true || true
	echo "(tracing unavailable here: running the workload untraced)"
	echo "\$ $build/bin/ioasid-run -- $build/tests/clients/vmm_workload 1024"
	"$build/bin/ioasid-run" -- "$build/tests/clients/vmm_workload" 1024
fi
