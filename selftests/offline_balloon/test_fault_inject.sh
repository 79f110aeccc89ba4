#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Allocation failures injected into the module: fail_page_alloc and failslab
# fail 5% of the page and slab allocations made with the module on the call
# stack (the fault-injection stack filter set to the module's address range
# from /proc/modules) while the balloon inflates, deflates and compaction
# migrates its pages, in simulate mode (both models) and host-driven. No
# crash, no leak, consistent counters, and the balloon reaches its target
# once injection stops. Host-driven, the note of a 2 MiB block going on the
# reporting queue fails too: that block and the rest of its inflation take
# the inflate queue (report_unnoted_total), and every noted block is gone
# once the balloon is empty.
. "$(dirname "$0")/lib.sh"

MIB_PAGES=256
GUEST_MIB=${OB_GUEST_MIB:-1024}

need_config $INJECT_CONFIG

ktap_print_header
ktap_set_plan 26

trap inject_off EXIT

total0=$(meminfo MemTotal)
free0=$(free_kb)
meminfo_snapshot
oom0=$(vmstat oom_kill)

# simulate MOVABLE ORDER: target changes and compaction under injection.
simulate() {
	ob_load simulate=1 movable=$1 order=$2 || ktap_exit_fail_msg "insmod failed"
	n=$((free0 / PAGE_KB))
	inject_on 5
	for pct in 60 20 70 10 50; do
		ob_set_target $((n * pct / 100))
		sleep 1
		compact
	done
	inject_off
	# A failed 2 MiB block falls back to single pages (block_failed_total); a
	# failed bulk allocation of single pages ends the batch (alloc_failed_total).
	failed=$(($(ob_stat alloc_failed_total) + $(ob_stat block_failed_total)))
	ktap_print_msg "movable=$1 order=$2: $(ob_stat block_failed_total) block and $(ob_stat alloc_failed_total) batch allocation failures"
	ktap_test_result "movable=$1 order=$2: injected allocation failures were seen" test "$failed" -gt 0
	ktap_test_result "movable=$1 order=$2: the target is reached once injection stops" \
		ob_wait_stat inflated_pages $((n * 50 / 100)) 120
	expect_consistent "movable=$1 order=$2: consistent"
	ob_set_target 0
	ob_wait_stat inflated_pages 0 120
	ktap_test_result "movable=$1 order=$2: deflated and unloaded" ob_unload
}

simulate 1 9
simulate 1 0
simulate 0 9
simulate 0 0

ob_load || ktap_exit_fail_msg "insmod failed"
inject_on 5
for mib in 600 800 400 500; do
	host balloon $mib
	sleep 1
done
compact
inject_off
ktap_test_result "virtio: the balloon settles on the host's last target" \
	ob_wait_stat inflated_pages $(((GUEST_MIB - 500) * MIB_PAGES)) 120
expect_eq "virtio: the host agrees" "$(host query-balloon)" 500
expect_consistent "virtio: consistent"
ktap_print_msg "virtio: $(ob_stat reported_blocks_total) blocks reported, $(ob_stat report_unnoted_total) inflations left the reporting queue unnoted"
ktap_test_result "virtio: a block that could not be noted took the inflate queue" \
	test "$(ob_stat report_unnoted_total)" -gt 0
host balloon "$GUEST_MIB"
ob_wait_stat inflated_pages 0 120
expect_eq "virtio: no reported block left" "$(ob_stat reported_blocks)" 0
ktap_test_result "virtio: deflated and unloaded" ob_unload

expect_no_leak "$total0" "$free0" "$oom0"
ktap_finished
