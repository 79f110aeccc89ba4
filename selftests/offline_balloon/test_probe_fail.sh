#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Every allocation of module init (simulate mode) and of the virtio probe
# fails once, in turn: fault injection's fail-nth makes the Nth slab
# allocation of the loading system call fail (failslab, GFP_KERNEL
# included; see fail_nth.c), for N = 1, 2, 3... until loading succeeds. Each failed
# attempt must leave nothing behind: no debugfs directory, no module, and
# above all no notifier block on the OOM or memory hotplug chain (before the
# review fixes the balloon joined the OOM chain before creating debugfs, and
# a later failure left a dangling block that the next OOM called). Then the
# chains are walked: a hot-added memory block onlined and offlined again, and an OOM
# with a balloon inflated.
. "$(dirname "$0")/lib.sh"

FS=/sys/kernel/debug/failslab
MAX_N=600
MIB_PAGES=256
GUEST_MIB=${OB_GUEST_MIB:-1024}

need_config FAULT_INJECTION_DEBUG_FS FAILSLAB

ktap_print_header
ktap_set_plan 19

injection_off() {
	echo Y > $FS/ignore-gfp-wait
}
# At exit, also on the harness's timeout (SIGTERM): no injection, and the
# DIMM plugged below offline and unplugged.
cleanup() {
	injection_off
	[ -z "${dimm:-}" ] && return
	echo offline > $MEM/memory$clean/state 2>/dev/null
	host dimm-del "$dimm" > /dev/null
}
trap cleanup EXIT
trap 'exit 1' TERM
echo 0 > $FS/probability
echo 0 > $FS/verbose
echo N > $FS/ignore-gfp-wait

# try_insmod N PARAMS: load the module with its Nth slab allocation failing.
try_insmod() {
	"$(dirname "$0")/fail_nth" "$1" load "$OB_KO" "$2" > /dev/null
}

# try_bind N: bind the balloon device with the Nth slab allocation failing.
try_bind() {
	"$(dirname "$0")/fail_nth" "$1" write /sys/bus/virtio/drivers/offline_balloon/bind "$name" > /dev/null
}

# failing_loop DESC TRY UNDO STREAK [insmod]: run TRY ($n is N) (then UNDO
# if it succeeded) for N = 1, 2, ... until it succeeds STREAK times in a row
# (some allocations on the way have fallbacks); with "insmod", a failed
# attempt must also leave the module unloaded; print "FAILED LEFTOVERS".
failing_loop() {
	n=1 failed=0 bad=0 ok=0
	while [ $n -le $MAX_N ] && [ $ok -lt $4 ]; do
		if eval "$2"; then
			ok=$((ok + 1))
			eval "$3"
		else
			ok=0
			failed=$((failed + 1))
			if [ -e "$OB_DEBUGFS" ]; then
				ktap_print_msg "$1: debugfs left behind with allocation $n failing" >&2
				bad=$((bad + 1))
			fi
			if [ "$5" = insmod ] && ob_loaded; then
				ktap_print_msg "$1: the module stayed loaded with allocation $n failing" >&2
				bad=$((bad + 1))
				rmmod $OB_MOD
			fi
		fi
		n=$((n + 1))
	done
	ktap_print_msg "$1: $failed of $((n - 1)) attempts failed" >&2
	echo "$failed $bad"
}

total0=$(meminfo MemTotal)
oom0=$(vmstat oom_kill)
# Hundreds of module loads leave unmovable pages in many memory blocks, so
# that after the earlier tests of the suite none of the guest's own may go
# offline any more (seen on 6.12): the memory hotplug chain is walked with a
# block of a hot-added DIMM instead, which arrives offline and stays so
# through the failing loads.
plugged=$(dimm_plug 128) || ktap_exit_fail_msg "no DIMM to walk the memory hotplug chain with"
set -- $plugged
dimm=$1 clean=$2

