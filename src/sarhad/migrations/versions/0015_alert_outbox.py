"""Alert outbox and escalation deadlines as rows; copies of alerts received counted.

``outbox`` carries each alert and shared step to its partner (written in the transaction of
the alert or step; claimed with an expiry by any process). ``alert_deadlines`` holds each
alert's escalation deadlines, each fired once. Existing alerts get their deadlines: the
levels fired so far (from their escalation steps) and the next one if still open. Every alert
and shared step not yet pushed to its partner gets an outbox row, so nothing waiting is lost
in the upgrade (a copy of something pushed already is dropped and counted by the partner).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 11:30:00.000000
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
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


#: ``federation.types.alert.STEP_NAMESPACE``, copied: a migration must not change with the code.
_STEP_NS = uuid.UUID("0f1e4a55-7c3b-4d0a-8e62-4b9d21c7a3f1")
_SHARED = ("received", "acknowledged", "answered", "withdrawn")


def _backfill() -> None:
    """Deadline rows for existing alerts, and an outbox row for whatever a partner has not
    been pushed yet (the push from the cursor no longer carries alerts). In SQL, so stored
    times are copied as they are on both backends."""
    op.execute(
        "INSERT INTO alert_deadlines (alert_id, level, due_at, fired_at) "
        "SELECT alert_id, level, at, at FROM alert_steps WHERE step = 'escalated'"
    )
    op.execute(
        "INSERT INTO alert_deadlines (alert_id, level, due_at, fired_at) "
        "SELECT id, escalation_level + 1, next_escalation_at, NULL FROM alerts "
        "WHERE next_escalation_at IS NOT NULL AND acknowledged_at IS NULL "
        "AND withdrawn_at IS NULL"
    )
    bind = op.get_bind()
    # What each partner has been pushed already: alert objects up to its push cursor.
    pushed = {
        (pid, sid)
        for pid, sid in bind.execute(
            sa.text(
                "SELECT c.partner_id, o.stix_id FROM taxii_objects o "
                "JOIN taxii_collections c ON c.id = o.collection_id "
                "JOIN sync_cursors k ON k.partner_id = c.partner_id "
                "WHERE c.kind = 'outbound' AND o.seq <= k.pushed_seq "
                "AND o.stix_type IN ('sarhad-alert', 'sarhad-alert-step')"
            )
        )
    }
    waiting: list[tuple[str, str, str, int]] = []  # (alert, partner, step, step seq)
    for alert_id, partner_id, step, seq, direction in bind.execute(
        sa.text(
            "SELECT s.alert_id, a.partner_id, s.step, s.seq, a.direction FROM alert_steps s "
            "JOIN alerts a ON a.id = s.alert_id WHERE s.source = 'local' ORDER BY s.seq"
        )
    ):
        if step == "raised" and direction == "outbound":
            sid = f"sarhad-alert--{alert_id}"
        elif step in _SHARED:
            sid = f"sarhad-alert-step--{uuid.uuid5(_STEP_NS, f'{alert_id}/{step}')}"
        else:
            continue
        if (partner_id, sid) not in pushed:
            waiting.append((alert_id, partner_id, step, seq))
    for alert_id, partner_id, step, seq in waiting:
        bind.execute(
            sa.text(
                "INSERT INTO outbox (partner_id, kind, alert_id, ref, created_at, attempts, "
                "next_attempt_at) SELECT :p, :k, :a, :r, recorded_at, 0, recorded_at "
                "FROM alert_steps WHERE seq = :seq"
            ),
            {
                "p": partner_id,
                "k": "alert" if step == "raised" else "alert_step",
                "a": alert_id,
                "r": step,
                "seq": seq,
            },
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.drop_column("duplicates_received")
    op.drop_index("ix_alert_deadlines_due", table_name="alert_deadlines")
    op.drop_table("alert_deadlines")
    op.drop_index("ix_outbox_partner", table_name="outbox")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
