#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the offline_balloon selftests (sourced).

. "$(dirname "$0")/ktap_helpers.sh"
. "$(dirname "$0")/host_agent.sh"

OB_MOD=offline_balloon
OB_KO=${OB_KO:-/lib/modules/offline_balloon.ko}
OB_DEBUGFS=/sys/kernel/debug/offline_balloon
PAGE_KB=4

[ "$(id -u)" = 0 ] || ktap_skip_all "needs root"
[ -f "$OB_KO" ] || ktap_skip_all "$OB_KO not found"

# The kernel's configuration, as the harness put it in the initramfs (the
# stock Debian kernel has no /proc/config.gz).
OB_KCONFIG=/etc/kernel-config
kconfig() {
	grep -q "^CONFIG_$1=[ym]" $OB_KCONFIG
}
# need_config OPTION...: skip the whole script, naming the first option the
# kernel lacks.
need_config() {
	for opt in "$@"; do
		kconfig "$opt" || ktap_skip_all "needs CONFIG_$opt, which this kernel does not set"
	done
}

# Under KASAN (the harness sets OB_KASAN=1 for KERNEL_VARIANT=kasan) freed
# slab objects wait in KASAN's quarantine, up to 1/32 of RAM, before they
# are really freed: memory tolerances grow by that bound there. Leaks are
# judged on the default kernel; the KASAN run is for memory safety.
# Everything also runs several times slower there: waits last 5 times longer.
# KASAN's shadow takes 1/8 of RAM: host-driven tests keep KEEP_MIB of the
# guest out of the balloon (256 MiB, 512 under KASAN; the harness raises it
# with OB_KEEP_MIB for a kernel that keeps more memory to itself).
KASAN_SLACK_KB=0 WAIT_SCALE=1 KEEP_MIB=${OB_KEEP_MIB:-256}
if [ "${OB_KASAN:-0}" = 1 ]; then
	KASAN_SLACK_KB=$(($(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo) / 32))
	WAIT_SCALE=5 KEEP_MIB=512
fi

ob_loaded() {
	grep -q "^$OB_MOD " /proc/modules
}

ob_load() {
	ob_loaded && ob_unload
	insmod "$OB_KO" "$@"
}

ob_unload() {
	rmmod "$OB_MOD"
}

# meminfo FIELD: the value of FIELD in /proc/meminfo (kB).
meminfo() {
	awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo
}

# free_kb: free memory in kB, MemFree plus the pages cached on the per-cpu
# free lists (/proc/zoneinfo "count:"), which MemFree leaves out and which
# can hold tens of MiB after large frees.
free_kb() {
	echo $(($(meminfo MemFree) + $(awk '/ count: / { s += $2 } END { print s + 0 }' /proc/zoneinfo) * PAGE_KB))
}

# vmstat FIELD: the value of FIELD in /proc/vmstat.
vmstat() {
	awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat
}

# expect_eq DESC GOT WANT: pass if equal, otherwise explain.
expect_eq() {
	if [ "$2" = "$3" ]; then
		ktap_test_pass "$1"
	else
		ktap_print_msg "$1: got '$2', want '$3'"
		ktap_test_fail "$1"
	fi
}

# expect_within DESC GOT WANT TOLERANCE: pass if |GOT - WANT| <= TOLERANCE.
expect_within() {
	d=$(($2 - $3))
	[ "$d" -lt 0 ] && d=$((-d))
	if [ "$d" -le "$4" ]; then
		ktap_test_pass "$1"
	else
		ktap_print_msg "$1: got $2, want $3 +- $4"
		ktap_test_fail "$1"
	fi
}

# cpu_busy_pct SECONDS: percent of CPU time (all CPUs) not idle over SECONDS.
cpu_busy_pct() {
	set -- $(head -1 /proc/stat) "$1"
	b0=$(($2 + $3 + $4 + $7 + $8)) a0=$(($2 + $3 + $4 + $5 + $6 + $7 + $8))
	sleep "${12}"
	set -- $(head -1 /proc/stat)
	echo $(((($2 + $3 + $4 + $7 + $8 - b0) * 100) / ($2 + $3 + $4 + $5 + $6 + $7 + $8 - a0)))
}

# ob_stat NAME: a value of debugfs stats.
ob_stat() {
	awk -v k="$1" '$1 == k { print $2 }' "$OB_DEBUGFS/stats"
}

