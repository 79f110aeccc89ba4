#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# debugfs control: good and bad writes to target_pages. Every bad write fails
# with an error and a kernel log line, and changes nothing.
. "$(dirname "$0")/lib.sh"

ktap_print_header
ktap_set_plan 14

ob_load simulate=1 || ktap_exit_fail_msg "insmod simulate=1 failed"
T=$OB_DEBUGFS/target_pages
ob_set_target 256
ob_wait_stat inflated_pages 256 || ktap_exit_fail_msg "cannot inflate 256 pages"
ram_pages=$(($(meminfo MemTotal) / PAGE_KB + 256))

# bad_write DESC VALUE: writing VALUE (backslash escapes interpreted) to
# target_pages must fail, leave the
# target and the balloon as they were, and log why.
bad_write() {
	before=$(dmesg | wc -l)
	if printf '%b' "$2" > "$T" 2>/dev/null; then
		ktap_print_msg "$1: write succeeded"
		ktap_test_fail "$1 is refused"
		return
	fi
	logged=$(dmesg | tail -n +$((before + 1)) | grep -c "offline_balloon: target_pages:")
	if [ "$(cat "$T")" = 256 ] && [ "$(ob_stat inflated_pages)" = 256 ] && [ "$logged" -ge 1 ]; then
		ktap_test_pass "$1 is refused, logged, and changes nothing"
	else
		ktap_print_msg "$1: target $(cat "$T"), inflated $(ob_stat inflated_pages), log lines $logged"
		ktap_test_fail "$1 is refused, logged, and changes nothing"
	fi
}

bad_write "garbage" "abc"
bad_write "a negative number" "-1"
bad_write "a number that overflows u64" "18446744073709551616"
bad_write "an empty line" "\n"
bad_write "two numbers" "12 34"
bad_write "leading blank" " 12"
bad_write "hex" "0x100"
bad_write "more than RAM" "$((ram_pages + 1))"
bad_write "an over-long write" "$(printf '%080d' 1)"

# A write at a nonzero offset (a partial write) is refused too.
before=$(dmesg | wc -l)
if printf 5 | dd of="$T" bs=1 seek=1 conv=notrunc 2>/dev/null; then
	ktap_test_fail "a write at offset 1 is refused"
else
	expect_eq "a write at offset 1 is refused and logged" \
		"$(dmesg | tail -n +$((before + 1)) | grep -c 'partial writes')" 1
fi

if echo 1 > "$OB_DEBUGFS/stats" 2>/dev/null; then
	ktap_test_fail "stats is read-only"
else
	ktap_test_pass "stats is read-only"
fi

ktap_test_result "a value with a trailing newline is taken" ob_set_target 512
ktap_test_result "the balloon follows it" ob_wait_stat inflated_pages 512
expect_eq "target_pages reads back the target" "$(cat "$T")" 512

ob_unload
ktap_finished
