#!/usr/bin/env bash
# scripts/build-embed-example.sh — builds examples/embed-app, another Leptos app that
# embeds warmrun's Playground (client-side rendered, app's feature csr; a crate of its
# own, outside warmrun's workspace, as in a user's app), into a directory any static web
# server can serve, on an origin of its own:
#
#   ${WARMRUN_EMBED_EXAMPLE:-/var/cache/warmrun-build/embed-example}/
#     index.html                 examples/embed-app/index.html
#     embed.js, embed_bg.wasm    wasm-bindgen --target web
#     snippets/app-<hash>/       the app crate's js/loader.js
#
# The editor/terminal bundles and style.css are not copied: the page loads them from the
# warmrun server's /pkg/ (window.WARMRUN_ASSETS), across origins. Open it as
# index.html?server=http://HOST:PORT (see examples/embed-app/src/main.rs).
#
# Environment: WARMRUN_EMBED_EXAMPLE (output), CARGO_TARGET_DIR (default
# /var/cache/warmrun-build/target), WARMRUN_EMBED_PROFILE (default dev: the browser test
# needs a working app, not a small one, and a dev build takes a fraction of the time;
# "release" for a smaller one; the example has no wasm-opt step).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${WARMRUN_EMBED_EXAMPLE:-/var/cache/warmrun-build/embed-example}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/warmrun-build/target}
PROFILE=${WARMRUN_EMBED_PROFILE:-dev}
say() { echo "[build-embed-example] $*"; }
t0=$(date +%s)

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$WB_VERSION" ] || { echo "build-embed-example: wasm-bindgen not found in Cargo.lock" >&2; exit 1; }
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WB_VERSION" ]; then
  say "cargo install wasm-bindgen-cli $WB_VERSION (takes a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
fi

# Its own Cargo.lock (the versions of warmrun's, kept by `--locked`), but warmrun's
# target directory: the dependencies both share are built once.
say "cargo build (examples/embed-app) --target wasm32-unknown-unknown --profile $PROFILE"
cargo build --locked --manifest-path examples/embed-app/Cargo.toml --target wasm32-unknown-unknown --profile "$PROFILE"
case "$PROFILE" in dev) DIR=debug ;; *) DIR=$PROFILE ;; esac
WASM=$CARGO_TARGET_DIR/wasm32-unknown-unknown/$DIR/embed-app.wasm

STAGE=$OUT.new
rm -rf "$STAGE"
mkdir -p "$STAGE"
wasm-bindgen --target web --no-typescript --out-name embed --out-dir "$STAGE" "$WASM"
cp "$ROOT/examples/embed-app/index.html" "$STAGE/index.html"
rm -rf "$OUT.old"
[ -d "$OUT" ] && mv "$OUT" "$OUT.old"
mv "$STAGE" "$OUT"
rm -rf "$OUT.old"
say "$OUT ($(( $(stat -c %s "$OUT/embed_bg.wasm") / 1024 )) KiB wasm, $PROFILE, $(( $(date +%s) - t0 )) s)"
