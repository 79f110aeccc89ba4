#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Page poison (VIRTIO_BALLOON_F_PAGE_POISON) in a guest booted with
# init_on_free=1 (free pages hold zeroes) or page_poison=1 (they hold the
# poison pattern); make check boots one guest for each. Ours and the C driver
# negotiate PAGE_POISON and REPORTING alike and tell the host the value free
# pages hold: with zeroes QEMU discards reported pages (its RSS drops), with
# the pattern it must not (it would lose the pattern), so the RSS stays. A
# device without page-poison must not get reporting from either driver.
# Ours reports its whole 2 MiB blocks only with zeroes (QEMU discards no
# reported page while the value is not 0): with the pattern they go on the
# inflate queue. Either way memory the balloon gave back holds what the
# guest writes to it after deflation (page_poison checks the pattern of
# every free page it hands out: "pagealloc: memory corruption" otherwise).
. "$(dirname "$0")/lib.sh"

TOUCH_MIB=400
GUEST_MIB=${OB_GUEST_MIB:-1024}
case " $(cat /proc/cmdline) " in
*" init_on_free=1 "*) mode=zero ;;
*" page_poison=1 "*) mode=pattern; need_config PAGE_POISONING ;;
*) ktap_skip_all "boot with init_on_free=1 or page_poison=1 (make check does)" ;;
esac
[ -f "$C_KO" ] || ktap_skip_all "$C_KO not found"

ktap_print_header
ktap_set_plan 11

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

# Ours inflates 256 MiB and deflates: its blocks go where the mode allows,
# and the memory then reads back what the guest writes.
host balloon "$GUEST_MIB"
ob_load || ktap_exit_fail_msg "ours: cannot load"
[ $mode = zero ] && want=1 || want=0
expect_eq "ours ($mode): report_blocks in effect: $want" "$(ob_stat report_blocks)" $want
host balloon-wait $((GUEST_MIB - 256)) 120 > /dev/null
blocks=$(ob_stat reported_blocks_total)
ktap_print_msg "ours ($mode): $blocks blocks reported of $(ob_stat inflated_blocks_total) inflated"
if [ $mode = zero ]; then
	ktap_test_result "ours (zero): whole blocks were reported" test "$blocks" -gt 0
else
	expect_eq "ours (pattern): no block reported" "$blocks" 0
fi
host balloon-wait "$GUEST_MIB" 120 > /dev/null
ob_wait_stat inflated_pages 0
fill=$(($(free_kb) / 1024 - 96))
ktap_test_result "ours ($mode): deflated memory holds what the guest writes ($fill MiB)" \
	write_read_back $fill
ob_unload
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
