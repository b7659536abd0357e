"""STIX 2.1 mapping of Sarhad border incidents: outbound objects and the shared constants.

Every function returns plain JSON-ready dicts. Building ``stix2`` objects (let alone a
``Bundle``) for every record is slow on big exports (cti-python-stix2 #96, #302), so the hot
path writes the dicts directly and the tests prove each one with ``stix2.parse`` and
stix2-validator. The inbound side lives in :mod:`sarhad.federation.stix_inbound`.
Mapping table: docs/stix-mapping.md.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sarhad.core.markings import STIX_TLP2_IDS, TLP
from sarhad.incidents.taxonomy import LocationPrecision

EXTENSION_ID = "extension-definition--c7968518-0f6a-40aa-889c-e5ce18aa6c72"
"""Our property-extension of ``incident`` (generated once; never change it)."""

NAMESPACE = uuid.UUID("18ba4c0d-55c3-4bbb-9cae-ba9ea98bc283")
"""Namespace of the uuid5 ids of the location and relationship derived from an incident."""

EXTENSION_NAME = "sarhad-border-incident"
EXTENSION_VERSION = "1.0"
# Fixed, because all nodes must emit a byte-identical extension-definition (same id + modified).
EXTENSION_CREATED = "2026-11-23T00:00:00.000Z"
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SCHEMA_PATH = SCHEMA_DIR / "sarhad-border-incident-1.0.json"
SCHEMA_URL = (
    "https://github.com/sarhad-project/sarhad/blob/main/"
    "src/sarhad/federation/schemas/sarhad-border-incident-1.0.json"
)

TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_CREATED = "2022-10-01T00:00:00.000Z"

SOURCE_NAME = "sarhad-source"
"""``source_name`` of the external references that carry the record's ``sources``."""

TOP_LEVEL_WITHHOLDABLE = ("grading", "narrative", "seizures", "sources")
WITHHOLDABLE = frozenset({*TOP_LEVEL_WITHHOLDABLE, "place"})
"""Field names a sharing policy may remove (``place`` lives inside ``location``)."""

PRECISION_M: dict[LocationPrecision, float] = {
    LocationPrecision.EXACT: 100.0,
    LocationPrecision.NEAR: 25_000.0,  # the taxonomy's "within about 25 km"
    LocationPrecision.DISTRICT: 100_000.0,  # border districts span 200-300 km (e.g. Chagai)
    LocationPrecision.BORDER: 100_000.0,  # a stretch of the ~900 km line, not the whole of it
    LocationPrecision.PROVINCE: 500_000.0,  # Balochistan, Sistan-Baluchestan span 700-900 km
    LocationPrecision.COUNTRY: 1_000_000.0,
}
"""STIX ``location.precision`` (metres: the place is anywhere up to this far from the point)."""

_ISO2 = re.compile(r"[A-Z]{2}")
_STIX_TS = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z", re.ASCII)

StixObject = dict[str, Any]


# --- timestamps and ids ------------------------------------------------------------------


def stix_timestamp(value: datetime | str) -> str:
    """UTC ``YYYY-MM-DDTHH:MM:SS.mmmZ``, with 6 fraction digits when microseconds are set.

    Nothing is rounded: two versions a few microseconds apart keep distinct, ordered
    ``modified`` values. A naive datetime is taken as UTC (the database stores UTC).
    """
    dt = _as_utc(value)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond % 1000 == 0:
        return f"{base}.{dt.microsecond // 1000:03d}Z"
    return f"{base}.{dt.microsecond:06d}Z"


