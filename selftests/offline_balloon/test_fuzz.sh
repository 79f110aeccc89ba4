#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Hostile local input: a root user writes generated bad values to every
# debugfs file, in simulate mode (target_pages writable) and in virtio mode
# (target_pages belongs to the host, so even good numbers are refused).
# The cases come from a fixed seed, so a failure can be replayed: random
# bytes, numbers past u64, negative numbers, numbers with junk, embedded
# NULs, extra newlines, numbers past the file's limit, over-long writes and
# partial writes (at an offset of N 4 KiB blocks). Every write must fail, be
# logged, and change nothing (target, balloon size, alloc_floor result).
# OB_FUZZ_SEED and OB_FUZZ_COUNT (cases per file and mode) override the
# defaults; make stress runs ten times as many.
. "$(dirname "$0")/lib.sh"

SEED=${OB_FUZZ_SEED:-20241121}
COUNT=${OB_FUZZ_COUNT:-60}
DIR=/tmp/fuzz

ktap_print_header
ktap_set_plan 8

# gen SEED COUNT LIMIT: write COUNT bad cases to $DIR/N and print one line
# per case, "N OFFSET KIND". LIMIT is the largest value the file takes.
gen() {
	rm -rf $DIR
	mkdir -p $DIR
	awk -v seed="$1" -v count="$2" -v limit="$3" -v dir=$DIR '
	function r(n) { return int(rand() * n) }
	function digits(n,   s) { s = ""; while (n-- > 0) s = s sprintf("%d", r(10)); return s }
	function nondigit(   c) { do c = 1 + r(255); while ((c >= 48 && c <= 57) || c == 10); return c }
	BEGIN {
		srand(seed)
		for (i = 0; i < count; i++) {
			f = dir "/" i; kind = r(9); off = 0
			if (kind == 0) {		# random bytes, first not a digit
				printf "%c", nondigit() > f
				for (n = r(40); n > 0; n--) printf "%c", 1 + r(255) > f
			} else if (kind == 1) {		# past u64
				printf "%d%s\n", 1 + r(9), digits(20 + r(20)) > f
			} else if (kind == 2) {		# negative
				printf "-%s\n", digits(1 + r(10)) > f
			} else if (kind == 3) {		# junk after a number
				printf "%s%c%s\n", digits(1 + r(5)), nondigit(), digits(r(3)) > f
			} else if (kind == 4) {		# more than one newline
				printf "%s\n\n", digits(1 + r(5)) > f
			} else if (kind == 5) {		# embedded NUL (the shell adds it)
				printf "%s", digits(1 + r(5)) > f
				kind = "nul"
			} else if (kind == 6) {		# past the file limit
				printf "%.0f\n", limit + 1 + r(1000000) > f
			} else if (kind == 7) {		# over-long
				printf "%s\n", digits(65 + r(200)) > f
			} else {			# partial: a good number at an offset
				printf "%d\n", r(100) > f
				off = 1 + r(8)
			}
			close(f)
			print i, off, kind
		}
	}'
}

# fuzz FILE LIMIT: write the cases to FILE; count refusals, changes, log lines.
fuzz() {
	file=$OB_DEBUGFS/$1
	target0=$(cat $OB_DEBUGFS/target_pages)
	inflated0=$(ob_stat inflated_pages)
	floor0=$(cat $OB_DEBUGFS/alloc_floor)
	accepted=0 changed=0 logged=0 n=0
	gen "$SEED" "$COUNT" "$2" > $DIR.list
	while read -r i off kind; do
		[ "$kind" = nul ] && printf '\000' >> $DIR/$i
		log0=$(dmesg | wc -l)
		if dd if=$DIR/$i of="$file" bs=4096 seek="$off" conv=notrunc 2>/dev/null; then
			accepted=$((accepted + 1))
			ktap_print_msg "$1: case $i (kind $kind, offset $off) was accepted"
		fi
		# A kernel log line of the write explains the refusal (counted per case;
		# the guest's 8 MiB log buffer holds far more than a run writes). Not
		# the last line only: an unrelated kernel message may follow it.
		dmesg | tail -n +$((log0 + 1)) | grep -q "offline_balloon: $1:" && logged=$((logged + 1))
		if [ "$(cat $OB_DEBUGFS/target_pages)" != "$target0" ] ||
			[ "$(ob_stat inflated_pages)" != "$inflated0" ] ||
			[ "$(cat $OB_DEBUGFS/alloc_floor)" != "$floor0" ]; then
			changed=$((changed + 1))
			ktap_print_msg "$1: case $i (kind $kind) changed the state"
		fi
		n=$((n + 1))
	done < $DIR.list
	ktap_print_msg "$1: $n cases (seed $SEED), $accepted accepted, $changed changed the state, $logged logged"
	[ $n = "$COUNT" ] && [ $accepted = 0 ] && [ $changed = 0 ] && [ $logged = $n ]
}

total0=$(meminfo MemTotal)
floor_max=1048576

ob_load simulate=1 || ktap_exit_fail_msg "insmod simulate=1 failed"
ob_set_target 256
ob_wait_stat inflated_pages 256 || ktap_exit_fail_msg "cannot inflate 256 pages"
echo 64 > $OB_DEBUGFS/alloc_floor
ram_pages=$(($(meminfo MemTotal) / PAGE_KB + 256))
ktap_test_result "simulate: target_pages refuses every bad write" fuzz target_pages $ram_pages
ktap_test_result "simulate: alloc_floor refuses every bad write" fuzz alloc_floor $floor_max
ktap_test_result "simulate: stats refuses every write" fuzz stats 0
expect_consistent "simulate: consistent after the fuzzing"
ob_unload

if ob_load; then
	# An idle balloon, whatever target an earlier test left on the host.
	host balloon "${OB_GUEST_MIB:-1024}"
	ob_wait_stat inflated_pages 0 || ktap_print_msg "the balloon does not empty"
	echo 64 > $OB_DEBUGFS/alloc_floor
	# The host owns the target: good numbers are refused too.
	ktap_test_result "virtio: target_pages refuses every write" fuzz target_pages 0
	ktap_test_result "virtio: alloc_floor refuses every bad write" fuzz alloc_floor $floor_max
	ob_unload
else
	ktap_test_skip "virtio: no virtio-balloon device"
	ktap_test_skip "virtio: no virtio-balloon device"
fi

expect_eq "MemTotal restored exactly" "$(meminfo MemTotal)" "$total0"
expect_eq "no PageOffline page left" "$(ob_offline_pages)" 0
rm -rf $DIR $DIR.list

ktap_finished
