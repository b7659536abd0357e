"""Closure and reopening alerts: a ``crossing_closure`` alert to every partner sharing status.

Priority follows the urgency of the change (the alerts room turns it into the agreed
acknowledge and answer deadlines): an unplanned closure after a security incident is
``immediate``; other unplanned closures, restrictions and reopenings are ``priority``;
changes announced more than ``PLANNED_AHEAD`` in advance are ``routine``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sarhad.alerts import sender as alerts
from sarhad.alerts.models import Alert
from sarhad.alerts.schemas import AlertIn, Point
from sarhad.alerts.taxonomy import Kind, Priority
from sarhad.border import BorderProfile
from sarhad.border.model import Place
from sarhad.core.auth import Principal
from sarhad.core.i18n import Text, define
from sarhad.core.labels import word
from sarhad.core.markings import TLP, may_go
from sarhad.crossings.models import Declaration
from sarhad.crossings.ports import CrossingPorts
from sarhad.crossings.taxonomy import Reason, Status

#: A change that takes effect later than this after it is declared counts as planned.
PLANNED_AHEAD = timedelta(hours=1)
#: How long an alert about an open-ended change stays valid.
OPEN_ENDED_VALIDITY = timedelta(hours=24)


# The alert's text is written from these templates (codes and params), in English on the wire,
# so that a partner of any version reads it; ``closure_text`` finds the code and params in it
# again, so that each node words the alert in its reader's language. (Sending the code beside
# the text would need a new field in the alert object, which older partners refuse.)
CHANGE = define(
    "crossings.alert.change",
    "{place} ({place_id}): {side} side {change} from {start}, {until}. Reason: {reason}.",
)
REOPENS = define(
    "crossings.alert.reopens",
    "{place} ({place_id}): {side} side reopens at {end}; the {status} declared from {start} "
    "({reason}) ends.",
)
CHANGES = {
    "closed": define("crossings.alert.closed", "closed"),
    "restricted": define("crossings.alert.restricted", "restricted"),
    "reopened": define("crossings.alert.reopened", "reopened"),
}
UNTIL = define("crossings.alert.until", "until {date}")
UNTIL_OPEN = define("crossings.alert.until_open", "until further notice")
REASONS = {
    "security_incident": define("crossings.reason.security_incident", "security incident"),
    "protest": define("crossings.reason.protest", "protest"),
    "policy_decision": define("crossings.reason.policy_decision", "policy decision"),
    "holiday": define("crossings.reason.holiday", "holiday"),
    "weather": define("crossings.reason.weather", "weather"),
    "maintenance": define("crossings.reason.maintenance", "maintenance"),
    "other": define("crossings.reason.other", "other"),
}


def _reason(code: str) -> Text | str:
    return Text(f"crossings.reason.{code}") if code in REASONS else code.replace("_", " ")


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    body = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    return re.compile(f"^{body}(?: (?P<note>.*))?$", re.S)


_PATTERNS = {
    "crossings.alert.change": _pattern(CHANGE),
    "crossings.alert.reopens": _pattern(REOPENS),
}


def closure_text(text: str) -> tuple[Text, str] | None:
    """The code and params of a closure alert's text written by ``on_declared`` or
    ``on_reopened`` (ours or a partner's), and the declaration's note after it (as written);
    None for any other text."""
    for code, pattern in _PATTERNS.items():
        found = pattern.match(text)
        if found is None:
            continue
        params: dict[str, Any] = {k: v for k, v in found.groupdict().items() if k != "note"}
        by_english = {v: k for k, v in REASONS.items()}
        if params.get("reason") in by_english:
            params["reason"] = Text(f"crossings.reason.{by_english[params['reason']]}")
        if params.get("change") in CHANGES:
            params["change"] = Text(f"crossings.alert.{params['change']}")
        if params.get("status") in ("closed", "restricted"):
            params["status"] = Text(f"crossings.alert.{params['status']}")
        if isinstance(params.get("side"), str):  # PK, IR: the side's name in the reader's words
            params["side"] = word("side", params["side"])
        until = params.get("until")
        if until == UNTIL_OPEN:
            params["until"] = Text("crossings.alert.until_open")
        elif isinstance(until, str) and until.startswith("until "):
            params["until"] = Text("crossings.alert.until", {"date": until.removeprefix("until ")})
        return Text(code, params), found.group("note") or ""
    return None


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
        Text("crossings.alert.until", {"date": _when(row.ends_at, profile, row.side)})
        if row.ends_at
        else Text("crossings.alert.until_open")
    )
    verb = row.status if closure else "reopened"
    text: str = Text(
        "crossings.alert.change",
        {
            "place": place.name("en"),
            "place_id": place.id,
            "side": row.side,
            "change": Text(f"crossings.alert.{verb}") if verb in CHANGES else verb,
            "start": _when(row.starts_at, profile, row.side),
            "until": until,
            "reason": _reason(row.reason),
        },
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
    text = Text(
        "crossings.alert.reopens",
        {
            "place": place.name("en"),
            "place_id": place.id,
            "side": row.side,
            "end": _when(row.ends_at, profile, row.side),
            "status": Text(f"crossings.alert.{row.status}")
            if row.status in CHANGES
            else row.status,
            "start": _when(row.starts_at, profile, row.side),
            "reason": _reason(row.reason),
        },
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
