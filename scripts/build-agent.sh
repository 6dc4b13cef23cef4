#!/usr/bin/env bash
# Builds the in-container agent as a static musl binary and puts it where the engine
# bind-mounts it from (EngineConfig.agent_path's default).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/warmrun-build/target}
OUT=${WARMRUN_AGENT:-/var/cache/warmrun-build/agent/warmrun-agent}
if ! rustup target list --installed | grep -qx x86_64-unknown-linux-musl; then
  echo "[build-agent] rustup target add x86_64-unknown-linux-musl"
  rustup target add x86_64-unknown-linux-musl
fi
echo "[build-agent] cargo build -p agent (musl, static)"
cargo build -q -p agent --profile agent --target x86_64-unknown-linux-musl
mkdir -p "$(dirname "$OUT")"
# Copy through a temporary name so running containers never see a half-written file.
cp "$CARGO_TARGET_DIR/x86_64-unknown-linux-musl/agent/warmrun-agent" "$OUT.tmp"
mv -f "$OUT.tmp" "$OUT"
echo "[build-agent] $OUT ($(stat -c %s "$OUT") bytes)"
