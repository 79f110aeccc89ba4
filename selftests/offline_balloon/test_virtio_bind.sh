#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Replacing the in-tree C virtio_balloon driver: with both loaded, the device
# moves from one driver to the other through sysfs unbind/bind; removing the
# device from our driver while inflated gives every page back.
. "$(dirname "$0")/lib.sh"

MIB_PAGES=256
GUEST_MIB=${OB_GUEST_MIB:-1024}

[ -f "$C_KO" ] || ktap_skip_all "$C_KO not found"

ktap_print_header
ktap_set_plan 10

dev=$(balloon_dev)
name=$(basename "$dev")
total0=$(meminfo MemTotal)

insmod "$C_KO" || ktap_exit_fail_msg "insmod virtio_balloon.ko failed"
expect_eq "the C driver binds the device first" "$(balloon_driver)" virtio_balloon
ob_load || ktap_exit_fail_msg "insmod offline_balloon.ko failed"
expect_eq "loading ours leaves it with the C driver" "$(balloon_driver)" virtio_balloon

echo "$name" > /sys/bus/virtio/drivers/virtio_balloon/unbind
echo "$name" > /sys/bus/virtio/drivers/offline_balloon/bind
expect_eq "unbind + bind moves the device to ours" "$(balloon_driver)" offline_balloon
host balloon 768
ktap_test_result "ours follows the host (balloon 768)" \
	ob_wait_stat inflated_pages $(((GUEST_MIB - 768) * MIB_PAGES)) 60

echo "$name" > /sys/bus/virtio/drivers/offline_balloon/unbind
expect_eq "device removal while inflated: MemTotal restored" "$(meminfo MemTotal)" "$total0"
expect_eq "device removal: no PageOffline page left" "$(ob_offline_pages)" 0
expect_eq "device removal: the host sees every page returned" "$(host query-balloon)" "$GUEST_MIB"
ktap_test_result "debugfs directory gone with the device" test ! -e "$OB_DEBUGFS"

echo "$name" > /sys/bus/virtio/drivers/offline_balloon/bind
ktap_test_result "binding again inflates to the host's target" \
	ob_wait_stat inflated_pages $(((GUEST_MIB - 768) * MIB_PAGES)) 60
host balloon "$GUEST_MIB"
ob_wait_stat inflated_pages 0 60
ob_unload
rmmod virtio_balloon
expect_eq "MemTotal restored after both drivers are gone" "$(meminfo MemTotal)" "$total0"

ktap_finished
