#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the guest's busybox initramfs: /init, the module, the in-tree C
# virtio_balloon module (for comparisons), and the selftests.
# Usage: mkinitramfs.sh MODDIR CONFIG OUTPUT [MM_DIR]
#   MODDIR  the kernel's lib/modules/<release> tree (print-kdir.sh moddir)
#   CONFIG  the kernel's .config (/etc/kernel-config for the selftests)
#   MM_DIR  the kernel's own selftests (build-mm-selftests.sh), for
#           /selftests/mm with a static bash to run their scripts
set -euo pipefail
. "$(dirname "$0")/lib.sh"
MODDIR=$1
CONFIG=$2
OUT=$3
MM_DIR=${4:-}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,etc,proc,sys,tmp,root,lib/modules,selftests}
# Login shells (make vm) get the host agent's 'host' command.
echo ". /selftests/offline_balloon/host_agent.sh" > "$stage/etc/profile"
cp /bin/busybox "$stage/bin/busybox"
cp "$CONFIG" "$stage/etc/kernel-config"
cp "$ROOT/scripts/guest-init.sh" "$stage/init"
cp "$ROOT/offline_balloon.ko" "$stage/lib/modules/"
# The kernel's modules the guests load (GUEST_MODULES), by file name.
# Busybox's insmod passes the file to init_module(), which takes no
# compressed module: a Debian kernel's .ko.xz is decompressed here.
for m in "${GUEST_MODULES[@]}"; do
	ko=$MODDIR/kernel/$m.ko
	if [ -f "$ko.xz" ]; then
		xz -dc "$ko.xz" >"$stage/lib/modules/${m##*/}.ko"
	elif [ -f "$ko" ]; then
		cp "$ko" "$stage/lib/modules/"
	fi
done
cp -r "$ROOT/selftests/offline_balloon" "$stage/selftests/"
rm "$stage"/selftests/offline_balloon/*.c
for tool in "$ROOT"/selftests/offline_balloon/*.c; do
	gcc -static -O2 -Wall -Wextra -Werror -o "$stage/selftests/offline_balloon/$(basename "$tool" .c)" "$tool"
done
if [ -n "$MM_DIR" ]; then
	cp -r "$MM_DIR" "$stage/selftests/mm"
	cp /bin/bash-static "$stage/bin/bash"
fi
cp "$ROOT/scripts/guest-demo.sh" "$stage/bin/offline-balloon-demo"
cp "$ROOT/scripts/bench/guest-bench.sh" "$stage/bin/offline-balloon-bench"
for tool in "$ROOT"/scripts/bench/*.c; do
	gcc -static -O2 -Wall -Wextra -Werror -o "$stage/bin/$(basename "$tool" .c)" "$tool"
done
chmod +x "$stage/init" "$stage/bin/offline-balloon-demo" "$stage/bin/offline-balloon-bench"
(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) > "$OUT"