def parse_stix_timestamp(text: object) -> datetime:
    """Strictly parse a STIX timestamp (UTC, ``Z``); digits beyond microseconds are cut.

    Raises ValueError with a short message on anything else.
    """
    m = _STIX_TS.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError("is not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z)")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def _as_utc(value: datetime | str) -> datetime:
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _uuid(value: object, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValueError(f"{what} must be a UUID, got {value!r}") from None


def _check_ref(ref: str, type_: str) -> str:
    prefix = f"{type_}--"
    if not isinstance(ref, str) or not ref.startswith(prefix):
        raise ValueError(f"expected a {prefix}<uuid> id, got {ref!r}")
    _uuid(ref[len(prefix) :], f"{type_} id")
    return ref


def derived_id(type_: str, incident_id: str, role: str) -> str:
    """Deterministic id of an object derived from an incident (``role``: location, located-at)."""
    return f"{type_}--{uuid.uuid5(NAMESPACE, f'{incident_id}/{role}')}"


# --- fixed objects -----------------------------------------------------------------------


def node_identity(*, node_id: str, name: str, country: str, created: datetime) -> StixObject:
    """The node's agency as an ``identity`` (always an organization, never a person)."""
    if not _ISO2.fullmatch(country or ""):
        raise ValueError(f"country must be an ISO 3166 alpha-2 code, got {country!r}")
    ts = stix_timestamp(created)
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": f"identity--{_uuid(node_id, 'node_id')}",
        "created": ts,
        "modified": ts,
        "name": f"{name} ({country})",
        "identity_class": "organization",
        "sectors": ["government-national"],
    }


def tlp_marking_definitions() -> list[StixObject]:
    """The five TLP 2.0 marking definitions exactly as OASIS publishes them.

    (cti-stix-common-objects, extension-definition-specifications/tlp-2.0/examples: no
    ``created_by_ref``, no ``definition_type``/``definition``.)
    """
    return [
        {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": STIX_TLP2_IDS[level],
            "created": TLP2_CREATED,
            "name": level.label,
            "extensions": {
                TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": level.value}
            },
        }
        for level in TLP
    ]


def extension_definition(*, created_by_ref: str) -> StixObject:
    """Our ``extension-definition``. Its id and timestamps are fixed, so pass one identity
    (the same on every node) or partners will see two different objects with one version."""
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": EXTENSION_ID,
        "created_by_ref": _check_ref(created_by_ref, "identity"),
        "created": EXTENSION_CREATED,
        "modified": EXTENSION_CREATED,
        "name": EXTENSION_NAME,
        "description": (
            "Border incident recorded on a Sarhad node: time and its precision, category, "
            "casualty counts, seizures, Admiralty grading, place precision, border placement, "
            "origin node and the names of fields withheld by the sharing policy."
        ),
        "schema": SCHEMA_URL,
        "version": EXTENSION_VERSION,
        "extension_types": ["property-extension"],
        "object_marking_refs": [TLP.CLEAR.stix_id],
    }


# --- incidents ---------------------------------------------------------------------------


def incident_to_stix(
    record: Mapping[str, Any],
    *,
    identity_id: str,
    withheld: Sequence[str] = (),
    origin_node_id: str,
) -> list[StixObject]:
    """Map one ``IncidentOut`` JSON dict to [incident, location, located-at relationship].

    Fields absent from ``record`` (removed by the sharing policy) produce absent properties
    and are listed in ``withheld_fields`` even if the caller forgot to name them; a field
    named in ``withheld`` is left out even if still present (fail closed).
    """
    unknown = set(withheld) - WITHHOLDABLE
    if unknown:
        raise ValueError(f"cannot withhold {sorted(unknown)}; only {sorted(WITHHOLDABLE)}")
    _check_ref(identity_id, "identity")
    loc = record["location"]
    hidden = set(withheld) | {f for f in TOP_LEVEL_WITHHOLDABLE if f not in record}
    if "place" not in loc:
        hidden.add("place")

    incident_id = f"incident--{_uuid(record['id'], 'record id')}"
    created = _as_utc(record["created_at"])
    # An edit can never predate creation; clamp bad clocks instead of emitting invalid STIX.
    modified = max(created, _as_utc(record["updated_at"]))
    common = {
        "spec_version": "2.1",
        "created_by_ref": identity_id,
        "created": stix_timestamp(created),
        "modified": stix_timestamp(modified),
    }
    marking = [TLP(record["tlp"]).stix_id]
    precision = LocationPrecision(loc["precision"])

    ext = _extension_contents(record, precision, hidden, str(_uuid(origin_node_id, "origin")))
    incident: StixObject = {"type": "incident", "id": incident_id, **common}
    incident["name"] = record["title"]
    if "narrative" not in hidden and record.get("narrative"):
        incident["description"] = record["narrative"]
    if "sources" not in hidden and record.get("sources"):
        incident["external_references"] = [
            {"source_name": SOURCE_NAME, "description": s} for s in record["sources"]
        ]
    incident["labels"] = [str(record["category"])]  # MISP/OpenCTI users see the category
    incident["object_marking_refs"] = marking
    incident["extensions"] = {EXTENSION_ID: ext}

    location: StixObject = {
        "type": "location",
        "id": derived_id("location", incident_id, "location"),
    }
    location.update(common)
    location["latitude"] = float(loc["lat"])
    location["longitude"] = float(loc["lon"])
    location["precision"] = PRECISION_M[precision]
    side = record["enrichment"]["side"]
    if isinstance(side, str) and _ISO2.fullmatch(side):
        location["country"] = side
    location["object_marking_refs"] = marking

    relationship: StixObject = {
        "type": "relationship",
        "id": derived_id("relationship", incident_id, "located-at"),
        **common,
        "relationship_type": "located-at",
        "source_ref": incident_id,
        "target_ref": location["id"],
        "object_marking_refs": marking,
    }
    return [incident, location, relationship]


