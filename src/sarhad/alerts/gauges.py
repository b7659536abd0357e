"""What the alerts tables say about work waiting, for the node's metrics (read at scrape time)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sarhad.alerts.models import Alert
from sarhad.alerts.taxonomy import Direction
from sarhad.core.db import utcnow


def undelivered(session: Session) -> dict[str, int]:
    """Outbound alerts the partner's node has not taken yet, per partner name."""
    rows = session.execute(
        select(Alert.partner_name, func.count())
        .where(Alert.direction == Direction.OUTBOUND.value, Alert.delivered_at.is_(None))
        .group_by(Alert.partner_name)
    )
    return {name: int(n) for name, n in rows}


def escalations_due(session: Session, *, now: datetime | None = None) -> int:
    """Unacknowledged alerts whose next escalation deadline has passed (the loop's backlog)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Alert)
            .where(
                Alert.next_escalation_at.is_not(None),
                Alert.next_escalation_at <= (now or utcnow()),
                Alert.acknowledged_at.is_(None),
                Alert.withdrawn_at.is_(None),
            )
        )
        or 0
    )
