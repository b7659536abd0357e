"""Shared fixtures: the shipped PK–IR profile and the made-up test profile (loaded once)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sarhad.border import BorderProfile, load_profile

FIXTURES = Path(__file__).parent / "fixtures"
MINI_DIR = FIXTURES / "mini"


@pytest.fixture(scope="session")
def pkir() -> BorderProfile:
    return load_profile()


@pytest.fixture(scope="session")
def mini() -> BorderProfile:
    return load_profile(MINI_DIR)


@pytest.fixture
def mini_copy(tmp_path: Path) -> Path:
    """A writable copy of the test profile, for breaking it on purpose."""
    target = tmp_path / "mini"
    shutil.copytree(MINI_DIR, target)
    return target
