"""Border incidents as a shareable object type: out as STIX, in from partners, stored read-only.

A shared incident travels as three STIX 2.1 objects: an ``incident`` carrying our
property-extension, a ``location`` and a ``located-at`` relationship between them (ids of the
last two derived from the incident's). What goes to a partner is decided and redacted by the
agreement (``sharing.policy``); a record that may no longer go is withdrawn with the content
the partner had. What a partner sends passes the envelope
(:mod:`~sarhad.federation.stix.envelope`), then, for incidents, our extension's JSON schema,
the TLP marking (TLP 1.0 read as 2.0), the located-at location of the same batch and finally
sarhad's own ``IncidentIn`` rules. An incident without our extension (a plain STIX peer's) is
mapped from what it states when the sender's side is known. Stored set-based
(``incidents.received``), read-only, one version per record and batch.
Mapping table: docs/stix-mapping.md.
"""

from __future__ import annotations

import contextlib
import functools
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Row, delete, select
from sqlalchemy.orm import Session

from sarhad.core.errors import SarhadError
from sarhad.core.markings import TLP, Family, may_arrive
from sarhad.federation.identity import EXTENSION_AUTHOR
from sarhad.federation.models import PendingRelease, Receipt
from sarhad.federation.stix import envelope
from sarhad.federation.stix.checks import compile_schema, short
from sarhad.federation.stix.core import (
    ISO2,
    SCHEMA_DIR,
    StixObject,
    as_utc,
    check_ref,
    stix_timestamp,
    uuid_of,
)
from sarhad.federation.stix.envelope import (
    CONTEXT_TYPES,
    Checked,
    Refused,
    Rejected,
    check_all,
    internal,
    usable_id,
)
from sarhad.federation.types.base import (
    Arrival,
    Changed,
    Inbound,
    ObjectType,
    Outbound,
    payload_of,
    stamp,
)
from sarhad.incidents import links
from sarhad.incidents import service as incidents
from sarhad.incidents.models import Incident
from sarhad.incidents.received import store_received_many
from sarhad.incidents.schemas import IncidentIn
from sarhad.incidents.service import Received
from sarhad.incidents.taxonomy import Category, LocationPrecision, Status
from sarhad.sharing.policy import SharableRecord, decide, redact

EXTENSION_ID = "extension-definition--c7968518-0f6a-40aa-889c-e5ce18aa6c72"
"""Our property-extension of ``incident`` (generated once; never change it)."""

NAMESPACE = uuid.UUID("18ba4c0d-55c3-4bbb-9cae-ba9ea98bc283")
"""Namespace of the uuid5 ids of the location and relationship derived from an incident."""

EXTENSION_NAME = "sarhad-border-incident"
#: 1.1 added the originator's ``signature`` inside the extension (docs/federation.md).
EXTENSION_VERSION = "1.1"
# Fixed, because all nodes must emit a byte-identical extension-definition (same id + modified).
EXTENSION_CREATED = "2026-11-23T00:00:00.000Z"
EXTENSION_MODIFIED = "2026-12-05T10:00:00.000Z"
SCHEMA_PATH = SCHEMA_DIR / "sarhad-border-incident-1.0.json"
SCHEMA_URL = (
    "https://github.com/sarhad-project/sarhad/blob/main/"
    "src/sarhad/federation/schemas/sarhad-border-incident-1.0.json"
)

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


#: STIX types of the incident's own objects; the others of ACCEPTED_TYPES are kept as given.
RECORD_TYPES = frozenset({"incident", "location", "relationship"})
ACCEPTED_TYPES = RECORD_TYPES | CONTEXT_TYPES


# --- outbound: a record as the agreement lets a partner have it --------------------------


def derived_id(type_: str, incident_id: str, role: str) -> str:
    """Deterministic id of an object derived from an incident (``role``: location, located-at)."""
    return f"{type_}--{uuid.uuid5(NAMESPACE, f'{incident_id}/{role}')}"


def extension_definition(*, created_by_ref: str) -> StixObject:
    """Our ``extension-definition``. Its id and timestamps are fixed, so pass one identity
    (the same on every node) or partners will see two different objects with one version."""
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": EXTENSION_ID,
        "created_by_ref": check_ref(created_by_ref, "identity"),
        "created": EXTENSION_CREATED,
        "modified": EXTENSION_MODIFIED,
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
    check_ref(identity_id, "identity")
    loc = record["location"]
    hidden = set(withheld) | {f for f in TOP_LEVEL_WITHHOLDABLE if f not in record}
    if "place" not in loc:
        hidden.add("place")

    incident_id = f"incident--{uuid_of(record['id'], 'record id')}"
    created = as_utc(record["created_at"])
    # An edit can never predate creation; clamp bad clocks instead of emitting invalid STIX.
    modified = max(created, as_utc(record["updated_at"]))
    common = {
        "spec_version": "2.1",
        "created_by_ref": identity_id,
        "created": stix_timestamp(created),
        "modified": stix_timestamp(modified),
    }
    marking = [TLP(record["tlp"]).stix_id]
    precision = LocationPrecision(loc["precision"])

    ext = _extension_contents(record, precision, hidden, str(uuid_of(origin_node_id, "origin")))
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
    if isinstance(side, str) and ISO2.fullmatch(side):
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


