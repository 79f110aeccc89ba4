#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kernel's own mm selftests (built from this kernel's source by
# scripts/build-mm-selftests.sh) with 40% of the guest in a balloon: no
# balloon and the in-tree C driver as controls, then ours with movable pages
# (host-driven) and ours with frozen pages (simulate mode). Ours must pass
# every test that passes with no balloon and with the C driver; a test that
# fails in a control is reported as a skip naming the control, not hidden.
# A one-node guest runs compaction_test, the hugetlb tests on a pool of 128
# huge pages (256 MiB), transhuge-stress and mem-on-off-test.sh, and under
# OB_MM_FULL=1 (make stress) khugepaged too; a two-node guest (OB_NUMA=2) of
# 3 CPUs or more runs migration, whose six cases take 20 s each, under
# OB_MM_FULL=1 only.
. "$(dirname "$0")/lib.sh"

MM=/selftests/mm
MIB_PAGES=256
GUEST_MIB=${OB_GUEST_MIB:-1024}
BALLOON_MIB=$((GUEST_MIB * 40 / 100))
HUGE_PAGES=128
FULL=${OB_MM_FULL:-0}
NODES=$(ls -d /sys/devices/system/node/node[0-9]* | wc -l)
# OB_MM_CONFIGS=... runs only those (the controls first: ours is judged
# against the controls that ran).
CONFIGS=${OB_MM_CONFIGS:-none c movable frozen}

[ -d $MM ] || ktap_skip_all "$MM not found (the harness builds it)"
[ -f "$C_KO" ] || ktap_skip_all "$C_KO not found"

# The tests of this guest, as NAME:ARGS (ARGS with + for spaces).
if [ "$NODES" -gt 1 ]; then
	[ "$FULL" = 1 ] || ktap_skip_all "migration runs 2 minutes per balloon: OB_MM_FULL=1 (make stress) only"
	# Its threads need 3 CPUs; its hugetlb cases a pool.
	[ "$(nproc)" -ge 3 ] || ktap_skip_all "migration needs 3 CPUs or more (OB_SMP=4)"
	tests="reserve_huge_pages: migration:"
else
	tests="compaction_test: reserve_huge_pages:"
	for t in map_hugetlb hugepage-mmap hugetlb-mmap hugetlb-madvise; do
		[ -x $MM/$t ] && tests="$tests $t:"
	done
	tests="$tests transhuge-stress:-d+$([ "$FULL" = 1 ] && echo 20 || echo 5) mem-on-off-test.sh:"
	[ "$FULL" = 1 ] && tests="$tests khugepaged:"
fi
set -- $tests
per_config=$(($# + 3))

ktap_print_header
ktap_set_plan $(($(echo $CONFIGS | wc -w) * per_config))
total0=$(meminfo MemTotal)

# balloon_up CONFIG / balloon_down CONFIG: 40% of the guest into the balloon
# of CONFIG, and all of it back (the driver unloaded).
balloon_up() {
	case $1 in
	none) return 0 ;;
	c) insmod "$C_KO" || return 1 ;;
	movable) ob_load || return 1 ;;
	frozen)
		ob_load simulate=1 movable=0 || return 1
		ob_set_target $((BALLOON_MIB * MIB_PAGES))
		ob_wait_stat inflated_pages $((BALLOON_MIB * MIB_PAGES)) 120
		return
		;;
	esac
	host balloon-wait $((GUEST_MIB - BALLOON_MIB)) $((120 * WAIT_SCALE)) >/dev/null
}
balloon_down() {
	case $1 in
	none) return 0 ;;
	frozen) ob_set_target 0 && ob_wait_stat inflated_pages 0 120 && ob_unload ;;
	*)
		host balloon-wait "$GUEST_MIB" $((120 * WAIT_SCALE)) >/dev/null || return 1
		if [ "$1" = c ]; then rmmod virtio_balloon; else ob_unload; fi
		;;
	esac
}

# reserve_huge_pages: a pool of HUGE_PAGES huge pages, for the hugetlb tests
# after it; fails when the kernel cannot make that many.
reserve_huge_pages() {
	echo 3 > /proc/sys/vm/drop_caches
	echo $HUGE_PAGES > /proc/sys/vm/nr_hugepages
	got=$(meminfo HugePages_Free)
	echo "$got of $HUGE_PAGES huge pages reserved"
	[ "$got" -ge $HUGE_PAGES ]
}

# Results, per balloon: R/CONFIG/NAME.res (pass, fail or skip: kselftest
# exit codes) and R/CONFIG/NAME.cases (a line "pass|fail|skip CASE" per case).
R=/tmp/mm_results
rm -rf $R

