#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Simulate mode, frozen pages (refcount 0, skippable): inflate, exact
# accounting, the skippable state in /proc/kpageflags, no migration by
# compaction, deflate.
. "$(dirname "$0")/lib.sh"

N=131072

ktap_print_header
ktap_set_plan 11

ob_load simulate=1 movable=0 || ktap_exit_fail_msg "insmod simulate=1 movable=0 failed"
total0=$(meminfo MemTotal)

ob_set_target $N
ktap_test_result "inflates to $N pages" ob_wait_stat inflated_pages $N
expect_eq "all inflated pages are frozen" "$(ob_stat frozen_pages)" $N
expect_eq "MemTotal dropped by exactly $N * 4 KiB" "$(meminfo MemTotal)" $((total0 - N * PAGE_KB))
expect_consistent "inflated == movable + frozen == PageOffline pages"
expect_eq "every frozen page is skippable (KPF_OWNER_2)" "$(ob_offline_pages skippable)" $N

vm_migrate0=$(vmstat balloon_migrate)
compact
expect_eq "compaction migrates no frozen page" "$(ob_stat migrated_total)" 0
expect_eq "vmstat balloon_migrate unchanged" "$(vmstat balloon_migrate)" "$vm_migrate0"
expect_consistent "consistent after compaction"

ob_set_target 0
ktap_test_result "deflates to 0" ob_wait_stat inflated_pages 0
expect_eq "MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"
ktap_test_result "rmmod" ob_unload

ktap_finished
