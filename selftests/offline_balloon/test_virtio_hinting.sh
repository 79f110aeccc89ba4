#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Free page hinting (VIRTIO_BALLOON_F_FREE_PAGE_HINT; QEMU free-page-hint=on):
# a live migration (to a sink, then the guest resumes) of a guest whose
# memory is mostly free (after holding data) sends at most half the normal
# (not zero) RAM pages that the same migration sends with no driver hinting,
# with ours as with the in-tree C driver (a kernel with init_on_alloc, as
# Debian's, zeroes each page it allocates to hint, so the migration sends
# hinted pages again, but as zero pages); the hinted blocks come back when the host is done, and memory
# pressure during a migration gets them back early (the shrinker).
. "$(dirname "$0")/lib.sh"

[ -f "$C_KO" ] || ktap_skip_all "$C_KO not found"

ktap_print_header
ktap_set_plan 14

# migrate: first write DIRTY_MIB MiB and free them (free memory of a guest
# that has been working holds data, which a migration sends page by page),
# then a whole migration at 256 MiB/s; prints the normal RAM pages it sent
# (and, as a message, all of its counts).
DIRTY_MIB=600
migrate() {
	touch_mib $DIRTY_MIB && free_touched || return 1
	host migrate-start 256 >/dev/null || return 1
	set -- $(host migrate-wait $((300 * WAIT_SCALE))) || return 1
	ktap_print_msg "migration: $*" >&2
	echo "$4"
}

# A target left by an earlier script would shrink the guest here.
host balloon "${OB_GUEST_MIB:-1024}"
ob_load || ktap_exit_fail_msg "insmod failed"
ob_wait_stat inflated_pages 0 60
expect_eq "ours drives the device" "$(balloon_driver)" offline_balloon
expect_eq "ours negotiates FREE_PAGE_HINT" "$(feature_bit 3)" 1
dev=$(balloon_dev)

echo "${dev##*/}" > /sys/bus/virtio/drivers/offline_balloon/unbind
none=$(migrate)
ktap_print_msg "no driver: the migration sent $none normal RAM pages"
ktap_test_result "a migration with no driver completes" test -n "$none"
echo "${dev##*/}" > /sys/bus/virtio/drivers/offline_balloon/bind

ours=$(migrate)
ktap_print_msg "ours: the migration sent $ours normal RAM pages ($(ob_stat hinted_total) pages hinted)"
ktap_test_result "ours: at most half the normal pages of the migration without hints" \
	test -n "$ours" -a "${ours:-0}" -le $((${none:-0} / 2))
ktap_test_result "ours: a hinting run took place" test "$(ob_stat hint_runs_total)" -ge 1
ktap_test_result "ours: hinted blocks come back when the host is done" \
	ob_wait_stat hinted_pages 0 30

# Memory pressure while the host holds hints: a slow migration, and once the
# hinting run has taken what it can (the held count stops growing), the guest
# writes more than is available meanwhile (64 MiB more, or half the hints if
# fewer; half its memory at least where the hints make up for it), which only
# the hints can make up for.
oom0=$(vmstat oom_kill)
runs0=$(ob_stat hint_runs_total) hinted0=$(ob_stat hinted_total)
host migrate-start 8 >/dev/null
i=0
while [ "$(ob_stat hinted_pages)" = 0 ] && [ $i -lt $((300 * WAIT_SCALE)) ]; do
	sleep 0.1
	i=$((i + 1))
done
prev=-1 i=0
while [ "$(ob_stat hinted_pages)" != "$prev" ] && [ $i -lt $((60 * WAIT_SCALE)) ]; do
	prev=$(ob_stat hinted_pages)
	sleep 0.5
	i=$((i + 1))
done
held=$(ob_stat hinted_pages)
ktap_print_msg "ours: $held pages held as hints during the migration ($(($(ob_stat hint_runs_total) - runs0)) hinting runs, $(($(ob_stat hinted_total) - hinted0)) pages hinted since it started)"
ktap_test_result "ours: free blocks are held as hints while the host migrates" test "$held" -gt 0
avail=$(($(meminfo MemAvailable) / 1024)) held_mib=$((held * PAGE_KB / 1024))
extra=$((held_mib / 2))
[ $extra -le 64 ] || extra=64
mib=$((avail + extra))
half=$(($(meminfo MemTotal) / 2048))
if [ $mib -lt $half ]; then
	mib=$((avail + held_mib / 2))
	[ $mib -le $half ] || mib=$half
fi
ktap_test_result "ours: the guest writes $mib MiB while hints are held" touch_mib $mib
after=$(ob_stat hinted_pages)
ktap_print_msg "ours: $after pages held as hints after writing $mib MiB"
ktap_test_result "ours: memory pressure got hinted blocks back" test "$after" -lt "$held"
free_touched
ktap_test_result "ours: the migration completes (sped up)" host migrate-wait $((300 * WAIT_SCALE)) 1024
expect_eq "ours: no OOM kill" "$(vmstat oom_kill)" "$oom0"
ob_wait_stat hinted_pages 0 30
ob_unload

insmod "$C_KO" || ktap_exit_fail_msg "insmod virtio_balloon.ko failed"
expect_eq "the C driver drives the device" "$(balloon_driver)" virtio_balloon
expect_eq "the C driver negotiates FREE_PAGE_HINT" "$(feature_bit 3)" 1
c=$(migrate)
ktap_print_msg "C: the migration sent $c normal RAM pages (ours: $ours, no driver: $none)"
ktap_test_result "C: at most half the normal pages of the migration without hints" \
	test -n "$c" -a "${c:-0}" -le $((${none:-0} / 2))
rmmod virtio_balloon

ktap_finished
