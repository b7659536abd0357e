"""Alert tables: one row per alert (either direction) and one row per step of its life."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sarhad.core.db import Base, BigKey, UTCDateTime


class Alert(Base):
    """A liaison alert we raised to a partner, or one a partner raised to us.

    The id is the sender's UUID on both nodes, so both talk about the same alert. Times of
    steps are the times declared by the side that took them (both nodes compute the same
    metrics from the same figures); ``received_at`` on an inbound alert is our own clock.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_created_id", "created_at", "id"),
        Index("ix_alerts_next_escalation", "next_escalation_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8), index=True)
    # The partner (sharing room) by id and name; no foreign key: alerts sit below sharing.
    partner_id: Mapped[str] = mapped_column(String(36), index=True)
    partner_name: Mapped[str] = mapped_column(String(60))
    from_side: Mapped[str] = mapped_column(String(2))
    to_side: Mapped[str] = mapped_column(String(2))
    priority: Mapped[str] = mapped_column(String(12), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    tlp: Mapped[str] = mapped_column(String(12))
    # Derived from the step times (service.status_of), kept as a column so lists can filter on it.
    status: Mapped[str] = mapped_column(String(14), index=True)
    text: Mapped[str] = mapped_column(Text)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    sector_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    side: Mapped[str | None] = mapped_column(String(8), nullable=True)
    km: Mapped[float | None] = mapped_column(Float, nullable=True)
    distance_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    nearest_crossing_id: Mapped[str | None] = mapped_column(String(60), nullable=True)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    incident_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(80))
    ack_by: Mapped[datetime] = mapped_column(UTCDateTime)
    answer_by: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answer: Mapped[str | None] = mapped_column(String(24), nullable=True)
    answer_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdraw_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    # Stored so that escalation is a query, not a timer: it survives restarts of either node.
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Copies of this alert or of its steps the partner sent again (delivery is at least
    # once): stored once, counted here so an operator sees how often it happens.
    duplicates_received: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AlertStep(Base):
    """One step of an alert, as taken by either side."""

    __tablename__ = "alert_steps"
    __table_args__ = (
        UniqueConstraint("alert_id", "step", "level"),
        Index("ix_alert_steps_alert_seq", "alert_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"))
    step: Mapped[str] = mapped_column(String(14))
    level: Mapped[int] = mapped_column(Integer, default=0)  # escalation level; 0 otherwise
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # as declared by the side that took it
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)  # our clock
    side: Mapped[str] = mapped_column(String(2))  # which side took the step
    actor: Mapped[str] = mapped_column(String(80))  # a desk account, or "partner:<name>"
    source: Mapped[str] = mapped_column(String(8))  # "local" | "partner"
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AlertDeadline(Base):
    """One escalation deadline of an alert: due at ``due_at``, fired once (``fired_at``).

    Firing is ``UPDATE ... SET fired_at WHERE id = :id AND fired_at IS NULL`` in the same
    transaction as the escalation step it causes, so two processes never fire one twice.
    """

    __tablename__ = "alert_deadlines"
    __table_args__ = (
        UniqueConstraint("alert_id", "level"),
        Index("ix_alert_deadlines_due", "fired_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"))
    level: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OutboxItem(Base):
    """An alert or a step of one that must reach the partner: the transactional outbox.

    Written in the transaction of the alert or step it carries; any process claims due rows
    (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) for ``claim_expires_at``, sends them and marks
    them delivered in a new transaction. ``ref`` is the step (``raised`` for the alert).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "delivered_at", "next_attempt_at"),
        Index("ix_outbox_partner", "partner_id", "delivered_at"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(16))  # "alert" | "alert_step"
    alert_id: Mapped[str] = mapped_column(String(36))
    ref: Mapped[str] = mapped_column(String(14))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
