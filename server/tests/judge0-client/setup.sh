#!/usr/bin/env bash
# Creates the Python venv with the official Judge0 SDK (requirements.txt, from PyPI) that
# server/tests/judge0.rs drives. Idempotent: reinstalls only when requirements.txt changed
# since the last install (a stamp inside the venv). The venv lives outside the repo:
# WARMRUN_JUDGE0_VENV, default /var/cache/warmrun-build/venv-judge0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${WARMRUN_JUDGE0_VENV:-/var/cache/warmrun-build/venv-judge0}
sum=$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)
stamp=$venv/.warmrun-requirements.sha256
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] && [ -x "$venv/bin/python" ]; then
  echo "judge0 SDK venv up to date with requirements.txt ($venv)"
  exit 0
fi
rm -rf "$venv"
# Debian's python3 has no venv module until python3-venv is installed (a fresh machine).
if ! python3 -m venv "$venv" 2>/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  rm -rf "$venv"
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
echo "$sum" >"$stamp"
echo "judge0 SDK installed in $venv"
