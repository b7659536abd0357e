"""News intake: source articles, candidate events and the articles behind each candidate.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "news_articles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("outlet", sa.String(length=120), nullable=False),
        sa.Column("published", sa.Date(), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("fetched_at", _TS, nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("added_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("content_hash"),
    )
    op.create_table(
        "news_candidates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("article_id", sa.String(length=36), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("event_date", sa.String(length=10), nullable=True),
        sa.Column("date_precision", sa.String(length=8), nullable=True),
        sa.Column("district", sa.String(length=80), nullable=True),
        sa.Column("side", sa.String(length=2), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("seizures", sa.JSON(), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("decided_at", _TS, nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["news_articles.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_news_candidates_article_id", "news_candidates", ["article_id"])
    op.create_index(
        "ix_news_candidates_status_created", "news_candidates", ["status", "created_at"]
    )
    op.create_table(
        "news_candidate_sources",
        sa.Column("candidate_id", sa.String(length=36), nullable=False),
        sa.Column("article_id", sa.String(length=36), nullable=False),
        sa.Column("sentences", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["candidate_id"], ["news_candidates.id"]),
        sa.ForeignKeyConstraint(["article_id"], ["news_articles.id"]),
        sa.PrimaryKeyConstraint("candidate_id", "article_id"),
    )


def downgrade() -> None:
    op.drop_table("news_candidate_sources")
    op.drop_index("ix_news_candidates_status_created", table_name="news_candidates")
    op.drop_index("ix_news_candidates_article_id", table_name="news_candidates")
    op.drop_table("news_candidates")
    op.drop_table("news_articles")
