#!/usr/bin/env bash
# Run the benchmark inside .bench-venv (created on first use; it sees the global packages, so the
# team's numpy / scipy / arviz / jax are used as they are and never changed).
#   bash bench/run.sh                 # full run -> bench/RESULTS.md, bench/scaling.{csv,html,png}
#   bash bench/run.sh --quick         # smoke test -> bench/RESULTS_quick.md, bench/scaling_quick.*
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${BENCH_VENV:-$ROOT/.bench-venv}"
REQ="$ROOT/requirements-bench.txt"
STAMP="$VENV/.requirements-bench.sha256"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating $VENV (with --system-site-packages)"
    "$PYTHON" -m venv --system-site-packages "$VENV"
fi
want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
    "$VENV/bin/pip" install --quiet -r "$REQ"
    echo "$want" > "$STAMP"
fi
cd "$ROOT"
exec "$VENV/bin/python" bench/run.py "$@"
