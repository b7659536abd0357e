#!/usr/bin/env bash
# Build the web console's front end: install the vendor libraries and fonts pinned in
# web/frontend/package-lock.json (from the npm registry, or the mirror npm is configured with)
# and copy the files the node serves into src/sarhad/web/static/vendor/. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/../web/frontend"
need="install Node.js 18+ and npm; Debian: apt-get install nodejs npm"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "build-frontend: node and npm are needed to build the web console: $need" >&2
  exit 1
fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 18 ? 1 : 0)'; then
  echo "build-frontend: Node.js $(node --version) is too old: $need" >&2
  exit 1
fi
# npm ci writes node_modules/.package-lock.json; when it matches the lock byte for byte the
# installed tree is the locked one and we need neither the network nor a reinstall.
if [ -f node_modules/.package-lock.json ] &&
  node -e '
    const fs = require("fs");
    const want = JSON.parse(fs.readFileSync("package-lock.json")).packages;
    const have = JSON.parse(fs.readFileSync("node_modules/.package-lock.json")).packages;
    const strip = (p) => Object.fromEntries(Object.entries(p).filter(([k]) => k !== ""));
    process.exit(JSON.stringify(strip(want)) === JSON.stringify(have) ? 0 : 1);
  '; then
  echo "build-frontend: web/frontend/node_modules matches the lock"
else
  echo "build-frontend: npm ci (web/frontend)"
  npm ci --no-audit --no-fund --loglevel=error
fi
node copy-vendor.mjs
# The public crossing page's fonts, cut to the glyphs it shows (sarhad.web.public_fonts): the
# package must be installed (scripts/setup.sh installs it before calling this script).
PY="../../.venv/bin/python"
if [ -x "$PY" ] && "$PY" -c "import sarhad, fontTools, brotli" 2>/dev/null; then
  "$PY" -m sarhad.web.public_fonts
else
  echo "build-frontend: public page fonts not cut (no .venv with sarhad yet: run scripts/setup.sh)" >&2
fi
