# suite-selftests.sh — the kernel's own iommufd selftests (tools/testing/selftests/iommu of
# linux-source-6.12), on the real iommufd of this kernel: the baseline the reference's run of the
# very same binaries (make conformance) is compared with, case by case.
# Boot with intel_iommu=off: the selftests use the kernel's mock IOMMU (IOMMUFD_TEST), and with
# the emulated VT-d on, the 6.12 mock bus misbehaves (kernel-testbed.md).
. /testbed/lib.sh
echo "nr_hugepages $(cat /proc/sys/vm/nr_hugepages)"
cd /tmp
for b in iommufd iommufd_fail_nth; do
	if [ -x "/testbed/bin/$b" ]; then
		tb_run "selftest-$b" "/testbed/bin/$b"
	else
		echo "no /testbed/bin/$b: build it with scripts/conformance.sh --build-only" \
			>"/results/selftest-$b.out"
		tb_send "/results/selftest-$b.out"
	fi
done
tb_send /results/steps.tsv
