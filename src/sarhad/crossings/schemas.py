"""API schemas of the crossings room (inbound checks name the field at fault)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from sarhad.core.i18n import message
from sarhad.core.labels import word
from sarhad.core.markings import TLP
from sarhad.core.params import CROSSINGS, rules, units_rules, vocabulary, when
from sarhad.core.text import FreeText, Inbound, Line
from sarhad.core.times import EventDay, PlannedTime
from sarhad.crossings.taxonomy import UNITS_FOR, WEEKDAYS, Commodity, Currency, Reason, Status, Unit

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


class _In(Inbound):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _uuids(v: list[str]) -> list[str]:
    for i, value in enumerate(v):
        try:
            uuid.UUID(value)
        except ValueError:
            raise ValueError(
                message(
                    "error.item_not_incident_id", "item {i} is not an incident id (a UUID)", i=i
                )
            ) from None
    return list(dict.fromkeys(v))


#: Incident ids, as the OpenAPI document states them.
UUIDS = {"items": {"type": "string", "format": "uuid"}}


class DeclarationIn(_In):
    """A status declared by our side for one crossing or market."""

    model_config = ConfigDict(
        json_schema_extra=rules(
            when(
                "status",
                [s.value for s in Status if s is not Status.OPEN],
                {"required": ["reason"], "properties": {"reason": {"type": "string"}}},
            )
        )
    )

    crossing: Line = Field(
        max_length=60,
        description="Crossing or market id, e.g. taftan-mirjaveh",
        json_schema_extra=vocabulary(CROSSINGS),
    )
    status: Status
    reason: Reason | None = Field(
        default=None,
        validate_default=True,
        description="Required for closed and restricted; 'other' for open if left out",
    )
    note: FreeText | None = Field(
        default=None, max_length=1000, description="Reason detail, for staff (never public)"
    )
    starts_at: PlannedTime | None = Field(default=None, description="Default: now")
    ends_at: PlannedTime | None = Field(default=None, description="Left out: until further notice")
    incident_ids: list[str] = Field(default_factory=list, max_length=50, json_schema_extra=UUIDS)
    tlp: TLP = TLP.GREEN

    _ids = field_validator("incident_ids")(_uuids)

    @field_validator("reason")
    @classmethod
    def _reason_needed(cls, v: Reason | None, info: ValidationInfo) -> Reason | None:
        status = info.data.get("status")
        if v is None and status is not None and status != Status.OPEN:
            raise ValueError(
                message(
                    "crossings.reason_needed",
                    "give the reason category of a {status} declaration",
                    status=word("crossing_status", status),
                )
            )
        return v


class DeclarationOut(BaseModel):
    """One declaration, ours or the partner's."""

    id: str
    crossing: str
    side: str
    status: str
    reason: str
    note: str | None
    starts_at: datetime
    ends_at: datetime | None
    planned: bool
    incident_ids: list[str]
    tlp: str
    withdrawn: bool
    origin: str
    version: int
    created_at: datetime
    created_by: str
    updated_at: datetime


class EndIn(_In):
    """End a declaration (e.g. reopen after a closure)."""

    at: PlannedTime | None = Field(default=None, description="Default: now")


class HoursIn(_In):
    """Regular opening of our side: weekdays and local hours (PKT for PK, IRST for IR)."""

    days: list[Line] = Field(
        min_length=1,
        max_length=7,
        description="mon … sun",
        json_schema_extra={"items": {"type": "string", "enum": list(WEEKDAYS)}},
    )
    opens: str = Field(description="HH:MM local time", json_schema_extra={"pattern": _HHMM.pattern})
    closes: str = Field(
        description="HH:MM local time; 24:00 for midnight",
        json_schema_extra={"pattern": _HHMM.pattern},
    )

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[str]) -> list[str]:
        out = []
        for name in v:
            key = name.lower()[:3]
            if key not in WEEKDAYS:
                raise ValueError(
                    message(
                        "crossings.not_weekday",
                        "{name} is not a weekday; use {days}",
                        name=repr(name),
                        days=", ".join(WEEKDAYS),
                    )
                )
            out.append(key)
        return sorted(set(out), key=WEEKDAYS.index)

    @field_validator("opens", "closes")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not _HHMM.match(v):
            raise ValueError(message("crossings.hhmm", "must be HH:MM (00:00 to 24:00)"))
        return v

    @field_validator("closes")
    @classmethod
    def _order(cls, v: str, info: ValidationInfo) -> str:
        opens = info.data.get("opens")
        if opens is not None and v <= opens:
            raise ValueError(
                message(
                    "crossings.closes_after_opens",
                    "must be after opens (hours past midnight are not supported)",
                )
            )
        return v


