#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the test guest. The kernel command line's ob.mode selects what runs:
#   check  run the selftests (ob.tests=NAME runs one) and power off
#   run    run the demo and power off
#   bench  run the benchmark and power off
#   serve  load the module and report its balloon every 2 s until killed
#          (make check-libvirt: libvirt drives the balloon)
#   shell  an interactive shell; power off when it exits
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp

mode=shell tests=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	ob.mode=*) mode=${arg#ob.mode=} ;;
	ob.tests=*) tests=$(echo "${arg#ob.tests=}" | tr , " ") ;;
	ob.mem_mib=*) export OB_GUEST_MIB=${arg#ob.mem_mib=} ;;
	esac
done

echo "OB_GUEST_UP mode=$mode"
echo "OB_KERNEL $(cat /proc/version)"
case "$mode" in
check)
	/selftests/offline_balloon/run_tests.sh $tests
	echo "OB_EXIT rc=$?"
	;;
run)
	offline-balloon-demo
	echo "OB_EXIT rc=$?"
	;;
bench)
	offline-balloon-bench
	echo "OB_EXIT rc=$?"
	;;
serve)
	insmod /lib/modules/offline_balloon.ko
	for dev in /sys/bus/virtio/devices/*; do
		[ "$(cat "$dev/device")" = 0x0005 ] && echo "OB_SERVE driver $(basename "$(readlink "$dev/driver")")"
	done
	while :; do
		echo "OB_SERVE $(grep -E '^(inflated|target)_pages ' /sys/kernel/debug/offline_balloon/stats | tr '\n' ' ')"
		sleep 2
	done
	;;
*)
	echo "Guest shell. Module: /lib/modules/offline_balloon.ko, selftests: /selftests/offline_balloon/"
	echo "Host agent: 'host balloon <MiB>', 'host query-balloon'. Leave with 'exit'."
	setsid cttyhack sh -l
	;;
esac
sync
poweroff -f
