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
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Every supported kernel, the default first.
KERNELS=(6.12 7.3)
export KERNEL=${KERNEL:-${KERNELS[0]}}
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
*) die "KERNEL=$KERNEL is not supported (supported: ${KERNELS[*]})" ;;
esac
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
