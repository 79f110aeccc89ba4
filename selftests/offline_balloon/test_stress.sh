#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Concurrency: target storms while compaction runs in a loop and a THP
# workload faults huge pages in and out, with rmmod in the middle, in both
# refcount models. Each storm step changes the target, reads the statistics
# once while the balloon moves (inflated == movable + frozen in one
# snapshot), then waits until the target is reached and compares with the
# PageOffline pages in /proc/kpageflags: equal, give or take the pages that
# compaction moves at that moment. The scan of /proc/kpageflags is not atomic:
# a page migrated from a PFN not yet scanned to one already scanned is missed,
# one migrated the other way is counted twice, so the slack is the pages
# isolated, plus those migrated during the scan, plus one COMPACT_CLUSTER_MAX
# batch of 32 in flight. At the end everything is exact and nothing leaked.
# OB_STRESS_SECONDS sets each storm's length (make stress: 60; make check: 8).
. "$(dirname "$0")/lib.sh"

SECONDS_PER_STORM=${OB_STRESS_SECONDS:-8}
BATCH=1024
# Targets in percent of the free memory at the start (up to 75%: about
# 180000 pages of the 1 GiB guest), so the storm fits any kernel.
STEP_PCT="40 9 65 0 55 27 75 5"

ktap_print_header
ktap_set_plan 13

total0=$(meminfo MemTotal)
free0=$(free_kb)
meminfo_snapshot
STEPS=$(pages_pct "$free0" $STEP_PCT)
oom0=$(vmstat oom_kill)

# Background load until /tmp/stress_stop exists.
rm -f /tmp/stress_stop
(while [ ! -e /tmp/stress_stop ]; do compact; sleep 0.2; done) &
compactor=$!
THP=/sys/kernel/mm/transparent_hugepage/enabled
thp_mode=$(sed 's/.*\[\(.*\)\].*/\1/' $THP)
echo always > $THP
(while [ ! -e /tmp/stress_stop ]; do thp_touch 64 > /dev/null; done) &
thp=$!

# storm MOVABLE: change the target along STEPS until the time is up,
# checking consistency at every step; rmmod and reload half-way.
storm() {
	bad=0 samples=0 reloaded=0 movable=$1
	ob_load simulate=1 movable=$movable || return 1
	end=$(($(cut -d. -f1 /proc/uptime) + SECONDS_PER_STORM))
	while [ "$(cut -d. -f1 /proc/uptime)" -lt $end ]; do
		for t in $STEPS; do
			ob_set_target $t
			sleep 0.05
			samples=$((samples + 1))
			ob_sample_consistent || bad=$((bad + 1))
			ob_wait_stat inflated_pages $t 60 || bad=$((bad + 1))
			m0=$(ob_stat migrated_total)
			off=$(ob_offline_pages)
			slack=$(($(ob_stat isolated_pages) + $(ob_stat migrated_total) - m0 + 32))
			d=$((off - t))
			[ $d -lt 0 ] && d=$((-d))
			if [ $d -gt $slack ]; then
				ktap_print_msg "at target $t: PageOffline $off (slack $slack)"
				bad=$((bad + 1))
			fi
		done
		if [ $reloaded = 0 ]; then
			# rmmod in the middle of a storm, balloon inflated and moving.
			ob_set_target $((free0 / PAGE_KB * 65 / 100))
			sleep 0.1
			ob_unload || bad=$((bad + 1))
			[ "$(ob_offline_pages)" = 0 ] || { ktap_print_msg "PageOffline pages left after rmmod"; bad=$((bad + 1)); }
			ob_load simulate=1 movable=$movable || return 1
			reloaded=1
		fi
	done
	ktap_print_msg "movable=$movable: $samples samples, $bad inconsistent"
	[ $bad = 0 ]
}

ktap_test_result "movable=1: storm with compaction, THP and rmmod, consistent at every sample" storm 1
ob_set_target 0
ktap_test_result "movable=1: settles at 0" ob_wait_stat inflated_pages 0 120
expect_consistent "movable=1: consistent at rest"
ob_unload
ktap_test_result "movable=0: storm with compaction, THP and rmmod, consistent at every sample" storm 0
ob_set_target 0
ktap_test_result "movable=0: settles at 0" ob_wait_stat inflated_pages 0 120
expect_consistent "movable=0: consistent at rest"
ob_unload

touch /tmp/stress_stop
wait $compactor $thp
echo "$thp_mode" > $THP
ktap_test_result "the guest stayed responsive (background loops ended)" true

expect_no_leak "$total0" "$free0" "$oom0"
ktap_test_result "a final load/unload cycle is clean" sh -c "insmod $OB_KO simulate=1 && rmmod $OB_MOD"
ktap_test_result "debugfs gone" test ! -e "$OB_DEBUGFS"

ktap_finished
