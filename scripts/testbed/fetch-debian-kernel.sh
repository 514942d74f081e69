#!/usr/bin/env bash
# fetch-debian-kernel.sh — a Debian distribution kernel for the testbed guest, unpacked.
#
#   scripts/testbed/fetch-debian-kernel.sh VERSION [BUILD]      (BUILD defaults to build)
#
# VERSION: 6.1  — the newest linux-image-6.1.0-N-amd64 of bookworm (and bookworm-security);
#          6.12 — the newest linux-image-6.12.N+deb12-amd64 (older: +bpo) of bookworm-backports.
# The unsigned image package is taken when the archive has one (-unsigned), else the signed
# one (same kernel, same modules; the signature does not matter to QEMU's PVH boot).
#
# Produces, under BUILD/testbed/debian-VERSION/ (never committed):
#   vmlinux          the uncompressed ELF (the kernel tree's scripts/extract-vmlinux); QEMU boots
#                    it through its PVH entry point, without decompressing under emulation
#   release          the kernel release (e.g. 6.1.0-56-amd64)
#   package          the package name and version it came from
#   config           the kernel's config (from /boot in the package)
#   modules/         the testbed's modules (e1000e, VFIO, iommufd when built, and every module
#                    they depend on per their .modinfo "depends="), decompressed (.ko.xz → .ko:
#                    busybox insmod cannot read xz), flat, plus:
#   modules/load-order   one module file name a line, dependencies first (guest/lib.sh
#                    tb_load_modules insmods them in this order)
#   apt/             private apt state: sources, lists, cache. The host's apt configuration,
#                    sources and lists are neither read for sources nor written.
#   stamp            written last; when present and the files are there, a rerun does nothing
#
# Needs: apt-get, dpkg, xz (xz-utils), objcopy (binutils), and extract-vmlinux from the 6.12
# kernel tree (BUILD/testbed/linux-source-6.12/, or taken from /usr/src/linux-source-6.12.tar.xz).
# No depmod: the package has no modules.dep (its postinst makes one), so the dependencies are
# read from each module's .modinfo, and kmod need not be installed.
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian),
#              DEBIAN_SECURITY_MIRROR (default http://deb.debian.org/debian-security).
set -euo pipefail

say() { echo "fetch-debian-kernel: $*"; }
die() { echo "fetch-debian-kernel: error: $*" >&2; exit 1; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: fetch-debian-kernel.sh VERSION [BUILD] (VERSION: 6.1 or 6.12)"
VERSION=$1
BUILD=${2:-build}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECMIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
TARBALL=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}

# The modules the testbed loads; their dependencies from each module's .modinfo. A name missing from
# this kernel is reported and skipped (iommufd: no Debian kernel builds it).
WANT_MODULES="e1000e vfio vfio_iommu_type1 vfio_pci_core vfio_pci iommufd irqbypass"

case "$VERSION" in
6.1)
	suites="bookworm bookworm-updates"
	secsuites="bookworm-security"
	pattern='^linux-image-6\.1\.0-[0-9]+-amd64(-unsigned)?$'
	;;
6.12)
	suites="bookworm-backports"
	secsuites=
	pattern='^linux-image-6\.12\.[0-9]+\+(bpo|deb12[.0-9]*)-amd64(-unsigned)?$'
	;;
*) die "VERSION '$VERSION': expected 6.1 (bookworm) or 6.12 (bookworm-backports)" ;;
esac

for t in apt-get apt-cache dpkg dpkg-deb xz; do
	command -v "$t" >/dev/null || die "'$t' not found: this script needs Debian's apt, dpkg and xz-utils"
done
[ -r "$KEYRING" ] || die "no $KEYRING: install Debian's debian-archive-keyring"

mkdir -p "$BUILD/testbed"
out=$(cd "$BUILD/testbed" && pwd)/debian-$VERSION
if [ -f "$out/stamp" ] && [ -f "$out/vmlinux" ] && [ -f "$out/modules/load-order" ]; then
	say "up to date: $out ($(cat "$out/package"); remove $out/stamp to fetch again)"
	exit 0
fi

# ---- private apt state -------------------------------------------------------------------------
apt=$out/apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/sources.list.d" "$apt/debs" \
	"$apt/preferences.d"
