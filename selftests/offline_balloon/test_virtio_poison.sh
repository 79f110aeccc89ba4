#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Page poison (VIRTIO_BALLOON_F_PAGE_POISON) in a guest booted with
# init_on_free=1 (free pages hold zeroes) or page_poison=1 (they hold the
# poison pattern); make check boots one guest for each. Ours and the C driver
# negotiate PAGE_POISON and REPORTING alike and tell the host the value free
# pages hold: with zeroes QEMU discards reported pages (its RSS drops), with
# the pattern it must not (it would lose the pattern), so the RSS stays. A
# device without page-poison must not get reporting from either driver.
. "$(dirname "$0")/lib.sh"

TOUCH_MIB=400
case " $(cat /proc/cmdline) " in
*" init_on_free=1 "*) mode=zero ;;
*" page_poison=1 "*) mode=pattern; need_config PAGE_POISONING ;;
*) ktap_skip_all "boot with init_on_free=1 or page_poison=1 (make check does)" ;;
esac
[ -f "$C_KO" ] || ktap_skip_all "$C_KO not found"

ktap_print_header
ktap_set_plan 8

# check NAME LOAD UNLOAD: the negotiation and reporting under one driver.
check() {
	$2 || ktap_exit_fail_msg "$1: cannot load"
	expect_eq "$1 ($mode): PAGE_POISON and REPORTING negotiated" \
		"$(feature_bit 4)$(feature_bit 5)" 11
	# Zeroed pages are discarded within 60 s; poisoned ones get 15 s to show
	# they are kept.
	set -- "$@" $(rss_drop_after_free $TOUCH_MIB $((TOUCH_MIB * 1024 * 80 / 100)) \
		$([ $mode = zero ] && echo 60 || echo 15))
	drop=${6:-0}
	ktap_print_msg "$1 ($mode): QEMU's RSS dropped by $drop kB after $TOUCH_MIB MiB were freed"
	if [ $mode = zero ]; then
		ktap_test_result "$1: zeroed free pages are discarded (RSS drops by >= 80%)" \
			test "$drop" -ge $((TOUCH_MIB * 1024 * 80 / 100))
	else
		ktap_test_result "$1: poisoned free pages are kept (RSS drops by < 20%)" \
			test "$drop" -lt $((TOUCH_MIB * 1024 * 20 / 100))
	fi
	expect_eq "$1: bound" "$(balloon_driver)" "$4"
	$3
}

check ours ob_load ob_unload offline_balloon
check C "insmod $C_KO" "rmmod virtio_balloon" virtio_balloon

# A device that cannot be told the value gets no reports.
balloon_plug deflate-on-oom=on,free-page-reporting=on,page-poison=off ||
	ktap_exit_fail_msg "cannot plug a device without page-poison"
ob_load
expect_eq "ours refuses REPORTING without PAGE_POISON" "$(feature_bit 4)$(feature_bit 5)" 00
ob_unload
insmod "$C_KO"
expect_eq "C refuses REPORTING without PAGE_POISON" "$(feature_bit 4)$(feature_bit 5)" 00
rmmod virtio_balloon

ktap_finished
