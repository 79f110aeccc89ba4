#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The `make run` demo, inside the guest: load the module and show it at work.
set -e
D=/sys/kernel/debug/offline_balloon
echo "== insmod offline_balloon.ko simulate=1"
insmod /lib/modules/offline_balloon.ko simulate=1
grep offline_balloon /proc/modules
echo "== $D"
ls -l "$D"
echo "== dmesg"
dmesg | grep offline_balloon
echo "== rmmod"
rmmod offline_balloon
