#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The feature matrix against the in-tree C driver: for every combination of
# QEMU's deflate-on-oom, free-page-reporting and free-page-hint, the host
# plugs a new balloon device (ACPI PCI hotplug), and ours and the C driver in
# turn negotiate the same feature bits, load, inflate, deflate, send the
# statistics the host polls, and unload cleanly; ours hands its whole 2 MiB
# blocks to the host on the reporting queue exactly when free-page-reporting
# is on (report_blocks, reported_blocks_total), else on the inflate queue.
# Then the device is unplugged under ours with the balloon inflated and a
# debugfs file open.
. "$(dirname "$0")/lib.sh"

MIB_PAGES=256
GUEST_MIB=${OB_GUEST_MIB:-1024}
SMALL_MIB=$((GUEST_MIB - 256))
# The harness's device (scripts/guest.py DEFAULT_BALLOON_PROPS), plugged back at the end.
DEFAULT_PROPS=deflate-on-oom=on,free-page-reporting=on,free-page-hint=on

[ -f "$C_KO" ] || ktap_skip_all "$C_KO not found"
[ -d /sys/bus/pci/slots ] || ktap_skip_all "no PCI hotplug in this kernel"

ktap_print_header
ktap_set_plan 39

# drive NAME LOAD UNLOAD: load a driver, check that it binds, inflates and
# deflates at the host's request and sends statistics, unload it; print the
# feature bits it negotiated (8 of them) or fail.
drive() {
	$2 || return 1
	[ "$(balloon_driver)" = "$1" ] || { echo "not bound" >&2; $3; return 1; }
	features=$(balloon_features | cut -c1-8)
	ok=1
	host balloon-wait $SMALL_MIB $((60 * WAIT_SCALE)) >/dev/null || ok=0
	[ "$1" = offline_balloon ] &&
		echo "$(ob_stat report_blocks) $(ob_stat reported_blocks_total)" > /tmp/ob_reported
	host stats-interval 1
	sleep 2
	total=$(host stats | sed -n 's/.*"stat-total-memory":\([0-9]*\).*/\1/p')
	[ "$total" = $(($(meminfo MemTotal) * 1024)) ] || { echo "stats: $total" >&2; ok=0; }
	host stats-interval 0
	host balloon-wait "$GUEST_MIB" $((60 * WAIT_SCALE)) >/dev/null || ok=0
	$3 || ok=0
	[ $ok = 1 ] && echo "$features"
}

total0=$(meminfo MemTotal)
for oom in off on; do
	for rep in off on; do
		for hint in off on; do
			props=deflate-on-oom=$oom,free-page-reporting=$rep,free-page-hint=$hint
			if ! balloon_plug $props; then
				ktap_test_fail "$props: plugged"
				ktap_test_fail "$props: ours"
				ktap_test_fail "$props: C"
				continue
			fi
			ktap_test_pass "$props: plugged"
			ours=$(drive offline_balloon ob_load ob_unload)
			ktap_test_result "$props: ours loads, inflates, deflates, reports stats, unloads" \
				test -n "$ours"
			set -- $(cat /tmp/ob_reported 2>/dev/null) x x
			ktap_print_msg "$props: ours report_blocks $1, $2 blocks reported"
			if [ $rep = on ]; then
				ktap_test_result "$props: ours reported its blocks" test "$1" = 1 -a "$2" -gt 0
			else
				expect_eq "$props: ours put every page on the inflate queue" "$1 $2" "0 0"
			fi
			rm -f /tmp/ob_reported
			c=$(drive virtio_balloon "insmod $C_KO" "rmmod virtio_balloon")
			ktap_print_msg "$props: features ours $ours, C $c"
			ktap_test_result "$props: C does, and both negotiate the same features" \
				test -n "$c" -a "$ours" = "$c"
		done
	done
done
expect_eq "MemTotal restored after the matrix" "$(meminfo MemTotal)" "$total0"

# Unplug under ours, inflated, with a debugfs file open.
balloon_plug $DEFAULT_PROPS
ob_load
host balloon $SMALL_MIB
ob_wait_stat inflated_pages $(((GUEST_MIB - SMALL_MIB) * MIB_PAGES)) 60
exec 5< "$OB_DEBUGFS/stats"
ktap_test_result "the host unplugs the device under ours, inflated" balloon_plug $DEFAULT_PROPS
ktap_test_result "reading the stats file left open fails cleanly" sh -c '! cat <&5 >/dev/null 2>&1'
exec 5<&-
expect_eq "unplug: MemTotal restored" "$(meminfo MemTotal)" "$total0"
expect_eq "unplug: no PageOffline page left" "$(ob_offline_pages)" 0
ktap_test_result "ours binds the new device" ob_wait_stat inflated_pages 0 30
expect_eq "the new device is ours" "$(balloon_driver)" offline_balloon
ob_unload

ktap_finished
