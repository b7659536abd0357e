"""The receiver's side of an alert: store a partner's alert and its steps, acknowledge, answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sarhad.alerts.lifecycle import add_step, first_deadline, has_step, place
from sarhad.alerts.models import Alert
from sarhad.alerts.reading import get_alert
from sarhad.alerts.schemas import AnswerIn
from sarhad.alerts.taxonomy import PARTNER_STEPS, Answer, Direction, Status, Step
from sarhad.border import BorderProfile
from sarhad.core.auth import Permission, Principal
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.errors import Conflict, FieldError, InvalidInput
from sarhad.core.i18n import message
from sarhad.core.labels import word
from sarhad.core.times import require_plausible


@dataclass(frozen=True)
class InboundAlert:
    """An alert as a partner sent it, already checked for shape by the federation room."""

    id: str
    priority: str
    kind: str
    tlp: str
    text: str
    from_side: str
    created_at: datetime
    ack_by: datetime
    answer_by: datetime
    valid_from: datetime
    valid_until: datetime
    sector: str | None = None
    lon: float | None = None
    lat: float | None = None
    incident_ids: tuple[str, ...] = ()


def receive_alert(
    session: Session,
    *,
    data: InboundAlert,
    partner_id: str,
    partner_name: str,
    to_side: str,
    profile: BorderProfile,
    now: datetime | None = None,
) -> tuple[Alert, bool]:
    """Store a partner's alert and a receipt step that goes back; (alert, stored_now).

    A second copy of the same alert (re-sent after a lost answer, or pulled as well as
    pushed) is recognised by its id and stored once. Raises ``InvalidInput`` for one that
    clashes with an alert we hold from elsewhere.
    """
    now = now or utcnow()
    lock_writes(session)
    existing = session.get(Alert, data.id)
    if existing is not None:
        if existing.direction != Direction.INBOUND or existing.partner_id != partner_id:
            raise InvalidInput(
                FieldError.of(
                    "id",
                    message(
                        "alerts.not_raised_by",
                        "alert {id} is not one {partner} raised",
                        id=data.id,
                        partner=partner_name,
                    ),
                )
            )
        existing.duplicates_received += 1
        return existing, False
    if data.ack_by < data.created_at or data.answer_by < data.ack_by:
        raise InvalidInput(
            FieldError.of(
                "deadlines",
                message("alerts.deadlines_order", "acknowledge_by/answer_by out of order"),
            )
        )
    if data.valid_until <= data.valid_from:
        raise InvalidInput(
            FieldError.of(
                "valid_until", message("alerts.until_after_from2", "must be after valid_from")
            )
        )
    require_plausible(
        events={"created": data.created_at},
        planned={"valid_from": data.valid_from, "valid_until": data.valid_until},
        now=now,
    )
    alert = Alert(
        id=data.id,
        direction=Direction.INBOUND.value,
        partner_id=partner_id,
        partner_name=partner_name,
        from_side=data.from_side,
        to_side=to_side,
        priority=data.priority,
        kind=data.kind,
        tlp=data.tlp,
        status=Status.RECEIVED.value,
        text=data.text,
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        incident_ids=list(data.incident_ids),
        created_at=data.created_at,
        created_by=f"partner:{partner_name}",
        ack_by=data.ack_by,
        answer_by=data.answer_by,
        received_at=now,
        escalation_level=0,
        next_escalation_at=data.ack_by,
        version=0,
        updated_at=now,
    )
    problems = place(alert, sector=data.sector, lon=data.lon, lat=data.lat, profile=profile)
    if problems:
        raise InvalidInput(problems)
    session.add(alert)
    session.flush()
    first_deadline(session, alert)
    actor = f"partner:{partner_name}"
    add_step(
        session,
        alert,
        Step.RAISED,
        at=data.created_at,
        actor=actor,
        side=data.from_side,
        source="partner",
        detail={"kind": alert.kind, "sector": alert.sector_id},
    )
    add_step(session, alert, Step.RECEIVED, at=now, actor="inbox", side=to_side, source="local")
    return alert, True


def receive_step(
    session: Session,
    *,
    alert_id: str,
    step: Step,
    at: datetime,
    side: str,
    detail: dict[str, Any],
    partner_id: str,
    partner_name: str,
) -> bool:
    """Apply a step the partner took on an alert; False when we had it already.

    Raises ``InvalidInput`` when the partner may not take this step on this alert.
    """
    lock_writes(session)
    alert = session.get(Alert, alert_id)
    if alert is None or alert.partner_id != partner_id:
        raise InvalidInput(
            FieldError.of(
                "alert_ref",
                message(
                    "alerts.not_exchanged",
                    "no alert {id} exchanged with {partner}",
                    id=alert_id,
                    partner=partner_name,
                ),
            )
        )
    if step not in PARTNER_STEPS[Direction(alert.direction)]:
        raise InvalidInput(
            FieldError.of(
                "step",
                message(
                    "alerts.step_not_allowed",
                    "{partner} may not send '{step}' on this alert",
                    partner=partner_name,
                    step=word("alert_status", step),
                ),
            )
        )
    if has_step(session, alert_id, step):
        alert.duplicates_received += 1
        return False
    require_plausible(events={"at": at})
    if step is Step.ANSWERED and detail.get("answer") not in {a.value for a in Answer}:
        answer = str(detail.get("answer", ""))[:40]
        raise InvalidInput(
            FieldError.of(
                "answer",
                message("alerts.unknown_answer", "unknown answer {answer}", answer=repr(answer)),
            )
        )
    add_step(
        session,
        alert,
        step,
        at=at,
        actor=f"partner:{partner_name}",
        side=side,
        source="partner",
        detail=detail,
    )
    return True


def count_duplicates(session: Session, *, alert_ids: list[str], partner_id: str) -> None:
    """Copies of these alerts (or of their steps) came again and were dropped: count them."""
    for alert_id in alert_ids:
        alert = session.get(Alert, alert_id)
        if alert is not None and alert.partner_id == partner_id:
            alert.duplicates_received += 1


def acknowledge(
    session: Session, *, alert_id: str, actor: Principal, now: datetime | None = None
) -> Alert:
    """A person on the receiving side has seen the alert: escalation stops, the sender is told."""
    actor.require(Permission.ALERTS_RESPOND)
    lock_writes(session)
    alert = get_alert(session, alert_id=alert_id)
    _check_receiver(alert)
    if alert.acknowledged_at is not None:
        raise Conflict(
            message(
                "alerts.acknowledged_already", "alert {id} was acknowledged already", id=alert_id
            )
        )
    _acknowledge(session, alert, actor, now or utcnow())
    return alert


def _check_receiver(alert: Alert) -> None:
    if alert.direction != Direction.INBOUND:
        raise Conflict(
            message(
                "alerts.ours",
                "alert {id} is ours; {partner} acknowledges and answers it",
                id=alert.id,
                partner=alert.partner_name,
            ),
        )
    if alert.withdrawn_at is not None:
        raise Conflict(
            message(
                "alerts.withdrawn_by",
                "alert {id} was withdrawn by {partner}",
                id=alert.id,
                partner=alert.partner_name,
            )
        )


def _acknowledge(session: Session, alert: Alert, actor: Principal, now: datetime) -> None:
    add_step(
        session,
        alert,
        Step.ACKNOWLEDGED,
        at=now,
        actor=actor.username,
        side=alert.to_side,
        source="local",
    )


def answer(
    session: Session,
    *,
    alert_id: str,
    data: AnswerIn,
    actor: Principal,
    now: datetime | None = None,
) -> Alert:
    """Answer an inbound alert (acknowledging it first if nobody had)."""
    actor.require(Permission.ALERTS_RESPOND)
    lock_writes(session)
    alert = get_alert(session, alert_id=alert_id)
    _check_receiver(alert)
    if alert.answered_at is not None:
        raise Conflict(
            message(
                "alerts.answered_already",
                "alert {id} was answered already ({answer})",
                id=alert_id,
                answer=word("answer", alert.answer),
            )
        )
    now = now or utcnow()
    if alert.acknowledged_at is None:
        _acknowledge(session, alert, actor, now)
    add_step(
        session,
        alert,
        Step.ANSWERED,
        at=now,
        actor=actor.username,
        side=alert.to_side,
        source="local",
        detail={"answer": data.answer.value, **({"text": data.text} if data.text else {})},
    )
    return alert
