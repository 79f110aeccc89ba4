#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Print the selected test kernel's build directory (bzImage is under
# arch/x86/boot/), or with `llvm` the LLVM= value that builds for it.
. "$(dirname "$0")/kernel-env.sh"
case "${1:-}" in
llvm) echo "$KERNEL_LLVM" ;;
*) echo "$KDIR_BUILD" ;;
esac
