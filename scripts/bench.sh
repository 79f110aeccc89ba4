#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: for every supported kernel (or only $KERNEL), build the module
# against that kernel's performance build (KERNEL_VARIANT, perf by default:
# scripts/kernel-perf.config) and boot guests that run
# scripts/bench/guest-bench.sh: the main benchmark in OB_BENCH_BOOTS guests
# (3) of OB_BENCH_ROUNDS rounds each (5), merged (some figures move from one
# boot to the next and not within one: several boots average that); then
# host memory given back by a guest whose RAM is 2 MiB hugetlb pages (the
# host's hugetlb pool is grown for it and shrunk back). Prints the table and
# writes the JSON (bench-<variant>.json in the kernel's log directory;
# OB_BENCH_JSON sets the path when one kernel is benchmarked).
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
# A 2 GiB guest: each host-driven run lasts about half a second, long enough
# for the host's polling and the machine's noise to matter little.
export OB_MEM=${OB_MEM:-2048}
mem=$OB_MEM
boots=${OB_BENCH_BOOTS:-3}
rounds=${OB_BENCH_ROUNDS:-5}
qemu=$(qemu-system-x86_64 --version | awk 'NR == 1 { print $4 }')
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)

# hugetlb_reserve: make room in the host's hugetlb pool for the guest's RAM;
# prints the pool size to restore afterwards, fails if the pages cannot be had.
hugetlb_reserve() {
	local nr=/proc/sys/vm/nr_hugepages total free need
	total=$(cat $nr)
	free=$(awk '$1 == "HugePages_Free:" { print $2 }' /proc/meminfo)
	need=$((mem / 2))
	if [ "$free" -lt "$need" ]; then
		echo $((total + need - free)) > $nr 2>/dev/null || true
		free=$(awk '$1 == "HugePages_Free:" { print $2 }' /proc/meminfo)
	fi
	echo "$total"
	[ "$free" -ge "$need" ]
}

for k in "${kernels[@]}"; do
	info "bench: Linux $k, $KERNEL_VARIANT kernel"
	KERNEL=$k "$ROOT/scripts/prepare.sh"
	log_dir=$CACHE/logs/linux-$k
	json=${OB_BENCH_JSON:-$log_dir/bench-$KERNEL_VARIANT.json}
	release=$(cat "$(KERNEL=$k "$ROOT/scripts/print-kdir.sh")/include/config/kernel.release")
	logs=()
	for b in $(seq "$boots"); do
		info "bench: Linux $k, guest $b of $boots"
		mkdir -p "$log_dir/boot$b"
		KERNEL=$k OB_LOG_DIR=$log_dir/boot$b OB_TIMEOUT=${OB_TIMEOUT:-3000} \
			OB_APPEND="${OB_APPEND:-} OB_BENCH_BOOT=$b OB_BENCH_ROUNDS=$rounds" "$ROOT/scripts/run-guest.sh" bench
		logs+=("$log_dir/boot$b/guest-bench.log")
	done
	if pool=$(hugetlb_reserve); then
		info "bench: Linux $k, guest RAM in 2 MiB hugetlb pages"
		mkdir -p "$log_dir/hugetlb"
		KERNEL=$k OB_LOG_DIR=$log_dir/hugetlb OB_TIMEOUT=${OB_TIMEOUT:-3000} \
			OB_APPEND="${OB_APPEND:-} OB_BENCH_PART=hugetlb" \
			OB_QEMU_ARGS="${OB_QEMU_ARGS:-} -object memory-backend-memfd,id=ram0,size=${mem}M,hugetlb=on,hugetlbsize=2M -machine memory-backend=ram0" \
			"$ROOT/scripts/run-guest.sh" bench || true
		logs+=("$log_dir/hugetlb/guest-bench.log")
	else
		info "bench: no room for $((mem / 2)) hugetlb pages on the host: the hugetlb-backed guest is not measured"
	fi
	echo "$pool" > /proc/sys/vm/nr_hugepages 2>/dev/null || true
	"$VENV/bin/python3" "$ROOT/scripts/bench/report.py" "$json" "${logs[@]}" \
		"kernel=$release" "variant=$KERNEL_VARIANT" "qemu=$qemu" "cpu=$cpu" \
		"vcpus=${OB_SMP:-2}" "accel=$(KERNEL=$k "$ROOT/scripts/print-kdir.sh" accel)" "guest_mib=$mem"
done
