#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Hardware-poisoned balloon pages. Memory failure on a balloon page (injected
# through debugfs hwpoison/corrupt-pfn) cannot handle it: it marks the page
# PG_hwpoison and leaves it to its owner. The buddy allocator never takes an
# order-0 poisoned page back, so once the page leaves the balloon it is gone
# for good, and so must its share of MemTotal be: a regression test, the
# balloon put it back in the managed page count (MemTotal 4 kB too high per
# page). In simulate mode with frozen and with movable pages and host-driven
# (virtio), a page inside a 2 MiB block of the balloon is poisoned and the
# balloon deflates (the block's other pages go back one by one): MemTotal
# ends 4 kB short, HardwareCorrupted 4 kB up, hwpoisoned_total counts it, the
# page is neither free nor offline, and a balloon refilled to most of the
# free memory does not get it again.
. "$(dirname "$0")/lib.sh"

need_config MEMORY_FAILURE HWPOISON_INJECT
HW=/sys/kernel/debug/hwpoison
[ -d $HW ] || insmod /lib/modules/hwpoison-inject.ko 2>/dev/null || [ -d $HW ] ||
	ktap_exit_fail_msg "no $HW (hwpoison-inject)"

GUEST_MIB=${OB_GUEST_MIB:-1024}

ktap_print_header
ktap_set_plan 23

total0=$(meminfo MemTotal)
corrupt0=$(meminfo HardwareCorrupted)
oom0=$(vmstat oom_kill)
poisoned=0

# pfn_has FIELD PFN: the offline_pages count FIELD of that one page.
pfn_has() {
	ob_offline_pages "$1" "$2" 1
}

# poison NAME: poison a page in the middle of the balloon's first whole 2 MiB
# block; its PFN in $pfn. Two test cases.
poison() {
	block=$(ob_offline_pages first2m)
	[ "$block" -ge 0 ] || ktap_exit_fail_msg "$1: no whole 2 MiB block in the balloon"
	pfn=$((block + 77))
	ktap_print_msg "$1: poisoning PFN $pfn ($(pfn_has offline $pfn) offline page)"
	# memory_failure() cannot handle the page and says so (-EBUSY): that is
	# expected; the page must be marked all the same.
	echo $pfn > $HW/corrupt-pfn 2>/dev/null
	expect_eq "$1: the page is marked hardware-poisoned (KPF_HWPOISON)" "$(pfn_has hwpoison $pfn)" 1
	poisoned=$((poisoned + 1))
	expect_eq "$1: HardwareCorrupted counts it" "$(meminfo HardwareCorrupted)" $((corrupt0 + poisoned * PAGE_KB))
}

# gone NAME PFN: after the deflation, the poisoned page stays out. Three test cases.
gone() {
	expect_eq "$1: hwpoisoned_total 1" "$(ob_stat hwpoisoned_total)" 1
	expect_eq "$1: MemTotal is 4 kB short for good" "$(meminfo MemTotal)" $((total0 - poisoned * PAGE_KB))
	expect_eq "$1: the page is neither free nor offline" "$(pfn_has buddy $2) $(pfn_has offline $2) $(pfn_has hwpoison $2)" "0 0 1"
}

for movable in 0 1; do
	name="simulate movable=$movable"
	N=$(($(free_kb) / PAGE_KB / 2))
	ob_load simulate=1 movable=$movable || ktap_exit_fail_msg "insmod $name failed"
	ob_set_target $N
	ob_wait_stat inflated_pages $N || ktap_exit_fail_msg "$name: cannot inflate $N pages"
	poison "$name"
	ob_set_target 0
	ktap_test_result "$name: deflates fully" ob_wait_stat inflated_pages 0
	gone "$name" $pfn
	# Most of the free memory: the buddy would hand the page out if it had it.
	N=$(($(free_kb) / PAGE_KB * 3 / 4))
	ob_set_target $N
	ob_wait_stat inflated_pages $N
	expect_eq "$name: a refilled balloon of $N pages does not get it" "$(pfn_has offline $pfn)" 0
	ob_set_target 0
	ob_wait_stat inflated_pages 0
	ob_unload
done

name=virtio
ob_load || ktap_exit_fail_msg "insmod failed"
host balloon-wait $((GUEST_MIB - 256)) 120 > /dev/null || ktap_exit_fail_msg "virtio: cannot inflate"
poison "$name"
host balloon-wait "$GUEST_MIB" 120 > /dev/null
ktap_test_result "$name: deflates fully" ob_wait_stat inflated_pages 0
gone "$name" $pfn
expect_eq "$name: the host sees every page returned" "$(host query-balloon)" "$GUEST_MIB"
ob_unload

expect_eq "no PageOffline page left" "$(ob_offline_pages)" 0
expect_eq "no OOM kill" "$(vmstat oom_kill)" "$oom0"
ktap_finished
