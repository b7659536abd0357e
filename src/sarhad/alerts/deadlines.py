"""Escalation from stored deadlines: each unacknowledged alert rises a level per period."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.alerts.lifecycle import add_step, our_side
from sarhad.alerts.models import Alert
from sarhad.alerts.taxonomy import ESCALATE_TO, Direction, Step
from sarhad.core.db import Database, lock_writes, utcnow

#: The shortest escalation period, whatever the deadline (a guard against a tight loop).
MIN_PERIOD = timedelta(seconds=1)


def escalate_due(session: Session, *, now: datetime | None = None) -> list[Alert]:
    """Escalate every unacknowledged alert whose next deadline has passed.

    Levels come from stored times only: level k is due at ack_by + (k-1) x the acknowledge
    period. A node that was down over several periods records the level now due once (with
    the levels it missed), not a burst of stale ones; running it twice changes nothing.
    """
    now = now or utcnow()
    lock_writes(session)
    due = list(
        session.scalars(
            select(Alert)
            .where(
                Alert.next_escalation_at.is_not(None),
                Alert.next_escalation_at <= now,
                Alert.acknowledged_at.is_(None),
                Alert.withdrawn_at.is_(None),
            )
            .order_by(Alert.next_escalation_at)
        )
    )
    escalated = []
    for alert in due:
        period = max(alert.ack_by - alert.created_at, MIN_PERIOD)
        level = int((now - alert.ack_by) / period) + 1
        alert.next_escalation_at = alert.ack_by + level * period
        if level <= alert.escalation_level:
            continue
        missed = level - alert.escalation_level - 1
        alert.escalation_level = level
        add_step(
            session,
            alert,
            Step.ESCALATED,
            at=now,
            actor="escalation",
            side=our_side(alert),
            source="local",
            level=level,
            detail={
                "notify": list(ESCALATE_TO[Direction(alert.direction)]),
                "overdue_s": round((now - alert.ack_by).total_seconds(), 3),
                **({"missed_levels": missed} if missed else {}),
            },
        )
        escalated.append(alert)
    return escalated


def run_escalation(db: Database) -> list[str]:
    """One escalation pass in its own transaction (the serve loop calls it)."""
    with db.session() as session:
        return [a.id for a in escalate_due(session)]
