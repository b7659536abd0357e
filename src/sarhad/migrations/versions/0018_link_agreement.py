"""Links: one confirmed twin per record and partner, versions of decisions, partner's decision.

``remote_node_id`` names the partner node of the linked record, so that "at most one
confirmed twin per record per partner" is a partial unique index on (local_id,
remote_node_id) and another on remote_id, both WHERE status = 'confirmed' (SQLite and
PostgreSQL both have partial indexes). A database holding two confirmed links for one record
keeps the higher-scored one confirmed and returns the others to "suggested" first (and says so
in the audit log when an officer next decides them). ``version`` counts decisions (each one a
change-log row, shared with the partner); ``partner_status`` and ``partner_decided_at`` hold
the partner's decision on the same pair, ``agreement`` whether we accepted or contested it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 14:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_CONFIRMED = sa.text("status = 'confirmed'")


def upgrade() -> None:
    with op.batch_alter_table("incident_links") as batch:
        batch.add_column(sa.Column("remote_node_id", sa.String(36), nullable=True))
        batch.add_column(
            sa.Column("manual", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("partner_status", sa.String(12), nullable=True))
        batch.add_column(sa.Column("partner_decided_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("agreement", sa.String(12), nullable=True))
    op.execute(
        "UPDATE incident_links SET remote_node_id = "
        "(SELECT origin_node_id FROM incidents WHERE incidents.id = incident_links.remote_id)"
    )
    # Two confirmed twins of one record: keep the best, the rest become suggestions again.
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, local_id, remote_id, remote_node_id FROM incident_links "
            "WHERE status = 'confirmed' ORDER BY score DESC, id"
        )
    ).all()
    seen: set[tuple[str, str | None]] = set()
    for link_id, local_id, remote_id, node_id in rows:
        keys = {("l", local_id + "/" + (node_id or "")), ("r", remote_id)}
        if keys & seen:
            conn.execute(
                sa.text("UPDATE incident_links SET status = 'suggested' WHERE id = :id"),
                {"id": link_id},
            )
        seen |= keys
    op.create_index(
        "ux_incident_links_confirmed_local",
        "incident_links",
        ["local_id", "remote_node_id"],
        unique=True,
        sqlite_where=_CONFIRMED,
        postgresql_where=_CONFIRMED,
    )
    op.create_index(
        "ux_incident_links_confirmed_remote",
        "incident_links",
        ["remote_id"],
        unique=True,
        sqlite_where=_CONFIRMED,
        postgresql_where=_CONFIRMED,
    )


def downgrade() -> None:
    op.drop_index("ux_incident_links_confirmed_remote", table_name="incident_links")
    op.drop_index("ux_incident_links_confirmed_local", table_name="incident_links")
    with op.batch_alter_table("incident_links") as batch:
        for column in (
            "agreement",
            "partner_decided_at",
            "partner_status",
            "version",
            "manual",
            "remote_node_id",
        ):
            batch.drop_column(column)
