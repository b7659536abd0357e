#!/usr/bin/env bash
# Set up and run the whole test suite: lint, import layers, then every test on SQLite and on
# PostgreSQL (started or installed by scripts/ensure-postgres.sh when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
bash scripts/ensure-postgres.sh
bash scripts/ensure-chromium.sh
echo "== ruff"; .venv/bin/ruff check .
echo "== import layers"; .venv/bin/lint-imports
export SARHAD_TEST_PG_URL=${SARHAD_TEST_PG_URL:-postgresql://postgres:postgres@127.0.0.1:5432/test}
echo "== tests on SQLite"; SARHAD_TEST_DB=sqlite .venv/bin/python -m pytest "$@"
echo "== tests on PostgreSQL"; SARHAD_TEST_DB=postgresql .venv/bin/python -m pytest "$@"
