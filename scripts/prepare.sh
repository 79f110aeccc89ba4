#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Everything before booting a guest: install requirements, build (or reuse) the
# selected test kernel (KERNEL, see kernel-env.sh), and build the module
# against it. With --lint: rustfmt check, clippy, and warnings as errors.
set -euo pipefail
. "$(dirname "$0")/kernel-env.sh"

"$ROOT/scripts/setup.sh"
# Again: the build directory's key names the tools and the kernel package,
# which the setup may just have installed.
. "$ROOT/scripts/kernel-env.sh"
"$ROOT/scripts/build-kernel.sh"
KDIR=$KDIR_BUILD
if [ -n "$KERNEL_DEBIAN" ]; then
	# Built in the chroot with the kernel's rustc, which has no clippy there:
	# rustfmt and clippy run on the test kernels, warnings fail here too.
	make -s -C "$ROOT" KERNEL="$KERNEL" ${1:+OB_WERROR=1} modules
elif [ "${1:-}" = --lint ]; then
	info "lint: rustfmt --check"
	rustfmt --check --edition 2021 --config-path "$KDIR/source/.rustfmt.toml" "$ROOT"/src/main.rs ||
		die "rustfmt: run 'make fmt'"
	info "lint: clippy, warnings as errors"
	make -s -C "$ROOT" KDIR="$KDIR" CLIPPY=1 OB_WERROR=1 modules
else
	make -s -C "$ROOT" KDIR="$KDIR" modules
fi
