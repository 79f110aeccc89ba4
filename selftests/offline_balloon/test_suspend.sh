#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suspend and resume with the balloon inflated: suspend to RAM (S3, woken by
# the host's QMP system_wakeup) and the PM core's device test (pm_test=devices:
# every device is frozen and restored, the virtio device reset). The virtio
# balloon must follow the host's target across it (a target change just before
# and after), and suspending must succeed while the target is unreachable (the
# worker pauses and requeues instead of looping). Simulate mode in both models
# as well. Before the review fixes the virtio driver had no freeze/restore
# (after resume the old, reset virtqueues hung the next host request) and the
# worker looped inside one work item (freezing the workqueues timed out).
# At an unreachable target the balloon must leave memory free for the devices
# to resume (the OOM killer is off then): without that, the host agent's
# virtio-serial device failed its restore with -ENOMEM and its next use hit a
# BUG in virtio_ring; the harness fails any test whose kernel log shows a
# device failing to suspend or resume.
. "$(dirname "$0")/lib.sh"

MIB_PAGES=256
GUEST_MIB=${OB_GUEST_MIB:-1024}
# Seconds the write to /sys/power/state may take.
SUSPEND_LIMIT=$((90 * WAIT_SCALE))

ktap_print_header
ktap_set_plan 32

# suspend_ram: suspend to RAM, the host wakes the guest 2 s later.
suspend_ram() {
	echo deep > /sys/power/mem_sleep || return 1
	host wakeup-in 2 || return 1
	timeout $SUSPEND_LIMIT sh -c 'echo mem > /sys/power/state' || return 1
	host_agent_reconnect
}

# Under KASAN the harness boots with pci=noacpi, and without ACPI's PCI
# interrupt routing the PCI interrupts do not come back from a real S3 (the
# host agent's port goes silent): there, suspend to RAM is replaced by the
# device freeze/restore test, which resets the virtio devices all the same.
if [ "${OB_KASAN:-0}" = 1 ]; then
	ktap_print_msg "OB_KASAN=1 (pci=noacpi): pm_test=devices instead of S3"
	suspend_ram() {
		suspend_devices
	}
fi

# suspend_devices: freeze and restore every device (PM core test mode).
suspend_devices() {
	echo devices > /sys/power/pm_test || return 1
	timeout $SUSPEND_LIMIT sh -c 'echo freeze > /sys/power/state'
	rc=$?
	echo none > /sys/power/pm_test
	host_agent_reconnect || return 1
	return $rc
}

# The give-back at an unreachable target is tested through the device test
# (pm_test=devices); a kernel without CONFIG_PM_DEBUG (Debian's) has no
# pm_test, and a real suspend to RAM stands in for it.
if kconfig PM_DEBUG; then
	freeze=suspend_devices freeze_desc="device freeze/restore"
else
	freeze=suspend_ram freeze_desc="suspend to RAM"
fi

# alloc_failed_since F0: wait (up to 60 s, longer under KASAN) until the
# balloon counted an allocation failure past F0; on a timeout, say where the
# balloon stands.
alloc_failed_since() {
	i=0
	while [ "$(ob_stat alloc_failed_total)" -le "$1" ]; do
		i=$((i + 1))
		if [ $i -gt $((600 * WAIT_SCALE)) ]; then
			ktap_print_msg "no allocation failure: inflated_pages $(ob_stat inflated_pages) target_pages $(ob_stat target_pages) alloc_failed_total $(ob_stat alloc_failed_total) MemFree $(meminfo MemFree) kB"
			return 1
		fi
		sleep 0.1
	done
}

# gave_back_since P0: the balloon gave pages back before suspending
# (pm_deflated_total grew past P0).
gave_back_since() {
	ktap_print_msg "pm_deflated_total $(ob_stat pm_deflated_total) (was $1); now, in pages: $(
		awk '$1 == "Node" { z = $4 } $1 == "pages" && $2 == "free" { f = $3 }
		$1 == "high" { printf "%s free %d high %d; ", z, f, $2 }' /proc/zoneinfo)"
	test "$(ob_stat pm_deflated_total)" -gt "$1"
}

