"""Schemathesis hooks of test_schemathesis.py: the few rules the OpenAPI document cannot state.

JSON Schema judges each value on its own. A few rules of this API relate a value to another
(an end after its start), to the clock (no throughput for tomorrow) or to what the node holds
(the partner an alert goes to, the incidents it cites, a paging cursor it issued). A request
that breaks one of them is refused with a 422 naming the field, rightly, and yet schemathesis,
reading only the document, counts it as valid data.

So each hook below takes a case schemathesis generated as *valid* (positive) and makes it keep
the one rule, leaving every other value as generated: positive data acceptance stays checked
on real requests instead of being switched off. Negative cases are never touched. Each rule's
own refusal is tested where the rule lives (tests/alerts, tests/crossings, ...).

Loaded by the schemathesis command (``SCHEMATHESIS_HOOKS``); ``SARHAD_CONTRACT`` (JSON) names
the records the test stored first: a partner and an incident.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import schemathesis

KNOWN: dict[str, str] = json.loads(os.environ.get("SARHAD_CONTRACT", "{}"))
RULES: dict[str, Callable[[Any], None]] = {}


def rule(*labels: str) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    """Register a fix for the positive cases of the operations ``labels`` ("POST /api/v1/...")."""

    def register(fix: Callable[[Any], None]) -> Callable[[Any], None]:
        for label in labels:
            RULES[label] = fix
        return fix

    return register


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _later(start: datetime, hours: int = 1) -> datetime:
    """An hour (or ``hours``) after ``start``, or ``start`` itself at the end of the calendar."""
    try:
        return start + timedelta(hours=hours)
    except OverflowError:
        return start


def _cited(body: dict[str, Any]) -> None:
    """Incidents cited must exist on the node: cite the one the test stored."""
    if body.get("incident_ids"):
        body["incident_ids"] = [KNOWN["incident"]]


#: Plausible times (core.times): what happened lies between 1989 and now; what is planned,
#: at most two years ahead. A date-time in JSON Schema has no minimum, let alone "now".
FLOOR = datetime(1989, 1, 1, tzinfo=UTC)
HORIZON = timedelta(days=700)
#: A point on the line (Taftan): a record's point must lie near the line (the profile's
#: max_km_from_line), which no bounds on longitude and latitude can state.
NEAR = {"lon": 61.6, "lat": 28.95}


def _within(body: dict[str, Any], key: str, *, planned: bool = False) -> None:
    """Bring the time at ``key`` into the plausible window, keeping its value when it is."""
    moment = _moment(body.get(key))
    if moment is None:
        return
    now = datetime.now(UTC)
    latest = now + HORIZON if planned else now
    if not FLOOR <= moment <= latest:
        body[key] = _iso(now)


def _near_the_line(body: dict[str, Any]) -> None:
    place = body.get("location")
    if isinstance(place, dict):
        place.update(NEAR)


@rule("POST /api/v1/alerts")
def _alert(case: Any) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    body["partner"] = KNOWN["partner"]  # an alert goes to a partner the node has
    # The partner's agreement sets the highest TLP an alert may carry, and the run itself may
    # lower it to CLEAR (PUT .../agreement): CLEAR is within every agreement.
    body["tlp"] = "clear"
    _cited(body)
    if body.get("sector") is not None and body.get("location") is not None:
        del body["sector"]  # both given, they must agree; the point decides
    _near_the_line(body)
    _within(body, "valid_from", planned=True)
    _within(body, "valid_until", planned=True)
    now = datetime.now(UTC)
    start = _moment(body.get("valid_from")) or now
    end = _moment(body.get("valid_until")) or _later(start, 24)
    if end <= max(start, now):  # after valid_from, and not over before it is sent
        body["valid_until"] = _iso(_later(max(start, now), 24))


@rule("POST /api/v1/crossings/declarations")
def _declaration(case: Any) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    _cited(body)
    _within(body, "starts_at", planned=True)
    _within(body, "ends_at", planned=True)
    start = _moment(body.get("starts_at")) or datetime.now(UTC) + timedelta(minutes=5)
    end = _moment(body.get("ends_at"))
    if end is not None and end <= start:
        later = _later(start)
        if later > start:
            body["ends_at"] = _iso(later)
        else:
            del body["ends_at"]


@rule("POST /api/v1/crossings/throughput")
def _throughput(case: Any) -> None:
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("day"), str):
        today = datetime.now(UTC).date()
        day = date.fromisoformat(body["day"])
        if not FLOOR.date() <= day <= today:  # figures are for days that are over, since 1989
            body["day"] = (today - timedelta(days=1)).isoformat()


@rule("POST /api/v1/crossings/throughput/import")
def _throughput_csv(case: Any) -> None:
    # Rows of a CSV are beyond JSON Schema: send a valid file, its counts drawn from the text.
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    count = len(case.body) if isinstance(case.body, str | bytes) else 0
    case.body = f"crossing,date,vehicles\ntaftan-mirjaveh,{yesterday},{count}\n"


@rule("PUT /api/v1/crossings/{crossing}/hours")
def _hours(case: Any) -> None:
    body = case.body
    if not isinstance(body, dict) or not {"opens", "closes"} <= body.keys():
        return
    opens, closes = sorted([body["opens"], body["closes"]])
    if opens == closes:  # closing after opening, the same day
        opens, closes = ("00:00", closes) if closes != "00:00" else ("00:00", "24:00")
    body["opens"], body["closes"] = opens, closes


@rule("PUT /api/v1/partners/{name}/agreement")
def _agreement(case: Any) -> None:
    body = case.body
    deadlines = body.get("alert_deadlines") if isinstance(body, dict) else None
    for terms in (deadlines or {}).values():
        if isinstance(terms, dict) and terms.get("answer_minutes", 0) < terms.get(
            "acknowledge_minutes", 0
        ):
            terms["answer_minutes"] = terms["acknowledge_minutes"]  # answer no sooner than ack


@rule("POST /api/v1/patrols/plans")
def _plan(case: Any) -> None:
    # Planning a day runs a solver for seconds to minutes by the size asked for; its bounds are
    # a matter of the planner (tests/patrols). Small plans keep this run within minutes.
    body = case.body
    if not isinstance(body, dict):
        return
    body["coordinated"] = False
    body["day"] = datetime.now(UTC).date().isoformat()  # within the node's planning window
    for key in ("teams", "partner_teams"):
        if isinstance(body.get(key), int | float) and not isinstance(body.get(key), bool):
            body[key] = min(int(body[key]), 5)


@rule("POST /api/v1/incidents", "PATCH /api/v1/incidents/{incident_id}")
def _incident(case: Any) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    _within(body, "occurred_at")
    if isinstance(body.get("location"), dict) and body.get("far_from_line") is not True:
        _near_the_line(body)  # or far_from_line, the API's own way to keep a far point


@rule("POST /api/v1/news/candidates/{candidate_id}/accept")
def _accepted_incident(case: Any) -> None:
    """An analyst's edited incident keeps the incident's own rules (time, place); an edited
    crossing declaration keeps the declaration's (its times)."""
    if isinstance(case.body, dict) and isinstance(case.body.get("incident"), dict):
        _incident(type("Edited", (), {"body": case.body["incident"]})())
    if isinstance(case.body, dict) and isinstance(case.body.get("declaration"), dict):
        _declaration(type("Edited", (), {"body": case.body["declaration"]})())


