"""Partner anchors: the audit-chain hashes partners sent us, with the signed messages as received.

``anchor_messages`` keeps each signed anchor message a partner sent (the evidence);
``partner_anchors`` keeps one row per (partner, seq): the hash that partner's entry ``seq``
had, and the message that said so. See ``sarhad.federation.anchors``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-09 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "anchor_messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_anchor_messages_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anchor_messages")),
    )
    with op.batch_alter_table("anchor_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_anchor_messages_partner_id"), ["partner_id"], unique=False
        )
    op.create_table(
        "partner_anchors",
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_partner_anchors_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["anchor_messages.id"],
            name=op.f("fk_partner_anchors_message_id_anchor_messages"),
        ),
        sa.PrimaryKeyConstraint("partner_id", "seq", name=op.f("pk_partner_anchors")),
    )


def downgrade() -> None:
    op.drop_table("partner_anchors")
    with op.batch_alter_table("anchor_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_anchor_messages_partner_id"))
    op.drop_table("anchor_messages")
