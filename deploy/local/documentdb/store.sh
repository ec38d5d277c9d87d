#!/usr/bin/env bash
# One instance of the local MongoDB-wire store: PostgreSQL 15 + DocumentDB behind DocumentDB's
# gateway (TLS + SCRAM). deploy/local/infra.sh runs the shared one; tests/chaos runs a private one.
#
#   deploy/local/documentdb/store.sh init | start | stop | kill | status | ping | check
#
#   init    TLS material, passwords and the PostgreSQL cluster (once; nothing is started)
#   start   init, start PostgreSQL and the gateway, create the extension and the users, write one
#           URI per user, wait until an authenticated, TLS-verified PyMongo ping answers
#   stop    gateway (SIGINT, its graceful shutdown), then PostgreSQL (pg_ctl stop -m fast)
#   kill    SIGKILL the gateway and the postmaster (PostgreSQL runs crash recovery at next start)
#   status  what runs;  ping  one ping with the test user's URI;  check  are the artefacts built?
#
# The instance comes from the environment (defaults are those of the shared local store):
#   SIPUMA_STORE_DATA      PostgreSQL data directory                              (required)
#   SIPUMA_STORE_HOME      tls/, secrets/, uri/, run/ (socket), gateway.json, pid  (required)
#   SIPUMA_STORE_LOGS      log folder (store-postgres.log, store-gateway.log); default HOME/logs
#   SIPUMA_STORE_PG_PORT   PostgreSQL on 127.0.0.1 (default 5433; 5432 is Debian's own cluster)
#   SIPUMA_STORE_PORT      the gateway, MongoDB wire protocol on 127.0.0.1 (default 27017)
#   SIPUMA_STORE_OS_USER   when run as root: the unprivileged user PostgreSQL and the gateway run
#                          as (default postgres; PostgreSQL refuses root). Otherwise: yourself.
#   SIPUMA_STORE_PYTHON    Python with PyMongo for the ping (default: the repository's .venv)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

if [[ "${1:-}" == check ]]; then
  if why="$(store_artefacts_missing)"; then echo "$why"; exit 1; fi
  exit 0
fi
DATA="${SIPUMA_STORE_DATA:?SIPUMA_STORE_DATA (PostgreSQL data directory) is required}"
SHOME="${SIPUMA_STORE_HOME:?SIPUMA_STORE_HOME (TLS, secrets, URIs) is required}"
LOGS="${SIPUMA_STORE_LOGS:-$SHOME/logs}"
PG_PORT="${SIPUMA_STORE_PG_PORT:-5433}"
PORT="${SIPUMA_STORE_PORT:-27017}"
PYTHON="${SIPUMA_STORE_PYTHON:-$DOCDB_ROOT/.venv/bin/python}"

TLS="$SHOME/tls"
SECRETS="$SHOME/secrets"
URIS="$SHOME/uri"
SOCKDIR="$SHOME/run"
GW_CONF="$SHOME/gateway.json"
GW_PID="$SHOME/gateway.pid"
PG_LOG="$LOGS/store-postgres.log"
GW_LOG="$LOGS/store-gateway.log"
GATEWAY="$(gateway_binary)"

# name | PostgreSQL/MongoDB user | DocumentDB role (createUser roles)
# DocumentDB 0.108 has two roles for users: documentdb_admin_role (readWriteAnyDatabase +
# clusterAdmin) and documentdb_readonly_role (readAnyDatabase); no per-database grants.
USERS=(
  "registry|sipuma_registry|rw"
  "evidence|sipuma_evidence|rw"
  "notifier|sipuma_notifier|rw"
  "test|sipuma_test|rw"
  "readonly|sipuma_readonly|ro"
)

if ((EUID == 0)); then
  OS_USER="${SIPUMA_STORE_OS_USER:-postgres}"
  getent passwd "$OS_USER" >/dev/null || die "OS user $OS_USER does not exist (Debian's postgresql-common creates 'postgres')"
  OS_GROUP="$(id -gn "$OS_USER")"
  AS_OS=(setpriv --reuid="$OS_USER" --regid="$OS_GROUP" --init-groups --reset-env --)
