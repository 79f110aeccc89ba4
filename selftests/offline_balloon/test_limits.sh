#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A target beyond what can be allocated: the balloon inflates what it can and
# backs off, with no OOM kill, counting why it stopped: an allocation of its
# own failed (alloc_failed_total), or another one ran out of memory first and
# the OOM notifier deflated it (oom_deflated_total); which one comes first is
# a race. Lowering the target then deflates.
. "$(dirname "$0")/lib.sh"

ktap_print_header
ktap_set_plan 6

ob_load simulate=1 || ktap_exit_fail_msg "insmod simulate=1 failed"
total0=$(meminfo MemTotal)
oom0=$(vmstat oom_kill) oomd0=$(ob_stat oom_deflated_total)
all=$((total0 / PAGE_KB))

ob_set_target $all
ob_wait_full $all 0
inflated=$(ob_stat inflated_pages)
ktap_print_msg "target $all pages: inflated $inflated, alloc_failed_total $(ob_stat alloc_failed_total), oom_deflated_total $(ob_stat oom_deflated_total)"
ktap_test_result "it counted why it stopped (allocation failure or OOM notifier)" \
	test "$(ob_stat alloc_failed_total)" -gt 0 -o "$(ob_stat oom_deflated_total)" -gt "$oomd0"
ktap_test_result "inflated less than the target, more than half of RAM" \
	test "$inflated" -lt "$all" -a "$inflated" -gt $((all / 2))
ob_set_target 0
ktap_test_result "deflates to 0" ob_wait_stat inflated_pages 0
expect_eq "no OOM kill" "$(vmstat oom_kill)" "$oom0"
expect_eq "MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"
ktap_test_result "rmmod" ob_unload

ktap_finished
