# lib.sh — helpers the testbed suites source (busybox sh, in the guest).
#
#   tb_line TEXT          one line on the results channel (/dev/ttyS1)
#   tb_send FILE [NAME]   FILE on the results channel, framed and base64-encoded
#   tb_run NAME CMD...    run CMD, its stdout+stderr into /results/NAME.out, its exit status
#                         appended to /results/steps.tsv ("NAME<TAB>status<TAB>seconds"), both sent;
#                         returns CMD's status
#   tb_vfio_bind BDF      unbind BDF from its driver and bind it to vfio-pci
#   tb_driver BDF         the name of BDF's driver, or "none"
#   tb_load_modules [DIR] insmod every module of DIR (default /testbed/modules) in the order of
#                         DIR/load-order (scripts/testbed/fetch-debian-kernel.sh writes it);
#                         returns the number of modules that failed (each named with insmod's
#                         error and the kernel's last words); no load-order: nothing to load, 0
TB_CHAN=/dev/ttyS1
[ -c "$TB_CHAN" ] && stty -F "$TB_CHAN" raw -echo 2>/dev/null

tb_line() {
	echo "$*" >"$TB_CHAN"
}

# busybox sh has no `local`: each helper's variables carry its own prefix, so that a caller's
# variables (a loop's $f, a suite's $name) survive the call.
tb_send() {
	tbs_f=$1
	tbs_n=${2:-$(basename "$1")}
	[ -f "$tbs_f" ] || { tb_line "@@TESTBED MISSING $tbs_n"; return 1; }
	tb_line "@@TESTBED FILE $tbs_n $(wc -c <"$tbs_f")"
	base64 "$tbs_f" >"$TB_CHAN"
	tb_line "@@TESTBED END $tbs_n"
}

tb_run() {
	tbr_name=$1
	shift
	echo "testbed: step $tbr_name: $*"
	tbr_t0=$(date +%s)
	"$@" >"/results/$tbr_name.out" 2>&1
	tbr_rc=$?
	printf '%s\t%s\t%s\n' "$tbr_name" "$tbr_rc" "$(( $(date +%s) - tbr_t0 ))" \
		>>/results/steps.tsv
	echo "testbed: step $tbr_name: exit $tbr_rc"
	tb_send "/results/$tbr_name.out"
	return $tbr_rc
}

tb_driver() {
	if [ -e "/sys/bus/pci/devices/$1/driver" ]; then
		basename "$(readlink "/sys/bus/pci/devices/$1/driver")"
	else
		echo none
	fi
}

tb_vfio_bind() {
	tbv_d=/sys/bus/pci/devices/$1
	[ -d "$tbv_d" ] || { echo "tb_vfio_bind: no PCI device $1" >&2; return 1; }
	echo vfio-pci >"$tbv_d/driver_override"
	[ -e "$tbv_d/driver" ] && echo "$1" >"$tbv_d/driver/unbind"
	echo "$1" >/sys/bus/pci/drivers_probe
	[ "$(tb_driver "$1")" = vfio-pci ] ||
		{ echo "tb_vfio_bind: $1 did not bind to vfio-pci" >&2; return 1; }
}

tb_load_modules() {
	# busybox sh has `local`, POSIX sh does not: the variables are tbm_-prefixed instead.
	tbm_dir=${1:-/testbed/modules}
	tbm_failed=0
	tbm_n=0
	if [ ! -f "$tbm_dir/load-order" ]; then
		echo "tb_load_modules: no $tbm_dir/load-order: no modules to load (everything built in?)"
		return 0
	fi
	while read -r tbm_m; do
		[ -n "$tbm_m" ] || continue
		tbm_n=$((tbm_n + 1))
		tbm_name=$(echo "${tbm_m%.ko}" | tr - _)
		if [ -d "/sys/module/$tbm_name" ]; then
			echo "tb_load_modules: $tbm_m: already loaded or built in (/sys/module/$tbm_name)"
			continue
		fi
		if [ ! -f "$tbm_dir/$tbm_m" ]; then
			echo "tb_load_modules: $tbm_m: FAILED: no $tbm_dir/$tbm_m (load-order names it)" >&2
			tbm_failed=$((tbm_failed + 1))
			continue
		fi
		if tbm_out=$(insmod "$tbm_dir/$tbm_m" 2>&1); then
			echo "tb_load_modules: $tbm_m: loaded"
		else
			echo "tb_load_modules: $tbm_m: FAILED: $tbm_out; kernel log:" >&2
			dmesg | tail -5 | sed 's/^/tb_load_modules:   /' >&2
			tbm_failed=$((tbm_failed + 1))
		fi
	done <"$tbm_dir/load-order"
	echo "tb_load_modules: $((tbm_n - tbm_failed)) of $tbm_n modules loaded or present," \
		"$tbm_failed failed"
	[ "$tbm_failed" -lt 255 ] || tbm_failed=255
	return "$tbm_failed"
}
