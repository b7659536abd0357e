"""Crossing status, regular hours and throughput as a shareable type: three new STIX types.

``sarhad-crossing-status`` is one side's declaration (id from the declaration, one version per
change, ``revoked`` when withdrawn). ``sarhad-crossing-hours`` is one side's regular hours of
one crossing and ``sarhad-crossing-throughput`` one side's day at one gate; their ids are
derived from (crossing, side[, day]), so a correction is a new version of the same object.

What goes is decided by the agreement's terms: ``share_crossings`` for status and hours,
``share_throughput`` for daily figures, ``max_tlp`` (TLP:RED never) and ``expires_at``. Only
our own rows ever go: a partner's crossing data is neither forwarded nor echoed back. Plain
dicts on the way out; on the way in each is checked strictly with pydantic, then the values
go through the crossings room's own input schemas and are stored as the partner's side, each
object in a savepoint of its own. Mapping table: docs/stix-mapping.md.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.core.errors import SarhadError
from sarhad.core.i18n import message
from sarhad.core.markings import TLP, Family, may_go
from sarhad.crossings import received as crossings
from sarhad.crossings.declarations import DECLARATION
from sarhad.crossings.flows import THROUGHPUT
from sarhad.crossings.hours import HOURS
from sarhad.crossings.models import Declaration, Hours, Throughput
from sarhad.crossings.received import InboundDeclaration
from sarhad.crossings.schemas import HoursIn, ThroughputIn
from sarhad.crossings.taxonomy import LOCAL, WEEKDAYS, Commodity, Currency, Reason, Status, Unit
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
from sarhad.sharing.policy import Terms

log = logging.getLogger("sarhad.inbox")

STATUS_TYPE = "sarhad-crossing-status"
HOURS_TYPE = "sarhad-crossing-hours"
THROUGHPUT_TYPE = "sarhad-crossing-throughput"
CROSSING_TYPES = frozenset({STATUS_TYPE, HOURS_TYPE, THROUGHPUT_TYPE})
CROSSING_EXTENSION_ID = "extension-definition--1bd4ac9d-b376-4e3a-897c-9093c53b96e6"
"""The extension-definition of the three crossing types (generated once; never change it)."""
CROSSING_EXTENSION_CREATED = "2026-11-23T00:00:00.000Z"
#: 1.1 added the originator's ``signature`` inside the extension's entry.
CROSSING_EXTENSION_VERSION = "1.1"
CROSSING_EXTENSION_MODIFIED = "2026-12-05T10:00:00.000Z"
CROSSING_SCHEMA_PATH = SCHEMA_DIR / f"{CROSSING_EXTENSION_ID}.json"
CROSSING_SCHEMA_URL = (
    "https://github.com/sarhad-project/sarhad/blob/main/"
    f"src/sarhad/federation/schemas/{CROSSING_EXTENSION_ID}.json"
)
#: Namespace of the uuid5 ids of hours and throughput objects (never change it).
CROSSING_NAMESPACE = uuid.UUID("9eede1ed-2d81-4cad-b91c-b5437b61d9b1")

_UUID = UUID_PATTERN
_INCIDENT = re.compile(rf"incident--{_UUID}")
_TLP_BY_ID = TLP_BY_ID
_SIDE = r"^[A-Z]{2}$"
_PLACE = r"^[a-z0-9][a-z0-9-]{0,59}$"


def crossing_extension_definition(*, created_by_ref: str) -> dict[str, Any]:
    """The extension-definition of the three crossing types (fixed id and timestamps)."""
    return extension_definition(
        id_=CROSSING_EXTENSION_ID,
        created=CROSSING_EXTENSION_CREATED,
        name="sarhad-crossings",
        description=(
            "Border crossing points and markets: one side's declared status "
            "(sarhad-crossing-status), its regular hours (sarhad-crossing-hours) and what "
            "crossed its gate on one day (sarhad-crossing-throughput)."
        ),
        schema=CROSSING_SCHEMA_URL,
        created_by_ref=created_by_ref,
        version=CROSSING_EXTENSION_VERSION,
        modified=CROSSING_EXTENSION_MODIFIED,
    )


def hours_stix_id(crossing_id: str, side: str) -> str:
    """The id of one side's regular hours of one crossing: every version keeps it."""
    return f"{HOURS_TYPE}--{uuid.uuid5(CROSSING_NAMESPACE, f'hours/{crossing_id}/{side}')}"


