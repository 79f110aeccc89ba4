#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The virtio backend driven by the host through QMP: inflate and deflate to
# the host's target, the host's view (query-balloon) matching the guest's,
# compaction migrating pages without changing the host's view, rapid target
# changes settling on the last one, the statistics the host receives, and
# unloading while inflated.
. "$(dirname "$0")/lib.sh"

MIB_PAGES=256
GUEST_MIB=${OB_GUEST_MIB:-1024}

ktap_print_header
ktap_set_plan 26

# balloon_to MIB: the host asks for a guest of MIB MiB; wait until the guest
# balloon holds the rest.
balloon_to() {
	host balloon "$1" || return 1
	ob_wait_stat inflated_pages $(((GUEST_MIB - $1) * MIB_PAGES)) 120
}

ob_load || ktap_exit_fail_msg "insmod failed"
dev=$(balloon_dev)
expect_eq "the module drives the virtio-balloon device" \
	"$(balloon_driver)" offline_balloon
features=$(cat "$dev/features")
ktap_print_msg "negotiated features: $features"
# Bits 1 (STATS_VQ), 2 (DEFLATE_ON_OOM), 3 (FREE_PAGE_HINT) and 5
# (REPORTING) on; 4 (PAGE_POISON) off: free pages are neither poisoned nor
# zeroed in this guest (test_virtio_poison.sh boots with them). QEMU does not
# offer MUST_TELL_HOST (0); deflated pages are reported anyway.
expect_eq "STATS_VQ, DEFLATE_ON_OOM, FREE_PAGE_HINT and REPORTING negotiated" \
	"$(echo "$features" | cut -c2-8)" 1110100
total0=$(meminfo MemTotal)

start=$(date +%s)
big=$((GUEST_MIB - KEEP_MIB))
ktap_test_result "host 'balloon $KEEP_MIB' inflates to $big MiB" balloon_to $KEEP_MIB
ktap_print_msg "inflated $big MiB in $(($(date +%s) - start)) s"
expect_eq "query-balloon actual is $KEEP_MIB MiB" "$(host query-balloon)" $KEEP_MIB
expect_eq "target_pages is the host's target" "$(cat "$OB_DEBUGFS/target_pages")" $((big * MIB_PAGES))
expect_eq "MemTotal dropped by exactly $big MiB" "$(meminfo MemTotal)" $((total0 - big * 1024))
expect_consistent "inflated == movable + frozen == PageOffline pages"

# Give compaction work whatever the memory layout (as test_movable.sh does):
# single pages (order=0; whole 2 MiB blocks of balloon pages, with free
# memory scarce, leave the scanners nothing to move), and the host asks for
# nearly everything, then for KEEP_MIB again, leaving balloon pages and free
# holes all over the zone; where the holes still come out contiguous,
# compaction has nothing to move: up to three rounds.
balloon_to "$GUEST_MIB" && ob_load order=0 && balloon_to $KEEP_MIB ||
	ktap_exit_fail_msg "cannot inflate single pages"
# The host traces the requests of each compaction (the balloon is at its
# target, so they are the migrations'): each migration tells it the new
# page (inflate) and the old one (deflate), one PFN per request.
migrated=0 round=0 requests=0 pfns=0
while [ $migrated = 0 ] && [ $round -lt 3 ]; do
	round=$((round + 1))
	failed0=$(ob_stat alloc_failed_total)
	host balloon 1
	ob_wait_full $(((GUEST_MIB - 1) * MIB_PAGES)) "$failed0"
	balloon_to $KEEP_MIB || ktap_print_msg "cannot deflate back to $KEEP_MIB MiB"
	migrated0=$(ob_stat migrated_total)
	host balloon-trace start > /dev/null
	compact
	set -- $(host balloon-trace stop)
	migrated=$(($(ob_stat migrated_total) - migrated0))
	requests=$((requests + ${2:-0})) pfns=$((pfns + ${4:-0}))
done
ktap_print_msg "compaction migrated $migrated pages (round $round); the host got $requests requests, $pfns PFNs"
ktap_test_result "compaction migrates balloon pages" test $migrated -gt 0
expect_eq "each migration tells the host two PFNs" "$pfns" $((2 * migrated))
expect_eq "one PFN per request" "$requests" "$pfns"
expect_eq "the host's view is unchanged by migration" "$(host query-balloon)" $KEEP_MIB
expect_eq "still $big MiB inflated" "$(ob_stat inflated_pages)" $((big * MIB_PAGES))
expect_consistent "consistent after compaction"

ktap_test_result "host 'balloon 1024' deflates fully" balloon_to "$GUEST_MIB"
expect_eq "query-balloon actual is back to $GUEST_MIB MiB" "$(host query-balloon)" "$GUEST_MIB"
expect_eq "MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"

i=0
while [ $i -lt 50 ]; do
	host balloon $((300 + (i * 37) % 600)) || break
	i=$((i + 1))
done
ktap_test_result "50 host target changes in a row settle on the last one" balloon_to 512
expect_eq "query-balloon agrees" "$(host query-balloon)" 512

host stats-interval 1
sleep 3
stats=$(host stats)
ktap_print_msg "guest-stats: $stats"
memtot=$(echo "$stats" | sed -n 's/.*"stat-total-memory":\([0-9]*\).*/\1/p')
expect_eq "host sees the guest's total memory" "$memtot" $(($(meminfo MemTotal) * 1024))
memfree=$(echo "$stats" | sed -n 's/.*"stat-free-memory":\([0-9]*\).*/\1/p')
ktap_test_result "host sees the guest's free memory" test "${memfree:-0}" -gt 0
host stats-interval 0

# The wakeup event held while the balloon adjusts (effective once enabled).
power=$dev/power
ktap_test_result "the device is wakeup capable" test -f "$power/wakeup"
echo enabled > "$power/wakeup"
events0=$(cat "$power/wakeup_active_count")
balloon_to 640
ktap_test_result "a wakeup event was held while the balloon adjusted" \
	test "$(cat "$power/wakeup_active_count")" -gt "$events0"
sleep 1
expect_eq "and released once the target was reached" "$(cat "$power/wakeup_active")" 0
echo disabled > "$power/wakeup"
balloon_to 512

ktap_test_result "rmmod with 512 MiB inflated" ob_unload
expect_eq "MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"
expect_eq "the host sees every page returned" "$(host query-balloon)" "$GUEST_MIB"

ktap_finished
