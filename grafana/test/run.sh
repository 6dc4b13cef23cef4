#!/usr/bin/env bash
# grafana/test/run.sh: checks every dashboard panel and alert rule against a real
# Prometheus scraping a real warmrun engine (grafana/test/check_dashboards.py).
#
# Installs what is missing (Debian's prometheus, the Docker engine, the python/bash/c
# images, the agent), builds the server (debug, the build `cargo test` shares; set
# WARMRUN_SERVER_BIN to use another binary, e.g. a release build), then runs the check.
# Closes with `N passed, M failed`; exits non-zero on a failure. About a minute.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/warmrun-build/target}
say() { echo "[grafana-test] $*"; }
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  say "apt-get install -y prometheus"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
fi
bash scripts/setup-docker.sh >/dev/null
bash images/build.sh python bash c >/dev/null
bash scripts/build-agent.sh >/dev/null
if [ -z "${WARMRUN_SERVER_BIN:-}" ]; then
  say "cargo build -p server"
  cargo build -q -p server
  export WARMRUN_SERVER_BIN=$CARGO_TARGET_DIR/debug/warmrun-server
fi
say "server $WARMRUN_SERVER_BIN, $(prometheus --version 2>&1 | head -1)"
exec python3 grafana/test/check_dashboards.py "$@"
