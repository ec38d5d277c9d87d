#!/usr/bin/env bash
# Keycloak, the local OpenID Connect provider (docs/identity.md): the official distribution from
# Maven Central (org.keycloak:keycloak-quarkus-dist, checked against Maven Central's .sha1), run in
# dev mode with in-memory H2 and the realm imported from deploy/keycloak/sipuma-realm.json at every
# start, so the running realm is always the file in the repo.
#
#   deploy/local/keycloak.sh up | down | status | install
#
# Called by infra.sh. Idempotent: `up` installs what is missing, starts Keycloak unless it runs and
# waits until the realm's discovery document answers (about a minute on 2 busy cores).
# Keycloak 26 needs Java 21+: the first JDK of 21 or later under /usr/lib/jvm (or
# SIPUMA_KEYCLOAK_JAVA_HOME) is used; Java 17 is not enough.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_TAG=keycloak
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"  # ROOT, CACHE, RUN, LOGS, PIDS; log, die, the pid-file helpers

KEYCLOAK_VERSION="26.5.6"
KEYCLOAK_PORT="${SIPUMA_KEYCLOAK_PORT:-18080}"
KEYCLOAK_MANAGEMENT_PORT="${SIPUMA_KEYCLOAK_MANAGEMENT_PORT:-18081}"  # default 9000 is MinIO's
REALM_FILE="$ROOT/deploy/keycloak/sipuma-realm.json"
DIST_URL="https://repo1.maven.org/maven2/org/keycloak/keycloak-quarkus-dist/$KEYCLOAK_VERSION"
ZIP="$CACHE/keycloak/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip"
HOME_DIR="$CACHE/keycloak/keycloak-$KEYCLOAK_VERSION"

discovery() { curl -fsS "http://127.0.0.1:$KEYCLOAK_PORT/realms/sipuma/.well-known/openid-configuration" >/dev/null 2>&1; }

java_home() {
  if [[ -n "${SIPUMA_KEYCLOAK_JAVA_HOME:-}" ]]; then echo "$SIPUMA_KEYCLOAK_JAVA_HOME"; return; fi
  local dir major
  for dir in /usr/lib/jvm/*/; do
    [[ -x "$dir/bin/java" ]] || continue
    major="$("$dir/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
    if [[ -n "$major" ]] && ((major >= 21)); then echo "${dir%/}"; return; fi
  done
  die "Keycloak $KEYCLOAK_VERSION needs Java 21+; none under /usr/lib/jvm (set SIPUMA_KEYCLOAK_JAVA_HOME)"
}

install() {
  [[ -f "$HOME_DIR/.complete" ]] && return 0
  mkdir -p "$CACHE/keycloak"
  if [[ ! -f "$ZIP" ]]; then
    log "fetching Keycloak $KEYCLOAK_VERSION from Maven Central"
    curl -fsSL -o "$ZIP.part" "$DIST_URL/$(basename "$ZIP")"
    mv "$ZIP.part" "$ZIP"
  fi
  local want got
  want="$(curl -fsSL "$DIST_URL/$(basename "$ZIP").sha1" | cut -c1-40)"
  got="$(sha1sum "$ZIP" | cut -c1-40)"
  if [[ "$want" != "$got" ]]; then rm -f "$ZIP"; die "checksum mismatch for $(basename "$ZIP")"; fi
  rm -rf "$HOME_DIR"
  (cd "$CACHE/keycloak" && unzip -q "$ZIP")
  touch "$HOME_DIR/.complete"
}

up() {
  # A Keycloak that already serves the realm on this port (another checkout's) is used as is.
  if is_running keycloak || discovery; then return 0; fi
  install
  port_open "$KEYCLOAK_PORT" && die "port $KEYCLOAK_PORT is taken by another process"
  mkdir -p "$HOME_DIR/data/import"
  # In-memory H2: the realm is imported afresh at every start, always the file in the repo.
  cp "$REALM_FILE" "$HOME_DIR/data/import/sipuma-realm.json"
  local jhome; jhome="$(java_home)"
  log "starting Keycloak $KEYCLOAK_VERSION on 127.0.0.1:$KEYCLOAK_PORT (Java: $jhome)"
  # The admin user exists only in this dev instance (bootstrap from the environment).
  start_bg keycloak env JAVA_HOME="$jhome" JAVA_OPTS_KC_HEAP="-Xms64m -Xmx512m" \
    KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD=dev-only-keycloak-admin \
    "$HOME_DIR/bin/kc.sh" start-dev --http-host=127.0.0.1 --http-port="$KEYCLOAK_PORT" \
    --http-management-port="$KEYCLOAK_MANAGEMENT_PORT" --db=dev-mem --import-realm
}

# A Keycloak of another checkout that already answers is fine (the condition is tried first).
wait_ready() {
  wait_until keycloak "${SIPUMA_KEYCLOAK_START_TIMEOUT:-300}" discovery
}

down() { stop_one keycloak; }

status() { status_of keycloak; }

case "${1:-}" in
  up) up ;;
  wait) wait_ready ;;
  down) down ;;
  status) status ;;
  install) install ;;
  *) echo "usage: $0 up|wait|down|status|install" >&2; exit 2 ;;
esac
