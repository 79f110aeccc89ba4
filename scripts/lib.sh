# SPDX-License-Identifier: GPL-2.0
# Shared shell definitions for the project's scripts (sourced, not run).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${OFFLINE_BALLOON_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/offline_balloon}
VENV=$CACHE/venv
# The kernel's own modules the guests load (mkinitramfs.sh puts them in the
# initramfs; kernel_verify checks Debian's): the C driver for the
# side-by-side tests, and the memory failure injector (hwpoison/corrupt-pfn).
GUEST_MODULES=(drivers/virtio/virtio_balloon mm/hwpoison-inject)
export PATH="$HOME/.cargo/bin:$PATH"

info() { printf '[offline_balloon] %s\n' "$*" >&2; }
die() { printf '[offline_balloon] error: %s\n' "$*" >&2; exit 1; }

# chroot_run DIR CMD...: run CMD in the Debian chroot DIR, in a private mount
# namespace (its mounts go with it), with the project bind-mounted at its own
# path and /proc and /dev mounted.
chroot_run() {
	mkdir -p "$1$ROOT"
	unshare -m --propagation private /bin/bash -c '
		c=$1 root=$2; shift 2
		mount --bind "$root" "$c$root" && mount -t proc proc "$c/proc" &&
			mount --bind /dev "$c/dev" || exit 1
		exec chroot "$c" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
			DEBIAN_FRONTEND=noninteractive PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
	' run "$1" "$ROOT" "${@:2}"
}

# debian_bootstrap DIR SUITE BACKPORTS PACKAGES: a Debian chroot of SUITE in
# DIR (mmdebstrap, apt variant) with SUITE and BACKPORTS in its apt sources
# and the comma-separated PACKAGES installed.
debian_bootstrap() {
	local keyring=/usr/share/keyrings/debian-archive-keyring.gpg mirror=http://deb.debian.org/debian
	command -v mmdebstrap >/dev/null || die "mmdebstrap missing: run scripts/setup.sh"
	mmdebstrap --quiet --variant=apt --mode=root --keyring="$keyring" --include="$4" "$2" "$1" \
		"deb [signed-by=$keyring] $mirror $2 main" "deb [signed-by=$keyring] $mirror $3 main" ||
		die "mmdebstrap of Debian $2 into $1 failed"
}