else
  OS_USER="$(id -un)"
  AS_OS=()
fi

as_os() { (cd / && "${AS_OS[@]}" "$@"); }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
psql_sys() { "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKDIR" -p "$PG_PORT" -U "$OS_USER" -d postgres; }

# ---------------------------------------------------------------- files (init)
# As root the server runs as $OS_USER, which must be able to reach its folders: grant it traverse
# (x) through an ACL on each ancestor it cannot pass (e.g. root's home, mode 700). Nothing else opens.
grant_traverse() {
  ((EUID == 0)) || return 0
  local path="$1" dir
  local -a chain=()
  dir="$path"
  while [[ "$dir" != "/" && -n "$dir" ]]; do chain=("$dir" "${chain[@]}"); dir="$(dirname "$dir")"; done
  for dir in "${chain[@]}"; do
    as_os test -x "$dir" && continue
    command -v setfacl >/dev/null 2>&1 || die "$OS_USER cannot enter $dir; install the acl package (setfacl) or choose folders it can reach"
    log "granting $OS_USER traverse (x) on $dir (ACL)"
    setfacl -m "u:$OS_USER:x" "$dir"
    as_os test -x "$dir" || die "$OS_USER still cannot enter $dir"
  done
}

make_tls() {
  [[ -s "$TLS/ca.crt" && -s "$TLS/server.crt" && -s "$TLS/server.key" ]] && return 0
  command -v openssl >/dev/null 2>&1 || die "openssl is needed to create the store's certificate"
  log "creating a local CA and the store's server certificate in $TLS"
  mkdir -p "$TLS" && chmod 755 "$TLS"
  local tmp; tmp="$(mktemp -d)"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=SIPUMA local store CA" -keyout "$tmp/ca.key" -out "$tmp/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$tmp/server.key" -out "$tmp/server.csr" 2>/dev/null
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
    "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid,issuer" >"$tmp/ext"
  openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" \
    -CAcreateserial -days 825 -sha256 -extfile "$tmp/ext" -out "$tmp/server.crt" 2>/dev/null
  install -m 600 "$tmp/ca.key" "$TLS/ca.key"
  install -m 644 "$tmp/ca.crt" "$TLS/ca.crt"
  install -m 644 "$tmp/server.crt" "$TLS/server.crt"
  install -m 600 "$tmp/server.key" "$TLS/server.key"
  rm -rf "$tmp"
}

make_secrets() {
  mkdir -p "$SECRETS" && chmod 700 "$SECRETS"
  local entry name
  for entry in "${USERS[@]}"; do
    name="${entry%%|*}"
    [[ -s "$SECRETS/$name" ]] && continue
    (umask 077 && openssl rand -hex 24 >"$SECRETS/$name")
  done
}

write_pg_conf() { # rewritten at every start, so settings follow this script
  cat >"$DATA/sipuma.conf" <<EOF
# Written by deploy/local/documentdb/store.sh at every start; edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$SOCKDIR'
unix_socket_permissions = 0700
max_connections = 200
shared_preload_libraries = 'pg_cron,pg_documentdb_core,pg_documentdb'
cron.database_name = 'postgres'
# DocumentDB's own RUM fork for its indexes (Debian's rum segfaulted under concurrent inserts).
documentdb.rum_library_load_option = 'require_documentdb_extended_rum'
# New indexes are built by that fork's own access method (the documentdb_extended_rum extension),
# the one whose ordered (composite) indexes can return rows in key order; with the pushdown on, a
# sorted page on such an index reads its page and stops instead of sorting every match (the
# staff list at 200k complaints: docs/store.md). The upstream flags are marked experimental.
documentdb.alternate_index_handler_name = 'extended_rum'
documentdb.enableIndexOrderbyPushdown = on
cron.use_background_workers = on
# DocumentDB opens libpq connections to itself (index builds, drops, version checks) as the
# calling user: through the private socket, where no password is asked (see pg_hba.conf).
documentdb.localhost_connection_string = 'host=$SOCKDIR'
max_worker_processes = 24
# Modest memory for a developer machine / CI runner.
shared_buffers = 256MB
effective_cache_size = 1GB
work_mem = 8MB
maintenance_work_mem = 128MB
# Durability stays on: the pipeline's guarantees rest on committed writes surviving a crash.
fsync = on
synchronous_commit = on
full_page_writes = on
# Planner statistics follow bulk loads (indexed lookups were 20-40x slower until ANALYZE ran).
autovacuum_naptime = 10s
autovacuum_analyze_scale_factor = 0.02
autovacuum_analyze_threshold = 50
autovacuum_vacuum_scale_factor = 0.05
autovacuum_vacuum_insert_scale_factor = 0.05
autovacuum_vacuum_insert_threshold = 500
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = 1000
log_autovacuum_min_duration = -1
timezone = 'UTC'
EOF
  if ((EUID == 0)); then chown "$OS_USER:" "$DATA/sipuma.conf"; fi
}

