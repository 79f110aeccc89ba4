#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# debugfs files held open while their directory goes away. Unbinding the
# virtio device removes the directory; a file still open then fails its
# reads, and closing it makes debugfs read the file's file_operations
# (release, owner). Before the review fixes those lived in memory freed with
# the directory: with slab poisoning the close jumped through a poisoned
# pointer. In simulate mode an open file pins the module: rmmod fails.
. "$(dirname "$0")/lib.sh"

MIB_PAGES=256
GUEST_MIB=${OB_GUEST_MIB:-1024}
ROUNDS=5

ktap_print_header
ktap_set_plan $((ROUNDS * 4 + 8))

dev=$(balloon_dev)
name=$(basename "$dev")
total0=$(meminfo MemTotal)
log0=$(dmesg | wc -l)

ob_load || ktap_exit_fail_msg "insmod failed"
host balloon 768
ob_wait_stat inflated_pages $(((GUEST_MIB - 768) * MIB_PAGES)) 60 || ktap_exit_fail_msg "cannot inflate"
for r in $(seq $ROUNDS); do
	exec 3< "$OB_DEBUGFS/stats" 4< "$OB_DEBUGFS/target_pages" 5> "$OB_DEBUGFS/alloc_floor"
	echo "$name" > /sys/bus/virtio/drivers/offline_balloon/unbind
	ktap_test_result "round $r: the device is unbound with three debugfs files open" test ! -e "$OB_DEBUGFS"
	out=$(cat <&3 2>/dev/null)
	ktap_test_result "round $r: reading the removed stats file gives nothing" test -z "$out"
	exec 3<&- 4<&- 5>&-
	ktap_test_result "round $r: closing them leaves no kernel report" \
		sh -c "! dmesg | tail -n +$((log0 + 1)) | grep -E 'BUG|Oops|general protection|Poison|KASAN|WARNING'"
	echo "$name" > /sys/bus/virtio/drivers/offline_balloon/bind
	ktap_test_result "round $r: bound again, the balloon follows the host" \
		ob_wait_stat inflated_pages $(((GUEST_MIB - 768) * MIB_PAGES)) 60
done
host balloon "$GUEST_MIB"
ktap_test_result "virtio: deflates fully" ob_wait_stat inflated_pages 0 60
ktap_test_result "virtio: rmmod" ob_unload

ob_load simulate=1 || ktap_exit_fail_msg "insmod simulate=1 failed"
ob_set_target 1000
exec 3< "$OB_DEBUGFS/stats"
ktap_test_result "simulate: rmmod fails while a debugfs file is open" sh -c "! rmmod $OB_MOD 2>/dev/null"
ktap_test_result "simulate: the module is still there and works" ob_wait_stat inflated_pages 1000 60
exec 3<&-
ktap_test_result "simulate: rmmod once the file is closed" ob_unload
expect_eq "MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"
expect_eq "no PageOffline page left" "$(ob_offline_pages)" 0
expect_eq "the host sees every page returned" "$(host query-balloon)" "$GUEST_MIB"
ktap_finished
