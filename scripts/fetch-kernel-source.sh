#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetch the selected kernel's source package from another Debian suite
# (KERNEL_PKG_SUITE in kernel-env.sh) without touching the machine's apt
# configuration: a private sources list, lists and archive cache under the
# cache directory, `apt-get download` of the pinned version and `dpkg -x`.
# Kernels from the machine's own suite are installed by setup.sh instead.
set -euo pipefail
. "$(dirname "$0")/kernel-env.sh"

[ -n "${KERNEL_PKG_SUITE:-}" ] || exit 0
[ -f "$KERNEL_TARBALL" ] && exit 0

apt_dir=$CACHE/apt-$KERNEL_PKG_SUITE
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || die "$keyring missing (package debian-archive-keyring)"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
echo "deb [signed-by=$keyring] http://deb.debian.org/debian $KERNEL_PKG_SUITE main" >"$apt_dir/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
	-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives"
	-o Debug::NoLocking=1 -o APT::Sandbox::User=root)

info "apt ($KERNEL_PKG_SUITE, private lists in $apt_dir): fetching $KERNEL_PKG=$KERNEL_PKG_VERSION"
apt-get "${apt_opts[@]}" -qq update || die "apt-get update of $KERNEL_PKG_SUITE failed (network or mirror?)"
have=$(apt-cache "${apt_opts[@]}" madison "$KERNEL_PKG" 2>/dev/null | awk -F' *[|] *' '{print $2}' | tr '\n' ' ')
case " $have " in
*" $KERNEL_PKG_VERSION "*) ;;
*) die "$KERNEL_PKG $KERNEL_PKG_VERSION is not in $KERNEL_PKG_SUITE (it has: ${have:-nothing}); update KERNEL_PKG_VERSION in scripts/kernel-env.sh" ;;
esac
(cd "$apt_dir/archives" && apt-get "${apt_opts[@]}" -qq download "$KERNEL_PKG=$KERNEL_PKG_VERSION") ||
	die "apt-get download $KERNEL_PKG=$KERNEL_PKG_VERSION failed"
deb=$(ls "$apt_dir/archives/${KERNEL_PKG}_"*"_all.deb" | head -1)
pkg_dir=${KERNEL_TARBALL%/usr/src/*}
rm -rf "$pkg_dir.tmp" && mkdir -p "$pkg_dir.tmp"
dpkg -x "$deb" "$pkg_dir.tmp" || die "dpkg -x $deb failed"
mv "$pkg_dir.tmp" "$pkg_dir"
rm -f "$deb"
[ -f "$KERNEL_TARBALL" ] || die "$deb holds no $KERNEL_TARBALL"
info "apt: $KERNEL_PKG $KERNEL_PKG_VERSION unpacked in $pkg_dir"
