#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The benchmark, inside the guest (`make bench`). Prints "OB_BENCH key value"
# lines, one per round for per-round figures, that scripts/bench/report.py
# turns into medians, spreads, a table and JSON. Host-driven times are
# measured by the host from its QMP 'balloon' command until query-balloon
# reports the target (end to end). The drivers' cycles are interleaved (ours,
# C, ours with order=0, ours with report_blocks=0, ours, C, ...) so that
# drift on a shared machine hits them alike. The device has
# free-page-reporting=on (the harness's default), so ours hands its whole
# 2 MiB blocks to the host on the reporting queue; one section replugs a
# device without it, where ours and C both use the inflate queue only. bench.sh may boot several guests (OB_BENCH_BOOT numbers them)
# and merge their rounds: some figures move from one boot to the next. The
# figures taken in one guest only (memory overhead, host memory on normal
# RAM, batch sweep, huge pages) come from the first; host memory on hugetlb
# RAM from a guest of its own (OB_BENCH_PART=hugetlb).
. /selftests/offline_balloon/host_agent.sh
D=/sys/kernel/debug/offline_balloon
KO=/lib/modules/offline_balloon.ko
C_KO=/lib/modules/virtio_balloon.ko
ROUNDS=${OB_BENCH_ROUNDS:-5}
BOOT=${OB_BENCH_BOOT:-1}
# Host-driven cycles (inflation and deflation) per driver and round: the
# drivers take turns cycle by cycle, so that the cycles compared are seconds
# apart (this machine's speed drifts by 10-20% over tens of seconds) and
# every cycle is a sample.
HOST_CYCLES=3
# Host memory measurements per driver, taken in turns (ours, C, ...).
HOSTMEM_ROUNDS=3
# Simulate-mode rounds against the floor: cheap (no reload, no host), so
# eight times as many.
SIM_ROUNDS=$((ROUNDS * 8))
GUEST_MIB=${OB_GUEST_MIB:-1024}
# The guest keeps KEEP_MIB out of the balloon (more for a kernel that keeps
# more to itself: run-guest.sh passes OB_KEEP_MIB).
KEEP_MIB=${OB_KEEP_MIB:-256}
PAGES=$(((GUEST_MIB - KEEP_MIB) * 256))
MEM=/sys/devices/system/memory
BLOCK_PAGES=$(($(printf '%d' "0x$(cat $MEM/block_size_bytes)") / 4096))

out() { echo "OB_BENCH $*"; }
stat() { awk -v k="$1" '$1 == k { print $2 }' $D/stats; }
vmstat() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
# wait_inflated N: wait until the simulate-mode balloon holds N pages (5 min at most).
wait_inflated() {
	t=0
	while [ "$(stat inflated_pages)" != "$1" ]; do
		t=$((t + 1))
		[ $t -le 6000 ] || { echo "the balloon did not reach $1 pages" >&2; exit 1; }
		sleep 0.05
	done
}
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
# balloon MIB: the host sets the guest to MIB and waits; prints the nanoseconds.
balloon() { host balloon-wait "$1" 300 || { echo "host balloon-wait $1 failed" >&2; exit 1; }; }

# settle: wait until free page reporting has caught up before a timed step.
# The guest reports free 2 MiB blocks 2 s after memory is freed (a deflation,
# an onlined block) and QEMU discards what it gets; settled, every round
# starts from the same host state (all free memory reported, none in flight)
# and no reporting competes with the measured work. Done when QEMU's RSS
# moved by less than 1 MiB in half a second, 10 s at most.
settle() {
	sleep 2.5
	set -- $(host host-mem)
	i=0
	while [ $i -lt 15 ]; do
		sleep 0.5
		prev=$1
		set -- $(host host-mem)
		[ $((prev - $1)) -lt 1024 ] && [ $(($1 - prev)) -lt 1024 ] && return 0
		i=$((i + 1))
	done
}

# host_cycle NAME: one host-driven inflation to KEEP_MIB and the deflation
# back, from a settled guest.
host_cycle() {
	settle
	out "$1.inflate_ns $(balloon $KEEP_MIB)"
	out "$1.deflate_ns $(balloon "$GUEST_MIB")"
}

# plug_device PROPS: the host replaces the balloon device by one with these
# virtio-balloon-pci properties; wait (30 s at most) until the guest has it.
plug_device() {
	host balloon-device "$1" > /dev/null || { echo "cannot plug a balloon device with $1" >&2; exit 1; }
	i=0
	until grep -qx 0x0005 /sys/bus/virtio/devices/*/device 2> /dev/null; do
		i=$((i + 1))
		[ $i -le 300 ] || { echo "the guest did not see the device with $1" >&2; exit 1; }
		sleep 0.1
	done
}

# with FN NAME KO [PARAM...]: load the driver KO, run FN NAME, unload it.
with() {
	with_fn=$1 with_name=$2 with_ko=$3
	shift 3
	insmod "$with_ko" "$@"
	$with_fn "$with_name"
	with_ko=${with_ko##*/}
	rmmod "${with_ko%.ko}"
}