# ob_self_check FIELD: a count of debugfs self_check, the walk over the
# frozen pages (pages, offline, refcount0, skippable, lru_linked,
# private_set, mapping_set).
ob_self_check() {
	awk -v k="$1" '{ for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1) }' "$OB_DEBUGFS/self_check"
}

# ob_set_target PAGES: set the simulate-mode target.
ob_set_target() {
	echo "$1" > "$OB_DEBUGFS/target_pages"
}

# ob_wait_stat NAME VALUE [SECONDS]: wait until stats NAME equals VALUE.
ob_wait_stat() {
	i=0
	while [ "$(ob_stat "$1")" != "$2" ]; do
		i=$((i + 1))
		if [ $i -gt $((${3:-60} * 10 * WAIT_SCALE)) ]; then
			ktap_print_msg "timeout waiting for $1 == $2 (is $(ob_stat "$1"))"
			return 1
		fi
		sleep 0.1
	done
}

# ob_wait_full PAGES FAILED0 [SECONDS]: wait until the balloon holds PAGES,
# or alloc_failed_total has moved from FAILED0 (it took what it could), or
# the OOM notifier deflated it (memory ran out before an allocation of the
# balloon failed; the notifier lowers the target to what the balloon holds).
ob_wait_full() {
	i=0 oom=$(ob_stat oom_deflated_total)
	while [ "$(ob_stat inflated_pages)" != "$1" ] && [ "$(ob_stat alloc_failed_total)" = "$2" ] &&
		[ "$(ob_stat oom_deflated_total)" = "$oom" ] && [ $i -lt $((${3:-60} * 10 * WAIT_SCALE)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# ob_sample_consistent: true if one read of stats has inflated_pages ==
# movable_pages + frozen_pages (the balloon may be moving); else say why.
ob_sample_consistent() {
	set -- $(awk '$1 == "inflated_pages" { i = $2 } $1 == "movable_pages" { m = $2 }
		$1 == "frozen_pages" { f = $2 } END { print i, m + f }' "$OB_DEBUGFS/stats")
	[ "$1" = "$2" ] && return 0
	ktap_print_msg "inflated_pages $1, movable + frozen $2 in one read"
	return 1
}

# ob_offline_pages [FIELD [START_PFN NR_PAGES]]: PageOffline pages of the
# machine or of a PFN range (from /proc/kpageflags), or another field of
# offline_pages (skippable, blocks2m, first2m, huge).
ob_offline_pages() {
	"$(dirname "$0")/offline_pages" ${2:+"$2" "$3"} | awk -v k="${1:-offline}" '{ for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1) }'
}

# expect_consistent DESC: inflated_pages == movable_pages + frozen_pages ==
# PageOffline pages of the machine (only this module makes any).
expect_consistent() {
	inflated=$(ob_stat inflated_pages)
	sum=$(($(ob_stat movable_pages) + $(ob_stat frozen_pages)))
	offline=$(ob_offline_pages)
	if [ "$inflated" = "$sum" ] && [ "$inflated" = "$offline" ]; then
		ktap_test_pass "$1"
	else
		ktap_print_msg "$1: inflated_pages $inflated, movable+frozen $sum, PageOffline $offline"
		ktap_test_fail "$1"
	fi
}

# pages_pct FREE_KB PCT...: for each PCT, that percentage of FREE_KB in pages.
pages_pct() {
	f=$1
	shift
	for pct in "$@"; do
		echo $((f / PAGE_KB * pct / 100))
	done
}

# meminfo_now: /proc/meminfo, and free_kb as "FreeWithPcp:".
meminfo_now() {
	cat /proc/meminfo
	echo "FreeWithPcp: $(free_kb) kB"
}

# meminfo_snapshot: keep meminfo_now as it is now, for expect_no_leak to say
# where free memory went.
meminfo_snapshot() {
	meminfo_now > /tmp/ob_meminfo0
}

# meminfo_changes: the meminfo_now fields that moved by 1 MiB or more since
# meminfo_snapshot, on one line.
meminfo_changes() {
	meminfo_now | awk 'NR == FNR { v[$1] = $2; next } ($1 in v) && ($2 - v[$1] >= 1024 || v[$1] - $2 >= 1024) {
			printf "%s %+d kB, ", $1, $2 - v[$1] }' /tmp/ob_meminfo0 -
}

# expect_no_leak TOTAL0 FREE0 OOM0: the leak checks after a scenario, four
# test cases: MemTotal exactly back, free memory within 4 MiB (plus KASAN's
# quarantine; if it is not, the meminfo fields that moved since
# meminfo_snapshot, when the script took one), no PageOffline page left, no
# OOM kill since.
expect_no_leak() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	expect_eq "MemTotal restored exactly" "$(meminfo MemTotal)" "$1"
	nl_free=$(free_kb)
	nl_d=$((nl_free - $2))
	if [ ${nl_d#-} -gt $((4096 + KASAN_SLACK_KB)) ] && [ -f /tmp/ob_meminfo0 ]; then
		ktap_print_msg "since the start: $(meminfo_changes)"
	fi
	expect_within "free memory back within $((4096 + KASAN_SLACK_KB)) kB" "$nl_free" "$2" $((4096 + KASAN_SLACK_KB))
	expect_eq "no PageOffline page left" "$(ob_offline_pages)" 0
	expect_eq "no OOM kill" "$(vmstat oom_kill)" "$3"
}

# compact: compact all memory now.
compact() {
	echo 1 > /proc/sys/vm/compact_memory
}

# Memory blocks (/sys/devices/system/memory).
MEM=/sys/devices/system/memory
BLOCK_PAGES=$(($(printf '%d' "0x$(cat $MEM/block_size_bytes)") / 4096))
BLOCK_KB=$((BLOCK_PAGES * PAGE_KB))

# online_blocks: the online memory blocks but the first, highest first.
online_blocks() {
	for b in $(ls -d $MEM/memory* | sed 's/.*memory//' | sort -rn); do
		[ "$b" != 0 ] && [ "$(cat $MEM/memory$b/state)" = online ] && echo "$b"
	done
	return 0
}

# fullest_block BLOCK...: of these memory blocks, the one holding the most
# PageOffline pages; print its first PFN and that count ("0 0" if none).
fullest_block() {
	fu_best=0 fu_start=0
	for fu_b in "$@"; do
		fu_n=$(ob_offline_pages offline $((fu_b * BLOCK_PAGES)) $BLOCK_PAGES)
		[ "$fu_n" -gt "$fu_best" ] && fu_best=$fu_n fu_start=$((fu_b * BLOCK_PAGES))
	done
	echo "$fu_start $fu_best"
}

# offline_block B [SECONDS]: take memory block B offline. offline_pages()
# retries until its writer gets a fatal signal, and some blocks never go (a
# page nobody frees): give up after SECONDS (30), times WAIT_SCALE.
offline_block() {
	timeout $((${2:-30} * WAIT_SCALE)) sh -c "echo offline > $MEM/memory$1/state" 2>/dev/null
}

# dimm_plug MIB: the host plugs a DIMM of MIB MiB; print its name and its
# memory blocks, which arrive offline (waits up to 10 s for them all).
dimm_plug() {
	dp_before=$(ls $MEM | grep '^memory')
	dp_dimm=$(host dimm-add "$1") || { echo "the host could not plug a DIMM: $dp_dimm" >&2; return 1; }
	dp_want=$(($(echo "$dp_before" | wc -l) + $1 * 1024 / BLOCK_KB))
	i=0
	while [ "$(ls $MEM | grep -c '^memory')" -lt $dp_want ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	echo "$dp_dimm" $(ls $MEM | grep '^memory' | grep -vxF "$dp_before" | sed 's/memory//' | sort -n)
}

# offline_a_block: offline the highest memory block (not the first) that
# holds PageOffline pages and can go offline; print "BLOCK PAGES_OF_OURS_IN_IT".
offline_a_block() {
	for b in $(online_blocks); do
		set -- $("$(dirname "$0")/offline_pages" $((b * BLOCK_PAGES)) $BLOCK_PAGES)
		if [ "$2" -gt 0 ] && offline_block $b; then
			echo "$b $2"
			return 0
		fi
	done
	return 1
}

# offline_any_block: offline the highest memory block (not the first) that
# can go offline; print its number.
offline_any_block() {
	for b in $(online_blocks); do
		if offline_block $b; then
			echo "$b"
			return 0
		fi
	done
	return 1
}

# offline_a_frozen_block N: with a frozen balloon of order=9 (the default)
# loaded, offline a memory block holding frozen pages of it and leave the
# balloon at N pages; print "BLOCK PAGES_OF_OURS_IN_IT". Frozen pages come
# from unmovable pageblocks, which the kernel's own pages share (slab, page
# tables, the balloon's own bitmaps), so a block they happen to fill seldom
# goes offline. Instead the balloon is emptied, a block that can go offline
# (nothing unmovable in it) goes offline, hugetlb takes the free memory
# elsewhere but 48 MiB, and with the block online again (all free) the
# balloon inflates 96 MiB of whole 2 MiB blocks, at least 48 MiB of them from
# the block (order=0 would take single pages, next to its own bitmaps). Then
# hugetlb lets go, the balloon grows to N and the block goes offline. Returns
# 2 if no memory block can go offline at all, 1 on any other failure (why on
# stderr). BLOCK, if given, is an offline block to use: one kept offline
# since the start, before frozen balloons spread unmovable pageblocks (which
# the kernel's own pages then share) over every block.
offline_a_frozen_block() {
	fb_n=$1
	ob_set_target 0
	ob_wait_stat inflated_pages 0 >&2 || return 1
	fb_block=${2:-$(offline_any_block)} || return 2
	fb_huge=$((($(free_kb) - 49152) / $(meminfo Hugepagesize)))
	echo $((fb_huge > 0 ? fb_huge : 0)) > /proc/sys/vm/nr_hugepages
	echo online > $MEM/memory$fb_block/state
	ob_set_target 24576
	ob_wait_stat inflated_pages 24576 >&2
	fb_full=$?
	echo 0 > /proc/sys/vm/nr_hugepages
	[ $fb_full = 0 ] && ob_set_target "$fb_n" && ob_wait_stat inflated_pages "$fb_n" >&2 || return 1
	set -- $("$(dirname "$0")/offline_pages" $((fb_block * BLOCK_PAGES)) $BLOCK_PAGES)
	fb_log0=$(dmesg | wc -l)
	if [ "$2" -gt 0 ] && offline_block $fb_block; then
		echo "$fb_block $2"
		return 0
	fi
	ktap_print_msg "memory$fb_block with $2 frozen pages did not go offline: $(dmesg | tail -n +$((fb_log0 + 1)) | grep -B8 'dumped because' | grep -E 'page:|page_type|dumped because' | tail -3 | tr '\n' ' ')" >&2
	return 1
}

# Fault injection (fail_page_alloc, failslab).
FP=/sys/kernel/debug/fail_page_alloc
FS=/sys/kernel/debug/failslab
# The options inject_on needs (Debian's kernel has none of them).
INJECT_CONFIG="FAULT_INJECTION_DEBUG_FS FAIL_PAGE_ALLOC FAILSLAB FAULT_INJECTION_STACKTRACE_FILTER"

# can_inject: whether this kernel has them all.
can_inject() {
	for opt in $INJECT_CONFIG; do
		kconfig "$opt" || return 1
	done
}

# skip_without_injection N: report N cases skipped for want of fault injection.
skip_without_injection() {
	for i in $(seq "$1"); do
		ktap_test_skip "needs fault injection:$(echo " $INJECT_CONFIG" | sed 's/ / CONFIG_/g')"
	done
}

# inject_on PCT [START END]: fail PCT% of the module's allocations (page and
# slab): those made with the module on the call stack (the stack filter set
# to the module's address range from /proc/modules), or with code between
# kernel addresses START and END on it (see ob_symbol_range).
inject_on() {
	pct=$1
	if [ $# = 3 ]; then
		start=$2 end=$3
	else
		set -- $(awk -v m="$OB_MOD" '$1 == m { print $2, $6 }' /proc/modules)
		# 64-bit shell arithmetic wraps kernel addresses; printf %x gives them back.
		start=$(printf '0x%x' "$(($2))") end=$(printf '0x%x' "$(($2 + $1))")
	fi
	for d in $FP $FS; do
		echo 0 > $d/probability
		echo N > $d/task-filter
		echo 1 > $d/interval
		echo -1 > $d/times
		echo 0 > $d/space
		echo 0 > $d/verbose
		echo N > $d/ignore-gfp-wait
		echo 32 > $d/stacktrace-depth
		echo $start > $d/require-start
		echo $end > $d/require-end
	done
	echo N > $FP/ignore-gfp-highmem
	echo 0 > $FP/min-order
	echo $pct > $FP/probability
	echo $pct > $FS/probability
}

# inject_off: no more injection, and the kernel's defaults back (they also
# decide what /proc/*/fail-nth counts, which test_probe_fail uses).
inject_off() {
	for d in $FP $FS; do
		echo 0 > $d/probability
		echo 1 > $d/times
		echo Y > $d/ignore-gfp-wait
		echo 0 > $d/require-start
		echo 0xffffffffffffffff > $d/require-end
	done
	echo Y > $FP/ignore-gfp-highmem
	echo 1 > $FP/min-order
}

# ob_symbol_range REGEX: "START END", the addresses of the module's first
# function whose symbol matches REGEX and of the symbol after it.
ob_symbol_range() {
	grep "\[$OB_MOD\]" /proc/kallsyms | sort | awk -v re="$1" '
		found { print "0x" start, "0x" $1; exit }
		$3 ~ re { found = 1; start = $1 }'
}

# The in-tree C driver, for the same scenario against it.
C_KO=/lib/modules/virtio_balloon.ko

# balloon_dev: the sysfs directory of the virtio balloon device (the device
# gets a new one each time the host plugs it).
balloon_dev() {
	d=$(grep -l '^0x0005$' /sys/bus/virtio/devices/*/device 2>/dev/null | head -1)
	[ -n "$d" ] && echo "${d%/device}"
}

# balloon_plug PROPS: the host replaces the balloon device by one with these
# virtio-balloon-pci properties; wait until the guest has the new one.
balloon_plug() {
	host balloon-device "$1" || return 1
	i=0
	until balloon_dev >/dev/null; do
		i=$((i + 1))
		[ $i -gt $((300 * WAIT_SCALE)) ] && return 1
		sleep 0.1
	done
}

# balloon_driver: the driver bound to the balloon device, if any.
balloon_driver() {
	d=$(balloon_dev) && [ -e "$d/driver" ] && basename "$(readlink "$d/driver")"
}

# balloon_features: the feature bits the driver negotiated, bit 0 first.
balloon_features() {
	cat "$(balloon_dev)/features"
}

# feature_bit N: whether bit N is negotiated (1 or 0).
feature_bit() {
	balloon_features | cut -c$(($1 + 1))
}

# host_rss_kb: the QEMU process's resident memory on the host.
host_rss_kb() {
	set -- $(host host-mem) && echo "$1"
}

# touch_mib MIB [NODE]: a process writes MIB MiB of anonymous memory (of
# NUMA node NODE only, if given) with a non-zero pattern and holds it (fails
# if it cannot: killed, or no memory); free_touched ends it, freeing the
# memory. TOUCH_PID is the process while it holds the memory, else empty.
touch_mib() {
	"$(dirname "$0")/touch_mem" "$@" &
	TOUCH_PID=$!
	while :; do
		case $(awk '{ print $3 }' /proc/$TOUCH_PID/stat 2>/dev/null) in
		T) return 0 ;;
		Z | "") wait $TOUCH_PID; TOUCH_PID=; return 1 ;;
		esac
		sleep 0.1
	done
}
free_touched() {
	kill -CONT "$TOUCH_PID" && wait "$TOUCH_PID"
	ft_rc=$?
	TOUCH_PID=
	return $ft_rc
}

# rss_drop_after_free MIB WANT_KB SECONDS: touch MIB MiB, free them, wait
# until QEMU's RSS fell by WANT_KB from its level before the free (at most
# SECONDS), then 5 s more; prints the seconds waited and the final drop in kB.
rss_drop_after_free() {
	touch_mib "$1" || return 1
	peak=$(host_rss_kb)
	free_touched
	i=0
	while [ $((peak - $(host_rss_kb))) -lt "$2" ] && [ $i -lt $(($3 * WAIT_SCALE)) ]; do
		sleep 1
		i=$((i + 1))
	done
	sleep 5
	echo "$i $((peak - $(host_rss_kb)))"
}

# fill_tmpfs MIB: a memory hog that cannot be reclaimed (a tmpfs file, no
# swap): writes MIB MiB to $FILL_DIR/hog, true if the whole write succeeded.
# The memory stays taken until unfill_tmpfs; run_tests.sh also calls it after
# every script, so a script killed mid-fill leaves nothing to starve the next.
FILL_DIR=/mnt/fill
fill_tmpfs() {
	mkdir -p $FILL_DIR
	mount -t tmpfs -o size="$1"m tmpfs $FILL_DIR || return 1
	dd if=/dev/zero of=$FILL_DIR/hog bs=1M count="$1" 2>/dev/null
}
unfill_tmpfs() {
	umount $FILL_DIR 2>/dev/null
}

# write_read_back MIB: a process writes MIB MiB with a pattern and reads it
# back intact (touch_mem's check).
write_read_back() {
	touch_mib "$1" && free_touched
}
