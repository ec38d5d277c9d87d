#!/usr/bin/env bash
# A local 3-node Kafka cluster (KRaft) beside the shared single broker (issue 17): three
# processes from the jars `infra.sh` caches, each broker + controller, one controller quorum
# (static voters), replication factor 3 and min.insync.replicas=2 by default
# (deploy/local/kafka/cluster.properties.in). Its own RUN dir and ports; the shared servers on
# 9092/9093 are never touched.
#
#   deploy/local/cluster.sh up | down | status
#
# Point services at it with SIPUMA_KAFKA_BOOTSTRAP=127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094
# SIPUMA_TOPIC_REPLICATION_FACTOR=3 SIPUMA_TOPIC_MIN_INSYNC_REPLICAS=2.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${SIPUMA_CACHE_DIR:-$HOME/.cache/sipuma}"
RUN="${SIPUMA_CLUSTER_RUN_DIR:-$HOME/.local/state/sipuma-cluster}"
KAFKA_LIBS="$CACHE/kafka-4.1.1/libs"
PORTS=(${SIPUMA_CLUSTER_PORTS:-19092 19093 19094})
CONTROLLER_PORTS=(${SIPUMA_CLUSTER_CONTROLLER_PORTS:-19192 19193 19194})
HEAP="${SIPUMA_CLUSTER_HEAP:-384m}"

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pidfile() { echo "$RUN/node$1/kafka.pid"; }
running() { [[ -f "$(pidfile "$1")" ]] && kill -0 "$(cat "$(pidfile "$1")")" 2>/dev/null; }
java_opts() { # node folder
  echo "-Xms$HEAP -Xmx$HEAP -Dlog4j2.configurationFile=$HERE/kafka/log4j2.properties" \
    "-Dkafka.logs.dir=$1"
}

up() {
  [[ -f "$KAFKA_LIBS/.complete" ]] || die "Kafka jars not cached: run deploy/local/infra.sh up once"
  command -v java >/dev/null || die "Java 17+ is required for Kafka"
  local voters="" n
  for n in 1 2 3; do voters+="${voters:+,}$n@127.0.0.1:${CONTROLLER_PORTS[n-1]}"; done
  local cluster_id=""
  for n in 1 2 3; do
    local dir="$RUN/node$n"
    mkdir -p "$dir"
    sed -e "s#@NODE@#$n#" -e "s#@VOTERS@#$voters#" -e "s#@DATA@#$dir/data#" \
      -e "s#@PORT@#${PORTS[n-1]}#g" -e "s#@CPORT@#${CONTROLLER_PORTS[n-1]}#g" \
      "$HERE/kafka/cluster.properties.in" > "$dir/server.properties"
    if [[ ! -f "$dir/data/meta.properties" ]]; then
      # shellcheck disable=SC2046
      [[ -n "$cluster_id" ]] || cluster_id="$(java $(java_opts "$dir") -cp "$KAFKA_LIBS/*" \
        kafka.tools.StorageTool random-uuid)"
      log "formatting node $n (cluster $cluster_id)"
      # shellcheck disable=SC2046
      java $(java_opts "$dir") -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format \
        -t "$cluster_id" -c "$dir/server.properties" >>"$dir/kafka.log" 2>&1
    fi
  done
  for n in 1 2 3; do
    running "$n" && continue
    port_open "${PORTS[n-1]}" && die "port ${PORTS[n-1]} is taken by another process"
    local dir="$RUN/node$n"
    log "starting node $n on 127.0.0.1:${PORTS[n-1]} (controller ${CONTROLLER_PORTS[n-1]})"
    # shellcheck disable=SC2046
    setsid java $(java_opts "$dir") -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties" \
      >>"$dir/kafka.log" 2>&1 </dev/null &
    echo $! > "$(pidfile "$n")"
  done
  for n in 1 2 3; do
    local deadline=$((SECONDS + 120))
    until port_open "${PORTS[n-1]}" && grep -q "Kafka Server started" "$RUN/node$n/kafka.log"; do
      running "$n" || { tail -n 30 "$RUN/node$n/kafka.log" >&2; die "node $n exited"; }
      ((SECONDS < deadline)) || die "node $n did not start within 120 s"
      sleep 0.5
    done
  done
  log "up: bootstrap 127.0.0.1:${PORTS[0]},127.0.0.1:${PORTS[1]},127.0.0.1:${PORTS[2]}"
}

down() {
  local n
  for n in 1 2 3; do
    running "$n" || { rm -f "$(pidfile "$n")"; continue; }
    local pid; pid="$(cat "$(pidfile "$n")")"
    log "stopping node $n (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for n in 1 2 3; do
    [[ -f "$(pidfile "$n")" ]] || continue
    local pid; pid="$(cat "$(pidfile "$n")")"
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$(pidfile "$n")"
  done
}

status() {
  local n
  for n in 1 2 3; do
    if running "$n"; then echo "node $n: running (pid $(cat "$(pidfile "$n")"), port ${PORTS[n-1]})"
    else echo "node $n: stopped"; fi
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
