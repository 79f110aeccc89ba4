#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Migration of frozen pages by PFN range. debugfs evacuate moves the
# balloon's pages out of a 2 MiB range, which a 2 MiB allocation then gets; a memory block holding frozen pages goes offline
# while the balloon keeps its size (its pages are replaced elsewhere on
# MEM_GOING_OFFLINE); with no memory for replacements (allocation failures
# injected into the memory notifier) the pages stay skippable and go offline
# with the block; a whole memory block of single pages (many 2 MiB chunks) is
# evacuated whole; bad input is refused with -EINVAL and a kernel log line.
. "$(dirname "$0")/lib.sh"

EV=$OB_DEBUGFS/evacuate

ktap_print_header
ktap_set_plan 29

total0=$(meminfo MemTotal)
N=$(($(free_kb) / PAGE_KB / 2))
ob_load simulate=1 movable=0 || ktap_exit_fail_msg "insmod movable=0 failed"
ob_set_target $N
ob_wait_stat inflated_pages $N || ktap_exit_fail_msg "cannot inflate $N pages"

# debugfs evacuate of one whole 2 MiB block of the balloon, then a 2 MiB
# allocation on the same CPU (the balloon inflating one more block of order
# 9): the freed block waits first on that CPU's free list of its migrate
# type, so the allocation gets it if it is whole and free. (A hugetlb or THP
# page is movable and would look on the other list: which free block it gets
# is not deterministic.)
pfn=$(ob_offline_pages first2m)
[ "$pfn" -ge 0 ] || ktap_exit_fail_msg "no whole 2 MiB block in the balloon"
ktap_test_result "evacuate $pfn 512" taskset -c 0 sh -c "echo '$pfn 512' > $EV && $(dirname "$0")/offline_pages $pfn 512 > /tmp/evacuated && echo $((N + 512)) > $OB_DEBUGFS/target_pages"
expect_eq "the range held no PageOffline page any more" "$(awk '{ print $2 }' /tmp/evacuated)" 0
ob_wait_stat inflated_pages $((N + 512))
expect_eq "512 pages were evacuated" "$(ob_stat evacuated_total)" 512
expect_eq "a 2 MiB allocation got the evacuated range whole" "$(ob_offline_pages offline $pfn 512)" 512
ob_set_target $N
ob_wait_stat inflated_pages $N
expect_consistent "consistent after evacuating"
expect_eq "the self-check sees every page in place" "$(ob_self_check pages) $(ob_self_check refcount0)" "$N $N"

# Bad input.
for bad in "x" "$pfn" "$pfn 0" "1 2 3" "0xg 1" "18446744073709551615 2"; do
	log0=$(dmesg | wc -l)
	if echo "$bad" > $EV 2>/dev/null; then
		ktap_test_fail "evacuate '$bad' is refused"
	else
		ktap_test_result "evacuate '$bad' is refused with a log line" sh -c "dmesg | tail -n +$((log0 + 1)) | grep -q 'evacuate: .*not START_PFN NR_PAGES'"
	fi
done
ktap_test_result "evacuating a range without balloon pages moves nothing" sh -c "echo '0 512' > $EV"
expect_eq "evacuated_total unchanged" "$(ob_stat evacuated_total)" 512

# Offlining a block holding frozen pages: they move out, the balloon keeps its size.
off0=$(ob_stat offlined_total) ev0=$(ob_stat evacuated_total)
r=$(offline_a_frozen_block $N)
rc=$?
if [ $rc = 0 ]; then
	set -- $r
	ktap_print_msg "memory$1 went offline with $2 frozen pages in it before: $(dmesg | grep 'memory going offline' | tail -1)"
	ktap_test_result "the block's frozen pages were evacuated" test $(($(ob_stat evacuated_total) - ev0)) -ge "$2"
	expect_eq "none went offline with the block" "$(ob_stat offlined_total)" "$off0"
	expect_eq "the balloon kept its size" "$(ob_stat inflated_pages)" $N
	expect_consistent "consistent after offlining"
	expect_eq "MemTotal lost exactly the block" "$(meminfo MemTotal)" $((total0 - N * PAGE_KB - BLOCK_KB))
	ktap_test_result "the block goes online again" sh -c "echo online > $MEM/memory$1/state"
elif [ $rc = 2 ]; then
	for i in 1 2 3 4 5 6; do ktap_test_skip "no memory block can go offline"; done
else
	for i in 1 2 3 4 5 6; do ktap_test_fail "a block holding frozen pages did not go offline"; done
fi

# No memory for replacements (every allocation made from the memory notifier
# fails; the worker's still succeed, so the balloon can be refilled for
# another layout): the frozen pages go offline with the block.
if can_inject; then
	off0=$(ob_stat offlined_total)
	inject_on 100 $(ob_symbol_range 'notifiers.*memory_notify$')
	r=$(offline_a_frozen_block $N)
	rc=$?
	inject_off
	if [ $rc = 0 ]; then
		set -- $r
		ktap_print_msg "memory$1 went offline with $2 frozen pages, replacements failing: $(dmesg | grep 'memory going offline' | tail -1)"
		expect_eq "they went offline with the block (offlined_total)" $(($(ob_stat offlined_total) - off0)) "$2"
		ktap_test_result "the balloon inflates elsewhere back to $N" ob_wait_stat inflated_pages $N
		echo online > $MEM/memory$1/state
	elif [ $rc = 2 ]; then
		for i in 1 2; do ktap_test_skip "no memory block can go offline"; done
	else
		for i in 1 2; do ktap_test_fail "a block holding frozen pages did not go offline under injection"; done
	fi
else
	skip_without_injection 2
fi
ob_set_target 0
ob_wait_stat inflated_pages 0
ob_unload

# A range of many 2 MiB chunks of single pages (order=0), a whole memory
# block: the old pages of one chunk, freed one by one, wait at the head of the
# CPU's free list, and the next chunk's allocation gets them first. A
# regression test: it failed with -ENOMEM while memory was free (the
# replacements it got all lay in the range, and freed at once they came
# straight back; later, held, they were more than one chunk's allowance).
ob_load simulate=1 movable=0 order=0 || ktap_exit_fail_msg "insmod movable=0 order=0 failed"
ob_set_target $N
ob_wait_stat inflated_pages $N || ktap_exit_fail_msg "cannot inflate $N pages"
# The memory block holding the most balloon pages.
set -- $(fullest_block $(online_blocks))
start=$1 best=$2
ev0=$(ob_stat evacuated_total)
chunks=$((BLOCK_PAGES / 512))
ktap_print_msg "order=0: evacuating PFNs $start+$BLOCK_PAGES ($best balloon pages in $chunks chunks)"
ktap_test_result "order=0: evacuate of $chunks chunks succeeds" taskset -c 0 sh -c "echo '$start $BLOCK_PAGES' > $EV"
expect_eq "order=0: the range holds no PageOffline page" "$(ob_offline_pages offline $start $BLOCK_PAGES)" 0
expect_eq "order=0: each of its $best pages was evacuated" $(($(ob_stat evacuated_total) - ev0)) "$best"
expect_eq "order=0: the balloon kept its size" "$(ob_stat inflated_pages)" $N
ob_set_target 0
ob_wait_stat inflated_pages 0
ob_unload
ob_load simulate=1 movable=1
ktap_test_result "a movable balloon refuses evacuate (-EOPNOTSUPP) with a log line" \
	sh -c "! echo '0 512' > $EV 2>/dev/null && dmesg | grep -q 'evacuate: .*movable'"
ob_unload
expect_eq "MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"
expect_eq "no PageOffline page left" "$(ob_offline_pages)" 0

ktap_finished
