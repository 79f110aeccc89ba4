#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# After every module build: the module must match the kernel it was built
# for. Its vermagic's release must be the kernel's, and every Rust symbol it
# imports (`_R` mangled names, which carry each crate's hash) must be
# exported by the kernel. Without MODVERSIONS nothing else catches a module
# built against other crates than the kernel's: it would load and miscompile.
# Usage: check-module.sh KDIR MODULE.ko
set -euo pipefail
kdir=$1
ko=$2
die() { printf 'check-module: error: %s\n' "$*" >&2; exit 1; }

release=$(cat "$kdir/include/config/kernel.release")
vermagic=$(objcopy -O binary --only-section=.modinfo "$ko" /dev/stdout | tr '\0' '\n' | sed -n 's/^vermagic=//p')
[ "${vermagic%% *}" = "$release" ] ||
	die "$ko has vermagic '$vermagic', the kernel in $kdir is $release"
[ -f "$kdir/Module.symvers" ] || die "$kdir/Module.symvers missing: cannot check the module's Rust symbols"
missing=$(comm -23 <(nm -u "$ko" | awk '$2 ~ /^_R/ {print $2}' | sort -u) \
	<(awk '$2 ~ /^_R/ {print $2}' "$kdir/Module.symvers" | sort -u))
if [ -n "$missing" ]; then
	die "$(echo "$missing" | wc -l) Rust symbols of $ko are not exported by the kernel in $kdir (crates built with another rustc or config than the kernel's?), e.g.: $(echo "$missing" | head -3 | tr '\n' ' ')"
fi
