#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Frozen pages while memory blocks go offline and online in a loop: target
# storms in the frozen model, with rmmod in the middle. Before the review
# fixes a frozen page of the batch being inflated was invisible to the memory
# notifier (the batch list then walked a memory map poisoned by offlining),
# and unloading left the memory notifier chain before the balloon was empty
# (an offlining half-way through then raced the last frees). The first storm
# evacuates the frozen pages of a block going offline (evacuate=1, the
# default), the second lets them go offline with it (evacuate=0).
# OB_STRESS_SECONDS sets each storm's length (8 s by default, 5 times that and
# 5 times the time per offlining under KASAN, where offlining a block takes
# seconds).
. "$(dirname "$0")/lib.sh"

SECONDS_PER_STORM=${OB_STRESS_SECONDS:-$((8 * WAIT_SCALE))}
STEP_PCT="40 9 65 0 55 27 75 5"

ktap_print_header
ktap_set_plan 12

total0=$(meminfo MemTotal)
free0=$(free_kb)
STEPS=$(pages_pct "$free0" $STEP_PCT)
blocks=$(ls -d $MEM/memory* | sed 's/.*memory//' | sort -n | tail -n +2)

# Can any block go offline at all? (Not always: under KASAN here none could.)
offlinable=0
for b in $blocks; do
	offline_block $b 10 && offlinable=1
	echo online > $MEM/memory$b/state 2>/dev/null
	[ $offlinable = 1 ] && break
done

# Whether the storms evacuate or drop frozen pages depends on the race
# between the hotplug loop and the target changes (a block holding frozen
# pages must go offline while they are in it), so one directed offlining
# for each (offline_a_frozen_block, with a frozen balloon of half the free
# memory) proves the paths first. First: the storms' frozen pages are
# unmovable allocations, which spread unmovable pageblocks over every block,
# and the kernel's own allocations that later share them often keep every
# block from going offline. Even one frozen balloon does that: after the
# evacuating one, no block could go offline for the dropping one in some
# runs on all three kernels, and after the scripts before this one, often
# only one block can: both get a block kept offline from the start (SPARE),
# which each leaves offline when its offlining works. directed EVACUATE
# STAT [BLOCK] prints STAT after it, 0 if the block did not go offline, or
# "none" when no memory block can go offline (without BLOCK, or an empty
# one, it takes any block that can go offline).
directed() {
	n=$(($(free_kb) / PAGE_KB / 2)) r= got=0
	if ob_load simulate=1 movable=0 evacuate=$1 && ob_set_target $n && ob_wait_stat inflated_pages $n; then
		r=$(offline_a_frozen_block $n $3)
		case $? in
		0) got=$(ob_stat $2) ;;
		2) got=none ;;
		esac
	fi
	ktap_print_msg "a directed offlining of memory${r%% *} (evacuate=$1): $2 $got" >&2
	ob_set_target 0
	ob_wait_stat inflated_pages 0
	ob_unload
	echo "$got"
}
# all_online: every block but the first online again.
all_online() {
	for b in $blocks; do
		echo online > $MEM/memory$b/state 2>/dev/null
	done
}
directed_evacuated=none directed_dropped=none
if [ $offlinable = 1 ] && spare=$(offline_any_block); then
	directed_evacuated=$(directed 1 evacuated_total "$spare")
	# The block is offline again if that offlining worked.
	[ "$(cat $MEM/memory$spare/state)" = offline ] || offline_block $spare || spare=
	directed_dropped=$(directed 0 offlined_total $spare)
	all_online
fi

# Background: offline and online every block but the first, round and round,
# until /tmp/storm_stop exists; count the blocks that went offline.
rm -f /tmp/storm_stop /tmp/storm_pause
echo 0 > /tmp/storm_offlined
echo 0 > /tmp/storm_dropped
echo 0 > /tmp/storm_evacuated
(
	n=0
	while [ ! -e /tmp/storm_stop ]; do
		for b in $blocks; do
			[ -e /tmp/storm_stop ] && break
			while [ -e /tmp/storm_pause ]; do
				touch /tmp/storm_paused
				sleep 0.1
			done
			if offline_block $b 10; then
				n=$((n + 1))
				echo $n > /tmp/storm_offlined
			fi
			echo online > $MEM/memory$b/state 2>/dev/null
		done
	done
) &
hotplug=$!

