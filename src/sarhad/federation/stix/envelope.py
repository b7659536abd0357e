"""The inbound checks every standard STIX object from a partner passes, whatever its type.

Nothing a partner sends is trusted. Each object passes, in order: JSON shape and size, a STIX
``type``/``id``, the list of types accepted where it is read, ``spec_version``, the JSON types
of the common properties, ``created``/``modified``, and the STIX 2.1 property checks (our own
:mod:`~sarhad.federation.stix.checks` for incidents, locations and relationships, which are
~all of the traffic; ``stix2.parse(allow_custom=False)`` for the other types). A bad object
becomes a :class:`Rejected` entry with a short reason; it never stops the others.

Sarhad's own object types (alerts, crossing records) are not standard STIX: their type
modules check them whole (:mod:`~sarhad.federation.stix.new_sdo`). TLP markings are read here
too, TLP 1.0 as TLP 2.0, for every type that reads a marking.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import stix2

from sarhad.core.markings import TLP
from sarhad.federation.stix.checks import HOT_TYPES, CheckError, check, short
from sarhad.federation.stix.core import (
    TLP_BY_ID,
    StixObject,
    parse_stix_timestamp,
    tlp_marking_definitions,
)

CONTEXT_TYPES = frozenset(
    {
        "identity",
        "marking-definition",
        "extension-definition",
        "sighting",
        "note",
        "opinion",
        "report",
    }
)
"""Standard objects a partner may send beside its records: checked, and kept as receipts only
(no object type of ours reads them; a type that does claims them first)."""

#: TLP 1.0 (the only markings stix2 3.0 offers) read as TLP 2.0: WHITE became CLEAR.
TLP1_TO_TLP2 = {
    stix2.TLP_WHITE.id: TLP.CLEAR,
    stix2.TLP_GREEN.id: TLP.GREEN,
    stix2.TLP_AMBER.id: TLP.AMBER,
    stix2.TLP_RED.id: TLP.RED,
}
TLP1_IDS = frozenset(TLP1_TO_TLP2)
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


@dataclass
class Rejected:
    """One object refused, and why (``stix_id`` is None when the object has no usable id).

    For a refused record that travels as several objects (an incident), ``parts`` are its
    other objects in the batch (its located-at relationships and locations): they share its
    fate.
    """

    stix_id: str | None
    reason: str
    parts: list[StixObject] = field(default_factory=list, repr=False, compare=False)


class Refused(Exception):
    """Raised by a check: ``reason`` says why (the caller names the object)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Checked:
    """An object that passed the envelope, with its parsed timestamps."""

    obj: StixObject
    id: str
    type: str
    created: datetime
    modified: datetime | None  # None only for marking-definition
    #: The object as JSON text, as ``store.canonical`` writes it (sorted keys, compact): the
    #: size check encodes it anyway, and a record kept as received reuses it.
    text: str = field(default="", repr=False, compare=False)


def check_all(
    objects: Sequence[object],
    *,
    accepted: frozenset[str],
    positions: Sequence[int] | None = None,
    max_object_bytes: int = 65536,
    reference: bool = False,
) -> tuple[list[Checked], list[Rejected]]:
    """Check each object on its own: (those that passed, those refused), in batch order.

    ``accepted``: the STIX types read here. ``positions``: each object's place in the batch
    the partner sent, used to name an object that has no usable id (default: its index).
    ``reference=True`` checks every object with ``stix2.parse`` instead of the fast checks.
    """
    checked: list[Checked] = []
    rejected: list[Rejected] = []
    for i, obj in enumerate(objects):
        index = positions[i] if positions is not None else i
        sid = usable_id(obj)
        try:
            checked.append(envelope(obj, index, sid, max_object_bytes, accepted, reference))
        except Refused as r:
            rejected.append(Rejected(sid, r.reason))
        except Exception as exc:  # last resort: one object must never stop the batch
            rejected.append(Rejected(sid, f"{sid or f'object {index}'}: {internal(exc)}"))
    return checked, rejected


def internal(exc: Exception) -> str:
    """The reason given for an unexpected error while checking an object."""
    # Tests assert this never happens; in production it keeps one object from stopping all.
    return f"internal error while checking ({type(exc).__name__})"


def usable_id(obj: object) -> str | None:
    """The object's ``id`` when it is a well-formed STIX id (type--uuid), else None."""
    if isinstance(obj, dict):
        sid = obj.get("id")
        if isinstance(sid, str) and _ID.fullmatch(sid):
            return sid
    return None


