#!/usr/bin/env bash
# scripts/setup-docker.sh — make sure a Docker engine answers on this machine
# (Debian 12, root). Idempotent: run it as often as you like.
#
#   scripts/setup-docker.sh            engine + debootstrap (needed by images/build.sh)
#   scripts/setup-docker.sh --runsc    also install gVisor (runsc), register it as the
#                                      docker runtime "runsc" (or WARMRUN_RUNSC=1) and
#                                      raise kernel.pid_max to 4194304
#
# - If `docker info` answers, the engine is left alone (it is never stopped).
# - Otherwise: apt-get install docker.io if dockerd is missing, remove a stale
#   /var/run/docker.pid, start `setsid dockerd` (log: /var/log/dockerd.log) and
#   wait up to 300 s (WARMRUN_DOCKER_WAIT_S) for `docker info`, starting dockerd
#   again if it exits while containerd cleans up after an unclean stop.
# - runsc is registered in /etc/docker/daemon.json as
#   {"runtimes": {"runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=none"]}}}
#   (merged into the existing file; other keys are kept). A running dockerd is
#   sent SIGHUP to reload it. gVisor's runsc needs --network=none on this kind of
#   machine, so containers using it must run with `docker run --network none`.
set -euo pipefail

RUNSC=${WARMRUN_RUNSC:-0}
WAIT_S=${WARMRUN_DOCKER_WAIT_S:-300}
for a in "$@"; do
  case "$a" in
    --runsc) RUNSC=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-docker.sh: unknown argument $a (try --help)" >&2; exit 2 ;;
  esac
done

say() { echo "[setup-docker] $*"; }
[ "$(id -u)" = 0 ] || { echo "setup-docker.sh: must run as root" >&2; exit 1; }

