#!/usr/bin/env bash
# deploy/swarm/test.sh — deploys deploy/swarm/stack.yml on a real two-node Docker Swarm
# made of two throwaway Docker daemons on this machine, checks it through HAProxy, and
# removes everything again (also when a step fails).
#
#   bash deploy/swarm/test.sh          (root; beside other people's suites, wrap it in
#                                       `flock /tmp/warmrun-docker.lock` like every suite)
#   WARMRUN_SWARM_KEEP=1 …             leave the swarm running at the end (for a look;
#                                       `bash deploy/swarm/test.sh --down` removes it)
#
# Each "host" is a dockerd with its own network namespace (the two joined by a veth
# pair, 192.168.213.0/24, which exists only inside them), mount namespace (a directory of
# its own bound over /run: its socket is /var/run/docker.sock for the containers it
# runs, as on a real host, and it starts its own containerd), UTS namespace (hostname =
# Swarm node hostname = warmrun node id), --data-root, --cgroup-parent. The namespaces
# are entered with nsenter/unshare, not `ip netns exec` (that remounts /sys, and dockerd
# dies with "Devices cgroup isn't mounted"). The machine's own dockerd is only read
# from (docker save) and never changed.
#
# Phases (each timed): images (build what is missing, docker save) → namespaces →
# daemons → load images into both → swarm init/join → stack deploy → wait until
# HAProxy has both engines UP → Python runs through HAProxy, spread over both nodes
# (X-Warmrun-Node, or each engine's warmrun_runs_total when the header is absent) → a
# submission and a snippet read back through HAProxy → teardown.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ROOT=${WARMRUN_SWARM_ROOT:-/var/lib/warmrun-swarm-test}
NET=192.168.213
NODES=(1 2)
NS_PREFIX=wr-swarm-
HOST_PREFIX=wr-node-
STACK=warmrun
LB_PORT=8090
STATS_PORT=8404
RUNS=${WARMRUN_SWARM_RUNS:-12}
IMAGES=(warmrun/server:swarm warmrun/haproxy:current warmrun/postgres:current warmrun/python:current)

T0=$(date +%s.%N)
PHASE_T=$T0
PHASES=()
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '[swarm-test +%6ss] %s\n' "$(secs "$T0" "$(now)")" "$*"; }
phase() {  # phase NAME: closes the previous phase's timer
  local t; t=$(now)
  [ -n "${PHASE_NAME:-}" ] && PHASES+=("$(printf '%-26s %6ss' "$PHASE_NAME" "$(secs "$PHASE_T" "$t")")")
  PHASE_NAME=$1; PHASE_T=$t
  [ "$1" != end ] && say "== $1"
  return 0
}
ns() { echo "$NS_PREFIX$1"; }
sock() { echo "$ROOT/n$1/run/docker.sock"; }
dk() { local n=$1; shift; docker -H "unix://$(sock "$n")" "$@"; }
in_ns() { local n=$1; shift; nsenter --net="/var/run/netns/$(ns "$n")" "$@"; }

# ---------------------------------------------------------------- teardown
daemon_pid() { cat "$ROOT/n$1/run/docker.pid" 2>/dev/null || true; }
teardown() {
  local n pid pids
  if [ -S "$(sock 1)" ] && dk 1 info >/dev/null 2>&1; then
    dk 1 stack rm "$STACK" >/dev/null 2>&1 || true
    say "stack removed; waiting for the engines to remove their sandboxes"
    # The engines remove their sandbox containers on SIGTERM; give them the time.
    for _ in $(seq 1 60); do
      local left=0
      for n in "${NODES[@]}"; do
        left=$((left + $(dk "$n" ps -aq 2>/dev/null | wc -l)))
      done
      [ "$left" = 0 ] && break
      sleep 1
    done
  fi
  for n in "${NODES[@]}"; do
    if [ -S "$(sock "$n")" ]; then
      local c; c=$(dk "$n" ps -aq 2>/dev/null | wc -l)
      [ "$c" != 0 ] && say "node $n: $c container(s) left after stack rm; removing them"
      dk "$n" ps -aq 2>/dev/null | xargs -r docker -H "unix://$(sock "$n")" rm -f >/dev/null 2>&1 || true
      dk "$n" swarm leave --force >/dev/null 2>&1 || true
    fi
  done
  say "stopping the daemons"
  for n in "${NODES[@]}"; do
    pid=$(daemon_pid "$n")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
  done
  # Anything still running in a node's network namespace (containerd, shims) is ours.
  for n in "${NODES[@]}"; do
    if [ -e "/var/run/netns/$(ns "$n")" ]; then
      pids=$(ip netns pids "$(ns "$n")" 2>/dev/null || true)
      [ -n "$pids" ] && { say "node $n: killing leftover processes $pids"; kill -9 $pids 2>/dev/null || true; sleep 1; }
      ip netns del "$(ns "$n")" 2>/dev/null || true
    fi
    ip link del "wrsw$n" 2>/dev/null || true
    # --cgroup-parent directories (cgroup v1: one per controller): processes of
    # containers still in them are ours; then remove the directories, deepest first.
    find /sys/fs/cgroup -maxdepth 3 -type d -name "warmrun-swarm-n$n" 2>/dev/null | while read -r d; do
      pids=$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u | tr '\n' ' ')
      [ -n "${pids// }" ] && { say "node $n: killing processes left in $d: $pids"; kill -9 $pids 2>/dev/null || true; sleep 1; }
      find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
  done
  say "removing $ROOT"
  if [ -d "$ROOT" ]; then
    # The daemons' mounts lived in their own mount namespaces, gone with them; check anyway.
    if awk -v p="$ROOT/" 'index($2, p) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
      say "WARNING: something is mounted under $ROOT; unmounting"
      awk -v p="$ROOT/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l
    fi
    rm -rf --one-file-system "$ROOT"
  fi
  say "teardown done: no namespace, veth, dockerd, cgroup or $ROOT left"
}

