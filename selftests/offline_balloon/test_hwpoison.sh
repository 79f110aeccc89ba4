#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Hardware-poisoned balloon pages. Memory failure on a balloon page (injected
# through debugfs hwpoison/corrupt-pfn) cannot handle it: it marks the page
# PG_hwpoison and leaves it to its owner. When it leaves the balloon the
# buddy allocator keeps it out for good; like any poisoned page it counts in
# MemTotal (memory offlining takes poisoned pages off the managed count with
# their block) and in HardwareCorrupted, and it must carry nothing of the
# balloon's: regression tests, on 7.3 the page stayed PageOffline (the
# buddy returns before it resets the type), and a movable one kept its
# movable state, so that offlining its memory block looped on a "movable"
# page it could never take (6.12: PAGE_MAPPING_MOVABLE; 7.3: movable_ops).
# In simulate mode with frozen and with movable pages and host-driven
# (virtio), a page inside a 2 MiB block of the balloon is poisoned (movable
# ones in a memory block of a hot-plugged DIMM in ZONE_MOVABLE, where they
# land first and which can always go offline) and the balloon deflates (the
# block's other pages go back one by one): MemTotal back where it was,
# hwpoisoned_total counts it, the page is neither free nor offline, a
# balloon refilled to most of the free memory does not get it again, and
# the DIMM's block goes offline with it (and stays offline: the kernel does
# not online a block with a poisoned page again) and is unplugged.
. "$(dirname "$0")/lib.sh"

need_config MEMORY_FAILURE HWPOISON_INJECT
HW=/sys/kernel/debug/hwpoison
[ -d $HW ] || insmod /lib/modules/hwpoison-inject.ko 2>/dev/null || [ -d $HW ] ||
	ktap_exit_fail_msg "no $HW (hwpoison-inject)"

GUEST_MIB=${OB_GUEST_MIB:-1024}

ktap_print_header
ktap_set_plan 25

oom0=$(vmstat oom_kill)
total_boot=$(meminfo MemTotal)
total0=$total_boot

# plug_movable: the host plugs a DIMM of one memory block, onlined to
# ZONE_MOVABLE; its block in $dimm_block, MemTotal with it in $total0.
plug_movable() {
	plugged=$(dimm_plug $((BLOCK_KB / 1024))) || ktap_exit_fail_msg "no DIMM"
	set -- $plugged
	dimm=$1 dimm_block=$2
	echo online_movable > $MEM/memory$dimm_block/state ||
		ktap_exit_fail_msg "memory$dimm_block does not go online to ZONE_MOVABLE"
	total0=$(meminfo MemTotal)
}

# unplug_movable NAME: the DIMM's block goes offline with the poisoned page
# in it (skipped; a block with a poisoned page cannot go online again) and
# the host unplugs the DIMM. One test case.
unplug_movable() {
	ktap_test_result "$1: its memory block goes offline, the host unplugs the DIMM" \
		offline_and_unplug
	total0=$total_boot
}
offline_and_unplug() {
	offline_block "$dimm_block" 30 && host dimm-del "$dimm"
}

# pfn_has FIELD PFN: the offline_pages count FIELD of that one page.
pfn_has() {
	ob_offline_pages "$1" "$2" 1
}

# poison NAME [START NR]: poison a page in the middle of the first whole
# 2 MiB block of the balloon (in that PFN range); its PFN in $pfn. Two test
# cases.
poison() {
	block=$(ob_offline_pages first2m ${2:+"$2" "$3"})
	[ "$block" -ge 0 ] || ktap_exit_fail_msg "$1: no whole 2 MiB block of the balloon${2:+ in PFNs $2+$3}"
	pfn=$((block + 77))
	corrupt0=$(meminfo HardwareCorrupted)
	ktap_print_msg "$1: poisoning PFN $pfn ($(pfn_has offline $pfn) offline page)"
	# memory_failure() cannot handle the page and says so (-EBUSY): that is
	# expected; the page must be marked all the same.
	echo $pfn > $HW/corrupt-pfn 2>/dev/null
	expect_eq "$1: the page is marked hardware-poisoned (KPF_HWPOISON)" "$(pfn_has hwpoison $pfn)" 1
	expect_eq "$1: HardwareCorrupted counts it" "$(meminfo HardwareCorrupted)" $((corrupt0 + PAGE_KB))
}

# gone NAME: after the deflation, the poisoned page stays out. Three test cases.
gone() {
	expect_eq "$1: hwpoisoned_total 1" "$(ob_stat hwpoisoned_total)" 1
	expect_eq "$1: MemTotal back where it was" "$(meminfo MemTotal)" "$total0"
	expect_eq "$1: the page is neither free nor offline" "$(pfn_has buddy $pfn) $(pfn_has offline $pfn) $(pfn_has hwpoison $pfn)" "0 0 1"
}

for movable in 0 1; do
	name="simulate movable=$movable"
	[ $movable = 1 ] && plug_movable
	N=$(($(free_kb) / PAGE_KB / 2))
	ob_load simulate=1 movable=$movable || ktap_exit_fail_msg "insmod $name failed"
	ob_set_target $N
	ob_wait_stat inflated_pages $N || ktap_exit_fail_msg "$name: cannot inflate $N pages"
	if [ $movable = 1 ]; then
		poison "$name" $((dimm_block * BLOCK_PAGES)) $BLOCK_PAGES
	else
		poison "$name"
	fi
	ob_set_target 0
	ktap_test_result "$name: deflates fully" ob_wait_stat inflated_pages 0
	gone "$name"
	# Most of the free memory: the buddy would hand the page out if it had it.
	N=$(($(free_kb) / PAGE_KB * 3 / 4))
	ob_set_target $N
	ob_wait_stat inflated_pages $N
	expect_eq "$name: a refilled balloon of $N pages does not get it" "$(pfn_has offline $pfn)" 0
	ob_set_target 0
	ob_wait_stat inflated_pages 0
	ob_unload
	[ $movable = 1 ] && unplug_movable "$name"
done

name=virtio
plug_movable
ob_load || ktap_exit_fail_msg "insmod failed"
host balloon-wait $((GUEST_MIB + BLOCK_KB / 1024 - 256)) 120 > /dev/null || ktap_exit_fail_msg "virtio: cannot inflate"
poison "$name" $((dimm_block * BLOCK_PAGES)) $BLOCK_PAGES
host balloon-wait $((GUEST_MIB + BLOCK_KB / 1024)) 120 > /dev/null
ktap_test_result "$name: deflates fully" ob_wait_stat inflated_pages 0
gone "$name"
ob_unload
unplug_movable "$name"

expect_eq "MemTotal as at the start" "$(meminfo MemTotal)" "$total_boot"
expect_eq "no PageOffline page left" "$(ob_offline_pages)" 0
expect_eq "no OOM kill" "$(vmstat oom_kill)" "$oom0"
ktap_finished
