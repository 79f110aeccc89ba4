#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The OOM notifier with every batch size: it gives back 1 MiB per call, a
# batch at a time. Before the review fixes it asked for 256 pages at once and
# overran a smaller batch's PFN array (a Rust panic under oom_lock: the guest
# hung or died). For each batch size, in simulate mode, the balloon takes 85%
# of the free memory and a program then writes 300 MiB to tmpfs: it must
# succeed through the OOM notifier with no OOM kill and consistent counts.
. "$(dirname "$0")/lib.sh"

FILL_MIB=300
# movable:order:batch
CASES="1:0:1 1:0:7 1:0:64 1:0:255 1:0:256 1:0:300 1:9:1024 0:0:1 0:0:300"
# KASAN multiplies the cost of single-page inflation: the edge cases only.
[ "${OB_KASAN:-0}" = 1 ] && CASES="1:0:1 1:0:255 1:0:300 1:9:1024 0:0:1"

ktap_print_header
ktap_set_plan $(($(echo $CASES | wc -w) * 5 + 2))

total0=$(meminfo MemTotal)
for c in $CASES; do
	movable=${c%%:*} batch=${c##*:} order=${c#*:}
	order=${order%%:*}
	name="movable=$movable order=$order batch=$batch"
	ob_load simulate=1 movable=$movable order=$order batch=$batch || ktap_exit_fail_msg "insmod $name failed"
	n=$(($(free_kb) / PAGE_KB * 85 / 100))
	f0=$(ob_stat alloc_failed_total)
	ob_set_target $n
	ob_wait_full $n "$f0" 120
	oom0=$(vmstat oom_kill)
	ktap_test_result "$name: writing $FILL_MIB MiB with $(ob_stat inflated_pages) pages ballooned succeeds" \
		fill_tmpfs $FILL_MIB
	ktap_print_msg "$name: oom_deflated_total $(ob_stat oom_deflated_total)"
	ktap_test_result "$name: the OOM notifier deflated the balloon" test "$(ob_stat oom_deflated_total)" -gt 0
	expect_eq "$name: no OOM kill" "$(vmstat oom_kill)" "$oom0"
	ktap_test_result "$name: inflated == movable + frozen after the OOM" ob_sample_consistent
	unfill_tmpfs
	ob_set_target 0
	ob_wait_stat inflated_pages 0 120
	ktap_test_result "$name: deflated and unloaded" ob_unload
done
expect_eq "MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"
expect_eq "no PageOffline page left" "$(ob_offline_pages)" 0
ktap_finished
