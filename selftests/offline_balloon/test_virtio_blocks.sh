#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# What the host receives from an order-9 inflation, traced in QEMU (trace
# events virtqueue_pop, virtio_balloon_handle_output, ram_block_discard_range).
#
# With free page reporting negotiated (the harness's QEMU has
# free-page-reporting=on) every whole 2 MiB block goes on the reporting
# queue as one descriptor, and the host discards it with one call; its pages
# leave the balloon without a message, except one that migrated: the host
# hears of the new page on the inflate queue and of the old one on the
# deflate queue. The kernel's own reporting is held to 4 MiB blocks
# (page_reporting_order 10) meanwhile, so that every 2 MiB discard is ours.
# After deflation the guest writes most of its memory and reads it back.
#
# With report_blocks=0 every block's 512 PFNs come whole in one inflate
# request (what lets a host with 2 MiB huge pages discard them: QEMU tracks
# one partial huge page at a time); with order=0 single pages keep the
# inflate queue, and blocks arrive split, which shows the check can fail.
. "$(dirname "$0")/lib.sh"

GUEST_MIB=${OB_GUEST_MIB:-1024}
MIB_PAGES=256
PAGES=$((256 * MIB_PAGES))
ORDER_PARAM=/sys/module/page_reporting/parameters/page_reporting_order

ktap_print_header
ktap_set_plan 24

# Back at exit; unset (-1) it becomes the pageblock order at registration.
order0=$(cat $ORDER_PARAM)
[ "$order0" -le 10 ] 2>/dev/null || order0=9
trap 'echo "$order0" > $ORDER_PARAM' EXIT
echo 10 > $ORDER_PARAM

# traced ACTION...: run ACTION (its output to /tmp/ob_traced) with the host
# tracing; print the host's summary "requests N pfns N blocks_whole N
# blocks_split N reports N report_entries N discards_2m N".
traced() {
	host balloon-trace start > /dev/null || return 1
	"$@" > /tmp/ob_traced
	tr_rc=$?
	host balloon-trace stop || return 1
	return $tr_rc
}

# inflate_256: load with the given parameters, inflate 256 MiB from a
# compacted, deflated guest.
inflate_256() {
	sync; echo 3 > /proc/sys/vm/drop_caches
	compact
	# An earlier test may have left a target: start from a deflated balloon.
	host balloon "$GUEST_MIB" || return 1
	ob_load "$@" || return 1
	reported0=$(ob_stat reported_blocks_total)
	untold0=$(ob_stat untold_pages_total)
	failed0=$(ob_stat block_failed_total)
}
inflate() {
	host balloon-wait $((GUEST_MIB - 256)) 120 > /dev/null
}
deflate() {
	host balloon-wait "$GUEST_MIB" 120 > /dev/null && ob_wait_stat inflated_pages 0
}

# The reporting path.
inflate_256 || ktap_exit_fail_msg "cannot load"
expect_eq "REPORTING negotiated, report_blocks in effect" "$(feature_bit 5) $(ob_stat report_blocks)" "1 1"
set -- $(traced inflate) || ktap_exit_fail_msg "traced inflation failed"
reported=$(($(ob_stat reported_blocks_total) - reported0))
ktap_print_msg "reporting: $reported blocks reported; the host saw ${10} reports of ${12} descriptors," \
	"${14} discards of 2 MiB, and $4 PFNs in $2 inflate requests" \
	"($(($(ob_stat block_failed_total) - failed0)) block allocations failed)"
ktap_test_result "reporting: whole blocks went on the reporting queue (at least 120 of 128)" test "$reported" -ge 120
expect_eq "reporting: the host discarded each with one 2 MiB call" "${14}" "$reported"
ktap_test_result "reporting: at most 32 blocks per report" test "${12}" -le $((${10} * 32))
expect_eq "reporting: only the other pages went on the inflate queue" "$4" $((PAGES - reported * 512))
expect_eq "reporting: the host sees the balloon's size" "$(host query-balloon)" $((GUEST_MIB - 256))
expect_eq "reporting: the balloon holds them as its blocks" "$(ob_stat reported_blocks)" "$reported"

