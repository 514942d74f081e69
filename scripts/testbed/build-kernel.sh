#!/usr/bin/env bash
# build-kernel.sh — build the testbed's real-iommufd kernel from Debian's linux-source-6.12.
#
#   scripts/testbed/build-kernel.sh [BUILD]        (BUILD defaults to build)
#
# Produces, under BUILD/testbed/kernel-6.12/ (never committed):
#   vmlinux        the uncompressed ELF, debug info stripped, .BTF kept; QEMU boots it through the
#                  PVH entry point (no decompression under emulation)
#   config         the .config it was built from
#   release        the kernel release string
#   stamp          a hash of the inputs: the source tarball's identity and kernel-6.12.config.
#                  When it matches, nothing is rebuilt (the build takes ~7 minutes on 2 cores).
#
# Configuration: `make tinyconfig` plus scripts/testbed/kernel-6.12.config, then `olddefconfig`;
# every option of the fragment is then verified, and one that a dependency dropped fails the build
# with its name (a testbed that silently lacks IOMMUFD_TEST would "pass" by skipping).
#
# Environment: LINUX_SOURCE_TARBALL (default /usr/src/linux-source-6.12.tar.xz), JOBS (default
# nproc). Needs flex, bison, bc, pahole (dwarves), libelf-dev, libssl-dev: scripts/testbed/deps.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-build}
TARBALL=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
JOBS=${JOBS:-$(nproc)}
FRAG=$here/kernel-6.12.config
out=$(mkdir -p "$BUILD/testbed" && cd "$BUILD/testbed" && pwd)/kernel-6.12
src=$(dirname "$out")/linux-source-6.12

say() { echo "build-kernel: $*"; }
die() { echo "build-kernel: error: $*" >&2; exit 1; }

[ -r "$TARBALL" ] || die "no kernel source at $TARBALL: install Debian's linux-source-6.12 \
(scripts/testbed/deps.sh does) or set LINUX_SOURCE_TARBALL"

stamp=$( (stat -c '%s %Y' "$TARBALL"; cat "$FRAG" "$0") | sha256sum | cut -c1-16)
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && [ -f "$out/vmlinux" ]; then
	say "up to date: $out/vmlinux ($(cat "$out/release"))"
	exit 0
fi

t0=$(date +%s)
if [ ! -f "$src/Makefile" ]; then
	say "extracting $TARBALL into $(dirname "$src")"
	rm -rf "$src"
	tar -xJf "$TARBALL" -C "$(dirname "$src")"
fi

say "configuring: tinyconfig + $(grep -c '^CONFIG_' "$FRAG") options from $FRAG"
make -s -C "$src" tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$FRAG" >/dev/null
make -s -C "$src" olddefconfig >/dev/null
missing=()
while IFS='=' read -r opt val; do
	case "$opt" in CONFIG_*) ;; *) continue ;; esac
	grep -qx "$opt=$val" "$src/.config" || missing+=("$opt=$val")
done <"$FRAG"
[ ${#missing[@]} -eq 0 ] || die "options dropped by olddefconfig (a dependency is missing \
from $FRAG): ${missing[*]}"

say "building vmlinux with $JOBS jobs (about 7 minutes on 2 cores)"
make -s -C "$src" -j"$JOBS" vmlinux 2>&1 | grep -v '^  ' || true
[ -f "$src/vmlinux" ] || die "the kernel build produced no vmlinux; rerun \
'make -C $src vmlinux' to see the error"
mkdir -p "$out"
objcopy --strip-debug "$src/vmlinux" "$out/vmlinux.tmp"
mv "$out/vmlinux.tmp" "$out/vmlinux"
cp "$src/.config" "$out/config"
make -s -C "$src" kernelrelease >"$out/release"

echo "$stamp" >"$out/stamp"
say "done in $(( $(date +%s) - t0 )) s: $out/vmlinux ($(cat "$out/release"), \
$(du -m "$out/vmlinux" | cut -f1) MB)"
