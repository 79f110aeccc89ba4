#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Ballooning in 2 MiB blocks (order=9, the default) against single pages
# (order=0), in both refcount models: exact accounting, every 4 KiB page
# PageOffline, most inflated memory in whole 2 MiB blocks on an idle guest,
# blocks split so memory offlining migrates movable pages one by one, and
# deflated whole (one buddy free of order 9) where a deflation holds them
# whole, single pages as well.
. "$(dirname "$0")/lib.sh"

N=131072

ktap_print_header
ktap_set_plan 23

total0=$(meminfo MemTotal)
for movable in 1 0; do
	sync; echo 3 > /proc/sys/vm/drop_caches
	compact
	ob_load simulate=1 movable=$movable order=9 || ktap_exit_fail_msg "insmod order=9 failed"
	ob_set_target $N
	ktap_test_result "movable=$movable order=9: inflates to $N pages" ob_wait_stat inflated_pages $N
	blocks=$(ob_stat inflated_blocks_total)
	whole=$(ob_offline_pages blocks2m)
	ktap_print_msg "movable=$movable: $blocks blocks inflated whole, $whole whole 2 MiB blocks offline"
	ktap_test_result "movable=$movable: at least 90% of the pages in whole 2 MiB blocks" \
		test $((whole * 512 * 10)) -ge $((N * 9))
	expect_eq "movable=$movable: MemTotal dropped by exactly $N * 4 KiB" "$(meminfo MemTotal)" $((total0 - N * PAGE_KB))
	expect_consistent "movable=$movable: inflated == movable + frozen == PageOffline pages"
	if [ $movable = 1 ]; then
		# Compaction leaves whole balloon pageblocks alone (it never moves
		# pages into free pageblocks), so memory offlining shows the split:
		# every balloon page of a block going offline migrates on its own.
		m0=$(ob_stat migrated_total)
		if r=$(offline_a_block); then
			set -- $r
			ktap_print_msg "memory block $1 with $2 balloon pages went offline"
			ktap_test_result "movable=1: offlining migrates each page of inflated blocks" \
				test $(($(ob_stat migrated_total) - m0)) -ge "$2"
			echo online > "$MEM/memory$1/state"
		else
			ktap_test_fail "movable=1: offlining migrates each page of inflated blocks"
		fi
		expect_consistent "movable=1: consistent after migration"
	fi
	ob_set_target 0
	ktap_test_result "movable=$movable: deflates to 0" ob_wait_stat inflated_pages 0
	# Deflating gives a block the batch holds whole back in one free. Frozen
	# blocks stay whole; the offlining broke a movable one up.
	d=$(ob_stat deflated_blocks_total)
	ktap_print_msg "movable=$movable: $d of $blocks blocks deflated whole"
	if [ $movable = 0 ]; then
		ktap_test_result "movable=0: at least 90% of the blocks deflated whole" test $((d * 10)) -ge $((blocks * 9))
	else
		ktap_test_result "movable=1: blocks deflated whole" test "$d" -gt 0
	fi
	expect_eq "movable=$movable: MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"
	ob_unload
done

# deflate_whole NAME WHOLE: deflates the balloon to 0; at least 90% of the
# WHOLE 2 MiB blocks it held whole must go back in one free each.
deflate_whole() {
	d0=$(ob_stat deflated_blocks_total)
	ob_set_target 0
	ktap_test_result "$1: deflates to 0" ob_wait_stat inflated_pages 0
	d=$(($(ob_stat deflated_blocks_total) - d0))
	ktap_print_msg "$1: $2 whole 2 MiB blocks offline, $d deflated whole"
	ktap_test_result "$1: at least 90% of the whole blocks deflated whole" \
		test $((d * 10)) -ge $(($2 * 9)) -a "$d" -gt 0
}

# Single pages: the bulk allocator hands out a 2 MiB block's pages over
# several inflate batches, and a deflation takes several batches, so the
# blocks that are in the balloon whole go back in one free each (97% here;
# 50% when a deflation took one batch).
sync; echo 3 > /proc/sys/vm/drop_caches
ob_load simulate=1 order=0
ob_set_target $N
ob_wait_stat inflated_pages $N
expect_eq "order=0: no block inflated whole" "$(ob_stat inflated_blocks_total)" 0
expect_consistent "order=0: consistent"
deflate_whole "order=0" "$(ob_offline_pages blocks2m)"
# Again, with 300 pages deflated first: the deflations' dequeues then no
# longer start where the inflate batches did, and the balloon core list
# hands a block inflated over two batches back in two runs, apart, which
# only the sorted second pass over a deflation's pages puts together.
ob_set_target $N
ob_wait_stat inflated_pages $N
whole=$(ob_offline_pages blocks2m)
ob_set_target $((N - 300))
ob_wait_stat inflated_pages $((N - 300))
deflate_whole "order=0, out of step" "$whole"
ob_unload
expect_eq "MemTotal restored exactly after rmmod" "$(meminfo MemTotal)" "$total0"

ktap_finished
