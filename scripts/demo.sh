#!/usr/bin/env bash
# Set up Sarhad and run the demo: two nodes (Pakistan, Iran) on SQLite with sample incidents.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/sarhad demo "$@"
