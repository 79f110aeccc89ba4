#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: boot one guest, run scripts/bench/guest-bench.sh in it, print
# the table and write the JSON (OB_BENCH_JSON, default in the log directory).
set -euo pipefail
. "$(dirname "$0")/kernel-env.sh"
export OB_LOG_DIR=${OB_LOG_DIR:-$CACHE/logs/linux-$KERNEL}
export OB_TIMEOUT=${OB_TIMEOUT:-3000}
json=${OB_BENCH_JSON:-$OB_LOG_DIR/bench.json}
"$ROOT/scripts/run-guest.sh" bench
"$VENV/bin/python3" "$ROOT/scripts/bench/report.py" "$OB_LOG_DIR/guest-bench.log" "$json"
