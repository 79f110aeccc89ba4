#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetch the selected kernel's packages from another Debian suite
# (KERNEL_PKG_SUITE in kernel-env.sh) without touching the machine's apt
# configuration: a private sources list, lists and archive cache under the
# cache directory, `apt-get download` of the pinned version and `dpkg -x`.
# A test kernel's source package is unpacked for build-kernel.sh; Debian's
# own kernel's image and modules packages are unpacked for the guest, with
# each package's md5sums (checked before every boot, by run-guest.sh).
# Kernels from the machine's own suite are installed by setup.sh instead.
set -euo pipefail
. "$(dirname "$0")/kernel-env.sh"

[ -n "${KERNEL_PKG_SUITE:-}" ] || exit 0
if [ -n "$KERNEL_DEBIAN" ]; then
	pkgs=("${KERNEL_DEBIAN_BOOT_PKGS[@]}")
	dest=$KERNEL_BOOT
	[ -f "$KERNEL_IMAGE" ] && exit 0
else
	pkgs=("$KERNEL_PKG")
	dest=${KERNEL_TARBALL%/usr/src/*}
	[ -f "$KERNEL_TARBALL" ] && exit 0
fi

apt_dir=$CACHE/apt-$KERNEL_PKG_SUITE
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || die "$keyring missing (package debian-archive-keyring)"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
echo "deb [signed-by=$keyring] http://deb.debian.org/debian $KERNEL_PKG_SUITE main" >"$apt_dir/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
	-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives"
	-o Debug::NoLocking=1 -o APT::Sandbox::User=root)

info "apt ($KERNEL_PKG_SUITE, private lists in $apt_dir): fetching ${pkgs[*]} $KERNEL_PKG_VERSION"
apt-get "${apt_opts[@]}" -qq update || die "apt-get update of $KERNEL_PKG_SUITE failed (network or mirror?)"
rm -rf "$dest.tmp" && mkdir -p "$dest.tmp/md5sums"
for pkg in "${pkgs[@]}"; do
	have=$(apt-cache "${apt_opts[@]}" madison "$pkg" 2>/dev/null | awk -F' *[|] *' '{print $2}' | tr '\n' ' ')
	case " $have " in
	*" $KERNEL_PKG_VERSION "*) ;;
	*) die "$pkg $KERNEL_PKG_VERSION is not in $KERNEL_PKG_SUITE (it has: ${have:-nothing}); update KERNEL_PKG_VERSION in scripts/kernel-env.sh" ;;
	esac
	rm -f "$apt_dir/archives/${pkg}_"*.deb
	(cd "$apt_dir/archives" && apt-get "${apt_opts[@]}" -qq download "$pkg=$KERNEL_PKG_VERSION") ||
		die "apt-get download $pkg=$KERNEL_PKG_VERSION failed"
	deb=$(ls "$apt_dir/archives/${pkg}_"*.deb 2>/dev/null | head -1) || true
	[ -f "$deb" ] || die "apt-get download left no ${pkg}_*.deb in $apt_dir/archives"
	dpkg -x "$deb" "$dest.tmp" || die "dpkg -x $deb failed"
	dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./md5sums >"$dest.tmp/md5sums/$pkg" ||
		die "$deb has no md5sums"
	rm -f "$deb"
done
rm -rf "$dest"
mv "$dest.tmp" "$dest"
if [ -n "$KERNEL_DEBIAN" ]; then
	[ -f "$KERNEL_IMAGE" ] || die "${pkgs[*]} hold no $KERNEL_IMAGE"
else
	[ -f "$KERNEL_TARBALL" ] || die "$KERNEL_PKG holds no $KERNEL_TARBALL"
fi
info "apt: ${pkgs[*]} $KERNEL_PKG_VERSION unpacked in $dest"
