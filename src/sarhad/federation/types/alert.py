"""Liaison alerts as a shareable object type: two new STIX object types, one extension.

``sarhad-alert`` is the alert as its sender raised it (never re-versioned: later changes are
steps). ``sarhad-alert-step`` is one step taken by either side (received, acknowledged,
answered, withdrawn); its id is derived from (alert, step), so a step sent twice is one
object. Both are plain dicts on the way out, and go only to the partner an alert is addressed
to; on the way in they are checked strictly with pydantic (stix2 cannot parse types it does
not know) and stored by the alerts room, each in a savepoint of its own. An alert is marked
delivered once a push of it was taken. Mapping table: docs/stix-mapping.md.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.alerts import outbox, receiver
from sarhad.alerts.lifecycle import ENTITY as ALERT_ENTITY
from sarhad.alerts.models import Alert, AlertStep
from sarhad.alerts.receiver import InboundAlert
from sarhad.alerts.sender import mark_delivered
from sarhad.alerts.taxonomy import SHARED_STEPS, Answer, Direction, Kind, Priority, Step
from sarhad.core.errors import SarhadError
from sarhad.core.i18n import message
from sarhad.core.journal import audit
from sarhad.core.markings import TLP, Family, may_go
from sarhad.federation.identity import EXTENSION_AUTHOR
from sarhad.federation.stix.core import (
    SCHEMA_DIR,
    TLP_BY_ID,
    StixObject,
    parse_stix_timestamp,
    stix_timestamp,
)
from sarhad.federation.stix.envelope import internal
from sarhad.federation.stix.new_sdo import (
    UUID_PATTERN,
    NewSdo,
    extension_definition,
    extension_of,
    why,
)
from sarhad.federation.types.base import Arrival, Changed, Inbound, ObjectType, Outbound, stamp

log = logging.getLogger("sarhad.inbox")

ALERT_TYPE = "sarhad-alert"
STEP_TYPE = "sarhad-alert-step"
ALERT_TYPES = frozenset({ALERT_TYPE, STEP_TYPE})
ALERT_EXTENSION_ID = "extension-definition--5b0f3a8e-2d6c-4f1e-9a57-6c1d2b7e8f40"
"""The extension-definition of both alert types (generated once; never change it)."""
ALERT_EXTENSION_CREATED = "2026-11-23T00:00:00.000Z"
#: Version 2.0 renamed the step's ``at`` to ``taken_at``: STIX 2.1 property names have at
#: least 3 characters, so stix2-validator refused every 1.0 step. 1.0 steps are still read.
#: 2.1 added the originator's ``signature`` inside the extension's entry.
ALERT_EXTENSION_VERSION = "2.1"
ALERT_EXTENSION_MODIFIED = "2026-12-05T10:00:00.000Z"
ALERT_SCHEMA_PATH = SCHEMA_DIR / "extension-definition--5b0f3a8e-2d6c-4f1e-9a57-6c1d2b7e8f40.json"
ALERT_SCHEMA_URL = (
    "https://github.com/sarhad-project/sarhad/blob/main/"
    "src/sarhad/federation/schemas/extension-definition--5b0f3a8e-2d6c-4f1e-9a57-6c1d2b7e8f40.json"
)
STEP_NAMESPACE = uuid.UUID("0f1e4a55-7c3b-4d0a-8e62-4b9d21c7a3f1")
SHARED_STEP_VALUES = ("received", "acknowledged", "answered", "withdrawn")

_UUID = UUID_PATTERN
_IDENTITY = re.compile(rf"identity--{_UUID}")
_INCIDENT = re.compile(rf"incident--{_UUID}")
_TLP_BY_ID = TLP_BY_ID


def alert_extension_definition(*, created_by_ref: str) -> dict[str, Any]:
    """The extension-definition of the two alert types (fixed id and timestamps)."""
    return extension_definition(
        id_=ALERT_EXTENSION_ID,
        created=ALERT_EXTENSION_CREATED,
        name="sarhad-liaison-alert",
        description=(
            "Liaison alerts between border agencies (sarhad-alert) and the steps either side "
            "takes on them (sarhad-alert-step): priority, kind, place on the border, validity, "
            "response deadlines, acknowledgement and answer."
        ),
        schema=ALERT_SCHEMA_URL,
        created_by_ref=created_by_ref,
        version=ALERT_EXTENSION_VERSION,
        modified=ALERT_EXTENSION_MODIFIED,
    )


def step_stix_id(alert_id: str, step: str) -> str:
    """The id of the (only) ``step`` of an alert: the same on every try."""
    return f"{STEP_TYPE}--{uuid.uuid5(STEP_NAMESPACE, f'{alert_id}/{step}')}"


def _ext() -> dict[str, Any]:
    return extension_of(ALERT_EXTENSION_ID)


def alert_to_stix(alert: Alert, *, identity_id: str, incident_refs: list[str]) -> dict[str, Any]:
    """The ``sarhad-alert`` object of an outbound alert."""
    created = stix_timestamp(alert.created_at)
    obj: dict[str, Any] = {
        "type": ALERT_TYPE,
        "spec_version": "2.1",
        "id": f"{ALERT_TYPE}--{alert.id}",
        "created_by_ref": identity_id,
        "created": created,
        "modified": created,
        "priority": alert.priority,
        "kind": alert.kind,
        "text": alert.text,
        "from_side": alert.from_side,
        "to_side": alert.to_side,
        "valid_from": stix_timestamp(alert.valid_from),
        "valid_until": stix_timestamp(alert.valid_until),
        "acknowledge_by": stix_timestamp(alert.ack_by),
        "answer_by": stix_timestamp(alert.answer_by),
        "object_marking_refs": [TLP(alert.tlp).stix_id],
        "extensions": _ext(),
    }
    if alert.sector_id:
        obj["sector"] = alert.sector_id
    if alert.lon is not None and alert.lat is not None:
        obj["longitude"], obj["latitude"] = alert.lon, alert.lat
    if incident_refs:
        obj["incident_refs"] = incident_refs
    return obj


def step_to_stix(step: AlertStep, alert: Alert, *, identity_id: str) -> dict[str, Any]:
    """The ``sarhad-alert-step`` object of a step we took."""
    at = stix_timestamp(step.at)
    obj: dict[str, Any] = {
        "type": STEP_TYPE,
        "spec_version": "2.1",
        "id": step_stix_id(alert.id, step.step),
        "created_by_ref": identity_id,
        "created": at,
        "modified": at,
        "alert_ref": f"{ALERT_TYPE}--{alert.id}",
        "step": step.step,
        "taken_at": at,
        "side": step.side,
        "object_marking_refs": [TLP(alert.tlp).stix_id],
        "extensions": _ext(),
    }
    for key in ("answer", "text", "reason"):
        if step.detail.get(key):
            obj[key] = step.detail[key]
    return obj


# --- inbound -----------------------------------------------------------------------------

Side = Field(pattern=r"^[A-Z]{2}$")


class _Common(NewSdo):
    model_config = ConfigDict(extra="forbid", strict=True)
    EXTENSION_ID = ALERT_EXTENSION_ID
    FAMILY = Family.ALERT

    id: str


class _AlertObj(_Common):
    type: Literal["sarhad-alert"]
    id: str = Field(pattern=rf"^sarhad-alert--{_UUID}$")
    priority: Priority
    kind: Kind
    text: str = Field(min_length=1, max_length=4000)
    from_side: str = Side
    to_side: str = Side
    valid_from: str
    valid_until: str
    acknowledge_by: str
    answer_by: str
    sector: str | None = Field(default=None, max_length=40)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    incident_refs: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("incident_refs")
    @classmethod
    def _refs(cls, v: list[str]) -> list[str]:
        for ref in v:
            if not _INCIDENT.fullmatch(ref):
                raise ValueError(
                    message(
                        "stix.not_incident_id", "{ref} is not an incident id", ref=repr(ref[:60])
                    )
                )
        return v


class _StepObj(_Common):
    type: Literal["sarhad-alert-step"]
    id: str = Field(pattern=rf"^sarhad-alert-step--{_UUID}$")
    alert_ref: str = Field(pattern=rf"^sarhad-alert--{_UUID}$")
    step: Literal["received", "acknowledged", "answered", "withdrawn"]
    taken_at: str | None = None
    at: str | None = None  # its name in version 1.0 of the extension (older partners)
    side: str = Side
    answer: Answer | None = None
    text: str | None = Field(default=None, max_length=4000)
    reason: str | None = Field(default=None, max_length=1000)


class BadAlertObject(ValueError):
    """A partner's alert object that breaks the mapping; the message says why."""


