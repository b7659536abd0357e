"""The code and params of a partner's last sync error, beside its English wording.

``sync_cursors.last_error`` held the error in English only, so every reader met it in English.
``last_error_code`` and ``last_error_params`` keep the coded message (``core.i18n.Text``), which
the console, the CLI and the API word in the reader's language; ``last_error`` stays, the
English wording, and is what rows written before this revision show.

Revision ID: 0020_sync_error_code
Revises: 0019
Create Date: 2026-12-05 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_sync_error_code"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_cursors") as batch:
        batch.add_column(sa.Column("last_error_code", sa.String(80), nullable=True))
        batch.add_column(sa.Column("last_error_params", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_cursors") as batch:
        batch.drop_column("last_error_params")
        batch.drop_column("last_error_code")
