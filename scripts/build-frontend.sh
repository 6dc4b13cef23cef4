#!/usr/bin/env bash
# scripts/build-frontend.sh — builds the playground's browser side into the site
# directory the server serves under /pkg:
#
#   ${WARMRUN_SITE:-/var/cache/warmrun-build/site}/pkg/
#     frontend.js, frontend_bg.wasm, snippets/   hydrate entry (wasm-bindgen --target web)
#     js/editor.js, js/terminal.js, js/chunk-*    CodeMirror 6 / xterm.js bundles (esbuild)
#     style.css                                   styles (app/style/warmrun.css + xterm.css)
#     embed.js, widget.css                        the one-tag widget (app/js/embed.js; the
#                                                 server also serves it at /embed.js)
#
# Steps (each skips what is already done; nothing downloads a prebuilt binary):
#   1. npm ci in app/js (pinned package.json + package-lock.json), unless node_modules
#      already matches the lock file: then no network is needed.
#   2. esbuild bundles (app/js/build.mjs).
#   3. rustup target wasm32-unknown-unknown; wasm-bindgen CLI of the version in
#      Cargo.lock (cargo install, only when `wasm-bindgen --version` differs).
#   4. cargo build -p frontend --target wasm32-unknown-unknown --profile wasm-release
#      (opt-level z, lto, codegen-units 1, panic abort), wasm-bindgen --target web,
#      wasm-opt -Oz from npm's binaryen (not Debian's: it breaks the wasm).
#   5. Swaps the new pkg/ in, prints sizes and fails when over budget: release wasm gzip
#      < 400 KiB, first load (wasm + JS + CSS, gzip) < 630 KiB. (It was 600 until the
#      playground gained Format, plots, the share dialog and settings: +18 KiB of wasm, and
#      +12 KiB of CodeMirror code that the lazily loaded vim/emacs keymaps share with the
#      editor, which esbuild's code splitting puts in the first load's shared chunks.)
#      The widget's first load (embed.js, widget.css, the same wasm and JS) < 630 KiB
#      (618 KiB when it came: the same as the first load, with widget.css for style.css
#      and 1 KiB of embed.js).
#
# Environment: WARMRUN_SITE (output), CARGO_TARGET_DIR (default
# /var/cache/warmrun-build/target), WARMRUN_WASM_PROFILE (default wasm-release; "dev"
# for a quick debug build, which skips wasm-opt and the budget), WARMRUN_WASM_OPT=0
# to skip wasm-opt.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SITE=${WARMRUN_SITE:-/var/cache/warmrun-build/site}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/warmrun-build/target}
PROFILE=${WARMRUN_WASM_PROFILE:-wasm-release}
WASM_BUDGET_KIB=400
FIRST_LOAD_BUDGET_KIB=630
WIDGET_BUDGET_KIB=630

say() { echo "[build-frontend] $*"; }
t0=$(date +%s)

# --- 1. npm packages ---------------------------------------------------------
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  say "installing node and npm (Debian)"
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
JS=$ROOT/app/js
lock_sum=$(sha256sum "$JS/package-lock.json" | cut -d' ' -f1)
stamp=$JS/node_modules/.warmrun-lock.sha256
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_sum" ]; then
  say "npm packages up to date"
