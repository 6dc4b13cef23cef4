#!/bin/sh
# Entry point of the db service (a Swarm config in deploy/swarm/stack.yml): Debian's
# PostgreSQL 15 from the warmrun/postgres image. Creates the cluster on the volume at
# first start (user and database from POSTGRES_USER / POSTGRES_DB, password from the
# file POSTGRES_PASSWORD_FILE or POSTGRES_PASSWORD), then runs postgres in the
# foreground as the postgres user, listening on every address of the container.
set -eu
bin=/usr/lib/postgresql/15/bin
data=${PGDATA:-/var/lib/postgresql/data}
user=${POSTGRES_USER:-warmrun}
db=${POSTGRES_DB:-warmrun}
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then password=$(cat "$POSTGRES_PASSWORD_FILE"); else password=${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE}; fi
mkdir -p "$data" /run/postgresql
chown postgres:postgres "$data" /run/postgresql
chmod 0700 "$data"
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
if [ ! -s "$data/PG_VERSION" ]; then
  pw=$(mktemp); printf '%s\n' "$password" >"$pw"; chown postgres "$pw"
  as_pg "$bin/initdb" -D "$data" -U "$user" --pwfile="$pw" -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pw"
  echo "host all all 0.0.0.0/0 scram-sha-256" >>"$data/pg_hba.conf"
  echo "CREATE DATABASE \"$db\" OWNER \"$user\";" | as_pg "$bin/postgres" --single -D "$data" -j postgres >/dev/null
  echo "postgres-entrypoint: created database $db owned by $user in $data"
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$data" \
  -c listen_addresses='*' -c max_connections=200
