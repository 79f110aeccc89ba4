#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the selected kernel (KERNEL, see kernel-env.sh) in QEMU with the
# module and selftests. Debian's kernel boots only once its image and the
# modules the guest loads match the md5sums of Debian's packages.
# Usage: run-guest.sh check|run|bench|shell [TEST]
# Environment: OB_ACCEL=kvm to try KVM (hangs on these machines; TCG is the
# default, single-threaded for Debian's kernel: kernel-env.sh), OB_MEM (MiB, 1024), OB_SMP (2), OB_NUMA (NUMA nodes, 1: memory and CPUs split evenly), OB_TIMEOUT (seconds), OB_APPEND
# (extra kernel parameters), OB_QEMU_ARGS (extra QEMU arguments), OB_LOG_DIR or
# OB_LOG_NAME (where the console log goes).
set -euo pipefail
. "$(dirname "$0")/kernel-env.sh"
mode=${1:?usage: run-guest.sh check|run|bench|shell [TEST]}
test=${2:-}

kernel_verify
[ -f "$ROOT/offline_balloon.ko" ] || die "offline_balloon.ko missing: run 'make'"
# OB_LOG_NAME puts a guest's log in a directory of its own beside the
# kernel's (make stress boots three guests).
export OB_LOG_DIR=${OB_LOG_DIR:-$CACHE/logs/linux-$KERNEL${OB_LOG_NAME:+/$OB_LOG_NAME}}
mkdir -p "$OB_LOG_DIR"
work=$(mktemp -d /tmp/offline_balloon.XXXXXX)
trap 'rm -rf "$work"' EXIT
mm_dir=$("$ROOT/scripts/build-mm-selftests.sh")
"$ROOT/scripts/mkinitramfs.sh" "$KERNEL_MODDIR" "$KDIR_BUILD/.config" "$work/initrd.gz" "$mm_dir"
# Slab debugging (a use-after-free or overflow of a slab object becomes a
# report) on every kernel but the performance one, which has no SLUB_DEBUG.
[ "${KERNEL_VARIANT:-}" = perf ] || export OB_APPEND="slub_debug=FZP ${OB_APPEND:-}"
# Debian's kernel keeps 106 MiB more of a 1 GiB guest to itself than the
# test kernels (free memory after boot 834 against 943 MiB): its guest gets
# 128 MiB more, and host-driven tests keep 128 MiB more out of the balloon,
# so that the balloon's sizes and the memory left beside it are the same.
if [ -n "$KERNEL_DEBIAN" ]; then
	export OB_MEM=${OB_MEM:-1152} OB_APPEND="${OB_APPEND:-} OB_KEEP_MIB=384"
fi
export OB_ACCEL=${OB_ACCEL:-$KERNEL_ACCEL}
# Under KASAN and TCG the ACPI interpreter runs so slowly that the PCI
# routing method _PRT hits its 30 s loop timeout and PCI devices stay
# unusable: route PCI interrupts without ACPI there (ACPI still powers off).
# The selftests get OB_KASAN=1 (see lib.sh) and longer per-script timeouts.
if [ "${KERNEL_VARIANT:-}" = kasan ]; then
	export OB_APPEND="${OB_APPEND:-} pci=noacpi OB_KASAN=1 OB_TEST_TIMEOUT=1800"
	export OB_TIMEOUT=${OB_TIMEOUT:-10800}
fi
exec_args=(--kernel "$KERNEL_IMAGE" --initrd "$work/initrd.gz" --workdir "$work" --mode "$mode")
[ -n "$test" ] && exec_args+=(--tests "$test")
"$VENV/bin/python3" "$ROOT/scripts/guest.py" "${exec_args[@]}"
