#!/usr/bin/env bash
# A local warmrun cluster for development and tests: a throwaway PostgreSQL, engine nodes
# on one Docker daemon, and HAProxy in front of them (deploy/haproxy/haproxy.cfg).
#
#   bash scripts/cluster.sh up              start everything, wait until all is ready
#   bash scripts/cluster.sh status          nodes, their pids and readiness, HAProxy's view
#   bash scripts/cluster.sh restart-node N  stop node N if it runs (SIGTERM), start it again
#   bash scripts/cluster.sh down            stop all it started; no container of its nodes stays
#
# Ports: nodes on 127.0.0.1:8081..808N (node-1..node-N), HAProxy on
# 127.0.0.1:${WARMRUN_CLUSTER_PORT:-8090}, HAProxy's stats page on ${WARMRUN_LB_STATS:-127.0.0.1:8099}.
# Files, in ${WARMRUN_CLUSTER_DIR:-/tmp/warmrun-cluster}:
#   cluster.json      {"lb": URL, "nodes": [{"id","url","pid","instance","log"}], "stats": URL,
#                     "database_url": URL, "haproxy_pid": PID, "lb_rate": N}; pid is the
#                     engine process itself (kill -9 PID is a node crash)
#   node-N.log, haproxy.log, haproxy.cfg (the shipped config + one server line per node),
#   languages.toml (the catalog the nodes use), node.toml, node-N/ (each node's data dir)
#
# Environment (all optional):
#   WARMRUN_CLUSTER_NODES=3          how many engine nodes
#   WARMRUN_CLUSTER_LANGS="python=2:4,bash=1:2"   languages and pools (min_idle:max) of the
#                                    nodes, in a copy of images/languages.toml; "all" keeps
#                                    the whole catalog (then raise WARMRUN_MAX_CONTAINERS)
#   WARMRUN_MAX_CONTAINERS=6, WARMRUN_SUBMISSION_WORKERS, WARMRUN_READY_MAX_QUEUE,
#   WARMRUN_DRAIN_DELAY_MS, WARMRUN_SHUTDOWN_GRACE_MS, WARMRUN_RATE_PER_IP, WARMRUN_RATE_BURST,
#   WARMRUN_MAX_USES, WARMRUN_AGENT, WARMRUN_SITE, WARMRUN_RUNTIME, RUST_LOG: passed to every node
#   WARMRUN_LB_RATE=2000             HAProxy's limit: requests per client address per 10 s
#   WARMRUN_CLUSTER_DATABASE_URL     use this PostgreSQL instead of starting one
#   WARMRUN_SERVER_BIN               the engine binary (default: built with cargo into
#                                    $CARGO_TARGET_DIR/$WARMRUN_CLUSTER_PROFILE, profile debug)
#   WARMRUN_CLUSTER_PROFILE=debug    or release
#   WARMRUN_CLUSTER_NO_PREPARE=1     do not run scripts/prepare.sh when Docker, the images
#                                    or the agent are missing (fail instead)
#   WARMRUN_CLUSTER_READY_S=240      how long `up` waits for readiness
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
DIR=${WARMRUN_CLUSTER_DIR:-/tmp/warmrun-cluster}
LB_PORT=${WARMRUN_CLUSTER_PORT:-8090}
LB_STATS=${WARMRUN_LB_STATS:-127.0.0.1:8099}
LB_RATE=${WARMRUN_LB_RATE:-2000}
NODES=${WARMRUN_CLUSTER_NODES:-3}
FIRST_PORT=8081
LANGS=${WARMRUN_CLUSTER_LANGS:-python=2:4,bash=1:2}
PROFILE=${WARMRUN_CLUSTER_PROFILE:-debug}
READY_S=${WARMRUN_CLUSTER_READY_S:-240}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/warmrun-build/target}
AGENT=${WARMRUN_AGENT:-/var/cache/warmrun-build/agent/warmrun-agent}
# How long `down` and `restart-node` wait for a node after SIGTERM before SIGKILL: the
# drain delay, the grace for running sessions, and the removal of its containers.
STOP_WAIT_S=$(( (${WARMRUN_DRAIN_DELAY_MS:-3000} + ${WARMRUN_SHUTDOWN_GRACE_MS:-30000}) / 1000 + 20 ))

