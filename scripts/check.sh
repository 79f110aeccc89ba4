#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: for every supported kernel (or only $KERNEL), lint and build
# the module against that kernel's test build and run the selftests in a
# guest booted with it. Prints one summary line per kernel, then the combined
# `N passed, N failed, N skipped`; exits non-zero on any failure.
# Usage: check.sh [TEST[,TEST...]]
# REPEAT=N boots each kernel's guests N times in a row (a hunt for
# intermittent failures: each run's counts are printed as it ends).
set -uo pipefail
selected=${KERNEL:-}
. "$(dirname "$0")/kernel-env.sh"

tests=${1:-}
[[ ${REPEAT:-1} =~ ^[1-9][0-9]*$ ]] || die "REPEAT=$REPEAT: give a number of runs, 1 or more"
if [ -n "$selected" ]; then
	kernels=("$selected")
else
	kernels=("${KERNELS[@]}")
fi
"$ROOT/scripts/setup.sh" || exit 1

# Guests each kernel boots (LABEL|APPEND|TESTS|NODES): the whole suite (or
# the selected tests), then the tests that need another guest: free pages
# zeroed (init_on_free) and poisoned (page_poison) for test_virtio_poison.sh,
# two NUMA nodes for test_numa.sh.
boots=("main||${tests}|1")
if [ -z "$tests" ] || [[ ",$tests," == *,test_virtio_poison,* ]]; then
	boots+=("init_on_free|init_on_free=1|test_virtio_poison|1" "page_poison|page_poison=1|test_virtio_poison|1")
fi
if [ -z "$tests" ] || [[ ",$tests," == *,test_numa,* ]]; then
	boots+=("numa||test_numa|2")
fi

# boot K LABEL APPEND TESTS NODES: one guest, its output shown as it runs;
# sets `result` to its passed, failed and skipped counts (a failed boot or a
# missing summary line counts as one failure).
boot() {
	local log line p f s dir=$CACHE/logs/linux-$1
	[ "$2" = main ] || dir=$dir/$2
	log=$(mktemp /tmp/offline_balloon-check.XXXXXX)
	OB_APPEND="$3" OB_NUMA="$5" OB_LOG_DIR="$dir" KERNEL=$1 \
		"$ROOT/scripts/run-guest.sh" check "$4" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -1)
	rm -f "$log"
	[ -n "$line" ] || line="0 passed, 1 failed, 0 skipped"
	read -r p _ f _ s _ <<<"${line//,/}"
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	result=("$p" "$f" "$s")
}

# print_checks K: the documented `make -s print-*` commands, run as written
# for kernel K on the host, name its build directory, image and modules (a
# regression: GNU make 4.3 kept KERNEL= of the command line from $(shell),
# so `make -s print-kdir KERNEL=7.3` printed 6.12's); sets `result`.
print_checks() {
	local kdir image moddir
	kdir=$(make -s -C "$ROOT" --no-print-directory print-kdir KERNEL="$1")
	image=$(make -s -C "$ROOT" --no-print-directory print-image KERNEL="$1")
	moddir=$(make -s -C "$ROOT" --no-print-directory print-moddir KERNEL="$1")
	if [ "$kdir" = "$(KERNEL=$1 "$ROOT/scripts/print-kdir.sh")" ] && [ -f "$kdir/.config" ] &&
		[ -f "$image" ] && [ -d "$moddir/kernel" ]; then
		info "ok: make -s print-kdir/print-image/print-moddir KERNEL=$1: $kdir, $image, $moddir"
		result=(1 0 0)
	else
		info "not ok: make -s print-kdir/print-image/print-moddir KERNEL=$1 printed '$kdir', '$image', '$moddir'"
		result=(0 1 0)
	fi
}

total=(0 0 0)
summary=()
rc=0
for k in "${kernels[@]}"; do
	info "check: Linux $k"
	start=$(date +%s)
	sum=(0 0 0)
	if KERNEL=$k "$ROOT/scripts/prepare.sh" --lint; then
		print_checks "$k"
		sum=("${result[@]}")
		for run in $(seq "${REPEAT:-1}"); do
			run_sum=(0 0 0)
			for b in "${boots[@]}"; do
				IFS='|' read -r label append only nodes <<<"$b"
				# page_poison=1 does nothing without PAGE_POISONING (Debian's
				# kernel): the boot would only skip its test.
				if [ "$label" = page_poison ] &&
					! grep -q '^CONFIG_PAGE_POISONING=y' "$(KERNEL=$k "$ROOT/scripts/print-kdir.sh")/.config"; then
					info "check: Linux $k has no CONFIG_PAGE_POISONING: no page_poison=1 boot"
					continue
				fi
				[ "$label" = main ] || info "check: Linux $k, booted with ${append:-$nodes NUMA nodes}"
				boot "$k" "$label" "$append" "$only" "$nodes"
				run_sum=($((run_sum[0] + result[0])) $((run_sum[1] + result[1])) $((run_sum[2] + result[2])))
			done
			[ "${REPEAT:-1}" = 1 ] || info "check: Linux $k, run $run of $REPEAT: ${run_sum[0]} passed, ${run_sum[1]} failed, ${run_sum[2]} skipped"
			sum=($((sum[0] + run_sum[0])) $((sum[1] + run_sum[1])) $((sum[2] + run_sum[2])))
		done
	else
		sum=(0 1 0)
	fi
	[ "${sum[1]}" -ne 0 ] && rc=1
	total=($((total[0] + sum[0])) $((total[1] + sum[1])) $((total[2] + sum[2])))
	summary+=("Linux $k: ${sum[0]} passed, ${sum[1]} failed, ${sum[2]} skipped ($(($(date +%s) - start)) s)")
done
printf '%s\n' "${summary[@]}"
echo "${total[0]} passed, ${total[1]} failed, ${total[2]} skipped"
exit $rc
