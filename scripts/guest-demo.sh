#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The `make run` demo, inside the guest: the host drives the balloon through
# the virtio-balloon device (QMP 'balloon', via the host agent), compaction
# migrates balloon pages while the host's view stays the same, the host reads
# the guest's statistics, and the balloon deflates.
set -e
. /selftests/offline_balloon/host_agent.sh
D=/sys/kernel/debug/offline_balloon

meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
stat() { awk -v k="$1" '$1 == k { print $2 }' $D/stats; }
wait_inflated() { while [ "$(stat inflated_pages)" != "$1" ]; do sleep 0.1; done; }
show() {
	echo "   guest: MemTotal $(meminfo MemTotal) kB, inflated_pages $(stat inflated_pages)," \
		"migrated_total $(stat migrated_total), vmstat balloon_migrate" \
		"$(awk '$1 == "balloon_migrate" { print $2 }' /proc/vmstat);" \
		"host: query-balloon $(host query-balloon) MiB"
}

echo "== insmod offline_balloon.ko (virtio backend)"
insmod /lib/modules/offline_balloon.ko
dmesg | grep offline_balloon
show
echo "== host: balloon 256 (the guest keeps 256 MiB, the balloon takes 768 MiB)"
host balloon 256
wait_inflated 196608
show
echo "== guest: echo 1 > /proc/sys/vm/compact_memory"
echo 1 > /proc/sys/vm/compact_memory
show
echo "== host: guest-stats (polling every second)"
host stats-interval 1
sleep 2
host stats | tr ',' '\n' | grep -E 'stat-(total|free|available)-memory|stat-minor'
host stats-interval 0
echo "== host: balloon 1024"
host balloon 1024
wait_inflated 0
show
echo "== cat $D/stats"
cat $D/stats
echo "== rmmod offline_balloon"
rmmod offline_balloon
dmesg | grep offline_balloon | tail -2
