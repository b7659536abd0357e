"""The incident form of the console: form fields to ``IncidentIn``, errors back to fields.

Inputs are named after the schema's dotted paths (``casualties.civilians.killed``,
``seizures.0.unit``) except where a flat name reads better (``lon``, ``lat``, ``place``,
``location_precision``, ``source_reliability``, ``information_credibility``); ``FIELD_OF``
maps pydantic's ``loc`` back to the input so each error is shown next to its control.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from pydantic import ValidationError

from sarhad.border import BorderProfile
from sarhad.core.errors import InvalidInput
from sarhad.incidents.models import Incident
from sarhad.incidents.schemas import IncidentIn
from sarhad.web.i18n import N_

SEIZURE_ROWS = 3  # rows shown on a new form; empty rows are ignored
MAX_SEIZURES = 100  # as IncidentIn allows
GROUPS = ("security_forces", "civilians", "assailants")
KINDS = ("killed", "injured", "detained")
_PREFIX = {"security_forces": "sf", "civilians": "civ", "assailants": "asl"}

#: pydantic ``loc`` (joined by dots) → the input that shows the error.
FIELD_OF = {
    "location.lon": "lon",
    "location.lat": "lat",
    "location.place": "place",
    "location.precision": "location_precision",
    "location": "lon",
    "grading.source_reliability": "source_reliability",
    "grading.information_credibility": "information_credibility",
}

#: Readable messages by pydantic error type (the raw English message is the fallback).
MESSAGES = {
    "missing": N_("This field is required."),
    "float_parsing": N_("Enter a number."),
    "float_type": N_("Enter a number."),
    "int_parsing": N_("Enter a whole number."),
    "int_from_float": N_("Enter a whole number."),
    "greater_than_equal": N_("The value is too small."),
    "greater_than": N_("The value is too small."),
    "less_than_equal": N_("The value is too large."),
    "string_too_short": N_("This is too short."),
    "string_too_long": N_("This is too long."),
    "enum": N_("Choose a value from the list."),
    "literal_error": N_("Choose a value from the list."),
    "string_pattern_mismatch": N_("Choose a value from the list."),
}
#: Names of the codes only this form shows (categories, sides and statuses are in labels.py).
FORM_LABELS: dict[str, dict[str, str]] = {
    "date_precision": {
        "exact": N_("Exact"),
        "day": N_("To the day"),
        "week": N_("To the week"),
        "month": N_("To the month"),
        "year": N_("To the year"),
    },
    "location_precision": {
        "exact": N_("Exact"),
        "near": N_("Near (within about 25 km)"),
        "district": N_("District"),
        "province": N_("Province"),
        "border": N_("Along the border"),
        "country": N_("Country"),
    },
    "commodity": {
        "hashish": N_("Hashish"),
        "heroin": N_("Heroin"),
        "opium": N_("Opium"),
        "methamphetamine": N_("Methamphetamine"),
        "other_narcotics": N_("Other narcotics"),
        "diesel": N_("Diesel"),
        "petrol": N_("Petrol"),
        "other_fuel": N_("Other fuel"),
        "firearms": N_("Firearms"),
        "ammunition": N_("Ammunition"),
        "explosives": N_("Explosives"),
        "vehicles": N_("Vehicles"),
        "livestock": N_("Livestock"),
        "currency": N_("Currency"),
        "goods": N_("Goods"),
        "other": N_("Other"),
    },
    "group": {
        "security_forces": N_("Security forces"),
        "civilians": N_("Civilians"),
        "assailants": N_("Assailants"),
    },
    "kind": {"killed": N_("Killed"), "injured": N_("Injured"), "detained": N_("Detained")},
}
MISSING_TIME = N_("Enter the date and time.")
BAD_TIME = N_("Enter the date and time as YYYY-MM-DD HH:MM.")
BAD_ZONE = N_("Choose a time zone from the list.")


def zones(profile: BorderProfile) -> dict[str, tzinfo]:
    """The zones the time may be given in: UTC and each side's legal time."""
    return {"UTC": UTC, **{side: profile.local_time(side) for side in profile.sides}}


