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


@rule("POST /api/v1/alerts")
def _alert(case: Any) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    body["partner"] = KNOWN["partner"]  # an alert goes to a partner the node has
    if body.get("tlp") == "amber+strict":  # the partner's agreement allows up to amber
        body["tlp"] = "amber"
    _cited(body)
    if body.get("sector") is not None and body.get("location") is not None:
        del body["sector"]  # both given, they must agree; the point decides
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
        if date.fromisoformat(body["day"]) > today:  # figures are for days that are over
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
    for key in ("teams", "partner_teams"):
        if isinstance(body.get(key), int | float) and not isinstance(body.get(key), bool):
            body[key] = min(int(body[key]), 5)


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


# Registered last, for the operations above only (a case hook on every operation would slow
# the generation of the others for nothing).
@schemathesis.hook("map_case").apply_to(name=sorted(RULES))
def keep_the_unstated_rules(_context: schemathesis.HookContext, case: Any) -> Any:
    """Make a positive case keep the rules of its operation that the document cannot state."""
    meta = case.meta
    if meta is not None and meta.generation.mode.is_positive:
        RULES[case.operation.label](case)
    return case