: >"$apt/preferences"
{
	echo "Types: deb"
	echo "URIs: $MIRROR"
	echo "Suites: $suites"
	echo "Components: main"
	echo "Signed-By: $KEYRING"
	if [ -n "$secsuites" ]; then
		echo
		echo "Types: deb"
		echo "URIs: $SECMIRROR"
		echo "Suites: $secsuites"
		echo "Components: main"
		echo "Signed-By: $KEYRING"
	fi
} >"$apt/sources.list.d/testbed.sources"
: >"$apt/sources.list"
aptopts=(
	-o "Dir::Etc::SourceList=$apt/sources.list"
	-o "Dir::Etc::SourceParts=$apt/sources.list.d"
	-o "Dir::Etc::Preferences=$apt/preferences"
	-o "Dir::Etc::PreferencesParts=$apt/preferences.d"
	-o "Dir::State::Lists=$apt/lists"
	-o "Dir::Cache=$apt/cache"
	-o "APT::Architectures::=amd64"
	-o "Acquire::Languages=none"
	-o "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false"
	-o "Debug::NoLocking=1"
)

say "apt-get update (private state in $apt; suites: $suites${secsuites:+ $secsuites})"
if ! apt-get "${aptopts[@]}" update >"$apt/update.log" 2>&1; then
	tail -20 "$apt/update.log" >&2
	die "apt-get update of $MIRROR $suites failed (log: $apt/update.log): check that the Debian mirror is reachable, or set DEBIAN_MIRROR"
fi
if grep -qE '^(W|E): ' "$apt/update.log"; then
	grep -E '^(W|E): ' "$apt/update.log" | sed 's/^/fetch-debian-kernel: apt: /' >&2
fi
# apt-get update exits 0 when an index could not be fetched: a stale or missing index would
# pick a wrong kernel, or none.
if grep -q 'Failed to fetch' "$apt/update.log"; then
	die "apt-get update could not fetch every index of $MIRROR $suites${secsuites:+ / $SECMIRROR $secsuites} (above; log: $apt/update.log): check that the Debian mirror is reachable, or set DEBIAN_MIRROR / DEBIAN_SECURITY_MIRROR"
fi

# Newest image: highest ABI/upstream number by version sort; -unsigned preferred.
names=$(apt-cache "${aptopts[@]}" pkgnames linux-image-6. 2>/dev/null | grep -E "$pattern" || true)
[ -n "$names" ] || die "no package matching /$pattern/ in $MIRROR $suites (apt-get update log: $apt/update.log): the suite may have moved on: list what it has with 'lz4 -dc $apt/lists/*Packages.lz4 | grep "^Package: linux-image-$VERSION"' and adjust the pattern in $0"
base=$(echo "$names" | sed 's/-unsigned$//' | sort -uV | tail -1)
pkg=$base
echo "$names" | grep -qx "$base-unsigned" && pkg=$base-unsigned
ver=$(apt-cache "${aptopts[@]}" policy "$pkg" | sed -n 's/^  Candidate: //p')
[ -n "$ver" ] && [ "$ver" != "(none)" ] || die "package $pkg has no candidate version in the private apt state ($apt)"
say "newest image: $pkg $ver"