# migration NAME: the cost of migrating balloon pages, the same way for
# both drivers. The host inflates the balloon to KEEP_MIB plus one memory
# block, so that a block's worth of memory is free to migrate into (at
# KEEP_MIB, Debian's kernel had less, and offlining retried until its
# timeout); the MIGRATE_BLOCKS memory blocks holding the most balloon pages
# (the balloon is nearly all their content once the page cache is dropped)
# go offline one after the other, which migrates every page in them, and
# online again. Prints, per block (each a sample: the two drivers' i-th
# blocks are paired), the balloon pages and all pages migrated, the
# offlining's time, and for ours the time spent in its migratepage hook.
MIGRATE_BLOCKS=4
migration() {
	balloon $((KEEP_MIB + BLOCK_PAGES / 256)) > /dev/null
	drop_caches
	for b in $(ls -d $MEM/memory* | sed 's/.*memory//'); do
		[ "$b" = 0 ] || echo "$(/selftests/offline_balloon/offline_pages $((b * BLOCK_PAGES)) $BLOCK_PAGES | cut -d' ' -f2) $b"
	done | sort -rn > /tmp/blocks
	settle
	n=0
	while [ $n -lt $MIGRATE_BLOCKS ]; do
		read -r _ b || { echo "fewer than $MIGRATE_BLOCKS memory blocks went offline" >&2; exit 1; }
		m0=$(vmstat balloon_migrate) a0=$(vmstat pgmigrate_success)
		[ "$1" = c ] || h0=$(stat migrate_ns_total)
		t0=$(now_ns)
		if ! timeout 60 sh -c "echo offline > $MEM/memory$b/state" 2>/dev/null; then
			echo "memory$b did not go offline within 60 s (MemFree $(meminfo MemFree) kB)" >&2
			continue
		fi
		out "$1.offline_ns $(($(now_ns) - t0))"
		out "$1.migrated $(($(vmstat balloon_migrate) - m0))"
		out "$1.pgmigrate $(($(vmstat pgmigrate_success) - a0))"
		[ "$1" = c ] || out "$1.hook_ns $(($(stat migrate_ns_total) - h0))"
		echo online > $MEM/memory$b/state
		n=$((n + 1))
	done < /tmp/blocks
	balloon "$GUEST_MIB" > /dev/null
}

# hostmem NAME KO [PARAM...]: the host memory the balloon gives back. The
# guest first touches its free memory (a file in its tmpfs root, removed
# again) so that the host backs it; then, with the driver loaded, the host
# inflates the balloon to half the guest (host_memory NAME).
hostmem() {
	dd if=/dev/zero of=/tmp/touch bs=1M count=$(($(meminfo MemFree) / 1024 - 16)) 2> /dev/null
	rm -f /tmp/touch
	with host_memory "$@"
}

# host_memory NAME: prints QEMU's VmRSS and the host's free hugetlb memory
# (kB) before and after inflating to half the guest, and the memory
# ballooned.
host_memory() {
	out "$1.host_before $(host host-mem)"
	balloon $((GUEST_MIB / 2)) > /dev/null
	out "$1.host_after $(host host-mem)"
	out "$1.ballooned_kb $((GUEST_MIB / 2 * 1024))"
	balloon "$GUEST_MIB" > /dev/null
}

# overhead NAME: driver memory (Slab + VmallocUsed) at 0 and at KEEP_MIB.
overhead() {
	drop_caches
	out "$1.mem0_kb $(($(meminfo Slab) + $(meminfo VmallocUsed)))"
	balloon $KEEP_MIB > /dev/null
	drop_caches
	out "$1.mem1_kb $(($(meminfo Slab) + $(meminfo VmallocUsed)))"
	balloon "$GUEST_MIB" > /dev/null
}

# A guest whose RAM is a hugetlb memfd of 2 MiB pages (bench.sh boots it):
# only host memory.
if [ "${OB_BENCH_PART:-main}" = hugetlb ]; then
	r=0
	while [ $r -lt $HOSTMEM_ROUNDS ]; do
		hostmem hugetlb.ours $KO
		hostmem hugetlb.noreport $KO report_blocks=0
		hostmem hugetlb.order0 $KO order=0
		hostmem hugetlb.c $C_KO
		r=$((r + 1))
	done
	out "done_hugetlb 1"
	exit 0
fi

out "pages $PAGES"
out "rounds $ROUNDS"
out "host_cycles $HOST_CYCLES"
out "migrate_blocks $MIGRATE_BLOCKS"
out "sim_rounds $SIM_ROUNDS"
out "guest_mib $GUEST_MIB"

echo "== host-driven, interleaved: offline_balloon (order 9, batch 1024), C virtio_balloon, offline_balloon order=0"
drop_caches
[ "$BOOT" = 1 ] && out "base_mem_kb $(($(meminfo Slab) + $(meminfo VmallocUsed)))"
if [ "$BOOT" = 1 ]; then
	insmod $KO
	overhead ours
	out "ours.module_kb $(($(awk '$1 == "offline_balloon" { print $2 }' /proc/modules) / 1024))"
	rmmod offline_balloon
	with overhead c $C_KO
