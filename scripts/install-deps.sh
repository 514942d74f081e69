#!/usr/bin/env bash
# Install the Debian packages ioasid needs, only those that are missing.
# Usage: scripts/install-deps.sh [--quiet]
# Runs apt-get as root (or through sudo). Safe to run repeatedly: when every package is present
# it does nothing and touches no network.
set -euo pipefail

PKGS=(
  build-essential make pkg-config
  clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
  libcriterion-dev systemtap-sdt-dev
  libclang-rt-14-dev      # ASan/UBSan/LSan/libFuzzer runtimes for clang builds
  tmux                    # end-to-end tests of the terminal UI
  jq                      # JSON Lines in the testbed's checks (scripts/testbed/verify-bench.sh)
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  [ "${1:-}" = --quiet ] || echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
