"""Federation tables: TAXII collections and their objects, cursors, receipts, quarantine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sarhad.core import i18n
from sarhad.core.db import Base, BigKey, UTCDateTime


class Collection(Base):
    """A TAXII collection: what we serve to one partner ("outbound") or take from it ("inbox")."""

    __tablename__ = "taxii_collections"
    __table_args__ = (UniqueConstraint("partner_id", "kind"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "outbound" | "inbox"
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CollectionObject(Base):
    """One version of one STIX object in a collection, serialised once, redacted already.

    ``seq`` orders a collection for paging (keyset; a ``next`` token is a seq) and
    ``date_added`` is unique and increasing, so ``added_after`` never skips an object.
    """

    __tablename__ = "taxii_objects"
    __table_args__ = (
        UniqueConstraint("collection_id", "stix_id", "modified"),
        Index("ix_taxii_objects_coll_seq", "collection_id", "seq"),
        Index("ix_taxii_objects_coll_added", "collection_id", "date_added"),
        Index("ix_taxii_objects_coll_stix", "collection_id", "stix_id"),
    )

    seq: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=False)
    collection_id: Mapped[str] = mapped_column(ForeignKey("taxii_collections.id"))
    stix_id: Mapped[str] = mapped_column(String(80))
    stix_type: Mapped[str] = mapped_column(String(40))
    modified: Mapped[str] = mapped_column(String(40))  # the STIX timestamp text, as served
    date_added: Mapped[datetime] = mapped_column(UTCDateTime)
    is_latest: Mapped[bool] = mapped_column(Boolean, default=True)
    is_first: Mapped[bool] = mapped_column(Boolean, default=True)
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON of the object


class PublishCursor(Base):
    """How far the change log has been turned into objects for one partner."""

    __tablename__ = "publish_cursors"

    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    change_seq: Mapped[int] = mapped_column(BigKey, default=0)
    agreement_version: Mapped[int] = mapped_column(Integer, default=0)


class PendingRelease(Base):
    """A record held back by an agreement's release delay until ``release_at``."""

    __tablename__ = "pending_releases"

    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    release_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SyncCursor(Base):
    """Durable position of the sync with one partner: what we pulled and what we pushed."""

    __tablename__ = "sync_cursors"

    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    remote_collection_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    pulled_until: Mapped[str | None] = mapped_column(String(40), nullable=True)  # date_added
    pushed_seq: Mapped[int] = mapped_column(BigKey, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The last error in English (rows written before migration 0020 have only this) ...
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: ... and as a coded message, worded in the reader's language where it is shown.
    last_error_code: Mapped[str | None] = mapped_column(String(80), nullable=True)
    last_error_params: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    def set_error(self, error: i18n.Text | None) -> None:
        """Keep ``error`` (None: the round went well): its English wording and its code."""
        self.last_error = None if error is None else str(error)
        coded = None if error is None else error.as_json()
        self.last_error_code = None if coded is None else coded["code"]
        self.last_error_params = None if coded is None else coded["params"]

    @property
    def error_text(self) -> i18n.Text | None:
        """The last error as a coded message; None if none, or if kept before it had a code."""
        if self.last_error_code is None:
            return None
        return i18n.from_json({"code": self.last_error_code, "params": self.last_error_params})

    def error_in(self, lang: str) -> str | None:
        """The last error in ``lang`` (an error kept before 0020: in English, as kept)."""
        text = self.error_text
        return self.last_error if text is None else text.in_(lang)


class Receipt(Base):
    """Every object version received from a partner: the idempotency ledger of the inbox."""

    __tablename__ = "received_objects"

    stix_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    modified: Mapped[str] = mapped_column(String(40), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    via: Mapped[str] = mapped_column(String(10))  # pull | push | bundle
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # For a record mapped from plain STIX (no Sarhad extension), and for every record received
    # signed: the record's objects as received (canonical JSON array: the incident, its
    # location and relationship), since the stored record keeps only part of them.
    original: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The key id that signed a record received signed (its ``original`` is kept too, so it
    # can be forwarded as signed); None: received unsigned, or not a record.
    signed_key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Quarantined(Base):
    """An inbound object we refused, with the reason, for an admin to look at."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    via: Mapped[str] = mapped_column(String(10))
    stix_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)  # as received (truncated past 256 KiB)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class TaxiiStatus(Base):
    """A TAXII status resource for a POST of objects (kept so clients can poll it later)."""

    __tablename__ = "taxii_status"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    total_count: Mapped[int] = mapped_column(Integer)
    successes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    failures: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
