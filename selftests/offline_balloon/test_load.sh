#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Module lifecycle: load, debugfs directory, unload, 20 load/unload cycles
# with no leak, and the host agent channel the other tests rely on.
. "$(dirname "$0")/lib.sh"

CYCLES=20
# Module text, debugfs inodes and per-cpu caches come and go with each cycle;
# more than this after 20 cycles is a leak.
MEMFREE_TOLERANCE_KB=$((1024 + KASAN_SLACK_KB))
SLAB_TOLERANCE_KB=$((512 + KASAN_SLACK_KB))

ktap_print_header
ktap_set_plan 8

ob_loaded && ob_unload
ktap_test_result "insmod offline_balloon.ko" insmod "$OB_KO" simulate=1
ktap_test_result "module listed in /proc/modules" ob_loaded
ktap_test_result "debugfs directory $OB_DEBUGFS exists" test -d "$OB_DEBUGFS"
ktap_test_result "rmmod offline_balloon" ob_unload
ktap_test_result "debugfs directory removed on unload" test ! -e "$OB_DEBUGFS"

# Warm up once so that first-load allocations are not counted as a leak.
insmod "$OB_KO" simulate=1 && ob_unload
sync
echo 3 > /proc/sys/vm/drop_caches
free0=$(free_kb)
slab0=$(meminfo Slab)
ok=1
i=0
while [ $i -lt $CYCLES ]; do
	if ! insmod "$OB_KO" simulate=1 || ! test -d "$OB_DEBUGFS" || ! ob_unload; then
		ktap_print_msg "cycle $i failed"
		ok=0
		break
	fi
	i=$((i + 1))
done
sync
echo 3 > /proc/sys/vm/drop_caches
free1=$(free_kb)
slab1=$(meminfo Slab)
ktap_print_msg "after $CYCLES cycles: free memory $free0 -> $free1 kB, Slab $slab0 -> $slab1 kB"
if [ $ok = 1 ] && [ $((free0 - free1)) -le $MEMFREE_TOLERANCE_KB ] &&
	[ $((slab1 - slab0)) -le $SLAB_TOLERANCE_KB ]; then
	ktap_test_pass "$CYCLES load/unload cycles leak nothing (free memory within $MEMFREE_TOLERANCE_KB kB, Slab within $SLAB_TOLERANCE_KB kB)"
else
	ktap_test_fail "$CYCLES load/unload cycles leak nothing (free memory within $MEMFREE_TOLERANCE_KB kB, Slab within $SLAB_TOLERANCE_KB kB)"
fi

actual=$(host query-balloon)
expect_eq "host agent: query-balloon answers the guest size in MiB" "$actual" "$OB_GUEST_MIB"
expect_eq "host agent: a bad request is answered with an error" "$(host no-such-request 2>&1)" "host: err unknown request: no-such-request"

ktap_finished