for movable in 1 0; do
	ob_loaded && ob_unload
	log0=$(dmesg | wc -l)
	set -- $(failing_loop "insmod simulate=1 movable=$movable" "try_insmod \$n 'simulate=1 movable=$movable'" "rmmod $OB_MOD" 30 insmod)
	ktap_print_msg "movable=$movable: loading failed with $1 different allocations failing"
	ktap_test_result "movable=$movable: the module's own setup failed at 3 or more of them" \
		test "$(dmesg | tail -n +$((log0 + 1)) | grep -c 'offline_balloon: simulate mode: setup failed')" -ge 3
	expect_eq "movable=$movable: nothing left behind after a failed init" "$2" 0
	ktap_test_result "movable=$movable: loads once allocations succeed" ob_load simulate=1 movable=$movable
	ob_unload
done

# The chains after those failures, no balloon: the memory hotplug chain as
# the DIMM's block goes online (movable: nothing unmovable lands in it) and
# offline again (a dangling notifier block would be called), then the OOM
# chain with a balloon inflated.
echo online_movable > $MEM/memory$clean/state
ktap_test_result "memory$clean goes online and offline again after failed inits" offline_block $clean
ktap_test_result "the host unplugs $dimm" host dimm-del "$dimm"
dimm=
ob_load simulate=1
n=$(($(free_kb) / PAGE_KB * 85 / 100))
ob_set_target $n
ob_wait_full $n "$(ob_stat alloc_failed_total)" 120
ktap_test_result "simulate: an OOM after failed inits is survived (300 MiB written)" \
	fill_tmpfs 300
ktap_test_result "simulate: the OOM notifier deflated the balloon" test "$(ob_stat oom_deflated_total)" -gt 0
unfill_tmpfs
ob_set_target 0
ob_wait_stat inflated_pages 0 120
ob_unload

# The virtio probe.
dev=$(balloon_dev)
name=$(basename "$dev")
ob_load || ktap_exit_fail_msg "insmod failed"
echo "$name" > /sys/bus/virtio/drivers/offline_balloon/unbind
log0=$(dmesg | wc -l)
set -- $(failing_loop "virtio probe" "try_bind \$n" "echo $name > /sys/bus/virtio/drivers/offline_balloon/unbind" 30)
echo "$name" > /sys/bus/virtio/drivers/offline_balloon/bind
ktap_print_msg "virtio: binding failed with $1 different allocations failing"
ktap_test_result "virtio: the probe failed at 3 or more of them" \
	test "$(dmesg | tail -n +$((log0 + 1)) | grep -c 'offline_balloon: probe failed')" -ge 3
expect_eq "virtio: nothing left behind after a failed probe" "$2" 0
expect_eq "virtio: bound once allocations succeed" "$(balloon_driver)" offline_balloon
injection_off
host balloon $KEEP_MIB
ob_wait_stat inflated_pages $(((GUEST_MIB - KEEP_MIB) * MIB_PAGES)) 120
# More than is available (half the balloon more), well less than is once the
# balloon is empty. A fixed 600 MiB ran the KASAN guest (its shadow and
# quarantine take their share) out of memory with the balloon empty.
fill=$(($(meminfo MemAvailable) / 1024 + (GUEST_MIB - KEEP_MIB) / 2))
ktap_test_result "virtio: an OOM after failed probes is survived ($fill MiB written)" \
	fill_tmpfs $fill
ktap_test_result "virtio: the OOM notifier deflated the balloon" test "$(ob_stat oom_deflated_total)" -gt 0
unfill_tmpfs
host balloon "$GUEST_MIB"
ktap_test_result "virtio: deflates fully" ob_wait_stat inflated_pages 0 120
ob_unload

expect_eq "no OOM kill" "$(vmstat oom_kill)" "$oom0"
expect_eq "MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"
expect_eq "no PageOffline page left" "$(ob_offline_pages)" 0
ktap_finished
