"""What every step of an alert does, whichever side takes it, and where an alert lies.

Every step is a row in ``alert_steps``, a change-log row (the live feed reads it), an audit
entry and, when it goes to the partner, an outbox row (``outbox``), all written in the
caller's transaction after ``lock_writes``. The sender
(``sender``), the receiver (``receiver``) and the deadlines (``deadlines``) all go through
``add_step``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sarhad.alerts import outbox
from sarhad.alerts.models import Alert, AlertDeadline, AlertStep
from sarhad.alerts.taxonomy import Direction, Status, Step
from sarhad.border import BorderProfile
from sarhad.core.db import utcnow
from sarhad.core.errors import FieldError, InvalidInput, NotFound, with_hint
from sarhad.core.i18n import message
from sarhad.core.journal import record

ENTITY = "alert"


def our_side(alert: Alert) -> str:
    """The side this node speaks for, as far as this alert goes."""
    return alert.from_side if alert.direction == Direction.OUTBOUND else alert.to_side


def status_of(alert: Alert) -> Status:
    """The status the timestamps imply (latest step wins, withdrawal above all)."""
    if alert.withdrawn_at is not None:
        return Status.WITHDRAWN
    if alert.answered_at is not None:
        return Status.ANSWERED
    if alert.acknowledged_at is not None:
        return Status.ACKNOWLEDGED
    if alert.received_at is not None:
        return Status.RECEIVED
    if alert.delivered_at is not None:
        return Status.DELIVERED
    return Status.QUEUED


def is_open(alert: Alert) -> bool:
    """Still waiting for someone: neither acknowledged nor withdrawn."""
    return alert.acknowledged_at is None and alert.withdrawn_at is None


def apply_step(alert: Alert, step: Step, at: datetime, detail: dict[str, Any]) -> None:
    """What a step does to the alert, the same whichever side took it."""
    if step is Step.DELIVERED:
        alert.delivered_at = at
    elif step is Step.RECEIVED:
        alert.received_at = at
        alert.delivered_at = alert.delivered_at or utcnow()  # a receipt proves delivery
    elif step is Step.ACKNOWLEDGED:
        alert.acknowledged_at = alert.acknowledged_at or at
    elif step is Step.ANSWERED:
        alert.acknowledged_at = alert.acknowledged_at or at
        alert.answered_at, alert.answer = at, detail["answer"]
        alert.answer_text = detail.get("text") or None
    elif step is Step.WITHDRAWN:
        alert.withdrawn_at, alert.withdraw_reason = at, detail.get("reason") or None
    if step in (Step.ACKNOWLEDGED, Step.ANSWERED, Step.WITHDRAWN):
        alert.next_escalation_at = None


def add_step(
    session: Session,
    alert: Alert,
    step: Step,
    *,
    at: datetime,
    actor: str,
    side: str,
    source: str,
    detail: dict[str, Any] | None = None,
    level: int = 0,
) -> AlertStep:
    """Take ``step`` on ``alert``: apply it, store the step row, log and audit it."""
    apply_step(alert, step, at, detail or {})
    now = utcnow()
    row = AlertStep(
        alert_id=alert.id,
        step=step.value,
        level=level,
        at=at,
        recorded_at=now,
        side=side,
        actor=actor,
        source=source,
        detail=detail or {},
    )
    session.add(row)
    if outbox.carries(alert, step, source):
        outbox.enqueue(session, alert, step, at=now)
    if step in (Step.ACKNOWLEDGED, Step.ANSWERED, Step.WITHDRAWN):
        # Nobody waits any more: the deadlines not yet fired go.
        session.execute(
            delete(AlertDeadline).where(
                AlertDeadline.alert_id == alert.id, AlertDeadline.fired_at.is_(None)
            )
        )
    alert.status = status_of(alert).value
    alert.version += 1
    alert.updated_at = now
    session.flush()
    record(
        session,
        actor=actor,
        op=step.value,
        entity=ENTITY,
        entity_id=alert.id,
        version=alert.version,
        detail={
            "partner": alert.partner_name,
            "direction": alert.direction,
            "priority": alert.priority,
            "at": at.isoformat(),
            "side": side,
            "source": source,
            **({"level": level} if level else {}),
            **(detail or {}),
        },
    )
    return row


def first_deadline(session: Session, alert: Alert) -> None:
    """Store the alert's first escalation deadline (level 1 at ``ack_by``)."""
    session.add(AlertDeadline(alert_id=alert.id, level=1, due_at=alert.ack_by))


def has_step(session: Session, alert_id: str, step: Step) -> bool:
    """Whether the alert has taken ``step`` already (a partner's step is applied once)."""
    return (
        session.scalar(
            select(AlertStep.seq).where(AlertStep.alert_id == alert_id, AlertStep.step == step)
        )
        is not None
    )


def place(
    alert: Alert,
    *,
    sector: str | None,
    lon: float | None,
    lat: float | None,
    profile: BorderProfile,
) -> list[FieldError]:
    """Put the alert on the border; return what is wrong with the place given."""
    problems: list[FieldError] = []
    if sector is not None:
        try:
            profile.sector(sector)
        except NotFound as exc:
            problems.append(FieldError.of("sector", with_hint(exc)))
    if lon is not None and lat is not None:
        try:  # an alert is about the border: no mark lets a point lie farther off
            loc, _on_line = profile.locate_record(lon, lat)
        except InvalidInput as exc:
            return [
                *problems,
                *(
                    FieldError.of(
                        e.field,
                        message(
                            "alerts.problem_hint",
                            "{problem}; {hint}",
                            problem=e.text or e.message,
                            hint=exc.hint_text or exc.hint or "",
                        ),
                    )
                    for e in exc.errors
                ),
            ]
        if sector is not None and not problems and loc.sector != sector:
            problems.append(
                FieldError.of(
                    "sector",
                    message(
                        "alerts.sector_mismatch",
                        "the location is in {found}, not in {sector}",
                        found=loc.sector,
                        sector=sector,
                    ),
                )
            )
        alert.lon, alert.lat = lon, lat
        alert.sector_id = loc.sector
        alert.side = loc.side
        alert.km = round(loc.km, 4)
        alert.distance_m = round(loc.distance_m, 3)
        alert.nearest_crossing_id = loc.nearest_crossing
    elif sector is not None and not problems:
        s = profile.sector(sector)
        alert.sector_id = sector
        alert.km = round((s.start_km + s.end_km) / 2, 4)  # a sector-wide alert: its middle
    return problems
