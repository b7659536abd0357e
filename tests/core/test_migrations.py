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


def test_0010_keeps_the_incidents_a_node_holds(db_url: str) -> None:
    """Making sector_id and km optional copies the incidents table on SQLite: rows survive."""
    from datetime import UTC, datetime

    from sqlalchemy import MetaData, Table, func, insert, select

    db = Database(db_url)
    try:
        from alembic import command

        from sarhad.migrations import alembic_config

        command.downgrade(alembic_config(db.engine), "0009")  # the template is at head
        meta = MetaData()
        incidents = Table("incidents", meta, autoload_with=db.engine)
        versions = Table("incident_versions", meta, autoload_with=db.engine)
        change_log = Table("change_log", meta, autoload_with=db.engine)
        now = datetime(2026, 11, 20, tzinfo=UTC)

        def filled(table: Table, **given: object) -> dict[str, object]:
            values: dict[str, object] = {}
            for c in table.columns:
                if c.name in given or c.nullable or c.autoincrement is True:
                    continue
                kind = c.type.python_type
                values[c.name] = {str: "x", int: 1, float: 1.0, bool: False, datetime: now}.get(
                    kind, []
                )
            return values | given

        with db.engine.begin() as conn:
            conn.execute(insert(change_log).values(filled(change_log, seq=1)))
            conn.execute(insert(incidents).values(filled(incidents, id="i1", sector_id="PKIR-001")))
            conn.execute(
                insert(versions).values(
                    filled(
                        versions, incident_id="i1", version=1, change_seq=1, snapshot={}, changed=[]
                    )
                )
            )
        upgrade(db.engine)
        with db.engine.connect() as conn:
            migrated = Table("incidents", MetaData(), autoload_with=db.engine)
            row = conn.execute(select(migrated)).one()
            assert (row.id, row.sector_id, row.far_from_line) == ("i1", "PKIR-001", False)
            assert conn.scalar(select(func.count()).select_from(versions)) == 1
            assert migrated.c.sector_id.nullable and migrated.c.km.nullable
    finally:
        db.dispose()