if [ "${1:-}" = --down ]; then teardown; exit 0; fi
[ "$(id -u)" = 0 ] || { echo "test.sh: must run as root" >&2; exit 1; }
for n in "${NODES[@]}"; do
  if [ -e "/var/run/netns/$(ns "$n")" ] || [ -d "$ROOT" ]; then
    echo "test.sh: a previous run left $(ns "$n") or $ROOT: bash $0 --down first" >&2; exit 1
  fi
done

RC=1
finish() {
  local rc=$?
  [ $RC != 0 ] && [ $rc = 0 ] && rc=1
  if [ "${WARMRUN_SWARM_KEEP:-0}" = 1 ]; then
    say "WARMRUN_SWARM_KEEP=1: left running; docker -H unix://$(sock 1) …; bash $0 --down"
  else
    phase teardown
    teardown || true
  fi
  phase end
  echo
  echo "phase                       seconds"
  printf '%s\n' "${PHASES[@]}"
  printf '%-26s %6ss\n' total "$(secs "$T0" "$(now)")"
  if [ $RC = 0 ]; then echo "swarm test: PASSED"; else echo "swarm test: FAILED"; fi
  exit $rc
}
trap finish EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- images
phase "images (build, save)"
mkdir -p "$ROOT"
(
  missing=()
  # The engine image is rebuilt every time: it must hold the code under test, not an
  # earlier build's (the others are Debian packages and are kept once built).
  missing+=(server)
  docker image inspect warmrun/haproxy:current >/dev/null 2>&1 || missing+=(haproxy)
  docker image inspect warmrun/postgres:current >/dev/null 2>&1 || missing+=(postgres)
  [ ${#missing[@]} -gt 0 ] && bash "$HERE/build-image.sh" "${missing[@]}"
  docker image inspect warmrun/python:current >/dev/null 2>&1 || bash "$REPO/images/build.sh" python
  docker save "${IMAGES[@]}" -o "$ROOT/images.tar"
)
say "images.tar $(du -h "$ROOT/images.tar" | cut -f1): ${IMAGES[*]}"
# A catalog of Python only (the one language image loaded), small pools.
python3 "$REPO/images/lib/catalog_pools.py" "$REPO/images/languages.toml" "$ROOT/languages.toml" python --only
mkdir -p "$ROOT/agent"

# ---------------------------------------------------------------- namespaces
phase "namespaces and veth"
for n in "${NODES[@]}"; do
  ip netns add "$(ns "$n")"
  ip -n "$(ns "$n")" link set lo up
done
ip link add wrsw1 netns "$(ns 1)" type veth peer name wrsw2 netns "$(ns 2)"
for n in "${NODES[@]}"; do
  ip -n "$(ns "$n")" addr add "$NET.$n/24" dev "wrsw$n"
  ip -n "$(ns "$n")" link set "wrsw$n" up
done
say "$(ns 1) $NET.1 <-> $(ns 2) $NET.2"

# ---------------------------------------------------------------- daemons
phase "daemons"
for n in "${NODES[@]}"; do
  mkdir -p "$ROOT/n$n/run" "$ROOT/n$n/data"
  # New mount namespace (slave: the host's unmounts still reach it, its mounts never
  # leave it) with its own /run, and a UTS namespace for the node's hostname.
  in_ns "$n" unshare --mount --propagation slave --uts sh -c "
    mount --bind '$ROOT/n$n/run' /run && hostname '$HOST_PREFIX$n' &&
    exec dockerd --host unix:///run/docker.sock --pidfile /run/docker.pid \
      --data-root '$ROOT/n$n/data' --exec-root /run/docker \
      --cgroup-parent /warmrun-swarm-n$n --log-level warn" \
    >"$ROOT/n$n/dockerd.log" 2>&1 </dev/null &
done
for n in "${NODES[@]}"; do
  for i in $(seq 1 60); do dk "$n" info >/dev/null 2>&1 && break; sleep 1; done
  dk "$n" info >/dev/null 2>&1 || { tail -20 "$ROOT/n$n/dockerd.log"; exit 1; }
  say "node $n: dockerd $(daemon_pid "$n") answers on $(sock "$n"), hostname $(dk "$n" info -f '{{.Name}}')"
done

phase "load images"
loads=()
for n in "${NODES[@]}"; do
  dk "$n" load -q -i "$ROOT/images.tar" >"$ROOT/n$n/load.log" 2>&1 &
  loads+=($!)
done
wait "${loads[@]}"  # not a bare `wait`: the daemons are children too
for n in "${NODES[@]}"; do
  for img in "${IMAGES[@]}"; do dk "$n" image inspect "$img" >/dev/null || { cat "$ROOT/n$n/load.log"; exit 1; }; done
done
rm -f "$ROOT/images.tar"

phase "swarm init and join"
dk 1 swarm init --advertise-addr "$NET.1" --listen-addr "$NET.1:2377" >/dev/null
token=$(dk 1 swarm join-token -q worker)
dk 2 swarm join --token "$token" --advertise-addr "$NET.2" --listen-addr "$NET.2:2377" "$NET.1:2377" >/dev/null
dk 1 node ls

# ---------------------------------------------------------------- deploy
phase "stack deploy"
export WARMRUN_AGENT_DIR="$ROOT/agent" WARMRUN_CATALOG_FILE="$ROOT/languages.toml" \
       WARMRUN_MAX_CONTAINERS=6 WARMRUN_LB_PORT=$LB_PORT WARMRUN_LB_STATS_PORT=$STATS_PORT \
       WARMRUN_DB_PASSWORD="swarm-test-$$"
dk 1 stack deploy --resolve-image never -c "$HERE/stack.yml" "$STACK"

phase "wait for engines UP"
LB="http://$NET.1:$LB_PORT"
if ! in_ns 1 python3 "$HERE/check.py" wait "$LB" "http://$NET.1:$STATS_PORT" 2; then
  dk 1 service ls; dk 1 service ps --no-trunc "${STACK}_warmrun" "${STACK}_haproxy" "${STACK}_db" || true
  for s in warmrun haproxy db; do echo "--- ${STACK}_$s"; dk 1 service logs --tail 20 "${STACK}_$s" 2>&1 || true; done
  exit 1
fi
dk 1 service ls
for n in "${NODES[@]}"; do
  say "node $n containers: $(dk "$n" ps --format '{{.Names}}' | cut -d. -f1 | sort | tr '\n' ' ')"
done

# ---------------------------------------------------------------- checks
phase "runs through HAProxy"
out=$(in_ns 1 python3 "$HERE/check.py" runs "$LB" "$RUNS")
echo "$out"
runs_json=$(tail -1 <<<"$out")
# Which node ran them: each engine's own counter (works with or without the header).
engine_runs() {  # engine_runs NODE: warmrun_runs_total summed, from inside that engine's task
  local cid
  cid=$(dk "$1" ps -q --filter "label=com.docker.swarm.service.name=${STACK}_warmrun" | head -1)
  dk "$1" exec "$cid" bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080; printf "GET /metrics HTTP/1.0\r\n\r\n" >&3; cat <&3' \
    | awk '/^warmrun_runs_total/ { s += $NF } END { print s + 0 }'
}
ok=1
for n in "${NODES[@]}"; do
  r=$(engine_runs "$n")
  say "node $n ($HOST_PREFIX$n): warmrun_runs_total = $r"
  [ "${r%.*}" -ge 1 ] || { say "FAIL: node $n ran nothing"; ok=0; }
done
if grep -q '"?"' <<<"$runs_json"; then
  say "no X-Warmrun-Node header (engine without node ids): spread checked by the counters only"
else
  for n in "${NODES[@]}"; do
    grep -q "\"$HOST_PREFIX$n\"" <<<"$runs_json" || { say "FAIL: X-Warmrun-Node never $HOST_PREFIX$n"; ok=0; }
  done
fi
[ $ok = 1 ] || exit 1

phase "prometheus targets"
# deploy/swarm/swarm-targets.sh from inside an engine task: one file_sd target per engine.
cid=$(dk 1 ps -q --filter "label=com.docker.swarm.service.name=${STACK}_warmrun" | head -1)
targets=$(dk 1 exec "$cid" bash -c 'warmrun-swarm-targets /tmp/targets.json && cat /tmp/targets.json')
echo "$targets"
[ "$(grep -c '"targets"' <<<"$targets")" = "${#NODES[@]}" ] || { say "FAIL: expected ${#NODES[@]} file_sd targets"; exit 1; }

phase "submission and snippet"
out=$(in_ns 1 python3 "$HERE/check.py" state "$LB")
echo "$out"
state_json=$(tail -1 <<<"$out")
if ! grep -q '"?"' <<<"$state_json"; then
  # With node ids the state is shared (PostgreSQL): no reader may answer 404, and the
  # submission must have been read by both nodes.
  python3 - "$state_json" "$HOST_PREFIX" <<'PY'
import json, sys
s, prefix = json.loads(sys.argv[1]), sys.argv[2]
assert s["submission_404"] == 0, f"submission answered 404 {s['submission_404']} time(s)"
readers = set(s["submission_readers"])
assert readers >= {prefix + "1", prefix + "2"}, f"submission read only by {readers}"
print(f"  submission read by both nodes: {sorted(readers)}")
PY
fi
RC=0
