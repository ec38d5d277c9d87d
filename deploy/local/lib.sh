# shellcheck shell=bash
# Sourced by deploy/local/infra.sh, keycloak.sh and services.sh: where the local servers keep
# their cache, data, logs and pid files, the log line, and the handling of what they start in
# the background (one session per process, so `stop_one` stops the whole group). Each script
# sets LOG_TAG before sourcing this file.

# shellcheck disable=SC2034  # read by the scripts that source this file
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck disable=SC2034
CACHE="${SIPUMA_CACHE_DIR:-$HOME/.cache/sipuma}"
RUN="${SIPUMA_RUN_DIR:-$HOME/.local/state/sipuma}"
# shellcheck disable=SC2034
DATA="$RUN/data"
LOGS="$RUN/logs"
PIDS="$RUN/pids"

log() { printf '[%s] %s\n' "${LOG_TAG:-local}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

is_running() { # name
  local pidfile="$PIDS/$1.pid"
  [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

wait_until() { # name timeout_s command...
  local name="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    if ! is_running "$name"; then
      tail -n 30 "$LOGS/$name.log" >&2 || true
      die "$name exited during start-up (log: $LOGS/$name.log)"
    fi
    ((SECONDS < deadline)) || die "$name did not answer within ${timeout}s (log: $LOGS/$name.log)"
    sleep 0.5
  done
}

start_bg() { # name command... ; runs detached in its own session so `stop_one` can stop the group
  local name="$1"; shift
  mkdir -p "$LOGS" "$PIDS"
  setsid "$@" >>"$LOGS/$name.log" 2>&1 < /dev/null &
  echo $! > "$PIDS/$name.pid"
}

stop_one() { # name [why] ; SIGTERM to the group, SIGKILL after 30 s
  local name="$1" pidfile="$PIDS/$1.pid"
  [[ -f "$pidfile" ]] || return 0
  local pid; pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)${2:+: $2}"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

status_of() { # name [detail]
  if is_running "$1"; then echo "$1: running (pid $(cat "$PIDS/$1.pid")${2:+, $2})"
  else echo "$1: stopped"; fi
}
