#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Free page reporting (VIRTIO_BALLOON_F_REPORTING; QEMU free-page-reporting=on),
# ours and the in-tree C driver in the same scenario: the guest writes
# TOUCH_MIB MiB of anonymous memory and frees them, and within a bounded time
# the QEMU process's resident memory drops by at least 80% of that. With the balloon inflated
# at the same time the balloon's counters stay exact and no ballooned page
# is ever reported.
. "$(dirname "$0")/lib.sh"

TOUCH_MIB=600
MIB_PAGES=256
GUEST_MIB=${OB_GUEST_MIB:-1024}
WANT_KB=$((TOUCH_MIB * 1024 * 80 / 100))

[ -f "$C_KO" ] || ktap_skip_all "$C_KO not found"

ktap_print_header
ktap_set_plan 15

# A target left by an earlier script would shrink the guest here.
host balloon "${OB_GUEST_MIB:-1024}"
ob_load || ktap_exit_fail_msg "insmod failed"
ob_wait_stat inflated_pages 0 60
expect_eq "ours drives the device" "$(balloon_driver)" offline_balloon
expect_eq "ours negotiates REPORTING" "$(feature_bit 5)" 1

reported0=$(ob_stat reported_pages_total)
set -- $(rss_drop_after_free $TOUCH_MIB $WANT_KB 60)
ours=${2:-0}
ktap_print_msg "ours: QEMU's RSS dropped by $ours kB after $TOUCH_MIB MiB were freed (80% within ${1:-?} s)"
ktap_test_result "ours: RSS drops by >= 80% of the $TOUCH_MIB MiB freed" test "$ours" -ge $WANT_KB
reported=$(($(ob_stat reported_pages_total) - reported0))
ktap_print_msg "ours: $reported pages in $(ob_stat report_requests_total) reports"
ktap_test_result "ours: the freed memory was reported" test $reported -ge $((WANT_KB / PAGE_KB))
expect_eq "ours: no reported block was a ballooned page" "$(ob_stat reported_offline_pages)" 0

# Reporting while the balloon holds a third of the guest.
keep=$((GUEST_MIB * 2 / 3))
inflated=$(((GUEST_MIB - keep) * MIB_PAGES))
total0=$(meminfo MemTotal)
host balloon $keep
ktap_test_result "the host inflates the balloon to $((GUEST_MIB - keep)) MiB" \
	ob_wait_stat inflated_pages $inflated 120
reported0=$(ob_stat reported_pages_total)
touch_mib $((keep / 2))
free_touched
i=0
while [ "$(ob_stat reported_pages_total)" = "$reported0" ] && [ $i -lt $((30 * WAIT_SCALE)) ]; do
	sleep 1
	i=$((i + 1))
done
ktap_test_result "pages freed beside the inflated balloon are reported" \
	test "$(ob_stat reported_pages_total)" -gt "$reported0"
expect_eq "the balloon's size is unchanged" "$(ob_stat inflated_pages)" $inflated
expect_eq "the host's view is unchanged" "$(host query-balloon)" $keep
expect_eq "MemTotal is exactly what the balloon left" "$(meminfo MemTotal)" \
	$((total0 - inflated * PAGE_KB))
expect_consistent "inflated == movable + frozen == PageOffline pages"
expect_eq "still no reported block was a ballooned page" "$(ob_stat reported_offline_pages)" 0
host balloon "$GUEST_MIB"
ob_wait_stat inflated_pages 0 120
ob_unload

insmod "$C_KO" || ktap_exit_fail_msg "insmod virtio_balloon.ko failed"
expect_eq "the C driver drives the device" "$(balloon_driver)" virtio_balloon
expect_eq "the C driver negotiates REPORTING" "$(feature_bit 5)" 1
set -- $(rss_drop_after_free $TOUCH_MIB $WANT_KB 60)
c=${2:-0}
ktap_print_msg "C: QEMU's RSS dropped by $c kB after $TOUCH_MIB MiB were freed (80% within ${1:-?} s; ours: $ours kB)"
ktap_test_result "C: RSS drops by >= 80% of the $TOUCH_MIB MiB freed" test "$c" -ge $WANT_KB
rmmod virtio_balloon

ktap_finished
