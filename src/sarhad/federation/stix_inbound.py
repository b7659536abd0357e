"""Inbound STIX 2.1 from a partner node: untrusted objects → checked Sarhad incident data.

Nothing a partner sends is trusted. Each object passes, in order: JSON shape and size, a
STIX ``type``/``id``, the list of accepted types, the STIX 2.1 property checks (our own
:mod:`~sarhad.federation.stix_checks` for incidents, locations and relationships, which are
~all of the traffic; ``stix2.parse(allow_custom=False)`` for the other types), and for
incidents our extension's JSON schema, the TLP 2.0 marking, the located-at location of the
same batch and finally sarhad's own ``IncidentIn`` rules. A bad object becomes a
:class:`Rejected` entry with a short reason; it never stops the others, and
:func:`parse_inbound` never raises.
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

from sarhad.core.markings import STIX_TLP2_IDS, TLP
from sarhad.federation.stix import (
    EXTENSION_ID,
    SCHEMA_PATH,
    SOURCE_NAME,
    parse_stix_timestamp,
    tlp_marking_definitions,
)
from sarhad.federation.stix_checks import HOT_TYPES, CheckError, check, compile_schema
from sarhad.federation.stix_checks import short as _short
from sarhad.incidents.schemas import IncidentIn

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
TLP1_IDS = frozenset(
    m.id for m in (stix2.TLP_WHITE, stix2.TLP_GREEN, stix2.TLP_AMBER, stix2.TLP_RED)
)
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


@dataclass
class Rejected:
    """One object refused, and why (``stix_id`` is None when the object has no usable id)."""

    stix_id: str | None
    reason: str


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
    objects: list[object], *, max_object_bytes: int = 65536, reference: bool = False
) -> tuple[list[InboundIncident], list[Rejected], list[dict[str, Any]]]:
    """Check a partner's objects: (incidents, rejected, other accepted objects as given).

    Locations and located-at relationships that belong to an incident of the batch are
    consumed by it (whatever becomes of the incident) and are not listed among the others.
    ``reference=True`` checks every object with ``stix2.parse`` and jsonschema instead of the
    fast checks (≈ 5× slower): the yardstick of the tests and bench/stix_inbound.py.
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
            consumed.add(id(c))
            consumed.update(id(loc) for loc in locations.get(dst, []))

    others: list[dict[str, Any]] = []
    for c in checked:
        if c.type != "incident":
            if id(c) not in consumed:
                others.append(c.obj)
            continue
        try:
            incidents.append(_incident(c, located_at.get(c.id, []), locations, reference))
        except _Refused as r:
            rejected.append(Rejected(c.id, f"{c.id}: {r.reason}"))
        except Exception as exc:
            rejected.append(Rejected(c.id, f"{c.id}: {_internal(exc)}"))
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
) -> InboundIncident:
    obj = c.obj
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
    try:
        model = IncidentIn.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        path = ".".join(str(p) for p in first["loc"]) or "record"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        message = first["msg"].removeprefix("Value error, ")
        raise _Refused(_short(f"{path}: {message}{more}")) from None
    return model


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


def _tlp(obj: Mapping[str, Any]) -> TLP:
    if obj.get("granular_markings"):
        raise _Refused("granular_markings are not accepted (mark the whole object)")
    refs = obj.get("object_marking_refs") or []
    old = [r for r in refs if r in TLP1_IDS]
    if old:
        raise _Refused(f"TLP 1.0 marking {old[0]} is not accepted; use TLP 2.0")
    levels = {_TLP_BY_ID[r] for r in refs if r in _TLP_BY_ID}
    if not levels:
        raise _Refused("no TLP 2.0 marking in object_marking_refs")
    if len(levels) > 1:
        raise _Refused("more than one TLP 2.0 marking")
    return levels.pop()


def _sarhad_refs(obj: Mapping[str, Any]) -> list[Any]:
    refs = obj.get("external_references") or []
    return [r.get("description") for r in refs if r.get("source_name") == SOURCE_NAME]


def _location(
    c: _Checked, rels: list[_Checked], locations: Mapping[str, list[_Checked]], tlp: TLP
) -> dict[str, Any]:
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
        if _tlp_or_none(part.obj) is not tlp:
            raise _Refused(f"{part.id} is not marked {tlp.label} like the incident")
        author = part.obj.get("created_by_ref")
        if author is not None and author != c.obj.get("created_by_ref"):
            raise _Refused(f"{part.id} has another author than the incident")
    loc = chosen.obj
    for key in ("latitude", "longitude"):
        value = loc.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Refused(f"{chosen.id} has no numeric {key}")
    return loc


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
