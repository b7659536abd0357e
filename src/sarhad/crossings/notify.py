"""Closure and reopening alerts: a ``crossing_closure`` alert to every partner sharing status.

Priority follows the urgency of the change (the alerts room turns it into the agreed
acknowledge and answer deadlines): an unplanned closure after a security incident is
``immediate``; other unplanned closures, restrictions and reopenings are ``priority``;
changes announced more than ``PLANNED_AHEAD`` in advance are ``routine``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from sarhad.alerts import sender as alerts
from sarhad.alerts.models import Alert
from sarhad.alerts.schemas import AlertIn, Point
from sarhad.alerts.taxonomy import Kind, Priority
from sarhad.border import BorderProfile
from sarhad.border.model import Place
from sarhad.core.auth import Principal
from sarhad.core.markings import TLP, may_go
from sarhad.crossings.models import Declaration
from sarhad.crossings.ports import CrossingPorts
from sarhad.crossings.taxonomy import Reason, Status

#: A change that takes effect later than this after it is declared counts as planned.
PLANNED_AHEAD = timedelta(hours=1)
#: How long an alert about an open-ended change stays valid.
OPEN_ENDED_VALIDITY = timedelta(hours=24)


def _priority(*, closure: bool, reason: str, starts: datetime, now: datetime) -> Priority:
    if starts > now + PLANNED_AHEAD:
        return Priority.ROUTINE
    if closure and reason == Reason.SECURITY_INCIDENT:
        return Priority.IMMEDIATE
    return Priority.PRIORITY


def _when(at: datetime, profile: BorderProfile, side: str) -> str:
    t = at.astimezone(profile.local_time(side))
    return f"{t:%Y-%m-%d %H:%M} {t.tzname()}"


def _send(
    session: Session,
    *,
    text: str,
    priority: Priority,
    row: Declaration,
    place: Place,
    valid_from: datetime,
    valid_until: datetime,
    ports: CrossingPorts,
    actor: Principal,
    profile: BorderProfile,
    now: datetime,
) -> list[Alert]:
    sent = []
    for name in ports.partners(session):
        counterpart = ports.alerts.counterpart(session, name)
        tlp = TLP(row.tlp)
        if not may_go(tlp, counterpart.max_tlp).ok:
            continue  # the declaration itself does not go to this partner either
        data = AlertIn(
            partner=name,
            priority=priority,
            kind=Kind.CROSSING_CLOSURE,
            text=text[:4000],
            location=Point(lon=place.lon, lat=place.lat),
            valid_from=valid_from,
            valid_until=max(valid_until, now + timedelta(hours=1)),
            incident_ids=list(row.incident_ids or []),
            tlp=tlp,
        )
        sent.append(
            alerts.raise_alert(
                session,
                data=data,
                counterpart=counterpart,
                known_incidents=ports.alerts.known_incidents,
                actor=actor,
                profile=profile,
                from_side=row.side,
                now=now,
            )
        )
    return sent


def on_declared(
    session: Session,
    *,
    row: Declaration,
    place: Place,
    before: str | None,
    ports: CrossingPorts,
    actor: Principal,
    profile: BorderProfile,
    now: datetime,
) -> list[Alert]:
    """Alert partners about a new declaration that closes, restricts or reopens a gate.

    ``before`` is the status declared just before it took effect (None: regular hours).
    """
    closure = row.status in (Status.CLOSED, Status.RESTRICTED)
    reopening = row.status == Status.OPEN and before in (Status.CLOSED, Status.RESTRICTED)
    if not (closure and before != row.status) and not reopening:
        return []
    until = (
        f"until {_when(row.ends_at, profile, row.side)}" if row.ends_at else "until further notice"
    )
    verb = row.status if closure else "reopened"
    text = (
        f"{place.name('en')} ({place.id}): {row.side} side {verb} from "
        f"{_when(row.starts_at, profile, row.side)}, {until}. Reason: "
        f"{row.reason.replace('_', ' ')}."
    )
    if row.note:
        text += f" {row.note}"
    return _send(
        session,
        text=text,
        priority=_priority(closure=closure, reason=row.reason, starts=row.starts_at, now=now),
        row=row,
        place=place,
        valid_from=max(row.starts_at, now),
        valid_until=row.ends_at or max(row.starts_at, now) + OPEN_ENDED_VALIDITY,
        ports=ports,
        actor=actor,
        profile=profile,
        now=now,
    )


def on_reopened(
    session: Session,
    *,
    row: Declaration,
    place: Place,
    ports: CrossingPorts,
    actor: Principal,
    profile: BorderProfile,
    now: datetime,
) -> list[Alert]:
    """Alert partners that a closure or restriction ends (the gate reopens) at its end."""
    assert row.ends_at is not None
    text = (
        f"{place.name('en')} ({place.id}): {row.side} side reopens at "
        f"{_when(row.ends_at, profile, row.side)}; the {row.status} declared from "
        f"{_when(row.starts_at, profile, row.side)} ({row.reason.replace('_', ' ')}) ends."
    )
    return _send(
        session,
        text=text,
        priority=_priority(closure=False, reason=row.reason, starts=row.ends_at, now=now),
        row=row,
        place=place,
        valid_from=max(row.ends_at, now),
        valid_until=max(row.ends_at, now) + OPEN_ENDED_VALIDITY,
        ports=ports,
        actor=actor,
        profile=profile,
        now=now,
    )
