# suite-kernel.sh — the toolkit against the real kernel's IOMMU stack (emulated VT-d, strict).
#
# Part 1, the BPF kernel path (issue 8 item 2(i)): ioasid-trace (recording), ioasid-check and
# ioasid-top (batch, JSON Lines) all attach kernel-wide; then, with the kernel's own trace buffer
# (tracefs) counting the same tracepoints and, with the function tracer, the functions the
# fentry programs hook, a known workload runs:
#   - the e1000e at 00:03.0 (kernel driver, DMA API) goes up and down: its rings are mapped and
#     unmapped through the DMA API; then it is hot-removed and found again by a rescan (its
#     device leaves its IOMMU group and joins a new one);
#   - the bridge group's two NICs move to vfio-pci (DMA ownership claimed, blocking domains);
#   - iommufd_map_loop binds 02:01.0's cdev to iommufd, attaches an IOAS, maps and unmaps one
#     4 KiB page N times, detaches;
#   - type1_map_loop (when built) does N map/unmap pairs in a VFIO type1 container on group 4.
# tracefs is switched on only after every tool has attached and off before any detaches, and
# nothing else touches the IOMMU in between, so each tool must have seen exactly what tracefs
# saw. The guest only collects; scripts/testbed/verify-kernel-path.sh compares, on the host.
. /testbed/lib.sh
N=200
for w in $(cat /proc/cmdline); do case "$w" in testbed.loops=*) N=${w#testbed.loops=} ;; esac; done
T=/sys/kernel/tracing
SINGLE=0000:00:03.0 BR_A=0000:02:01.0 BR_B=0000:02:02.0
FUNCS="vfio_dma_do_map vfio_dma_do_unmap iommufd_device_bind iommufd_device_unbind iommufd_device_attach iommufd_device_detach
iommu_device_claim_dma_owner iommu_device_release_dma_owner iopt_map_user_pages iopt_unmap_iova
iommufd_hwpt_paging_alloc vfio_df_ioctl_bind_iommufd"
EVENTS="iommu/map iommu/unmap iommu/attach_device_to_domain iommu/add_device_to_group
iommu/remove_device_from_group intel_iommu/cache_tag_flush_range intel_iommu/cache_tag_flush_all"

wait_attached() { # wait_attached ERRFILE TOOL: until the tool printed its attach plan
	i=0
	while ! grep -q 'programs/probes attached' "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 240 ]; then
			echo "testbed: $2 did not attach within 120 s; its stderr:" >&2
			cat "$1" >&2
			return 1
		fi
		sleep 0.5
	done
	echo "testbed: $2 attached after ~$((i / 2)) s: $(grep 'programs/probes attached' "$1")"
}

# The oracle, armed but off.
echo 0 >$T/tracing_on
echo 65536 >$T/buffer_size_kb
echo nop >$T/current_tracer
for e in $EVENTS; do echo 1 >"$T/events/$e/enable"; done
: >$T/set_ftrace_filter
for f in $FUNCS; do echo "$f" >>$T/set_ftrace_filter 2>/dev/null ||
	echo "testbed: function $f cannot be traced by ftrace here" >&2; done
echo function >$T/current_tracer
: >$T/trace

# The tools, kernel-wide.
ioasid-trace -k -q -w /tmp/kernel.trace 2>/results/trace.err &
p_trace=$!
ioasid-check -k -j -o /results/check.jsonl 2>/results/check.err &
p_check=$!
ioasid-top -k -b -j 1 >/results/top.jsonl 2>/results/top.err &
p_top=$!
ok=1
wait_attached /results/trace.err ioasid-trace || ok=0
wait_attached /results/check.err ioasid-check || ok=0
wait_attached /results/top.err ioasid-top || ok=0
sleep 1

echo 1 >$T/tracing_on
eth=$(ls /sys/bus/pci/devices/$SINGLE/net/ 2>/dev/null | head -1)
echo "testbed: DMA API: $SINGLE ($eth) up and down"
ip link set "$eth" up && sleep 1 && ip link set "$eth" down
echo "testbed: hot-remove $SINGLE and rescan (its group goes and comes back)"
echo 1 >/sys/bus/pci/devices/$SINGLE/remove
echo 1 >/sys/bus/pci/rescan
tb_vfio_bind $BR_A && tb_vfio_bind $BR_B
cdev=/dev/vfio/devices/$(ls /sys/bus/pci/devices/$BR_A/vfio-dev/)
tb_run iommufd_map_loop iommufd_map_loop "$cdev" "$N"
if [ -x /testbed/bin/type1_map_loop ]; then
	group=$(basename "$(readlink /sys/bus/pci/devices/$BR_A/iommu_group)")
	tb_run type1_map_loop type1_map_loop "$group" "$N"
fi
sleep 1
echo 0 >$T/tracing_on

# Stop the tools (they drain their ring buffers and print their summaries), then count.
kill -INT $p_trace $p_check $p_top
wait $p_trace; echo "ioasid-trace exit $?" >>/results/exits.txt
wait $p_check; echo "ioasid-check exit $?" >>/results/exits.txt
wait $p_top; echo "ioasid-top exit $?" >>/results/exits.txt
{
	for e in $EVENTS; do
		printf 'event %s %s\n' "${e#*/}" "$(grep -c " ${e#*/}:" $T/trace)"
	done
	for f in $FUNCS; do
		printf 'function %s %s\n' "$f" "$(grep -c ": $f <-" $T/trace)"
	done
} >/results/oracle.txt
cp $T/trace /results/tracefs.txt
ioasid-trace -r /tmp/kernel.trace -q >/results/replay-summary.txt 2>&1
ioasid-trace -r /tmp/kernel.trace -j >/results/trace.jsonl 2>/dev/null
cp /tmp/kernel.trace /results/kernel.trace
for f in trace.err check.err top.err exits.txt oracle.txt replay-summary.txt check.jsonl \
	top.jsonl trace.jsonl kernel.trace; do
	tb_send "/results/$f"
done
gzip -c /results/tracefs.txt >/results/tracefs.txt.gz && tb_send /results/tracefs.txt.gz
tb_send /results/steps.tsv
[ $ok = 1 ]
