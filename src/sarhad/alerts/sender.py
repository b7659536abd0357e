"""The sender's side of an alert: raise it (TLP by ``core.markings``), note delivery, withdraw."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.alerts.lifecycle import add_step, first_deadline, place
from sarhad.alerts.models import Alert
from sarhad.alerts.ports import Counterpart
from sarhad.alerts.reading import get_alert
from sarhad.alerts.schemas import AlertIn, WithdrawIn, default_deadlines
from sarhad.alerts.taxonomy import Direction, Status, Step
from sarhad.border import BorderProfile
from sarhad.core.auth import Permission, Principal
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.errors import Conflict, FieldError, InvalidInput
from sarhad.core.i18n import message
from sarhad.core.markings import may_go


def raise_alert(
    session: Session,
    *,
    data: AlertIn,
    counterpart: Counterpart,
    known_incidents: Callable[[Session, Iterable[str]], set[str]],
    actor: Principal,
    profile: BorderProfile,
    from_side: str,
    now: datetime | None = None,
) -> Alert:
    """Store a new outbound alert with the deadlines its priority implies, and its outbox row."""
    actor.require(Permission.ALERTS_RAISE)
    now = now or utcnow()
    cp = counterpart
    if not cp.active:
        raise Conflict(
            message("alerts.partner_inactive", "partner {name} is not active", name=cp.name),
            hint=message("alerts.partner_inactive.hint", "'sarhad partners update --active' first"),
        )
    problems: list[FieldError] = []
    marking = may_go(data.tlp, cp.max_tlp)
    if not marking.ok:
        problems.append(FieldError("tlp", marking.text))
    valid_from = data.valid_from or now
    valid_until = data.valid_until or valid_from + timedelta(hours=24)
    if valid_until <= valid_from:
        problems.append(
            FieldError(
                "valid_until", message("alerts.until_before_from", "must be after valid_from")
            )
        )
    if valid_until <= now:
        problems.append(
            FieldError(
                "valid_until",
                message("alerts.until_past", "is in the past: the alert would be void"),
            )
        )
    known = known_incidents(session, data.incident_ids) if data.incident_ids else set()
    missing = [i for i in data.incident_ids if i not in known]
    if missing:
        problems.append(
            FieldError(
                "incident_ids",
                message(
                    "error.no_such_incidents",
                    "no such incident here: {ids}",
                    ids=", ".join(missing),
                ),
            )
        )
    terms = cp.deadlines.get(data.priority.value) or default_deadlines()[data.priority.value]
    alert = Alert(
        id=str(uuid.uuid4()),
        direction=Direction.OUTBOUND.value,
        partner_id=cp.partner_id,
        partner_name=cp.name,
        from_side=from_side,
        to_side=cp.country,
        priority=data.priority.value,
        kind=data.kind.value,
        tlp=data.tlp.value,
        status=Status.QUEUED.value,
        text=data.text,
        valid_from=valid_from,
        valid_until=valid_until,
        incident_ids=list(data.incident_ids),
        created_at=now,
        created_by=actor.username,
        ack_by=now + timedelta(minutes=terms.acknowledge_minutes),
        answer_by=now + timedelta(minutes=terms.answer_minutes),
        escalation_level=0,
        version=0,
        updated_at=now,
    )
    alert.next_escalation_at = alert.ack_by
    problems += place(
        alert,
        sector=data.sector,
        lon=data.location.lon if data.location else None,
        lat=data.location.lat if data.location else None,
        profile=profile,
    )
    if problems:
        raise InvalidInput(problems)
    lock_writes(session)
    session.add(alert)
    session.flush()  # the alert row before the rows that point at it
    first_deadline(session, alert)
    add_step(
        session,
        alert,
        Step.RAISED,
        at=now,
        actor=actor.username,
        side=from_side,
        source="local",
        detail={"kind": alert.kind, "sector": alert.sector_id, "ack_by": alert.ack_by.isoformat()},
    )
    return alert


def mark_delivered(session: Session, *, alert_ids: Iterable[str], at: datetime) -> list[str]:
    """Note that the partner's node took these outbound alerts (the POST succeeded)."""
    done: list[str] = []
    ids = list(alert_ids)
    if not ids:
        return done
    for alert in session.scalars(
        select(Alert).where(
            Alert.id.in_(ids),
            Alert.direction == Direction.OUTBOUND.value,
            Alert.delivered_at.is_(None),
        )
    ):
        add_step(
            session,
            alert,
            Step.DELIVERED,
            at=at,
            actor="courier",
            side=alert.from_side,
            source="local",
        )
        done.append(alert.id)
    return done


def withdraw(
    session: Session,
    *,
    alert_id: str,
    data: WithdrawIn,
    actor: Principal,
    now: datetime | None = None,
) -> Alert:
    """The sender withdraws an alert; the partner is told and escalation stops."""
    actor.require(Permission.ALERTS_RAISE)
    lock_writes(session)
    alert = get_alert(session, alert_id=alert_id)
    if alert.direction != Direction.OUTBOUND:
        raise Conflict(
            message(
                "alerts.not_ours",
                "alert {id} was raised by {partner}; only they withdraw it",
                id=alert_id,
                partner=alert.partner_name,
            )
        )
    if alert.withdrawn_at is not None:
        raise Conflict(
            message("alerts.withdrawn_already", "alert {id} was withdrawn already", id=alert_id)
        )
    now = now or utcnow()
    add_step(
        session,
        alert,
        Step.WITHDRAWN,
        at=now,
        actor=actor.username,
        side=alert.from_side,
        source="local",
        detail={"reason": data.reason},
    )
    return alert
