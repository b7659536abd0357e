"""Crossing tables: status declarations, regular hours, daily throughput, publication.

Rows of both sides live here: our own (``origin`` "local") and those a partner declared
and sent us (``origin`` "partner:<name>"), so both views are read from one place.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sarhad.core.db import Base, UTCDateTime


class Declaration(Base):
    """One side's declared status of one crossing or market, from ``starts_at`` to ``ends_at``.

    ``ends_at`` null means open-ended (until the next declaration of the same side ends it).
    Withdrawn declarations stay, marked, so the history and the partner's copy agree.
    """

    __tablename__ = "crossing_declarations"
    __table_args__ = (Index("ix_crossing_declarations_place_side", "crossing_id", "side"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    crossing_id: Mapped[str] = mapped_column(String(60))
    side: Mapped[str] = mapped_column(String(2))  # who declared it
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)  # reason detail, staff only
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    planned: Mapped[bool] = mapped_column(Boolean, default=False)  # announced in advance
    incident_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    tlp: Mapped[str] = mapped_column(String(12))
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    origin: Mapped[str] = mapped_column(String(80), default="local")
    origin_node_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Hours(Base):
    """One side's regular opening: days of the week and local opening hours."""

    __tablename__ = "crossing_hours"
    __table_args__ = (UniqueConstraint("crossing_id", "side"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    crossing_id: Mapped[str] = mapped_column(String(60))
    side: Mapped[str] = mapped_column(String(2))
    days: Mapped[list[int]] = mapped_column(JSON)  # 0 = Monday ... 6 = Sunday
    opens: Mapped[str] = mapped_column(String(5))  # "08:00", local time of ``side``
    closes: Mapped[str] = mapped_column(String(5))  # "17:00"; "24:00" = midnight
    origin: Mapped[str] = mapped_column(String(80), default="local")
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(80))


class Throughput(Base):
    """What crossed one side's gate on one local day: counts, fuel and goods (no identities)."""

    __tablename__ = "crossing_throughput"
    __table_args__ = (UniqueConstraint("crossing_id", "side", "day"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    crossing_id: Mapped[str] = mapped_column(String(60))
    side: Mapped[str] = mapped_column(String(2))
    day: Mapped[date] = mapped_column(Date, index=True)
    vehicles: Mapped[int] = mapped_column(Integer)
    trucks: Mapped[int] = mapped_column(Integer)
    pedestrians: Mapped[int] = mapped_column(Integer)
    fuel_litres: Mapped[float] = mapped_column(Float)
    #: [{"commodity", "quantity", "unit", "value", "currency"}], value and currency optional.
    goods: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    tlp: Mapped[str] = mapped_column(String(12))
    origin: Mapped[str] = mapped_column(String(80), default="local")
    origin_node_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(80))


class Publication(Base):
    """Whether a crossing or market appears on the public (unauthenticated) status page."""

    __tablename__ = "crossing_publication"

    crossing_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(80))