write_hba() {
  cat >"$DATA/pg_hba.conf" <<EOF
# Written by deploy/local/documentdb/store.sh.
# Unix socket: its folder is mode 0700, so only the server's OS user (the gateway, which has
# already checked the client's SCRAM proof) and root reach it.
local   all   all                  trust
# TCP (127.0.0.1 only): password (SCRAM) for every role, e.g. psql as sipuma_readonly.
host    all   all   127.0.0.1/32   scram-sha-256
EOF
  if ((EUID == 0)); then chown "$OS_USER:" "$DATA/pg_hba.conf"; fi
}

init_cluster() {
  [[ -f "$DATA/PG_VERSION" ]] && return 0
  log "creating the PostgreSQL $PG_MAJOR cluster in $DATA (runs as $OS_USER)"
  mkdir -p "$DATA"
  if ((EUID == 0)); then chown "$OS_USER:" "$DATA"; fi
  chmod 700 "$DATA"
  grant_traverse "$DATA"
  as_os "$PG_BINDIR/initdb" -D "$DATA" -U "$OS_USER" --encoding=UTF8 --locale=C.UTF-8 \
    --data-checksums --auth-local=trust --auth-host=scram-sha-256 >"$LOGS/store-initdb.log" 2>&1 \
    || { tail -n 20 "$LOGS/store-initdb.log" >&2; die "initdb failed (log: $LOGS/store-initdb.log)"; }
  echo "include = 'sipuma.conf'" >>"$DATA/postgresql.conf"
  write_hba
}

init() {
  local why
  if why="$(store_artefacts_missing)"; then
    die "the store is not built: $(echo "$why" | paste -sd';' -) (run deploy/local/documentdb/install.sh)"
  fi
  mkdir -p "$SHOME" "$LOGS" "$URIS"
  chmod 700 "$URIS"
  make_tls
  make_secrets
  mkdir -p "$SOCKDIR"
  touch "$PG_LOG" "$GW_LOG"
  if ((EUID == 0)); then
    chown "$OS_USER:" "$SOCKDIR" "$TLS/server.key" "$PG_LOG" "$GW_LOG"
  fi
  chmod 700 "$SOCKDIR"
  grant_traverse "$SOCKDIR"
  grant_traverse "$TLS"
  grant_traverse "$LOGS"
  init_cluster
  grant_traverse "$DATA"
}

# ---------------------------------------------------------------- PostgreSQL
pg_running() { as_os "$PG_BINDIR/pg_ctl" status -D "$DATA" >/dev/null 2>&1; }

postmaster_pid() { head -n1 "$DATA/postmaster.pid" 2>/dev/null || true; }

pg_start() {
  pg_running && return 0
  port_open "$PG_PORT" && die "port $PG_PORT (store PostgreSQL) is taken by another process; set SIPUMA_STORE_PG_PORT"
  write_pg_conf
  log "starting PostgreSQL $PG_MAJOR + DocumentDB on 127.0.0.1:$PG_PORT (log: $PG_LOG)"
  # A backend that crashes leaves a core file in the data folder (kernel pattern permitting), for
  # a backtrace: DocumentDB b2e220c4 has segfaulted in `documentdb_api.insert` under test load.
  ulimit -c unlimited 2>/dev/null || true
  if ! as_os "$PG_BINDIR/pg_ctl" start -D "$DATA" -w -t 120 -s -l "$PG_LOG" 9>&-; then
    tail -n 30 "$PG_LOG" >&2
    die "PostgreSQL did not start (log: $PG_LOG)"
  fi
}

