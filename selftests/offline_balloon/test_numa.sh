#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A guest of two NUMA nodes (make check boots one with OB_NUMA=2). The
# balloon holds pages of both nodes, and each node's MemTotal
# (/sys/devices/system/node/nodeN/meminfo) falls by exactly the balloon
# pages on it, after inflation, deflation and every move: movable pages of a
# block of node 1 going offline migrate to node 0; compaction of node 1;
# frozen pages of a block of node 1 evacuated from a CPU of node 0; and a
# process bound to node 1 needing more than node 1 has free, which the OOM
# notifier satisfies by deflating, with no OOM kill. (migrate_pages(2) moves
# only pages mapped by processes, never the balloon's.)
. "$(dirname "$0")/lib.sh"

NODE=/sys/devices/system/node
[ -d $NODE/node1 ] || ktap_skip_all "needs a guest of two NUMA nodes (make check boots one with OB_NUMA=2)"

ktap_print_header
ktap_set_plan 24
# A process holding memory must not outlive a bail-out: stopped, it would
# keep the runner waiting for its output.
trap '[ -n "${TOUCH_PID:-}" ] && kill -9 "$TOUCH_PID" 2>/dev/null' EXIT

# node_kb NODE FIELD: a field of the node's meminfo, in kB.
node_kb() {
	awk -v k="$2:" '$3 == k { print $4 }' $NODE/node$1/meminfo
}

