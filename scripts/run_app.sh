#!/usr/bin/env bash
# Start the hiermod dashboard on http://localhost:${PORT:-8501} (installs what it needs first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh app
exec "${PYTHON:-python3}" -m streamlit run app.py --server.port "${PORT:-8501}" "$@"