pg_bootstrap() { # extension + users; idempotent, a few ms when all exist
  local entry name user role pw roles sql
  sql="SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS documentdb CASCADE;
CREATE EXTENSION IF NOT EXISTS documentdb_extended_rum;"
  for entry in "${USERS[@]}"; do
    IFS='|' read -r name user role <<<"$entry"
    pw="$(cat "$SECRETS/$name")"
    if [[ "$role" == rw ]]; then
      roles='[{"role": "readWriteAnyDatabase", "db": "admin"}, {"role": "clusterAdmin", "db": "admin"}]'
    else
      roles='[{"role": "readAnyDatabase", "db": "admin"}]'
    fi
    # Created through DocumentDB's createUser (it grants the role and what the role needs);
    # an existing role gets the stored password again (a kept data dir with new secrets).
    sql+="
SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$user')
  THEN NULL
  ELSE documentdb_api.create_user('{\"createUser\": \"$user\", \"pwd\": \"$pw\", \"roles\": $roles}'::documentdb_core.bson)
END;
ALTER ROLE $user WITH LOGIN PASSWORD '$pw';"
  done
  psql_sys >/dev/null <<<"$sql" || die "creating the DocumentDB extension or the users failed (log: $PG_LOG)"
  psql_sys >/dev/null <"$DOCDB_HERE/extended_rum.sql" ||
    die "completing documentdb_extended_rum's operator family failed (log: $PG_LOG)"
}

pg_stop() {
  pg_running || return 0
  log "stopping store PostgreSQL (pg_ctl stop -m fast)"
  as_os "$PG_BINDIR/pg_ctl" stop -D "$DATA" -m fast -w -t 60 -s
}

