"""Loaded before any test module imports Sarhad (pytest reads the rootdir's conftest first)."""

import os

# pytest-xdist's workers export COLUMNS=80 and LINES=24; the CLI's rich Console, made at import,
# would keep that size for good, whatever width a CLI test then asks for. A shell exports neither.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)
