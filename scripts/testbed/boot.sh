#!/usr/bin/env bash
# boot.sh — boot the testbed guest once, run one suite in it, collect what it sends back.
#
#   scripts/testbed/boot.sh --kernel VMLINUX --initrd CPIO --suite NAME --out DIR
#                           [--timeout SECONDS] [--iommu on|off] [--strict 0|1] [--mem MB]
#                           [--append "MORE KERNEL ARGS"]
#
# The machine (QEMU q35 under TCG, software emulation; /dev/kvm here cannot run a guest):
#   - an emulated Intel VT-d (-device intel-iommu,intremap=on,caching-mode=on);
#   - an e1000e on the root complex: a group of its own (00:03.0);
#   - a PCIe root port (00:04.0) → PCIe-to-PCI bridge (01:00.0) → two e1000e (02:01.0,
#     02:02.0): behind a conventional bridge the IOMMU cannot tell them apart, so the bridge and
#     both NICs form one group;
#   - console on ttyS0 (DIR/console.log), results on ttyS1 (DIR/channel.log).
# The uncompressed vmlinux boots through its PVH entry point. The guest powers off at the end of
# its suite; a guest still running after --timeout seconds (default 300) is killed, and the run
# fails saying so.
#
# After the run, DIR/ holds every file the guest sent (scripts/testbed/guest/lib.sh tb_send),
# DIR/console.log and DIR/status (the suite's exit status as the guest reported it).
# Exit status: the suite's, or 124 on timeout, 125 when the guest never reported an end.
set -euo pipefail

die() { echo "boot: error: $*" >&2; exit 2; }
KERNEL= INITRD= SUITE= OUT= TIMEOUT=300 IOMMU=on STRICT=1 MEM=2048 APPEND=
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) KERNEL=$2 ;;
	--initrd) INITRD=$2 ;;
	--suite) SUITE=$2 ;;
	--out) OUT=$2 ;;
	--timeout) TIMEOUT=$2 ;;
	--iommu) IOMMU=$2 ;;
	--strict) STRICT=$2 ;;
	--mem) MEM=$2 ;;
	--append) APPEND=$2 ;;
	*) die "unknown argument '$1' (see the head of $0)" ;;
	esac
	shift 2
done
[ -f "$KERNEL" ] || die "--kernel '$KERNEL': no such file (scripts/testbed/build-kernel.sh builds one)"
[ -f "$INITRD" ] || die "--initrd '$INITRD': no such file (scripts/testbed/mkinitramfs.sh)"
[ -n "$SUITE" ] || die "--suite NAME is required (scripts/testbed/guest/suite-NAME.sh)"
[ -n "$OUT" ] || die "--out DIR is required"
case "$IOMMU" in on | off) ;; *) die "--iommu '$IOMMU': expected on or off" ;; esac
command -v qemu-system-x86_64 >/dev/null ||
	die "qemu-system-x86_64 not found: install Debian's qemu-system-x86 (scripts/testbed/deps.sh)"

mkdir -p "$OUT"
rm -f "$OUT/console.log" "$OUT/channel.log" "$OUT/status"
cmdline="console=ttyS0 intel_iommu=$IOMMU iommu.strict=$STRICT trace_clock=global"
cmdline+=" trace_event=iommu:* panic=-1 oops=panic testbed.suite=$SUITE $APPEND"
nic=(e1000e,romfile=)
t0=$(date +%s)
rc=0
timeout --kill-after=5 "$TIMEOUT" qemu-system-x86_64 \
	-machine q35,kernel-irqchip=split -accel tcg,thread=single -cpu max -smp 2 -m "$MEM" \
	-device intel-iommu,intremap=on,caching-mode=on \
	-device "${nic[0]},bus=pcie.0,addr=0x3" \
	-device pcie-root-port,id=rp1,bus=pcie.0,addr=0x4,chassis=1 \
	-device pcie-pci-bridge,id=br1,bus=rp1 \
	-device "${nic[0]},bus=br1,addr=0x1" \
	-device "${nic[0]},bus=br1,addr=0x2" \
	-kernel "$KERNEL" -initrd "$INITRD" -append "$cmdline" \
	-nic none -vga none -display none -monitor none -no-reboot \
	-serial "file:$OUT/console.log" -serial "file:$OUT/channel.log" \
	</dev/null >"$OUT/qemu.log" 2>&1 || rc=$?
secs=$(( $(date +%s) - t0 ))

# Unframe the results channel: every complete FILE … END block becomes DIR/<name>.
status=$(awk -v out="$OUT" -f "$(dirname "$0")/unframe.awk" "$OUT/channel.log")
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	echo "boot: suite $SUITE: the guest was still running after ${TIMEOUT} s and was killed;" \
		"last console lines:" >&2
	tail -15 "$OUT/console.log" >&2
	echo 124 >"$OUT/status"
	exit 124
fi
if [ -z "$status" ]; then
	echo "boot: suite $SUITE: the guest ended (qemu exit $rc after ${secs} s) without reporting" \
		"an exit status; console: $OUT/console.log, qemu: $OUT/qemu.log" >&2
	tail -15 "$OUT/console.log" >&2
	echo 125 >"$OUT/status"
	exit 125
fi
echo "$status" >"$OUT/status"
echo "boot: suite $SUITE on $(sed -n 's/^@@TESTBED BOOTED //p' "$OUT/channel.log" | tr -d '\r')" \
	"(intel_iommu=$IOMMU): exit $status in ${secs} s"
exit "$status"
