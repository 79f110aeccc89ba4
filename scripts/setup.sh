#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install everything the project needs on Debian 12 (idempotent).
# Every step is skipped when already satisfied and fails with a clear message otherwise.
set -euo pipefail
. "$(dirname "$0")/kernel-env.sh"

# LLVM 14 builds Linux 6.12, LLVM 19 builds Linux 7.3 (which needs 17.0.1 or later);
# mmdebstrap makes the Debian chroot that builds for Debian's own kernel;
# libnuma-dev (its static library) and bash-static serve the kernel's own mm
# selftests in the guest (build-mm-selftests.sh).
APT_PACKAGES=(qemu-system-x86 busybox-static clang lld llvm libclang-dev clang-19 lld-19 llvm-19
	libclang-19-dev flex bison bc libelf-dev libssl-dev cpio xz-utils python3-venv gcc libc6-dev
	debian-archive-keyring linux-source-6.12 mmdebstrap libnuma-dev bash-static)
# bindgen 0.73.2: Linux 6.12 needs 0.65.1 or later, Linux 7.3 0.71.1 or later.
BINDGEN_VERSION=0.73.2
QEMU_QMP_VERSION=0.0.6

missing=()
for p in "${APT_PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	info "apt: installing ${missing[*]}"
	[ "$(id -u)" = 0 ] || die "installing ${missing[*]} needs root (run as root or install them first)"
	apt-get update -qq || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
fi

command -v rustup >/dev/null || die "rustup not found: install a Rust toolchain with rustup first"
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	info "rustup: adding rust-src"
	rustup component add rust-src || die "rustup component add rust-src failed"
fi

if ! bindgen --version 2>/dev/null | grep -q " $BINDGEN_VERSION\$"; then
	info "cargo: installing bindgen-cli $BINDGEN_VERSION"
	cargo install --locked --quiet bindgen-cli --version "$BINDGEN_VERSION" ||
		die "cargo install bindgen-cli $BINDGEN_VERSION failed"
fi

if ! "$VENV/bin/python3" -c 'import qemu.qmp' 2>/dev/null; then
	info "pip: installing qemu.qmp $QEMU_QMP_VERSION into $VENV"
	python3 -m venv "$VENV" || die "python3 -m venv $VENV failed"
	"$VENV/bin/pip" install -q "qemu.qmp==$QEMU_QMP_VERSION" || die "pip install qemu.qmp failed"
fi
for k in "${KERNELS[@]}"; do
	KERNEL=$k "$ROOT/scripts/fetch-kernel-source.sh"
done
info "setup: all requirements present"