pages_for() {
	echo $(((GUEST_MIB - $1) * MIB_PAGES))
}

total0=$(meminfo MemTotal)
oom0=$(vmstat oom_kill)

# The virtio backend, host-driven.
ob_load || ktap_exit_fail_msg "insmod failed"
host balloon 768
ob_wait_stat inflated_pages "$(pages_for 768)" 60 || ktap_exit_fail_msg "cannot inflate"
host balloon 700
ktap_test_result "virtio: suspend to RAM with the balloon inflated" suspend_ram
ktap_test_result "virtio: after resume the balloon reaches the target set before suspending" \
	ob_wait_stat inflated_pages "$(pages_for 700)" 60
expect_eq "virtio: the host sees the balloon's size" "$(host query-balloon)" 700
host balloon 600
ktap_test_result "virtio: a target set after resume is reached" ob_wait_stat inflated_pages "$(pages_for 600)" 60
expect_consistent "virtio: counts consistent after resume"
if kconfig PM_DEBUG; then
	ktap_test_result "virtio: device freeze/restore (pm_test=devices)" suspend_devices
else
	ktap_test_skip "virtio: device freeze/restore (pm_test=devices): needs CONFIG_PM_DEBUG"
fi
host balloon 650
ktap_test_result "virtio: the balloon follows the host after freeze/restore" \
	ob_wait_stat inflated_pages "$(pages_for 650)" 60
f0=$(ob_stat alloc_failed_total)
host balloon 1
ktap_test_result "virtio: the target is unreachable (allocations fail)" alloc_failed_since "$f0"
p0=$(ob_stat pm_deflated_total)
ktap_test_result "virtio: suspend to RAM succeeds while the target is unreachable" suspend_ram
ktap_test_result "virtio: memory was given back before suspending" gave_back_since "$p0"
host balloon "$GUEST_MIB"
ktap_test_result "virtio: after resume the balloon deflates fully" ob_wait_stat inflated_pages 0 120
expect_eq "virtio: the host sees every page returned" "$(host query-balloon)" "$GUEST_MIB"
ktap_test_result "virtio: rmmod" ob_unload

# Simulate mode: no device callbacks, the freezable worker alone.
N=$(($(free_kb) / PAGE_KB / 2))
for movable in 1 0; do
	ob_load simulate=1 movable=$movable || ktap_exit_fail_msg "insmod simulate=1 movable=$movable failed"
	ob_set_target $N
	ob_wait_stat inflated_pages $N 60 || ktap_exit_fail_msg "cannot inflate $N pages"
	p0=$(ob_stat pm_deflated_total)
	ktap_test_result "movable=$movable: suspend to RAM with $N pages inflated" suspend_ram
	expect_eq "movable=$movable: nothing given back with memory free" "$(ob_stat pm_deflated_total)" "$p0"
	expect_consistent "movable=$movable: consistent after resume"
	f0=$(ob_stat alloc_failed_total)
	ob_set_target $(($(meminfo MemTotal) / PAGE_KB + N - 1000))
	ktap_test_result "movable=$movable: the target is unreachable (allocations fail)" \
		alloc_failed_since "$f0"
	p0=$(ob_stat pm_deflated_total)
	ktap_test_result "movable=$movable: $freeze_desc succeeds while the target is unreachable" \
		$freeze
	ktap_test_result "movable=$movable: memory was given back before it" gave_back_since "$p0"
	ob_set_target 0
	ktap_test_result "movable=$movable: deflates fully after resume" ob_wait_stat inflated_pages 0 120
	# Inflation stopped for the transition must go on after it (the balloon
	# at the wall may meanwhile have given memory to the OOM notifier, which
	# lowers the target, so a fresh target is the one to follow).
	ob_set_target $N
	ktap_test_result "movable=$movable: inflates again after resume" ob_wait_stat inflated_pages $N 60
	ob_unload
done

expect_eq "MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"
expect_eq "no PageOffline page left" "$(ob_offline_pages)" 0
expect_eq "no OOM kill" "$(vmstat oom_kill)" "$oom0"
ktap_finished
