#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Frozen pages tracked outside struct page (the balloon's frozen set: an
# XArray of per-2 MiB bitmaps): every frozen page is PageOffline, refcount 0
# and skippable, and its lru, private and mapping hold nothing of the
# balloon's (debugfs self_check walks them); the set's metadata cost per
# page, measured for whole 2 MiB blocks and for scattered 4 KiB pages; whole
# blocks deflated in one free each.
. "$(dirname "$0")/lib.sh"

N=131072

ktap_print_header
ktap_set_plan 20

total0=$(meminfo MemTotal)

# check ORDER PAGES: inflate a frozen balloon of PAGES with order=ORDER,
# walk it, deflate it; 9 test cases.
check() {
	order=$1 n=$2
	ob_load simulate=1 movable=0 order=$order || ktap_exit_fail_msg "insmod movable=0 order=$order failed"
	ob_set_target $n
	ktap_test_result "order=$order: inflates to $n frozen pages" ob_wait_stat frozen_pages $n
	set -- $(cat "$OB_DEBUGFS/self_check")
	ktap_print_msg "order=$order: self_check: $*"
	expect_eq "order=$order: self_check walks every frozen page" "$(ob_self_check pages)" $n
	expect_eq "order=$order: each is PageOffline with refcount 0 and skippable" \
		"$(ob_self_check offline) $(ob_self_check refcount0) $(ob_self_check skippable)" "$n $n $n"
	expect_eq "order=$order: no lru links one to another" "$(ob_self_check lru_linked)" 0
	expect_eq "order=$order: private and mapping are clear" \
		"$(ob_self_check private_set) $(ob_self_check mapping_set)" "0 0"
	expect_consistent "order=$order: inflated == frozen == PageOffline pages"
	meta=$(ob_stat frozen_metadata_bytes)
	ktap_print_msg "order=$order: $meta bytes of metadata for $n pages: $((meta * 1000 / n / 10)).$((meta * 1000 / n % 10)) hundredths of a byte per page"
	if [ "$order" = 9 ]; then
		# The goal: at most 0.25 bytes per page with 2 MiB blocks.
		ktap_test_result "order=9: metadata at most 0.25 bytes per page ($meta for $n)" test $((meta * 4)) -le $n
	else
		# At most one 96-byte chunk per page plus the XArray's nodes.
		ktap_test_result "order=0: metadata at most 105 bytes per page ($meta for $n)" test "$meta" -le $((n * 105))
	fi
	blocks0=$(ob_stat deflated_blocks_total)
	ob_set_target 0
	ktap_test_result "order=$order: deflates to 0" ob_wait_stat inflated_pages 0
	ktap_print_msg "order=$order: inflate $(ob_stat inflate_ns_per_page) ns/page, deflate $(ob_stat deflate_ns_per_page) ns/page, $(ob_stat deflated_blocks_total) blocks deflated whole"
	if [ "$order" = 9 ]; then
		expect_eq "order=9: every 2 MiB block went back in one free" \
			$(($(ob_stat deflated_blocks_total) - blocks0)) $((n / 512))
	else
		expect_eq "order=0: the set's metadata is gone with its pages" "$(ob_stat frozen_metadata_bytes)" 0
	fi
	ob_unload
}

check 9 $N
check 0 $((N / 4))
ktap_print_msg "MemTotal $(meminfo MemTotal) kB, at load $total0 kB"
expect_eq "no PageOffline page left" "$(ob_offline_pages)" 0
expect_eq "MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"

ktap_finished
