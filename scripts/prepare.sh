#!/usr/bin/env bash
# Everything the service and its tests need on a fresh Debian 12 machine, run as root:
# a Docker engine, the language images, the agent, and (unless WARMRUN_NO_WEB=1) the
# frontend. Each step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/warmrun-build/target}
step() { echo; echo "=== $* ($(date +%T))"; }
step "docker engine"
bash scripts/setup-docker.sh ${WARMRUN_RUNSC:+--runsc}
step "language images"
bash images/build.sh
step "agent"
bash scripts/build-agent.sh
if [ "${WARMRUN_NO_WEB:-0}" != 1 ] && [ -f scripts/build-frontend.sh ]; then
  step "frontend"
  bash scripts/build-frontend.sh
fi
