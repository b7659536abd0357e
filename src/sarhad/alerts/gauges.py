"""What the alerts tables say about work waiting, for the node's metrics (read at scrape time)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sarhad.alerts.models import Alert, AlertDeadline, OutboxItem
from sarhad.core.db import utcnow


def outbox_depth(session: Session) -> dict[tuple[str, str], int]:
    """Outbox rows not yet delivered, by (partner name, kind)."""
    rows = session.execute(
        select(Alert.partner_name, OutboxItem.kind, func.count())
        .join(Alert, Alert.id == OutboxItem.alert_id)
        .where(OutboxItem.delivered_at.is_(None))
        .group_by(Alert.partner_name, OutboxItem.kind)
    )
    return {(name, kind): int(n) for name, kind, n in rows}


def outbox_oldest_age(session: Session, *, now: datetime | None = None) -> dict[str, float]:
    """Seconds the oldest undelivered outbox row for each partner has waited."""
    now = now or utcnow()
    rows = session.execute(
        select(Alert.partner_name, func.min(OutboxItem.created_at))
        .join(Alert, Alert.id == OutboxItem.alert_id)
        .where(OutboxItem.delivered_at.is_(None))
        .group_by(Alert.partner_name)
    )
    return {name: max(0.0, (now - _aware(oldest)).total_seconds()) for name, oldest in rows}


def _aware(value: datetime) -> datetime:
    """An aggregate bypasses the column type: SQLite gives the stored naive UTC text back."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def duplicates_received(session: Session) -> dict[str, int]:
    """Copies of alerts or their steps partners sent again (dropped, counted), per partner."""
    rows = session.execute(
        select(Alert.partner_name, func.sum(Alert.duplicates_received))
        .where(Alert.duplicates_received > 0)
        .group_by(Alert.partner_name)
    )
    return {name: int(n or 0) for name, n in rows}


def escalations_due(session: Session, *, now: datetime | None = None) -> int:
    """Escalation deadlines passed and not fired on open alerts (the loop's backlog)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(AlertDeadline)
            .join(Alert, Alert.id == AlertDeadline.alert_id)
            .where(
                AlertDeadline.fired_at.is_(None),
                AlertDeadline.due_at <= (now or utcnow()),
                Alert.acknowledged_at.is_(None),
                Alert.withdrawn_at.is_(None),
            )
        )
        or 0
    )