# cases: the cases of a test's output: KTAP results, and khugepaged's
# "Run test: CASE" sections (one that prints "Fail" fails).
cases() {
	awk '/^Run test: / { if (c != "") print r, c; c = substr($0, 11); r = "pass"; next }
		c != "" && /Fail/ { r = "fail" }
		/^(not )?ok [0-9]+ / {
			r2 = $1 == "not" ? "fail" : "pass"
			if (/# SKIP/) r2 = "skip"
			n = $0
			sub(/^(not )?ok [0-9]+ /, "", n)
			sub(/ # .*/, "", n)
			print r2, n
		}
		END { if (c != "") print r, c }'
}

# run_mm CONFIG NAME ARGS: run one test and keep its results. Its output
# goes to a log: the end is shown when it did not pass, the lines that say
# what it did always.
run_mm() {
	log=$R/$1/$2.log
	mkdir -p $R/$1
	case $2 in
	reserve_huge_pages) reserve_huge_pages >"$log" 2>&1 ;;
	*.sh) timeout 300 bash "$MM/$2" >"$log" 2>&1 ;;
	*) (cd $MM && timeout 600 "./$2" $3) >"$log" 2>&1 ;;
	esac
	rc=$?
	case $rc in
	0) res=pass ;;
	4) res=skip ;;
	*) res=fail ;;
	esac
	# Progress lines end in carriage returns: the last step of each counts.
	tr '\r' '\n' <"$log" >"$log.lines"
	cases <"$log.lines" >$R/$1/$2.cases
	# A test that passed by skipping every case proved nothing.
	[ $res = pass ] && [ -s $R/$1/$2.cases ] && ! grep -q '^pass ' $R/$1/$2.cases && res=skip
	echo $res >$R/$1/$2.res
	if [ $res = pass ]; then
		grep -E 'huge pages (allocated|reserved)|^-> |^# (ok|not ok|SKIP)|^ok|^not ok|[0-9]+ succeed' "$log.lines" | tail -n 8
	else
		grep -iE -B3 'fail|error|bail out|not ok' "$log.lines" | tail -n 20
		tail -n 3 "$log.lines"
	fi | while IFS= read -r l; do ktap_print_msg "$1 $2 (exit $rc): $l"; done
}
result() {
	cat $R/$1/$2.res 2>/dev/null || echo "not run"
}

# controls_passed NAME: every control that ran passed NAME.
controls_passed() {
	for ctl in none c; do
		[ ! -f $R/$ctl/$1.res ] || [ "$(result $ctl "$1")" = pass ] || return 1
	done
}

# judge CONFIG NAME DESC: ours against the controls that ran. Where a
# control failed the test, ours is judged on the cases that passed in every
# control (khugepaged's swap cases fail in a guest without swap).
judge() {
	base= first=1
	for ctl in none c; do
		[ -f $R/$ctl/$2.res ] || continue
		passed=$(sed -n 's/^pass //p' $R/$ctl/$2.cases)
		if [ $first = 1 ]; then
			base=$passed first=0
		elif [ -n "$passed" ]; then
			base=$(echo "$base" | grep -xF "$passed")
		else
			base=
		fi
	done
	res=$(result "$1" "$2")
	if controls_passed "$2"; then
		if [ "$res" = pass ]; then
			ktap_test_pass "$3"
		else
			ktap_test_fail "$3: $res, where the controls passed"
		fi
	elif [ -z "$base" ]; then
		ktap_test_skip "$3: $res; not judged, the controls did not pass it (no balloon: $(result none "$2"), C: $(result c "$2"))"
	else
		missing=$(echo "$base" | while IFS= read -r c; do grep -qxF "pass $c" $R/$1/$2.cases || echo "$c"; done)
		n=$(echo "$base" | wc -l)
		if [ -z "$missing" ]; then
			ktap_test_pass "$3: $res as in the controls; the $n cases that pass in every control pass"
		else
			echo "$missing" | while IFS= read -r c; do ktap_print_msg "$1 $2: not passed: $c"; done
			ktap_test_fail "$3: $(echo "$missing" | wc -l) of the $n cases that pass in every control do not pass"
		fi
	fi
}

for config in $CONFIGS; do
	ktap_test_result "$config: 40% of the guest ($BALLOON_MIB MiB) in the balloon" balloon_up $config
	for t in "$@"; do
		name=${t%%:*} args=$(echo "${t#*:}" | tr + ' ')
		start=$(date +%s)
		run_mm $config "$name" "$args"
		res=$(result $config "$name")
		desc="$config: $name $args ($(($(date +%s) - start)) s)"
		case $config in
		none | c)
			# A control: its failures are the kernel's or this guest's,
			# reported, not ours to judge.
			case $res in
			pass) ktap_test_pass "$desc" ;;
			*) ktap_test_skip "$desc: $res with $([ $config = c ] && echo "the C driver" || echo "no balloon")" ;;
			esac
			;;
		*)
			# Some of the kernel's tests race against time (migration's
			# shared_anon_htlb needs two moves of a huge page in 20 s while
			# three processes touch it: on Debian's kernel in single-
			# threaded TCG it passed 5 of 6 runs with no balloon, 2 of 6
			# with C, 4 of 6 with ours): one that fails with ours where
			# the controls passed gets two more runs.
			try=1
			while [ "$(result $config "$name")" != pass ] && [ $try -lt 3 ] && controls_passed "$name"; do
				try=$((try + 1))
				ktap_print_msg "$config: $name did not pass where the controls did: run $try of 3"
				run_mm $config "$name" "$args"
			done
			[ $try = 1 ] || desc="$desc, run $try of 3"
			judge $config "$name" "$desc"
			;;
		esac
	done
	echo 0 > /proc/sys/vm/nr_hugepages
	ktap_test_result "$config: the balloon gives everything back" balloon_down $config
	expect_eq "$config: MemTotal restored" "$(meminfo MemTotal)" "$total0"
done

ktap_finished
