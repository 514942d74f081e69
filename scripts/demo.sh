#!/usr/bin/env bash
# The main job on the built-in default platform (make demo): an unmodified VMM-style client
# talks to /dev/iommu served by the reference module through ioasid-run.
# Usage: scripts/demo.sh [BUILD_DIR]
#
# Today this shows the reference serving an unmodified program. Auditing (ioasid-check) and
# monitoring (ioasid-top) of the same run arrive with their issues (#5, #6); devices, groups
# and the built-in platform topology with #3.
set -euo pipefail
build=${1:-build}
echo "== ioasid demo: a VMM's IOAS setup and teardown, served by the reference module"
echo "\$ $build/bin/ioasid-run -- $build/tests/clients/vmm_workload 1024"
"$build/bin/ioasid-run" -- "$build/tests/clients/vmm_workload" 1024
