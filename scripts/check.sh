#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: for every supported kernel (or only $KERNEL), lint and build
# the module against that kernel's test build and run the selftests in a
# guest booted with it. Prints one summary line per kernel, then the combined
# `N passed, N failed, N skipped`; exits non-zero on any failure.
# Usage: check.sh [TEST[,TEST...]]
set -uo pipefail
selected=${KERNEL:-}
. "$(dirname "$0")/kernel-env.sh"

tests=${1:-}
if [ -n "$selected" ]; then
	kernels=("$selected")
else
	kernels=("${KERNELS[@]}")
fi
"$ROOT/scripts/setup.sh" || exit 1

total=(0 0 0)
summary=()
rc=0
for k in "${kernels[@]}"; do
	info "check: Linux $k"
	log=$(mktemp /tmp/offline_balloon-check.XXXXXX)
	start=$(date +%s)
	if KERNEL=$k "$ROOT/scripts/prepare.sh" --lint; then
		KERNEL=$k "$ROOT/scripts/run-guest.sh" check "$tests" 2>&1 | tee "$log"
		run_rc=${PIPESTATUS[0]}
	else
		echo "0 passed, 1 failed, 0 skipped" >"$log"
		run_rc=1
	fi
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -1)
	rm -f "$log"
	[ -n "$line" ] || line="0 passed, 1 failed, 0 skipped"
	read -r p _ f _ s _ <<<"${line//,/}"
	[ "$run_rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	[ "$f" -ne 0 ] && rc=1
	total=($((total[0] + p)) $((total[1] + f)) $((total[2] + s)))
	summary+=("Linux $k: $p passed, $f failed, $s skipped ($(($(date +%s) - start)) s)")
done
printf '%s\n' "${summary[@]}"
echo "${total[0]} passed, ${total[1]} failed, ${total[2]} skipped"
exit $rc
