# SPDX-License-Identifier: GPL-2.0
# Shared shell definitions for the project's scripts (sourced, not run).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${OFFLINE_BALLOON_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/offline_balloon}
VENV=$CACHE/venv
export PATH="$HOME/.cargo/bin:$PATH"

info() { printf '[offline_balloon] %s\n' "$*" >&2; }
die() { printf '[offline_balloon] error: %s\n' "$*" >&2; exit 1; }
