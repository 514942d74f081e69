#!/usr/bin/env bash
# mkinitramfs.sh — the testbed guest's root filesystem: busybox, the toolkit, its test clients.
#
#   scripts/testbed/mkinitramfs.sh BUILD OUT.cpio [--modules DIR] [--add HOSTPATH]...
#
# The guest runs the very binaries the host built (BUILD/bin/*, BUILD/tests/clients/*, the
# kernel's iommufd selftests of BUILD/conformance/ when `make conformance` built them), so what is
# compared between the real kernel and the reference is one binary, not two builds. They are
# dynamically linked: every shared library `ldd` names is copied at its host path, with the
# dynamic loader. busybox (Debian's busybox-static) provides the shell and the utilities.
#
# Layout in the guest:
#   /init                   scripts/testbed/guest/init (mounts, runs the suite the kernel command
#                           line names, streams results back, powers off)
#   /testbed/*.sh           scripts/testbed/guest/*.sh (the suites), diff-clients.sh and
#                           replay-corpus.sh (they run on both sides)
#   /testbed/corpus/        the fuzzer's seed corpus (tests/fuzz/corpus/*.bin)
#   /testbed/bin/           the toolkit's tools and clients
#   /testbed/modules/       kernel modules (--modules: a tree of *.ko, already decompressed)
#   /testbed/extra/         every --add path (basename kept)
# Uncompressed newc cpio: decompressing under emulation costs more than reading the bytes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
die() { echo "mkinitramfs: error: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: mkinitramfs.sh BUILD OUT.cpio [--modules DIR] [--add PATH]..."
BUILD=$1 OUT=$2
shift 2
MODULES= ADDS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--modules) MODULES=$2; shift 2 ;;
	--add) ADDS+=("$2"); shift 2 ;;
	*) die "unknown argument '$1' (expected --modules DIR or --add PATH)" ;;
	esac
done
BUSYBOX=$(command -v busybox || true)
[ -n "$BUSYBOX" ] && file -L "$BUSYBOX" | grep -q 'statically linked' ||
	die "no static busybox on PATH: install Debian's busybox-static (scripts/testbed/deps.sh)"
[ -d "$BUILD/bin" ] || die "no $BUILD/bin: build the toolkit first (make all)"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,results,testbed/bin,testbed/extra,testbed/modules}
cp "$BUSYBOX" "$root/bin/busybox"
cp "$here/guest/init" "$root/init"
chmod 0755 "$root/init"
cp "$here"/guest/*.sh "$root/testbed/" 2>/dev/null || true
cp "$here/diff-clients.sh" "$here/replay-corpus.sh" "$root/testbed/"  # run on both sides
mkdir -p "$root/testbed/corpus"
cp "$here"/../../tests/fuzz/corpus/*.bin "$root/testbed/corpus/" 2>/dev/null || true

elfs=()
for f in "$BUILD"/bin/* "$BUILD"/tests/clients/* "$BUILD"/fuzz/fuzz-replay \
	 "$BUILD"/conformance/iommufd \
	 "$BUILD"/conformance/iommufd_fail_nth; do
	[ -f "$f" ] && [ -x "$f" ] || continue
	cp "$f" "$root/testbed/bin/"
	elfs+=("$f")
done
for a in "${ADDS[@]}"; do
	[ -e "$a" ] || die "--add $a: no such file"
	cp -r "$a" "$root/testbed/extra/"
	[ -f "$a" ] && [ -x "$a" ] && elfs+=("$a")
done
if [ -n "$MODULES" ]; then
	[ -d "$MODULES" ] || die "--modules $MODULES: not a directory"
	cp -r "$MODULES"/. "$root/testbed/modules/"
fi

# Shared libraries at their host paths (ldd prints "name => /path (addr)" or "/path (addr)").
declare -A seen=()
for e in "${elfs[@]}"; do
	file -L "$e" | grep -q 'dynamically linked' || continue
	while read -r lib; do
		[ -n "$lib" ] && [ -z "${seen[$lib]:-}" ] || continue
		seen[$lib]=1
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done < <(ldd "$e" | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p')
done

mkdir -p "$(dirname "$OUT")"
(cd "$root" && find . -print0 | sort -z | cpio --null -o -H newc --quiet) >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "mkinitramfs: $OUT ($(du -m "$OUT" | cut -f1) MB, ${#elfs[@]} binaries, \
${#seen[@]} shared libraries)"