def _time(obj: BaseModel, key: str) -> datetime:
    value = getattr(obj, key)
    try:
        return parse_stix_timestamp(value)
    except ValueError as exc:
        raise BadAlertObject(f"{key!r} {exc}") from None


def parse_alert(obj: dict[str, Any], *, author: str | None) -> tuple[InboundAlert, str]:
    """Check a ``sarhad-alert`` from ``author`` (when known): (alert, side it is addressed to)."""
    try:
        a = _AlertObj.model_validate(obj, strict=False)
    except ValidationError as exc:
        raise BadAlertObject(why(exc)) from None
    if author and a.created_by_ref != author:
        raise BadAlertObject(f"created_by_ref {a.created_by_ref} is not the partner ({author})")
    if a.created != a.modified:
        raise BadAlertObject("an alert has one version: created must equal modified")
    if a.sector is None and (a.longitude is None or a.latitude is None):
        raise BadAlertObject("give a sector or both longitude and latitude")
    if (a.longitude is None) != (a.latitude is None):
        raise BadAlertObject("longitude and latitude go together")
    return InboundAlert(
        id=a.id.removeprefix(f"{ALERT_TYPE}--"),
        priority=a.priority.value,
        kind=a.kind.value,
        tlp=_TLP_BY_ID[a.object_marking_refs[0]].value,
        text=a.text,
        from_side=a.from_side,
        created_at=_time(a, "created"),
        ack_by=_time(a, "acknowledge_by"),
        answer_by=_time(a, "answer_by"),
        valid_from=_time(a, "valid_from"),
        valid_until=_time(a, "valid_until"),
        sector=a.sector,
        lon=a.longitude,
        lat=a.latitude,
        incident_ids=tuple(r.removeprefix("incident--") for r in a.incident_refs),
    ), a.to_side