def zone_names(profile: BorderProfile) -> dict[str, str]:
    """Each zone of ``zones`` as people write it: ``UTC``, ``PKT (UTC+05:00)``..."""
    now = datetime.now(UTC)
    names = {}
    for key, zone in zones(profile).items():
        if key == "UTC":
            names[key] = "UTC"
            continue
        offset = zone.utcoffset(now)
        sign = "-" if offset is not None and offset.total_seconds() < 0 else "+"
        minutes = abs(int(offset.total_seconds() // 60)) if offset is not None else 0
        names[key] = f"{zone.tzname(now)} (UTC{sign}{minutes // 60:02d}:{minutes % 60:02d})"
    return names


def _occurred(values: Mapping[str, str], profile: BorderProfile, errors: dict[str, str]) -> str:
    raw = values.get("occurred_at", "").strip()
    zone = zones(profile).get(values.get("zone", "UTC"))
    if zone is None:
        errors["zone"] = BAD_ZONE
        return ""
    if not raw:
        errors["occurred_at"] = MISSING_TIME
        return ""
    try:
        naive = datetime.fromisoformat(raw)
    except ValueError:
        errors["occurred_at"] = BAD_TIME
        return ""
    return naive.replace(tzinfo=zone).isoformat()


def seizure_rows(values: Mapping[str, str]) -> int:
    """How many seizure rows the form has (one spare beyond those filled in on an edit)."""
    try:
        shown = int(values.get("seizure_rows", SEIZURE_ROWS))
    except ValueError:
        shown = SEIZURE_ROWS
    return max(SEIZURE_ROWS, min(shown, MAX_SEIZURES))


def _seizures(values: Mapping[str, str]) -> list[dict[str, str]]:
    rows = []
    for i in range(seizure_rows(values)):
        row = {k: values.get(f"seizures.{i}.{k}", "").strip() for k in ("commodity", "quantity")}
        if not any(row.values()):
            continue  # an untouched row
        rows.append({**row, "unit": values.get(f"seizures.{i}.unit", "").strip()})
    return rows


def to_data(values: Mapping[str, str], profile: BorderProfile) -> dict[str, Any]:
    """The form as the nested dict ``IncidentIn`` reads (``errors`` of the time included)."""
    errors: dict[str, str] = {}
    occurred_at = _occurred(values, profile, errors)
    data: dict[str, Any] = {
        "title": values.get("title", ""),
        "category": values.get("category", ""),
        "occurred_at": occurred_at or None,
        "date_precision": values.get("date_precision") or "exact",
        "location": {
            "lon": values.get("lon", "").strip() or None,
            "lat": values.get("lat", "").strip() or None,
            "precision": values.get("location_precision") or "exact",
            "place": values.get("place", "").strip() or None,
        },
        "reporting_side": values.get("reporting_side", ""),
        "casualties": {
            group: {
                kind: values.get(f"casualties.{group}.{kind}", "").strip() or 0 for kind in KINDS
            }
            for group in GROUPS
        },
        "seizures": _seizures(values),
        "grading": {
            "source_reliability": values.get("source_reliability") or "F",
            "information_credibility": values.get("information_credibility") or "6",
        },
        "tlp": values.get("tlp") or "amber",
        "narrative": values.get("narrative", ""),
    }
    return {"data": data, "errors": errors}


def parse(values: Mapping[str, str], profile: BorderProfile) -> tuple[IncidentIn | None, dict]:
    """``IncidentIn`` from the form, or None and the errors by input name."""
    built = to_data(values, profile)
    errors: dict[str, str] = built["errors"]
    try:
        incident = IncidentIn.model_validate(built["data"])
    except ValidationError as exc:
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"])
            if loc == "occurred_at" and "occurred_at" in errors:
                continue  # our own message says more than "field required"
            errors.setdefault(FIELD_OF.get(loc, loc), message(e["type"], e["msg"]))
        return None, errors
    return (None, errors) if errors else (incident, errors)


def message(kind: str, raw: str) -> str:
    """A translatable message for a pydantic error type, or pydantic's own text."""
    return MESSAGES.get(kind) or raw.removeprefix("Value error, ")


def service_errors(exc: InvalidInput) -> dict[str, str]:
    """A service's ``InvalidInput`` by input name."""
    return {FIELD_OF.get(e.field, e.field): e.message for e in exc.errors}


def values_of(row: Incident, zone: str = "UTC") -> dict[str, str]:
    """The form's values for an existing incident (the time shown in UTC)."""
    values = {
        "title": row.title,
        "category": row.category,
        "occurred_at": row.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M"),
        "zone": zone,
        "date_precision": row.date_precision,
        "lon": f"{row.lon:.5f}",
        "lat": f"{row.lat:.5f}",
        "place": row.place or "",
        "location_precision": row.location_precision,
        "reporting_side": row.reporting_side,
        "source_reliability": row.source_reliability,
        "information_credibility": row.information_credibility,
        "tlp": row.tlp,
        "narrative": row.narrative,
    }
    for group in GROUPS:
        for kind in KINDS:
            values[f"casualties.{group}.{kind}"] = str(getattr(row, f"{_PREFIX[group]}_{kind}"))
    values["seizure_rows"] = str(len(row.seizures) + 1)
    for i, s in enumerate(row.seizures):
        values[f"seizures.{i}.commodity"] = s.commodity
        values[f"seizures.{i}.quantity"] = f"{s.quantity:g}"
        values[f"seizures.{i}.unit"] = s.unit
    return values