def envelope(
    obj: object,
    index: int,
    sid: str | None,
    limit: int,
    accepted: frozenset[str],
    reference: bool = False,
) -> Checked:
    """Shape, size, type/id, accepted type, timestamps and the STIX property checks."""
    where = sid or f"object {index}"
    if not isinstance(obj, dict):
        raise Refused(f"object {index}: not a JSON object ({type(obj).__name__})")
    try:
        text = _JSON(obj)
    except (TypeError, ValueError, RecursionError):
        raise Refused(f"{where}: not valid JSON (NaN, Infinity or non-JSON values)") from None
    # Characters = UTF-8 bytes for ASCII text; encode (a copy) only when it is not.
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise Refused(f"{where}: object of {size} bytes exceeds the {limit}-byte limit")
    type_ = obj.get("type")
    if not isinstance(type_, str):
        raise Refused(f"{where}: missing or non-string 'type'")
    if sid is None:
        raise Refused(f"object {index}: 'id' is not a STIX id (type--uuid): {short(obj.get('id'))}")
    # _ID matched: "type--" then a lower-case uuid of 36 characters, whose RFC 4122 variant
    # shows in the first digit of its 4th group (8, 9, a or b; no uuid.UUID needed).
    if sid[:-38] != type_:
        raise Refused(f"{sid}: id does not match type {short(type_)!r}")
    if sid[-17] not in "89ab":
        raise Refused(f"{sid}: id is not an RFC 4122 UUID")
    if type_ not in accepted:
        raise Refused(f"{sid}: type {short(type_)!r} is not accepted on this collection")
    if obj.get("spec_version") != "2.1":
        raise Refused(f"{sid}: 'spec_version' must be '2.1'")
    # stix2.parse would fill in a missing created/modified with "now": require them here.
    for key, json_type in _JSON_TYPES.items():
        if key in obj and not isinstance(obj[key], json_type):
            raise Refused(f"{sid}: {key!r} has the wrong JSON type")
    created = _timestamp(obj, "created", sid)
    modified = None if type_ == "marking-definition" else _timestamp(obj, "modified", sid)
    if modified is not None and modified < created:
        raise Refused(f"{sid}: 'modified' is before 'created'")
    if type_ in HOT_TYPES and not reference:
        try:
            rare = check(obj, type_)
        except CheckError as exc:
            raise Refused(f"{sid}: {exc}") from None
        if rare:  # granular markings and the like: stix2 checks those parts
            _stix2_parse(obj, sid)
    else:
        _stix2_parse(obj, sid)
    if type_ == "identity" and obj.get("identity_class") == "individual":
        raise Refused(f"{sid}: individual identities are not accepted (organizations only)")
    if type_ == "marking-definition" and sid in _PUBLISHED_TLP and obj != _PUBLISHED_TLP[sid]:
        raise Refused(f"{sid}: differs from the published TLP 2.0 marking definition")
    return Checked(obj, sid, type_, created, modified, text)


def _stix2_parse(obj: StixObject, sid: str) -> None:
    try:
        stix2.parse(obj, allow_custom=False, version="2.1")
    except Exception as exc:  # stix2 raises many types on malformed input; all mean "refused"
        raise Refused(f"{sid}: {short(exc)}") from None


def _timestamp(obj: Mapping[str, Any], key: str, sid: str) -> datetime:
    if key not in obj:
        raise Refused(f"{sid}: {key!r} is missing")
    value = obj[key]
    try:
        # An incident, its location and relationship share their timestamps: parse once.
        return _parse_timestamp(value) if isinstance(value, str) else parse_stix_timestamp(value)
    except ValueError as exc:
        raise Refused(f"{sid}: {key!r} {exc}") from None


_parse_timestamp = functools.lru_cache(maxsize=4096)(parse_stix_timestamp)


# --- markings ----------------------------------------------------------------------------


def marking(obj: Mapping[str, Any]) -> TLP | None:
    """The object's TLP level (TLP 1.0 read as TLP 2.0), None when it has no TLP marking."""
    if obj.get("granular_markings"):
        raise Refused("granular_markings are not accepted (mark the whole object)")
    refs = obj.get("object_marking_refs") or []
    levels = {level for r in refs if (level := TLP_BY_ID.get(r) or TLP1_TO_TLP2.get(r))}
    if len(levels) > 1:
        raise Refused(f"more than one TLP marking ({', '.join(sorted(t.label for t in levels))})")
    return levels.pop() if levels else None


def tlp(obj: Mapping[str, Any]) -> TLP:
    """The object's TLP level; :class:`Refused` when it has none."""
    level = marking(obj)
    if level is None:
        raise Refused("no TLP marking in object_marking_refs")
    return level


def tlp_or_none(obj: Mapping[str, Any]) -> TLP | None:
    """The object's TLP level, None when it has none or its markings are refused."""
    try:
        return tlp(obj)
    except Refused:
        return None
