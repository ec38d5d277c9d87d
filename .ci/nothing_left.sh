#!/usr/bin/env bash
# After `make down`: no process of ours may remain (servers, services, sinks, test stacks).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
run="${SIPUMA_RUN_DIR:-$HOME/.local/state/sipuma}"
cache="${SIPUMA_CACHE_DIR:-$HOME/.cache/sipuma}"
left="$(pgrep -af -- "$run|$cache|$root/.venv" | grep -v -e pgrep -e nothing_left || true)"
if [[ -n "$left" ]]; then
  echo "[ci] processes left after make down:" >&2
  echo "$left" >&2
  exit 1
fi
echo "[ci] make down left no process"
