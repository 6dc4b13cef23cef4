#!/usr/bin/env bash
# The project's test command (README): prepares a fresh Debian 12 machine as root, then
# runs every test against real Docker containers (and, with the frontend, a real browser).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/warmrun-build/target}
export CARGO_TERM_COLOR=never
started=$(date +%s)
bash scripts/prepare.sh
cleanup() {
  # No orphan containers: remove those whose owning process is gone (tests keep their
  # engines until the process exits; a running server of someone else is left alone).
  docker ps -aq --filter label=io.warmrun.managed=true 2>/dev/null | while read -r id; do
    pid=$(docker inspect -f '{{ index .Config.Labels "io.warmrun.pid" }}' "$id" 2>/dev/null || true)
    if [ -z "$pid" ] || [ ! -d "/proc/$pid" ]; then docker rm -f "$id" >/dev/null 2>&1 || true; fi
  done
}
trap cleanup EXIT
echo; echo "=== npm packages the tests drive ($(date +%T))"
(cd server/tests/piston-client && npm ci --no-audit --no-fund --loglevel=error)
echo; echo "=== throwaway PostgreSQL for the snippet store tests ($(date +%T))"
# Stopped and removed by its watchdog once this script exits.
WARMRUN_TEST_DATABASE_URL=$(bash scripts/start-postgres.sh --owner $$)
export WARMRUN_TEST_DATABASE_URL
echo "WARMRUN_TEST_DATABASE_URL=$WARMRUN_TEST_DATABASE_URL"
echo; echo "=== cargo test ($(date +%T))"
cargo test --workspace 2>&1
if [ -f scripts/e2e/run.sh ] && [ "${WARMRUN_NO_WEB:-0}" != 1 ]; then
  echo; echo "=== browser end-to-end ($(date +%T))"
  bash scripts/e2e/run.sh
fi
echo "=== all tests passed in $(( $(date +%s) - started )) s"
