"""Known keys: every public key of another node in one table; partners.public_key moves there.

A partner's single ``public_key`` (PEM, checked bundles) becomes one row of ``known_keys``
(source ``upgrade``), with its key id: the first 16 bytes of SHA-256 of the raw key, in hex
(``sarhad.core.signing.key_id_of``, computed here again so that this migration keeps meaning
what it means today). The column is then dropped; on SQLite with a native ALTER TABLE, as in
0009 (batch mode would copy ``partners``, which the foreign keys pointing at it forbid).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 10:00:00.000000
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def _key_id(pem: str, partner: str) -> str:
    try:
        key = serialization.load_pem_public_key(pem.encode("utf-8"))
    except ValueError:
        key = None
    if not isinstance(key, Ed25519PublicKey):  # every version checked it on the way in
        raise RuntimeError(
            f"partner {partner}: the stored public key is not an Ed25519 PEM key; clear it "
            "(UPDATE partners SET public_key = NULL WHERE name = ...) and register it again "
            "after the upgrade with 'sarhad keys trust --partner NAME --public-key FILE'"
        )
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:16].hex()


def upgrade() -> None:
    known = op.create_table(
        "known_keys",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("node_id", sa.String(length=36), nullable=True),
        sa.Column("partner_id", sa.String(length=36), nullable=True),
        sa.Column("label", sa.String(length=120), nullable=True),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation", sa.String(length=12), nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_known_keys_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_known_keys")),
    )
    with op.batch_alter_table("known_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_known_keys_node_id"), ["node_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_known_keys_partner_id"), ["partner_id"], unique=False)

    conn = op.get_bind()
    partners = sa.table(
        "partners",
        sa.column("id", sa.String),
        sa.column("name", sa.String),
        sa.column("node_id", sa.String),
        sa.column("public_key", sa.Text),
    )
    rows = conn.execute(
        sa.select(partners.c.id, partners.c.name, partners.c.node_id, partners.c.public_key)
        .where(partners.c.public_key.is_not(None))
        .order_by(partners.c.name)
    ).all()
    now = datetime.now(UTC)
    seen: dict[str, str] = {}
    for pid, name, node_id, pem in rows:
        kid = _key_id(pem, name)
        if kid in seen:  # a key belongs to one node: keep it with the first partner
            log.warning(
                "partner %s had the public key of %s: not kept for %s", name, seen[kid], name
            )
            continue
        seen[kid] = name
        conn.execute(
            sa.insert(known).values(
                key_id=kid,
                node_id=node_id,
                partner_id=pid,
                public_key=pem,
                source="upgrade",
                added_by="upgrade 0011",
                added_at=now if conn.dialect.name != "sqlite" else now.replace(tzinfo=None),
            )
        )
    if conn.dialect.name == "sqlite":
        op.execute("ALTER TABLE partners DROP COLUMN public_key")
    else:
        op.drop_column("partners", "public_key")


def downgrade() -> None:
    op.add_column("partners", sa.Column("public_key", sa.Text(), nullable=True))
    # Each partner gets back its newest key that is not revoked (the older schema held one).
    op.execute(
        """
        UPDATE partners SET public_key = (
            SELECT k.public_key FROM known_keys k
            WHERE k.partner_id = partners.id AND k.revoked_at IS NULL
            ORDER BY k.added_at DESC LIMIT 1
        )
        """
    )
    with op.batch_alter_table("known_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_known_keys_partner_id"))
        batch_op.drop_index(batch_op.f("ix_known_keys_node_id"))
    op.drop_table("known_keys")
