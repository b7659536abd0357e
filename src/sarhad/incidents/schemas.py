"""API schemas of incidents. Inbound and outbound are separate classes; none names a person."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sarhad.core.i18n import message
from sarhad.core.markings import TLP
from sarhad.core.params import SIDES, stripped, units_rules, vocabulary
from sarhad.core.text import FreeText, Inbound, Line
from sarhad.core.times import EventTime
from sarhad.incidents.taxonomy import (
    CREDIBILITY,
    RELIABILITY,
    UNITS_FOR,
    Category,
    Commodity,
    DatePrecision,
    LocationPrecision,
    Status,
    Unit,
)

Count = Annotated[int, Field(ge=0, le=100_000)]
Text = Annotated[FreeText, Field(max_length=20_000)]
#: A source note: something left once the spaces around it are stripped.
Source = Annotated[Line, Field(min_length=1, max_length=500, json_schema_extra=stripped())]


class _In(Inbound):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CasualtyCounts(_In):
    """Killed, injured and detained (counts, never identities)."""

    killed: Count = 0
    injured: Count = 0
    detained: Count = 0


class Casualties(_In):
    """Casualties split by who suffered them. Civilian harm is always recorded, even as zeros."""

    security_forces: CasualtyCounts = CasualtyCounts()
    civilians: CasualtyCounts = CasualtyCounts()
    assailants: CasualtyCounts = CasualtyCounts()


class Seizure(_In):
    """One seized commodity with its quantity and unit."""

    model_config = ConfigDict(json_schema_extra=units_rules(UNITS_FOR))

    commodity: Commodity
    quantity: float = Field(gt=0, le=1e12)
    unit: Unit

    @model_validator(mode="after")
    def _unit_fits(self) -> Seizure:
        if self.unit not in UNITS_FOR[self.commodity]:
            units = ", ".join(sorted(u.value for u in UNITS_FOR[self.commodity]))
            raise ValueError(
                message(
                    "incidents.unit_fits",
                    "unit {unit} does not fit {commodity}; use {units}",
                    unit=repr(self.unit.value),
                    commodity=self.commodity.value,
                    units=units,
                )
            )
        return self


class Location(_In):
    """Where: WGS84 longitude/latitude and how exact they are."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    precision: LocationPrecision = LocationPrecision.EXACT
    place: Line | None = Field(
        default=None, max_length=200, description="place name, e.g. 'near Taftan'"
    )

    @field_validator("lon", "lat")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError(message("incidents.finite", "must be a finite number"))
        return v


class Grading(_In):
    """Admiralty grading of the report."""

    source_reliability: Literal["A", "B", "C", "D", "E", "F"] = "F"
    information_credibility: Literal["1", "2", "3", "4", "5", "6"] = "6"

    @field_validator("information_credibility", mode="before")
    @classmethod
    def _int_ok(cls, v: object) -> object:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


class IncidentIn(_In):
    """A new incident as a duty officer or an importer submits it."""

    title: Line = Field(min_length=3, max_length=200, json_schema_extra=stripped(3))
    category: Category
    occurred_at: EventTime
    date_precision: DatePrecision = DatePrecision.EXACT
    location: Location
    reporting_side: str = Field(
        pattern=r"^[A-Z]{2}$",
        description="ISO 3166 alpha-2 of the reporting agency (a side of this border)",
        json_schema_extra=vocabulary(SIDES),
    )
    casualties: Casualties = Casualties()
    seizures: list[Seizure] = Field(default_factory=list, max_length=100)
    grading: Grading = Grading()
    tlp: TLP = TLP.AMBER
    narrative: Text = ""
    sources: list[Source] = Field(default_factory=list, max_length=50)
    far_from_line: bool = Field(
        default=False,
        description="The point truly lies farther from the line than the node's limit "
        "(SARHAD_MAX_KM_FROM_LINE): keep it, without a sector or km marker",
    )


class IncidentPatch(_In):
    """An edit: only the fields given change. ``expected_version`` guards against lost updates."""

    expected_version: int = Field(ge=1)
    title: Line | None = Field(
        default=None, min_length=3, max_length=200, json_schema_extra=stripped(3)
    )
    category: Category | None = None
    occurred_at: EventTime | None = None
    date_precision: DatePrecision | None = None
    location: Location | None = None
    reporting_side: str | None = Field(
        default=None, pattern=r"^[A-Z]{2}$", json_schema_extra=vocabulary(SIDES)
    )
    casualties: Casualties | None = None
    seizures: list[Seizure] | None = Field(default=None, max_length=100)
    grading: Grading | None = None
    tlp: TLP | None = None
    narrative: Text | None = None
    sources: list[Source] | None = Field(default=None, max_length=50)
    far_from_line: bool | None = Field(
        default=None, description="Set or clear the mark; left out, the record keeps its own"
    )


class Transition(_In):
    """A lifecycle step."""

    to: Status
    expected_version: int = Field(ge=1)
    comment: FreeText = Field(default="", max_length=2000)


class NearestCrossing(BaseModel):
    """The closest crossing point of the border profile."""

    id: str
    distance_m: float


class Enrichment(BaseModel):
    """What ``border.locate`` said when the record was stored.

    ``sector`` and ``km`` are null for a record marked far_from_line that lies beyond the
    node's limit: so far from the line they mean nothing.
    """

    profile: str
    side: str
    distance_m: float
    sector: str | None
    km: float | None
    nearest_crossing: NearestCrossing


class IncidentOut(BaseModel):
    """An incident as the API returns it."""

    id: str
    version: int
    status: Status
    title: str
    category: Category
    occurred_at: datetime
    date_precision: DatePrecision
    location: Location
    reporting_side: str
    casualties: Casualties
    seizures: list[Seizure]
    grading: Grading
    tlp: TLP
    narrative: str
    sources: list[str]
    far_from_line: bool = False
    enrichment: Enrichment
    origin: str
    origin_node_id: str | None = None  # set for records received from a partner
    withheld_fields: list[str] = Field(default_factory=list)  # removed by their originator
    revoked: bool = False
    external_ref: str | None
    created_at: datetime
    updated_at: datetime


class VersionOut(BaseModel):
    """One version of an incident: who changed what, when, and the record as it then was."""

    version: int
    at: datetime
    actor: str
    op: str
    changed: list[str]
    record: IncidentOut


# Reliability/credibility tuples are exported for importers that map free text.
__all__ = [
    "CREDIBILITY",
    "RELIABILITY",
    "Casualties",
    "CasualtyCounts",
    "Enrichment",
    "Grading",
    "IncidentIn",
    "IncidentOut",
    "IncidentPatch",
    "Location",
    "Seizure",
    "Transition",
    "VersionOut",
]
