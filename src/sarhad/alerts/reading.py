"""Reading alerts: one alert and its steps, the API shape, the list, feed summaries, notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from sarhad.alerts.lifecycle import is_open
from sarhad.alerts.models import Alert, AlertStep
from sarhad.alerts.schemas import AlertOut, Placement, StepOut
from sarhad.alerts.taxonomy import Direction, Status
from sarhad.core.db import utcnow
from sarhad.core.errors import FieldError, InvalidInput, NotFound
from sarhad.core.feed import in_batches
from sarhad.core.i18n import message
from sarhad.core.pagination import check_limit, decode_cursor, encode_cursor


def get_alert(session: Session, *, alert_id: str) -> Alert:
    """The alert with ``alert_id``, or ``NotFound``."""
    row = session.get(Alert, alert_id)
    if row is None:
        raise NotFound(
            message("alerts.none", "no alert {id}", id=alert_id),
            hint=message("alerts.none.hint", "list alerts with 'sarhad alerts list'"),
        )
    return row


def resolve_id(session: Session, *, prefix: str) -> str:
    """The full id of the one alert whose id starts with ``prefix`` (as lists show them)."""
    ids = list(session.scalars(select(Alert.id).where(Alert.id.like(f"{prefix}%")).limit(2)))
    if len(ids) != 1:
        raise InvalidInput(
            FieldError.of(
                "alert_id",
                message("alerts.no_prefix", "no alert starts so")
                if not ids
                else message("alerts.ambiguous", "ambiguous; give more"),
            )
        )
    return ids[0]


def steps_of(session: Session, *, alert_id: str) -> list[AlertStep]:
    """The steps of one alert in the order they were recorded."""
    return list(
        session.scalars(
            select(AlertStep).where(AlertStep.alert_id == alert_id).order_by(AlertStep.seq)
        )
    )


def to_out(
    alert: Alert, *, steps: list[AlertStep] | None = None, now: datetime | None = None
) -> AlertOut:
    """The API shape of an alert (with its steps when given)."""
    now = now or utcnow()
    return AlertOut(
        id=alert.id,
        direction=alert.direction,
        partner=alert.partner_name,
        from_side=alert.from_side,
        to_side=alert.to_side,
        priority=alert.priority,
        kind=alert.kind,
        tlp=alert.tlp,
        status=alert.status,
        text=alert.text,
        place=Placement(
            lon=alert.lon,
            lat=alert.lat,
            sector=alert.sector_id,
            side=alert.side,
            km=alert.km,
            distance_m=alert.distance_m,
            nearest_crossing=alert.nearest_crossing_id,
        ),
        valid_from=alert.valid_from,
        valid_until=alert.valid_until,
        incident_ids=list(alert.incident_ids or []),
        created_at=alert.created_at,
        created_by=alert.created_by,
        ack_by=alert.ack_by,
        answer_by=alert.answer_by,
        delivered_at=alert.delivered_at,
        received_at=alert.received_at,
        acknowledged_at=alert.acknowledged_at,
        answered_at=alert.answered_at,
        answer=alert.answer,
        answer_text=alert.answer_text,
        withdrawn_at=alert.withdrawn_at,
        withdraw_reason=alert.withdraw_reason,
        escalation_level=alert.escalation_level,
        next_escalation_at=alert.next_escalation_at,
        overdue=is_open(alert) and now >= alert.ack_by,
        version=alert.version,
        steps=[StepOut.model_validate(s) for s in steps] if steps is not None else None,
    )


def list_alerts(
    session: Session,
    *,
    direction: Direction | None = None,
    status: Status | None = None,
    priority: str | None = None,
    partner: str | None = None,
    open_only: bool = False,
    overdue: bool = False,
    limit: int = 50,
    cursor: str | None = None,
    now: datetime | None = None,
) -> tuple[list[Alert], str | None]:
    """Alerts newest first, filtered, one keyset page at a time: (rows, next cursor)."""
    check_limit(limit)
    now = now or utcnow()
    q = select(Alert)
    if direction:
        q = q.where(Alert.direction == direction.value)
    if status:
        q = q.where(Alert.status == status.value)
    if priority:
        q = q.where(Alert.priority == priority)
    if partner:
        q = q.where(Alert.partner_name == partner)
    if open_only or overdue:
        q = q.where(Alert.acknowledged_at.is_(None), Alert.withdrawn_at.is_(None))
    if overdue:
        q = q.where(Alert.ack_by <= now)
    if cursor:
        at, last_id = decode_cursor(cursor, arity=2)
        key = datetime.fromisoformat(at)
        q = q.where(or_(Alert.created_at < key, and_(Alert.created_at == key, Alert.id < last_id)))
    rows = list(
        session.scalars(q.order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = encode_cursor([rows[-1].created_at.isoformat(), rows[-1].id]) if more else None
    return rows, nxt


def describe(session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Short summaries of alerts for the live feed."""
    out: dict[str, dict[str, Any]] = {}
    for batch in in_batches(ids):
        for a in session.scalars(select(Alert).where(Alert.id.in_(batch))):
            out[a.id] = {
                "direction": a.direction,
                "partner": a.partner_name,
                "priority": a.priority,
                "kind": a.kind,
                "status": a.status,
                "sector": a.sector_id,
                "ack_by": a.ack_by.isoformat(),
                "escalation_level": a.escalation_level,
                "text": a.text[:140],
            }
    return out


def active_notices(session: Session, *, start: datetime, end: datetime) -> list[Alert]:
    """Partners' deconfliction notices (not withdrawn) valid at some time in [start, end)."""
    return list(
        session.scalars(
            select(Alert)
            .where(
                Alert.direction == Direction.INBOUND,
                Alert.kind == "deconfliction_notice",
                Alert.status != Status.WITHDRAWN,
                Alert.valid_from < end,
                Alert.valid_until > start,
            )
            .order_by(Alert.valid_from, Alert.id)
        )
    )
