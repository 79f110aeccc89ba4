#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check-debian-install`: follow README's "Install on Debian 13" as
# written, in a fresh Debian 13 chroot and a copy of the project with trixie-backports in its sources
# (mmdebstrap; apt answers yes). Runs the build block (with the release of
# Debian's kernel in place of `$(uname -r)`, which in a chroot is the host's),
# the DKMS block and the signing block's commands but `mokutil --import`
# (which needs EFI variables), then checks what they left: the module
# installed for the kernel, built and installed by DKMS, and signed. The
# module's loading on Debian's kernel is `make check KERNEL=debian-7.3`'s.
set -euo pipefail
. "$(dirname "$0")/kernel-env.sh"
KERNEL=debian-7.3
. "$ROOT/scripts/kernel-env.sh"

dir=$CACHE/debian-install-check
rm -rf "$dir"
info "check-debian-install: a fresh Debian $KERNEL_DEBIAN_SUITE chroot in $dir"
debian_bootstrap "$dir" "$KERNEL_DEBIAN_SUITE" "$KERNEL_PKG_SUITE" ca-certificates
echo 'APT::Get::Assume-Yes "true";' >"$dir/etc/apt/apt.conf.d/90assume-yes"

# README's shell blocks of the section, one file each.
awk '/^## Install on Debian 13/ { on = 1; next } /^## / { on = 0 }
	on && /^```sh/ { n++; file = sprintf("%s/block%d.sh", out, n); next }
	on && /^```/ { file = ""; next }
	file { print > file }' out="$dir/tmp" "$ROOT/README.md"
[ -f "$dir/tmp/block4.sh" ] || die "README's Install on Debian 13 section has not its four shell blocks"
grep -qx 'rel=$(uname -r)' "$dir/tmp/block1.sh" || die "README's build block does not start with rel=\$(uname -r)"
# A copy of the project's files (what git tracks, as they are in the working
# tree): the commands build, sign and copy in their directory.
src=/root/offline_balloon
mkdir -p "$dir$src"
git -C "$ROOT" ls-files -z | tar -C "$ROOT" --null -T - -cf - | tar -C "$dir$src" -xf -
{
	echo "set -ex"
	echo "cd $src"
	sed "s/^rel=\$(uname -r)\$/rel=$KERNEL_RELEASE/" "$dir/tmp/block1.sh"
	cat "$dir/tmp/block3.sh"
	grep -v '^mokutil ' "$dir/tmp/block4.sh"
} >"$dir/tmp/user.sh"

info "check-debian-install: running README's commands (about 10 minutes)"
chroot_run "$dir" bash /tmp/user.sh || die "README's commands failed in the chroot"

mods=$dir/lib/modules/$KERNEL_RELEASE
ko=$(ls "$mods"/updates/offline_balloon.ko* 2>/dev/null | head -1) || true
[ -n "$ko" ] || die "make modules_install left no module in $mods/updates"
ls "$mods"/updates/dkms/offline_balloon.ko* >/dev/null 2>&1 || die "dkms install left no module in $mods/updates/dkms"
xz -dc "$ko" | tail -c 28 | grep -q '~Module signature appended~' || die "the installed module is not signed"
info "check-debian-install: README's build, DKMS and signing commands work in a fresh Debian 13 chroot"
echo "1 passed, 0 failed, 0 skipped"
