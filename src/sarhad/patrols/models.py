"""Patrol plan tables: one row per planned day and one per patrol in it.

Plans stay on the node that made them: patrol plans are operational secrets and no sharing
rule sends them (a coordinated plan is agreed through the liaison channel, not federated).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sarhad.core.db import Base, BigKey, UTCDateTime


class PatrolPlan(Base):
    """A day's plan: the optimal coverage behind it, the sampled patrols, and warnings."""

    __tablename__ = "patrol_plans"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    side: Mapped[str] = mapped_column(String(2))
    partner_side: Mapped[str | None] = mapped_column(String(2), nullable=True)
    coordinated: Mapped[bool] = mapped_column(Boolean, default=False)
    seed: Mapped[int] = mapped_column(BigInteger)
    teams: Mapped[dict[str, int]] = mapped_column(JSON)  # base → teams per shift
    partner_teams: Mapped[dict[str, int]] = mapped_column(JSON)
    #: Equilibrium figures, unpredictability, settings used, notes.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Per sector: risk, level, partner level, coverage per shift.
    sectors: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    conflicts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(80))

    patrols: Mapped[list[PatrolAssignment]] = relationship(
        back_populates="plan", order_by="PatrolAssignment.position", cascade="all, delete-orphan"
    )


class PatrolAssignment(Base):
    """One team (or a coordinated pair of teams) on a stretch of sectors in one shift."""

    __tablename__ = "patrol_assignments"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("patrol_plans.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    shift: Mapped[str] = mapped_column(String(40))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(12))  # own / partner / coordinated
    base: Mapped[str | None] = mapped_column(String(80), nullable=True)
    team: Mapped[str | None] = mapped_column(String(90), nullable=True)
    partner_base: Mapped[str | None] = mapped_column(String(80), nullable=True)
    partner_team: Mapped[str | None] = mapped_column(String(90), nullable=True)
    sectors: Mapped[list[str]] = mapped_column(JSON)
    km_from: Mapped[float] = mapped_column(Float)
    km_to: Mapped[float] = mapped_column(Float)

    plan: Mapped[PatrolPlan] = relationship(back_populates="patrols")
