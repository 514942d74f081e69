# suite-bench.sh — ioasid-bench's kernel backends on the real kernel (issue 7's "exercised for
# real where a kernel offers them"): /dev/iommu with and without a device, and a VFIO type1
# container on the bridge group, both NICs of which move to vfio-pci. Under emulation the
# figures are functional and relative only, never hardware performance.
# scripts/testbed/verify-bench.sh judges the output on the host.
. /testbed/lib.sh
tb_vfio_bind 0000:02:01.0 && tb_vfio_bind 0000:02:02.0
tb_run bench-list ioasid-bench --list
tb_run bench ioasid-bench -b kernel,kernel-type1 --quick -t counters,events,check \
	-j /results/bench.jsonl
tb_send /results/bench.jsonl
tb_send /results/steps.tsv
