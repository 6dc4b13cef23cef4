#!/usr/bin/env bash
# images/build.sh — build warmrun's language images without a container registry.
#
#   images/build.sh              build every language (only what is missing)
#   images/build.sh python go    build only these languages (and the base)
#   images/build.sh --list       print "<id> <image>:<hash>" for every language, build nothing
#   images/build.sh --prune [ID...]  also remove older warmrun/<id>:<hash> tags of these ids
#
# How: `debootstrap --variant=minbase <suite>` makes the base root filesystem
# (cached as a tarball in $WARMRUN_CACHE, default /var/cache/warmrun), loaded as
# warmrun/base:<hash>. The suite is Debian 13 (trixie, current toolchains) unless a
# recipe names another in images/<id>/suite (e.g. `bookworm` for a language's older
# version, or a package trixie dropped); each suite has its own base layer. Each language's Debian packages (images/<id>/packages) are
# installed with apt in a chroot on an overlayfs mounted over the base rootfs; the
# overlay's upper directory becomes a second layer on top of the base layer, so
# every language image shares the base layer. Images are written as `docker load`
# archives (lib/layers.py). The network is only used by debootstrap/apt on the host,
# never inside a container. Tags are content hashes of the inputs; an image whose
# warmrun/<id>:<hash> already exists is skipped. warmrun/<id>:current always points
# at the image of the current recipe (languages.toml refers to :current).
#
# Environment:
#   WARMRUN_CACHE   cache directory (base rootfs tarball, apt caches)  [/var/cache/warmrun]
#   WARMRUN_MIRROR  Debian mirror                                      [http://deb.debian.org/debian]
#   WARMRUN_PREFIX  image name prefix                                  [warmrun]
#   WARMRUN_NO_OVERLAY=1  do not use overlayfs: full per-language images (no layer sharing)
#   WARMRUN_RECIPES  directory of image recipes (<id>/packages …)        [images/]
set -euo pipefail

# Bump when the build recipe (this file, lib/layers.py) changes in a way that
# changes image content: every tag changes. (The other inputs of a tag: the
# suite, images/base/setup.sh, and for a language its packages and setup.sh.)
BUILD_VERSION=1
DEFAULT_SUITE=trixie
VARIANT=minbase

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Where the per-image recipes (<id>/packages, setup.sh, version) live; the base and the
# build machinery always come from images/. deploy/swarm/build-image.sh points this at
# deploy/swarm/images to build HAProxy and PostgreSQL images the same way.
RECIPES=$(cd "${WARMRUN_RECIPES:-$HERE}" && pwd)
CACHE=${WARMRUN_CACHE:-/var/cache/warmrun}
MIRROR=${WARMRUN_MIRROR:-http://deb.debian.org/debian}
PREFIX=${WARMRUN_PREFIX:-warmrun}
LAYERS="$HERE/lib/layers.py"
CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

T0=$(date +%s.%N)
die() { echo "build.sh: error: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '[build +%5ss] %s\n' "$(since "$T0")" "$*"; }

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

LIST_ONLY=0
PRUNE=0
WANT=()
for a in "$@"; do
  case "$a" in
    -h|--help) usage; exit 0 ;;
    --list) LIST_ONLY=1 ;;
    --prune) PRUNE=1 ;;
    -*) die "unknown option $a (see --help)" ;;
    *) WANT+=("$a") ;;
  esac
done

ALL=()
for d in "$RECIPES"/*/; do
  id=$(basename "$d")
  [ -f "$d/packages" ] && ALL+=("$id")
done
[ ${#WANT[@]} -eq 0 ] && WANT=("${ALL[@]}")
for id in "${WANT[@]}"; do
  [ -f "$RECIPES/$id/packages" ] || die "unknown language '$id' (no $RECIPES/$id/packages); known: ${ALL[*]}"
done

# ---------------------------------------------------------------- content tags
hash12() { sha256sum | cut -c1-12; }
npm_of() { [ -f "$RECIPES/$1/npm" ] && sed 's/#.*//' "$RECIPES/$1/npm" | tr -s ' \t' '\n\n' | sed '/^$/d' | sort -u; }
pkgs_of() { sed 's/#.*//' "$RECIPES/$1/packages" | tr -s ' \t' '\n\n' | sed '/^$/d' | sort -u; }
suite_of() {
  local s=""
  [ -f "$RECIPES/$1/suite" ] && s=$(sed 's/#.*//' "$RECIPES/$1/suite" | tr -d ' \t\n')
  echo "${s:-$DEFAULT_SUITE}"
}
base_tag() {
  { echo "warmrun-base build=$BUILD_VERSION suite=$1 variant=$VARIANT"
    sha256sum <"$HERE/base/setup.sh"; } | hash12
}

