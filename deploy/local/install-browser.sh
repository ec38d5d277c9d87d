#!/usr/bin/env bash
# Installs the browser the console's end-to-end tests drive: Debian's Chromium (/usr/bin/chromium),
# and axe-core (npm, pinned by tests/e2e/console/package-lock.json) that those tests run in it.
# Idempotent: does nothing when both are already there. Playwright's own browser download
# (`playwright install`) is never used; the tests launch this executable instead.
#   deploy/local/install-browser.sh
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
E2E="$HERE/../../tests/e2e/console"
BROWSER="${SIPUMA_CHROMIUM:-/usr/bin/chromium}"

install_axe() {
  [[ -f "$E2E/node_modules/axe-core/axe.min.js" ]] && return 0
  if ! command -v npm >/dev/null 2>&1; then
    echo "[browser] npm missing: installing Debian's npm (apt-get)" >&2
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  echo "[browser] installing axe-core (npm ci)" >&2
  npm ci --prefix "$E2E" --no-audit --no-fund --loglevel=error >/dev/null
}

SUDO=""
if [[ "$(id -u)" != "0" ]] && command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
fi
install_axe
if [[ -x "$BROWSER" ]]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "[browser] $BROWSER missing and apt-get not available: install Chromium yourself" >&2
  exit 1
fi
if [[ "$(id -u)" != "0" && -z "$SUDO" ]]; then
  echo "[browser] need root or sudo for apt-get" >&2; exit 1
fi
echo "[browser] installing chromium (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
"$BROWSER" --version >&2
