#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A hostile or careless host. QEMU's QMP 'balloon' refuses sizes <= 0 and
# integers past int64 (the wrapped values), and clamps a size above RAM to
# RAM (num_pages 0): those never reach the guest, and the guest must not
# move. A size of 1 MiB asks for nearly all of the guest: the driver takes
# what it can without reclaim, counts the failures and backs off (bounded
# CPU), or yields what the OOM notifier asks when another allocation runs
# out first, and kills nothing. Thousands of target changes back to back
# leave the counters consistent at every sample and the balloon at the last
# target.
# OB_STORM_COUNT sets the number of changes (make stress: 20000).
. "$(dirname "$0")/lib.sh"

MIB_PAGES=256
GUEST_MIB=${OB_GUEST_MIB:-1024}
STORM=${OB_STORM_COUNT:-2000}

ktap_print_header
ktap_set_plan 13

ob_load || ktap_exit_fail_msg "insmod failed"
total0=$(meminfo MemTotal)
oom0=$(vmstat oom_kill)
host balloon "$GUEST_MIB" || ktap_exit_fail_msg "no host agent"
host balloon 768
ob_wait_stat inflated_pages $(((GUEST_MIB - 768) * MIB_PAGES)) 60 ||
	ktap_exit_fail_msg "cannot inflate $((GUEST_MIB - 768)) MiB"

# Zero, negative, 2^63 and 2^64 bytes: refused by the host, nothing moves.
refused=0
for mib in 0 -64 8796093022208 17592186044416; do
	if err=$(host balloon "$mib" 2>&1); then
		ktap_print_msg "host accepted balloon $mib MiB"
	else
		refused=$((refused + 1))
		ktap_print_msg "balloon $mib MiB: $err"
	fi
done
sleep 1
ktap_test_result "the host refuses sizes <= 0 and past int64" test $refused = 4
expect_eq "the balloon did not move" "$(ob_stat inflated_pages)" $(((GUEST_MIB - 768) * MIB_PAGES))

# Above RAM: clamped to RAM, the balloon empties.
host balloon $((GUEST_MIB * 4))
ktap_test_result "a size above RAM deflates to 0" ob_wait_stat inflated_pages 0 60
expect_eq "the host sees the whole guest" "$(host query-balloon)" "$GUEST_MIB"

# 1 MiB: the host asks for nearly everything.
failed0=$(ob_stat alloc_failed_total) oomd0=$(ob_stat oom_deflated_total)
host balloon 1
ob_wait_full $(((GUEST_MIB - 1) * MIB_PAGES)) "$failed0" 120
sleep 2
# CPU use while the driver keeps failing and backing off.
busy=$(cpu_busy_pct 3)
inflated=$(ob_stat inflated_pages)
ktap_print_msg "host wants $(((GUEST_MIB - 1) * MIB_PAGES)) pages: inflated $inflated," \
	"alloc_failed_total $(($(ob_stat alloc_failed_total) - failed0)), CPU busy $busy%," \
	"oom_deflated_total $(ob_stat oom_deflated_total)"
# Either an allocation of the balloon fails first, or another one runs out
# and the OOM notifier takes memory back (and lowers the target).
ktap_test_result "the driver inflates what it can, then counts the failures or yields to the OOM notifier" \
	test \( "$(ob_stat alloc_failed_total)" -gt "$failed0" -o "$(ob_stat oom_deflated_total)" -gt "$oomd0" \) \
	-a "$inflated" -gt $((GUEST_MIB / 2 * MIB_PAGES))
ktap_test_result "backing off uses under half the CPU" test "$busy" -lt 50
start=$(cut -d' ' -f1 /proc/uptime)
for n in 1 2 3 4 5 6 7 8 9 10; do sh -c true; done
took=$(awk -v a="$start" '{ print int(($1 - a) * 1000) }' /proc/uptime)
ktap_print_msg "10 process starts took $took ms"
ktap_test_result "the guest stays responsive (10 process starts in < 5 s)" test "$took" -lt 5000
expect_eq "no OOM kill" "$(vmstat oom_kill)" "$oom0"
host balloon "$GUEST_MIB"
ktap_test_result "the host deflates it all again" ob_wait_stat inflated_pages 0 120

# Thousands of target changes back to back, sampled all along.
host balloon-storm "$STORM" 42 $KEEP_MIB "$GUEST_MIB" > /tmp/storm_last &
storm=$!
samples=0 bad=0
while kill -0 $storm 2>/dev/null; do
	samples=$((samples + 1))
	ob_sample_consistent || bad=$((bad + 1))
done
wait $storm
last=$(cat /tmp/storm_last)
ktap_print_msg "$STORM changes, last $last MiB; $samples samples, $bad inconsistent"
ktap_test_result "$STORM target changes: consistent at every sample" test -n "$last" -a $bad = 0
ktap_test_result "the balloon settles at the last target" \
	ob_wait_stat inflated_pages $(((GUEST_MIB - last) * MIB_PAGES)) 120
host balloon "$GUEST_MIB"
ob_wait_stat inflated_pages 0 120
expect_consistent "empty, no PageOffline page left"
expect_eq "MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"
ob_unload

ktap_finished
