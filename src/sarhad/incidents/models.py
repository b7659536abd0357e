"""Incident tables: the current state, its seizures, and every version as it was."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import text

from sarhad.core import i18n
from sarhad.core.db import Base, BigKey, UTCDateTime


class Incident(Base):
    """The current version of an incident, flat so that filters and indexes are plain columns."""

    __tablename__ = "incidents"
    # The list is newest first by (occurred_at, id): each equality filter has an index in that
    # order so a filtered page is walked, not sorted; lon and lat ride along so that a bbox is
    # checked on the index entry (migration 0015, docs/benchmarks.md "Incident reads").
    __table_args__ = (
        Index("ix_incidents_occurred_id", "occurred_at", "id", "lon", "lat"),
        Index("ix_incidents_status_occurred", "status", "occurred_at", "id", "lon", "lat"),
        Index("ix_incidents_category_occurred", "category", "occurred_at", "id", "lon", "lat"),
        Index("ix_incidents_side_occurred", "side", "occurred_at", "id", "lon", "lat"),
        Index("ix_incidents_sector_occurred", "sector_id", "occurred_at", "id", "lon", "lat"),
        Index("ix_incidents_lon_lat", "lon", "lat"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    date_precision: Mapped[str] = mapped_column(String(8))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    location_precision: Mapped[str] = mapped_column(String(10))
    place: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reporting_side: Mapped[str] = mapped_column(String(2))
    sf_killed: Mapped[int] = mapped_column(Integer, default=0)
    sf_injured: Mapped[int] = mapped_column(Integer, default=0)
    sf_detained: Mapped[int] = mapped_column(Integer, default=0)
    civ_killed: Mapped[int] = mapped_column(Integer, default=0)
    civ_injured: Mapped[int] = mapped_column(Integer, default=0)
    civ_detained: Mapped[int] = mapped_column(Integer, default=0)
    asl_killed: Mapped[int] = mapped_column(Integer, default=0)
    asl_injured: Mapped[int] = mapped_column(Integer, default=0)
    asl_detained: Mapped[int] = mapped_column(Integer, default=0)
    source_reliability: Mapped[str] = mapped_column(String(1))
    information_credibility: Mapped[str] = mapped_column(String(1))
    tlp: Mapped[str] = mapped_column(String(12))
    narrative: Mapped[str] = mapped_column(Text, default="")
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Enrichment by border.locate, stored so later profile edits don't rewrite history.
    profile_id: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(8))
    distance_m: Mapped[float] = mapped_column(Float)
    # Empty for a record marked far_from_line that lies beyond the node's distance limit.
    sector_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    km: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Set by whoever recorded it: the point is truly that far from the line (kept on edits).
    far_from_line: Mapped[bool] = mapped_column(Boolean, default=False)
    nearest_crossing_id: Mapped[str] = mapped_column(String(60))
    nearest_crossing_distance_m: Mapped[float] = mapped_column(Float)
    origin: Mapped[str] = mapped_column(String(40))
    # Set for records received from a partner: the originator's node id. Such records are
    # read-only here; they change only when the originator sends a newer version.
    origin_node_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    remote_modified: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withheld_fields: Mapped[list[str]] = mapped_column(JSON, default=list)  # by the originator
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)  # the originator withdrew it
    external_ref: Mapped[str | None] = mapped_column(String(120), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(80))
    updated_by: Mapped[str] = mapped_column(String(80))

    seizures: Mapped[list[SeizureRow]] = relationship(
        back_populates="incident",
        cascade="all, delete-orphan",
        order_by="SeizureRow.position",
        lazy="selectin",
    )


class SeizureRow(Base):
    """One seized commodity of an incident."""

    __tablename__ = "incident_seizures"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    commodity: Mapped[str] = mapped_column(String(30), index=True)
    quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(8))

    incident: Mapped[Incident] = relationship(back_populates="seizures")


class IncidentVersion(Base):
    """An immutable snapshot of an incident after each write."""

    __tablename__ = "incident_versions"

    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(80))
    op: Mapped[str] = mapped_column(String(40))
    changed: Mapped[list[str]] = mapped_column(JSON)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    change_seq: Mapped[int] = mapped_column(BigKey, ForeignKey("change_log.seq"))


class IncidentLink(Base):
    """Our record and a partner's of the same event: suggested, then confirmed or rejected.

    A record has at most one confirmed twin per partner node: two partial unique indexes hold
    it (migration 0017), the service names the link in the way first (incidents.links).
    """

    __tablename__ = "incident_links"
    __table_args__ = (
        UniqueConstraint("local_id", "remote_id"),
        Index(
            "ux_incident_links_confirmed_local",
            "local_id",
            "remote_node_id",
            unique=True,
            sqlite_where=text("status = 'confirmed'"),
            postgresql_where=text("status = 'confirmed'"),
        ),
        Index(
            "ux_incident_links_confirmed_remote",
            "remote_id",
            unique=True,
            sqlite_where=text("status = 'confirmed'"),
            postgresql_where=text("status = 'confirmed'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    local_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    remote_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    # The partner node whose record remote_id is (its origin_node_id): one twin per partner.
    remote_node_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    score: Mapped[float] = mapped_column(Float)
    #: Why the pair scored as it did: each a coded message ``{"code", "params"}``
    #: (incidents.links.Reason), worded when shown; a link stored before the reasons were
    #: coded keeps plain English strings, shown as written.
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), index=True)  # suggested/confirmed/rejected
    manual: Mapped[bool] = mapped_column(Boolean, default=False)  # made by hand, not proposed
    version: Mapped[int] = mapped_column(Integer, default=0)  # each decision is a new version
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The partner's decision on the same pair (shared through federation), and ours on it.
    partner_status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    partner_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    agreement: Mapped[str | None] = mapped_column(String(12), nullable=True)  # accepted/contested

    def reason_texts(self) -> list[i18n.Text | str]:
        """The reasons as coded messages; a plain string (a link stored before the reasons
        were coded) stays as written, in English. Anything else is shown as its text."""
        out: list[i18n.Text | str] = []
        for r in self.reasons or []:
            coded = i18n.from_json(r) if isinstance(r, dict) else None
            out.append(coded if coded is not None else str(r))
        return out

    def reasons_in(self, lang: str) -> list[str]:
        """The reasons worded in ``lang`` (plain English strings of older links as written)."""
        return [i18n.say(r, lang) for r in self.reason_texts()]

    def reason_codes(self) -> list[dict[str, Any]]:
        """The reasons as ``{"code", "params"}``; a plain string of an older link is
        ``error.plain`` with its text (as the sharing preview's ``reason_codes`` do)."""
        return [
            r.as_json()
            if isinstance(r, i18n.Text)
            else {"code": "error.plain", "params": {"text": r}}
            for r in self.reason_texts()
        ]
