#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Memory offlining of blocks that hold ballooned pages, through
# /sys/devices/system/memory/memoryN/state. Movable pages migrate out through
# balloon compaction and stay in the balloon. Frozen pages are skippable:
# with evacuate=0 the block goes offline with them, the memory notifier drops
# them from the balloon and the balloon inflates elsewhere to make up
# (test_evacuate covers evacuate=1, where they move out first). Onlining again
# works, and every count stays exact.
. "$(dirname "$0")/lib.sh"

ktap_print_header
ktap_set_plan 16

total0=$(meminfo MemTotal)

# Movable pages: offlining migrates them. The balloon takes 3/4 of the
# free memory (768 MiB of the 1 GiB guest), so most blocks hold some.
N=$(($(free_kb) / PAGE_KB * 3 / 4))
ob_load simulate=1 movable=1 || ktap_exit_fail_msg "insmod movable=1 failed"
ob_set_target $N
ob_wait_stat inflated_pages $N || ktap_exit_fail_msg "cannot inflate $N pages"
m0=$(ob_stat migrated_total)
if r=$(offline_a_block); then
	set -- $r
	ktap_print_msg "movable: memory$1 went offline with $2 balloon pages in it"
	ktap_test_pass "movable: a block holding balloon pages goes offline"
	ktap_test_result "movable: its balloon pages were migrated" test $(($(ob_stat migrated_total) - m0)) -ge "$2"
	expect_eq "movable: the balloon still holds $N pages" "$(ob_stat inflated_pages)" $N
	expect_consistent "movable: consistent after offlining"
	expect_eq "movable: MemTotal lost exactly the block" "$(meminfo MemTotal)" $((total0 - N * PAGE_KB - BLOCK_KB))
	ktap_test_result "movable: the block goes online again" sh -c "echo online > $MEM/memory$1/state"
	expect_eq "movable: MemTotal back" "$(meminfo MemTotal)" $((total0 - N * PAGE_KB))
else
	for i in 1 2 3 4 5 6 7; do ktap_test_fail "movable: no block holding balloon pages could go offline"; done
fi
ob_set_target 0
ob_wait_stat inflated_pages 0
ob_unload
expect_eq "movable: MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"

# Frozen pages with evacuate=0: skippable, dropped by the memory notifier.
N=$(($(free_kb) / PAGE_KB / 2))
ob_load simulate=1 movable=0 evacuate=0 || ktap_exit_fail_msg "insmod movable=0 evacuate=0 failed"
ob_set_target $N
ob_wait_stat inflated_pages $N || ktap_exit_fail_msg "cannot inflate $N pages"
r=$(offline_a_frozen_block $N)
rc=$?
if [ $rc = 0 ]; then
	set -- $r
	ktap_print_msg "frozen: memory$1 went offline with $2 frozen pages in it"
	ktap_test_pass "frozen: a block holding frozen pages goes offline (they are skippable)"
	expect_eq "frozen: the notifier dropped exactly those pages" "$(ob_stat offlined_total)" "$2"
	ktap_test_result "frozen: the balloon inflates elsewhere back to $N" ob_wait_stat inflated_pages $N
	expect_eq "frozen: MemTotal lost exactly the block" "$(meminfo MemTotal)" $((total0 - N * PAGE_KB - BLOCK_KB))
	ktap_test_result "frozen: the block goes online again" sh -c "echo online > $MEM/memory$1/state"
	expect_eq "frozen: MemTotal back" "$(meminfo MemTotal)" $((total0 - N * PAGE_KB))
elif [ $rc = 2 ]; then
	for i in 1 2 3 4 5 6; do ktap_test_skip "frozen: no memory block can go offline"; done
else
	for i in 1 2 3 4 5 6; do ktap_test_fail "frozen: a block holding frozen pages did not go offline"; done
fi
ob_set_target 0
ob_wait_stat inflated_pages 0
ob_unload
expect_eq "frozen: MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"
expect_eq "no PageOffline page left" "$(ob_offline_pages)" 0

ktap_finished
