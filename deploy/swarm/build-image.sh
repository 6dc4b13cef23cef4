#!/usr/bin/env bash
# deploy/swarm/build-image.sh — the images of the Swarm stack, built offline (no registry)
# into the Docker engine that DOCKER_HOST names (default: this machine's).
#
#   bash deploy/swarm/build-image.sh            server, haproxy and postgres images
#   bash deploy/swarm/build-image.sh server     only warmrun/server:swarm
#
# warmrun/server:swarm   FROM warmrun/base:<tag> (the debootstrap layer every language
#                        image shares) + one layer: the server binary (Debian 12's glibc,
#                        like the base), the agent, images/languages.toml, the site, the
#                        entry point, swarm-targets.sh (Prometheus file_sd sidecar). Written as a `docker load` archive by
#                        images/lib/layers.py: no `docker build`, no BuildKit.
# warmrun/haproxy:current, warmrun/postgres:current
#                        Debian's haproxy and postgresql-15 on the same base, built by
#                        images/build.sh from the recipes in deploy/swarm/images/
#                        (apt on the host, cached in /var/cache/warmrun).
#
# Inputs (environment):
#   WARMRUN_SERVER_BIN  server binary [$CARGO_TARGET_DIR/{release,debug}/warmrun-server;
#                       `cargo build -p server` when neither exists]
#   WARMRUN_AGENT       agent binary  [/var/cache/warmrun-build/agent/warmrun-agent]
#   WARMRUN_SITE        the frontend build [/var/cache/warmrun-build/site]; when missing
#                       the image serves the API only
#   WARMRUN_SERVER_IMAGE  tag to write [warmrun/server:swarm]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/warmrun-build/target}
AGENT=${WARMRUN_AGENT:-/var/cache/warmrun-build/agent/warmrun-agent}
SITE=${WARMRUN_SITE:-/var/cache/warmrun-build/site}
IMAGE=${WARMRUN_SERVER_IMAGE:-warmrun/server:swarm}
LAYERS="$REPO/images/lib/layers.py"
T0=$(date +%s.%N)
say() { printf '[swarm-image +%5ss] %s\n' "$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" "$*"; }
die() { echo "build-image.sh: error: $*" >&2; exit 1; }

WANT=("$@")
[ ${#WANT[@]} -eq 0 ] && WANT=(server haproxy postgres)

server_bin() {
  if [ -n "${WARMRUN_SERVER_BIN:-}" ]; then echo "$WARMRUN_SERVER_BIN"; return; fi
  local p
  for p in "$CARGO_TARGET_DIR/release/warmrun-server" "$CARGO_TARGET_DIR/debug/warmrun-server"; do
    [ -x "$p" ] && { echo "$p"; return; }
  done
  say "no server binary in $CARGO_TARGET_DIR: cargo build -p server" >&2
  (cd "$REPO" && cargo build -q -p server) >&2
  echo "$CARGO_TARGET_DIR/debug/warmrun-server"
}

build_server() {
  local bin base_tag base_tar stage layer diff tag
  bin=$(server_bin)
  [ -x "$bin" ] || die "server binary $bin missing"
  [ -x "$AGENT" ] || die "agent $AGENT missing: bash scripts/build-agent.sh"
  # The base layer: the cached debootstrap tarball and its diff id (images/build.sh).
  base_tag=$(bash "$REPO/images/build.sh" --list | awk '$1 == "base" { sub(/.*:/, "", $2); print $2 }')
  base_tar=${WARMRUN_CACHE:-/var/cache/warmrun}/base-$base_tag.tar
  if [ ! -s "$base_tar" ] || ! docker image inspect "warmrun/base:$base_tag" >/dev/null 2>&1; then
    say "base layer warmrun/base:$base_tag missing: images/build.sh (base only)"
    bash "$REPO/images/build.sh" bash >/dev/null
  fi
  stage=$(mktemp -d /tmp/warmrun-server-image.XXXXXX)
  trap 'rm -rf "$stage"' RETURN
  mkdir -p "$stage/root/usr/local/bin" "$stage/root/usr/local/lib/warmrun" \
           "$stage/root/etc/warmrun" "$stage/root/usr/share/warmrun" \
           "$stage/root/var/lib/warmrun/data" "$stage/root/var/lib/warmrun/agent"
  # Debug info makes a debug binary ten times its code; the image needs the code.
  strip --strip-debug -o "$stage/root/usr/local/bin/warmrun-server" "$bin"
  install -m 0755 "$AGENT" "$stage/root/usr/local/lib/warmrun/warmrun-agent"
  install -m 0644 "$REPO/images/languages.toml" "$stage/root/etc/warmrun/languages.toml"
  install -m 0755 "$HERE/engine-entrypoint.sh" "$stage/root/usr/local/bin/warmrun-entrypoint"
  install -m 0755 "$HERE/swarm-targets.sh" "$stage/root/usr/local/bin/warmrun-swarm-targets"
  local site_env=()
  if [ -d "$SITE/pkg" ]; then
    cp -a "$SITE" "$stage/root/usr/share/warmrun/site"
    site_env=(--env WARMRUN_SITE=/usr/share/warmrun/site)
  else
    say "no frontend build in $SITE: the image serves the API only"
  fi
  layer="$stage/layer.tar"
  diff=$(python3 "$LAYERS" tar "$stage/root" "$layer")
  tag=$(sha256sum "$layer" | cut -c1-12)
  say "server layer $(du -h "$layer" | cut -f1) from $bin; loading $IMAGE (warmrun/server:$tag)"
  python3 "$LAYERS" image --tag "$IMAGE" --tag "warmrun/server:$tag" \
    --layer "$base_tar:$(cat "$base_tar.sha256")" --layer "$layer:$diff" --skip-layers 1 \
    --env LANG=C.UTF-8 --env WARMRUN_LISTEN=0.0.0.0:8080 \
    --env WARMRUN_CATALOG=/etc/warmrun/languages.toml \
    --env WARMRUN_AGENT=/var/lib/warmrun/agent/warmrun-agent \
    --env WARMRUN_DATA_DIR=/var/lib/warmrun/data "${site_env[@]}" \
    --label org.warmrun.id=server --label org.warmrun.base="$base_tag" \
    --history "debootstrap + images/base/setup.sh" \
    --history "warmrun-server, warmrun-agent, languages.toml, site" \
    --cmd '["/usr/local/bin/warmrun-entrypoint"]' --workdir / | docker load -q
}

for what in "${WANT[@]}"; do
  case "$what" in
    server) build_server ;;
    haproxy|postgres)
      say "$what: images/build.sh with WARMRUN_RECIPES=deploy/swarm/images"
      WARMRUN_RECIPES="$HERE/images" bash "$REPO/images/build.sh" "$what" | tail -2 ;;
    *) die "unknown image '$what' (server, haproxy, postgres)" ;;
  esac
done
say "done"
