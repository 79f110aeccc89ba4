#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The benchmark, inside the guest (`make bench`). Prints "OB_BENCH key value"
# lines that scripts/bench/report.py turns into a table and JSON. Times of
# host-driven runs are measured by the host from its QMP 'balloon' command
# until query-balloon reports the target (end to end).
. /selftests/offline_balloon/host_agent.sh
D=/sys/kernel/debug/offline_balloon
KO=/lib/modules/offline_balloon.ko
C_KO=/lib/modules/virtio_balloon.ko
ROUNDS=${OB_BENCH_ROUNDS:-5}
GUEST_MIB=${OB_GUEST_MIB:-1024}
KEEP_MIB=256
PAGES=$(((GUEST_MIB - KEEP_MIB) * 256))

out() { echo "OB_BENCH $*"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
stat() { awk -v k="$1" '$1 == k { print $2 }' $D/stats; }
vmstat() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
wait_inflated() { while [ "$(stat inflated_pages)" != "$1" ]; do sleep 0.05; done; }

# host_rounds NAME ROUNDS: host-driven inflate to KEEP_MIB and deflate back.
host_rounds() {
	: > /tmp/inflate; : > /tmp/deflate
	r=0
	while [ $r -lt "$2" ]; do
		host balloon-wait $KEEP_MIB 300 >> /tmp/inflate || return 1
		host balloon-wait "$GUEST_MIB" 300 >> /tmp/deflate || return 1
		r=$((r + 1))
	done
	out "$1.inflate_ns $(median < /tmp/inflate)"
	out "$1.deflate_ns $(median < /tmp/deflate)"
}

# migration NAME: compaction over a host-inflated balloon.
migration() {
	host balloon-wait $KEEP_MIB 300 > /dev/null
	m0=$(vmstat balloon_migrate)
	t0=$(now_ns)
	echo 1 > /proc/sys/vm/compact_memory
	t1=$(now_ns)
	out "$1.migrated $(($(vmstat balloon_migrate) - m0))"
	out "$1.compact_ns $((t1 - t0))"
	host balloon-wait "$GUEST_MIB" 300 > /dev/null
}

# overhead NAME: driver memory (Slab + VmallocUsed) at 0 and at KEEP_MIB.
overhead() {
	sync; echo 3 > /proc/sys/vm/drop_caches
	out "$1.mem0_kb $(($(meminfo Slab) + $(meminfo VmallocUsed)))"
	host balloon-wait $KEEP_MIB 300 > /dev/null
	sync; echo 3 > /proc/sys/vm/drop_caches
	out "$1.mem1_kb $(($(meminfo Slab) + $(meminfo VmallocUsed)))"
	host balloon-wait "$GUEST_MIB" 300 > /dev/null
}

out "pages $PAGES"
out "rounds $ROUNDS"

echo "== host-driven: offline_balloon (defaults: batch 1024, order 9)"
sync; echo 3 > /proc/sys/vm/drop_caches
base=$(($(meminfo Slab) + $(meminfo VmallocUsed)))
out "base_mem_kb $base"
insmod $KO
host_rounds ours "$ROUNDS"
migration ours
overhead ours
out "ours.module_kb $(($(awk '$1 == "offline_balloon" { print $2 }' /proc/modules) / 1024))"
rmmod offline_balloon

echo "== host-driven: in-tree C virtio_balloon"
insmod $C_KO
host_rounds c "$ROUNDS"
migration c
overhead c
rmmod virtio_balloon

echo "== host-driven: offline_balloon with single pages only (order 0)"
insmod $KO order=0
host_rounds order0 "$ROUNDS"
rmmod offline_balloon

echo "== host-driven: batch size sweep (single pages, as the C driver)"
for b in 256 1024 4096 16384; do
	insmod $KO batch=$b order=0
	host_rounds "batch$b" 3
	rmmod offline_balloon
done

echo "== guest side: simulate mode (single pages) vs plain page allocation"
insmod $KO simulate=1 order=0
: > /tmp/fa; : > /tmp/ff; : > /tmp/si; : > /tmp/sd
r=0
while [ $r -lt "$ROUNDS" ]; do
	echo $PAGES > $D/alloc_floor
	read -r _ n _ a _ f < $D/alloc_floor
	echo "$a" >> /tmp/fa; echo "$f" >> /tmp/ff
	i0=$(stat inflate_ns_total); d0=$(stat deflate_ns_total)
	echo $PAGES > $D/target_pages; wait_inflated $PAGES
	echo 0 > $D/target_pages; wait_inflated 0
	echo $((($(stat inflate_ns_total) - i0) / PAGES)) >> /tmp/si
	echo $((($(stat deflate_ns_total) - d0) / PAGES)) >> /tmp/sd
	r=$((r + 1))
done
out "floor.alloc_ns_per_page $(median < /tmp/fa)"
out "floor.free_ns_per_page $(median < /tmp/ff)"
out "sim.inflate_ns_per_page $(median < /tmp/si)"
out "sim.deflate_ns_per_page $(median < /tmp/sd)"
rmmod offline_balloon

echo "== huge-page ballooning: order 0 vs order 9 (simulate mode)"
echo always > /sys/kernel/mm/transparent_hugepage/enabled
for order in 0 9; do
	sync; echo 3 > /proc/sys/vm/drop_caches
	echo 1 > /proc/sys/vm/compact_memory
	insmod $KO simulate=1 order=$order
	echo $PAGES > $D/target_pages; wait_inflated $PAGES
	out "sim$order.inflate_ns_per_page $(($(stat inflate_ns_total) / PAGES))"
	set -- $(/selftests/offline_balloon/offline_pages)
	out "sim$order.offline $2"
	out "sim$order.blocks2m $6"
	out "sim$order.blocks_inflated $(stat inflated_blocks_total)"
	echo 0 > $D/target_pages; wait_inflated 0
	out "sim$order.deflate_ns_per_page $(($(stat deflate_ns_total) / PAGES))"
	out "sim$order.free_2m_after_deflate $(awk '{ s += $(NF - 1) + $NF } END { print s }' /proc/buddyinfo)"
	t0=$(vmstat thp_fault_alloc)
	set -- $(thp_touch 256)
	out "sim$order.thp_touch $2 $4"
	out "sim$order.thp_fault_alloc $(($(vmstat thp_fault_alloc) - t0))"
	rmmod offline_balloon
done
out "done 1"
