# SPDX-License-Identifier: GPL-2.0
# Names of the test kernel's source and cached build directory (sourced).
# The build directory is keyed by the kernel package version, the Kconfig
# fragment and the Rust/LLVM tools, so any change there gives a fresh build.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KERNEL_TARBALL=/usr/src/linux-source-6.12.tar.xz
KERNEL_FRAGMENT=$ROOT/scripts/kernel.config
[ -n "${KERNEL_VARIANT:-}" ] && KERNEL_FRAGMENT="$KERNEL_FRAGMENT $ROOT/scripts/kernel-$KERNEL_VARIANT.config"

kernel_pkg_version() {
	dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo none
}

kernel_key() {
	{
		kernel_pkg_version
		cat $KERNEL_FRAGMENT
		rustc --version 2>/dev/null
		bindgen --version 2>/dev/null
		clang --version 2>/dev/null | head -1
	} | sha256sum | cut -c1-12
}

KERNEL_SRC=$CACHE/src/linux-source-6.12-$(kernel_pkg_version)
# OB_KDIR overrides it (e.g. to test against another build of the same tree).
KDIR_BUILD=${OB_KDIR:-$CACHE/kbuild-$(kernel_key)}
