"""Incident list indexes: each equality filter with the list's order, lon/lat alongside.

The incident list is newest first by (occurred_at, id) and filtered by status, category, side
or sector. With one index per filter column, SQLite (which keeps no statistics unless ANALYZE
is run) picked the filter's index and sorted every match: 0.1-0.7 s a page on 200,000 to
1,000,000 incidents. An index (filter column, occurred_at, id) walks the matches already in
order and stops after one page; its leading column serves the plain equality lookups the
single-column index did, so those are dropped. lon and lat ride along at the end so that a
bbox is checked on the index entry before the row is read (SQLite's deferred seek; PostgreSQL
filters the index tuples the same way). See docs/benchmarks.md, "Incident reads".

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 11:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

#: (old single-column index, its column, new composite index)
_FILTERS = [
    ("ix_incidents_status", "status", "ix_incidents_status_occurred"),
    ("ix_incidents_category", "category", "ix_incidents_category_occurred"),
    ("ix_incidents_side", "side", "ix_incidents_side_occurred"),
    ("ix_incidents_sector_id", "sector_id", "ix_incidents_sector_occurred"),
]
_ORDER = ["occurred_at", "id", "lon", "lat"]


def upgrade() -> None:
    # Plain CREATE/DROP INDEX on both backends (no batch mode: it would copy the table).
    op.drop_index("ix_incidents_occurred_id", table_name="incidents")
    op.create_index("ix_incidents_occurred_id", "incidents", _ORDER)
    for old, column, new in _FILTERS:
        op.create_index(new, "incidents", [column, *_ORDER])
        op.drop_index(old, table_name="incidents")


def downgrade() -> None:
    for old, column, new in _FILTERS:
        op.create_index(old, "incidents", [column])
        op.drop_index(new, table_name="incidents")
    op.drop_index("ix_incidents_occurred_id", table_name="incidents")
    op.create_index("ix_incidents_occurred_id", "incidents", ["occurred_at", "id"])
