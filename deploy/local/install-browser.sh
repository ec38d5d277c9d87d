#!/usr/bin/env bash
# Installs the browser the console's end-to-end tests drive: Debian's Chromium (/usr/bin/chromium).
# Idempotent: does nothing when it is already there. Playwright's own browser download
# (`playwright install`) is never used; the tests launch this executable instead.
#   deploy/local/install-browser.sh
set -euo pipefail

BROWSER="${SIPUMA_CHROMIUM:-/usr/bin/chromium}"
if [[ -x "$BROWSER" ]]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "[browser] $BROWSER missing and apt-get not available: install Chromium yourself" >&2
  exit 1
fi
SUDO=""
if [[ "$(id -u)" != "0" ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "[browser] need root or sudo for apt-get" >&2; exit 1; }
  SUDO="sudo"
fi
echo "[browser] installing chromium (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
"$BROWSER" --version >&2
