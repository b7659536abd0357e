"""Alert service functions: raise, receive, acknowledge, answer, withdraw, escalate, list.

Every step is a row in ``alert_steps``, a change-log row (the live feed and federation read
it) and an audit entry, written in the caller's transaction after ``lock_writes``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from sarhad.alerts.models import Alert, AlertStep
from sarhad.alerts.ports import Counterpart
from sarhad.alerts.schemas import (
    AlertIn,
    AlertOut,
    AnswerIn,
    Placement,
    StepOut,
    WithdrawIn,
    default_deadlines,
)
from sarhad.alerts.taxonomy import ESCALATE_TO, PARTNER_STEPS, Answer, Direction, Status, Step
from sarhad.border import BorderProfile
from sarhad.core.auth import Permission, Principal
from sarhad.core.db import Database, lock_writes, utcnow
from sarhad.core.errors import Conflict, FieldError, InvalidInput, NotFound
from sarhad.core.feed import in_batches
from sarhad.core.journal import record
from sarhad.core.markings import may_go
from sarhad.core.pagination import check_limit, decode_cursor, encode_cursor
from sarhad.core.times import require_plausible

ENTITY = "alert"
#: The shortest escalation period, whatever the deadline (a guard against a tight loop).
MIN_PERIOD = timedelta(seconds=1)


# --- helpers ---------------------------------------------------------------------------


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


def _open(alert: Alert) -> bool:
    return alert.acknowledged_at is None and alert.withdrawn_at is None


def _apply(alert: Alert, step: Step, at: datetime, detail: dict[str, Any]) -> None:
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


def _add_step(
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
    _apply(alert, step, at, detail or {})
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


def _has_step(session: Session, alert_id: str, step: Step) -> bool:
    return (
        session.scalar(
            select(AlertStep.seq).where(AlertStep.alert_id == alert_id, AlertStep.step == step)
        )
        is not None
    )


def get_alert(session: Session, *, alert_id: str) -> Alert:
    """The alert with ``alert_id``, or ``NotFound``."""
    row = session.get(Alert, alert_id)
    if row is None:
        raise NotFound(f"no alert {alert_id}", hint="list alerts with 'sarhad alerts list'")
    return row


def resolve_id(session: Session, *, prefix: str) -> str:
    """The full id of the one alert whose id starts with ``prefix`` (as lists show them)."""
    ids = list(session.scalars(select(Alert.id).where(Alert.id.like(f"{prefix}%")).limit(2)))
    if len(ids) != 1:
        raise InvalidInput(
            FieldError("alert_id", "no alert starts so" if not ids else "ambiguous; give more")
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
        overdue=_open(alert) and now >= alert.ack_by,
        version=alert.version,
        steps=[StepOut.model_validate(s) for s in steps] if steps is not None else None,
    )


def _place(
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
            problems.append(FieldError("sector", f"{exc.message} ({exc.hint})"))
    if lon is not None and lat is not None:
        try:  # an alert is about the border: no mark lets a point lie farther off
            loc, _on_line = profile.locate_record(lon, lat)
        except InvalidInput as exc:
            return [
                *problems,
                *(FieldError(e.field, f"{e.message}; {exc.hint}") for e in exc.errors),
            ]
        if sector is not None and not problems and loc.sector != sector:
            problems.append(
                FieldError("sector", f"the location is in {loc.sector}, not in {sector}")
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


# --- the sender ------------------------------------------------------------------------


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
    """Store a new outbound alert with the deadlines its priority implies; the courier sends it."""
    actor.require(Permission.ALERTS_RAISE)
    now = now or utcnow()
    cp = counterpart
    if not cp.active:
        raise Conflict(
            f"partner {cp.name} is not active", hint="'sarhad partners update --active' first"
        )
    problems: list[FieldError] = []
    marking = may_go(data.tlp, cp.max_tlp)
    if not marking.ok:
        problems.append(FieldError("tlp", marking.text))
    valid_from = data.valid_from or now
    valid_until = data.valid_until or valid_from + timedelta(hours=24)
    if valid_until <= valid_from:
        problems.append(FieldError("valid_until", "must be after valid_from"))
    if valid_until <= now:
        problems.append(FieldError("valid_until", "is in the past: the alert would be void"))
    known = known_incidents(session, data.incident_ids) if data.incident_ids else set()
    missing = [i for i in data.incident_ids if i not in known]
    if missing:
        problems.append(FieldError("incident_ids", f"no such incident here: {', '.join(missing)}"))
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
    problems += _place(
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
    _add_step(
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
    done = []
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
        _add_step(
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
            f"alert {alert_id} was raised by {alert.partner_name}; only they withdraw it"
        )
    if alert.withdrawn_at is not None:
        raise Conflict(f"alert {alert_id} was withdrawn already")
    now = now or utcnow()
    _add_step(
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


# --- the receiver ----------------------------------------------------------------------


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
                FieldError("id", f"alert {data.id} is not one {partner_name} raised")
            )
        return existing, False
    if data.ack_by < data.created_at or data.answer_by < data.ack_by:
        raise InvalidInput(FieldError("deadlines", "acknowledge_by/answer_by out of order"))
    if data.valid_until <= data.valid_from:
        raise InvalidInput(FieldError("valid_until", "must be after valid_from"))
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
    problems = _place(alert, sector=data.sector, lon=data.lon, lat=data.lat, profile=profile)
    if problems:
        raise InvalidInput(problems)
    session.add(alert)
    actor = f"partner:{partner_name}"
    _add_step(
        session,
        alert,
        Step.RAISED,
        at=data.created_at,
        actor=actor,
        side=data.from_side,
        source="partner",
        detail={"kind": alert.kind, "sector": alert.sector_id},
    )
    _add_step(session, alert, Step.RECEIVED, at=now, actor="inbox", side=to_side, source="local")
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
            FieldError("alert_ref", f"no alert {alert_id} exchanged with {partner_name}")
        )
    if step not in PARTNER_STEPS[Direction(alert.direction)]:
        raise InvalidInput(
            FieldError("step", f"{partner_name} may not send '{step.value}' on this alert")
        )
    if _has_step(session, alert_id, step):
        return False
    require_plausible(events={"at": at})
    if step is Step.ANSWERED and detail.get("answer") not in {a.value for a in Answer}:
        answer = str(detail.get("answer", ""))[:40]
        raise InvalidInput(FieldError("answer", f"unknown answer {answer!r}"))
    _add_step(
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


def acknowledge(
    session: Session, *, alert_id: str, actor: Principal, now: datetime | None = None
) -> Alert:
    """A person on the receiving side has seen the alert: escalation stops, the sender is told."""
    actor.require(Permission.ALERTS_RESPOND)
    lock_writes(session)
    alert = get_alert(session, alert_id=alert_id)
    _check_receiver(alert)
    if alert.acknowledged_at is not None:
        raise Conflict(f"alert {alert_id} was acknowledged already")
    _acknowledge(session, alert, actor, now or utcnow())
    return alert


def _check_receiver(alert: Alert) -> None:
    if alert.direction != Direction.INBOUND:
        raise Conflict(
            f"alert {alert.id} is ours; {alert.partner_name} acknowledges and answers it",
        )
    if alert.withdrawn_at is not None:
        raise Conflict(f"alert {alert.id} was withdrawn by {alert.partner_name}")


def _acknowledge(session: Session, alert: Alert, actor: Principal, now: datetime) -> None:
    _add_step(
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
        raise Conflict(f"alert {alert_id} was answered already ({alert.answer})")
    now = now or utcnow()
    if alert.acknowledged_at is None:
        _acknowledge(session, alert, actor, now)
    _add_step(
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


# --- escalation ------------------------------------------------------------------------


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
        _add_step(
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


# --- reading ---------------------------------------------------------------------------


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
