# suite-facts.sh — what the guest is: kernel, config, PCI devices, IOMMU groups, reserved
# regions, which tracepoints and BPF attach points exist. Used to write the reference topology
# that mirrors the guest (examples/topologies/qemu-testbed.topo) and to check it still does.
. /testbed/lib.sh
facts() {
	echo "release $(uname -r)"
	echo "cmdline $(cat /proc/cmdline)"
	for d in /sys/bus/pci/devices/*; do
		b=$(basename "$d")
		g=none
		[ -e "$d/iommu_group" ] && g=$(basename "$(readlink "$d/iommu_group")")
		echo "pci $b vendor=$(cat "$d/vendor") device=$(cat "$d/device") class=$(cat "$d/class") group=$g driver=$(tb_driver "$b")"
	done
	for g in /sys/kernel/iommu_groups/*; do
		echo "group $(basename "$g") type=$(cat "$g/type" 2>/dev/null) devices=$(ls "$g/devices" | tr '\n' ' ')"
		sed "s/^/reserved $(basename "$g") /" "$g/reserved_regions"
	done
	for i in /sys/class/iommu/*; do
		echo "iommu $(basename "$i") cap=$(cat "$i/intel-iommu/cap" 2>/dev/null) ecap=$(cat "$i/intel-iommu/ecap" 2>/dev/null)"
	done
	for e in /sys/kernel/tracing/events/iommu/* /sys/kernel/tracing/events/intel_iommu/*; do [ -d "$e" ] && echo "tracepoint $(basename "$(dirname "$e")"):$(basename "$e")"; done
	ls -l /dev/iommu /dev/vfio/ 2>&1
	echo "btf $(wc -c </sys/kernel/btf/vmlinux 2>/dev/null)"
}
tb_run facts facts
