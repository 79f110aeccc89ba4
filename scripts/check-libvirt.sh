#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check-libvirt`: libvirt from Debian's packages drives the balloon of
# a TCG guest without network, as README shows: the selected kernel (KERNEL)
# boots with the module loaded (guest-init.sh's serve mode) and a
# <memballoon model='virtio' freePageReporting='on'> with statistics every
# 2 s; `virsh setmem` inflates the balloon by 256 MiB, `virsh dommemstat`
# shows the new size and the guest's statistics, `virsh setmem` back
# deflates it. libvirt's QEMU driver runs embedded (qemu:///embed) with its
# state in a temporary directory, so no daemon and no libvirt configuration
# of the machine's is involved; the script installs the packages and adds
# the user and group libvirt's QEMU driver wants to exist (libvirt-qemu,
# which Debian's libvirt-daemon-system would add, pulling in systemd).
set -euo pipefail
. "$(dirname "$0")/kernel-env.sh"

for p in libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null ||
		die "apt-get install $p failed"
done
getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
getent passwd libvirt-qemu >/dev/null ||
	useradd --system --no-create-home --shell /usr/sbin/nologin -g libvirt-qemu libvirt-qemu

work=$(mktemp -d /tmp/offline_balloon-libvirt.XXXXXX)
virsh=(virsh -q -c "qemu:///embed?root=$work/libvirt")
dom=offline-balloon-check
cleanup() {
	"${virsh[@]}" destroy "$dom" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
kernel_verify
# Debian's kernel wants single-threaded TCG (kernel-env.sh), which libvirt
# does not offer: its guest gets one vCPU.
vcpus=2
[ "$KERNEL_ACCEL" = tcg ] || vcpus=1
mkdir -p "$work/libvirt/etc"
printf 'user = "root"\ngroup = "root"\ndynamic_ownership = 0\nstdio_handler = "file"\n' >"$work/libvirt/etc/qemu.conf"
"$ROOT/scripts/mkinitramfs.sh" "$KERNEL_MODDIR" "$KDIR_BUILD/.config" "$work/initrd.gz"

mib=1024
cat >"$work/$dom.xml" <<XML
<domain type='qemu'>
  <name>$dom</name>
  <memory unit='MiB'>$mib</memory>
  <currentMemory unit='MiB'>$mib</currentMemory>
  <vcpu>$vcpus</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$KERNEL_IMAGE</kernel>
    <initrd>$work/initrd.gz</initrd>
    <cmdline>console=ttyS0 loglevel=4 ob.mode=serve</cmdline>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'>
      <source path='$work/console.log'/>
      <target port='0'/>
    </serial>
    <memballoon model='virtio' freePageReporting='on'>
      <stats period='2'/>
    </memballoon>
  </devices>
</domain>
XML

pass=0 fail=0
# result DESCRIPTION COMMAND...: one check.
result() {
	local desc=$1
	shift
	if "$@"; then
		info "ok: $desc"
		pass=$((pass + 1))
	else
		info "not ok: $desc"
		fail=$((fail + 1))
	fi
}
# wait_for SECONDS COMMAND...: until COMMAND succeeds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 1
	done
}
# stat NAME: a value of virsh dommemstat (KiB).
stat() {
	"${virsh[@]}" dommemstat "$dom" | awk -v k="$1" '$1 == k { print $2 }'
}
stat_is() {
	[ "$(stat "$1")" = "$2" ]
}
console_has() {
	grep -q "$1" "$work/console.log" 2>/dev/null
}

"${virsh[@]}" create "$work/$dom.xml" >/dev/null || die "virsh create failed"
result "the guest boots $(basename "$KERNEL_IMAGE") and offline_balloon drives the balloon" \
	wait_for 180 console_has "OB_SERVE driver offline_balloon"
result "virsh setmem $(((mib - 256) * 1024)) --live" "${virsh[@]}" setmem "$dom" $(((mib - 256) * 1024)) --live
result "the guest's balloon inflates by 256 MiB" \
	wait_for 120 console_has "OB_SERVE target_pages 65536 inflated_pages 65536"
result "virsh dommemstat: actual $(((mib - 256) * 1024)) KiB" wait_for 30 stat_is actual $(((mib - 256) * 1024))
result "virsh dommemstat: the guest's statistics (usable, available, unused)" \
	wait_for 30 sh -c "[ -n \"\$(${virsh[*]} dommemstat $dom | awk '\$1 == \"usable\"')\" ]"
info "virsh dommemstat: $("${virsh[@]}" dommemstat "$dom" | tr '\n' ' ')"
result "virsh dommemstat: available is what the guest has (below $((mib - 256)) MiB)" \
	sh -c "[ \"\$(${virsh[*]} dommemstat $dom | awk '\$1 == \"available\" { print \$2 }')\" -le $(((mib - 256) * 1024)) ]"
result "virsh setmem $((mib * 1024)) --live" "${virsh[@]}" setmem "$dom" $((mib * 1024)) --live
result "the balloon deflates fully" wait_for 120 console_has "OB_SERVE target_pages 0 inflated_pages 0"
result "virsh dommemstat: actual $((mib * 1024)) KiB" wait_for 30 stat_is actual $((mib * 1024))
# The harness's own console scan (guest.py's SPLAT), not a copy of it.
no_splat() {
	"$VENV/bin/python3" - "$ROOT/scripts" "$work/console.log" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from guest import SPLAT
sys.exit(1 if SPLAT.search(open(sys.argv[2], errors="replace").read()) else 0)
PY
}
result "the console shows no kernel splat" no_splat
echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
