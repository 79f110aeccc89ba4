#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Never-onlined pages from hot-added memory (keep_hotplugged=1). Simulate
# mode, frozen model: the host hot-plugs a 256 MiB DIMM while the balloon
# lacks 192 MiB (its own allocations fail: fault injection on the worker's
# code only). Onlining the DIMM's memory blocks keeps the pages the balloon
# lacks out of the buddy (PageOffline, never onlined) and onlines the rest; a
# block of never-onlined pages goes offline with its pages moved out first;
# deflating onlines the rest through generic_online_page(). MemTotal is exact
# at every step: the online memory (at load, plus the hot-added blocks
# online) less the balloon. Host-driven (virtio backend, movable pages): the
# host asks for 512 MiB that the guest cannot give and plugs a DIMM, which
# fills the balloon first, so the host sees the guest's size unchanged until
# it deflates. Each time the DIMM's blocks go offline and the host unplugs it.
. "$(dirname "$0")/lib.sh"

# The balloon lacks pages through fault injection.
need_config $INJECT_CONFIG

DIMM_MIB=256
GUEST_MIB=${OB_GUEST_MIB:-1024}
LACK=49152	# 192 MiB
N=32768

ktap_print_header
ktap_set_plan 32

total0=$(meminfo MemTotal)
added=0

# expect_memtotal DESC: MemTotal == total0 + the hot-added blocks online - the balloon.
expect_memtotal() {
	expect_eq "$1" "$(meminfo MemTotal)" $((total0 + added * BLOCK_KB - $(ob_stat inflated_pages) * PAGE_KB))
}

# plug_dimm: the host plugs a DIMM of DIMM_MIB; its blocks ($new) are
# onlined to ZONE_MOVABLE; one test case.
plug_dimm() {
	plugged=$(dimm_plug $DIMM_MIB) || ktap_exit_fail_msg "no DIMM"
	set -- $plugged
	dimm=$1
	shift
	new=$*
	offline=$(for b in $new; do [ "$(cat $MEM/memory$b/state)" = offline ] && echo "$b"; done)
	ktap_print_msg "$dimm brought memory blocks $new ($(cat $MEM/block_size_bytes) bytes each)"
	ktap_test_result "$dimm's $((DIMM_MIB * 1024 / BLOCK_KB)) blocks arrived offline" \
		test "$(echo $offline | wc -w)" = $((DIMM_MIB * 1024 / BLOCK_KB))
	for b in $new; do
		echo online_movable > $MEM/memory$b/state && added=$((added + 1))
	done
}

# unplug_dimm: the DIMM's blocks go offline and the host unplugs it; two test cases.
unplug_dimm() {
	for b in $new; do
		[ "$(cat $MEM/memory$b/state)" = online ] && echo offline > $MEM/memory$b/state && added=$((added - 1))
	done
	ktap_test_result "the host unplugs $dimm" host dimm-del "$dimm"
	expect_eq "MemTotal as at the start" "$(meminfo MemTotal)" "$total0"
}

# worker_failed_since FAILED0: after 2 s, alloc_failed_total has moved from FAILED0.
worker_failed_since() {
	sleep 2
	test "$(ob_stat alloc_failed_total)" -gt "$1"
}

# worker_fails: the worker's allocations fail from now on, until inject_off.
worker_fails() {
	range=$(ob_symbol_range 'Balloon.*WorkItem.*run$')
	[ -n "$range" ] || ktap_exit_fail_msg "no symbol of the balloon's worker in /proc/kallsyms"
	inject_on 100 $range
}

ob_load simulate=1 movable=0 keep_hotplugged=1 || ktap_exit_fail_msg "insmod movable=0 keep_hotplugged=1 failed"
ob_set_target $N
ob_wait_stat inflated_pages $N || ktap_exit_fail_msg "cannot inflate $N pages"
failed0=$(ob_stat alloc_failed_total)
worker_fails
ob_set_target $((N + LACK))
ktap_test_result "the worker's allocations fail (the balloon lacks $LACK pages)" \
	worker_failed_since "$failed0"
expect_eq "the balloon did not grow" "$(ob_stat inflated_pages)" $N

