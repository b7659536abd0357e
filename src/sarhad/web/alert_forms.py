"""The raise-an-alert form of the console: form fields to ``AlertIn``, errors back to fields.

Inputs are flat (``partner``, ``priority``, ``kind``, ``text``, ``sector``, ``lon``, ``lat``,
``valid_until`` with its ``zone``, ``tlp``, ``incident_ids``); ``FIELD_OF`` maps pydantic's
``loc`` and the service's field names back to the input that shows the error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from sarhad.alerts.schemas import AlertIn
from sarhad.border import BorderProfile
from sarhad.core.errors import InvalidInput
from sarhad.web import incident_forms
from sarhad.web.i18n import N_

#: pydantic ``loc`` (joined by dots) or a service field → the input that shows the error.
FIELD_OF = {
    "location.lon": "lon",
    "location.lat": "lat",
    "location": "lon",
    "valid_from": "valid_until",  # the form has no start: the alert is valid from now
    # AlertIn's own check (sector or location) has no field of its own.
    "": "sector",
}

NO_PLACE = N_("Choose a sector or enter a location (or both).")
HALF_POINT = N_("Enter both longitude and latitude, or neither.")
BAD_IDS = N_("Enter incident ids (UUIDs) separated by spaces or commas.")
PAST = N_("This time has passed; an alert must still be valid when it is sent.")


def _valid_until(values: Mapping[str, str], profile: BorderProfile, errors: dict[str, str]) -> Any:
    """The end of validity as an aware ISO time in the chosen zone; None for the default."""
    raw = values.get("valid_until", "").strip()
    zone = incident_forms.zones(profile).get(values.get("zone", "UTC"))
    if zone is None:
        errors["zone"] = incident_forms.BAD_ZONE
        return None
    if not raw:
        return None  # AlertIn's default: 24 hours after now
    try:
        naive = datetime.fromisoformat(raw)
    except ValueError:
        errors["valid_until"] = incident_forms.BAD_TIME
        return None
    until = naive.replace(tzinfo=zone)
    if until <= datetime.now(UTC):
        # Said here in the form's words: the service would speak of a valid_from it lacks.
        errors["valid_until"] = PAST
        return None
    return until.isoformat()


def incident_ids(raw: str) -> list[str]:
    """Ids typed or pasted into one box, split at spaces, commas or line ends."""
    return [part for part in re.split(r"[\s,;]+", raw) if part]


def to_data(values: Mapping[str, str], profile: BorderProfile) -> tuple[dict[str, Any], dict]:
    """The form as the dict ``AlertIn`` reads, and the errors found before pydantic's."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {"tlp": values.get("tlp") or "amber"}
    # An empty select or box is "not given": pydantic then says "required" or uses its default.
    for name in ("partner", "priority", "kind", "text", "sector"):
        value = values.get(name, "").strip()
        if value:
            data[name] = value
    lon, lat = values.get("lon", "").strip(), values.get("lat", "").strip()
    if lon and lat:
        data["location"] = {"lon": lon, "lat": lat}
    elif lon or lat:
        errors["lat" if lon else "lon"] = HALF_POINT
    elif "sector" not in data:
        errors["sector"] = NO_PLACE
    until = _valid_until(values, profile, errors)
    if until:
        data["valid_until"] = until
    data["incident_ids"] = incident_ids(values.get("incident_ids", ""))
    return data, errors


def parse(values: Mapping[str, str], profile: BorderProfile) -> tuple[AlertIn | None, dict]:
    """``AlertIn`` from the form, or None and the errors by input name."""
    data, errors = to_data(values, profile)
    try:
        alert = AlertIn.model_validate(data)
    except ValidationError as exc:
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"])
            field = FIELD_OF.get(loc, loc)
            if field == "sector" and not loc:
                text = NO_PLACE
            elif field.startswith("incident_ids"):
                field, text = "incident_ids", BAD_IDS
            else:
                text = incident_forms.message(e["type"], e["msg"])
            errors.setdefault(field, text)
        return None, errors
    return (None, errors) if errors else (alert, errors)


def service_errors(exc: InvalidInput) -> dict[str, str]:
    """The service's ``InvalidInput`` by input name (its own words, first per field)."""
    errors: dict[str, str] = {}
    for e in exc.errors:
        errors.setdefault(FIELD_OF.get(e.field, e.field), e.message)
    return errors
