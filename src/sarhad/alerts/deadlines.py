"""Escalation from stored deadline rows: each unacknowledged alert rises a level per period."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sarhad.alerts.lifecycle import add_step, our_side
from sarhad.alerts.models import Alert, AlertDeadline
from sarhad.alerts.taxonomy import ESCALATE_TO, Direction, Step
from sarhad.core.db import Database, lock_writes, utcnow

#: The shortest escalation period, whatever the deadline (a guard against a tight loop).
MIN_PERIOD = timedelta(seconds=1)


def escalate_due(session: Session, *, now: datetime | None = None) -> list[Alert]:
    """Fire every escalation deadline that has passed on an alert nobody acknowledged.

    Deadlines are rows (``AlertDeadline``): level k is due at ack_by + (k-1) x the acknowledge
    period. Each is fired once, by ``UPDATE ... WHERE fired_at IS NULL`` in this transaction,
    with the escalation step it causes and the next level's row: two processes running this
    at once never fire one twice. A node that was down over several periods fires the level
    now due once (with the levels it missed), not a burst of stale ones.
    """
    now = now or utcnow()
    lock_writes(session)
    query = (
        select(AlertDeadline.id, AlertDeadline.alert_id)
        .join(Alert, Alert.id == AlertDeadline.alert_id)
        .where(
            AlertDeadline.fired_at.is_(None),
            AlertDeadline.due_at <= now,
            Alert.acknowledged_at.is_(None),
            Alert.withdrawn_at.is_(None),
        )
        .order_by(AlertDeadline.due_at)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=AlertDeadline, skip_locked=True)
    due = list(session.execute(query))
    escalated = []
    for deadline_id, alert_id in due:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        period = max(alert.ack_by - alert.created_at, MIN_PERIOD)
        level = max(int((now - alert.ack_by) / period) + 1, alert.escalation_level + 1)
        fired = session.execute(
            update(AlertDeadline)
            .where(AlertDeadline.id == deadline_id, AlertDeadline.fired_at.is_(None))
            .values(fired_at=now, level=level)
            .execution_options(synchronize_session=False)
        )
        if fired.rowcount != 1:  # type: ignore[attr-defined]
            continue  # fired by someone else meanwhile
        missed = level - alert.escalation_level - 1
        alert.escalation_level = level
        alert.next_escalation_at = alert.ack_by + level * period
        session.add(
            AlertDeadline(alert_id=alert.id, level=level + 1, due_at=alert.next_escalation_at)
        )
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
