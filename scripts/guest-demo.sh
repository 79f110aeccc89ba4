#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The `make run` demo, inside the guest: a simulate-mode balloon inflates,
# compaction migrates its pages, and it deflates, with statistics shown.
set -e
D=/sys/kernel/debug/offline_balloon
N=131072

meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
stat() { awk -v k="$1" '$1 == k { print $2 }' $D/stats; }
wait_inflated() { while [ "$(stat inflated_pages)" != "$1" ]; do sleep 0.1; done; }
show() {
	echo "   MemTotal $(meminfo MemTotal) kB, MemFree $(meminfo MemFree) kB," \
		"inflated_pages $(stat inflated_pages), migrated_total $(stat migrated_total)," \
		"vmstat balloon_migrate $(awk '$1 == "balloon_migrate" { print $2 }' /proc/vmstat)"
}

echo "== insmod offline_balloon.ko simulate=1 (movable pages)"
insmod /lib/modules/offline_balloon.ko simulate=1
show
echo "== echo $N > $D/target_pages (512 MiB)"
echo $N > $D/target_pages
wait_inflated $N
show
echo "== echo 1 > /proc/sys/vm/compact_memory"
echo 1 > /proc/sys/vm/compact_memory
show
echo "== echo 0 > $D/target_pages"
echo 0 > $D/target_pages
wait_inflated 0
show
echo "== cat $D/stats"
cat $D/stats
echo "== rmmod offline_balloon"
rmmod offline_balloon
dmesg | grep offline_balloon