plug_dimm
inject_off
ktap_print_msg "after onlining: $(grep -E '^(inflated|never_onlined)_pages' $OB_DEBUGFS/stats | tr '\n' ' ')"
expect_eq "the balloon took what it lacked from the new memory" "$(ob_stat inflated_pages)" $((N + LACK))
expect_eq "those pages were never onlined" "$(ob_stat never_onlined_pages)" $LACK
expect_eq "/proc/kpageflags shows them never onlined (KPF_OWNER_PRIVATE)" "$(ob_offline_pages never_onlined)" $LACK
expect_memtotal "MemTotal grew by exactly the memory the balloon left"
expect_consistent "inflated == frozen == PageOffline pages"
expect_eq "self_check: frozen, skippable, nothing in lru/private/mapping" \
	"$(ob_self_check refcount0) $(ob_self_check skippable) $(ob_self_check lru_linked) $(ob_self_check private_set) $(ob_self_check mapping_set)" \
	"$((N + LACK)) $((N + LACK)) 0 0 0"

# The first new block is all never-onlined pages: offlining moves them out.
first=$(echo $new | cut -d' ' -f1)
ev0=$(ob_stat evacuated_total)
if echo offline > $MEM/memory$first/state; then
	added=$((added - 1))
	ktap_test_pass "memory$first (never-onlined pages only) goes offline"
	ktap_print_msg "$(dmesg | grep 'memory going offline' | tail -1)"
	expect_eq "its pages moved out; the balloon kept its size" \
		"$(($(ob_stat evacuated_total) - ev0)) $(ob_stat inflated_pages)" "$BLOCK_PAGES $((N + LACK))"
	expect_eq "never_onlined_pages lost them" "$(ob_stat never_onlined_pages)" $((LACK - BLOCK_PAGES))
	expect_memtotal "MemTotal exact after offlining"
else
	for i in 1 2 3 4; do ktap_test_fail "memory$first (never-onlined pages only) goes offline"; done
fi

ob_set_target 0
ktap_test_result "deflates to 0" ob_wait_stat inflated_pages 0
expect_eq "no page is left never onlined" "$(ob_stat never_onlined_pages) $(ob_offline_pages)" "0 0"
expect_memtotal "MemTotal exact: the never-onlined pages came online"
ob_unload

unplug_dimm

# Host-driven: the virtio backend with keep_hotplugged=1; its own pages are movable.
host balloon $GUEST_MIB || ktap_exit_fail_msg "host balloon failed"
ob_load keep_hotplugged=1 || ktap_exit_fail_msg "insmod keep_hotplugged=1 failed"
expect_eq "the module drives the virtio-balloon device" "$(balloon_driver)" $OB_MOD
worker_fails
failed0=$(ob_stat alloc_failed_total)
host balloon $((GUEST_MIB - 512)) || ktap_exit_fail_msg "host balloon failed"
ktap_test_result "the host asks for 512 MiB and the worker's allocations fail" \
	worker_failed_since "$failed0"
actual0=$(host query-balloon)
plug_dimm
expect_eq "the DIMM filled the balloon: 256 MiB never onlined" \
	"$(ob_stat inflated_pages) $(ob_stat never_onlined_pages)" "$((DIMM_MIB * 256)) $((DIMM_MIB * 256))"
expect_eq "the host sees the guest's size unchanged ($actual0 MiB)" "$(host query-balloon)" "$actual0"
expect_memtotal "MemTotal exact: unchanged by the DIMM"
expect_consistent "inflated == movable + frozen == PageOffline pages"
inject_off
ktap_test_result "the balloon inflates the rest from RAM" ob_wait_stat inflated_pages 131072 120
expect_eq "the host sees its target ($((actual0 - 512 + DIMM_MIB)) MiB)" "$(host query-balloon)" $((actual0 - 512 + DIMM_MIB))
host balloon $((GUEST_MIB + DIMM_MIB)) || ktap_exit_fail_msg "host balloon failed"
ktap_test_result "the host deflates fully" ob_wait_stat inflated_pages 0 120
expect_eq "no page is left never onlined" "$(ob_stat never_onlined_pages) $(ob_offline_pages)" "0 0"
expect_memtotal "MemTotal exact: the guest grew by the DIMM only now"
ob_unload
unplug_dimm
ktap_finished
