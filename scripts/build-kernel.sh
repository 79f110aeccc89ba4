#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the test kernel selected by KERNEL (cached; scripts/kernel-env.sh):
# Debian's linux-source-<version>, tinyconfig + scripts/kernel.config +
# scripts/kernel-<version>.config, with LLVM, into a directory outside the clone,
# and its modules installed under it (modinst/). Debian's kernel is not built:
# its packages are fetched and its chroot with the Rust-ready build directory
# made (scripts/debian-chroot.sh).
set -euo pipefail
. "$(dirname "$0")/kernel-env.sh"

if [ -n "$KERNEL_DEBIAN" ]; then
	"$ROOT/scripts/fetch-kernel-source.sh"
	exec "$ROOT/scripts/debian-chroot.sh" prepare
fi

K=(make -C "$KERNEL_SRC" O="$KDIR_BUILD" LLVM="$KERNEL_LLVM" -s)
install_modules() {
	[ -d "$KERNEL_MODDIR" ] && return 0
	rm -rf "$KDIR_BUILD/modinst" "$KDIR_BUILD/modinst.tmp"
	"${K[@]}" INSTALL_MOD_PATH="$KDIR_BUILD/modinst.tmp" modules_install >/dev/null
	mv "$KDIR_BUILD/modinst.tmp" "$KDIR_BUILD/modinst"
}
STAMP=$KDIR_BUILD/.offline_balloon-built
if [ -f "$STAMP" ]; then
	info "kernel $KERNEL: cached build in $KDIR_BUILD"
	install_modules
	exit 0
fi

kernel_unpack_source

mkdir -p "$KDIR_BUILD"
"${K[@]}" rustavailable >/dev/null || die "Rust is not available for Linux $KERNEL (make rustavailable failed)"
info "kernel $KERNEL: configuring in $KDIR_BUILD"
"${K[@]}" tinyconfig >/dev/null
# shellcheck disable=SC2086
"$KERNEL_SRC/scripts/kconfig/merge_config.sh" -m -O "$KDIR_BUILD" "$KDIR_BUILD/.config" $KERNEL_FRAGMENT >/dev/null
"${K[@]}" olddefconfig >/dev/null

# Every option's last setting across the fragments (a variant may unset what
# scripts/kernel.config sets) must have stuck.
declare -A want=()
# shellcheck disable=SC2086
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) want[${line%%=*}]=$line ;;
	"# CONFIG_"*" is not set") opt=${line#\# }; want[${opt%% *}]=$line ;;
	esac
done < <(cat $KERNEL_FRAGMENT)
bad=()
for opt in "${!want[@]}"; do
	case "${want[$opt]}" in
	"#"*) grep -q "^$opt=" "$KDIR_BUILD/.config" && bad+=("${want[$opt]}") ;;
	*) grep -qx -- "${want[$opt]}" "$KDIR_BUILD/.config" || bad+=("${want[$opt]}") ;;
	esac
done
[ ${#bad[@]} -eq 0 ] || die "Kconfig options did not stick (unmet dependencies?): ${bad[*]}"

info "kernel $KERNEL: building bzImage and modules with $(nproc) jobs (6 to 10 minutes on 2 cores)"
start=$(date +%s)
"${K[@]}" -j"$(nproc)" bzImage modules
touch "$STAMP"
. "$ROOT/scripts/kernel-env.sh"
install_modules
info "kernel $KERNEL: built in $(( $(date +%s) - start )) s"