def throughput_stix_id(crossing_id: str, side: str, day: date) -> str:
    """The id of one side's day at one crossing: a correction is a new version of it."""
    key = f"throughput/{crossing_id}/{side}/{day.isoformat()}"
    return f"{THROUGHPUT_TYPE}--{uuid.uuid5(CROSSING_NAMESPACE, key)}"


def _ext() -> dict[str, Any]:
    return extension_of(CROSSING_EXTENSION_ID)


def _envelope(
    type_: str, id_: str, identity_id: str, created: str, modified: str, tlp: TLP
) -> dict[str, Any]:
    return {
        "type": type_,
        "spec_version": "2.1",
        "id": id_,
        "created_by_ref": identity_id,
        "created": created,
        "modified": modified,
        "object_marking_refs": [tlp.stix_id],
        "extensions": _ext(),
    }


def status_to_stix(
    row: Declaration, *, identity_id: str, incident_refs: list[str]
) -> dict[str, Any]:
    """The ``sarhad-crossing-status`` object of one of our declarations, as it stands."""
    obj = _envelope(
        STATUS_TYPE,
        f"{STATUS_TYPE}--{row.id}",
        identity_id,
        stix_timestamp(row.created_at),
        stix_timestamp(row.updated_at),
        TLP(row.tlp),
    )
    obj |= {
        "crossing": row.crossing_id,
        "side": row.side,
        "status": row.status,
        "reason": row.reason,
        "starts_at": stix_timestamp(row.starts_at),
        "planned": bool(row.planned),
        "version": row.version,
    }
    if row.note:
        obj["note"] = row.note
    if row.ends_at is not None:
        obj["ends_at"] = stix_timestamp(row.ends_at)
    if incident_refs:
        obj["incident_refs"] = incident_refs
    if row.withdrawn:
        obj["revoked"] = True
    return obj


#: Regular hours are posted at the gate: community-wide, never more restricted than GREEN.
HOURS_TLP = TLP.GREEN


def hours_to_stix(row: Hours, *, identity_id: str, time_zone: str | None) -> dict[str, Any]:
    """The ``sarhad-crossing-hours`` object of our side's regular hours of one crossing.

    ``created`` is this version's time; the publisher keeps the first version's ``created``.
    """
    at = stix_timestamp(row.updated_at)
    obj = _envelope(
        HOURS_TYPE, hours_stix_id(row.crossing_id, row.side), identity_id, at, at, HOURS_TLP
    )
    obj |= {
        "crossing": row.crossing_id,
        "side": row.side,
        "days": [WEEKDAYS[d] for d in sorted(row.days)],
        "opens": row.opens,
        "closes": row.closes,
        "version": row.version,
    }
    if time_zone:
        obj["time_zone"] = time_zone
    return obj


def throughput_to_stix(row: Throughput, *, identity_id: str) -> dict[str, Any]:
    """The ``sarhad-crossing-throughput`` object of our side's day at one crossing."""
    at = stix_timestamp(row.updated_at)
    obj = _envelope(
        THROUGHPUT_TYPE,
        throughput_stix_id(row.crossing_id, row.side, row.day),
        identity_id,
        at,
        at,
        TLP(row.tlp),
    )
    obj |= {
        "crossing": row.crossing_id,
        "side": row.side,
        "day": row.day.isoformat(),
        "vehicles": row.vehicles,
        "trucks": row.trucks,
        "pedestrians": row.pedestrians,
        "fuel_litres": float(row.fuel_litres),
        "version": row.version,
    }
    if row.goods:
        obj["goods"] = [dict(g) for g in row.goods]
    return obj


# --- inbound -----------------------------------------------------------------------------


class BadCrossingObject(ValueError):
    """A partner's crossing object that breaks the mapping; the message names the property."""


class _Common(NewSdo):
    model_config = ConfigDict(extra="forbid")
    EXTENSION_ID = CROSSING_EXTENSION_ID
    FAMILY = Family.CROSSING

    crossing: StrictStr = Field(pattern=_PLACE)
    side: StrictStr = Field(pattern=_SIDE)
    version: StrictInt = Field(ge=1)


class _StatusObj(_Common):
    type: Literal["sarhad-crossing-status"]
    id: StrictStr = Field(pattern=rf"^sarhad-crossing-status--{_UUID}$")
    status: Status
    reason: Reason
    note: StrictStr | None = Field(default=None, max_length=1000)
    starts_at: StrictStr
    ends_at: StrictStr | None = None
    planned: StrictBool
    incident_refs: list[StrictStr] = Field(default_factory=list, max_length=50)
    revoked: StrictBool = False

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


