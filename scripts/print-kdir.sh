#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Print the test kernel's build directory (bzImage is under arch/x86/boot/).
. "$(dirname "$0")/kernel-env.sh"
echo "$KDIR_BUILD"
