#!/bin/bash
# swarm-targets.sh — writes a Prometheus file_sd target file for the warmrun engines of a
# Swarm stack, for a Prometheus that uses file-based discovery (grafana/prometheus/
# prometheus.yml) instead of Swarm's own (deploy/swarm/prometheus.yml).
#
#   swarm-targets.sh OUT [SERVICE] [PORT]     once
#   WARMRUN_TARGETS_EVERY=15 swarm-targets.sh OUT …    every 15 s, as a sidecar
#
# Runs in a container attached to the stack's overlay network (the engine image has it
# as /usr/local/bin/warmrun-swarm-targets; bash and getent only): asks Docker's DNS for
# tasks.SERVICE (default warmrun: one address per engine task, dnsrr), reads each
# engine's node id from its /readyz ("node"; the address when an engine does not say),
# and replaces OUT atomically with
#   [{"targets": ["10.0.1.5:8080"], "labels": {"node": "<node id>"}}, …]
set -euo pipefail
out=${1:?usage: swarm-targets.sh OUT [SERVICE] [PORT]}
service=${2:-warmrun}
port=${3:-8080}

node_of() {  # node_of IP: the "node" of the engine's /readyz, else the IP
  local body node
  body=$(timeout 3 bash -c "exec 3<>/dev/tcp/$1/$port && printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3 && cat <&3" 2>/dev/null || true)
  node=$(printf '%s' "$body" | grep -o '"node":"[^"]*"' | head -1 | cut -d'"' -f4)
  echo "${node:-$1}"
}

write_once() {
  local ips ip sep="" tmp="$out.tmp$$"
  ips=$(getent ahostsv4 "tasks.$service" | awk '{ print $1 }' | sort -u)
  {
    echo "["
    for ip in $ips; do
      printf '%s  {"targets": ["%s:%s"], "labels": {"node": "%s"}}' "$sep" "$ip" "$port" "$(node_of "$ip")"
      sep=$',\n'
    done
    printf '\n]\n'
  } >"$tmp"
  mv -f "$tmp" "$out"
}

write_once
while [ -n "${WARMRUN_TARGETS_EVERY:-}" ]; do
  sleep "$WARMRUN_TARGETS_EVERY"
  write_once || true
done
