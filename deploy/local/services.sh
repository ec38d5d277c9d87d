#!/usr/bin/env bash
# Starts / stops the four SIPUMA services as local processes against deploy/local/infra.sh, plus
# the registry's read side (registry-reports: the same program, SIPUMA_REGISTRY_ROLE=reports;
# services/registry/README.md "Roles") for the console's lists, exports and statistics.
#   deploy/local/services.sh up | down | status
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_TAG=services
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"  # ROOT, RUN, LOGS, PIDS; log, the pid-file helpers
SERVICES=(registry registry-reports intake evidence notifier)
declare -A PORTS=([intake]=8001 [registry]=8002 [evidence]=8003 [notifier]=8004 [registry-reports]=8005)
# A role of another service's program: its program, its store user, its role setting.
declare -A PROGRAM=([registry-reports]=registry)
declare -A ROLE=([registry-reports]=reports)
# The read side only reads: it connects as the store's read-only user (docs/store.md).
declare -A STORE_USER=([registry-reports]=readonly)

# Local development settings; production sets its own through the environment.
export SIPUMA_ENVIRONMENT="${SIPUMA_ENVIRONMENT:-development}"
# Staff tokens from the local Keycloak (deploy/local/keycloak.sh); development also takes the
# "Masuk lokal" shortcut.
export SIPUMA_OIDC_ISSUER="${SIPUMA_OIDC_ISSUER:-http://127.0.0.1:${SIPUMA_KEYCLOAK_PORT:-18080}/realms/sipuma}"
export SIPUMA_CONSOLE_OIDC_ISSUER="${SIPUMA_CONSOLE_OIDC_ISSUER:-$SIPUMA_OIDC_ISSUER}"
export SIPUMA_CONSOLE_OIDC_CLIENT_SECRET="${SIPUMA_CONSOLE_OIDC_CLIENT_SECRET:-dev-only-sipuma-console-secret}"
export SIPUMA_KAFKA_BOOTSTRAP="${SIPUMA_KAFKA_BOOTSTRAP:-127.0.0.1:${SIPUMA_KAFKA_PORT:-9092}}"
# The store: `deploy/local/infra.sh up` writes one URI per service user (TLS + SCRAM; see
# docs/store.md) to $RUN/store/uri/<service>; a SIPUMA_MONGO_URI set by the caller wins. Intake
# keeps no database.
mongo_uri_for() {
  if [[ -n "${SIPUMA_MONGO_URI:-}" ]]; then printf '%s' "$SIPUMA_MONGO_URI"
  elif [[ -f "$RUN/store/uri/$1" ]]; then cat "$RUN/store/uri/$1"
  else log "no store URI for $1 in $RUN/store/uri (run deploy/local/infra.sh up)"; return 1; fi
}
export SIPUMA_S3_ENDPOINT="${SIPUMA_S3_ENDPOINT:-127.0.0.1:${SIPUMA_MINIO_PORT:-9000}}"
export SIPUMA_S3_ACCESS_KEY="${SIPUMA_S3_ACCESS_KEY:-sipuma-dev}"
export SIPUMA_S3_SECRET_KEY="${SIPUMA_S3_SECRET_KEY:-sipuma-dev-secret}"
export SIPUMA_SMTP_HOST="${SIPUMA_SMTP_HOST:-127.0.0.1}"
export SIPUMA_SMTP_PORT="${SIPUMA_SMTP_PORT:-1025}"
export SIPUMA_SMS_GATEWAY_URL="${SIPUMA_SMS_GATEWAY_URL:-http://127.0.0.1:${SIPUMA_SMS_PORT:-8026}/sms}"
export SIPUMA_CORS_ORIGINS="${SIPUMA_CORS_ORIGINS:-[\"http://127.0.0.1:8001\",\"http://localhost:8001\"]}"
export SIPUMA_CONSOLE_REGISTRY_URL="${SIPUMA_CONSOLE_REGISTRY_URL:-http://127.0.0.1:8002}"
export SIPUMA_CONSOLE_EVIDENCE_URL="${SIPUMA_CONSOLE_EVIDENCE_URL:-http://127.0.0.1:8003}"
export SIPUMA_CONSOLE_REPORTS_URL="${SIPUMA_CONSOLE_REPORTS_URL:-http://127.0.0.1:8005}"
export SIPUMA_REGISTRY_URL="${SIPUMA_REGISTRY_URL:-http://127.0.0.1:8002}"
export SIPUMA_TRACKING_URL="${SIPUMA_TRACKING_URL:-http://127.0.0.1:8001/lacak}"
export SIPUMA_STATE_DIR="${SIPUMA_STATE_DIR:-$RUN/data}"

ready() { curl -fsS "http://127.0.0.1:${PORTS[$1]}/readyz" >/dev/null 2>&1; }

up() {
  for name in "${SERVICES[@]}"; do
    is_running "$name" && continue
    log "starting $name on 127.0.0.1:${PORTS[$name]}"
    local store_env=() uri program="${PROGRAM[$name]:-$name}"
    if [[ "$name" != intake ]]; then
      uri="$(mongo_uri_for "${STORE_USER[$name]:-$program}")" || exit 1
      store_env=("SIPUMA_MONGO_URI=$uri")
    fi
    if [[ -n "${ROLE[$name]:-}" ]]; then store_env+=("SIPUMA_REGISTRY_ROLE=${ROLE[$name]}"); fi
    start_bg "$name" env "${store_env[@]}" SIPUMA_HTTP_PORT="${PORTS[$name]}" \
      "$ROOT/.venv/bin/sipuma-$program"
  done
  for name in "${SERVICES[@]}"; do
    wait_until "$name" 60 ready "$name"
    log "$name ready: http://127.0.0.1:${PORTS[$name]}"
  done
}

down() {
  for name in "${SERVICES[@]}"; do
    stop_one "$name" "SIGTERM: finish in-flight work, commit, leave the group"
  done
}

status() {
  for name in "${SERVICES[@]}"; do status_of "$name" "port ${PORTS[$name]}"; done
}

case "${1:-}" in
  up) up ;; down) down ;; status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
