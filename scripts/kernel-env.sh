# SPDX-License-Identifier: GPL-2.0
# The test kernel selected by KERNEL (sourced): where its source comes from,
# which LLVM builds it, and its cached build directory. The build directory is
# keyed by the kernel package version, the options of the Kconfig fragments
# (not their comments) and the Rust/LLVM tools, so any change there gives a
# fresh build.
#
# Adding a kernel: a case below (Debian source package, pinned version when it
# comes from another suite, LLVM suffix), a scripts/kernel-<version>.config
# with the options whose names differ, and a src/compat/ implementation.
#
# debian-<version> is Debian's own, unmodified kernel (KERNEL_DEBIAN=1): its
# image and modules come from Debian's packages (scripts/fetch-kernel-source.sh),
# and the module builds in a Debian chroot with the kernel's own toolchain
# against the Rust-ready build directory scripts/debian-rust-kdir.sh makes
# there (scripts/debian-chroot.sh).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Every supported kernel, the default first.
KERNELS=(6.12 7.3 debian-7.3)
export KERNEL=${KERNEL:-${KERNELS[0]}}
KERNEL_DEBIAN=
# QEMU's accelerator for the kernel's guests (OB_ACCEL overrides it).
KERNEL_ACCEL=tcg
case "$KERNEL" in
6.12)
	# From bookworm, installed by apt.
	KERNEL_PKG=linux-source-6.12
	KERNEL_PKG_VERSION=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo none)
	KERNEL_TARBALL=/usr/src/linux-source-6.12.tar.xz
	KERNEL_LLVM=-14
	;;
7.3)
	# From trixie-backports, unpacked under the cache (scripts/fetch-kernel-source.sh).
	KERNEL_PKG=linux-source-7.3
	KERNEL_PKG_VERSION=7.3.4-1~bpo13+1
	KERNEL_PKG_SUITE=trixie-backports
	KERNEL_TARBALL=$CACHE/pkg/$KERNEL_PKG-$KERNEL_PKG_VERSION/usr/src/linux-source-7.3.tar.xz
	KERNEL_LLVM=-19
	;;
debian-7.3)
	# Debian 13's trixie-backports kernel, the cloud flavour.
	KERNEL_DEBIAN=1
	KERNEL_PKG_VERSION=7.3.4-1~bpo13+1
	KERNEL_PKG_SUITE=trixie-backports
	KERNEL_DEBIAN_SUITE=trixie
	KERNEL_RELEASE=7.3.4+deb13-cloud-amd64
	# The kernel's own toolchain, and what modules_prepare needs.
	KERNEL_DEBIAN_TOOLS=(rustc rust-src rustfmt bindgen libclang-dev gcc-14 libc6-dev make flex bison bc
		libelf-dev libssl-dev openssl dwarves python3 xz-utils kmod)
	KERNEL_DEBIAN_PKGS=("linux-headers-$KERNEL_RELEASE=$KERNEL_PKG_VERSION" "linux-source-7.3=$KERNEL_PKG_VERSION")
	# The packages the guest boots from, checked against their md5sums.
	KERNEL_DEBIAN_BOOT_PKGS=("linux-binary-$KERNEL_RELEASE" "linux-modules-$KERNEL_RELEASE")
	# Its code patching (PREEMPT_DYNAMIC static calls, jump labels) races
	# with QEMU 7.2's multi-threaded TCG: an int3 left in translated code
	# oopsed 1 boot of 10 (set_next_task_fair, 1 s in); single-threaded
	# TCG, 0 of 20.
	KERNEL_ACCEL=tcg,thread=single
	# The kernel's own selftests (build-mm-selftests.sh) come from the
	# source of the same package version, the 7.3 test kernel's.
	KERNEL_SRC=$CACHE/src/linux-source-7.3-$KERNEL_PKG_VERSION
	KERNEL_TARBALL=$CACHE/pkg/linux-source-7.3-$KERNEL_PKG_VERSION/usr/src/linux-source-7.3.tar.xz
	;;
