"""Database access: one engine per node; SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Engine,
    Integer,
    MetaData,
    String,
    create_engine,
    event,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from sarhad.core.config import Settings
from sarhad.core.errors import ConfigError
from sarhad.core.i18n import message
from sarhad.core.sealing import NodeKey

# Stable constraint names so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: A 64-bit key that SQLite still treats as its rowid alias (it only does so for INTEGER).
BigKey = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    """Declarative base shared by every room's tables."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Sarhad stores UTC-aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, UTC-aware, to the microsecond."""
    return datetime.now(UTC)


class WriteLock(Base):
    """One row that every write transaction updates first.

    Why: it serialises writers on both backends, so change-log sequence numbers are committed
    in the order they are assigned (a reader never sees seq 7 before seq 6 commits), the audit
    chain has one head, and SQLite never has to upgrade a read transaction to a write one.
    """

    __tablename__ = "write_lock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter: Mapped[int] = mapped_column(BigInteger, default=0)


def lock_writes(session: Session) -> None:
    """Take the node's write lock for the rest of this transaction. Call before any read."""
    session.execute(
        update(WriteLock).where(WriteLock.id == 1).values(counter=WriteLock.counter + 1)
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with the settings Sarhad relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


class Database:
    """An engine and its session factory, and the node key that seals secrets stored in it.

    Each session carries the key in ``session.info["node_key"]`` (``sealing.node_key``), so
    service functions seal and open partner tokens without a parameter for it. A database
    opened without a key (tests of the schema) refuses to seal or open anything.
    """

    def __init__(self, url: str, *, key: NodeKey | None = None) -> None:
        self.url = url
        self.key = key
        self.engine = make_engine(url)
        self.sessions = sessionmaker(
            self.engine, expire_on_commit=False, info={"node_key": key} if key else None
        )

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def open_database(settings: Settings) -> Database:
    """The node's database as its settings name it, with its node key (loaded on first use)."""
    return Database(settings.effective_database_url, key=NodeKey(settings.node_key_path))


class NodeMeta(Base):
    """Small key/value facts about this node (its id, when it was initialised)."""

    __tablename__ = "node_meta"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


def get_node_id(session: Session) -> str:
    """This node's permanent id (a UUID written by ``sarhad init``)."""
    row = session.get(NodeMeta, "node_id")
    if row is None:
        raise ConfigError(
            message("node.no_id", "this node has no id yet"),
            hint=message("node.run_init", "run 'sarhad init'"),
        )
    return row.value