class _HoursObj(_Common):
    type: Literal["sarhad-crossing-hours"]
    id: StrictStr = Field(pattern=rf"^sarhad-crossing-hours--{_UUID}$")
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        min_length=1, max_length=7
    )
    opens: StrictStr = Field(max_length=5)
    closes: StrictStr = Field(max_length=5)
    time_zone: StrictStr | None = Field(default=None, max_length=40)


class _Goods(BaseModel):
    model_config = ConfigDict(extra="forbid")

    commodity: Commodity
    quantity: StrictFloat
    unit: Unit
    value: StrictFloat | None = None
    currency: Currency | None = None


class _ThroughputObj(_Common):
    type: Literal["sarhad-crossing-throughput"]
    id: StrictStr = Field(pattern=rf"^sarhad-crossing-throughput--{_UUID}$")
    day: StrictStr = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    vehicles: StrictInt
    trucks: StrictInt
    pedestrians: StrictInt
    fuel_litres: StrictFloat
    goods: list[_Goods] = Field(default_factory=list, max_length=100)


_C = TypeVar("_C", bound=_Common)
_M = TypeVar("_M", bound=BaseModel)


def _load(model: type[_C], obj: dict[str, Any], author: str | None) -> _C:
    try:
        o = model.model_validate(obj)
    except ValidationError as exc:
        raise BadCrossingObject(why(exc)) from None
    if author and o.created_by_ref != author:
        raise BadCrossingObject(f"created_by_ref: {o.created_by_ref} is not the partner ({author})")
    if _time(o, "modified") < _time(o, "created"):
        raise BadCrossingObject("modified: before created")
    return o


def _time(obj: BaseModel, key: str) -> datetime:
    try:
        return parse_stix_timestamp(getattr(obj, key))
    except ValueError as exc:
        raise BadCrossingObject(f"{key}: {exc}") from None


def _tlp(o: _Common) -> TLP:
    return _TLP_BY_ID[o.object_marking_refs[0]]


def parse_status(obj: dict[str, Any], *, author: str | None) -> InboundDeclaration:
    """Check a partner's ``sarhad-crossing-status``; what ``receive_declaration`` takes."""
    s = _load(_StatusObj, obj, author)
    return InboundDeclaration(
        id=s.id.removeprefix(f"{STATUS_TYPE}--"),
        crossing_id=s.crossing,
        side=s.side,
        status=s.status.value,
        reason=s.reason.value,
        note=s.note or None,
        starts_at=_time(s, "starts_at"),
        ends_at=_time(s, "ends_at") if s.ends_at is not None else None,
        planned=s.planned,
        incident_ids=tuple(r.removeprefix("incident--") for r in s.incident_refs),
        tlp=_tlp(s).value,
        withdrawn=s.revoked,
        version=s.version,
        created_at=_time(s, "created"),
        modified=_time(s, "modified"),
    )


def _checked(model: type[_M], data: dict[str, Any]) -> _M:
    """The crossings room's own input checks, so a partner's figures meet ours."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadCrossingObject(why(exc)) from None


@dataclass(frozen=True)
class InboundHours:
    """A partner's regular hours, as ``receive_hours`` takes them."""

    crossing_id: str
    side: str
    days: list[int]
    opens: str
    closes: str
    modified: datetime


def parse_hours(obj: dict[str, Any], *, author: str | None) -> InboundHours:
    """Check a partner's ``sarhad-crossing-hours`` (the id must be the derived one)."""
    h = _load(_HoursObj, obj, author)
    if h.id != hours_stix_id(h.crossing, h.side):
        raise BadCrossingObject("id: not the one derived from (crossing, side)")
    data = _checked(HoursIn, {"days": list(h.days), "opens": h.opens, "closes": h.closes})
    return InboundHours(
        crossing_id=h.crossing,
        side=h.side,
        days=[WEEKDAYS.index(d) for d in data.days],
        opens=data.opens,
        closes=data.closes,
        modified=_time(h, "modified"),
    )


@dataclass(frozen=True)
class InboundThroughput:
    """A partner's day of throughput, as ``receive_throughput`` takes it."""

    crossing_id: str
    side: str
    day: date
    values: dict[str, Any]
    modified: datetime


