#!/bin/sh
# Puts the agent where the engine bind-mounts it from, then runs the server.
# WARMRUN_AGENT must lie in a directory mounted from the host at the same path (the
# host's Docker resolves the bind-mount source of every sandbox container on the host).
set -eu
dir=$(dirname "$WARMRUN_AGENT")
if ! grep -q " $dir " /proc/self/mountinfo; then
  echo "warmrun: $dir is not a mount: mount the same host directory at $dir" \
       "(docker-compose.yml does: /var/lib/warmrun/agent:/var/lib/warmrun/agent)" >&2
  exit 1
fi
cp /usr/local/lib/warmrun/warmrun-agent "$WARMRUN_AGENT.tmp"
chmod 0755 "$WARMRUN_AGENT.tmp"
mv -f "$WARMRUN_AGENT.tmp" "$WARMRUN_AGENT"
exec warmrun-server "$@"
