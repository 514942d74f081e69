# suite-diff.sh — the differential suite's kernel side: run the diff clients on this guest's
# real kernel (scripts/testbed/diff-clients.sh kernel: it binds the NICs to vfio-pci through
# sysfs and back) and send one transcript per client. The host runs the same clients under the
# reference and compares (scripts/testbed/compare-transcripts.sh).
# mkinitramfs.sh puts diff-clients.sh in /testbed/ (older images: --add, /testbed/extra/).
# The guest-side logic stays in diff-clients.sh.
. /testbed/lib.sh
script=
for s in /testbed/diff-clients.sh /testbed/extra/diff-clients.sh; do
	[ -f "$s" ] && { script=$s; break; }
done
if [ -z "$script" ]; then
	echo "suite-diff: no diff-clients.sh in /testbed or /testbed/extra (mkinitramfs.sh --add" \
		"scripts/testbed/diff-clients.sh)" >&2
	exit 1
fi
mkdir -p /results/diff
tb_run diff sh "$script" kernel /results/diff /testbed/bin
rc=$?
for client in edges failnth type1 cdev; do
	tb_send "/results/diff/$client.txt" "$client.txt"
	tb_send "/results/diff/$client.err" "$client.err"
done
exit $rc
