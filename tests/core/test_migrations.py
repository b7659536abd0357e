"""One Alembic history builds exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from sarhad.core.db import Base, Database
from sarhad.migrations import current, upgrade


def test_migrated_schema_matches_models(db: Database) -> None:
    assert current(db.engine) is not None
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent(db: Database) -> None:
    before = current(db.engine)
    upgrade(db.engine)
    assert current(db.engine) == before
