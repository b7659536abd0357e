#!/usr/bin/env bash
# Set up and run the whole test suite: lint, format, import layers, types, then every test and
# the modules' doctests on SQLite and on PostgreSQL (started or installed by
# scripts/ensure-postgres.sh when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
bash scripts/ensure-postgres.sh
bash scripts/ensure-chromium.sh
bash scripts/ensure-report-tools.sh
echo "== ruff"; .venv/bin/ruff check .
# Every file ruff formats: src, tests, bench, scripts and the Python blocks in docs/*.md.
echo "== ruff format"; .venv/bin/ruff format --check
echo "== import layers"; .venv/bin/lint-imports
# Strict over core, sharing and federation ([tool.mypy] files in pyproject.toml).
echo "== mypy"; .venv/bin/mypy
export SARHAD_TEST_PG_URL=${SARHAD_TEST_PG_URL:-postgresql://postgres:postgres@127.0.0.1:5432/test}
# Two worker processes (pytest-xdist): most tests wait on a node, a server or a browser, so
# two share the 2 cores well; SARHAD_TEST_WORKERS=0 runs in one process. A test that opens no
# database runs once, on SQLite (tests/conftest.py leaves it out of the PostgreSQL run).
workers=(-n "${SARHAD_TEST_WORKERS:-2}" --dist worksteal --durations=25)
echo "== tests on SQLite"; SARHAD_TEST_DB=sqlite .venv/bin/python -m pytest "${workers[@]}" "$@"
echo "== tests on PostgreSQL"; SARHAD_TEST_DB=postgresql .venv/bin/python -m pytest "${workers[@]}" "$@"
