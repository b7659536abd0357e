"""Partner nodes and sharing agreements (one current agreement per partner)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sarhad.core.db import Base, UTCDateTime


class Partner(Base):
    """Another Sarhad (or TAXII) node we exchange with."""

    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)  # e.g. "ir-node"
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166 alpha-2 of the partner agency
    node_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # their node UUID
    taxii_url: Mapped[str | None] = mapped_column(String(500), nullable=True)  # their API root
    # The token we present to them. We must send it, so it cannot be hashed: it is stored
    # sealed with the node key (core.sealing); read it with service.remote_token.
    remote_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The local account (role "partner") whose tokens they present to us.
    account_id: Mapped[str] = mapped_column(ForeignKey("users.id"), unique=True)
    public_key: Mapped[str | None] = mapped_column(Text, nullable=True)  # Ed25519, PEM: bundles
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Agreement(Base):
    """What may go to one partner. Absent lists mean "all"; TLP:RED never goes, whatever it says."""

    __tablename__ = "agreements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)  # [] = every category
    sectors: Mapped[list[str]] = mapped_column(JSON, default=list)  # [] = every sector
    statuses: Mapped[list[str]] = mapped_column(JSON)  # lifecycle states that may go
    max_tlp: Mapped[str] = mapped_column(String(12))  # highest TLP that may go (never red)
    withheld_fields: Mapped[list[str]] = mapped_column(JSON)  # removed before serialisation
    release_delay_hours: Mapped[float] = mapped_column(Float, default=0.0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Whether records we received from third nodes may go to this partner (still subject to
    # each originator's own marking).
    forward_third_party: Mapped[bool] = mapped_column(Boolean, default=False)
    # Crossing and market status declarations (and their hours) go to this partner.
    share_crossings: Mapped[bool] = mapped_column(Boolean, default=True)
    # Daily crossing throughput (counts, fuel, goods and declared values) goes too.
    share_throughput: Mapped[bool] = mapped_column(Boolean, default=False)
    # Response deadlines of liaison alerts by priority: {"flash": {"acknowledge_minutes": 5,
    # "answer_minutes": 30}, ...}; priorities left out (or null) take the defaults.
    alert_deadlines: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