# pause_hotplug / resume_hotplug: hold the loop above between two blocks.
# Reading /proc/kpageflags while a block goes offline can oops the kernel:
# kpageflags_read() checks that the page is online, then reads it, and under
# DEBUG_VM offlining poisons the block's memory map in between (seen on 6.12,
# in stable_page_flags() with the module unloaded).
pause_hotplug() {
	rm -f /tmp/storm_paused
	touch /tmp/storm_pause
	i=0
	until [ -e /tmp/storm_paused ] || [ $i -gt $((300 * WAIT_SCALE)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
resume_hotplug() {
	rm -f /tmp/storm_pause
}

# storm ARGS: load the frozen model with ARGS and change the target along
# STEPS until the time is up, with rmmod (and a reload) half-way.
storm() {
	bad=0 samples=0 reloaded=0
	ob_load simulate=1 movable=0 "$@" || return 1
	end=$(($(cut -d. -f1 /proc/uptime) + SECONDS_PER_STORM))
	while [ "$(cut -d. -f1 /proc/uptime)" -lt $end ]; do
		for t in $STEPS; do
			ob_set_target $t
			sleep 0.2
			samples=$((samples + 1))
			ob_sample_consistent || bad=$((bad + 1))
		done
		if [ $reloaded = 0 ]; then
			offlined=$(ob_stat offlined_total) evacuated=$(ob_stat evacuated_total)
			ob_set_target $((free0 / PAGE_KB * 65 / 100))
			sleep 0.2
			timeout $((60 * WAIT_SCALE)) rmmod $OB_MOD || { ktap_print_msg "rmmod failed or hung"; bad=$((bad + 1)); }
			pause_hotplug
			[ "$(ob_offline_pages)" = 0 ] || { ktap_print_msg "PageOffline pages left after rmmod"; bad=$((bad + 1)); }
			resume_hotplug
			ob_load simulate=1 movable=0 "$@" || return 1
			reloaded=1
		fi
	done
	offlined2=$(ob_stat offlined_total)
	ktap_print_msg "$*: $samples samples, $bad inconsistent, offlined_total $offlined before rmmod, $offlined2 after"
	echo $(($(cat /tmp/storm_dropped) + offlined + offlined2)) > /tmp/storm_dropped
	echo $(($(cat /tmp/storm_evacuated) + evacuated + $(ob_stat evacuated_total))) > /tmp/storm_evacuated
	[ $bad = 0 ]
}

for args in "order=9" "order=0 batch=64 evacuate=0"; do
	ktap_test_result "$args: storm with blocks going offline and online, rmmod half-way" storm $args
	ob_set_target 0
	ktap_test_result "$args: settles at 0" ob_wait_stat inflated_pages 0 120
	ktap_test_result "$args: rmmod" ob_unload
done

touch /tmp/storm_stop
wait $hotplug
ktap_print_msg "$(cat /tmp/storm_offlined) blocks went offline during the storms"
if [ $offlinable = 1 ]; then
	ktap_test_result "blocks went offline during the storms" test "$(cat /tmp/storm_offlined)" -gt 0
else
	ktap_test_skip "blocks went offline during the storms (no block could go offline before them)"
fi
all_online
ktap_print_msg "the storms evacuated $(cat /tmp/storm_evacuated) frozen pages from blocks going offline and dropped $(cat /tmp/storm_dropped) with them"
if [ $offlinable = 0 ]; then
	ktap_test_skip "frozen pages were evacuated from blocks going offline (no block could go offline)"
elif [ "$directed_evacuated" = none ]; then
	ktap_test_skip "frozen pages were evacuated from blocks going offline (no memory block can go offline)"
else
	ktap_test_result "frozen pages were evacuated from a block going offline (evacuated_total)" test "$directed_evacuated" -gt 0
fi
ktap_test_result "every block is online again" sh -c "! grep -q offline $MEM/memory*/state"
if [ $offlinable = 0 ]; then
	ktap_test_skip "frozen pages were dropped with their blocks (no block could go offline)"
elif [ "$directed_dropped" = none ]; then
	ktap_test_skip "frozen pages were dropped with their blocks (no memory block can go offline)"
else
	ktap_test_result "frozen pages were dropped with a block (offlined_total)" test "$directed_dropped" -gt 0
fi
expect_eq "MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"
expect_eq "no PageOffline page left" "$(ob_offline_pages)" 0
ktap_finished
