#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Print a fact of the selected kernel (KERNEL, see kernel-env.sh):
#   (none)  its build directory (for Debian's kernel, the Rust-ready one in its chroot)
#   image   the kernel image a guest boots (a test kernel's bzImage, Debian's vmlinuz)
#   moddir  its lib/modules/<release> tree
#   chroot  the Debian chroot the module builds in (empty for a test kernel)
#   accel   QEMU's accelerator for its guests
. "$(dirname "$0")/kernel-env.sh"
case "${1:-}" in
image) echo "$KERNEL_IMAGE" ;;
moddir) echo "$KERNEL_MODDIR" ;;
chroot) echo "${KERNEL_CHROOT:-}" ;;
accel) echo "${OB_ACCEL:-$KERNEL_ACCEL}" ;;
*) echo "$KDIR_BUILD" ;;
esac
