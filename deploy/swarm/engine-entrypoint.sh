#!/bin/sh
# Entry point of the warmrun/server image (deploy/swarm/build-image.sh).
#
# 1. The engine starts its sandbox containers through the HOST's Docker (the mounted
#    socket), which resolves bind-mount sources on the host: WARMRUN_AGENT must lie in a
#    host directory mounted at the same path. Copy the agent baked into the image there
#    (a unique temporary name and a rename: engines of several nodes may share the
#    directory, and running sandboxes keep the inode they mounted).
# 2. Wait (bounded) for the database named by DATABASE_URL, so that a stack whose
#    PostgreSQL starts later does not crash-loop the engines.
set -eu
dir=$(dirname "$WARMRUN_AGENT")
if ! grep -q " $dir " /proc/self/mountinfo; then
  echo "warmrun: $dir is not a mount: mount the same host directory at $dir" >&2
  exit 1
fi
if ! cmp -s /usr/local/lib/warmrun/warmrun-agent "$WARMRUN_AGENT"; then
  tmp="$WARMRUN_AGENT.$(cat /proc/sys/kernel/hostname).$$"
  cp /usr/local/lib/warmrun/warmrun-agent "$tmp"
  chmod 0755 "$tmp"
  mv -f "$tmp" "$WARMRUN_AGENT"
fi
case "${DATABASE_URL:-}" in
  postgres://*|postgresql://*)
    hostport=${DATABASE_URL#*://}; hostport=${hostport#*@}; hostport=${hostport%%/*}
    host=${hostport%:*}; port=${hostport##*:}; [ "$port" = "$hostport" ] && port=5432
    i=0
    until bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; do
      i=$((i + 1))
      if [ $i -ge 120 ]; then echo "warmrun: $host:$port unreachable for 120 s" >&2; exit 1; fi
      sleep 1
    done ;;
esac
exec /usr/local/bin/warmrun-server "$@"
