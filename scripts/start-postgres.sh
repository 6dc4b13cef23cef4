#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster (Debian's packages, installed when missing) in a
# temporary directory on a free loopback port, creates a database, and prints its URL on
# stdout, the only thing printed there:
#
#   export WARMRUN_TEST_DATABASE_URL=$(bash scripts/start-postgres.sh --owner $$)
#
# --owner PID  stop the cluster and remove its directory once process PID has exited
#              (scripts/test.sh passes its own PID). Without it the cluster keeps running;
#              the command that stops it is printed on stderr.
# Runs as root (the cluster itself runs as the `postgres` user).
set -euo pipefail
owner=""
while [ $# -gt 0 ]; do
  case "$1" in
    --owner) owner="${2:?--owner needs a PID}"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "start-postgres.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
log() { echo "start-postgres: $*" >&2; }

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  log "installing postgresql (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
fi
id postgres >/dev/null 2>&1 || { log "the postgres user is missing"; exit 1; }

as_pg() { runuser -u postgres -- "$@"; }

dir=$(mktemp -d /tmp/warmrun-pg.XXXXXX)
chmod 755 "$dir"
chown postgres: "$dir"
as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }

# A free port: nothing answers on it now. The server still may lose a race for it; then
# another port is tried.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
started=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
  port=$(( 20000 + RANDOM % 30000 ))
  port_free "$port" || continue
  if as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >&2; then
    started=1
    break
  fi
done
[ -n "$started" ] || { log "postgres did not start:"; tail -n 20 "$dir/server.log" >&2; exit 1; }

as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres warmrun_test >&2

stop_cmd="runuser -u postgres -- $bindir/pg_ctl -D $dir/data -m immediate stop; rm -rf $dir"
if [ -n "$owner" ]; then
  # Detached watchdog: every descriptor away from the caller's pipes, so $(...) returns.
  setsid bash -c "while kill -0 $owner 2>/dev/null; do sleep 2; done; $stop_cmd" \
    </dev/null >/dev/null 2>&1 &
  log "cluster in $dir on port $port; stopped when process $owner exits"
else
  log "cluster in $dir on port $port; stop it with: $stop_cmd"
fi
echo "postgres://postgres@127.0.0.1:$port/warmrun_test"
