"""Inbound STIX 2.1 from a partner node: untrusted objects → checked Sarhad incident data.

Nothing a partner sends is trusted. Each object passes, in order: JSON shape and size, a
STIX ``type``/``id``, the list of accepted types, the STIX 2.1 property checks (our own
:mod:`~sarhad.federation.stix_checks` for incidents, locations and relationships, which are
~all of the traffic; ``stix2.parse(allow_custom=False)`` for the other types), and for
incidents our extension's JSON schema, the TLP marking (TLP 1.0 read as 2.0), the located-at
location of the same batch and finally sarhad's own ``IncidentIn`` rules. An incident without
our extension (a plain STIX peer's) is mapped from what it states when the caller names the
sender's side. A bad object becomes a :class:`Rejected` entry with a short reason; it never
stops the others, and :func:`parse_inbound` never raises.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import stix2
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from pydantic import ValidationError

from sarhad.core.markings import STIX_TLP2_IDS, TLP, Family, may_arrive
from sarhad.federation.stix import (
    EXTENSION_ID,
    PRECISION_M,
    SCHEMA_PATH,
    SOURCE_NAME,
    parse_stix_timestamp,
    tlp_marking_definitions,
)
from sarhad.federation.stix_checks import HOT_TYPES, CheckError, check, compile_schema
from sarhad.federation.stix_checks import short as _short
from sarhad.incidents.schemas import IncidentIn
from sarhad.incidents.taxonomy import Category, LocationPrecision

ACCEPTED_TYPES = frozenset(
    {
        "incident",
        "location",
        "relationship",
        "identity",
        "marking-definition",
        "extension-definition",
        "sighting",
        "note",
        "opinion",
        "report",
    }
)
#: TLP 1.0 (the only markings stix2 3.0 offers) read as TLP 2.0: WHITE became CLEAR.
TLP1_TO_TLP2 = {
    stix2.TLP_WHITE.id: TLP.CLEAR,
    stix2.TLP_GREEN.id: TLP.GREEN,
    stix2.TLP_AMBER.id: TLP.AMBER,
    stix2.TLP_RED.id: TLP.RED,
}
TLP1_IDS = frozenset(TLP1_TO_TLP2)
_TLP_BY_ID = {v: k for k, v in STIX_TLP2_IDS.items()}
_PUBLISHED_TLP = {m["id"]: m for m in tlp_marking_definitions()}
_ID = re.compile(r"([a-z][a-z0-9-]{0,249})--([0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})")
# stix2.parse coerces some values ("true" → True, "x" → ["x"]) but we read and keep the
# originals: these common properties must already have their JSON type.
_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "revoked": bool,
    "created_by_ref": str,
    "labels": list,
    "object_marking_refs": list,
    "external_references": list,
    "granular_markings": list,
    "extensions": dict,
    "lang": str,
}
_JSON = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


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
_EXT_VALIDATOR = Draft202012Validator(_EXT_SCHEMA)  # slow (~280 µs): messages only
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
    data: dict[str, Any]
    withheld_fields: list[str] = field(default_factory=list)
    status: str = ""
    version: int = 0
    revoked: bool = False
    # The validated model behind ``data`` (saves the inbox validating the same dict again).
    model: IncidentIn | None = field(default=None, repr=False, compare=False)
    #: The located-at relationships and locations of this incident in the batch, as given.
    parts: list[dict[str, Any]] = field(default_factory=list, repr=False)
    #: True for a plain STIX incident (no Sarhad extension), mapped from what it states.
    plain: bool = False
    #: The incident object as received.
    source: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Rejected:
    """One object refused, and why (``stix_id`` is None when the object has no usable id).

    For a refused incident, ``parts`` are its located-at relationships and locations in the
    batch: they are refused with it.
    """

    stix_id: str | None
    reason: str
    parts: list[dict[str, Any]] = field(default_factory=list, repr=False, compare=False)


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Checked:
    obj: dict[str, Any]
    id: str
    type: str
    created: datetime
    modified: datetime | None  # None only for marking-definition


def parse_inbound(
    objects: list[object],
    *,
    max_object_bytes: int = 65536,
    reference: bool = False,
    plain_side: str | None = None,
) -> tuple[list[InboundIncident], list[Rejected], list[dict[str, Any]]]:
    """Check a partner's objects: (incidents, rejected, other accepted objects as given).

    Locations and located-at relationships that belong to an incident of the batch are
    consumed by it (whatever becomes of the incident): they are its ``parts`` and are not
    listed among the others. ``plain_side`` (the sender's country) takes in plain STIX
    incidents, without our extension, as records reported by that side; without it they are
    refused. ``reference=True`` checks every object with ``stix2.parse`` and jsonschema
    instead of the fast checks (≈ 5× slower): the yardstick of the tests and
    bench/stix_inbound.py.
    """
    if not isinstance(objects, list | tuple):
        return [], [Rejected(None, "expected a list of STIX objects")], []
    incidents: list[InboundIncident] = []
    rejected: list[Rejected] = []
    checked: list[_Checked] = []
    incident_ids: set[str] = set()  # including refused ones: their location goes with them
    for i, obj in enumerate(objects):
        sid = _usable_id(obj)
        if sid is not None and sid.startswith("incident--"):
            incident_ids.add(sid)
        try:
            checked.append(_envelope(obj, i, sid, max_object_bytes, reference))
        except _Refused as r:
            rejected.append(Rejected(sid, r.reason))
        except Exception as exc:  # last resort: one object must never stop the batch
            rejected.append(Rejected(sid, f"{sid or f'object {i}'}: {_internal(exc)}"))

    locations: dict[str, list[_Checked]] = {}
    for c in checked:
        if c.type == "location":
            locations.setdefault(c.id, []).append(c)
    located_at: dict[str, list[_Checked]] = {}
    consumed: set[int] = set()
    parts: dict[str, dict[int, _Checked]] = {}  # incident id -> its parts, by identity
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

    def parts_of(incident_id: str) -> list[dict[str, Any]]:
        """The parts of one incident in the order of the batch."""
        mine = sorted(parts.get(incident_id, {}).values(), key=lambda p: order[id(p)])
        return [p.obj for p in mine]

    others: list[dict[str, Any]] = []
    for c in checked:
        if c.type != "incident":
            if id(c) not in consumed:
                others.append(c.obj)
            continue
        try:
            inc = _incident(c, located_at.get(c.id, []), locations, reference, plain_side)
        except _Refused as r:
            rejected.append(Rejected(c.id, f"{c.id}: {r.reason}"))
        except Exception as exc:
            rejected.append(Rejected(c.id, f"{c.id}: {_internal(exc)}"))
        else:
            inc.parts, inc.source = parts_of(c.id), c.obj
            incidents.append(inc)
    for r in rejected:
        if r.stix_id is not None and r.stix_id.startswith("incident--"):
            r.parts = parts_of(r.stix_id)
    return incidents, rejected, others


def _internal(exc: Exception) -> str:
    # Tests assert this never happens; in production it keeps one object from stopping all.
    return f"internal error while checking ({type(exc).__name__})"


def _usable_id(obj: object) -> str | None:
    if isinstance(obj, dict):
        sid = obj.get("id")
        if isinstance(sid, str) and _ID.fullmatch(sid):
            return sid
    return None


# --- every object ------------------------------------------------------------------------


def _envelope(
    obj: object, index: int, sid: str | None, limit: int, reference: bool = False
) -> _Checked:
    """Shape, size, type/id, accepted type, timestamps and the STIX property checks."""
    where = sid or f"object {index}"
    if not isinstance(obj, dict):
        raise _Refused(f"object {index}: not a JSON object ({type(obj).__name__})")
    try:
        text = _JSON(obj)
    except (TypeError, ValueError, RecursionError):
        raise _Refused(f"{where}: not valid JSON (NaN, Infinity or non-JSON values)") from None
    # Characters = UTF-8 bytes for ASCII text; encode (a copy) only when it is not.
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise _Refused(f"{where}: object of {size} bytes exceeds the {limit}-byte limit")
    type_ = obj.get("type")
    if not isinstance(type_, str):
        raise _Refused(f"{where}: missing or non-string 'type'")
    if sid is None:
        raise _Refused(
            f"object {index}: 'id' is not a STIX id (type--uuid): {_short(obj.get('id'))}"
        )
    # _ID matched: "type--" then a lower-case uuid of 36 characters, whose RFC 4122 variant
    # shows in the first digit of its 4th group (8, 9, a or b; no uuid.UUID needed).
    if sid[:-38] != type_:
        raise _Refused(f"{sid}: id does not match type {_short(type_)!r}")
    if sid[-17] not in "89ab":
        raise _Refused(f"{sid}: id is not an RFC 4122 UUID")
    if type_ not in ACCEPTED_TYPES:
        raise _Refused(f"{sid}: type {_short(type_)!r} is not accepted on this collection")
    if obj.get("spec_version") != "2.1":
        raise _Refused(f"{sid}: 'spec_version' must be '2.1'")
    # stix2.parse would fill in a missing created/modified with "now": require them here.
    for key, json_type in _JSON_TYPES.items():
        if key in obj and not isinstance(obj[key], json_type):
            raise _Refused(f"{sid}: {key!r} has the wrong JSON type")
    created = _timestamp(obj, "created", sid)
    modified = None if type_ == "marking-definition" else _timestamp(obj, "modified", sid)
    if modified is not None and modified < created:
        raise _Refused(f"{sid}: 'modified' is before 'created'")
    if type_ in HOT_TYPES and not reference:
        try:
            rare = check(obj, type_)
        except CheckError as exc:
            raise _Refused(f"{sid}: {exc}") from None
        if rare:  # granular markings and the like: stix2 checks those parts
            _stix2_parse(obj, sid)
    else:
        _stix2_parse(obj, sid)
    if type_ == "identity" and obj.get("identity_class") == "individual":
        raise _Refused(f"{sid}: individual identities are not accepted (organizations only)")
    if type_ == "marking-definition" and sid in _PUBLISHED_TLP and obj != _PUBLISHED_TLP[sid]:
        raise _Refused(f"{sid}: differs from the published TLP 2.0 marking definition")
    return _Checked(obj, sid, type_, created, modified)


def _stix2_parse(obj: dict[str, Any], sid: str) -> None:
    try:
        stix2.parse(obj, allow_custom=False, version="2.1")
    except Exception as exc:  # stix2 raises many types on malformed input; all mean "refused"
        raise _Refused(f"{sid}: {_short(exc)}") from None


def _timestamp(obj: Mapping[str, Any], key: str, sid: str) -> datetime:
    if key not in obj:
        raise _Refused(f"{sid}: {key!r} is missing")
    value = obj[key]
    try:
        # An incident, its location and relationship share their timestamps: parse once.
        return _parse_timestamp(value) if isinstance(value, str) else parse_stix_timestamp(value)
    except ValueError as exc:
        raise _Refused(f"{sid}: {key!r} {exc}") from None


_parse_timestamp = functools.lru_cache(maxsize=4096)(parse_stix_timestamp)


# --- incidents ---------------------------------------------------------------------------


def _incident(
    c: _Checked,
    rels: list[_Checked],
    locations: Mapping[str, list[_Checked]],
    reference: bool = False,
    plain_side: str | None = None,
) -> InboundIncident:
    obj = c.obj
    if plain_side is not None and EXTENSION_ID not in (obj.get("extensions") or {}):
        return _plain_incident(c, rels, locations, plain_side)
    ext = _our_extension(obj, reference)
    tlp = _tlp(obj)
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
            raise _Refused(f"{name!r} is listed as withheld but present")
    assert c.modified is not None  # required by _envelope for every type but markings
    result = InboundIncident(
        stix_id=c.id,
        record_id=c.id.split("--", 1)[1],
        modified=c.modified,
        created=c.created,
        origin_node_id=ext["origin_node"],
        created_by_ref=obj.get("created_by_ref"),
        data={},
        withheld_fields=withheld,
        status=ext["status"],
        version=ext["version"],
        revoked=obj.get("revoked") is True,
    )
    if result.revoked:
        # A withdrawal needs no content: map it when the batch holds it, else leave data {}.
        with contextlib.suppress(_Refused):
            result.model = _data(c, ext, tlp, _location(c, rels, locations, tlp))
            result.data = result.model.model_dump(mode="json", exclude_unset=True)
        return result
    result.model = _data(c, ext, tlp, _location(c, rels, locations, tlp))
    result.data = result.model.model_dump(mode="json", exclude_unset=True)
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
    c: _Checked, rels: list[_Checked], locations: Mapping[str, list[_Checked]], side: str
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
        data={},
        status="validated",
        version=1,
        revoked=obj.get("revoked") is True,
        plain=True,
    )
    own = _marking(obj)
    try:
        chosen, used = _place(c, rels, locations, None)
    except _Refused:
        if result.revoked:
            return result  # a withdrawal needs no content
        raise
    # Never less restricted than any part says: the most restrictive marking of the group.
    tlp = max(
        [own or PLAIN_TLP, *(m for p in (chosen, *used) if (m := _marking(p.obj)))],
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
    result.data = result.model.model_dump(mode="json", exclude_unset=True)
    return result


def _data(c: _Checked, ext: Mapping[str, Any], tlp: TLP, loc: Mapping[str, Any]) -> IncidentIn:
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
        raise _Refused(_short(f"{path}: {message}{more}")) from None


def _our_extension(obj: Mapping[str, Any], reference: bool = False) -> dict[str, Any]:
    extensions = obj.get("extensions") or {}
    foreign = sorted(k for k in extensions if k != EXTENSION_ID)
    if EXTENSION_ID not in extensions:
        also = f" (unknown extension {_short(foreign[0])})" if foreign else ""
        raise _Refused(f"not a Sarhad border incident: no {EXTENSION_ID}{also}")
    if foreign:
        raise _Refused(f"unknown extension {_short(foreign[0])}")
    ext = extensions[EXTENSION_ID]
    if not reference and _EXT_VALID(ext):
        return ext
    # Invalid (or the reference path): jsonschema's slow search finds the clearest reason.
    error = best_match(_EXT_VALIDATOR.iter_errors(ext))
    if error is not None:
        path = ".".join(str(p) for p in error.absolute_path)
        raise _Refused(_short(f"extension {path or '(root)'}: {error.message}"))
    if not reference:  # cannot happen: both agree (tests/federation/test_stix_checks.py)
        raise _Refused("extension (root): does not match the schema")
    return ext


def _marking(obj: Mapping[str, Any]) -> TLP | None:
    """The object's TLP level (TLP 1.0 read as TLP 2.0), None when it has no TLP marking."""
    if obj.get("granular_markings"):
        raise _Refused("granular_markings are not accepted (mark the whole object)")
    refs = obj.get("object_marking_refs") or []
    levels = {level for r in refs if (level := _TLP_BY_ID.get(r) or TLP1_TO_TLP2.get(r))}
    if len(levels) > 1:
        raise _Refused(f"more than one TLP marking ({', '.join(sorted(t.label for t in levels))})")
    return levels.pop() if levels else None


def _tlp(obj: Mapping[str, Any]) -> TLP:
    level = _marking(obj)
    if level is None:
        raise _Refused("no TLP marking in object_marking_refs")
    arrives = may_arrive(level, Family.INCIDENT)  # an incident and its parts (RED may arrive)
    if not arrives.ok:
        raise _Refused(arrives.text)
    return level


def _sarhad_refs(obj: Mapping[str, Any]) -> list[Any]:
    refs = obj.get("external_references") or []
    return [r.get("description") for r in refs if r.get("source_name") == SOURCE_NAME]


def _location(
    c: _Checked, rels: list[_Checked], locations: Mapping[str, list[_Checked]], tlp: TLP
) -> dict[str, Any]:
    return _place(c, rels, locations, tlp)[0].obj


def _place(
    c: _Checked, rels: list[_Checked], locations: Mapping[str, list[_Checked]], tlp: TLP | None
) -> tuple[_Checked, list[_Checked]]:
    """(the location, the relationships) of incident ``c``; each part marked ``tlp`` unless
    it is None, by the incident's author if it names one, the point numeric."""
    # A batch may hold several versions of one incident: use the location and relationship
    # versions written with this incident version (same ``modified``), else the latest.
    rels = _same_version(rels, c)
    targets = {r.obj["target_ref"] for r in rels if r.obj["target_ref"] in locations}
    if not targets:
        raise _Refused("no located-at location in this batch")
    if len(targets) > 1:
        raise _Refused("more than one located-at location")
    [chosen] = _same_version(locations[targets.pop()], c)[-1:]
    for part in (chosen, *rels):
        if tlp is not None and _tlp_or_none(part.obj) is not tlp:
            raise _Refused(f"{part.id} is not marked {tlp.label} like the incident")
        author = part.obj.get("created_by_ref")
        if author is not None and author != c.obj.get("created_by_ref"):
            raise _Refused(f"{part.id} has another author than the incident")
    loc = chosen.obj
    for key in ("latitude", "longitude"):
        value = loc.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Refused(f"{chosen.id} has no numeric {key}: a record needs a point")
    return chosen, rels


def _same_version(versions: list[_Checked], c: _Checked) -> list[_Checked]:
    same = [v for v in versions if v.modified == c.modified]
    if same or not versions:
        return same
    return [max(versions, key=lambda v: v.modified or v.created)]


def _tlp_or_none(obj: Mapping[str, Any]) -> TLP | None:
    try:
        return _tlp(obj)
    except _Refused:
        return None