def parse_step(obj: dict[str, Any], *, author: str | None) -> dict[str, Any]:
    """Check a ``sarhad-alert-step`` from a partner; return what ``receive_step`` takes."""
    try:
        s = _StepObj.model_validate(obj, strict=False)
    except ValidationError as exc:
        raise BadAlertObject(why(exc)) from None
    if author and s.created_by_ref != author:
        raise BadAlertObject(f"created_by_ref {s.created_by_ref} is not the partner ({author})")
    alert_id = s.alert_ref.removeprefix(f"{ALERT_TYPE}--")
    if s.id != step_stix_id(alert_id, s.step):
        raise BadAlertObject("id is not the one derived from (alert_ref, step)")
    if (s.taken_at is None) == (s.at is None):
        raise BadAlertObject("taken_at: give when the step was taken (or 'at', its 1.0 name)")
    if s.step == "answered" and s.answer is None:
        raise BadAlertObject("an 'answered' step needs 'answer'")
    if s.answer in (Answer.DECLINED, Answer.INFORMATION_PROVIDED) and not s.text:
        raise BadAlertObject(f"answer {s.answer.value!r} needs 'text'")
    detail: dict[str, Any] = {}
    if s.answer is not None:
        detail["answer"] = s.answer.value
    if s.text:
        detail["text"] = s.text
    if s.reason:
        detail["reason"] = s.reason
    return {
        "alert_id": alert_id,
        "step": Step(s.step),
        "at": _time(s, "taken_at" if s.taken_at is not None else "at"),
        "side": s.side,
        "detail": detail,
    }