lang_tag() {
  {
    echo "warmrun-lang build=$BUILD_VERSION base=$(base_tag "$(suite_of "$1")") id=$1"
    pkgs_of "$1"
    [ -f "$RECIPES/$1/setup.sh" ] && sha256sum <"$RECIPES/$1/setup.sh"
    [ -f "$RECIPES/$1/npm" ] && npm_of "$1"
    true
  } | hash12
}

if [ $LIST_ONLY = 1 ]; then
  # `base` is the default suite's base layer (deploy/swarm/build-image.sh builds on it).
  echo "base $PREFIX/base:$(base_tag "$DEFAULT_SUITE")"
  for id in "${WANT[@]}"; do echo "$id $PREFIX/$id:$(lang_tag "$id")"; done
  exit 0
fi

# ---------------------------------------------------------------- host checks
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mount)"
command -v docker >/dev/null || die "docker missing: run scripts/setup-docker.sh first"
docker info >/dev/null 2>&1 || die "docker engine not answering: run scripts/setup-docker.sh first"
need=()
command -v debootstrap >/dev/null || need+=(debootstrap debian-archive-keyring)
command -v python3 >/dev/null || need+=(python3)
# Recipes with an images/<id>/npm file install those packages with the host's npm.
if ls "$RECIPES"/*/npm >/dev/null 2>&1 && ! command -v npm >/dev/null; then need+=(nodejs npm); fi
if [ ${#need[@]} -gt 0 ]; then
  say "installing host tools: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
ARCH=$(dpkg --print-architecture)

img_exists() { docker image inspect "$1" >/dev/null 2>&1; }

mkdir -p "$CACHE" "$CACHE/apt/lists/partial" "$CACHE/apt/archives/partial" "$CACHE/debootstrap"
exec 9>"$CACHE/build.lock"
flock -n 9 || { say "another build.sh holds $CACHE/build.lock; waiting"; flock 9; }

WORK=$(mktemp -d "$CACHE/work.XXXXXX")
unmount_under() {  # unmount everything mounted below $1, deepest first
  local m
  for m in $(awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m"
  done
}
cleanup() {
  local rc=$?
  unmount_under "$WORK"
  if awk -v p="$WORK/" 'index($2, p) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    echo "build.sh: something is still mounted under $WORK; not deleting it" >&2
  else
    rm -rf --one-file-system "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- base
# One base per suite; these hold the current language's suite, set by use_suite.
SUITE=""; BASE_TAG=""; BASE_IMG=""; BASE_TAR=""; BASE_DIFF=""; BASE_ROOT=""
declare -A BASE_READY BASE_ROOT_OF

build_base_tar() {
  local root="$WORK/debootstrap-$SUITE" t
  t=$(now)
  say "base: debootstrap --variant=$VARIANT $SUITE from $MIRROR (one-time, cached as $BASE_TAR)"
  debootstrap --variant="$VARIANT" --cache-dir="$CACHE/debootstrap" "$SUITE" "$root" "$MIRROR" \
    >"$WORK/debootstrap.log" 2>&1 || { tail -30 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
  say "base: debootstrap done in $(since "$t")s"
  install -m 0755 "$HERE/base/setup.sh" "$root/tmp/warmrun-setup.sh"
  chroot "$root" env -i PATH="$CHROOT_PATH" LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
    /bin/sh /tmp/warmrun-setup.sh
  rm -f "$root/tmp/warmrun-setup.sh"
  # Docker provides /dev, /proc and /sys at run time.
  find "$root/dev" "$root/proc" "$root/sys" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system {} +
  say "base: packing root filesystem ($(du -sh "$root" | cut -f1))"
  python3 "$LAYERS" tar "$root" "$BASE_TAR.tmp" >"$BASE_TAR.sha256.tmp"
  mv "$BASE_TAR.sha256.tmp" "$BASE_TAR.sha256"
  mv "$BASE_TAR.tmp" "$BASE_TAR"
  rm -rf --one-file-system "$root"
  say "base: $BASE_TAR ready ($(du -h "$BASE_TAR" | cut -f1)) in $(since "$t")s"
}

use_suite() {  # $1 = suite: set the BASE_* variables, building and loading that base once
  SUITE=$1
  BASE_TAG=$(base_tag "$SUITE")
  BASE_IMG="$PREFIX/base:$BASE_TAG"
  BASE_TAR="$CACHE/base-$BASE_TAG.tar"
  BASE_ROOT=${BASE_ROOT_OF[$SUITE]:-}
  if [ -z "${BASE_READY[$SUITE]:-}" ]; then
    if [ ! -s "$BASE_TAR" ] || [ ! -s "$BASE_TAR.sha256" ]; then
      build_base_tar
    fi
    if img_exists "$BASE_IMG"; then
      say "base: $BASE_IMG ($SUITE) exists, skipping"
    else
      local t; t=$(now)
      say "base: loading $BASE_IMG from $BASE_TAR"
      python3 "$LAYERS" image --arch "$ARCH" --tag "$BASE_IMG" \
        --layer "$BASE_TAR:$(cat "$BASE_TAR.sha256")" --env LANG=C.UTF-8 \
        --label org.warmrun.id=base --label org.warmrun.tag="$BASE_TAG" \
        --history "debootstrap --variant=$VARIANT $SUITE + images/base/setup.sh" | docker load >/dev/null
      say "base: loaded in $(since "$t")s"
    fi
    docker tag "$BASE_IMG" "$PREFIX/base:$SUITE"
    [ "$SUITE" = "$DEFAULT_SUITE" ] && docker tag "$BASE_IMG" "$PREFIX/base:current"
    BASE_READY[$SUITE]=1
  fi
  BASE_DIFF=$(cat "$BASE_TAR.sha256")
}

base_root() {  # extract the current suite's base rootfs once per run (overlay lower dir)
  if [ -z "$BASE_ROOT" ]; then
    BASE_ROOT="$WORK/base-$SUITE"
    mkdir -p "$BASE_ROOT"
    tar --numeric-owner -xpf "$BASE_TAR" -C "$BASE_ROOT"
    BASE_ROOT_OF[$SUITE]=$BASE_ROOT
  fi
}

# ---------------------------------------------------------------- languages
declare -A APT_UPDATED
chroot_mounts() {  # $1 = root
  local r=$1
  # Lists per suite: an `apt-get update` deletes the lists of every other suite.
  mkdir -p "$CACHE/apt/lists-$SUITE/partial"
  mount -t proc proc "$r/proc"
  mount --bind /dev "$r/dev"
  mount --bind /etc/resolv.conf "$r/etc/resolv.conf"
  mount --bind "$CACHE/apt/lists-$SUITE" "$r/var/lib/apt/lists"
  mount --bind "$CACHE/apt/archives" "$r/var/cache/apt/archives"
}
in_chroot() {  # $1 = root, rest = command
  local r=$1; shift
  chroot "$r" env -i PATH="$CHROOT_PATH" HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

build_lang() {
  local id=$1 tag=$2 img="$PREFIX/$1:$2" t dir root upper mode pkgs diff delta
  t=$(now)
  mapfile -t pkgs < <(pkgs_of "$id")
  dir="$WORK/$id"
  mkdir -p "$dir"
  base_root
  mode=overlay
  root="$dir/merged"; upper="$dir/upper"
  mkdir -p "$root" "$upper" "$dir/ovl-work"
  if [ "${WARMRUN_NO_OVERLAY:-0}" = 1 ] || ! mount -t overlay overlay \
       -o "lowerdir=$BASE_ROOT,upperdir=$upper,workdir=$dir/ovl-work,redirect_dir=off,index=off,metacopy=off" \
       "$root" 2>"$dir/mount.err"; then
    [ -s "$dir/mount.err" ] && say "$id: overlayfs unavailable ($(cat "$dir/mount.err")); building a standalone image"
    mode=copy
    cp -a "$BASE_ROOT/." "$root/"
  fi
  chroot_mounts "$root"
  local sources="$WORK/sources-$SUITE.list"
  if [ -z "${APT_UPDATED[$SUITE]:-}" ]; then
    say "apt-get update ($SUITE, lists in $CACHE/apt/lists-$SUITE)"
    echo "deb $MIRROR $SUITE main" >"$sources"
    mount --bind "$sources" "$root/etc/apt/sources.list"
    in_chroot "$root" apt-get update -qq
    umount "$root/etc/apt/sources.list"
    APT_UPDATED[$SUITE]=1
  fi
  if [ ${#pkgs[@]} -gt 0 ]; then
    say "$id: apt-get install ${pkgs[*]} ($SUITE)"
    mount --bind "$sources" "$root/etc/apt/sources.list"
    in_chroot "$root" apt-get install -y -q --no-install-recommends "${pkgs[@]}" \
      >"$dir/apt.log" 2>&1 || { tail -40 "$dir/apt.log" >&2; die "$id: apt-get install failed"; }
    umount "$root/etc/apt/sources.list"
    grep -E '^(Need to get|After this operation)' "$dir/apt.log" | sed "s/^/[$id] /" || true
  fi
  local npms
  mapfile -t npms < <(npm_of "$id" || true)
  if [ ${#npms[@]} -gt 0 ]; then
    # npm runs on the host (the chroot has node but no npm); the packages are pinned in
    # images/<id>/npm and their commands linked into /usr/local/bin.
    command -v npm >/dev/null || die "$id: npm missing on the build host (apt-get install npm)"
    say "$id: npm install ${npms[*]}"
    local npm_dir="$root/usr/local/lib/warmrun-npm"
    mkdir -p "$npm_dir"
    npm install --prefix "$npm_dir" --no-audit --no-fund --no-save --omit=dev "${npms[@]}" \
      >"$dir/npm.log" 2>&1 || { tail -40 "$dir/npm.log" >&2; die "$id: npm install failed"; }
    local bin
    mkdir -p "$root/usr/local/bin"
    for bin in "$npm_dir"/node_modules/.bin/*; do
      [ -e "$bin" ] && ln -sf "/usr/local/lib/warmrun-npm/node_modules/.bin/${bin##*/}" "$root/usr/local/bin/${bin##*/}"
    done
    chmod -R a+rX,go-w "$npm_dir"
  fi
  if [ -f "$RECIPES/$id/setup.sh" ]; then
    say "$id: running images/$id/setup.sh"
    install -m 0755 "$RECIPES/$id/setup.sh" "$root/tmp/warmrun-setup.sh"
    in_chroot "$root" /bin/sh /tmp/warmrun-setup.sh
    rm -f "$root/tmp/warmrun-setup.sh"
  fi
  unmount_under "$root"   # proc, dev, caches (bind mounts never reach the layer)
  [ $mode = overlay ] && umount "$root"
  local layer_root=$upper
  [ $mode = copy ] && layer_root=$root
  # Drop run-time litter. In the upper dir, deleting a file just reverts to the
  # base's version, so this never creates whiteouts.
  ( cd "$layer_root" && rm -rf var/log/apt/* var/log/dpkg.log var/log/alternatives.log \
      var/cache/apt/*.bin var/cache/debconf/*-old var/lib/dpkg/*-old tmp/* var/tmp/* root/.cache \
      var/cache/ldconfig/aux-cache )
  delta="$dir/layer.tar"
  if [ $mode = overlay ]; then
    diff=$(python3 "$LAYERS" delta --lower "$BASE_ROOT" "$upper" "$delta")
    say "$id: delta layer $(du -h "$delta" | cut -f1), loading $img"
    python3 "$LAYERS" image --arch "$ARCH" --tag "$img" \
      --layer "$BASE_TAR:$BASE_DIFF" --layer "$delta:$diff" --skip-layers 1 --env LANG=C.UTF-8 \
      --label org.warmrun.id="$id" --label org.warmrun.tag="$tag" --label org.warmrun.base="$BASE_TAG" \
      --history "debootstrap --variant=$VARIANT $SUITE + images/base/setup.sh" \
      --history "apt-get install --no-install-recommends ${pkgs[*]}" | docker load >/dev/null
  else
    find "$root/dev" "$root/proc" "$root/sys" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system {} +
    diff=$(python3 "$LAYERS" tar "$root" "$delta")
    say "$id: standalone layer $(du -h "$delta" | cut -f1), loading $img"
    python3 "$LAYERS" image --arch "$ARCH" --tag "$img" --layer "$delta:$diff" --env LANG=C.UTF-8 \
      --label org.warmrun.id="$id" --label org.warmrun.tag="$tag" --label org.warmrun.base="$BASE_TAG" \
      --history "debootstrap + apt-get install --no-install-recommends ${pkgs[*]}" | docker load >/dev/null
  fi
  rm -rf --one-file-system "$dir"
  say "$id: built $img in $(since "$t")s"
}

say "inputs: default suite $DEFAULT_SUITE; languages: ${WANT[*]}; cache $CACHE"
use_suite "$DEFAULT_SUITE"
declare -A RESULT
for id in "${WANT[@]}"; do
  use_suite "$(suite_of "$id")"
  tag=$(lang_tag "$id")
  img="$PREFIX/$id:$tag"
  if img_exists "$img"; then
    say "$id: $img exists, skipping"
    RESULT[$id]="exists"
  elif [ -z "$(pkgs_of "$id")" ] && [ ! -f "$RECIPES/$id/setup.sh" ] && [ ! -f "$RECIPES/$id/npm" ]; then
    say "$id: no packages beyond the base; tagging $BASE_IMG as $img"
    docker tag "$BASE_IMG" "$img"
    RESULT[$id]="= base"
  else
    t=$(now)
    build_lang "$id" "$tag"
    RESULT[$id]="built in $(since "$t")s"
  fi
  docker tag "$img" "$PREFIX/$id:current"
done

echo
printf '%-13s %-34s %-8s %-7s %-15s %s\n' ID IMAGE SUITE SIZE STATUS VERSION
for id in "${WANT[@]}"; do
  img="$PREFIX/$id:$(lang_tag "$id")"
  size=$(docker image inspect -f '{{.Size}}' "$img" | awk '{ printf "%.0fMB", $1 / 1e6 }')
  ver="-"
  if [ -f "$RECIPES/$id/version" ]; then
    ver=$(docker run --rm --network none "$img" sh -c "$(cat "$RECIPES/$id/version")" 2>&1 | head -1 || true)
  fi
  printf '%-13s %-34s %-8s %-7s %-15s %s\n' "$id" "$img" "$(suite_of "$id")" "$size" "${RESULT[$id]}" "$ver"
done
if [ $PRUNE = 1 ]; then
  keep_bases=" "
  for id in "${ALL[@]}"; do keep_bases+="$(base_tag "$(suite_of "$id")") "; done
  for id in base "${WANT[@]}"; do
    for ref in $(docker images --format '{{.Repository}}:{{.Tag}}' "$PREFIX/$id"); do
      t=${ref##*:}
      if [ "$id" = base ]; then
        case "$keep_bases" in *" $t "*) continue ;; esac
        case "$t" in current|trixie|bookworm) continue ;; esac
      else
        case "$t" in current|"$(lang_tag "$id")") continue ;; esac
      fi
      if docker rmi "$ref" >/dev/null 2>&1; then say "pruned $ref"; else say "could not remove $ref (in use?)"; fi
    done
  done
  for f in "$CACHE"/base-*.tar; do
    t=${f##*/base-}; t=${t%.tar}
    case "$keep_bases" in *" $t "*) continue ;; esac
    case "$f" in "$CACHE/base-*.tar") continue ;; esac
    rm -f "$f" "$f.sha256" && say "pruned $f"
  done
fi
say "done (:current tags updated)"