@rule("POST /api/v1/news/articles")
def _article(case: Any) -> None:
    """An article is published by now (what happened lies in the past, core.times)."""
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("published"), str):
        try:
            published = date.fromisoformat(body["published"])
        except ValueError:
            return
        if published > datetime.now(UTC).date() or published.year < 1989:
            body["published"] = datetime.now(UTC).date().isoformat()


@rule("POST /api/v1/crossings/declarations/{declaration_id}/end")
def _end(case: Any) -> None:
    if isinstance(case.body, dict):
        _within(case.body, "at", planned=True)


@rule("GET /api/v1/alerts")
def _no_cursor(case: Any) -> None:
    if isinstance(case.query, dict):
        case.query.pop("cursor", None)  # opaque: a valid one only ever comes from the page before


@rule("GET /api/v1/incidents")
def _incident_filters(case: Any) -> None:
    _no_cursor(case)
    box = case.query.get("bbox") if isinstance(case.query, dict) else None
    if isinstance(box, str) and box.count(",") == 3:  # the minimum first, the maximum second
        w, s, e, n = box.split(",")
        w, e = sorted((w, e), key=float)
        s, n = sorted((s, n), key=float)
        case.query["bbox"] = ",".join((w, s, e, n))


@rule("POST /api/v1/keys/known", "POST /api/v1/partners/{name}/keys")
def _key(case: Any) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    # The fingerprint read out must be the key's own (a key the document cannot know), and a
    # key's window must end after it begins.
    body.pop("fingerprint", None)
    start, end = _moment(body.get("valid_from")), _moment(body.get("valid_until"))
    if start is not None and end is not None and end <= start:
        body["valid_until"] = _iso(_later(start)) if _later(start) > start else None


@rule(
    "POST /api/v1/keys/known/{key_id}/revoke", "POST /api/v1/partners/{name}/keys/{key_id}/revoke"
)
def _revocation(case: Any) -> None:
    if isinstance(case.body, dict):
        _within(case.body, "at")  # a revocation takes effect now or earlier


# Registered last, for the operations above only (a case hook on every operation would slow
# the generation of the others for nothing).
@schemathesis.hook("map_case").apply_to(name=sorted(RULES))
def keep_the_unstated_rules(_context: schemathesis.HookContext, case: Any) -> Any:
    """Make a positive case keep the rules of its operation that the document cannot state."""
    meta = case.meta
    if meta is not None and meta.generation.mode.is_positive:
        RULES.get(case.operation.label, _nothing)(case)
    return case


def _nothing(_case: Any) -> None:
    return None


KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # what core.idempotency takes as a key


@schemathesis.hook
def before_call(_context: schemathesis.HookContext, case: Any, **_kwargs: Any) -> None:
    """A client sends a new Idempotency-Key for each new request (the document says so); a key
    seen before with another request is refused with a 422, rightly, and generation repeats
    values. A key that is itself malformed (a negative case) is left as generated."""
    headers = case.headers or {}  # a mapping, not always a dict
    for name, value in list(headers.items()):
        if name.lower() == "idempotency-key" and isinstance(value, str) and KEY.match(value):
            headers[name] = str(uuid.uuid4())