# ---------------------------------------------------------------- gateway
gw_running() {
  [[ -f "$GW_PID" ]] || return 1
  local pid; pid="$(cat "$GW_PID")"
  kill -0 "$pid" 2>/dev/null && [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$GATEWAY" ]]
}

write_gateway_conf() {
  cat >"$GW_CONF" <<EOF
{
  "NodeHostName": "127.0.0.1",
  "BlockedRolePrefixes": ["documentdb", "citus", "pg", "internal_role"],
  "UseLocalHost": true,
  "GatewayListenPort": $PORT,
  "EnforceSslTcp": true,
  "CertificateOptions": {
    "CertType": "pem_file",
    "FilePath": "$TLS/server.crt",
    "KeyFilePath": "$TLS/server.key"
  },
  "PostgresSystemUser": "$OS_USER",
  "PostgresHostName": "$SOCKDIR",
  "PostgresPort": $PG_PORT,
  "PostgresDatabase": "postgres",
  "TransactionTimeoutSecs": 60,
  "CursorTimeoutSecs": 600,
  "PostgresCommandTimeoutSecs": 120
}
EOF
  chmod 644 "$GW_CONF"
}

gw_start() {
  gw_running && return 0
  port_open "$PORT" && die "port $PORT (store gateway) is taken by another process; set SIPUMA_STORE_PORT"
  write_gateway_conf
  log "starting the DocumentDB gateway on 127.0.0.1:$PORT (TLS, SCRAM; log: $GW_LOG)"
  # setsid: its own session, so a terminal's Ctrl-C does not reach it; the pid stays the gateway's
  # own (setsid and setpriv exec), so `stop` can send it SIGINT, its graceful shutdown signal.
  # 9>&-: the daemons must not inherit (and so keep holding) store.sh's lock.
  (cd / && exec setsid "${AS_OS[@]}" "$GATEWAY" "$GW_CONF") >>"$GW_LOG" 2>&1 </dev/null 9>&- &
  echo $! >"$GW_PID"
}

signal_wait() { # pid seconds signal
  local pid="$1" seconds="$2" sig="$3" i
  kill "-$sig" "$pid" 2>/dev/null || return 0
  for ((i = 0; i < seconds * 10; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  return 1
}

gw_stop() {
  gw_running || { rm -f "$GW_PID"; return 0; }
  local pid; pid="$(cat "$GW_PID")"
  log "stopping the store gateway (pid $pid)"
  signal_wait "$pid" 10 INT || signal_wait "$pid" 5 TERM || signal_wait "$pid" 5 KILL || true
  rm -f "$GW_PID"
}

# ---------------------------------------------------------------- URIs and readiness
urlencode_path() { # percent-encodes all but unreserved characters and '/'
  local s="$1" out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    case "$c" in [A-Za-z0-9/._~-]) out+="$c" ;; *) out+="$(printf '%%%02X' "'$c")" ;; esac
  done
  printf '%s' "$out"
}

write_uris() {
  local entry name user role pw ca uri
  ca="$(urlencode_path "$TLS/ca.crt")"
  for entry in "${USERS[@]}"; do
    IFS='|' read -r name user role <<<"$entry"
    pw="$(cat "$SECRETS/$name")"
    uri="mongodb://$user:$pw@127.0.0.1:$PORT/?tls=true&tlsCAFile=$ca&authMechanism=SCRAM-SHA-256&authSource=admin&directConnection=true"
    (umask 077 && printf '%s\n' "$uri" >"$URIS/$name.tmp" && mv "$URIS/$name.tmp" "$URIS/$name")
  done
}

wait_ready() {
  [[ -x "$PYTHON" ]] || die "no Python with PyMongo at $PYTHON (run uv sync, or set SIPUMA_STORE_PYTHON)"
  local out
  if ! out="$("$PYTHON" "$DOCDB_HERE/ping.py" "$URIS/test" 90 "$(cat "$GW_PID")" 2>&1)"; then
    tail -n 20 "$GW_LOG" >&2
    die "the store gateway does not answer an authenticated ping: $out (log: $GW_LOG)"
  fi
  log "store ready on 127.0.0.1:$PORT: $out"
}

# ---------------------------------------------------------------- commands
start() {
  init
  pg_start
  pg_bootstrap
  write_uris
  gw_start
  wait_ready
}

stop() { gw_stop; pg_stop; }

kill_all() {
  if gw_running; then kill -KILL "$(cat "$GW_PID")" 2>/dev/null || true; fi
  rm -f "$GW_PID"
  local pm children=() pid i
  pm="$(postmaster_pid)"
  if [[ -n "$pm" ]] && kill -0 "$pm" 2>/dev/null; then
    mapfile -t children < <(pgrep -P "$pm" || true)
    log "SIGKILL store postmaster (pid $pm) and gateway"
    kill -KILL "$pm" 2>/dev/null || true
    # The backends notice the postmaster's death and exit; a new postmaster waits for them.
    for pid in "${children[@]}"; do
      for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    done
  fi
}

status() {
  if pg_running; then echo "store-postgres: running (pid $(postmaster_pid), 127.0.0.1:$PG_PORT)"
  else echo "store-postgres: stopped"; fi
  if gw_running; then echo "store-gateway: running (pid $(cat "$GW_PID"), 127.0.0.1:$PORT)"
  else echo "store-gateway: stopped"; fi
}

# One lifecycle command at a time per instance: several test processes may run `infra.sh up` at
# once (the harness starts the servers on demand).
lock() {
  mkdir -p "$SHOME"
  exec 9>"$SHOME/.lock"
  flock -w 300 9 || die "another store.sh holds $SHOME/.lock"
}

case "${1:-}" in
  init) lock; init ;;
  start) lock; start ;;
  stop) lock; stop ;;
  kill) lock; kill_all ;;
  status) status ;;
  ping) "$PYTHON" "$DOCDB_HERE/ping.py" "$URIS/test" 5 ;;
  *) echo "usage: $0 init|start|stop|kill|status|ping|check" >&2; exit 2 ;;
esac
