"""Secrets and retries: partner tokens sealed (a longer column), stored idempotent replies.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:14:03.118204

``partners.remote_token`` becomes TEXT: a sealed token (``sealed:fernet:`` + a Fernet token)
is longer than the 200 characters the clear one had. The tokens themselves are sealed by
``sarhad init`` / ``serve`` after the upgrade (a migration has no node key to seal with).
On SQLite the column is swapped with native ALTER TABLE statements instead of batch mode:
batch mode copies the table and drops the old one, which the foreign keys pointing at
``partners`` (agreements, cursors, alerts) forbid while they are enforced.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _retype_token(new_type: str, pg_type: sa.types.TypeEngine) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("partners", "remote_token", type_=pg_type, existing_nullable=True)
        return
    op.execute(f"ALTER TABLE partners ADD COLUMN remote_token_new {new_type}")
    op.execute("UPDATE partners SET remote_token_new = remote_token")
    op.execute("ALTER TABLE partners DROP COLUMN remote_token")
    op.execute("ALTER TABLE partners RENAME COLUMN remote_token_new TO remote_token")


def upgrade() -> None:
    op.create_table(
        "idempotency_replies",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("principal", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_replies")),
        sa.UniqueConstraint("principal", "key", name=op.f("uq_idempotency_replies_principal_key")),
    )
    with op.batch_alter_table("idempotency_replies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_replies_created_at"), ["created_at"], unique=False
        )
    _retype_token("TEXT", sa.Text())


def downgrade() -> None:
    # Sealed tokens are longer than 200 characters: open them first (no tool does; give the
    # tokens again after a downgrade) or PostgreSQL refuses the narrower column.
    _retype_token("VARCHAR(200)", sa.String(length=200))
    with op.batch_alter_table("idempotency_replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_replies_created_at"))
    op.drop_table("idempotency_replies")
