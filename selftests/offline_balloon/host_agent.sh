#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Ask the host to act: the virtio-serial port org.offline_balloon.agent leads
# to scripts/guest.py, which answers one line per request ("ok [value]" or
# "err <message>"). Sourced by the selftests; 'host' is also a guest command.

host_agent_port() {
	for d in /sys/class/virtio-ports/*; do
		[ -f "$d/name" ] || continue
		if [ "$(cat "$d/name")" = org.offline_balloon.agent ]; then
			echo "/dev/${d##*/}"
			return 0
		fi
	done
	return 1
}

# host_agent_reconnect: after a resume, if the host agent does not answer
# within 5 s, bind the virtio-serial device again. Linux 7.3's virtio_console
# restore tells the host the port is ready before it gives the host buffers
# for the answer, so QEMU drops its "port open" and every write to the port
# blocks; a fresh probe asks in the right order. Where the port works (6.12)
# it is left alone: unbinding it after a freeze/restore makes 6.12's
# virtcons_remove() read a freed virtqueue (a KASAN report). Waits (up to
# 10 s) for the port, which the host adds again after the probe.
host_agent_reconnect() {
	timeout 5 sh -c '. /selftests/offline_balloon/host_agent.sh && host ping' && return 0
	drv=/sys/bus/virtio/drivers/virtio_console
	for d in "$drv"/virtio*; do
		[ -e "$d" ] || continue
		echo "${d##*/}" > "$drv/unbind" && echo "${d##*/}" > "$drv/bind" || return 1
	done
	i=0
	until host_agent_port >/dev/null; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.1
	done
}

# host REQUEST...: print the host's answer without "ok"; fail on "err".
host() {
	port=$(host_agent_port) || { echo "no host agent port" >&2; return 1; }
	exec 3<>"$port"
	echo "$*" >&3
	read -r reply <&3
	exec 3>&-
	case "$reply" in
	ok) return 0 ;;
	"ok "*) echo "${reply#ok }" ;;
	*) echo "host: $reply" >&2; return 1 ;;
	esac
}
