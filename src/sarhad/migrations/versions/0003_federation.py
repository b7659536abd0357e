"""federation

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 03:49:15.814300
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "incident_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("local_id", sa.String(length=36), nullable=False),
        sa.Column("remote_id", sa.String(length=36), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["local_id"], ["incidents.id"], name=op.f("fk_incident_links_local_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["remote_id"], ["incidents.id"], name=op.f("fk_incident_links_remote_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_links")),
        sa.UniqueConstraint(
            "local_id", "remote_id", name=op.f("uq_incident_links_local_id_remote_id")
        ),
    )
    with op.batch_alter_table("incident_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_links_local_id"), ["local_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_incident_links_remote_id"), ["remote_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_incident_links_status"), ["status"], unique=False)

    op.create_table(
        "pending_releases",
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("release_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_pending_releases_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("partner_id", "incident_id", name=op.f("pk_pending_releases")),
    )
    with op.batch_alter_table("pending_releases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pending_releases_release_at"), ["release_at"], unique=False
        )

    op.create_table(
        "publish_cursors",
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column(
            "change_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("agreement_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_publish_cursors_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_publish_cursors")),
    )
    op.create_table(
        "quarantine",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("stix_id", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_quarantine_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantine_partner_id"), ["partner_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_quarantine_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "received_objects",
        sa.Column("stix_id", sa.String(length=80), nullable=False),
        sa.Column("modified", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_received_objects_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("stix_id", "modified", name=op.f("pk_received_objects")),
    )
    with op.batch_alter_table("received_objects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_received_objects_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "sync_cursors",
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("remote_collection_id", sa.String(length=80), nullable=True),
        sa.Column("pulled_until", sa.String(length=40), nullable=True),
        sa.Column(
            "pushed_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_sync_cursors_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_sync_cursors")),
    )
    op.create_table(
        "taxii_collections",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_taxii_collections_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_taxii_collections")),
        sa.UniqueConstraint(
            "partner_id", "kind", name=op.f("uq_taxii_collections_partner_id_kind")
        ),
    )
    with op.batch_alter_table("taxii_collections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_taxii_collections_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "taxii_status",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total_count", sa.Integer(), nullable=False),
        sa.Column("successes", sa.JSON(), nullable=False),
        sa.Column("failures", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_taxii_status_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_taxii_status")),
    )
    op.create_table(
        "taxii_objects",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("stix_id", sa.String(length=80), nullable=False),
        sa.Column("stix_type", sa.String(length=40), nullable=False),
        sa.Column("modified", sa.String(length=40), nullable=False),
        sa.Column("date_added", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_latest", sa.Boolean(), nullable=False),
        sa.Column("is_first", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["taxii_collections.id"],
            name=op.f("fk_taxii_objects_collection_id_taxii_collections"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_taxii_objects")),
        sa.UniqueConstraint(
            "collection_id",
            "stix_id",
            "modified",
            name=op.f("uq_taxii_objects_collection_id_stix_id_modified"),
        ),
    )
    with op.batch_alter_table("taxii_objects", schema=None) as batch_op:
        batch_op.create_index(
            "ix_taxii_objects_coll_added", ["collection_id", "date_added"], unique=False
        )
        batch_op.create_index("ix_taxii_objects_coll_seq", ["collection_id", "seq"], unique=False)
        batch_op.create_index(
            "ix_taxii_objects_coll_stix", ["collection_id", "stix_id"], unique=False
        )

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin_node_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("remote_modified", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("withheld_fields", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("revoked", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(
            batch_op.f("ix_incidents_origin_node_id"), ["origin_node_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_origin_node_id"))
        batch_op.drop_column("revoked")
        batch_op.drop_column("withheld_fields")
        batch_op.drop_column("remote_modified")
        batch_op.drop_column("origin_node_id")

    with op.batch_alter_table("taxii_objects", schema=None) as batch_op:
        batch_op.drop_index("ix_taxii_objects_coll_stix")
        batch_op.drop_index("ix_taxii_objects_coll_seq")
        batch_op.drop_index("ix_taxii_objects_coll_added")

    op.drop_table("taxii_objects")
    op.drop_table("taxii_status")
    with op.batch_alter_table("taxii_collections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_taxii_collections_partner_id"))

    op.drop_table("taxii_collections")
    op.drop_table("sync_cursors")
    with op.batch_alter_table("received_objects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_received_objects_partner_id"))

    op.drop_table("received_objects")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_received_at"))
        batch_op.drop_index(batch_op.f("ix_quarantine_partner_id"))

    op.drop_table("quarantine")
    op.drop_table("publish_cursors")
    with op.batch_alter_table("pending_releases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_releases_release_at"))

    op.drop_table("pending_releases")
    with op.batch_alter_table("incident_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_links_status"))
        batch_op.drop_index(batch_op.f("ix_incident_links_remote_id"))
        batch_op.drop_index(batch_op.f("ix_incident_links_local_id"))

    op.drop_table("incident_links")
