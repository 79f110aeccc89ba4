#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the offline_balloon selftests (sourced).

. "$(dirname "$0")/ktap_helpers.sh"
. "$(dirname "$0")/host_agent.sh"

OB_MOD=offline_balloon
OB_KO=${OB_KO:-/lib/modules/offline_balloon.ko}
OB_DEBUGFS=/sys/kernel/debug/offline_balloon
PAGE_KB=4

[ "$(id -u)" = 0 ] || ktap_skip_all "needs root"
[ -f "$OB_KO" ] || ktap_skip_all "$OB_KO not found"

ob_loaded() {
	grep -q "^$OB_MOD " /proc/modules
}

ob_load() {
	ob_loaded && ob_unload
	insmod "$OB_KO" "$@"
}

ob_unload() {
	rmmod "$OB_MOD"
}

# meminfo FIELD: the value of FIELD in /proc/meminfo (kB).
meminfo() {
	awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo
}

# vmstat FIELD: the value of FIELD in /proc/vmstat.
vmstat() {
	awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat
}

# expect_eq DESC GOT WANT: pass if equal, otherwise explain.
expect_eq() {
	if [ "$2" = "$3" ]; then
		ktap_test_pass "$1"
	else
		ktap_print_msg "$1: got '$2', want '$3'"
		ktap_test_fail "$1"
	fi
}

# expect_within DESC GOT WANT TOLERANCE: pass if |GOT - WANT| <= TOLERANCE.
expect_within() {
	d=$(($2 - $3))
	[ "$d" -lt 0 ] && d=$((-d))
	if [ "$d" -le "$4" ]; then
		ktap_test_pass "$1"
	else
		ktap_print_msg "$1: got $2, want $3 +- $4"
		ktap_test_fail "$1"
	fi
}