deb=$(ls "$apt/debs/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -1 || true)
if [ -n "$deb" ]; then
	say "reusing $(basename "$deb") from an earlier run"
else
	rm -f "$apt/debs/"*.deb
	if ! (cd "$apt/debs" && apt-get "${aptopts[@]}" download "$pkg=$ver") >"$apt/download.log" 2>&1; then
		tail -20 "$apt/download.log" >&2
		die "apt-get download $pkg=$ver failed (log: $apt/download.log)"
	fi
	deb=$(ls "$apt/debs/"*.deb 2>/dev/null | head -1 || true)
	[ -f "$deb" ] || die "apt-get download $pkg=$ver left no .deb in $apt/debs"
fi
say "package file: $(basename "$deb") ($(du -m "$deb" | cut -f1) MB)"

# ---- unpack ------------------------------------------------------------------------------------
tmp=$out/tmp
rm -rf "$tmp"
mkdir -p "$tmp/root"
dpkg -x "$deb" "$tmp/root" || die "dpkg -x $deb failed: the download may be damaged; remove $apt/debs and rerun"
vmlinuz=$(ls "$tmp/root/boot/"vmlinuz-* 2>/dev/null | head -1)
[ -f "$vmlinuz" ] || die "$deb has no /boot/vmlinuz-*: not a kernel image package?"
release=${vmlinuz##*/vmlinuz-}
moddir=$tmp/root/lib/modules/$release
[ -d "$moddir" ] || die "$deb has no /lib/modules/$release: on this kernel the modules are in another package (sid splits them); this script handles 6.1 and 6.12 only"

# extract-vmlinux: the lead's tree, or just that file from the source tarball.
xv=$BUILD/testbed/linux-source-6.12/scripts/extract-vmlinux
if [ ! -f "$xv" ]; then
	[ -r "$TARBALL" ] || die "no $xv and no $TARBALL to take it from: install Debian's linux-source-6.12, or run scripts/testbed/build-kernel.sh"
	mkdir -p "$tmp/xv"
	tar -xJf "$TARBALL" -C "$tmp/xv" --wildcards '*/scripts/extract-vmlinux' ||
		die "could not extract scripts/extract-vmlinux from $TARBALL"
	xv=$(find "$tmp/xv" -name extract-vmlinux | head -1)
fi
say "extracting the ELF from $(basename "$vmlinuz")"
bash "$xv" "$vmlinuz" >"$tmp/vmlinux" 2>"$tmp/extract.log" || true
file "$tmp/vmlinux" 2>/dev/null | grep -q 'ELF 64-bit' ||
	die "scripts/extract-vmlinux found no ELF in $vmlinuz ($(cat "$tmp/extract.log")): the compression may need a tool that is not installed (xz, zstd, lz4, bzip2, lzop)"

# ---- modules: the wanted ones and their dependencies, in load order ---------------------------
# modules.dep is made by depmod when the package is installed, so the package has none: each
# module's own .modinfo "depends=" (what depmod reads) gives the dependencies instead.
declare -A path_of=() done_=()
while read -r p; do
	n=${p##*/}
	n=${n%%.ko*}
	path_of[${n//-/_}]=$p
done < <(cd "$moddir" && find kernel updates extra -name '*.ko*' 2>/dev/null)
[ ${#path_of[@]} -gt 0 ] || die "no modules under $moddir in $deb"
mkdir -p "$tmp/modules"
decompress() {   # module name → its .ko in $tmp/modules; prints the file name
	local src=$moddir/${path_of[$1]} f
	f=${src##*/}
	case "$f" in
	*.ko.xz) f=${f%.xz}; xz -dc "$src" >"$tmp/modules/$f" || die "xz -d $src failed" ;;
	*.ko.zst) f=${f%.zst}; zstd -qdc "$src" >"$tmp/modules/$f" || die "zstd -d $src failed" ;;
	*.ko.gz) f=${f%.gz}; gzip -dc "$src" >"$tmp/modules/$f" || die "gzip -d $src failed" ;;
	*.ko) cp "$src" "$tmp/modules/$f" ;;
	*) die "module $1: unexpected file $src" ;;
	esac
	echo "$f"
}
modinfo_field() {   # FILE FIELD
	objcopy -O binary --only-section=.modinfo "$1" /dev/stdout 2>/dev/null | tr '\0' '\n' |
		sed -n "s/^$2=//p"
}
order=()
visit() {   # depth-first: dependencies before the module
	local name=$1 f d
	[ -z "${done_[$name]:-}" ] || return 0
	done_[$name]=1
	[ -n "${path_of[$name]:-}" ] || die "module $name (a dependency) is not in $deb"
	f=$(decompress "$name")
	for d in $(modinfo_field "$tmp/modules/$f" depends | tr ',' ' '); do
		visit "${d//-/_}"
	done
	order+=("$f")
}
command -v objcopy >/dev/null || die "objcopy not found (Debian's binutils): needed to read the modules' dependencies"
missing=()
for m in $WANT_MODULES; do
	if [ -n "${path_of[$m]:-}" ]; then
		visit "$m"
	elif grep -qE "/${m//_/[-_]}\.ko" "$moddir/modules.builtin" 2>/dev/null; then
		say "module $m: built into $release"
	else
		missing+=("$m")
	fi
done
[ ${#missing[@]} -eq 0 ] || say "not in $release (neither module nor built in): ${missing[*]}"
printf '%s\n' "${order[@]}" >"$tmp/modules/load-order"
cp "$tmp/root/boot/config-$release" "$tmp/config" 2>/dev/null || true

# ---- publish -----------------------------------------------------------------------------------
rm -rf "$out/modules" "$out/vmlinux" "$out/config"
mv "$tmp/modules" "$out/modules"
mv "$tmp/vmlinux" "$out/vmlinux"
[ -f "$tmp/config" ] && mv "$tmp/config" "$out/config"
echo "$release" >"$out/release"
echo "$pkg $ver" >"$out/package"
rm -rf "$tmp"
date -u +%Y-%m-%dT%H:%M:%SZ >"$out/stamp"
say "$out: vmlinux ($(du -m "$out/vmlinux" | cut -f1) MB, $release), modules: $(tr '\n' ' ' <"$out/modules/load-order")"