def _alert_id_of(obj: StixObject) -> str:
    """The alert an alert or step object is about (as far as it says)."""
    ref = obj.get("alert_ref") if obj.get("type") == STEP_TYPE else obj.get("id")
    return str(ref or "").removeprefix(f"{ALERT_TYPE}--")[:36]


# --- the type ------------------------------------------------------------------------------

#: What a partner's alert object becomes: the alert with the side it is addressed to, or
#: the arguments of ``alerts.receiver.receive_step``.
AlertIn = InboundAlert | dict[str, Any]


def _withhold(out: Outbound, alert: Alert, refs: Sequence[str], reason: str) -> None:
    """An alert (or its steps) the agreement no longer lets go: its outbox rows are settled
    as withheld, not retried forever, and the audit log says so and why."""
    settled = outbox.withhold(
        out.session,
        partner_id=out.partner.id,
        alert_id=alert.id,
        refs=refs,
        reason=reason,
        now=out.now,
    )
    audit(
        out.session,
        actor="federation",
        action="share.withhold",
        entity="alert",
        entity_id=alert.id,
        detail={
            "partner": out.partner.name,
            "tlp": alert.tlp,
            "limit": out.terms.max_tlp.value,
            "steps": list(refs),
            "reason": reason,
            "outbox_rows": settled,
        },
    )


