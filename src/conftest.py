"""pytest over ``src/``: the doctests that Sarhad's modules carry run with the test suite.

``testpaths`` in pyproject.toml names ``src/sarhad``; this hook collects the examples of each
module that has any (``>>>`` in its text), so a default ``pytest`` runs them beside ``tests/``.
Not ``--doctest-modules`` in ``addopts``: that would also import every helper under ``tests/``
a second time under another name (``support`` and ``tests.support``), registering the
schemathesis hooks twice. ``pytest --doctest-modules src/sarhad`` still works, through
pytest's own collector. The file lives beside the package, so no wheel carries it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# DoctestModule is what ``--doctest-modules`` creates; pytest exports no public name for it.
from _pytest.doctest import DoctestModule

#: Alembic's env.py reads ``alembic.context`` at import, which exists only under alembic; the
#: revisions beside it are alembic's to load. Neither carries doctests.
collect_ignore = ["sarhad/migrations"]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> DoctestModule | None:
    """A doctest collector for a module under ``src/`` that carries examples."""
    if parent.config.option.doctestmodules:
        return None  # pytest's own plugin collects every module already
    if file_path.suffix != ".py" or file_path.name in {"conftest.py", "__main__.py"}:
        return None
    if b">>>" not in file_path.read_bytes():
        return None
    return DoctestModule.from_parent(parent, path=file_path)
