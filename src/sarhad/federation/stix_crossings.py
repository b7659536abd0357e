"""STIX 2.1 mapping of crossing status, regular hours and throughput: three new object types.

``sarhad-crossing-status`` is one side's declaration (id from the declaration, one version per
change, ``revoked`` when withdrawn). ``sarhad-crossing-hours`` is one side's regular hours of
one crossing and ``sarhad-crossing-throughput`` one side's day at one gate; their ids are
derived from (crossing, side[, day]), so a correction is a new version of the same object.
Plain dicts on the way out; on the way in each is checked strictly with pydantic, then the
values go through the crossings room's own input schemas. Mapping table: docs/stix-mapping.md.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
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

from sarhad.core.markings import TLP, Family
from sarhad.crossings.models import Declaration, Hours, Throughput
from sarhad.crossings.received import InboundDeclaration
from sarhad.crossings.schemas import HoursIn, ThroughputIn
from sarhad.crossings.taxonomy import WEEKDAYS, Commodity, Currency, Reason, Status, Unit
from sarhad.federation.new_sdo import (
    TLP_BY_ID,
    UUID_PATTERN,
    NewSdo,
    extension_definition,
    extension_of,
    why,
)
from sarhad.federation.stix import SCHEMA_DIR, parse_stix_timestamp, stix_timestamp

STATUS_TYPE = "sarhad-crossing-status"
HOURS_TYPE = "sarhad-crossing-hours"
THROUGHPUT_TYPE = "sarhad-crossing-throughput"
CROSSING_TYPES = frozenset({STATUS_TYPE, HOURS_TYPE, THROUGHPUT_TYPE})
CROSSING_EXTENSION_ID = "extension-definition--1bd4ac9d-b376-4e3a-897c-9093c53b96e6"
"""The extension-definition of the three crossing types (generated once; never change it)."""
CROSSING_EXTENSION_CREATED = "2026-11-23T00:00:00.000Z"
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
                raise ValueError(f"{ref[:60]!r} is not an incident id")
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
