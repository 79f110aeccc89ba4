#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# KTAP output helpers with the API of the kernel's
# tools/testing/selftests/kselftest/ktap_helpers.sh (POSIX sh, busybox ash).

KTAP_TESTNO=1
KTAP_CNT_PASS=0
KTAP_CNT_FAIL=0
KTAP_CNT_SKIP=0
KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4
KSFT_NUM_TESTS=0

ktap_print_header() {
	echo "TAP version 13"
}

ktap_set_plan() {
	KSFT_NUM_TESTS="$1"
	echo "1..$KSFT_NUM_TESTS"
}

ktap_skip_all() {
	echo "1..0 # SKIP $*"
	exit "$KSFT_SKIP"
}

ktap_print_msg() {
	echo "# $*"
}

ktap_test_pass() {
	echo "ok $KTAP_TESTNO $*"
	KTAP_CNT_PASS=$((KTAP_CNT_PASS + 1))
	KTAP_TESTNO=$((KTAP_TESTNO + 1))
}

ktap_test_fail() {
	echo "not ok $KTAP_TESTNO $*"
	KTAP_CNT_FAIL=$((KTAP_CNT_FAIL + 1))
	KTAP_TESTNO=$((KTAP_TESTNO + 1))
}

ktap_test_skip() {
	echo "ok $KTAP_TESTNO $* # SKIP"
	KTAP_CNT_SKIP=$((KTAP_CNT_SKIP + 1))
	KTAP_TESTNO=$((KTAP_TESTNO + 1))
}

# ktap_test_result DESCRIPTION COMMAND...: pass if COMMAND succeeds.
ktap_test_result() {
	desc=$1
	shift
	if "$@"; then
		ktap_test_pass "$desc"
	else
		ktap_test_fail "$desc"
	fi
}

ktap_print_totals() {
	echo "# Totals: pass:$KTAP_CNT_PASS fail:$KTAP_CNT_FAIL xfail:0 xpass:0 skip:$KTAP_CNT_SKIP error:0"
}

ktap_exit_fail_msg() {
	echo "Bail out! $*"
	ktap_print_totals
	exit "$KSFT_FAIL"
}

ktap_finished() {
	ktap_print_totals
	if [ $((KTAP_CNT_PASS + KTAP_CNT_SKIP)) -eq "$KSFT_NUM_TESTS" ] && [ "$KTAP_CNT_FAIL" -eq 0 ]; then
		exit "$KSFT_PASS"
	fi
	exit "$KSFT_FAIL"
}
