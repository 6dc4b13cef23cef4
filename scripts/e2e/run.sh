#!/usr/bin/env bash
# scripts/e2e/run.sh — the playground's browser end-to-end tests, in one command:
# playground.test.mjs (editor, terminal, runs, /embed), snippets.test.mjs (Share,
# /s/{id}, footer statistics), format.test.mjs (Format button, Shift+Alt+F),
# artifacts.test.mjs (plots and files under the output), settings.test.mjs (theme,
# keybindings, font size, tty), widget.test.mjs (the one-tag widget, embed.js, on a
# page of another origin) and queue.test.mjs (the queue position, against a second
# server with one Python container, started here on
# ${WARMRUN_E2E_QUEUE_LISTEN:-127.0.0.1:18081} unless WARMRUN_QUEUE_URL is given) and
# embed-app.test.mjs (examples/embed-app, another Leptos app on a second origin; built
# here by scripts/build-embed-example.sh into ${WARMRUN_EMBED_EXAMPLE}).
# `bash scripts/e2e/run.sh FILE...` runs only those test files.
#
#   bash scripts/e2e/run.sh                      starts its own server (debug build) on
#                                                ${WARMRUN_E2E_LISTEN:-127.0.0.1:18080}
#   WARMRUN_URL=http://127.0.0.1:8080 bash scripts/e2e/run.sh    uses a running server
#
# Needs the frontend built (scripts/build-frontend.sh; run here when missing), Docker
# with the language images (scripts/prepare.sh), Debian's chromium (installed here
# when missing) and puppeteer-core from scripts/e2e/package-lock.json (npm ci; it never
# downloads a browser). Screenshots: ${WARMRUN_ARTIFACTS:-/tmp/warmrun-artifacts}.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/warmrun-build/target}
export WARMRUN_SITE=${WARMRUN_SITE:-/var/cache/warmrun-build/site}
export WARMRUN_ARTIFACTS=${WARMRUN_ARTIFACTS:-/tmp/warmrun-artifacts}
say() { echo "[e2e] $*"; }

if [ ! -x /usr/bin/chromium ]; then
  say "apt-get install chromium"
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi

E2E=$ROOT/scripts/e2e
lock_sum=$(sha256sum "$E2E/package-lock.json" | cut -d' ' -f1)
stamp=$E2E/node_modules/.warmrun-lock.sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  say "npm ci (scripts/e2e)"
  (cd "$E2E" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" >"$stamp"
fi

if [ ! -f "$WARMRUN_SITE/pkg/frontend_bg.wasm" ]; then
  say "no frontend in $WARMRUN_SITE: building it"
  bash scripts/build-frontend.sh
fi

server_pid=
queue_pid=
DATA_DIR=
QUEUE_DIR=
stop_one() {
  local pid=$1
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    say "stopping the server (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
}
stop_server() {
  stop_one "$server_pid"
  stop_one "$queue_pid"
  if [ -n "$DATA_DIR" ]; then rm -rf "$DATA_DIR"; fi
  if [ -n "$QUEUE_DIR" ]; then rm -rf "$QUEUE_DIR"; fi
}
trap stop_server EXIT

# Waits until the server at $1 (pid $2, log $3) answers /readyz.
wait_ready() {
  for i in $(seq 1 240); do
    if curl -sf "$1/readyz" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then
      echo "e2e: the server exited; its log:" >&2; tail -50 "$3" >&2; exit 1
    fi
    [ "$i" = 240 ] && { echo "e2e: the server was not ready after 120 s" >&2; tail -50 "$3" >&2; exit 1; }
    sleep 0.5
  done
}

if [ $# -gt 0 ]; then TESTS=("$@"); else
  TESTS=("$E2E/playground.test.mjs" "$E2E/snippets.test.mjs" "$E2E/format.test.mjs"
    "$E2E/artifacts.test.mjs" "$E2E/settings.test.mjs" "$E2E/widget.test.mjs"
    "$E2E/queue.test.mjs" "$E2E/embed-app.test.mjs")
fi
for t in "${TESTS[@]}"; do
  case "$t" in
    *embed-app.test.mjs)
      # Every time: cargo rebuilds only what changed (a few seconds when nothing did).
      export WARMRUN_EMBED_EXAMPLE=${WARMRUN_EMBED_EXAMPLE:-/var/cache/warmrun-build/embed-example}
      say "building examples/embed-app into $WARMRUN_EMBED_EXAMPLE"
      bash scripts/build-embed-example.sh
      ;;
  esac
done
needs_queue=0
for t in "${TESTS[@]}"; do case "$t" in *queue.test.mjs) needs_queue=1 ;; esac; done

