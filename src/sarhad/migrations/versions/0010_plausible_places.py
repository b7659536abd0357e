"""Plausible places: incidents.far_from_line; sector_id and km empty for records far away.

A record beyond the node's distance limit from the line is stored only when it is marked
``far_from_line``, and then without a sector or a km marker (at 5,000 km they mean nothing).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 07:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("far_from_line", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.alter_column("sector_id", existing_type=sa.String(length=40), nullable=True)
        batch_op.alter_column("km", existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.alter_column("km", existing_type=sa.Float(), nullable=False)
        batch_op.alter_column("sector_id", existing_type=sa.String(length=40), nullable=False)
        batch_op.drop_column("far_from_line")
