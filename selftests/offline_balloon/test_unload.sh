#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rmmod while inflated gives every page back, in both refcount models, also
# right after a compaction.
. "$(dirname "$0")/lib.sh"

N=65536

ktap_print_header
ktap_set_plan 6

total0=$(meminfo MemTotal)
for movable in 1 0; do
	ob_load simulate=1 movable=$movable || ktap_exit_fail_msg "insmod movable=$movable failed"
	ob_set_target $N
	ob_wait_stat inflated_pages $N || ktap_exit_fail_msg "cannot inflate $N pages"
	compact
	ktap_test_result "movable=$movable: rmmod with $N pages inflated" ob_unload
	expect_eq "movable=$movable: MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"
	expect_eq "movable=$movable: no PageOffline page left" "$(ob_offline_pages)" 0
done

ktap_finished
