"""Alert outbox and escalation deadlines as rows; copies of alerts received counted.

``outbox`` carries each alert and shared step to its partner (written in the transaction of
the alert or step; claimed with an expiry by any process). ``alert_deadlines`` holds each
alert's escalation deadlines, each fired once. Existing alerts get their deadlines: the
levels fired so far (from their escalation steps) and the next one if still open. Outbound
alerts not yet delivered get an outbox row, so nothing waiting is lost in the upgrade.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 11:30:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("ref", sa.String(length=14), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("claim_expires_at", _TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("delivered_at", _TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_due", "outbox", ["delivered_at", "next_attempt_at"])
    op.create_index("ix_outbox_partner", "outbox", ["partner_id", "delivered_at"])
    op.create_table(
        "alert_deadlines",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("due_at", _TS, nullable=False),
        sa.Column("fired_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_id", "level"),
    )
    op.create_index("ix_alert_deadlines_due", "alert_deadlines", ["fired_at", "due_at"])
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.add_column(
            sa.Column("duplicates_received", sa.Integer(), nullable=False, server_default="0")
        )
    _backfill()


def _backfill() -> None:
    bind = op.get_bind()
    deadlines = sa.table(
        "alert_deadlines",
        sa.column("alert_id", sa.String),
        sa.column("level", sa.Integer),
        sa.column("due_at", _TS),
        sa.column("fired_at", _TS),
    )
    fired = [
        {"alert_id": a, "level": lvl, "due_at": at, "fired_at": at}
        for a, lvl, at in bind.execute(
            sa.text("SELECT alert_id, level, at FROM alert_steps WHERE step = 'escalated'")
        )
    ]
    pending = [
        {"alert_id": a, "level": (lvl or 0) + 1, "due_at": due, "fired_at": None}
        for a, lvl, due in bind.execute(
            sa.text(
                "SELECT id, escalation_level, next_escalation_at FROM alerts "
                "WHERE next_escalation_at IS NOT NULL AND acknowledged_at IS NULL "
                "AND withdrawn_at IS NULL"
            )
        )
    ]
    if fired or pending:
        op.bulk_insert(deadlines, fired + pending)
    outbox = sa.table(
        "outbox",
        sa.column("partner_id", sa.String),
        sa.column("kind", sa.String),
        sa.column("alert_id", sa.String),
        sa.column("ref", sa.String),
        sa.column("created_at", _TS),
        sa.column("attempts", sa.Integer),
        sa.column("next_attempt_at", _TS),
    )
    now = datetime.now(UTC)
    waiting = [
        {
            "partner_id": pid,
            "kind": "alert",
            "alert_id": a,
            "ref": "raised",
            "created_at": now,
            "attempts": 0,
            "next_attempt_at": now,
        }
        for a, pid in bind.execute(
            sa.text(
                "SELECT id, partner_id FROM alerts WHERE direction = 'outbound' "
                "AND delivered_at IS NULL AND withdrawn_at IS NULL"
            )
        )
    ]
    if waiting:
        op.bulk_insert(outbox, waiting)


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.drop_column("duplicates_received")
    op.drop_index("ix_alert_deadlines_due", table_name="alert_deadlines")
    op.drop_table("alert_deadlines")
    op.drop_index("ix_outbox_partner", table_name="outbox")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
