#!/usr/bin/env bash
# Install what hiermod needs on a fresh Debian 12 / Python 3.11 machine (idempotent, quiet when done).
#   scripts/setup.sh app    runtime requirements only
#   scripts/setup.sh test   runtime + test requirements + Debian's chromium for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-app}"
PY="${PYTHON:-python3}"

stamp_dir=".setup-stamps"
mkdir -p "$stamp_dir"
req="requirements.txt"
[ "$what" = "test" ] && req="requirements-test.txt"
stamp="$stamp_dir/$(cat requirements.txt "$req" | sha256sum | cut -c1-16)-$what"
if [ ! -f "$stamp" ]; then
  echo "[setup] pip install -r $req"
  "$PY" -m pip install --quiet --disable-pip-version-check -r "$req"
  touch "$stamp"
fi

if [ "$what" = "test" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "[setup] installing Debian's chromium for the browser tests"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
