#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# What the host receives from an order-9 inflation: every 2 MiB block's 512
# PFNs whole and in one request, which is what lets a host that backs the
# guest with 2 MiB huge pages discard them (QEMU frees a host huge page only
# once all its 4 KiB pages are ballooned, and tracks one partial page at a
# time). The host traces the requests (QEMU trace events virtqueue_pop and
# virtio_balloon_handle_output); with order=0 blocks arrive split, which
# shows the check can fail.
. "$(dirname "$0")/lib.sh"

GUEST_MIB=${OB_GUEST_MIB:-1024}
TARGET_MIB=$((GUEST_MIB - 256))

ktap_print_header
ktap_set_plan 7

# traced_inflation ARGS: load with ARGS, trace the host's view of inflating
# 256 MiB, deflate; print the host's summary
# "requests N pfns N blocks_whole N blocks_split N".
traced_inflation() {
	sync; echo 3 > /proc/sys/vm/drop_caches
	compact
	# An earlier test may have left a target: start from a deflated balloon.
	host balloon "$GUEST_MIB" || return 1
	ob_load "$@" || return 1
	host balloon-trace start > /dev/null || return 1
	host balloon-wait $TARGET_MIB 120 > /dev/null || return 1
	summary=$(host balloon-trace stop) || return 1
	echo "$summary $(ob_stat block_failed_total)"
	host balloon-wait "$GUEST_MIB" 120 > /dev/null
	ob_unload
}

r=$(traced_inflation order=9) || ktap_exit_fail_msg "traced inflation with order=9 failed"
set -- $r
ktap_print_msg "order=9: $2 requests, $4 PFNs, $6 blocks whole, $8 split, $9 block allocations failed"
expect_eq "order=9: the host received the 65536 PFNs of 256 MiB" "$4" 65536
ktap_test_result "order=9: requests carry whole blocks (at least 120 of 128)" test "$6" -ge 120
if [ "$9" = 0 ]; then
	expect_eq "order=9: no block split across requests" "$8" 0
else
	ktap_test_skip "order=9: no block split across requests ($9 block allocations failed: single pages)"
fi
ktap_test_result "order=9: at most 1024 PFNs per request (batch)" test "$2" -ge 64

r=$(traced_inflation order=0) || ktap_exit_fail_msg "traced inflation with order=0 failed"
set -- $r
ktap_print_msg "order=0: $2 requests, $4 PFNs, $6 blocks whole, $8 split"
expect_eq "order=0: the host received the 65536 PFNs of 256 MiB" "$4" 65536
ktap_test_result "order=0: blocks arrive split (the trace sees it)" test "$8" -gt 0
expect_eq "no PageOffline page left" "$(ob_offline_pages)" 0
ktap_finished