APT_UPDATED=0
apt_install() {  # apt_install PKG... (only the missing ones are passed in)
  if [ $APT_UPDATED = 0 ]; then
    say "apt-get update"
    apt-get update -qq
    APT_UPDATED=1
  fi
  say "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

DAEMON_JSON=/etc/docker/daemon.json
register_runsc() {  # prints "changed" when the file was modified
  mkdir -p /etc/docker
  python3 - "$DAEMON_JSON" <<'PY'
import json, os, sys
path = sys.argv[1]
want = {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=none"]}
cfg = {}
if os.path.exists(path) and os.path.getsize(path) > 0:
    with open(path) as f:
        cfg = json.load(f)
runtimes = cfg.setdefault("runtimes", {})
if runtimes.get("runsc") == want:
    sys.exit(0)
runtimes["runsc"] = want
tmp = path + ".tmp"
with open(tmp, "w") as f:
    json.dump(cfg, f, indent=2)
    f.write("\n")
os.replace(tmp, path)
print("changed")
PY
}

# --- host tools --------------------------------------------------------------
missing=()
have_pkg debootstrap || missing+=(debootstrap)
have_pkg debian-archive-keyring || missing+=(debian-archive-keyring)
command -v python3 >/dev/null || missing+=(python3)
command -v dockerd >/dev/null || missing+=(docker.io)
if [ "$RUNSC" = 1 ] && [ ! -x /usr/bin/runsc ]; then missing+=(runsc); fi
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
else
  say "packages present: debootstrap, python3, docker.io$([ "$RUNSC" = 1 ] && echo ', runsc')"
fi

# --- gVisor runtime registration ---------------------------------------------
runsc_changed=""
if [ "$RUNSC" = 1 ]; then
  runsc_changed=$(register_runsc)
  if [ -n "$runsc_changed" ]; then
    say "registered runtime runsc in $DAEMON_JSON"
  else
    say "runtime runsc already registered in $DAEMON_JSON"
  fi
fi

# gVisor's ptrace platform holds many host tasks per sandbox (thousands while a program
# fork-bombs against its process limit; see pool/src/spec.rs): a small kernel.pid_max would
# let a few sandboxes exhaust the host's pids.
if [ "$RUNSC" = 1 ]; then
  pid_max=$(cat /proc/sys/kernel/pid_max)
  if [ "$pid_max" -lt 4194304 ]; then
    if echo 4194304 > /proc/sys/kernel/pid_max 2>/dev/null; then
      say "raised kernel.pid_max from $pid_max to 4194304 for gVisor sandboxes"
    else
      say "warning: kernel.pid_max is $pid_max and could not be raised"
    fi
  fi
fi

# Every sandbox's agent owns a few pipes (the program's stdin/stdout/stderr), all root's:
# past fs.pipe-user-pages-soft (16384 pages by default, ≈ 430 sandboxes) the kernel gives
# root's new pipes one page instead of 16, and a program that floods its output is cut off
# by memory_limit instead of being streamed. A host holding a thousand sandboxes needs more.
pipe_soft=$(cat /proc/sys/fs/pipe-user-pages-soft 2>/dev/null || echo 0)
if [ "$pipe_soft" != 0 ] && [ "$pipe_soft" -lt 262144 ]; then
  if echo 262144 >/proc/sys/fs/pipe-user-pages-soft 2>/dev/null; then
    say "raised fs.pipe-user-pages-soft from $pipe_soft to 262144 (pipes of ~1000 sandboxes)"
  else
    say "warning: fs.pipe-user-pages-soft is $pipe_soft and could not be raised"
  fi
fi

# --- engine ------------------------------------------------------------------
if docker info >/dev/null 2>&1; then
  say "docker engine answers ($(docker info -f '{{.ServerVersion}}' 2>/dev/null)); not touching it"
  if [ -n "$runsc_changed" ]; then
    pid=$(pidof dockerd || true)
    if [ -n "$pid" ]; then
      say "sending SIGHUP to dockerd (pid $pid) to load $DAEMON_JSON"
      kill -HUP $pid
      for _ in $(seq 1 20); do
        docker info -f '{{json .Runtimes}}' 2>/dev/null | grep -q '"runsc"' && break
        sleep 0.5
      done
    else
      say "warning: dockerd pid not found; restart the engine to load $DAEMON_JSON"
    fi
  fi
else
  if [ -f /var/run/docker.pid ]; then
    pid=$(cat /var/run/docker.pid 2>/dev/null || true)
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
      say "dockerd (pid $pid) is running but not answering yet"
    else
      say "removing stale /var/run/docker.pid"
      rm -f /var/run/docker.pid
    fi
  fi
  # Started under `flock` (the tests' Docker lock), dockerd would inherit the lock's
  # descriptor and hold the lock for as long as it runs: close every fd above 2 first.
  start_dockerd() {
    say "starting dockerd (log: /var/log/dockerd.log)"
    (
      for fd in $(ls /proc/$BASHPID/fd); do
        if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
      done
      exec setsid dockerd >>/var/log/dockerd.log 2>&1 </dev/null
    ) &
  }
  if ! pidof dockerd >/dev/null; then
    : >/var/log/dockerd.log
    start_dockerd
  fi
  # After an unclean stop containerd first reaps every dead shim left in /var/run
  # (hundreds after a density run, ~0.1 s each); dockerd gives it a fixed time and
  # exits with "timeout waiting for containerd to start". Each start gets further,
  # so a dockerd that exits is started again until the deadline.
  say "waiting for docker info (up to ${WAIT_S} s)"
  ok=0
  deadline=$((SECONDS + WAIT_S))
  while [ $SECONDS -lt $deadline ]; do
    if docker info >/dev/null 2>&1; then ok=1; break; fi
    if ! pidof dockerd >/dev/null; then
      say "dockerd exited ($(tail -1 /var/log/dockerd.log | cut -c1-120)); starting it again"
      start_dockerd
    fi
    sleep 1
  done
  if [ $ok = 0 ]; then
    echo "setup-docker.sh: docker engine did not answer within ${WAIT_S} s; last log lines:" >&2
    tail -20 /var/log/dockerd.log >&2 || true
    exit 1
  fi
  say "docker engine up ($(docker info -f '{{.ServerVersion}}'))"
fi

if [ "$RUNSC" = 1 ]; then
  if docker info -f '{{json .Runtimes}}' | grep -q '"runsc"'; then
    say "runtime runsc available (use: docker run --runtime runsc --network none ...)"
  else
    echo "setup-docker.sh: runsc is not listed by docker info; check $DAEMON_JSON and /var/log/dockerd.log" >&2
    exit 1
  fi
fi
say "ok"