class HoursOut(BaseModel):
    """One side's regular hours."""

    crossing: str
    side: str
    days: list[str]
    opens: str
    closes: str
    time_zone: str  # e.g. "PKT (UTC+05:00)"
    origin: str
    updated_at: datetime


class GoodsLine(_In):
    """One commodity on one day: quantity and unit, declared value as given."""

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                *units_rules(UNITS_FOR)["allOf"],
                # a value needs its currency, and a currency its value
                {
                    "if": {"required": ["value"], "properties": {"value": {"type": "number"}}},
                    "then": {
                        "required": ["currency"],
                        "properties": {"currency": {"type": "string"}},
                    },
                    "else": {"properties": {"currency": {"type": "null"}}},
                },
            ]
        }
    )

    commodity: Commodity
    quantity: float = Field(gt=0, allow_inf_nan=False)
    unit: Unit
    value: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    currency: Currency | None = Field(default=None, validate_default=True)

    @field_validator("unit")
    @classmethod
    def _fits(cls, v: Unit, info: ValidationInfo) -> Unit:
        commodity = info.data.get("commodity")
        if commodity is not None and v not in UNITS_FOR[commodity]:
            names = ", ".join(sorted(u.value for u in UNITS_FOR[commodity]))
            raise ValueError(
                message(
                    "crossings.unit_fits",
                    "{unit} does not fit {commodity}; use {names}",
                    unit=v.value,
                    commodity=commodity.value,
                    names=names,
                )
            )
        return v

    @field_validator("currency")
    @classmethod
    def _with_value(cls, v: Currency | None, info: ValidationInfo) -> Currency | None:
        has_value = info.data.get("value") is not None
        if has_value and v is None:
            raise ValueError(
                message(
                    "crossings.value_currency",
                    "a declared value needs its currency (PKR or IRR, as declared)",
                )
            )
        if v is not None and not has_value and "value" in info.data:
            raise ValueError(message("crossings.currency_alone", "a currency without a value"))
        return v


class ThroughputIn(_In):
    """What crossed our side's gate on one local day (counts only, never identities)."""

    crossing: Line = Field(max_length=60, json_schema_extra=vocabulary(CROSSINGS))
    day: EventDay
    vehicles: int = Field(default=0, ge=0, le=1_000_000)
    trucks: int = Field(default=0, ge=0, le=1_000_000)
    pedestrians: int = Field(default=0, ge=0, le=10_000_000)
    fuel_litres: float = Field(default=0.0, ge=0, le=1e10, allow_inf_nan=False)
    goods: list[GoodsLine] = Field(default_factory=list, max_length=100)
    tlp: TLP = TLP.AMBER


class ThroughputOut(BaseModel):
    """One day's throughput at one side's gate."""

    id: str
    crossing: str
    side: str
    day: EventDay
    vehicles: int
    trucks: int
    pedestrians: int
    fuel_litres: float
    goods: list[dict[str, object]]
    tlp: str
    origin: str
    version: int
    updated_at: datetime


class SideView(BaseModel):
    """One side's state of a crossing at a moment."""

    side: str
    status: str
    reason: str | None
    since: datetime | None
    until: datetime | None
    declared: bool
    declaration_id: str | None
    known: bool = True  # False: nothing received from this side yet
    next_opening: datetime | None = None


class BoardRow(BaseModel):
    """A crossing or market now: both sides' view, the combined state and any mismatch."""

    crossing: str
    kind: str
    name: str
    ours: SideView
    theirs: SideView | None
    combined: str
    mismatch: str | None  # "we say open, they say closed since 06:00 PKT"
    published: bool
    lon: float
    lat: float


class PublishIn(_In):
    """Switch a crossing's public status page on or off."""

    published: bool
