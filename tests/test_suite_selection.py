"""The two-database run leaves out only what SQLite already ran.

The PostgreSQL pass deselects tests that open no database (tests/conftest.py). A test that
SQLite skips because it is about PostgreSQL (the alert outbox under faults, on a private
cluster) must stay in that pass, or it would run nowhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _collected(backend: str, *targets: str) -> list[str]:
    env = {**os.environ, "SARHAD_TEST_DB": backend}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            *targets,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return [line for line in out.stdout.splitlines() if "::" in line]


def test_the_postgresql_pass_keeps_postgresql_only_tests_and_leaves_out_the_rest() -> None:
    # The outbox fault tests open no shared database fixture but are skipped on SQLite;
    # tests/core/test_markings.py opens no database at all and ran on SQLite.
    kept = _collected(
        "postgresql", "tests/alerts/test_outbox_faults.py", "tests/core/test_markings.py"
    )
    assert len([t for t in kept if "test_outbox_faults" in t]) == 4, kept
    assert not [t for t in kept if "test_markings" in t], kept
    assert _collected("sqlite", "tests/core/test_markings.py")