*) die "KERNEL=$KERNEL is not supported (supported: ${KERNELS[*]})" ;;
esac
# kernel_verify: the kernel image exists; Debian's, and the modules the
# guests load, match the md5sums of Debian's packages (nothing of Debian's
# kernel is rebuilt or changed).
kernel_verify() {
	[ -f "$KERNEL_IMAGE" ] || die "no kernel image $KERNEL_IMAGE: run 'make kernel KERNEL=$KERNEL'"
	[ -n "$KERNEL_DEBIAN" ] || return 0
	local mods=usr/lib/modules/$KERNEL_RELEASE sums m files=("vmlinuz")
	for m in "${GUEST_MODULES[@]}"; do
		files+=("kernel/$m.ko.xz")
	done
	sums=$(for m in "${files[@]}"; do
		awk -v f="$mods/$m" '$2 == f' "$KERNEL_BOOT"/md5sums/*
	done)
	[ "$(echo "$sums" | wc -l)" -eq "${#files[@]}" ] ||
		die "the md5sums of Debian's packages do not list all of: ${files[*]}"
	(cd "$KERNEL_BOOT" && echo "$sums" | md5sum --quiet -c -) ||
		die "$KERNEL_BOOT does not match the md5sums of Debian's packages"
}

# kernel_unpack_source: the kernel's source tree in KERNEL_SRC, unpacked
# from its package's tarball the first time.
kernel_unpack_source() {
	[ -f "$KERNEL_SRC/Makefile" ] && return 0
	[ -f "$KERNEL_TARBALL" ] || die "$KERNEL_TARBALL missing: run scripts/setup.sh"
	info "kernel $KERNEL: extracting $KERNEL_TARBALL"
	rm -rf "$KERNEL_SRC.tmp"
	mkdir -p "$KERNEL_SRC.tmp"
	tar -C "$KERNEL_SRC.tmp" -xf "$KERNEL_TARBALL" --strip-components=1
	mv "$KERNEL_SRC.tmp" "$KERNEL_SRC"
}

if [ -n "$KERNEL_DEBIAN" ]; then
	# The chroot is keyed by its packages and the script that prepares the
	# build directory in it; the boot packages by their version.
	KERNEL_CHROOT=$CACHE/$KERNEL-chroot-$({
		echo "$KERNEL_DEBIAN_SUITE ${KERNEL_DEBIAN_TOOLS[*]} ${KERNEL_DEBIAN_PKGS[*]}"
		cat "$ROOT/scripts/debian-rust-kdir.sh"
	} | sha256sum | cut -c1-12)
	# The build directory as the chroot sees it, and as the host does.
	KDIR_CHROOT=/usr/src/linux-rust-$KERNEL_RELEASE
	KDIR_BUILD=$KERNEL_CHROOT$KDIR_CHROOT
	KERNEL_BOOT=$CACHE/$KERNEL-boot-$KERNEL_PKG_VERSION
	KERNEL_MODDIR=$KERNEL_BOOT/usr/lib/modules/$KERNEL_RELEASE
	KERNEL_IMAGE=$KERNEL_MODDIR/vmlinuz
else
	# The kernel's bindgen (and the module's) parse with the same LLVM's libclang.
	export LIBCLANG_PATH=/usr/lib/llvm${KERNEL_LLVM}/lib
	KERNEL_FRAGMENT="$ROOT/scripts/kernel.config $ROOT/scripts/kernel-$KERNEL.config"
	[ -n "${KERNEL_VARIANT:-}" ] && KERNEL_FRAGMENT="$KERNEL_FRAGMENT $ROOT/scripts/kernel-$KERNEL_VARIANT.config"

	kernel_key() {
		{
			echo "$KERNEL_PKG $KERNEL_PKG_VERSION"
			grep -hE '^(CONFIG_|# CONFIG_)' $KERNEL_FRAGMENT
			# Before scripts/setup.sh on a fresh machine these are missing: the key
			# is only used once they are installed (prepare.sh sources this again).
			rustc --version 2>/dev/null || true
			bindgen --version 2>/dev/null || true
			"clang$KERNEL_LLVM" --version 2>/dev/null | head -1 || true
		} | sha256sum | cut -c1-12
	}

	KERNEL_SRC=$CACHE/src/$KERNEL_PKG-$KERNEL_PKG_VERSION
	# OB_KDIR overrides it (e.g. to test against another build of the same tree).
	KDIR_BUILD=${OB_KDIR:-$CACHE/kbuild-$KERNEL-$(kernel_key)}
	KERNEL_IMAGE=$KDIR_BUILD/arch/x86/boot/bzImage
	# Its modules, installed by build-kernel.sh (modules_install).
	KERNEL_MODDIR=$KDIR_BUILD/modinst/lib/modules/$(cat "$KDIR_BUILD/include/config/kernel.release" 2>/dev/null || echo unbuilt)
fi
