#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Memory pressure in simulate mode, in both refcount models: with the balloon
# at 80% of RAM, a program that needs 60% of RAM (a tmpfs file: no swap, so
# it cannot be reclaimed) succeeds, because the OOM notifier deflates the
# balloon before the OOM killer would pick a victim. oom_kill in /proc/vmstat
# therefore must not move: a kill would mean the notifier did not free enough.
# The notifier also lowers the target to what is left, so the balloon does
# not take the memory back; asking for 80% again under that pressure makes
# the driver fail allocations and back off: bounded CPU, guest responsive.
. "$(dirname "$0")/lib.sh"

ktap_print_header
ktap_set_plan 15

total0=$(meminfo MemTotal)
free0=$(free_kb)
oom0=$(vmstat oom_kill)
ram_pages=$((total0 / PAGE_KB))
hog_mib=$((total0 * 6 / 10 / 1024))

# pressure MOVABLE: the scenario in one refcount model.
pressure() {
	movable=$1
	ob_load simulate=1 movable="$movable" || return 1
	ob_set_target $((ram_pages * 8 / 10))
	ob_wait_stat inflated_pages $((ram_pages * 8 / 10)) 120 ||
		ktap_print_msg "alloc_failed_total $(ob_stat alloc_failed_total): inflated what it could"
	ktap_print_msg "movable=$movable: inflated $(ob_stat inflated_pages) of $ram_pages pages, free $(free_kb) kB"
	ktap_test_result "movable=$movable: a $hog_mib MiB program succeeds with 80% ballooned" \
		fill_tmpfs $hog_mib
	ktap_print_msg "movable=$movable: inflated $(ob_stat inflated_pages), target $(ob_stat target_pages)," \
		"oom_deflated_total $(ob_stat oom_deflated_total)"
	ktap_test_result "movable=$movable: the OOM notifier deflated the balloon" \
		test "$(ob_stat oom_deflated_total)" -gt 0
	expect_eq "movable=$movable: no OOM kill" "$(vmstat oom_kill)" "$oom0"

	# Ask for 80% again under pressure.
	failed0=$(ob_stat alloc_failed_total)
	ob_set_target $((ram_pages * 8 / 10))
	sleep 2
	busy=$(cpu_busy_pct 3)
	ktap_print_msg "movable=$movable: under pressure inflated $(ob_stat inflated_pages)," \
		"alloc_failed_total +$(($(ob_stat alloc_failed_total) - failed0)), CPU busy $busy%"
	ktap_test_result "movable=$movable: inflating under pressure backs off (CPU busy < 50%)" \
		test "$busy" -lt 50
	unfill_tmpfs
	expect_eq "movable=$movable: still no OOM kill" "$(vmstat oom_kill)" "$oom0"
	ob_set_target 0
	ob_wait_stat inflated_pages 0 120
	expect_consistent "movable=$movable: back to 0, consistent"
	ob_unload
}

pressure 1
pressure 0
sync
echo 3 > /proc/sys/vm/drop_caches
expect_eq "MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"
expect_within "free memory back within $((8192 + KASAN_SLACK_KB)) kB" "$(free_kb)" "$free0" $((8192 + KASAN_SLACK_KB))
ktap_test_result "a final load/unload cycle is clean" sh -c "insmod $OB_KO simulate=1 && rmmod $OB_MOD"

ktap_finished
