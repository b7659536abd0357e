"""Joint monthly reports: each side's figures on the shared records, sent and received.

One row per (partner, direction, month): ``sent`` holds the figures this node last sent the
partner for the month, ``received`` those the partner last sent us. A month sent again
replaces the row (``version`` counts the versions, ``modified`` is the STIX object's), so
nothing is ever doubled; the STIX id is the same for every version of one month's report.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "joint_reports",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("partner_id", sa.String(36), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("stix_id", sa.String(80), nullable=False),
        sa.Column("tlp", sa.String(16), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_joint_reports_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_joint_reports")),
        sa.UniqueConstraint(
            "partner_id",
            "direction",
            "month",
            name=op.f("uq_joint_reports_partner_id_direction_month"),
        ),
        sa.CheckConstraint(
            "direction IN ('sent', 'received')", name=op.f("ck_joint_reports_direction")
        ),
    )


def downgrade() -> None:
    op.drop_table("joint_reports")
