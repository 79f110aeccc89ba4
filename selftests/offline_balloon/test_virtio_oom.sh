#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Deflate on OOM (virtio DEFLATE_ON_OOM, QEMU deflate-on-oom=on): with all but
# KEEP_MIB of the guest ballooned (768 MiB), a guest program that needs more
# than the free memory succeeds because the OOM notifier deflates the
# balloon, and nothing is killed.
. "$(dirname "$0")/lib.sh"

MIB_PAGES=256
GUEST_MIB=${OB_GUEST_MIB:-1024}
FILL_MIB=600

ktap_print_header
ktap_set_plan 7

ob_load || ktap_exit_fail_msg "insmod failed"
host balloon $KEEP_MIB
ob_wait_stat inflated_pages $(((GUEST_MIB - KEEP_MIB) * MIB_PAGES)) 120 || ktap_exit_fail_msg "cannot inflate"
ktap_print_msg "free before: $(meminfo MemFree) kB, inflated $(ob_stat inflated_pages) pages"
oom0=$(vmstat oom_kill)

ktap_test_result "writing $FILL_MIB MiB to tmpfs succeeds" fill_tmpfs $FILL_MIB
ktap_print_msg "after: inflated $(ob_stat inflated_pages) pages, oom_deflated_total $(ob_stat oom_deflated_total)"
expect_eq "no OOM kill" "$(vmstat oom_kill)" "$oom0"
ktap_test_result "the OOM notifier deflated the balloon" test "$(ob_stat oom_deflated_total)" -gt 0
ktap_test_result "the host sees the deflation" test "$(host query-balloon)" -gt $KEEP_MIB
unfill_tmpfs

host balloon "$GUEST_MIB"
ktap_test_result "host 'balloon $GUEST_MIB' deflates the rest" ob_wait_stat inflated_pages 0 120
expect_consistent "no PageOffline page left, counts consistent"
ktap_test_result "rmmod" ob_unload

ktap_finished