own_server=0
if [ -z "${WARMRUN_URL:-}" ]; then
  own_server=1
  LISTEN=${WARMRUN_E2E_LISTEN:-127.0.0.1:18080}
  export WARMRUN_URL="http://$LISTEN"
fi
if [ "$own_server" = 1 ] || { [ "$needs_queue" = 1 ] && [ -z "${WARMRUN_QUEUE_URL:-}" ]; }; then
  say "building the server"
  cargo build -q -p server --bin warmrun-server
fi
if [ "$own_server" = 1 ]; then
  LOG=$WARMRUN_ARTIFACTS/e2e-server.log
  mkdir -p "$WARMRUN_ARTIFACTS"
  # Snippets and statistics in a throw-away SQLite database.
  DATA_DIR=$(mktemp -d /tmp/warmrun-e2e-data.XXXXXX)
  say "starting the server on $LISTEN (log: $LOG, data: $DATA_DIR)"
  # Its own container instance, so that it never removes a dev server's containers.
  WARMRUN_LISTEN=$LISTEN WARMRUN_DATA_DIR=$DATA_DIR DATABASE_URL= \
    WARMRUN_INSTANCE=${WARMRUN_INSTANCE:-e2e} \
    "$CARGO_TARGET_DIR/debug/warmrun-server" >"$LOG" 2>&1 &
  server_pid=$!
  wait_ready "$WARMRUN_URL" "$server_pid" "$LOG"
fi

if [ "$needs_queue" = 1 ] && [ -z "${WARMRUN_QUEUE_URL:-}" ]; then
  QLISTEN=${WARMRUN_E2E_QUEUE_LISTEN:-127.0.0.1:18081}
  export WARMRUN_QUEUE_URL="http://$QLISTEN"
  QUEUE_DIR=$(mktemp -d /tmp/warmrun-e2e-queue.XXXXXX)
  # The catalog's first language (python) alone, with one container at most.
  awk '/^\[\[language\]\]/ { n++ } n == 1' images/languages.toml \
    | sed -E 's/^max = [0-9]+/max = 1/' >"$QUEUE_DIR/catalog.toml"
  grep -q '^id = "python"$' "$QUEUE_DIR/catalog.toml" && grep -q '^max = 1$' "$QUEUE_DIR/catalog.toml" \
    || { echo "e2e: could not make the one-container python catalog" >&2; exit 1; }
  QLOG=$WARMRUN_ARTIFACTS/e2e-queue-server.log
  mkdir -p "$WARMRUN_ARTIFACTS"
  say "starting the one-container server on $QLISTEN (log: $QLOG)"
  WARMRUN_LISTEN=$QLISTEN WARMRUN_DATA_DIR=$QUEUE_DIR/data DATABASE_URL= \
    WARMRUN_CATALOG=$QUEUE_DIR/catalog.toml WARMRUN_INSTANCE=e2e-queue \
    "$CARGO_TARGET_DIR/debug/warmrun-server" >"$QLOG" 2>&1 &
  queue_pid=$!
  wait_ready "$WARMRUN_QUEUE_URL" "$queue_pid" "$QLOG"
fi

say "testing $WARMRUN_URL (screenshots: $WARMRUN_ARTIFACTS)"
# One file at a time: they share the server and the machine.
node --test --test-concurrency=1 "${TESTS[@]}"
