"""Signed receipts: which key signed each record received signed.

``received_objects.signed_key_id`` (nullable): the key id that signed a record admitted with
its originator's signature; NULL for a record taken unsigned (plain STIX peers, nodes of
earlier versions) and for what is no record (parts, identities, markings). Adding a nullable
column needs no batch mode on SQLite.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("received_objects", sa.Column("signed_key_id", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("received_objects") as batch:
        batch.drop_column("signed_key_id")
