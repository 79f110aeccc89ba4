#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The `make run` demo, inside the guest: the host drives the balloon through
# the virtio-balloon device (QMP 'balloon', via the host agent), compaction
# migrates balloon pages while the host's view stays the same, the host reads
# the guest's statistics, and the balloon deflates. It checks what it says:
# it fails unless compaction migrated balloon pages and the host's view
# stayed put (test_demo.sh runs it in the suite).
set -e
. /selftests/offline_balloon/host_agent.sh
D=/sys/kernel/debug/offline_balloon
GUEST_MIB=${OB_GUEST_MIB:-1024}
KEEP_MIB=${OB_KEEP_MIB:-256}

meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
stat() { awk -v k="$1" '$1 == k { print $2 }' $D/stats; }
wait_inflated() { while [ "$(stat inflated_pages)" != "$1" ]; do sleep 0.1; done; }
# wait_failed F0: until an inflation batch fell short of memory after F0.
wait_failed() { while [ "$(stat alloc_failed_total)" -le "$1" ]; do sleep 0.1; done; }
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
kept=$(((GUEST_MIB - KEEP_MIB) * 256))
echo "== host: balloon $KEEP_MIB (the guest keeps $KEEP_MIB MiB, the balloon takes $((GUEST_MIB - KEEP_MIB)) MiB)"
host balloon $KEEP_MIB
wait_inflated $kept
show
# Balloon pages in whole 2 MiB blocks give compaction nothing to move: the
# balloon first takes all it can get and gives back down to the same size,
# leaving its pages and free holes all over memory (up to three rounds, as
# the holes may still come out contiguous).
round=0 migrated=0
while [ $migrated = 0 ] && [ $round -lt 3 ]; do
	round=$((round + 1))
	echo "== host: balloon 1, then $KEEP_MIB again (round $round): the balloon takes all it can, then gives back, leaving holes"
	failed0=$(stat alloc_failed_total)
	host balloon 1
	wait_failed "$failed0"
	host balloon $KEEP_MIB
	wait_inflated $kept
	show
	before=$(host query-balloon) migrated0=$(stat migrated_total)
	echo "== guest: echo 1 > /proc/sys/vm/compact_memory"
	echo 1 > /proc/sys/vm/compact_memory
	show
	migrated=$(($(stat migrated_total) - migrated0))
done
after=$(host query-balloon)
echo "== compaction migrated $migrated balloon pages; the host saw $before MiB before and $after MiB after"
shown=0
[ $migrated -gt 0 ] && [ "$after" = "$before" ] && [ "$after" = $KEEP_MIB ] || shown=1
echo "== host: guest-stats (polling every second)"
host stats-interval 1
sleep 2
host stats | tr ',' '\n' | grep -E 'stat-(total|free|available)-memory|stat-minor'
host stats-interval 0
echo "== host: balloon $GUEST_MIB"
host balloon $GUEST_MIB
wait_inflated 0
show
echo "== cat $D/stats"
cat $D/stats
echo "== rmmod offline_balloon"
rmmod offline_balloon
dmesg | grep offline_balloon | tail -2
[ $shown = 0 ] || { echo "== the demo did not show what it says" >&2; exit 1; }
