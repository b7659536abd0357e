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


def test_0011_makes_each_partners_key_a_known_key_and_back(db_url: str) -> None:
    """The single public key a partner had becomes a row of known_keys with its key id."""
    from datetime import UTC, datetime

    from alembic import command
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from sqlalchemy import MetaData, Table, insert, select

    from sarhad.core.signing import key_id_of, public_pem
    from sarhad.migrations import alembic_config

    key = Ed25519PrivateKey.generate().public_key()
    db = Database(db_url)
    try:
        command.downgrade(alembic_config(db.engine), "0010")  # the template is at head
        meta = MetaData()
        users = Table("users", meta, autoload_with=db.engine)
        partners = Table("partners", meta, autoload_with=db.engine)
        now = datetime(2026, 11, 20, tzinfo=UTC)
        with db.engine.begin() as conn:
            for i, pem in enumerate((public_pem(key), None)):
                conn.execute(
                    insert(users).values(
                        id=f"u{i}",
                        username=f"partner-{i}",
                        role="partner",
                        disabled=False,
                        created_at=now,
                    )
                )
                conn.execute(
                    insert(partners).values(
                        id=f"p{i}",
                        name=f"node-{i}",
                        country="IR",
                        account_id=f"u{i}",
                        node_id="7d3c1a52-5a43-4b8e-9a53-6a2f0c1d9e11" if i == 0 else None,
                        public_key=pem,
                        active=True,
                        created_at=now,
                    )
                )
        upgrade(db.engine)
        with db.engine.connect() as conn:
            known = Table("known_keys", MetaData(), autoload_with=db.engine)
            rows = conn.execute(select(known)).all()
            assert [(r.key_id, r.partner_id, r.source) for r in rows] == [
                (key_id_of(key), "p0", "upgrade")
            ]
            assert rows[0].node_id == "7d3c1a52-5a43-4b8e-9a53-6a2f0c1d9e11"
            assert rows[0].public_key == public_pem(key)
            migrated = Table("partners", MetaData(), autoload_with=db.engine)
            assert "public_key" not in migrated.c
        command.downgrade(alembic_config(db.engine), "0010")
        with db.engine.connect() as conn:
            back = Table("partners", MetaData(), autoload_with=db.engine)
            got = dict(conn.execute(select(back.c.id, back.c.public_key)).all())
            assert got == {"p0": public_pem(key), "p1": None}
        upgrade(db.engine)
    finally:
        db.dispose()


def test_0020_keeps_a_sync_error_written_before_it_in_english(db_url: str) -> None:
    """A cursor's English-only error survives the upgrade, shown as it was (no code); a coded
    one is kept with its code and params; the downgrade keeps the English wording."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import MetaData, Table, insert, select

    from sarhad.core.i18n import Text, translate
    from sarhad.federation.models import SyncCursor
    from sarhad.migrations import alembic_config

    db = Database(db_url)
    try:
        command.downgrade(alembic_config(db.engine), "0019")  # the template is at head
        meta = MetaData()
        users = Table("users", meta, autoload_with=db.engine)
        partners = Table("partners", meta, autoload_with=db.engine)
        cursors = Table("sync_cursors", meta, autoload_with=db.engine)
        assert "last_error_code" not in cursors.c
        now = datetime(2026, 12, 5, tzinfo=UTC)
        with db.engine.begin() as conn:
            conn.execute(
                insert(users).values(
                    id="u0", username="partner-0", role="partner", disabled=False, created_at=now
                )
            )
            conn.execute(
                insert(partners).values(
                    id="p0", name="ir-node", country="IR", account_id="u0", active=True,
                    created_at=now,
                )
            )  # fmt: skip
            conn.execute(
                insert(cursors).values(partner_id="p0", pushed_seq=0, last_error="old words")
            )
        upgrade(db.engine)
        with db.session() as s:
            cur = s.get(SyncCursor, "p0")
            assert cur is not None and cur.error_text is None
            assert cur.error_in("fa") == "old words"
            cur.set_error(Text("partner.no_collection", {"partner": "ir-node"}))
        with db.session() as s:
            cur = s.get(SyncCursor, "p0")
            assert cur is not None and cur.last_error_code == "partner.no_collection"
            assert cur.last_error_params == {"partner": "ir-node"}
            assert cur.last_error == "ir-node offers no collection we may write to"
            assert cur.error_in("fa") == translate(
                "partner.no_collection", {"partner": "ir-node"}, "fa"
            )
        command.downgrade(alembic_config(db.engine), "0019")
        with db.engine.connect() as conn:
            back = Table("sync_cursors", MetaData(), autoload_with=db.engine)
            assert "last_error_code" not in back.c
            assert conn.execute(select(back.c.partner_id)).scalars().all() == ["p0"]
        upgrade(db.engine)
    finally:
        db.dispose()
