#!/usr/bin/env bash
# scripts/fault-tests.sh — the Docker daemon restart test (server/tests/faults.rs,
# `docker_daemon_restart`, ignored by plain `cargo test`). It stops dockerd under a running
# server and starts it again, so it runs last in scripts/test.sh, and the daemon runs again
# when this script ends, whatever happened (trap).
#
#   scripts/fault-tests.sh                   restart the system daemon (/var/run/docker.pid),
#                                            as the README's test command does
#   scripts/fault-tests.sh --private-daemon  start a throwaway second dockerd (own socket,
#                                            data and exec roots, no networking), load the
#                                            python and bash images into it and restart that
#                                            one: other users of the machine's Docker are left
#                                            alone (for shared machines)
#
# Environment: CARGO_TARGET_DIR (default /var/cache/warmrun-build/target), WARMRUN_RUNTIME.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/warmrun-build/target}
PRIVATE=0
for a in "$@"; do
  case "$a" in
    --private-daemon) PRIVATE=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "fault-tests.sh: unknown argument $a (try --help)" >&2; exit 2 ;;
  esac
done
say() { echo "[fault-tests $(date +%T)] $*"; }

wait_docker() {  # wait_docker SECONDS: until `docker info` answers
  for _ in $(seq 1 "$1"); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  return 1
}

if [ "$PRIVATE" = 1 ]; then
  RUN=/var/run/warmrun-fault
  DATA=/var/lib/warmrun-fault-docker
  mkdir -p "$RUN"
  SYSTEM_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
  export DOCKER_HOST="unix://$RUN/docker.sock"
  export WARMRUN_FAULT_DOCKERD_PIDFILE="$RUN/docker.pid"
  export WARMRUN_FAULT_DOCKERD_START="rm -f $RUN/docker.pid; setsid dockerd \
--host $DOCKER_HOST --pidfile $RUN/docker.pid --data-root $DATA --exec-root $RUN/exec \
--bridge none --iptables=false --ip-masq=false --ip-forward=false \
>/var/log/warmrun-fault-dockerd.log 2>&1 </dev/null &"
  stop_private() {
    local pid
    pid=$(cat "$RUN/docker.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      say "stopping the private dockerd (pid $pid)"
      kill "$pid"
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    fi
    rm -rf "$DATA" "$RUN" 2>/dev/null || true
  }
  trap stop_private EXIT
  say "starting a private dockerd on $DOCKER_HOST (log /var/log/warmrun-fault-dockerd.log)"
  sh -c "$WARMRUN_FAULT_DOCKERD_START"
  wait_docker 60 || { tail -20 /var/log/warmrun-fault-dockerd.log; exit 1; }
  for img in warmrun/python:current warmrun/bash:current; do
    say "loading $img"
    DOCKER_HOST=$SYSTEM_HOST docker save "$img" | docker load -q
  done
else
  export WARMRUN_FAULT_DOCKERD_PIDFILE=/var/run/docker.pid
  export WARMRUN_FAULT_DOCKERD_START="rm -f /var/run/docker.pid; setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null &"
  ensure_daemon() {
    if ! wait_docker 5; then
      say "dockerd is not answering: starting it again"
      if ! pidof dockerd >/dev/null; then sh -c "$WARMRUN_FAULT_DOCKERD_START"; fi
      wait_docker 60 || say "WARNING: dockerd did not come back (see /var/log/dockerd.log)"
    fi
    # Containers of the test's server that the daemon restart left behind.
    docker ps -aq --filter label=io.warmrun.instance=srv-faults-dockerd | xargs -r docker rm -f >/dev/null 2>&1 || true
  }
  trap ensure_daemon EXIT
  wait_docker 60 || { echo "fault-tests.sh: no Docker engine answers" >&2; exit 1; }
fi

say "cargo test -p server --test faults -- --ignored docker_daemon_restart"
cargo test -q -p server --test faults -- --ignored --exact \
  docker_daemon_restart --nocapture --test-threads 1 2>&1
say "ok"