def _extension_contents(
    record: Mapping[str, Any], precision: LocationPrecision, hidden: set[str], origin: str
) -> dict[str, Any]:
    enrichment = record["enrichment"]
    crossing = enrichment["nearest_crossing"]
    ext: dict[str, Any] = {
        "extension_type": "property-extension",
        "category": str(record["category"]),
        "status": str(record["status"]),
        "version": int(record["version"]),
        "occurred_at": stix_timestamp(record["occurred_at"]),
        "date_precision": str(record["date_precision"]),
        "location_precision": precision.value,
        "reporting_side": record["reporting_side"],
        "casualties": {
            group: {k: int(counts[k]) for k in ("killed", "injured", "detained")}
            for group, counts in record["casualties"].items()
        },
    }
    place = record["location"].get("place")
    if "place" not in hidden and place:
        ext["place"] = place
    if "seizures" not in hidden and record.get("seizures"):
        ext["seizures"] = [
            {"commodity": str(s["commodity"]), "quantity": s["quantity"], "unit": str(s["unit"])}
            for s in record["seizures"]
        ]
    if "grading" not in hidden:
        g = record["grading"]
        ext["grading"] = {
            "source_reliability": str(g["source_reliability"]),
            "information_credibility": str(g["information_credibility"]),
        }
    ext["border"] = {
        "profile": enrichment["profile"],
        "side": enrichment["side"],
        "sector": enrichment["sector"],
        "km": enrichment["km"],
        "distance_m": enrichment["distance_m"],
        "nearest_crossing": crossing["id"],
        "nearest_crossing_distance_m": crossing["distance_m"],
    }
    ext["origin_node"] = origin
    if hidden:  # the validator refuses empty lists: absent means "nothing withheld"
        ext["withheld_fields"] = sorted(hidden)
    return ext


# --- second gate -------------------------------------------------------------------------


def validate_with_oasis(
    objects: Sequence[Mapping[str, Any]], *, warnings_out: list[str] | None = None
) -> list[str]:
    """Run the OASIS stix2-validator on each object, with our extension schema; return errors.

    Warnings are not errors ([202] "incident located-at location" is expected); pass
    ``warnings_out`` to collect them. The validator is slow on some inputs: use it as a
    second gate after :func:`~sarhad.federation.stix_inbound.parse_inbound`, not instead.
    """
    # Imported here: it is heavy and only needed by this optional gate.
    from stix2validator import ValidationOptions, validate_instance

    options = ValidationOptions(version="2.1", schema_dir=str(SCHEMA_DIR), silent=True)
    errors: list[str] = []
    for obj in objects:
        label = obj.get("id", "?") if isinstance(obj, Mapping) else "?"
        try:
            result = validate_instance(dict(obj), options)
        except Exception as exc:  # the validator raises on shapes it cannot even read
            errors.append(f"{label}: {exc}")
            continue
        errors.extend(str(e) for e in result.errors)
        if warnings_out is not None:
            warnings_out.extend(str(w) for w in result.warnings)
    return errors