fi
# A round: HOST_CYCLES host-driven cycles of each driver, the drivers
# taking turns cycle by cycle, then each driver's migration.
r=0
while [ $r -lt "$ROUNDS" ]; do
	c=0
	while [ $c -lt $HOST_CYCLES ]; do
		with host_cycle ours $KO
		with host_cycle c $C_KO
		with host_cycle order0 $KO order=0
		with host_cycle noreport $KO report_blocks=0
		c=$((c + 1))
	done
	with migration ours $KO
	with migration c $C_KO
	r=$((r + 1))
done

if [ "$BOOT" = 1 ]; then
	echo "== host memory given back, normal (4 KiB) guest RAM"
	r=0
	while [ $r -lt $HOSTMEM_ROUNDS ]; do
		hostmem normal.ours $KO
		hostmem normal.noreport $KO report_blocks=0
		hostmem normal.c $C_KO
		r=$((r + 1))
	done

	echo "== host-driven: batch size sweep (single pages, as the C driver; 2 MiB blocks on the reporting queue)"
	c=0
	while [ $c -lt $HOST_CYCLES ]; do
		for b in 256 1024 4096 16384; do
			with host_cycle "batch$b" $KO batch=$b order=0
		done
		for b in 1024 4096 16384; do
			with host_cycle "rbatch$b" $KO batch=$b
		done
		c=$((c + 1))
	done

	echo "== host-driven, a device without free-page-reporting (QEMU's default): ours and C, interleaved"
	plug_device deflate-on-oom=on,free-page-hint=on
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		with host_cycle noreporting.ours $KO
		with host_cycle noreporting.c $C_KO
		r=$((r + 1))
	done
	plug_device deflate-on-oom=on,free-page-reporting=on,free-page-hint=on
fi

# Simulate mode balloons 3/4 of the free memory (as the selftests do): its
# allocations do not reclaim hard, so a target near the limit backs off.
drop_caches
SIM_PAGES=$(($(meminfo MemFree) / 4 * 3 / 4))
out "sim_pages $SIM_PAGES"

echo "== guest side, interleaved: simulate mode (single pages) vs plain page allocation"
insmod $KO simulate=1 order=0
r=0
while [ $r -lt "$SIM_ROUNDS" ]; do
	echo $SIM_PAGES > $D/alloc_floor
	read -r _ n _ a _ f < $D/alloc_floor
	out "floor.alloc_ns_per_page $a"
	out "floor.free_ns_per_page $f"
	i0=$(stat inflate_ns_total) d0=$(stat deflate_ns_total) c0=$(stat core_list_ns_total)
	echo $SIM_PAGES > $D/target_pages; wait_inflated $SIM_PAGES
	echo 0 > $D/target_pages; wait_inflated 0
	out "sim.inflate_ns_per_page $((($(stat inflate_ns_total) - i0) / SIM_PAGES))"
	out "sim.deflate_ns_per_page $((($(stat deflate_ns_total) - d0) / SIM_PAGES))"
	out "sim.core_ns_per_page $((($(stat core_list_ns_total) - c0) / SIM_PAGES))"
	r=$((r + 1))
done
rmmod offline_balloon

echo "== simulate mode, interleaved: inflate and deflate per page, order 9 and order 0"
r=0
while [ $r -lt "$ROUNDS" ]; do
	for order in 9 0; do
		insmod $KO simulate=1 order=$order
		echo $SIM_PAGES > $D/target_pages; wait_inflated $SIM_PAGES
		echo 0 > $D/target_pages; wait_inflated 0
		out "sim$order.inflate_ns_per_page $(stat inflate_ns_per_page)"
		out "sim$order.deflate_ns_per_page $(stat deflate_ns_per_page)"
		out "sim$order.deflated_blocks $(stat deflated_blocks_total)"
		rmmod offline_balloon
	done
	r=$((r + 1))
done

[ "$BOOT" = 1 ] || { out "done 1"; exit 0; }
echo "== huge-page ballooning: order 0 vs order 9 (simulate mode)"
echo always > /sys/kernel/mm/transparent_hugepage/enabled
for order in 0 9; do
	drop_caches
	echo 1 > /proc/sys/vm/compact_memory
	insmod $KO simulate=1 order=$order
	echo $SIM_PAGES > $D/target_pages; wait_inflated $SIM_PAGES
	set -- $(/selftests/offline_balloon/offline_pages)
	out "sim$order.offline $2"
	out "sim$order.blocks2m $6"
	out "sim$order.blocks_inflated $(stat inflated_blocks_total)"
	echo 0 > $D/target_pages; wait_inflated 0
	out "sim$order.free_2m_after_deflate $(awk '{ s += $(NF - 1) + $NF } END { print s }' /proc/buddyinfo)"
	t0=$(vmstat thp_fault_alloc)
	set -- $(thp_touch 256)
	out "sim$order.thp_touch $2 $4"
	out "sim$order.thp_fault_alloc $(($(vmstat thp_fault_alloc) - t0))"
	rmmod offline_balloon
done
out "done 1"