# node_pages NODE: PageOffline pages in the PFN spans of the node's zones
# (/proc/zoneinfo; a memory block may straddle two nodes).
node_pages() {
	np=0
	for span in $(awk -v n="$1," '$1 == "Node" { here = $2 == n } here && $1 == "spanned" { s = $2 }
		here && $1 == "start_pfn:" && s > 0 { print $2 ":" s }' /proc/zoneinfo); do
		np=$((np + $(ob_offline_pages offline ${span%:*} ${span#*:})))
	done
	echo $np
}

# node1_blocks: the online memory blocks of node 1 alone, highest first.
node1_blocks() {
	for b in $(ls $NODE/node1 | sed -n 's/^memory\([0-9][0-9]*\)$/\1/p' | sort -rn); do
		[ "$(cat $MEM/memory$b/state)" = online ] && [ ! -e $NODE/node0/memory$b ] && echo "$b"
	done
}

# expect_nodes_exact DESC [NODE1_OFFLINE_KB]: each node's MemTotal is its
# MemTotal before the test less its balloon pages (and node 1's less
# NODE1_OFFLINE_KB of memory offline).
expect_nodes_exact() {
	p0=$(node_pages 0) p1=$(node_pages 1)
	want="$((total0_0 - p0 * PAGE_KB)) $((total0_1 - p1 * PAGE_KB - ${2:-0}))"
	expect_eq "$1" "$(node_kb 0 MemTotal) $(node_kb 1 MemTotal)" "$want"
}

# spread_balloon ARGS...: load the balloon with ARGS and inflate it over
# both nodes, leaving room on node 0: a process bound to node 0 holds all
# but 128 MiB of its free memory meanwhile (16 MiB of which ZONE_DMA keeps),
# and the balloon takes 32 MiB more than node 1 has free. Sets N, its size.
spread_balloon() {
	ob_load simulate=1 "$@" || ktap_exit_fail_msg "insmod $* failed"
	touch_mib $(($(node_kb 0 MemFree) / 1024 - 128)) 0 || ktap_exit_fail_msg "cannot fill node 0"
	N=$((($(node_kb 1 MemFree) + 32768) / PAGE_KB))
	ob_set_target $N
	ob_wait_stat inflated_pages $N || ktap_exit_fail_msg "$*: cannot inflate $N pages"
	free_touched
	p0=$(node_pages 0) p1=$(node_pages 1)
	ktap_print_msg "$*: $N pages, $p0 on node 0 and $p1 on node 1"
	ktap_test_result "$*: the balloon holds pages of both nodes" test "$p0" -gt 0 -a "$p1" -gt 0
}

# deflate_exact DESC: empty the balloon; each node's MemTotal is back.
deflate_exact() {
	ob_set_target 0
	ob_wait_stat inflated_pages 0
	expect_nodes_exact "$1"
	ob_unload
}

total0_0=$(node_kb 0 MemTotal) total0_1=$(node_kb 1 MemTotal)
oom0=$(vmstat oom_kill)
ktap_print_msg "node 0: $total0_0 kB, node 1: $total0_1 kB"

# Movable pages: memory offlining migrates them to the other node.
spread_balloon movable=1
expect_nodes_exact "movable: each node's MemTotal fell by exactly its balloon pages"
moved=0
for b in $(node1_blocks); do
	n=$(ob_offline_pages offline $((b * BLOCK_PAGES)) $BLOCK_PAGES)
	p0=$(node_pages 0) m0=$(ob_stat migrated_total)
	if [ "$n" -gt 0 ] && offline_block $b; then
		moved=$n
		break
	fi
done
if [ $moved -gt 0 ]; then
	ktap_print_msg "movable: memory$b of node 1 went offline with $moved balloon pages in it"
	ktap_test_pass "movable: a block of node 1 holding balloon pages goes offline"
	ktap_test_result "movable: its balloon pages were migrated" test $(($(ob_stat migrated_total) - m0)) -ge $moved
	expect_eq "movable: node 0 got exactly those pages" $(($(node_pages 0) - p0)) $moved
	expect_nodes_exact "movable: each node's MemTotal exact after the migration (node 1 lost the block)" $BLOCK_KB
	ktap_test_result "movable: the block goes online again" sh -c "echo online > $MEM/memory$b/state"
	expect_nodes_exact "movable: each node's MemTotal exact with the block online"
else
	for i in 1 2 3 4 5 6; do ktap_test_fail "movable: no block of node 1 holding balloon pages could go offline"; done
fi
m0=$(ob_stat migrated_total)
echo 1 > $NODE/node1/compact
ktap_print_msg "movable: compaction of node 1 migrated $(($(ob_stat migrated_total) - m0)) balloon pages"
expect_nodes_exact "movable: each node's MemTotal exact after compacting node 1"
deflate_exact "movable: each node's MemTotal restored exactly"

# Frozen pages: evacuated by PFN range from a block of node 1, on a CPU of
# node 0 (CPU 0), whose allocations come from node 0 first.
spread_balloon movable=0 order=0
expect_nodes_exact "frozen: each node's MemTotal fell by exactly its balloon pages"
set -- $(fullest_block $(node1_blocks))
start=$1 best=$2
p0=$(node_pages 0)
ktap_test_result "frozen: evacuate of a block of node 1 ($best pages) succeeds" \
	taskset -c 0 sh -c "echo '$start $BLOCK_PAGES' > $OB_DEBUGFS/evacuate"
ktap_print_msg "frozen: node 0 holds $(($(node_pages 0) - p0)) more balloon pages"
expect_eq "frozen: the block holds no PageOffline page" "$(ob_offline_pages offline $start $BLOCK_PAGES)" 0
expect_eq "frozen: the balloon kept its size" "$(ob_stat inflated_pages)" $N
expect_nodes_exact "frozen: each node's MemTotal exact after evacuating across nodes"
deflate_exact "frozen: each node's MemTotal restored exactly"

# The OOM notifier with node 1 exhausted: a process bound to node 1 needs
# 64 MiB more than node 1 has free; the balloon holds more than that there.
spread_balloon movable=1
oomd0=$(ob_stat oom_deflated_total)
ktap_test_result "a process bound to node 1 gets 64 MiB more than node 1 had free" \
	touch_mib $(($(node_kb 1 MemFree) / 1024 + 64)) 1
ktap_print_msg "the OOM notifier deflated $(($(ob_stat oom_deflated_total) - oomd0)) pages"
ktap_test_result "the OOM notifier deflated the balloon" test "$(ob_stat oom_deflated_total)" -gt "$oomd0"
expect_nodes_exact "each node's MemTotal exact after the OOM deflations"
free_touched
deflate_exact "each node's MemTotal restored exactly after the OOM deflations"
expect_eq "no OOM kill" "$(vmstat oom_kill)" "$oom0"
expect_eq "no PageOffline page left" "$(ob_offline_pages)" 0

ktap_finished
