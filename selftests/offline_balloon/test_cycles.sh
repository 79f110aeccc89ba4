#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Repeated inflate / compact / deflate cycles in both refcount models leak
# nothing: MemTotal exact, free memory and Slab back near their baseline.
. "$(dirname "$0")/lib.sh"

CYCLES=5
MEMFREE_TOLERANCE_KB=$((1024 + KASAN_SLACK_KB))	# slab and page cache settle differently
SLAB_TOLERANCE_KB=$((512 + KASAN_SLACK_KB))

ktap_print_header
ktap_set_plan 5

sync
echo 3 > /proc/sys/vm/drop_caches
total0=$(meminfo MemTotal)
free0=$(free_kb)
slab0=$(meminfo Slab)
ok=1
for movable in 1 0; do
	ob_load simulate=1 movable=$movable || ok=0
	c=0
	while [ $c -lt $CYCLES ]; do
		n=$(((c + 1) * 20000))
		ob_set_target $n
		ob_wait_stat inflated_pages $n || ok=0
		compact
		ob_set_target $((n / 3))
		ob_wait_stat inflated_pages $((n / 3)) || ok=0
		ob_set_target 0
		ob_wait_stat inflated_pages 0 || ok=0
		c=$((c + 1))
	done
	ob_unload || ok=0
done
ktap_test_result "$CYCLES cycles in each refcount model" test $ok = 1
sync
echo 3 > /proc/sys/vm/drop_caches
free1=$(free_kb)
slab1=$(meminfo Slab)
ktap_print_msg "free memory $free0 -> $free1 kB, Slab $slab0 -> $slab1 kB"
expect_eq "MemTotal exact" "$(meminfo MemTotal)" "$total0"
expect_within "free memory back within $MEMFREE_TOLERANCE_KB kB" "$free1" "$free0" $MEMFREE_TOLERANCE_KB
expect_within "Slab back within $SLAB_TOLERANCE_KB kB" "$slab1" "$slab0" $SLAB_TOLERANCE_KB
expect_eq "no PageOffline page left" "$(ob_offline_pages)" 0

ktap_finished
