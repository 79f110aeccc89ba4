#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The `make run` demo shows what it says: it runs as the demo guest runs it
# (offline-balloon-demo) and must end well, having shown compaction
# migrating balloon pages while the host's view of the balloon stayed the
# same. A regression test: on a fresh clone the demo printed migrated_total
# 0 after compaction (the balloon's pages sat in whole 2 MiB blocks).
. "$(dirname "$0")/lib.sh"

ktap_print_header
ktap_set_plan 4

total0=$(meminfo MemTotal)
offline-balloon-demo > /tmp/ob_demo 2>&1
rc=$?
sed 's/^/# /' /tmp/ob_demo
ob_loaded && ob_unload
expect_eq "the demo ends well" "$rc" 0
set -- $(sed -n 's/^== compaction migrated \([0-9]*\) balloon pages; the host saw \([0-9]*\) MiB before and \([0-9]*\) MiB after$/\1 \2 \3/p' /tmp/ob_demo)
ktap_test_result "it shows compaction migrating balloon pages (${1:-none})" test "${1:-0}" -gt 0
ktap_test_result "it shows the host's view unchanged (${2:-?} MiB, then ${3:-?} MiB)" test -n "${2:-}" -a "${2:-}" = "${3:-}"
expect_eq "MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"
ktap_finished
