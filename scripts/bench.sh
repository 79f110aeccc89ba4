#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: for every supported kernel (or only $KERNEL), build the module
# against that kernel's performance build (KERNEL_VARIANT, perf by default:
# scripts/kernel-perf.config), boot one guest that runs
# scripts/bench/guest-bench.sh, print the table and write the JSON
# (bench-<variant>.json in the kernel's log directory; OB_BENCH_JSON sets the
# path when one kernel is benchmarked).
set -euo pipefail
selected=${KERNEL:-}
export KERNEL_VARIANT=${KERNEL_VARIANT:-perf}
. "$(dirname "$0")/kernel-env.sh"
if [ -n "$selected" ]; then
	kernels=("$selected")
else
	kernels=("${KERNELS[@]}")
	unset OB_BENCH_JSON
fi
qemu=$(qemu-system-x86_64 --version | awk 'NR == 1 { print $4 }')
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
for k in "${kernels[@]}"; do
	info "bench: Linux $k, $KERNEL_VARIANT kernel"
	KERNEL=$k "$ROOT/scripts/prepare.sh"
	log_dir=$CACHE/logs/linux-$k
	json=${OB_BENCH_JSON:-$log_dir/bench-$KERNEL_VARIANT.json}
	release=$(cat "$(KERNEL=$k "$ROOT/scripts/print-kdir.sh")/include/config/kernel.release")
	KERNEL=$k OB_LOG_DIR=$log_dir OB_TIMEOUT=${OB_TIMEOUT:-3000} "$ROOT/scripts/run-guest.sh" bench
	"$VENV/bin/python3" "$ROOT/scripts/bench/report.py" "$log_dir/guest-bench.log" "$json" \
		"kernel=$release" "variant=$KERNEL_VARIANT" "qemu=$qemu" "cpu=$cpu" \
		"vcpus=${OB_SMP:-2}" "accel=${OB_ACCEL:-tcg}"
done
