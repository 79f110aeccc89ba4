#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run the offline_balloon selftests (all, or those named as arguments) in the
# kselftest manner: one KTAP result per test script, its own output indented
# as comments, and a kernel log scan after every script (a splat fails it).
# Prints "OB_TOTALS pass=N fail=N skip=N" over all test cases at the end.
cd "$(dirname "$0")" || exit 1
. ./ktap_helpers.sh

# Slab debugging (slub_debug=FZP) reports start with "BUG <cache> (". A
# device that fails to suspend or resume is reported by the PM core as
# "PM: failed to <verb>" and "PM: <function>(): <callback> returns <error>".
# A poisoned free page (page_poison=1) written while free is "pagealloc:
# memory corruption".
SPLAT='BUG:|BUG [^ ]+ \(|WARNING:|Oops|bad page|refcount_t:|Kernel panic|kernel BUG at|general protection fault|blocked for more than|detected stall|UBSAN:|KASAN:|Freezing .* failed|PM: failed to |PM: [a-z_]+\(\): .* returns -[0-9]|pagealloc: memory corruption'
# OB_TEST_TIMEOUT overrides the per-script timeout of settings (slow kernels).
timeout=${OB_TEST_TIMEOUT:-$(sed -n 's/^timeout=//p' settings)}

if [ $# -gt 0 ]; then
	tests=
	for t in "$@"; do
		t=${t%.sh}
		tests="$tests ${t#test_}"
	done
else
	tests=$(sed -n 's/^test_\(.*\)\.sh$/\1/p' tests.list)
fi

set -- $tests
ktap_print_header
ktap_set_plan $#
pass=0 fail=0 skip=0
for name in "$@"; do
	t=test_$name.sh
	if [ ! -f "$t" ]; then
		ktap_test_fail "selftests: offline_balloon: $t (no such test)"
		fail=$((fail + 1))
		continue
	fi
	before=$(dmesg | wc -l)
	: > /tmp/ob_out
	{ timeout "$timeout" sh "./$t" 2>&1; echo "OB_RC $?"; } | while IFS= read -r line; do
		case "$line" in
		"OB_RC "*) echo "${line#OB_RC }" > /tmp/ob_rc ;;
		*) echo "$line" >> /tmp/ob_out; echo "# $line" ;;
		esac
	done
	rc=$(cat /tmp/ob_rc)
	rm -f /tmp/ob_rc
	# A memory hog (lib.sh's fill_tmpfs) left by a script killed mid-fill
	# would starve the next script.
	umount /mnt/fill 2>/dev/null
	totals=$(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\) .* skip:\([0-9]*\) .*/\1 \2 \3/p' /tmp/ob_out | tail -1)
	set -- $totals 0 0 0
	pass=$((pass + $1)) fail=$((fail + $2)) skip=$((skip + $3))
	splats=$(dmesg | tail -n +"$((before + 1))" | grep -E "$SPLAT")
	if [ -n "$splats" ]; then
		echo "$splats" | sed 's/^/# kernel log: /'
		fail=$((fail + 1))
		rc=1
	fi
	# A script that timed out: where the kernel is, through SysRq (a
	# backtrace of every CPU, the blocked tasks).
	if [ "$rc" = 124 ] || [ "$rc" = 143 ]; then
		ktap_print_msg "$t: timed out after $timeout s; the CPUs and the blocked tasks:"
		mark=$(dmesg | wc -l)
		echo l > /proc/sysrq-trigger
		echo w > /proc/sysrq-trigger
		sleep 2
		dmesg | tail -n +"$((mark + 1))" | head -n 400 | sed 's/^/# /'
		fail=$((fail + 1))
	fi
	# A script that failed without a failed test case (bailed out, crashed)
	# still counts as one failure.
	if [ "$rc" != 0 ] && [ "$rc" != 4 ] && [ "$2" = 0 ] && [ -z "$splats" ]; then
		fail=$((fail + 1))
	fi
	case "$rc" in
	0) ktap_test_pass "selftests: offline_balloon: $t" ;;
	4) ktap_test_skip "selftests: offline_balloon: $t" ;;
	*) ktap_test_fail "selftests: offline_balloon: $t # exit=$rc" ;;
	esac
done
ktap_print_totals
echo "OB_TOTALS pass=$pass fail=$fail skip=$skip"
[ "$KTAP_CNT_FAIL" -eq 0 ]