say() { echo "[cluster] $*" >&2; }
die() { say "$*"; exit 1; }

node_port() { echo $(( FIRST_PORT + $1 - 1 )); }
node_url() { echo "http://127.0.0.1:$(node_port "$1")"; }
node_instance() { echo "cluster-node-$1"; }
# A zombie is not alive: the nodes' parent (this script) is gone when they exit, and not
# every init reaps at once.
alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]
}
pid_of() { cat "$DIR/$1.pid" 2>/dev/null || true; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
http_code() { curl -s -o /dev/null -m "${2:-2}" -w '%{http_code}' "$1" 2>/dev/null || true; }

# --- what the cluster needs on this machine -------------------------------------------

ensure_machine() {
  local missing=()
  docker info >/dev/null 2>&1 || missing+=("a Docker engine")
  if [ ${#missing[@]} -eq 0 ]; then
    for lang in $(langs_ids); do
      docker image inspect "warmrun/$lang:current" >/dev/null 2>&1 || missing+=("image warmrun/$lang")
    done
  fi
  [ -x "$AGENT" ] || missing+=("the agent ($AGENT)")
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "${WARMRUN_CLUSTER_NO_PREPARE:-0}" = 1 ]; then
      die "missing: ${missing[*]}; run scripts/prepare.sh"
    fi
    say "missing: ${missing[*]}; running scripts/prepare.sh (log $DIR/prepare.log)"
    WARMRUN_NO_WEB=1 bash scripts/prepare.sh >"$DIR/prepare.log" 2>&1 \
      || { tail -n 20 "$DIR/prepare.log" >&2; die "scripts/prepare.sh failed"; }
  fi
  if ! command -v haproxy >/dev/null; then
    say "installing haproxy (Debian package)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends haproxy >&2
    # The package may start its system service; this cluster runs its own HAProxy.
    if command -v invoke-rc.d >/dev/null && pgrep -x haproxy >/dev/null; then
      invoke-rc.d haproxy stop >&2 || true
    fi
  fi
  command -v curl >/dev/null || die "curl is missing (apt-get install curl)"
  command -v python3 >/dev/null || die "python3 is missing (apt-get install python3)"
}

server_bin() {
  if [ -n "${WARMRUN_SERVER_BIN:-}" ]; then
    [ -x "$WARMRUN_SERVER_BIN" ] || die "WARMRUN_SERVER_BIN=$WARMRUN_SERVER_BIN is not executable"
    echo "$WARMRUN_SERVER_BIN"
    return
  fi
  local flag=()
  [ "$PROFILE" = release ] && flag=(--release)
  # cargo build is a no-op when the binary is current and rebuilds it when it is stale.
  say "cargo build ${flag[*]} -p server (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
  cargo build -q "${flag[@]}" -p server --bin warmrun-server >&2 || die "building warmrun-server failed"
  echo "$CARGO_TARGET_DIR/$PROFILE/warmrun-server"
}

langs_ids() {
  if [ "$LANGS" = all ]; then
    # Only the languages' ids, not their examples' (`[[language.examples]]` have ids too).
    python3 -c 'import sys, tomllib; print("\n".join(l["id"] for l in tomllib.load(open(sys.argv[1], "rb"))["language"]))' images/languages.toml
  else
    tr ',' '\n' <<<"$LANGS" | cut -d= -f1
  fi
}

# The nodes' catalog: the chosen languages of images/languages.toml with their pool sizes.
write_catalog() {
  if [ "$LANGS" = all ]; then
    cp images/languages.toml "$DIR/languages.toml"
    return
  fi
  python3 images/lib/catalog_pools.py images/languages.toml "$DIR/languages.toml" "$LANGS" --only
}

# Settings every node shares that have no environment override. Only keys today's and
# older engines know (the file is parsed with deny_unknown_fields).
write_node_config() {
  cat >"$DIR/node.toml" <<'EOF'
# Written by scripts/cluster.sh: settings all nodes of the local cluster share.
[limits]
# Tests open many sessions from one client address through HAProxy.
sessions_per_ip = 200
EOF
}

# --- processes ---------------------------------------------------------------------------

# start_node N: the engine process itself gets the pid (exec through setsid, which does
# not fork here because a background job is not a process group leader).
start_node() {
  local n=$1 bin=$2 port id inst log pid
  port=$(node_port "$n"); id="node-$n"; inst=$(node_instance "$n"); log="$DIR/node-$n.log"
  port_busy "$port" && die "port $port (node $id) is in use by another process"
  mkdir -p "$DIR/node-$n"
  echo "=== $(date -Is) starting $id" >>"$log"
  WARMRUN_CONFIG="$DIR/node.toml" \
    WARMRUN_LISTEN="127.0.0.1:$port" \
    WARMRUN_NODE_ID="$id" \
    WARMRUN_NODE_URL="http://127.0.0.1:$port" \
    WARMRUN_INSTANCE="$inst" \
    DATABASE_URL="$(cat "$DIR/database_url")" \
    WARMRUN_TRUSTED_PROXY_HOPS=1 \
    WARMRUN_MAX_CONTAINERS="${WARMRUN_MAX_CONTAINERS:-6}" \
    WARMRUN_CATALOG="$DIR/languages.toml" \
    WARMRUN_DATA_DIR="$DIR/node-$n" \
    WARMRUN_AGENT="$AGENT" \
    RUST_LOG="${RUST_LOG:-info}" NO_COLOR=1 \
    setsid "$bin" </dev/null >>"$log" 2>&1 &
  pid=$!
  echo "$pid" >"$DIR/node-$n.pid"
  say "started $id on 127.0.0.1:$port (pid $pid, instance $inst, log $log)"
}

start_haproxy() {
  local n
  port_busy "$LB_PORT" && die "port $LB_PORT (HAProxy) is in use by another process"
  local servers=""
  for n in $(seq 1 "$NODES"); do
    servers+="    server node-$n 127.0.0.1:$(node_port "$n")"$'\n'
  done
  SERVERS="$servers" awk '/^[[:space:]]*# @@SERVERS@@[[:space:]]*$/ { printf "%s", ENVIRON["SERVERS"]; next } { print }' \
    deploy/haproxy/haproxy.cfg >"$DIR/haproxy.cfg"
  export WARMRUN_CLUSTER_PORT="$LB_PORT" WARMRUN_LB_RATE="$LB_RATE" WARMRUN_LB_STATS="$LB_STATS" \
    WARMRUN_LB_ADDR=127.0.0.1 WARMRUN_LB_SOCKET="$DIR/haproxy.sock"
  haproxy -c -q -f "$DIR/haproxy.cfg" || die "HAProxy refuses $DIR/haproxy.cfg"
  setsid haproxy -db -f "$DIR/haproxy.cfg" </dev/null >>"$DIR/haproxy.log" 2>&1 &
  echo $! >"$DIR/haproxy.pid"
  say "started HAProxy on 127.0.0.1:$LB_PORT (pid $!, stats http://$LB_STATS/, log $DIR/haproxy.log)"
}

start_postgres() {
  if [ -n "${WARMRUN_CLUSTER_DATABASE_URL:-}" ]; then
    echo "$WARMRUN_CLUSTER_DATABASE_URL" >"$DIR/database_url"
    return
  fi
  # scripts/start-postgres.sh stops its cluster once an owner process exits: the keeper
  # below lives as long as this cluster, and `down` ends it.
  setsid sleep infinity </dev/null >/dev/null 2>&1 &
  echo $! >"$DIR/pg-keeper.pid"
  bash scripts/start-postgres.sh --owner "$(cat "$DIR/pg-keeper.pid")" >"$DIR/database_url" \
    2>>"$DIR/postgres.log" || { cat "$DIR/postgres.log" >&2; die "PostgreSQL did not start"; }
  say "PostgreSQL at $(cat "$DIR/database_url")"
}

# HAProxy's view of the nodes, from its stats page: "node-1 UP" lines.
lb_view() {
  curl -s -m 2 "http://$LB_STATS/;csv" 2>/dev/null | awk -F, '$1 == "engines" && $2 ~ /^node-/ { print $2, $18 }'
}

write_cluster_json() {
  python3 - "$DIR" "$NODES" "$LB_PORT" "$LB_STATS" "$LB_RATE" "$FIRST_PORT" <<'PY'
import json, os, sys
d, nodes, lb_port, stats, rate, first = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
def read(name):
    try:
        return open(os.path.join(d, name)).read().strip()
    except FileNotFoundError:
        return None
out = {
    "lb": f"http://127.0.0.1:{lb_port}",
    "nodes": [
        {"id": f"node-{n}", "url": f"http://127.0.0.1:{first + n - 1}",
         "pid": int(read(f"node-{n}.pid") or 0), "instance": f"cluster-node-{n}",
         "log": os.path.join(d, f"node-{n}.log")}
        for n in range(1, nodes + 1)
    ],
    "stats": f"http://{stats}/",
    "lb_rate": rate,
    "database_url": read("database_url"),
    "haproxy_pid": int(read("haproxy.pid") or 0),
    "dir": d,
}
tmp = os.path.join(d, "cluster.json.tmp")
with open(tmp, "w") as f:
    json.dump(out, f, indent=1)
os.replace(tmp, os.path.join(d, "cluster.json"))
PY
}

# wait_ready N...: until each node's /readyz is 200 and HAProxy has it UP.
wait_ready() {
  local deadline=$(( $(date +%s) + READY_S )) n pending
  while :; do
    pending=()
    for n in "$@"; do
      alive "$(pid_of "node-$n")" || { tail -n 20 "$DIR/node-$n.log" >&2; die "node-$n exited (log $DIR/node-$n.log)"; }
      [ "$(http_code "$(node_url "$n")/readyz")" = 200 ] || { pending+=("node-$n (not ready)"); continue; }
      lb_view | grep -qx "node-$n UP" || pending+=("node-$n (HAProxy: not UP yet)")
    done
    [ ${#pending[@]} -eq 0 ] && return 0
    [ "$(date +%s)" -lt "$deadline" ] || die "not ready after ${READY_S}s: ${pending[*]}"
    sleep 0.5
  done
}

# stop_pid PID WHAT: SIGTERM, wait up to STOP_WAIT_S, then SIGKILL. Returns 1 when it had
# to kill.
stop_pid() {
  local pid=$1 what=$2 i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 $(( STOP_WAIT_S * 10 ))); do
    alive "$pid" || return 0
    sleep 0.1
  done
  say "$what (pid $pid) still runs ${STOP_WAIT_S}s after SIGTERM: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  return 1
}

node_containers() {
  docker ps -aq --filter label=io.warmrun.managed=true \
    --filter "label=io.warmrun.instance=$(node_instance "$1")" 2>/dev/null || true
}

# --- commands ---------------------------------------------------------------------------

cmd_up() {
  mkdir -p "$DIR"
  if [ -f "$DIR/cluster.json" ]; then
    local running=() dead=() n
    for n in $(seq 1 "$NODES"); do
      if alive "$(pid_of "node-$n")"; then running+=("node-$n"); else dead+=("node-$n"); fi
    done
    alive "$(pid_of haproxy)" && running+=(haproxy) || dead+=(haproxy)
    if [ ${#dead[@]} -eq 0 ]; then
      say "the cluster in $DIR is already running"
      cmd_status
      return 0
    fi
    if [ ${#running[@]} -gt 0 ]; then
      die "a cluster in $DIR is partly running (up: ${running[*]}; down: ${dead[*]}): 'restart-node N' or 'down' first"
    fi
    say "stale state in $DIR (nothing runs): cleaning it"
    cmd_down >/dev/null 2>&1 || true
    mkdir -p "$DIR"
  fi
  local started
  started=$(date +%s)
  ensure_machine
  local bin
  bin=$(server_bin)
  write_catalog
  write_node_config
  start_postgres
  for n in $(seq 1 "$NODES"); do start_node "$n" "$bin"; done
  echo "$bin" >"$DIR/server_bin"
  start_haproxy
  write_cluster_json
  say "waiting until every node is ready and HAProxy has it UP (at most ${READY_S}s)"
  wait_ready $(seq 1 "$NODES")
  [ "$(http_code "http://127.0.0.1:$LB_PORT/readyz")" = 200 ] || die "HAProxy does not answer on port $LB_PORT"
  say "cluster up in $(( $(date +%s) - started ))s: http://127.0.0.1:$LB_PORT ($DIR/cluster.json)"
}

cmd_restart_node() {
  local n=${1:?usage: cluster.sh restart-node N}
  [ -f "$DIR/cluster.json" ] || die "no cluster in $DIR ('up' first)"
  [ "$n" -ge 1 ] && [ "$n" -le "$NODES" ] || die "no node $n (1..$NODES)"
  local pid
  pid=$(pid_of "node-$n")
  if alive "$pid"; then
    say "stopping node-$n (pid $pid, SIGTERM)"
    stop_pid "$pid" "node-$n" || true
  fi
  # Wait until the port is free (a killed process may take a moment to release it).
  local i
  for i in $(seq 1 50); do port_busy "$(node_port "$n")" || break; sleep 0.1; done
  start_node "$n" "$(cat "$DIR/server_bin")"
  write_cluster_json
  wait_ready "$n"
  say "node-$n ready again (pid $(pid_of "node-$n"))"
}

cmd_status() {
  [ -f "$DIR/cluster.json" ] || { say "no cluster in $DIR"; return 1; }
  local n pid state code lbstate
  echo "cluster $DIR: HAProxy http://127.0.0.1:$LB_PORT (pid $(pid_of haproxy): $(alive "$(pid_of haproxy)" && echo running || echo not running)), stats http://$LB_STATS/"
  echo "database $(cat "$DIR/database_url" 2>/dev/null)"
  local view
  view=$(lb_view)
  for n in $(seq 1 "$NODES"); do
    pid=$(pid_of "node-$n")
    if alive "$pid"; then state=running; else state="not running"; fi
    code=$(http_code "$(node_url "$n")/readyz")
    case "$code" in 200) code="ready" ;; 503) code="not ready (503)" ;; *) code="no answer" ;; esac
    lbstate=$(awk -v id="node-$n" '$1 == id { print $2 }' <<<"$view")
    printf '  node-%s  %s  pid %-8s %-12s /readyz: %-16s HAProxy: %s  containers: %s\n' \
      "$n" "$(node_url "$n")" "$pid" "$state" "$code" "${lbstate:-?}" "$(node_containers "$n" | wc -l)"
  done
}

cmd_down() {
  [ -d "$DIR" ] || { say "no cluster in $DIR"; return 0; }
  local n pid pids=() killed=()
  # Nodes drain in parallel: SIGTERM to all, then wait for each.
  for n in $(seq 1 "$NODES"); do
    pid=$(pid_of "node-$n")
    if alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; pids+=("$n:$pid"); fi
  done
  [ ${#pids[@]} -gt 0 ] && say "stopping ${#pids[@]} node(s) (SIGTERM; they drain, then remove their containers)"
  local entry
  for entry in "${pids[@]}"; do
    stop_pid "${entry#*:}" "node-${entry%%:*}" || killed+=("${entry%%:*}")
  done
  pid=$(pid_of haproxy)
  if alive "$pid"; then stop_pid "$pid" haproxy || true; say "stopped HAProxy"; fi
  pid=$(pid_of pg-keeper)
  if alive "$pid"; then
    local url
    url=$(cat "$DIR/database_url" 2>/dev/null || true)
    kill "$pid" 2>/dev/null || true
    # start-postgres.sh's watchdog notices within 2 s and stops the server.
    local port=${url##*:}; port=${port%%/*}
    local i
    for i in $(seq 1 100); do
      [ -n "$port" ] && port_busy "$port" || break
      sleep 0.1
    done
    say "stopped PostgreSQL"
  fi
  # Containers: a node stopped by SIGTERM removes its own; one that had to be killed (or
  # crashed earlier) leaves them, and they are removed here.
  local left total=0
  for n in $(seq 1 "$NODES"); do
    left=$(node_containers "$n")
    if [ -n "$left" ]; then
      say "removing $(wc -w <<<"$left") container(s) left by node-$n"
      docker rm -f $left >/dev/null 2>&1 || true
    fi
    total=$(( total + $(node_containers "$n" | wc -l) ))
  done
  rm -f "$DIR"/*.pid "$DIR/cluster.json" "$DIR/haproxy.sock"
  if [ "$total" -ne 0 ]; then
    die "$total container(s) of the cluster's nodes remain (docker ps -a --filter label=io.warmrun.managed=true)"
  fi
  say "cluster down; no warmrun container of its nodes remains (logs kept in $DIR)"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  restart-node) shift; cmd_restart_node "$@" ;;
  -h|--help|help) sed -n '2,35p' "$0" ;;
  *) echo "usage: scripts/cluster.sh up|down|status|restart-node N (--help)" >&2; exit 2 ;;
esac
