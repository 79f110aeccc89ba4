#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Print the LLVM= value that builds modules for the kernel in KDIR, from that
# kernel's own configuration: empty for a gcc-built kernel, the suffix of the
# installed clang of the kernel's major version (-19) for a clang-built one,
# or 1 (the default clang) when no such clang is installed.
# Usage: kdir-llvm.sh KDIR
config=$1/.config
grep -q '^CONFIG_CC_IS_CLANG=y' "$config" 2>/dev/null || exit 0
major=$(($(sed -n 's/^CONFIG_CLANG_VERSION=//p' "$config") / 10000))
if command -v "clang-$major" >/dev/null; then
	echo "-$major"
else
	echo 1
fi
