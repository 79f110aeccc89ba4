#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the selected test kernel (KERNEL, see kernel-env.sh) in QEMU with the
# module and selftests.
# Usage: run-guest.sh check|run|bench|shell [TEST]
# Environment: OB_ACCEL=kvm to try KVM (hangs on these machines; TCG is the
# default), OB_MEM (MiB, 1024), OB_SMP (2), OB_TIMEOUT (seconds), OB_APPEND
# (extra kernel parameters), OB_QEMU_ARGS (extra QEMU arguments).
set -euo pipefail
. "$(dirname "$0")/kernel-env.sh"
mode=${1:?usage: run-guest.sh check|run|bench|shell [TEST]}
test=${2:-}

KDIR=$KDIR_BUILD
[ -f "$KDIR/arch/x86/boot/bzImage" ] || die "no test kernel in $KDIR: run 'make kernel'"
[ -f "$ROOT/offline_balloon.ko" ] || die "offline_balloon.ko missing: run 'make'"
export OB_LOG_DIR=${OB_LOG_DIR:-$CACHE/logs/linux-$KERNEL}
mkdir -p "$OB_LOG_DIR"
work=$(mktemp -d /tmp/offline_balloon.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$ROOT/scripts/mkinitramfs.sh" "$KDIR" "$work/initrd.gz"
# Slab debugging (a use-after-free or overflow of a slab object becomes a
# report) on every kernel but the performance one, which has no SLUB_DEBUG.
[ "${KERNEL_VARIANT:-}" = perf ] || export OB_APPEND="slub_debug=FZP ${OB_APPEND:-}"
# Under KASAN and TCG the ACPI interpreter runs so slowly that the PCI
# routing method _PRT hits its 30 s loop timeout and PCI devices stay
# unusable: route PCI interrupts without ACPI there (ACPI still powers off).
# The selftests get OB_KASAN=1 (see lib.sh) and longer per-script timeouts.
if [ "${KERNEL_VARIANT:-}" = kasan ]; then
	export OB_APPEND="${OB_APPEND:-} pci=noacpi OB_KASAN=1 OB_TEST_TIMEOUT=1800"
	export OB_TIMEOUT=${OB_TIMEOUT:-10800}
fi
exec_args=(--kernel "$KDIR/arch/x86/boot/bzImage" --initrd "$work/initrd.gz" --workdir "$work" --mode "$mode")
[ -n "$test" ] && exec_args+=(--tests "$test")
"$VENV/bin/python3" "$ROOT/scripts/guest.py" "${exec_args[@]}"