def parse_throughput(obj: dict[str, Any], *, author: str | None) -> InboundThroughput:
    """Check a partner's ``sarhad-crossing-throughput``; figures go through ``ThroughputIn``."""
    t = _load(_ThroughputObj, obj, author)
    try:
        day = date.fromisoformat(t.day)
    except ValueError:
        raise BadCrossingObject(f"day: {t.day!r} is not a date") from None
    if t.id != throughput_stix_id(t.crossing, t.side, day):
        raise BadCrossingObject("id: not the one derived from (crossing, side, day)")
    data = _checked(
        ThroughputIn,
        {
            "crossing": t.crossing,
            "day": day,
            "vehicles": t.vehicles,
            "trucks": t.trucks,
            "pedestrians": t.pedestrians,
            "fuel_litres": t.fuel_litres,
            "goods": [g.model_dump(exclude_none=True) for g in t.goods],
            "tlp": _tlp(t),
        },
    )
    return InboundThroughput(
        crossing_id=t.crossing,
        side=t.side,
        day=data.day,
        values={
            "vehicles": data.vehicles,
            "trucks": data.trucks,
            "pedestrians": data.pedestrians,
            "fuel_litres": float(data.fuel_litres),
            "goods": [g.model_dump(mode="json", exclude_none=True) for g in data.goods],
            "tlp": data.tlp.value,
        },
        modified=_time(t, "modified"),
    )


# --- the type ------------------------------------------------------------------------------

#: Change-log entities of the crossings room that become objects for partners.
CROSSING_ENTITIES = frozenset({DECLARATION, HOURS, THROUGHPUT})
#: What a partner's crossing object becomes, as the crossings room's receive functions take it.
CrossingIn = InboundDeclaration | InboundHours | InboundThroughput


def _may_go(tlp: TLP, terms: Terms) -> bool:
    return may_go(tlp, terms.max_tlp).ok


def _next_version(obj: StixObject, held: StixObject | None) -> StixObject | None:
    """``obj`` as the next version of what the partner holds; None if it holds it already.

    Why: versions are ordered by ``version`` (ours), but STIX orders them by ``modified`` and
    keeps ``created``. A version is sent once; re-reading the log after an agreement change
    gives no duplicate, and ``modified`` always grows even if two versions share a clock tick.
    """
    if held is None:
        return obj
    if held.get("revoked") or int(held.get("version", 0)) >= int(obj["version"]):
        return None  # a revoked object never gets a new version (STIX 2.1 versioning)
    obj["created"] = held["created"]
    last = parse_stix_timestamp(held["modified"])
    if parse_stix_timestamp(obj["modified"]) <= last:
        obj["modified"] = stix_timestamp(last + timedelta(milliseconds=1))
    return obj