# A memory block goes offline: its balloon pages migrate, one by one.
migrated0=$(ob_stat migrated_total)
set -- $(traced offline_a_block)
migrated=$(($(ob_stat migrated_total) - migrated0))
block=$(cut -d' ' -f1 /tmp/ob_traced)
ktap_print_msg "offlining memory${block:-?}: $migrated balloon pages migrated, the host got $4 PFNs in $2 requests"
ktap_test_result "offlining a memory block migrates balloon pages" test "$migrated" -gt 0
expect_eq "offlining: each migration tells the host two PFNs" "$4" $((2 * migrated))
[ -n "$block" ] && echo online > $MEM/memory$block/state

set -- $(traced deflate) || ktap_exit_fail_msg "traced deflation failed"
untold=$(($(ob_stat untold_pages_total) - untold0))
ktap_print_msg "deflation: $untold pages left without a message, $4 PFNs on the deflate queue"
expect_eq "deflation: every page told or of a reported block" $((untold + $4)) $PAGES
ktap_test_result "deflation: pages of reported blocks left without a message" test "$untold" -gt 0
ktap_test_result "deflation: a page that migrated out of a reported block was told" \
	test "$untold" -lt $((reported * 512))
expect_eq "deflation: no reported block left" "$(ob_stat reported_blocks)" 0
fill=$(($(free_kb) / 1024 - 96))
ktap_test_result "deflated memory holds what the guest writes ($fill MiB written and read back)" \
	write_read_back $fill
ob_unload

# report_blocks=0: blocks whole on the inflate queue.
inflate_256 report_blocks=0 || ktap_exit_fail_msg "cannot load with report_blocks=0"
expect_eq "report_blocks=0: not in effect" "$(ob_stat report_blocks)" 0
set -- $(traced inflate) || ktap_exit_fail_msg "traced inflation failed"
failed=$(($(ob_stat block_failed_total) - failed0))
ktap_print_msg "report_blocks=0: $2 requests, $4 PFNs, $6 blocks whole, $8 split, $failed block allocations failed"
expect_eq "report_blocks=0: the host received the 65536 PFNs of 256 MiB" "$4" $PAGES
ktap_test_result "report_blocks=0: requests carry whole blocks (at least 120 of 128)" test "$6" -ge 120
if [ "$failed" = 0 ]; then
	expect_eq "report_blocks=0: no block split across requests" "$8" 0
else
	ktap_test_skip "report_blocks=0: no block split across requests ($failed block allocations failed: single pages)"
fi
ktap_test_result "report_blocks=0: at most 1024 PFNs per request (batch)" test "$2" -ge 64
expect_eq "report_blocks=0: no 2 MiB discard" "${14}" 0
deflate
ob_unload

# order=0: single pages on the inflate queue, where they do not make up a
# whole 2 MiB block (the bulk allocator often hands out whole ones: those
# are reported).
inflate_256 order=0 || ktap_exit_fail_msg "cannot load with order=0"
set -- $(traced inflate) || ktap_exit_fail_msg "traced inflation failed"
reported=$(($(ob_stat reported_blocks_total) - reported0))
ktap_print_msg "order=0: $2 requests, $4 PFNs, $6 blocks whole, $8 split; $reported runs reported"
expect_eq "order=0: the host discarded the whole runs, one call each" "${14}" "$reported"
expect_eq "order=0: the other pages went on the inflate queue" "$4" $((PAGES - reported * 512))
ktap_test_result "order=0: blocks arrive split (the trace sees it)" test "$8" -gt 0
deflate
ob_unload

expect_eq "no PageOffline page left" "$(ob_offline_pages)" 0
ktap_finished
