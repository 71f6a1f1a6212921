#!/usr/bin/env bash
# Run every test, the real-browser tests included (installs what it needs first).
# Extra arguments go to pytest, e.g. scripts/test.sh -k exact
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
mkdir -p test-artifacts
exec "${PYTHON:-python3}" -m pytest "$@"
