"""Fixtures: a real database per test (SQLite or PostgreSQL) and real nodes on loopback.

Choose the backend with SARHAD_TEST_DB=sqlite|postgresql (scripts/test.sh runs both).
PostgreSQL tests need a server: SARHAD_TEST_PG_URL (default postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from sarhad.app import create_app
from sarhad.border import BorderProfile, load_profile
from sarhad.core.auth import CONSOLE, Principal, Role, add_user, issue_token
from sarhad.core.config import Settings
from sarhad.core.db import Database
from sarhad.migrations import upgrade
from sarhad.node import init_node
from support import FAST, Desks, LiveNode, introduce, start_server

# Test data lives in the repository (tests/data/ATTRIBUTION.md): a clone runs its own suite.
DATA = Path(__file__).resolve().parent / "data"
UCDP_SAMPLE = DATA / "ucdp_ged231_sample_PAK_IRN.csv"
BACKEND = os.environ.get("SARHAD_TEST_DB", "sqlite")
PG_URL = os.environ.get("SARHAD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def pytest_report_header() -> str:
    once = " (tests that open no database ran on SQLite: deselected)" if BACKEND != "sqlite" else ""
    return f"sarhad database backend: {BACKEND}{once}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "once_on(backend): a browser, multi-process or benchmark-like test that runs on one "
        "database only (the one it is about), to keep the two-database suite short",
    )


# Fixtures that open the database under test; a test that needs none of them runs the same on
# either backend, so the PostgreSQL run leaves it out (it ran on SQLite).
DATABASE_FIXTURES = frozenset({"_template", "empty_db_url"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Why: scripts/test.sh runs the suite twice; what is not about the database runs once.
    kept: list[pytest.Item] = []
    left: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("once_on")
        if marker is not None and marker.args and marker.args[0] != BACKEND:
            item.add_marker(pytest.mark.skip(reason=f"runs once, on {marker.args[0]}"))
        fixtures = set(getattr(item, "fixturenames", ()))
        # A test with a skipif of its own may be one that runs only on PostgreSQL (a private
        # cluster, several processes): it opens no shared fixture, yet SQLite never ran it.
        conditional = any(True for _ in item.iter_markers("skipif"))
        if (
            BACKEND == "postgresql"
            and marker is None
            and not conditional
            and not fixtures & DATABASE_FIXTURES
        ):
            left.append(item)
        else:
            kept.append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


def _pg_admin():
    url = "postgresql+psycopg://" + PG_URL.removeprefix("postgresql://")
    return create_engine(url, isolation_level="AUTOCOMMIT")


def _pg_url(name: str) -> str:
    base, _, _db = PG_URL.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database each test copies (migrating per test would be slow)."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        db = Database(f"sqlite:///{path}")
        upgrade(db.engine)
        db.dispose()
        yield str(path)
        return
    if BACKEND != "postgresql":
        raise pytest.UsageError(f"SARHAD_TEST_DB={BACKEND!r}: use sqlite or postgresql")
    name = f"sarhad_tpl_{os.getpid()}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    db = Database(_pg_url(name))
    upgrade(db.engine)
    db.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def new_db_url(_template: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A factory of fresh, migrated databases (for tests that run several nodes)."""
    made: list[str] = []
    admin = _pg_admin() if BACKEND == "postgresql" else None

    def make() -> str:
        if BACKEND == "sqlite":
            path = tmp_path / f"sarhad-{len(made)}.db"
            shutil.copyfile(_template, path)
            made.append(str(path))
            return f"sqlite:///{path}"
        name = f"sarhad_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        assert admin is not None
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {_template}"))
        made.append(name)
        return _pg_url(name)

    yield make
    if admin is not None:
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture
def db_url(new_db_url: Callable[[], str]) -> str:
    """A fresh, migrated database for one test."""
    return new_db_url()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=db_url, node_name="test-pk", node_side="PK")


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = init_node(settings)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def profile() -> BorderProfile:
    return load_profile()


@pytest.fixture
def duty() -> Principal:
    return Principal("taftan-duty", Role.DUTY_OFFICER)


@pytest.fixture
def commander() -> Principal:
    return Principal("quetta-cmd", Role.COMMANDER)


def _accounts(db: Database) -> dict[Role, str]:
    tokens: dict[Role, str] = {}
    with db.session() as session:
        for role in Role:
            if role is Role.PARTNER:
                continue  # partner accounts are made by `add_partner`
            add_user(session, username=f"{role.value}-1", role=role, actor=CONSOLE.username)
            tokens[role] = issue_token(session, username=f"{role.value}-1", actor=CONSOLE.username)
    return tokens


@pytest.fixture
def live(settings: Settings, db: Database) -> Iterator[LiveNode]:
    """A running node with one account and token per role."""
    tokens = _accounts(db)
    server, thread, url = start_server(create_app(settings, db=db))
    yield LiveNode(url=url, db=db, settings=settings, tokens=tokens)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def spawn(new_db_url: Callable[[], str], tmp_path: Path) -> Iterator[Callable[..., LiveNode]]:
    """Start more real nodes on loopback, each with its own database: spawn("ir-node", "IR")."""
    running: list[LiveNode] = []

    def start(name: str, side: str, *, workers: bool = False, **over: Any) -> LiveNode:
        # Tests sync when they mean to: the lifespan's sync loop runs only where asked for.
        over.setdefault("sync_interval_s", 0)
        settings = Settings(
            data_dir=tmp_path / name,
            database_url=new_db_url(),
            node_name=name,
            node_side=side,
            **over,
        )
        db = init_node(settings)
        tokens = _accounts(db)
        server, thread, url = start_server(create_app(settings, db=db), workers=workers)
        live = LiveNode(url=url, db=db, settings=settings, tokens=tokens)
        live.server, live.thread, live.workers = server, thread, workers
        running.append(live)
        return live

    yield start
    for live in running:
        if live.server is not None:
            live.stop()
        live.db.dispose()


@pytest.fixture
def desks(spawn: Callable[..., LiveNode]) -> Desks:
    """Pakistan's and Iran's nodes, partners of each other, serving with their workers."""
    pk = spawn("pk-node", "PK", workers=True, **FAST)
    ir = spawn("ir-node", "IR", workers=True, **FAST)
    introduce(pk, ir)
    return Desks(pk=pk, ir=ir)
