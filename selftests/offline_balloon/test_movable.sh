#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Simulate mode, movable pages (refcount 1), single pages: inflate, exact MemTotal
# accounting, PageOffline pages seen in /proc/kpageflags, migration by
# compaction through the balloon compaction hooks, deflate.
. "$(dirname "$0")/lib.sh"

N=131072	# 512 MiB of the 1 GiB guest: many pages below compaction's meeting point

ktap_print_header
ktap_set_plan 16

ob_load simulate=1 movable=1 order=0 || ktap_exit_fail_msg "insmod simulate=1 movable=1 failed"
total0=$(meminfo MemTotal)
inflate0=$(vmstat balloon_inflate)

ob_set_target $N
ktap_test_result "inflates to $N pages" ob_wait_stat inflated_pages $N
expect_eq "all inflated pages are movable" "$(ob_stat movable_pages)" $N
expect_eq "MemTotal dropped by exactly $N * 4 KiB" "$(meminfo MemTotal)" $((total0 - N * PAGE_KB))
expect_eq "vmstat balloon_inflate rose by $N" $(($(vmstat balloon_inflate) - inflate0)) $N
expect_consistent "inflated == movable + frozen == PageOffline pages"
expect_eq "movable pages are not skippable" "$(ob_offline_pages skippable)" 0

# Give compaction work whatever the memory layout: take nearly all free
# memory, then give back down to N, leaving balloon pages and free holes
# all over the zone. Where the holes still come out contiguous (seen once on
# 7.3), or the balloon's pages lie past where compaction's two scanners meet
# (on Debian's kernel the migration scanner covered 15871 pages of 262144 in
# a round that moved none; a third of the rounds there moved none, and once
# three in a row did), compaction has nothing to move: up to eight rounds.
migrated0=$(ob_stat migrated_total)
vm_migrate0=$(vmstat balloon_migrate)
migrated=0 round=0
while [ $migrated = 0 ] && [ $round -lt 8 ]; do
	round=$((round + 1))
	fill=$((N + $(free_kb) / PAGE_KB - 16384)) failed0=$(ob_stat alloc_failed_total)
	ob_set_target $fill
	ob_wait_full $fill "$failed0"
	ob_set_target $N
	ob_wait_stat inflated_pages $N || ktap_print_msg "cannot deflate back to $N"
	scanned0=$(vmstat compact_migrate_scanned)
	compact
	migrated=$(($(ob_stat migrated_total) - migrated0))
	[ $migrated = 0 ] && ktap_print_msg "round $round: none moved; the migration scanner covered" \
		"$(($(vmstat compact_migrate_scanned) - scanned0)) pages"
done
ktap_print_msg "compaction migrated $migrated balloon pages (round $round)"
if [ $migrated -gt 0 ]; then
	ktap_test_pass "compaction migrates balloon pages (migrated_total rose)"
else
	ktap_test_fail "compaction migrates balloon pages (migrated_total rose)"
fi
expect_eq "vmstat balloon_migrate rose as much as migrated_total" $(($(vmstat balloon_migrate) - vm_migrate0)) $migrated
expect_eq "isolated_pages back to 0 after compaction" "$(ob_stat isolated_pages)" 0
expect_eq "still $N pages inflated after compaction" "$(ob_stat inflated_pages)" $N
expect_consistent "consistent after compaction"
expect_eq "MemTotal still exact after compaction" "$(meminfo MemTotal)" $((total0 - N * PAGE_KB))

ob_set_target 0
ktap_test_result "deflates to 0" ob_wait_stat inflated_pages 0
expect_eq "MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"
expect_eq "no PageOffline page left" "$(ob_offline_pages)" 0
ktap_test_result "rmmod" ob_unload

ktap_finished
