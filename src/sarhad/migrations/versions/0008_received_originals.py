"""Federation: received_objects.original keeps plain STIX objects as the partner sent them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("received_objects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("original", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("received_objects", schema=None) as batch_op:
        batch_op.drop_column("original")
