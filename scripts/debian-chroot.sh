#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The Debian chroot of a Debian kernel (KERNEL=debian-<version>, see
# kernel-env.sh): the distribution's own toolchain, the kernel's headers and
# source packages, and the Rust-ready build directory that
# scripts/debian-rust-kdir.sh (what a user runs on a Debian system) makes in
# it. The module is built in it, with the kernel's own rustc, bindgen and gcc.
# Usage: debian-chroot.sh prepare     make the chroot and the build directory (cached)
#        debian-chroot.sh run CMD...  run CMD in the chroot, the project at its own path
set -euo pipefail
. "$(dirname "$0")/kernel-env.sh"
[ -n "$KERNEL_DEBIAN" ] || die "KERNEL=$KERNEL is not a Debian kernel"

prepare() {
	[ -f "$KERNEL_CHROOT/.ob-ready" ] && return 0
	# One preparation at a time (clones of the project share the cache).
	mkdir -p "$CACHE"
	exec 9>"$KERNEL_CHROOT.lock"
	flock 9
	[ -f "$KERNEL_CHROOT/.ob-ready" ] && return 0
	if [ ! -f "$KERNEL_CHROOT/.ob-debootstrapped" ]; then
		info "$KERNEL: Debian $KERNEL_DEBIAN_SUITE chroot with the kernel's toolchain in $KERNEL_CHROOT (about 2 minutes)"
		rm -rf "$KERNEL_CHROOT"
		local include
		include=$(IFS=,; echo "${KERNEL_DEBIAN_TOOLS[*]},${KERNEL_DEBIAN_PKGS[*]}")
		debian_bootstrap "$KERNEL_CHROOT" "$KERNEL_DEBIAN_SUITE" "$KERNEL_PKG_SUITE" "$include"
		touch "$KERNEL_CHROOT/.ob-debootstrapped"
	fi
	info "$KERNEL: the Rust-ready build directory, by scripts/debian-rust-kdir.sh in the chroot"
	chroot_run "$KERNEL_CHROOT" "$ROOT/scripts/debian-rust-kdir.sh" "$KERNEL_RELEASE" ||
		die "scripts/debian-rust-kdir.sh failed in the chroot"
	touch "$KERNEL_CHROOT/.ob-ready"
}

case "${1:-}" in
prepare) prepare ;;
run) shift; chroot_run "$KERNEL_CHROOT" "$@" ;;
*) die "usage: debian-chroot.sh prepare | run CMD..." ;;
esac
