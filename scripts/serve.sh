#!/usr/bin/env bash
# Runs the service with everything it needs: prepares the machine, then starts the server
# (http://127.0.0.1:8080 unless WARMRUN_LISTEN says otherwise). Extra arguments go to
# warmrun-server (e.g. --config warmrun.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/warmrun-build/target}
bash scripts/prepare.sh
echo "=== starting warmrun-server"
exec cargo run -q --release -p server --bin warmrun-server -- "$@"