# --- inbound: a partner's objects → checked incident data ----------------------------------


def _inline_defs(node: Any, defs: Mapping[str, Any]) -> Any:
    """Replace local ``#/$defs/x`` refs by their target: ref lookups were 60 % of the time."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and len(node) == 1:
            return _inline_defs(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline_defs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_defs(v, defs) for v in node]
    return node


with SCHEMA_PATH.open(encoding="utf-8") as _f:
    _SCHEMA = json.load(_f)
_EXT_SCHEMA = _inline_defs(_SCHEMA, _SCHEMA.get("$defs", {}))


@functools.cache
def _ext_validator() -> Any:
    """jsonschema's validator of the extension: slow (~280 µs), used for messages only.

    Imported on first use, as in ``checks._unique``: jsonschema's import costs about 1.5 s.
    """
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_EXT_SCHEMA)


_EXT_VALID = compile_schema(_EXT_SCHEMA)  # same verdicts, ~50× faster


@dataclass
class InboundIncident:
    """An incident a partner shared, checked; ``data`` is IncidentIn-shaped JSON.

    Fields the sender withheld are absent from ``data`` and named in ``withheld_fields``.
    """

    stix_id: str
    record_id: str
    modified: datetime
    created: datetime
    origin_node_id: str | None
    created_by_ref: str | None
    withheld_fields: list[str] = field(default_factory=list)
    status: str = ""
    version: int = 0
    revoked: bool = False
    # The validated model behind ``data`` (saves the inbox validating the same dict again);
    # compared, as ``data`` was when it was a field.
    model: IncidentIn | None = field(default=None, repr=False)
    #: The located-at relationships and locations of this incident in the batch, as given.
    parts: list[dict[str, Any]] = field(default_factory=list, repr=False)
    #: True for a plain STIX incident (no Sarhad extension), mapped from what it states.
    plain: bool = False
    #: The incident object as received.
    source: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: ``source`` and ``parts`` as JSON text, each as ``store.canonical`` writes it (the
    #: envelope's encoding): what keeping the record as received writes, joined.
    texts: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @functools.cached_property
    def data(self) -> dict[str, Any]:
        """``model`` as IncidentIn-shaped JSON (withheld fields absent), {} without one.

        Written when first asked for (storing uses ``model`` itself), then kept.
        """
        if self.model is None:
            return {}
        return self.model.model_dump(mode="json", exclude_unset=True)


def parse_inbound(
    objects: Sequence[object],
    *,
    max_object_bytes: int = 65536,
    reference: bool = False,
    plain_side: str | None = None,
    positions: Sequence[int] | None = None,
    expect: Callable[[list[tuple[StixObject, list[StixObject], tuple[str, ...]]]], None]
    | None = None,
) -> tuple[list[InboundIncident], list[Rejected], list[StixObject]]:
    """Check a partner's objects: (incidents, rejected, other accepted objects as given).

    Locations and located-at relationships that belong to an incident of the batch are
    consumed by it (whatever becomes of the incident): they are its ``parts`` and are not
    listed among the others. ``plain_side`` (the sender's country) takes in plain STIX
    incidents, without our extension, as records reported by that side; without it they are
    refused. ``reference=True`` checks every object with ``stix2.parse`` and jsonschema
    instead of the fast checks (≈ 5× slower): the yardstick of the tests and
    bench/stix_inbound.py. ``positions``: each object's place in the partner's batch, to name
    one without a usable id (default: its index here). ``expect`` is handed each incident
    with its parts and their JSON texts as soon as the envelope checked them, before they
    are read (``Inbound.expect``: their signature checks start then).
    """
    if not isinstance(objects, list | tuple):
        return [], [Rejected(None, "expected a list of STIX objects")], []
    incidents: list[InboundIncident] = []
    # Including refused ones: their location goes with them.
    incident_ids = {
        sid for obj in objects if (sid := usable_id(obj)) and sid.startswith("incident--")
    }
    checked, rejected = check_all(
        objects,
        accepted=ACCEPTED_TYPES,
        positions=positions,
        max_object_bytes=max_object_bytes,
        reference=reference,
    )

    locations: dict[str, list[Checked]] = {}
    for c in checked:
        if c.type == "location":
            locations.setdefault(c.id, []).append(c)
    located_at: dict[str, list[Checked]] = {}
    consumed: set[int] = set()
    parts: dict[str, dict[int, Checked]] = {}  # incident id -> its parts, by identity
    for c in checked:
        src, dst = c.obj.get("source_ref"), c.obj.get("target_ref")
        if (
            c.type == "relationship"
            and c.obj.get("relationship_type") == "located-at"
            and isinstance(src, str)  # stix2.parse checked it; hashing a list would raise
            and isinstance(dst, str)
            and src in incident_ids
        ):
            located_at.setdefault(src, []).append(c)
            mine = parts.setdefault(src, {})
            for part in (c, *locations.get(dst, [])):
                consumed.add(id(part))
                mine[id(part)] = part
    order = {id(c): i for i, c in enumerate(checked)}

    def parts_of(incident_id: str) -> list[Checked]:
        """The parts of one incident in the order of the batch."""
        return sorted(parts.get(incident_id, {}).values(), key=lambda p: order[id(p)])

    owned = {c.id: parts_of(c.id) for c in checked if c.type == "incident"}
    if expect is not None:
        expect(
            [
                (c.obj, [p.obj for p in owned[c.id]], (c.text, *(p.text for p in owned[c.id])))
                for c in checked
                if c.type == "incident"
            ]
        )
    others: list[StixObject] = []
    for c in checked:
        if c.type != "incident":
            if id(c) not in consumed:
                others.append(c.obj)
            continue
        try:
            inc = _incident(c, located_at.get(c.id, []), locations, reference, plain_side)
        except Refused as r:
            rejected.append(Rejected(c.id, f"{c.id}: {r.reason}"))
        except Exception as exc:
            rejected.append(Rejected(c.id, f"{c.id}: {internal(exc)}"))
        else:
            own = owned[c.id]
            inc.parts, inc.source = [p.obj for p in own], c.obj
            inc.texts = (c.text, *(p.text for p in own))
            incidents.append(inc)
    for refused in rejected:
        if refused.stix_id is not None and refused.stix_id.startswith("incident--"):
            refused.parts = [p.obj for p in parts_of(refused.stix_id)]
    return incidents, rejected, others


def _incident(
    c: Checked,
    rels: list[Checked],
    locations: Mapping[str, list[Checked]],
    reference: bool = False,
    plain_side: str | None = None,
) -> InboundIncident:
    obj = c.obj
    if plain_side is not None and EXTENSION_ID not in (obj.get("extensions") or {}):
        return _plain_incident(c, rels, locations, plain_side)
    ext = _our_extension(obj, reference)
    tlp = envelope.tlp(obj)
    arrives = may_arrive(tlp, Family.INCIDENT)  # an incident and its parts (RED may arrive)
    if not arrives.ok:
        raise Refused(arrives.text)
    withheld = list(ext.get("withheld_fields", []))
    present = {
        "narrative": "description" in obj,
        "sources": bool(_sarhad_refs(obj)),
        "seizures": "seizures" in ext,
        "grading": "grading" in ext,
        "place": "place" in ext,
    }
    for name in withheld:
        if present[name]:
            raise Refused(f"{name!r} is listed as withheld but present")
    assert c.modified is not None  # required by _envelope for every type but markings
    result = InboundIncident(
        stix_id=c.id,
        record_id=c.id.split("--", 1)[1],
        modified=c.modified,
        created=c.created,
        origin_node_id=ext["origin_node"],
        created_by_ref=obj.get("created_by_ref"),
        withheld_fields=withheld,
        status=ext["status"],
        version=ext["version"],
        revoked=obj.get("revoked") is True,
    )
    if result.revoked:
        # A withdrawal needs no content: map it when the batch holds it, else leave data {}.
        with contextlib.suppress(Refused):
            result.model = _data(c, ext, tlp, _location(c, rels, locations, tlp))
        return result
    result.model = _data(c, ext, tlp, _location(c, rels, locations, tlp))
    return result


# --- plain STIX incidents (MISP, OpenCTI, scripts built on the stix2 library) -----------

#: Free text longer than our limits is cut (the original object is kept whole).
_TITLE_MAX, _PLACE_MAX, _NARRATIVE_MAX, _SOURCE_MAX, _SOURCES_MAX = 200, 200, 20_000, 500, 50
_CATEGORIES = {c.value: c for c in Category}
#: STIX ``location.precision`` (metres) → our precision: the finest one that covers it.
_BY_METRES = [
    (PRECISION_M[p], p)
    for p in (
        LocationPrecision.EXACT,
        LocationPrecision.NEAR,
        LocationPrecision.DISTRICT,
        LocationPrecision.PROVINCE,
    )
]
#: A point given without ``precision`` (STIX: "unspecified") is taken as within about 25 km.
PLAIN_PRECISION = LocationPrecision.NEAR
#: An incident that carries no TLP marking at all is kept as TLP:AMBER (fail closed).
PLAIN_TLP = TLP.AMBER


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def precision_of(metres: object) -> LocationPrecision:
    """Our location precision for a STIX ``precision`` in metres (absent: PLAIN_PRECISION)."""
    if isinstance(metres, bool) or not isinstance(metres, int | float):
        return PLAIN_PRECISION
    for limit, precision in _BY_METRES:
        if metres <= limit:
            return precision
    return LocationPrecision.COUNTRY


def category_of(obj: Mapping[str, Any]) -> Category:
    """Our category named by the incident's ``labels`` (as Sarhad nodes label theirs), or
    ``other`` when no label is one of ours: the only vocabulary of categories we know."""
    for label in obj.get("labels") or []:
        found = _CATEGORIES.get(label.strip().lower().replace("-", "_").replace(" ", "_"))
        if found is not None:
            return found
    return Category.OTHER


def _plain_sources(obj: Mapping[str, Any]) -> list[str]:
    sources = []
    for ref in (obj.get("external_references") or [])[:_SOURCES_MAX]:
        where = ref.get("url") or ref.get("description")
        words = [ref.get("source_name"), ref.get("external_id"), where]
        sources.append(_cut(" ".join(w for w in words if w), _SOURCE_MAX))
    return sources


def _plain_incident(
    c: Checked, rels: list[Checked], locations: Mapping[str, list[Checked]], side: str
) -> InboundIncident:
    """A plain STIX incident and its location as a record reported by ``side``.

    It states a name, perhaps a description, labels and references, a marking, and a place
    through its located-at location; the rest takes the values that claim nothing (category
    ``other``, no casualties, grading F6, status validated as the partner published it).
    """
    obj = c.obj
    assert c.modified is not None
    result = InboundIncident(
        stix_id=c.id,
        record_id=c.id.split("--", 1)[1],
        modified=c.modified,
        created=c.created,
        origin_node_id=None,
        created_by_ref=obj.get("created_by_ref"),
        status="validated",
        version=1,
        revoked=obj.get("revoked") is True,
        plain=True,
    )
    own = envelope.marking(obj)
    try:
        chosen, used = _place(c, rels, locations, None)
    except Refused:
        if result.revoked:
            return result  # a withdrawal needs no content
        raise
    # Never less restricted than any part says: the most restrictive marking of the group.
    tlp = max(
        [own or PLAIN_TLP, *(m for p in (chosen, *used) if (m := envelope.marking(p.obj)))],
        key=lambda t: t.rank,
    )
    loc = chosen.obj
    started = next((r.obj["start_time"] for r in used if "start_time" in r.obj), None)
    location: dict[str, Any] = {
        "lon": loc["longitude"],
        "lat": loc["latitude"],
        "precision": precision_of(loc.get("precision")).value,
    }
    place = loc.get("name") or ", ".join(
        loc[k] for k in ("city", "administrative_area", "region") if loc.get(k)
    )
    if place:
        location["place"] = _cut(place, _PLACE_MAX)
    data: dict[str, Any] = {
        "title": _cut(obj["name"], _TITLE_MAX),
        "category": category_of(obj).value,
        # STIX 2.1 gives an incident no time of its own: the located-at relationship's
        # start_time when there is one, else the day the object was created.
        "occurred_at": started or obj["created"],
        "date_precision": "exact" if started else "day",
        "location": location,
        "reporting_side": side,
        "tlp": tlp.value,
        "narrative": _cut(obj.get("description", ""), _NARRATIVE_MAX),
        "sources": _plain_sources(obj),
    }
    result.model = _validated(data)
    return result


def _data(c: Checked, ext: Mapping[str, Any], tlp: TLP, loc: Mapping[str, Any]) -> IncidentIn:
    """The IncidentIn-shaped dict, checked by IncidentIn itself; withheld fields stay absent."""
    obj = c.obj
    withheld = ext.get("withheld_fields", [])
    data: dict[str, Any] = {
        "title": obj["name"],
        "category": ext["category"],
        "occurred_at": ext["occurred_at"],
        "date_precision": ext["date_precision"],
        "location": {
            "lon": loc["longitude"],
            "lat": loc["latitude"],
            "precision": ext["location_precision"],
        },
        "reporting_side": ext["reporting_side"],
        "casualties": ext["casualties"],
        "tlp": tlp.value,
    }
    if "place" in ext:
        data["location"]["place"] = ext["place"]
    # Absent and not withheld means "empty" (outbound leaves out empty text and lists).
    for name, value, empty in (
        ("seizures", ext.get("seizures"), []),
        ("grading", ext.get("grading"), None),
        ("narrative", obj.get("description"), ""),
        ("sources", _sarhad_refs(obj) or None, []),
    ):
        if value is not None:
            data[name] = value
        elif name not in withheld and empty is not None:
            data[name] = empty
    return _validated(data)


def _validated(data: dict[str, Any]) -> IncidentIn:
    """``data`` checked by IncidentIn itself; its first error becomes the reason."""
    try:
        return IncidentIn.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        path = ".".join(str(p) for p in first["loc"]) or "record"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        message = first["msg"].removeprefix("Value error, ")
        raise Refused(short(f"{path}: {message}{more}")) from None


def _our_extension(obj: Mapping[str, Any], reference: bool = False) -> dict[str, Any]:
    extensions = obj.get("extensions") or {}
    foreign = sorted(k for k in extensions if k != EXTENSION_ID)
    if EXTENSION_ID not in extensions:
        also = f" (unknown extension {short(foreign[0])})" if foreign else ""
        raise Refused(f"not a Sarhad border incident: no {EXTENSION_ID}{also}")
    if foreign:
        raise Refused(f"unknown extension {short(foreign[0])}")
    ext: dict[str, Any] = extensions[EXTENSION_ID]
    if not reference and _EXT_VALID(ext):
        return ext
    # Invalid (or the reference path): jsonschema's slow search finds the clearest reason.
    from jsonschema.exceptions import best_match  # lazily, see _ext_validator

    error = best_match(_ext_validator().iter_errors(ext))
    if error is not None:
        path = ".".join(str(p) for p in error.absolute_path)
        raise Refused(short(f"extension {path or '(root)'}: {error.message}"))
    if not reference:  # cannot happen: both agree (tests/federation/test_stix_checks.py)
        raise Refused("extension (root): does not match the schema")
    return ext


def _sarhad_refs(obj: Mapping[str, Any]) -> list[Any]:
    refs = obj.get("external_references") or []
    return [r.get("description") for r in refs if r.get("source_name") == SOURCE_NAME]


def _location(
    c: Checked, rels: list[Checked], locations: Mapping[str, list[Checked]], tlp: TLP
) -> dict[str, Any]:
    return _place(c, rels, locations, tlp)[0].obj


def _place(
    c: Checked, rels: list[Checked], locations: Mapping[str, list[Checked]], tlp: TLP | None
) -> tuple[Checked, list[Checked]]:
    """(the location, the relationships) of incident ``c``; each part marked ``tlp`` unless
    it is None, by the incident's author if it names one, the point numeric."""
    # A batch may hold several versions of one incident: use the location and relationship
    # versions written with this incident version (same ``modified``), else the latest.
    rels = _same_version(rels, c)
    targets = {r.obj["target_ref"] for r in rels if r.obj["target_ref"] in locations}
    if not targets:
        raise Refused("no located-at location in this batch")
    if len(targets) > 1:
        raise Refused("more than one located-at location")
    [chosen] = _same_version(locations[targets.pop()], c)[-1:]
    for part in (chosen, *rels):
        if tlp is not None and envelope.tlp_or_none(part.obj) is not tlp:
            raise Refused(f"{part.id} is not marked {tlp.label} like the incident")
        author = part.obj.get("created_by_ref")
        if author is not None and author != c.obj.get("created_by_ref"):
            raise Refused(f"{part.id} has another author than the incident")
    loc = chosen.obj
    for key in ("latitude", "longitude"):
        value = loc.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Refused(f"{chosen.id} has no numeric {key}: a record needs a point")
    return chosen, rels


def _same_version(versions: list[Checked], c: Checked) -> list[Checked]:
    same = [v for v in versions if v.modified == c.modified]
    if same or not versions:
        return same
    return [max(versions, key=lambda v: v.modified or v.created)]


# --- the type ------------------------------------------------------------------------------


def _stix_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _withdrawal(old: StixObject | None, now: datetime) -> StixObject | None:
    """The partner's version of a record it may no longer have (``old``, the latest its
    collection holds), marked withdrawn.

    With the content it already had (never the new content); None when it never had the
    record or has it withdrawn already.
    """
    if old is None or old.get("revoked"):
        return None
    last = as_utc(old["modified"].replace("Z", "+00:00"))
    old["modified"] = _stix_time(max(now, last + timedelta(milliseconds=1)))
    old["revoked"] = True
    return old


#: The columns ``publish`` decides a record by (``_sharable``, withdrawn, version time).
_DECIDING = (
    Incident.id,
    Incident.category,
    Incident.sector_id,
    Incident.status,
    Incident.tlp,
    Incident.occurred_at,
    Incident.origin_node_id,
    Incident.revoked,
    Incident.updated_at,
)


def _sharable(row: Incident | Row[*tuple[Any, ...]]) -> SharableRecord:
    """``SharableRecord.from_incident(to_out(row), row.origin_node_id)`` read off the row:
    ``decide`` needs five columns, and building the whole API model of every record a
    publish pass refuses (a partner's own records after a sync) cost more than the pass."""
    return SharableRecord(
        id=row.id,
        category=str(Category(row.category)),
        sector=row.sector_id,
        status=str(Status(row.status)),
        tlp=TLP(row.tlp),
        occurred_at=row.occurred_at,
        origin_node_id=row.origin_node_id,
    )


class IncidentType(ObjectType[InboundIncident]):
    """Border incidents: decided and redacted by the agreement, stored read-only."""

    name = "incident"
    entities = frozenset({incidents.ENTITY})
    stix_types = RECORD_TYPES
    definition_at_introduction = True

    def definition(self, author: str = EXTENSION_AUTHOR) -> StixObject:
        """Our property-extension of ``incident``."""
        return extension_definition(created_by_ref=author)

    def originator(self, obj: StixObject) -> str | None:
        """The node named by our extension's ``origin_node`` (a forwarder names the
        originator there, not in ``created_by_ref``)."""
        ext = (obj.get("extensions") or {}).get(EXTENSION_ID) or {}
        origin = ext.get("origin_node")
        return origin if isinstance(origin, str) else super().originator(obj)

    def parts(self, objects: Sequence[StixObject]) -> dict[int, list[StixObject]]:
        """Each incident's located-at relationship and its location, of the same version."""
        locations: dict[tuple[str, str], StixObject] = {}
        rels: dict[tuple[str, str], list[StixObject]] = {}
        for o in objects:
            version = str(o.get("modified"))
            if o.get("type") == "location":
                locations[str(o.get("id")), version] = o
            elif o.get("type") == "relationship" and o.get("relationship_type") == "located-at":
                rels.setdefault((str(o.get("source_ref")), version), []).append(o)
        found: dict[int, list[StixObject]] = {}
        for n, o in enumerate(objects):
            if o.get("type") != "incident":
                continue
            version = str(o.get("modified"))
            mine = rels.get((str(o["id"]), version), [])
            places = [
                loc for r in mine if (loc := locations.get((str(r.get("target_ref")), version)))
            ]
            if mine:
                found[n] = [*places, *mine]
        return found

    def publish(self, out: Outbound, changes: Sequence[Changed]) -> list[StixObject]:
        """Changed incidents (and those whose release delay is over): decide, redact, map.

        A record the partner had and may no longer have goes once more, withdrawn.
        """
        session = out.session
        due = session.scalars(
            select(PendingRelease.incident_id).where(
                PendingRelease.partner_id == out.partner.id, PendingRelease.release_at <= out.now
            )
        ).all()
        ids = list(dict.fromkeys([*due, *(c.entity_id for c in changes)]))
        if not ids:
            return []
        # Deciding needs a few columns: only the records mapped anew are read whole, with
        # their seizures. After a sync this pass refuses every record just taken in (a
        # partner's own never go back), and reading each of them whole cost more than the rest.
        rows = {r.id: r for r in session.execute(select(*_DECIDING).where(Incident.id.in_(ids)))}
        session.execute(
            delete(PendingRelease).where(
                PendingRelease.partner_id == out.partner.id, PendingRelease.incident_id.in_(ids)
            )
        )
        withdrawals: list[StixObject] = []
        staged: list[StixObject] = []
        forwarded = {
            r.id
            for r in rows.values()
            if r.origin_node_id not in (None, out.node.node_id) and not r.revoked
        }
        decisions = {i: decide(_sharable(r), out.terms, now=out.now) for i, r in rows.items()}
        # Only records that may go on need their originals read (≈ 2.5 KB of JSON each): not
        # the partner's own, which a sync has just brought in and which never go back.
        originals = _signed_originals(
            session, [i for i in ids if i in forwarded and decisions[i].share]
        )
        mapped = [
            i
            for i, r in rows.items()
            if decisions[i].share and not r.revoked and i not in forwarded
        ]
        whole = (
            {r.id: r for r in session.scalars(select(Incident).where(Incident.id.in_(mapped)))}
            if mapped
            else {}
        )
        refused: list[str] = []  # records not shared: withdrawn below where the partner has them
        for incident_id in ids:
            row = rows.get(incident_id)
            if row is None:
                continue
            decision = decisions[incident_id]
            if decision.share and not row.revoked and row.id in forwarded:
                # Another node's record goes on as its originator signed it, or not at all:
                # a copy we made would carry our word for it, not the originator's.
                original = originals.get(row.id)
                why = _cannot_forward(original, decision.withheld_fields)
                if original is not None and why is None:
                    staged += original
                    continue
                decision = replace(decision, share=False, reasons=(why or "",))
            if decision.share and not row.revoked:
                modified = row.updated_at
                if out.agreement is not None and out.agreement.updated_at > modified:
                    # New terms can change what a version contains: give it a newer modified.
                    modified = out.agreement.updated_at
                body = redact(incidents.to_out(whole[row.id]).model_dump(mode="json"), decision)
                body["updated_at"] = _stix_time(modified)
                staged += incident_to_stix(
                    body,
                    identity_id=out.identity_id,
                    withheld=decision.withheld_fields,
                    origin_node_id=row.origin_node_id or out.node.node_id,
                )
            elif decision.release_at is not None:
                held = PendingRelease(
                    partner_id=out.partner.id, incident_id=row.id, release_at=decision.release_at
                )
                session.add(held)
                out.report.held += 1
            else:
                reasons = list(decision.reasons) or ["withdrawn by its originator"]
                out.report.withheld[row.id] = reasons
                refused.append(row.id)
        # One query for the partner's copies of all refused records, not one a record: a
        # sync that takes in 100,000 records publishes (and refuses) each of them once.
        had = out.appender.latest_many([f"incident--{i}" for i in refused])
        for incident_id in refused:
            withdrawal = _withdrawal(had.get(f"incident--{incident_id}"), out.now)
            if withdrawal is not None:
                withdrawals.append(withdrawal)
                out.report.withdrawn.append(incident_id)
        return withdrawals + staged

    def published(self, out: Outbound, added: Sequence[StixObject]) -> None:
        """Count the objects; name the records given a new version."""
        super().published(out, added)
        out.report.shared += [
            o["id"].split("--", 1)[1]
            for o in added
            if o["type"] == "incident" and not o.get("revoked")
        ]

    def read(self, inn: Inbound, objects: list[StixObject]) -> list[Arrival[InboundIncident]]:
        """Incidents with their locations and relationships; loose ones are kept as given."""
        parsed, rejected, loose = parse_inbound(
            objects,
            plain_side=inn.partner.country,
            positions=[inn.position(o) for o in objects],
            expect=lambda records: inn.expect(
                records, at=self.signature_at(), origin=self.originator
            ),
        )
        for bad in rejected:
            inn.refuse(bad.stix_id, bad.reason, payload_of(objects, bad.stix_id))
        # The location and relationship of an incident share its fate, refused ones' too.
        for inc in parsed:
            inn.parts_of(inc.stix_id, inc.parts)
        for bad in rejected:
            if bad.stix_id is not None:
                inn.parts_of(bad.stix_id, bad.parts)
        keys = [(inc.stix_id, stamp(inc.modified)) for inc in parsed]
        seen = inn.seen(keys)
        arrivals = []
        for inc, key in zip(parsed, keys, strict=True):
            if inc.origin_node_id == inn.node.node_id or key in seen:
                inn.duplicate(key)  # our own record echoed back, or a version we have
                continue
            tlp = inc.model.tlp if inc.model else None
            arrivals.append(
                Arrival(
                    key,
                    inc.source,
                    inc,
                    origin=inc.origin_node_id,
                    tlp=tlp,
                    parts=inc.parts,
                    texts=inc.texts,
                )
            )
        inn.take_as_is(loose)
        return arrivals

    def store(self, inn: Inbound, arrivals: list[Arrival[InboundIncident]]) -> None:
        """Store the newest version of each record, set-based; suggest links to our own."""
        session = inn.session
        pending: list[tuple[Received, Arrival[InboundIncident]]] = []
        for a in arrivals:
            inc = a.value
            if inc.revoked and session.get(Incident, inc.record_id) is None:
                inn.duplicate(a.key, receipt=True)  # withdrawn before we ever had it
                continue
            try:
                if inc.revoked:
                    data = _keep(session, inc)
                else:
                    data = inc.model or IncidentIn.model_validate(inc.data)
            except (ValueError, SarhadError) as exc:
                inn.refuse(a.key[0], getattr(exc, "message", None) or str(exc)[:300], a.obj)
                continue
            item = Received(
                record_id=inc.record_id,
                data=data,
                version=inc.version,
                status=inc.status,
                remote_modified=inc.modified,
                origin_node_id=inc.origin_node_id or inn.sender,
                origin=f"partner:{inn.partner.name}",
                withheld=inc.withheld_fields,
                revoked=inc.revoked,
            )
            pending.append((item, a))
            if inc.plain:
                inn.keep_original(a.key, a.as_received())
        # One version per record is stored: the newest of the batch (the first of equals); the
        # others were superseded within the batch itself.
        newest: dict[str, Received] = {}
        for item, _ in pending:
            have = newest.get(item.record_id)
            if have is None or item.remote_modified > have.remote_modified:
                newest[item.record_id] = item
        items = list(newest.values())
        created: list[Incident] = []
        outcomes = (
            store_received_many(session, items=items, profile=inn.profile, created=created)
            if items
            else {}
        )
        stored: list[str] = []
        withdrawn: list[str] = []
        for item, a in pending:
            superseded = newest[item.record_id] is not item
            outcome = "stale" if superseded else outcomes.get(item.record_id, "stale")
            if outcome.startswith(("collision: ", "refused: ")):
                inn.refuse(a.key[0], outcome.split(": ", 1)[1], a.obj)
            elif outcome == "stale":
                inn.duplicate(a.key, receipt=True)
            else:
                inn.accept(a.key)
                (withdrawn if item.revoked else stored).append(item.record_id)
        if withdrawn:
            links.forget_suggestions(session, incident_ids=withdrawn)
        if stored:
            links.propose(session, incident_ids=stored, rows=created)

    def incomplete(self, objects: Sequence[object]) -> set[int]:
        """Incidents whose location is absent from ``objects``, and parts whose incident is.

        Objects that are not dicts, or of other types, always count as complete (the inbox
        judges them on their own).
        """
        found: set[str] = set()
        locations: set[str] = set()
        rel_of: dict[str, str] = {}  # relationship id -> incident id (located-at only)
        target: dict[str, str] = {}  # incident id -> location id
        for obj in objects:
            if not isinstance(obj, dict):
                continue
            kind, oid = obj.get("type"), obj.get("id")
            if not isinstance(oid, str):
                continue
            if kind == "incident" and not obj.get("revoked"):
                found.add(oid)
            elif kind == "location":
                locations.add(oid)
            elif kind == "relationship" and obj.get("relationship_type") == "located-at":
                src, dst = obj.get("source_ref"), obj.get("target_ref")
                if isinstance(src, str) and isinstance(dst, str) and src.startswith("incident--"):
                    rel_of[oid] = src
                    target[src] = dst
        complete = {i for i in found if target.get(i) in locations}
        used_locations = {target[i] for i in complete}
        held: set[int] = set()
        for n, obj in enumerate(objects):
            oid = obj.get("id") if isinstance(obj, dict) else None
            kind = obj.get("type") if isinstance(obj, dict) else None
            if kind == "incident" and oid in found:
                ok = oid in complete
            elif kind == "relationship" and oid in rel_of:
                ok = rel_of[oid] in complete
            elif kind == "location":
                # A location no complete incident points to may belong to one on the next page.
                ok = oid in used_locations
            else:
                ok = True
            if not ok:
                held.add(n)
        return held


def _signed_originals(session: Session, record_ids: Sequence[str]) -> dict[str, list[StixObject]]:
    """The latest version received signed of each record, its objects as received.

    Only versions that may be forwarded (CLEAR, GREEN) keep their objects
    (``Inbound.admit``): a record whose latest signed version keeps none has none here.
    """
    latest: dict[str, str | None] = {}
    for start in range(0, len(record_ids), 500):
        chunk = [f"incident--{i}" for i in record_ids[start : start + 500]]
        rows = session.execute(
            select(Receipt.stix_id, Receipt.original)
            .where(Receipt.stix_id.in_(chunk), Receipt.signed_key_id.is_not(None))
            .order_by(Receipt.modified)
        )
        for stix_id, original in rows:
            latest[stix_id.split("--", 1)[1]] = original  # the last is the latest
    return {rid: json.loads(text) for rid, text in latest.items() if text}


def _cannot_forward(original: list[StixObject] | None, withheld: Sequence[str]) -> str | None:
    """Why a record of another node cannot go on as its originator signed it (None: it can)."""
    if original is None:
        return (
            "a record of another node held without its originator's signature: "
            "it cannot be forwarded (its originator's word is not ours to give)"
        )
    ext = (original[0].get("extensions") or {}).get(EXTENSION_ID) or {}
    cut = sorted(set(withheld) - set(ext.get("withheld_fields", [])))
    if cut:
        return (
            f"the agreement withholds {', '.join(cut)}, which the originator's signed record "
            "carries: a signed record cannot be cut further"
        )
    return None


def _keep(session: Session, inc: InboundIncident) -> IncidentIn:
    """A revocation carries no new content: keep what we hold (or what it carries)."""
    row = session.get(Incident, inc.record_id)
    assert row is not None  # read skips revocations of records we never had
    out = incidents.to_out(row).model_dump(mode="json")
    keys = IncidentIn.model_fields.keys()
    return IncidentIn.model_validate({k: v for k, v in out.items() if k in keys})
