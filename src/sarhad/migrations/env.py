"""Alembic environment: runs on the engine the caller passes in ``config.attributes``."""

from __future__ import annotations

from alembic import context

import sarhad.alerts.models
import sarhad.core.auth
import sarhad.core.idempotency
import sarhad.core.journal
import sarhad.core.leases
import sarhad.crossings.models
import sarhad.federation.anchors
import sarhad.federation.models
import sarhad.federation.types.report
import sarhad.incidents.models
import sarhad.intake.models
import sarhad.patrols.models
import sarhad.sharing.models
import sarhad.web.models  # noqa: F401  (registers tables on the metadata)
from sarhad.core.db import Base

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    # SQLite: batch mode copies a table and drops the old one, which foreign keys pointing at
    # its rows forbid; SQLite's own procedure for such changes turns them off around the
    # work (possible only outside a transaction) and checks them afterwards.
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=True,  # SQLite cannot ALTER most things: batch copies the table
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:  # rolls the migration back
                    raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