class CrossingType(ObjectType[CrossingIn]):
    """Our side's crossing status, hours and throughput; a partner's, as its side's view."""

    name = "crossing"
    entities = CROSSING_ENTITIES
    stix_types = CROSSING_TYPES

    def definition(self, author: str = EXTENSION_AUTHOR) -> StixObject:
        """The extension-definition of the three crossing types."""
        return crossing_extension_definition(created_by_ref=author)

    def publish(self, out: Outbound, changes: Sequence[Changed]) -> list[StixObject]:
        """Each changed row the partner may have goes once, as it stands now (later changes
        of the batch included)."""
        terms = out.terms
        if not changes or (terms.expires_at is not None and out.now >= terms.expires_at):
            return []
        wanted = {DECLARATION, HOURS} if terms.share_crossings else set()
        if terms.share_throughput:
            wanted.add(THROUGHPUT)
        order = list(dict.fromkeys((c.entity, c.entity_id) for c in changes if c.entity in wanted))
        if not order:
            return []

        def ids(entity: str) -> list[str]:
            return [i for e, i in order if e == entity]

        rows: dict[tuple[str, str], Declaration | Hours | Throughput] = {}
        for d in _local_rows(out.session, Declaration, ids(DECLARATION)):
            rows[(DECLARATION, d.id)] = d
        for h in _local_rows(out.session, Hours, ids(HOURS)):
            rows[(HOURS, h.id)] = h
        for t in _local_rows(out.session, Throughput, ids(THROUGHPUT)):
            rows[(THROUGHPUT, t.id)] = t
        built: list[StixObject] = []
        refs: list[str] = []
        for key in order:
            row = rows.get(key)
            if isinstance(row, Declaration) and _may_go(TLP(row.tlp), terms):
                built.append(status_to_stix(row, identity_id=out.identity_id, incident_refs=[]))
                refs += [f"incident--{i}" for i in row.incident_ids or []]
            elif isinstance(row, Hours) and _may_go(HOURS_TLP, terms):
                zone = out.node.time_zone
                built.append(hours_to_stix(row, identity_id=out.identity_id, time_zone=zone))
            elif isinstance(row, Throughput) and _may_go(TLP(row.tlp), terms):
                built.append(throughput_to_stix(row, identity_id=out.identity_id))
        held = out.appender.latest_many([o["id"] for o in built] + refs)
        objects = []
        for obj in built:
            if obj["type"] == STATUS_TYPE:
                # Only incidents this partner already holds (and still may): even a bare id
                # tells that a record exists, and a status must not say more than the
                # collection does.
                declaration = rows[(DECLARATION, obj["id"].split("--", 1)[1])]
                assert isinstance(declaration, Declaration)
                shared = [
                    ref
                    for i in declaration.incident_ids or []
                    if (ref := f"incident--{i}") in held and not held[ref].get("revoked")
                ]
                if shared:
                    obj["incident_refs"] = shared
                if obj.get("revoked") and obj["id"] not in held:
                    continue  # withdrawn before the partner ever had it: nothing to tell
            nxt = _next_version(obj, held.get(obj["id"]))
            if nxt is not None:
                objects.append(nxt)
        return objects

    def read(self, inn: Inbound, objects: list[StixObject]) -> list[Arrival[CrossingIn]]:
        """Check each status, hours and throughput object (held ones are duplicates)."""
        keys = [(str(o.get("id"))[:200], stamp(o.get("modified"))) for o in objects]
        seen = inn.seen(keys)
        arrivals: list[Arrival[CrossingIn]] = []
        for obj, key in zip(objects, keys, strict=True):
            if key in seen:
                inn.duplicate(key)
                continue
            try:
                value = _parse(obj, author=inn.author)
            except BadCrossingObject as exc:
                reason = f"{key[0]}: {exc}"
            except Exception as exc:  # last resort: one object must never stop the batch
                reason = f"{key[0]}: {internal(exc)}"
            else:
                arrivals.append(Arrival(key, obj, value))
                continue
            inn.refuse(key[0] if isinstance(obj.get("id"), str) else None, reason, obj)
        return arrivals

    def store(self, inn: Inbound, arrivals: list[Arrival[CrossingIn]]) -> None:
        """Each object in its own savepoint: one that fails leaves nothing behind."""
        partner, done = inn.partner, set()
        for a in arrivals:
            if a.key in done:
                inn.duplicate(a.key)
                continue
            try:
                with inn.session.begin_nested():
                    stored = _receive(inn, a.value)
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


_Row = TypeVar("_Row", Declaration, Hours, Throughput)


def _local_rows(session: Session, table: type[_Row], ids: Sequence[str]) -> list[_Row]:
    """Our own rows of ``table`` among ``ids`` (a partner's are never sent on)."""
    found: list[_Row] = []
    for start in range(0, len(ids), 500):  # keep IN lists within every backend's limits
        chunk = ids[start : start + 500]
        found += session.scalars(select(table).where(table.id.in_(chunk), table.origin == LOCAL))
    return found


def _parse(obj: StixObject, *, author: str | None) -> CrossingIn:
    if obj.get("type") == STATUS_TYPE:
        return parse_status(obj, author=author)
    if obj.get("type") == HOURS_TYPE:
        return parse_hours(obj, author=author)
    return parse_throughput(obj, author=author)


def _receive(inn: Inbound, value: CrossingIn) -> bool:
    """Store one checked object as the partner's side; False when we had that version."""
    p, session, profile = inn.partner, inn.session, inn.profile
    if isinstance(value, InboundDeclaration):
        return crossings.receive_declaration(
            session, data=value, partner_name=p.name, partner_node_id=p.node_id,
            partner_side=p.country, profile=profile,
        )  # fmt: skip
    if isinstance(value, InboundHours):
        return crossings.receive_hours(
            session, crossing_id=value.crossing_id, side=value.side, days=value.days,
            opens=value.opens, closes=value.closes, partner_name=p.name, partner_side=p.country,
            profile=profile, modified=value.modified,
        )  # fmt: skip
    return crossings.receive_throughput(
        session, crossing_id=value.crossing_id, side=value.side, day=value.day,
        values=value.values, partner_name=p.name, partner_node_id=p.node_id,
        partner_side=p.country, profile=profile, modified=value.modified,
    )  # fmt: skip
