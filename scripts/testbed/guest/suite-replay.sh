# suite-replay.sh — the fuzzer's seed corpus replayed on this guest's real kernel
# (scripts/testbed/replay-corpus.sh kernel), one transcript per entry sent back; the host replays
# the same entries on the reference and compares (check-kernel.sh part 3b).
#
# Booted twice: with the emulated VT-d on, every entry but the selftest-mock ones (selftest_*:
# with VT-d on, the 6.12 mock bus misbehaves, as for the kernel's own selftests); with it off
# (intel_iommu=off), only those.
. /testbed/lib.sh
mkdir -p /results/replay
if [ -e /sys/class/iommu/dmar0 ]; then
	which="all but selftest_*"
	filter=device
else
	which="selftest_* only"
	filter=selftest
fi
echo "testbed: replaying the seed corpus ($which)"
tb_run replay sh /testbed/replay-corpus.sh kernel /results/replay /testbed/bin \
	/testbed/corpus "$filter"
rc=$?
for t in /results/replay/replay-*.txt; do
	[ -f "$t" ] && tb_send "$t"
done
exit $rc
