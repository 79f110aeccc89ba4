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
