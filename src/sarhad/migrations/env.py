"""Alembic environment: runs on the engine the caller passes in ``config.attributes``."""

from __future__ import annotations

from alembic import context

import sarhad.alerts.models
import sarhad.core.auth
import sarhad.core.idempotency
import sarhad.core.journal
import sarhad.crossings.models
import sarhad.federation.models
import sarhad.incidents.models
import sarhad.patrols.models
import sarhad.sharing.models
import sarhad.web.models  # noqa: F401  (registers tables on the metadata)
from sarhad.core.db import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
