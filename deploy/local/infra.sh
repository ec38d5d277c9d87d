#!/usr/bin/env bash
# Local real infrastructure without Docker: Apache Kafka (KRaft), the MongoDB-wire store
# (PostgreSQL 15 + DocumentDB + DocumentDB's gateway, TLS + SCRAM; docs/store.md), MinIO, an SMTP
# sink and an SMS-gateway sink. Servers are built or fetched from package registries (Maven
# Central, Debian, crates.io, the Go module proxy, PyPI) into a cache outside the repo.
#
#   deploy/local/infra.sh up | down | status | install | reset
#
# Idempotent: `up` installs what is missing, starts what is not running and waits until each
# server answers; `down` stops everything it started.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_TAG=infra
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"  # ROOT, CACHE, RUN, DATA, LOGS, PIDS; log, die, the pid-file helpers

# Pinned versions.
KAFKA_VERSION="4.1.1"
MINIO_MODULE="github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"
MINIO_TAG="20260212201848"

# Ports (loopback only).
KAFKA_PORT="${SIPUMA_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${SIPUMA_KAFKA_CONTROLLER_PORT:-9093}"
# The store: the gateway (MongoDB wire) and its private PostgreSQL. SIPUMA_FERRETDB_PORT is the
# old name of SIPUMA_STORE_PORT, still honoured.
STORE_PORT="${SIPUMA_STORE_PORT:-${SIPUMA_FERRETDB_PORT:-27017}}"
STORE_PG_PORT="${SIPUMA_STORE_PG_PORT:-5433}"
MINIO_PORT="${SIPUMA_MINIO_PORT:-9000}"
MINIO_CONSOLE_PORT="${SIPUMA_MINIO_CONSOLE_PORT:-9001}"
SMTP_PORT="${SIPUMA_SMTP_PORT:-1025}"
MAIL_API_PORT="${SIPUMA_MAIL_API_PORT:-8025}"
SMS_PORT="${SIPUMA_SMS_PORT:-8026}"
export MINIO_ROOT_USER="${SIPUMA_S3_ACCESS_KEY:-sipuma-dev}"
export MINIO_ROOT_PASSWORD="${SIPUMA_S3_SECRET_KEY:-sipuma-dev-secret}"

KAFKA_LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"
MINIO_BIN="$CACHE/bin/minio-$MINIO_TAG"
STORE_SH="$HERE/documentdb/store.sh"

# ---------------------------------------------------------------- install
ensure_uv() {
  command -v uv >/dev/null 2>&1 && return 0
  # Where `make uv` puts it; a fresh shell (or a venv's python, which has no pip) lacks it on PATH.
  export PATH="$HOME/.local/bin:$PATH"
  command -v uv >/dev/null 2>&1 && return 0
  log "installing uv from PyPI"
  # The machine's python3, not a uv venv's (which has no pip), whoever calls this script.
  local system_path="${PATH//${VIRTUAL_ENV:-/nonexistent}\/bin:/}"
  PATH="$system_path" python3 -m pip install --quiet --user "uv==0.13.8" ||
    PATH="$system_path" python3 -m pip install --quiet "uv==0.13.8"
}

install_kafka() {
  [[ -f "$KAFKA_LIBS/.complete" ]] && return 0
  command -v mvn >/dev/null || die "Maven is required to fetch Kafka from Maven Central"
  log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central"
  rm -rf "$KAFKA_LIBS"
  mvn -q -B -f "$HERE/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DoutputDirectory="$KAFKA_LIBS"
  touch "$KAFKA_LIBS/.complete"
}

install_minio() {
  [[ -x "$MINIO_BIN" ]] && return 0
  log "building MinIO ($MINIO_MODULE) with go install; the first build takes several minutes"
  local gobin; gobin="$(mktemp -d)"
  GOBIN="$gobin" GOFLAGS=-mod=mod go install "$MINIO_MODULE"
  mkdir -p "$CACHE/bin" && mv "$gobin/minio" "$MINIO_BIN" && rmdir "$gobin"
}

install_store() { bash "$HERE/documentdb/install.sh"; }

install_python_tools() {
  ensure_uv
  (cd "$ROOT" && uv sync --locked --quiet)
}

install_all() {
  command -v java >/dev/null || die "Java 17+ is required for Kafka"
  command -v go >/dev/null || die "Go 1.24+ is required to build MinIO"
  install_python_tools
  install_kafka
  install_store
  install_minio
}

