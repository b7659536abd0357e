#!/usr/bin/env bash
# Make sure the Debian libraries and tools of the monthly PDF report are installed: Pango and
# HarfBuzz (WeasyPrint lays text out and subsets fonts with them) and poppler-utils (the tests
# read the PDF back with pdftotext and pdffonts and draw page images with pdftoppm).
set -euo pipefail
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1 poppler-utils)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "report tools ready: ${packages[*]}"
  exit 0
fi
echo "installing from Debian's packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "run as root (or: sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
echo "report tools ready: ${packages[*]}"