else
  say "npm ci (app/js)"
  (cd "$JS" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" >"$stamp"
fi

# --- 2. JS bundles and CSS into a staging pkg/ --------------------------------
mkdir -p "$SITE"
STAGE=$SITE/pkg.new
rm -rf "$STAGE"
mkdir -p "$STAGE"
node "$JS/build.mjs" "$STAGE"

# --- 3. toolchain --------------------------------------------------------------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$WB_VERSION" ] || { echo "build-frontend: wasm-bindgen not found in Cargo.lock" >&2; exit 1; }
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WB_VERSION" ]; then
  say "cargo install wasm-bindgen-cli $WB_VERSION (takes a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
fi

# --- 4. wasm ---------------------------------------------------------------------
say "cargo build -p frontend --target wasm32-unknown-unknown --profile $PROFILE"
cargo build -p frontend --target wasm32-unknown-unknown --profile "$PROFILE"
case "$PROFILE" in dev) OUT_DIR=debug ;; *) OUT_DIR=$PROFILE ;; esac
WASM_IN=$CARGO_TARGET_DIR/wasm32-unknown-unknown/$OUT_DIR/frontend.wasm
wasm-bindgen --target web --no-typescript --out-name frontend --out-dir "$STAGE" "$WASM_IN"
if [ "$PROFILE" != dev ] && [ "${WARMRUN_WASM_OPT:-1}" != 0 ]; then
  say "wasm-opt -Oz (npm binaryen $("$JS/node_modules/.bin/wasm-opt" --version | awk '{print $3}'))"
  "$JS/node_modules/.bin/wasm-opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$STAGE/frontend_bg.wasm" -o "$STAGE/frontend_bg.opt.wasm"
  mv "$STAGE/frontend_bg.opt.wasm" "$STAGE/frontend_bg.wasm"
fi

# --- 5. swap in, sizes -----------------------------------------------------------
rm -rf "$SITE/pkg.old"
[ -d "$SITE/pkg" ] && mv "$SITE/pkg" "$SITE/pkg.old"
mv "$STAGE" "$SITE/pkg"
rm -rf "$SITE/pkg.old"

PKG=$SITE/pkg
gz() { gzip -9 -c "$1" | wc -c; }
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
wasm_raw=$(stat -c %s "$PKG/frontend_bg.wasm")
wasm_gz=$(gz "$PKG/frontend_bg.wasm")
# First load: the hydrate JS and wasm, wasm-bindgen snippets, the editor/terminal
# bundles with their static imports and the default language's grammar, the CSS.
first=(frontend.js frontend_bg.wasm style.css)
while IFS= read -r f; do first+=("$f"); done < <(cd "$PKG" && find snippets -name '*.js' | sort)
while IFS= read -r f; do first+=("$f"); done < <(node -e 'for (const f of require(process.argv[1])) console.log(f)' "$PKG/js/first-load.json")
total=0
for f in "${first[@]}"; do total=$((total + $(gz "$PKG/$f"))); done
# The widget's first load: the same, with embed.js and widget.css for style.css.
widget=0
for f in "${first[@]}"; do [ "$f" = style.css ] || widget=$((widget + $(gz "$PKG/$f"))); done
widget=$((widget + $(gz "$PKG/embed.js") + $(gz "$PKG/widget.css")))
all_js=0
for f in "$PKG"/js/*.js; do all_js=$((all_js + $(gz "$f"))); done

echo "[build-frontend] site: $PKG ($(( $(date +%s) - t0 )) s)"
echo "[build-frontend] release wasm: $(kib "$wasm_raw") raw, $(kib "$wasm_gz") gzip (budget ${WASM_BUDGET_KIB} KiB)"
echo "[build-frontend] first load (wasm + JS + CSS, ${#first[@]} files): $(kib "$total") gzip (budget ${FIRST_LOAD_BUDGET_KIB} KiB)"
echo "[build-frontend] widget first load (embed.js + wasm + JS + widget.css): $(kib "$widget") gzip (budget ${WIDGET_BUDGET_KIB} KiB)"
echo "[build-frontend] all editor/terminal JS incl. lazily loaded grammars: $(kib "$all_js") gzip"
if [ "$PROFILE" != dev ]; then
  if [ "$wasm_gz" -ge $((WASM_BUDGET_KIB * 1024)) ]; then
    echo "build-frontend: the wasm is over its budget" >&2; exit 1
  fi
  if [ "$total" -ge $((FIRST_LOAD_BUDGET_KIB * 1024)) ]; then
    echo "build-frontend: the first load is over its budget" >&2; exit 1
  fi
  if [ "$widget" -ge $((WIDGET_BUDGET_KIB * 1024)) ]; then
    echo "build-frontend: the widget's first load is over its budget" >&2; exit 1
  fi
fi