# ---------------------------------------------------------------- start
kafka_up() {
  if is_running kafka; then return 0; fi
  port_open "$KAFKA_PORT" && die "port $KAFKA_PORT is taken by another process"
  local dir="$DATA/kafka" conf="$RUN/kafka/server.properties"
  mkdir -p "$dir" "$RUN/kafka"
  sed -e "s#@DATA@#$dir#" -e "s#@PORT@#$KAFKA_PORT#g" -e "s#@CPORT@#$KAFKA_CONTROLLER_PORT#g" \
    "$HERE/kafka/server.properties.in" > "$conf"
  local java_opts=(-Xms256m -Xmx1g -Dlog4j2.configurationFile="$HERE/kafka/log4j2.properties"
    -Dkafka.logs.dir="$LOGS")
  if [[ ! -f "$dir/meta.properties" ]]; then
    log "formatting Kafka storage (KRaft, standalone controller)"
    local cluster_id
    cluster_id="$(java -cp "$KAFKA_LIBS/*" "${java_opts[@]}" kafka.tools.StorageTool random-uuid)"
    java -cp "$KAFKA_LIBS/*" "${java_opts[@]}" kafka.tools.StorageTool format --standalone \
      -t "$cluster_id" -c "$conf" >>"$LOGS/kafka.log" 2>&1
  fi
  log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT"
  start_bg kafka java -cp "$KAFKA_LIBS/*" "${java_opts[@]}" kafka.Kafka "$conf"
}

kafka_ready() { port_open "$KAFKA_PORT" && grep -q "Kafka Server started" "$LOGS/kafka.log"; }

# The shared local store: data in $DATA/store, TLS/passwords/URIs in $RUN/store, logs in $LOGS.
# store.sh start is idempotent and returns once an authenticated TLS ping answers.
store() {
  SIPUMA_STORE_DATA="$DATA/store" SIPUMA_STORE_HOME="$RUN/store" SIPUMA_STORE_LOGS="$LOGS" \
    SIPUMA_STORE_PORT="$STORE_PORT" SIPUMA_STORE_PG_PORT="$STORE_PG_PORT" \
    SIPUMA_STORE_PYTHON="$ROOT/.venv/bin/python" bash "$STORE_SH" "$@"
}

minio_up() {
  if is_running minio; then return 0; fi
  port_open "$MINIO_PORT" && die "port $MINIO_PORT is taken by another process"
  mkdir -p "$DATA/minio"
  log "starting MinIO on 127.0.0.1:$MINIO_PORT (console $MINIO_CONSOLE_PORT)"
  # KMS for server-side encryption of evidence (a development static key; production uses KES
  # or its own MINIO_KMS_SECRET_KEY from a secret store; docs/identity.md).
  MINIO_KMS_SECRET_KEY="${SIPUMA_MINIO_KMS_SECRET_KEY:-sipuma-dev-kms:c2lwdW1hLWRldi1vbmx5LWttcy1rZXktMzJieXRlcyE=}" \
    MINIO_BROWSER=off start_bg minio "$MINIO_BIN" server --quiet --address "127.0.0.1:$MINIO_PORT" \
    --console-address "127.0.0.1:$MINIO_CONSOLE_PORT" "$DATA/minio"
}

minio_ready() { curl -fsS "http://127.0.0.1:$MINIO_PORT/minio/health/ready" >/dev/null 2>&1; }

mailsink_up() {
  if is_running mailsink; then return 0; fi
  mkdir -p "$DATA/mail"
  log "starting SMTP sink on 127.0.0.1:$SMTP_PORT (HTTP API $MAIL_API_PORT)"
  start_bg mailsink "$ROOT/.venv/bin/python" "$HERE/mailsink.py" --smtp-port "$SMTP_PORT" \
    --http-port "$MAIL_API_PORT" --maildir "$DATA/mail"
}

smssink_up() {
  if is_running smssink; then return 0; fi
  mkdir -p "$DATA/sms"
  log "starting SMS-gateway sink on 127.0.0.1:$SMS_PORT"
  start_bg smssink python3 "$HERE/smssink.py" --port "$SMS_PORT" --store "$DATA/sms/messages.jsonl"
}

up() {
  install_all
  mkdir -p "$DATA" "$LOGS" "$PIDS"
  stop_one ferretdb  # left over from before the store moved to PostgreSQL + DocumentDB
  kafka_up; minio_up; mailsink_up; smssink_up
  bash "$HERE/keycloak.sh" up  # the OIDC provider (deploy/local/keycloak.sh)
  store start
  wait_until kafka 120 kafka_ready
  wait_until minio 60 minio_ready
  wait_until mailsink 30 port_open "$MAIL_API_PORT"
  wait_until smssink 30 port_open "$SMS_PORT"
  bash "$HERE/keycloak.sh" wait
  log "all servers answer; data in $DATA, logs in $LOGS"
}

down() {
  for name in smssink mailsink minio ferretdb; do stop_one "$name"; done
  bash "$HERE/keycloak.sh" down
  store stop
  stop_one kafka
}

status() {
  for name in kafka minio mailsink smssink; do status_of "$name"; done
  store status
  bash "$HERE/keycloak.sh" status
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  install) install_all ;;
  # Keeps the build cache and $RUN/store (TLS, passwords, URIs: the users are created again).
  reset) down; rm -rf "$DATA"; log "data removed" ;;
  *) echo "usage: $0 up|down|status|install|reset" >&2; exit 2 ;;
esac