class AlertType(ObjectType[AlertIn]):
    """Liaison alerts and their steps, only to and from the partner an alert concerns."""

    name = "alert"
    entities = frozenset({ALERT_ENTITY})
    stix_types = ALERT_TYPES

    def definition(self, author: str = EXTENSION_AUTHOR) -> StixObject:
        """The extension-definition of both alert types."""
        return alert_extension_definition(created_by_ref=author)

    def publish(self, out: Outbound, changes: Sequence[Changed]) -> list[StixObject]:
        """Our alerts to this partner as raised, and the steps we took on any of its alerts."""
        if not changes:
            return []
        ids = list(dict.fromkeys(c.entity_id for c in changes))
        session = out.session
        rows = {
            a.id: a
            for a in session.scalars(
                select(Alert).where(Alert.id.in_(ids), Alert.partner_id == out.partner.id)
            )
        }
        if not rows:
            return []
        steps = {
            (s.alert_id, s.step): s
            for s in session.scalars(
                select(AlertStep).where(
                    AlertStep.alert_id.in_(list(rows)),
                    AlertStep.source == "local",
                    AlertStep.step.in_([s.value for s in SHARED_STEPS]),
                )
            )
        }
        objects: list[StixObject] = []
        withheld: dict[str, list[str]] = {}  # alert id -> the rows' refs that may not go

        def went_before(alert_id: str) -> bool:
            """Whether the partner's collection holds the alert itself."""
            stix_id = f"{ALERT_TYPE}--{alert_id}"
            return stix_id in out.appender.latest_many([stix_id])

        for change in changes:
            alert = rows.get(change.entity_id)
            if alert is None:
                continue
            carried = change.op == Step.RAISED or (alert.id, change.op) in steps
            if carried and alert.direction == Direction.OUTBOUND:
                # The agreement may have been lowered since the alert was raised (the check
                # at raise time holds only for that moment): the limit now in force decides.
                # A step of an alert the partner already holds still goes (a withdrawal
                # only takes away); one of an alert that never went would reveal it.
                marking = may_go(TLP(alert.tlp), out.terms.max_tlp)
                if not marking.ok and (change.op == Step.RAISED or not went_before(alert.id)):
                    out.report.withheld[alert.id] = [marking.text]
                    withheld.setdefault(alert.id, []).append(change.op)
                    continue
            if change.op == Step.RAISED and alert.direction == Direction.OUTBOUND:
                # Only incidents this partner already has (and still may have): even a bare
                # id tells that a record exists; an alert must not say more than the
                # collection does.
                wanted = [f"incident--{i}" for i in alert.incident_ids or []]
                held = out.holds(wanted)
                refs = [r for r in wanted if r in held]
                obj = alert_to_stix(alert, identity_id=out.identity_id, incident_refs=refs)
                objects.append(obj)
            elif (alert.id, change.op) in steps:
                step = steps[(alert.id, change.op)]
                objects.append(step_to_stix(step, alert, identity_id=out.identity_id))
        for alert_id, refs in withheld.items():
            _withhold(out, rows[alert_id], refs, out.report.withheld[alert_id][0])
        return objects

    def read(self, inn: Inbound, objects: list[StixObject]) -> list[Arrival[AlertIn]]:
        """Check each alert and step from the partner (held ones are duplicates)."""
        keys = [(str(o.get("id"))[:200], stamp(o.get("modified"))) for o in objects]
        seen = inn.seen(keys)
        arrivals: list[Arrival[AlertIn]] = []
        copies: list[str] = []
        for obj, key in zip(objects, keys, strict=True):
            if key in seen:
                inn.duplicate(key)
                copies.append(_alert_id_of(obj))
                continue
            try:
                value = self._check(inn, obj)
            except BadAlertObject as exc:
                reason = f"{key[0]}: {exc}"
            except Exception as exc:  # last resort: one object must never stop the batch
                reason = f"{key[0]}: {internal(exc)}"
            else:
                arrivals.append(Arrival(key, obj, value))
                continue
            inn.refuse(key[0] if isinstance(obj.get("id"), str) else None, reason, obj)
        if copies:  # delivery is at least once: the copies are dropped, and counted
            receiver.count_duplicates(inn.session, alert_ids=copies, partner_id=inn.partner.id)
        return arrivals

    @staticmethod
    def _check(inn: Inbound, obj: StixObject) -> AlertIn:
        if obj.get("type") == ALERT_TYPE:
            data, to_side = parse_alert(obj, author=inn.author)
            if to_side != inn.node.country:
                raise BadAlertObject(
                    f"addressed to {to_side}; this node speaks for {inn.node.country}"
                )
            return data
        return parse_step(obj, author=inn.author)

    def store(self, inn: Inbound, arrivals: list[Arrival[AlertIn]]) -> None:
        """Each alert or step in its own savepoint: one that fails leaves nothing behind."""
        partner, done = inn.partner, set()
        for a in arrivals:
            if a.key in done:
                inn.duplicate(a.key)
                continue
            try:
                with inn.session.begin_nested():
                    if isinstance(a.value, InboundAlert):
                        _alert, stored = receiver.receive_alert(
                            inn.session,
                            data=a.value,
                            partner_id=partner.id,
                            partner_name=partner.name,
                            to_side=inn.node.country,
                            profile=inn.profile,
                        )
                    else:
                        stored = receiver.receive_step(
                            inn.session,
                            **a.value,
                            partner_id=partner.id,
                            partner_name=partner.name,
                        )
            except SarhadError as exc:
                reason = f"{a.key[0]}: {exc.message or exc}"
            except Exception as exc:  # last resort: one object must never stop the batch
                log.exception("storing %s from %s failed", a.key[0], partner.name)
                reason = f"{a.key[0]}: internal error while storing ({type(exc).__name__})"
            else:
                done.add(a.key)
                if stored:
                    inn.accept(a.key)
                else:
                    inn.duplicate(a.key, receipt=True)
                continue
            inn.refuse(a.key[0] if isinstance(a.obj.get("id"), str) else None, reason, a.obj)

    def delivered(self, session: Session, objects: Sequence[StixObject], at: datetime) -> None:
        """Our alerts the partner took are delivered (a step of their own, on our side)."""
        alert_ids = [
            o["id"].removeprefix(f"{ALERT_TYPE}--") for o in objects if o["type"] == ALERT_TYPE
        ]
        mark_delivered(session, alert_ids=alert_ids, at=at)
