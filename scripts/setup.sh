#!/usr/bin/env bash
# Create .venv and install Sarhad into it (with dev tools when given "dev"). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Sarhad needs Python 3.11 or newer ($PY is $("$PY" --version 2>&1))." >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = "dev" ]; then
  .venv/bin/python -m pip install -q -e ".[dev]"
else
  .venv/bin/python -m pip install -q -e .
fi
# Pango, HarfBuzz and poppler-utils for the monthly PDF report (Debian packages).
bash scripts/ensure-report-tools.sh
# The web console's libraries and fonts (npm, from web/frontend/package-lock.json).
bash scripts/build-frontend.sh
