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
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${SIPUMA_CACHE_DIR:-$HOME/.cache/sipuma}"
RUN="${SIPUMA_RUN_DIR:-$HOME/.local/state/sipuma}"
LOGS="$RUN/logs"
PIDS="$RUN/pids"

KEYCLOAK_VERSION="26.5.6"
KEYCLOAK_PORT="${SIPUMA_KEYCLOAK_PORT:-18080}"
KEYCLOAK_MANAGEMENT_PORT="${SIPUMA_KEYCLOAK_MANAGEMENT_PORT:-18081}"  # default 9000 is MinIO's
REALM_FILE="$ROOT/deploy/keycloak/sipuma-realm.json"
DIST_URL="https://repo1.maven.org/maven2/org/keycloak/keycloak-quarkus-dist/$KEYCLOAK_VERSION"
ZIP="$CACHE/keycloak/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip"
HOME_DIR="$CACHE/keycloak/keycloak-$KEYCLOAK_VERSION"

log() { printf '[keycloak] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
is_running() { [[ -f "$PIDS/keycloak.pid" ]] && kill -0 "$(cat "$PIDS/keycloak.pid")" 2>/dev/null; }
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
  if is_running || discovery; then return 0; fi
  install
  port_open "$KEYCLOAK_PORT" && die "port $KEYCLOAK_PORT is taken by another process"
  mkdir -p "$LOGS" "$PIDS" "$HOME_DIR/data/import"
  # In-memory H2: the realm is imported afresh at every start, always the file in the repo.
  cp "$REALM_FILE" "$HOME_DIR/data/import/sipuma-realm.json"
  local jhome; jhome="$(java_home)"
  log "starting Keycloak $KEYCLOAK_VERSION on 127.0.0.1:$KEYCLOAK_PORT (Java: $jhome)"
  # The admin user exists only in this dev instance (bootstrap from the environment).
  JAVA_HOME="$jhome" JAVA_OPTS_KC_HEAP="-Xms64m -Xmx512m" \
    KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD=dev-only-keycloak-admin \
    setsid "$HOME_DIR/bin/kc.sh" start-dev --http-host=127.0.0.1 --http-port="$KEYCLOAK_PORT" \
    --http-management-port="$KEYCLOAK_MANAGEMENT_PORT" --db=dev-mem --import-realm \
    >>"$LOGS/keycloak.log" 2>&1 </dev/null &
  echo $! >"$PIDS/keycloak.pid"
}

wait_ready() {
  discovery && return 0
  local deadline=$((SECONDS + ${SIPUMA_KEYCLOAK_START_TIMEOUT:-300}))
  until discovery; do
    if ! is_running; then
      tail -n 30 "$LOGS/keycloak.log" >&2 || true
      die "Keycloak exited during start-up (log: $LOGS/keycloak.log)"
    fi
    ((SECONDS < deadline)) || die "Keycloak did not answer in time (log: $LOGS/keycloak.log)"
    sleep 1
  done
}

down() {
  [[ -f "$PIDS/keycloak.pid" ]] || return 0
  local pid; pid="$(cat "$PIDS/keycloak.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping keycloak (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$PIDS/keycloak.pid"
}

status() {
  if is_running; then echo "keycloak: running (pid $(cat "$PIDS/keycloak.pid"))"
  else echo "keycloak: stopped"; fi
}

case "${1:-}" in
  up) up ;;
  wait) wait_ready ;;
  down) down ;;
  status) status ;;
  install) install ;;
  *) echo "usage: $0 up|wait|down|status|install" >&2; exit 2 ;;
esac
