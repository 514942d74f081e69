#!/usr/bin/env bash
# deps.sh — the Debian packages the real-kernel testbed needs, installed only when missing.
#   QEMU (software emulation), a static busybox for the guest, the kernel build's tools, and
#   Debian's linux-source-6.12 (the real iommufd's source).
# Usage: scripts/testbed/deps.sh [--quiet]
set -euo pipefail
PKGS=(qemu-system-x86 busybox-static cpio xz-utils flex bison bc dwarves libssl-dev libelf-dev
      linux-source-6.12 file jq)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	[ "${1:-}" = --quiet ] || echo "testbed deps: all ${#PKGS[@]} packages present"
	exit 0
fi
SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null ||
		{ echo "testbed deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
	SUDO=sudo
fi
echo "testbed deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "testbed deps: done"
