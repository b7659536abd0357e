#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (Playwright drives it; no test
# tool ever downloads a browser of its own).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "Chromium ready: $(chromium --version 2>/dev/null | head -n 1)"
  exit 0
fi
echo "Chromium is not installed: installing it from Debian's packages…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "Chromium did not install" >&2; exit 1; }
echo "Chromium ready: $(chromium --version 2>/dev/null | head -n 1)"
