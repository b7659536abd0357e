"""Partner nodes, sharing agreements (one current agreement per partner), known public keys."""

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


class KnownKey(Base):
    """A signing key of another node: a partner's, or a third node's whose records a partner
    forwards (A's record reaching us through B is checked against A's key, not B's).

    A key belongs to one node: its id (``core.signing.key_id_of``) is the primary key, so the
    same key cannot be registered for two nodes. ``partner_id`` names the partner it was
    registered for (None for a third node); ``node_id`` the node, when known. Rows are never
    deleted: a key no longer trusted is revoked, so what it signed before stays explained.
    """

    __tablename__ = "known_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    node_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    partner_id: Mapped[str | None] = mapped_column(
        ForeignKey("partners.id"), nullable=True, index=True
    )
    label: Mapped[str | None] = mapped_column(String(120), nullable=True)  # e.g. "af-node, Kabul"
    public_key: Mapped[str] = mapped_column(Text)  # Ed25519, PEM
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revocation: Mapped[str | None] = mapped_column(String(12), nullable=True)  # core.signing
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # How we came to trust it: "registered" (by hand, fingerprint confirmed), "announcement"
    # (signed by a key we trusted already) or "upgrade" (the single key of an older version).
    source: Mapped[str] = mapped_column(String(20))
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
