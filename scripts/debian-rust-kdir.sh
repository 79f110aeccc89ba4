#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Make a Rust-ready build directory for a Debian kernel, on the Debian system
# that runs (or will run) it: Debian's headers tree plus the Rust metadata an
# out-of-tree Rust module builds against (rust/*.rmeta, the proc-macro
# libraries, scripts/target.json), which no Debian package ships. The crates
# are rebuilt by `make modules_prepare` in linux-source of the same version,
# with Debian's own .config and toolchain (rustc, bindgen, gcc of the
# kernel's build), so their symbol names are exactly the kernel's.
#
# Needs (Debian 13): linux-headers-RELEASE, linux-source-<major.minor> of the
# same package version, rustc, rust-src, rustfmt, bindgen, libclang-dev, the kernel's
# gcc (gcc-14), make, flex, bison, bc, libelf-dev, libssl-dev, openssl,
# dwarves, python3.
# Usage: debian-rust-kdir.sh [RELEASE [OUTPUT]]
#   RELEASE  kernel release (default: the running kernel's, uname -r)
#   OUTPUT   the build directory (default: /usr/src/linux-rust-RELEASE)
# The module then builds with `make KDIR=OUTPUT` (plain `make` finds the
# default OUTPUT of the running kernel).
set -euo pipefail
die() { printf 'debian-rust-kdir: error: %s\n' "$*" >&2; exit 1; }
info() { printf 'debian-rust-kdir: %s\n' "$*" >&2; }

rel=${1:-$(uname -r)}
out=${2:-/usr/src/linux-rust-$rel}
headers=/usr/src/linux-headers-$rel
[ -f "$headers/.config" ] || die "$headers missing: install linux-headers-$rel"
grep -q '^CONFIG_RUST=y' "$headers/.config" || die "Linux $rel is built without Rust (CONFIG_RUST)"

# The source package of the same version as the headers.
hpkg_ver=$(dpkg-query -W -f='${Version}' "linux-headers-$rel") || die "linux-headers-$rel is not installed as a package"
series=$(sed -n 's/^VERSION = //p; s/^PATCHLEVEL = //p' "$(sed -n 's/^include //p' "$headers/Makefile")" | paste -sd.)
spkg=linux-source-$series
spkg_ver=$(dpkg-query -W -f='${Version}' "$spkg" 2>/dev/null) || die "$spkg missing: install $spkg=$hpkg_ver"
[ "$spkg_ver" = "$hpkg_ver" ] || die "$spkg is $spkg_ver, the headers are $hpkg_ver: install $spkg=$hpkg_ver"

# The kernel's own compilers, from its configuration.
cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\) .*/\1/p' "$headers/.config")
command -v "$cc" >/dev/null || die "the kernel was built with $cc, which is missing (install it)"
want_rustc=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"/\1/p' "$headers/.config")
[ "$(rustc --version 2>/dev/null)" = "$want_rustc" ] ||
	die "the kernel was built with '$want_rustc', rustc here is '$(rustc --version 2>/dev/null)' (install Debian's rustc; a rustup toolchain first in PATH does not match)"
want_bindgen=$(sed -n 's/^CONFIG_BINDGEN_VERSION_TEXT="\(.*\)"/\1/p' "$headers/.config")
[ "$(bindgen --version 2>/dev/null)" = "$want_bindgen" ] ||
	die "the kernel was built with '$want_bindgen', bindgen here is '$(bindgen --version 2>/dev/null)'"

work=$(mktemp -d "${TMPDIR:-/tmp}/debian-rust-kdir.XXXXXX")
trap 'rm -rf "$work"' EXIT
info "unpacking /usr/src/$spkg.tar.xz"
mkdir "$work/src"
tar -C "$work/src" -xf "/usr/src/$spkg.tar.xz" --strip-components=1
K=(make -s -C "$work/src" ARCH=x86 CROSS_COMPILE=x86_64-linux-gnu- CC="$cc" HOSTCC="$cc")
cp "$headers/.config" "$work/src/.config"
"${K[@]}" olddefconfig
cmp -s "$headers/.config" "$work/src/.config" ||
	die "make olddefconfig changed Debian's .config (another toolchain than the kernel's?): $(diff "$headers/.config" "$work/src/.config" | grep '^[<>]' | head -5 | tr '\n' ' ')"
info "make modules_prepare (the Rust crates, about 2 minutes on 2 cores)"
"${K[@]}" -j"$(nproc)" modules_prepare
for f in include/generated/rustc_cfg include/generated/autoconf.h; do
	cmp -s "$headers/$f" "$work/src/$f" || die "the rebuilt $f differs from the headers' (source and headers do not match)"
done

# Debian's headers tree with its kbuild scripts copied in (scripts/ is a
# symlink there, and target.json goes into it), plus the rebuilt crates.
info "assembling $out"
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
cp -a "$headers/." "$out.tmp/"
rm "$out.tmp/scripts"
cp -a "$(readlink -f "$headers/scripts")" "$out.tmp/scripts"
cp "$work/src/scripts/target.json" "$out.tmp/scripts/"
mkdir -p "$out.tmp/rust"
cp "$work/src/rust/"*.rmeta "$work/src/rust/"*.so "$work/src/rust/bindgen_parameters" "$out.tmp/rust/"
cp "$work/src/.rustfmt.toml" "$out.tmp/"
sed -i "s|^KBUILD_OUTPUT=.*|KBUILD_OUTPUT=$out|" "$out.tmp/Makefile"
rm -rf "$out"
mv "$out.tmp" "$out"

info "ready: $out (build the module with: make KDIR=$out)"
