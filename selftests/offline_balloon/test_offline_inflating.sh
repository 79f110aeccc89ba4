#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Memory offlining while the balloon inflates. The host plugs a DIMM of one
# memory block, onlined to ZONE_MOVABLE, where the balloon's pages land
# first (the highest zone) and where page isolation lets pages in use be;
# while the host moves the target up and down every 0.2 s, the block goes
# offline and online again, ROUNDS times per driver: the C driver first (the
# control), then ours with a batch of 64 MiB of single pages and with its
# defaults. Every offlining must succeed. A regression test: ours marked a
# movable page PageOffline as soon as it was allocated, but its batch got the
# movable ops only once enqueued (after the rest of the batch was allocated
# and the host had answered); memory offlining fails with -EBUSY on a
# PageOffline page that holds a reference and has no movable ops
# (scan_movable_pages()), and 25 of 120 offlinings failed with batch=16384
# order=0, none with the C driver, whose pages carry no type until the
# balloon core enqueues them (offlining retries over those).
. "$(dirname "$0")/lib.sh"

[ -f "$C_KO" ] || ktap_skip_all "$C_KO not found"

ROUNDS=${OB_OFFLINE_ROUNDS:-20}
GUEST_MIB=${OB_GUEST_MIB:-1024}
# The host's targets count the DIMM (QEMU's current RAM size): the balloon
# moves between 64 and 448 MiB.
DIMM_MIB=$((BLOCK_KB / 1024))
HIGH=$((GUEST_MIB + DIMM_MIB - 64))
LOW=$((GUEST_MIB + DIMM_MIB - 448))

ktap_print_header
ktap_set_plan 14

total0=$(meminfo MemTotal)
oom0=$(vmstat oom_kill)

plugged=$(dimm_plug $DIMM_MIB) || ktap_exit_fail_msg "no DIMM"
set -- $plugged
dimm=$1 block=$2
echo online_movable > $MEM/memory$block/state ||
	ktap_exit_fail_msg "memory$block does not go online to ZONE_MOVABLE ($(cat $MEM/memory$block/valid_zones))"
ktap_print_msg "$dimm: memory$block in ZONE_MOVABLE"

# offline_rounds: with the host moving the target, offline and online the
# block ROUNDS times, each offlining right after the onlining (the balloon's
# next batch lands at the start of the empty block); print how many
# offlinings failed (an error, or no success within 30 s) and how many
# balloon pages they migrated.
offline_rounds() {
	rm -f /tmp/ob_stop
	# A slow host widens the window between a batch's allocation and its
	# answer: QEMU traces every PFN it gets.
	host balloon-trace start > /dev/null
	(
		while [ ! -e /tmp/ob_stop ]; do
			host balloon $LOW
			sleep 0.1
			host balloon $HIGH
			sleep 0.1
		done
	) &
	mover=$!
	fails=0 i=0 m0=$(vmstat balloon_migrate)
	while [ $i -lt "$ROUNDS" ]; do
		if offline_block "$block" 30; then
			echo online_movable > $MEM/memory$block/state || fails=$((fails + 1000))
		else
			fails=$((fails + 1))
		fi
		i=$((i + 1))
	done
	touch /tmp/ob_stop
	wait $mover
	host balloon-trace stop > /dev/null
	echo "$fails $(($(vmstat balloon_migrate) - m0))"
}

# deflated [ours]: the host takes the target back to the whole guest and
# the balloon empties (the host sees it before ours has freed the pages).
deflated() {
	host balloon-wait $((GUEST_MIB + DIMM_MIB)) 120 > /dev/null &&
		{ [ -z "${1:-}" ] || ob_wait_stat inflated_pages 0; }
}

insmod "$C_KO" || ktap_exit_fail_msg "insmod virtio_balloon.ko failed"
set -- $(offline_rounds)
ktap_print_msg "C: $1 of $ROUNDS offlinings failed; they migrated $2 balloon pages"
expect_eq "C (control): every offlining succeeds while the host moves the target" "$1" 0
ktap_test_result "C: the balloon deflates" deflated
rmmod virtio_balloon

for params in "batch=16384 order=0" ""; do
	name="ours${params:+ $params}"
	ob_load $params || ktap_exit_fail_msg "insmod $params failed"
	set -- $(offline_rounds)
	ktap_print_msg "$name: $1 of $ROUNDS offlinings failed; they migrated $2 balloon pages"
	expect_eq "$name: every offlining succeeds while the host moves the target" "$1" 0
	ktap_test_result "$name: the offlinings migrated balloon pages" test "$2" -gt 0
	ktap_test_result "$name: the balloon deflates" deflated ours
	expect_consistent "$name: consistent"
	ob_unload
done

offline_block "$block" 30 || ktap_print_msg "memory$block does not go offline"
ktap_test_result "the host unplugs $dimm" host dimm-del "$dimm"
expect_eq "MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"
expect_eq "no PageOffline page left" "$(ob_offline_pages)" 0
expect_eq "no OOM kill" "$(vmstat oom_kill)" "$oom0"
ktap_finished
