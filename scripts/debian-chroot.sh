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

# run CMD...: in a private mount namespace (the mounts go with it), the
# project bind-mounted at the same path, /proc and /dev mounted.
run() {
	mkdir -p "$KERNEL_CHROOT$ROOT"
	unshare -m --propagation private /bin/bash -c '
		c=$1 root=$2; shift 2
		mount --bind "$root" "$c$root" && mount -t proc proc "$c/proc" &&
			mount --bind /dev "$c/dev" || exit 1
		exec chroot "$c" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
	' run "$KERNEL_CHROOT" "$ROOT" "$@"
}

prepare() {
	[ -f "$KERNEL_CHROOT/.ob-ready" ] && return 0
	command -v mmdebstrap >/dev/null || die "mmdebstrap missing: run scripts/setup.sh"
	local keyring=/usr/share/keyrings/debian-archive-keyring.gpg mirror=http://deb.debian.org/debian
	# Chroots of earlier keys (other packages or scripts) are stale.
	for old in "$CACHE/$KERNEL"-chroot-*; do
		[ "$old" = "$KERNEL_CHROOT" ] || rm -rf "$old"
	done
	if [ ! -f "$KERNEL_CHROOT/.ob-debootstrapped" ]; then
		info "$KERNEL: Debian $KERNEL_DEBIAN_SUITE chroot with the kernel's toolchain in $KERNEL_CHROOT (about 2 minutes)"
		rm -rf "$KERNEL_CHROOT"
		local include
		include=$(IFS=,; echo "${KERNEL_DEBIAN_TOOLS[*]},${KERNEL_DEBIAN_PKGS[*]}")
		mmdebstrap --quiet --variant=apt --mode=root --keyring="$keyring" --include="$include" \
			"$KERNEL_DEBIAN_SUITE" "$KERNEL_CHROOT" \
			"deb [signed-by=$keyring] $mirror $KERNEL_DEBIAN_SUITE main" \
			"deb [signed-by=$keyring] $mirror $KERNEL_PKG_SUITE main" ||
			die "mmdebstrap of $KERNEL_DEBIAN_SUITE failed"
		touch "$KERNEL_CHROOT/.ob-debootstrapped"
	fi
	info "$KERNEL: the Rust-ready build directory, by scripts/debian-rust-kdir.sh in the chroot"
	run "$ROOT/scripts/debian-rust-kdir.sh" "$KERNEL_RELEASE" ||
		die "scripts/debian-rust-kdir.sh failed in the chroot"
	touch "$KERNEL_CHROOT/.ob-ready"
}

case "${1:-}" in
prepare) prepare ;;
run) shift; run "$@" ;;
*) die "usage: debian-chroot.sh prepare | run CMD..." ;;
esac
