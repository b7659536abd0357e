"""Fast, strict checks for inbound STIX: the hot object types and our extension's schema.

``stix2.parse`` (every property cleaned into python-stix2 objects) was half the inbound cost
and jsonschema most of the rest. :func:`check` accepts exactly what
``stix2.parse(obj, allow_custom=False, version="2.1")`` accepts for ``incident``, ``location``
and ``relationship``, except values stix2 would silently *change* (``"name": 5`` → ``"5"``,
``"confidence": "50"``, ``"labels": "x"`` → ``["x"]``, ``null`` dropped, a timestamp not in
STIX form, its ``custom_properties`` loophole): those are refused, as STIX's JSON types
require. The rare parts (granular markings, predefined SCO extensions, top-level property
extensions) stay with stix2: :func:`check` then returns True and the caller runs stix2.parse
too. :func:`compile_schema` turns our extension schema into a plain-Python predicate with
jsonschema's semantics. tests/federation/test_stix_checks.py compares both with the originals.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from stix2.hashes import check_hash, infer_hash_algorithm

from sarhad.federation.stix.core import parse_stix_timestamp

HOT_TYPES = frozenset({"incident", "location", "relationship"})
SDO_TYPES = frozenset(
    {"attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident"}
    | {"indicator", "infrastructure", "intrusion-set", "location", "malware", "note"}
    | {"malware-analysis", "observed-data", "opinion", "report", "threat-actor", "tool"}
    | {"vulnerability"}
)
SCO_TYPES = frozenset(
    {"artifact", "autonomous-system", "directory", "domain-name", "email-addr", "file"}
    | {"email-message", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic"}
    | {"process", "software", "url", "user-account", "windows-registry-key"}
    | {"x509-certificate"}
)
# stix2 lets a relationship join any type it knows except bundle, language-content,
# marking-definition, relationship and sighting.
RELATABLE_TYPES = SDO_TYPES | SCO_TYPES | {"extension-definition"}
LEGAL_HASHES = frozenset(
    {"MD5", "SHA-1", "SHA-256", "SHA-512", "SHA3-256", "SHA3-512", "SSDEEP", "TLSH"}
)
_REASON_MAX = 300
_UUID_RFC4122 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_TS_MAX_LEN = len("2024-01-01T00:00:00.123456Z")  # stix2 (strptime %f) takes ≤ 6 digits


class CheckError(ValueError):
    """What stix2 would refuse (or silently change); ``str()`` is the reason."""


def short(text: object) -> str:
    """One printable line of at most 300 characters (reasons quote partner data)."""
    s = " ".join(str(text).split())
    return s if len(s) <= _REASON_MAX else s[: _REASON_MAX - 1] + "…"


def _wrong(key: str) -> CheckError:
    return CheckError(f"{key!r} has the wrong JSON type")


# --- values ------------------------------------------------------------------------------


def _string(value: Any, key: str) -> None:
    if not isinstance(value, str):
        raise _wrong(key)


def _strings(value: Any, key: str) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _wrong(key)


def _boolean(value: Any, key: str) -> None:
    if not isinstance(value, bool):
        raise _wrong(key)


def _integer(value: Any, key: str) -> None:
    # JSON has one number type: 5.0 is an integer, as for stix2 (int(5.0) == 5.0).
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    ):
        raise _wrong(key)


def _number(value: Any, key: str, low: float | None = None, high: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(key)
    try:
        f = float(value)
    except OverflowError:
        raise CheckError(f"{key!r} is out of range") from None
    if (low is not None and f < low) or (high is not None and f > high):
        bounds = f"≥ {low:g}" if high is None else f"between {low:g} and {high:g}"
        raise CheckError(f"{key!r} must be {bounds}, got {short(value)}")


def timestamp(value: Any, key: str) -> None:
    """A STIX timestamp with at most 6 fraction digits (what stix2 can read)."""
    if not isinstance(value, str):
        raise _wrong(key)
    try:
        parse_stix_timestamp(value)
    except ValueError as exc:
        raise CheckError(f"{key!r} {exc}") from None
    if len(value) > _TS_MAX_LEN:
        raise CheckError(f"{key!r} has more than 6 fraction digits")


def _uuid_ok(text: str) -> bool:
    if _UUID_RFC4122.fullmatch(text):
        return True
    try:  # other spellings uuid.UUID reads, exactly as stix2 does (braces, upper case, …)
        return uuid.UUID(text).variant == uuid.RFC_4122
    except ValueError:
        return False


def reference(value: Any, key: str, types: frozenset[str]) -> None:
    """``type--uuid`` (RFC 4122 variant) whose type is one of ``types``."""
    if not isinstance(value, str):
        raise _wrong(key)
    type_, sep, rest = value.partition("--")
    if not sep or not _uuid_ok(rest):
        raise CheckError(f"{key!r} is not a STIX id: {short(value)}")
    if type_ not in types:
        raise CheckError(f"{key!r} cannot reference a {short(type_)!r}")


def _fields(item: Any, key: str, spec: Mapping[str, Callable[[Any, str], None]]) -> None:
    """An embedded object: a JSON object of known keys, none null."""
    if not isinstance(item, dict):
        raise _wrong(key)
    for name, value in item.items():
        where = f"{key}.{short(name)}"
        if name not in spec:
            raise CheckError(f"{where!r} is not a STIX 2.1 property")
        if value is None or value == []:  # stix2 would drop it silently
            raise _wrong(where)
        spec[name](value, where)


def _hashes(value: Any, key: str) -> None:
    if not isinstance(value, dict) or not value:
        raise _wrong(key)
    for name, digest in value.items():
        # stix2 renames near misses ("sha256" → "SHA-256"): only the spec names are kept as is.
        if name not in LEGAL_HASHES:
            raise CheckError(f"{key!r}: {short(name)!r} is not a hash-algorithm-ov name")
        if not isinstance(digest, str) or not check_hash(infer_hash_algorithm(name), digest):
            raise CheckError(f"{key!r}: not a valid {name} hash")


_EXTERNAL_REFERENCE = {
    "source_name": _string,
    "description": _string,
    "url": _string,
    "hashes": _hashes,
    "external_id": _string,
}
_KILL_CHAIN_PHASE = {"kill_chain_name": _string, "phase_name": _string}
_GRANULAR_MARKING = {"lang": _string, "marking_ref": _string, "selectors": _strings}


def _objects(
    spec: Mapping[str, Callable[[Any, str], None]],
    required: tuple[str, ...],
    one_of: frozenset[str] = frozenset(),
) -> Callable[[Any, str], None]:
    """A list of embedded objects (``[]`` is allowed: stix2 takes it as absent)."""

    def check_list(value: Any, key: str) -> None:
        if not isinstance(value, list):
            raise _wrong(key)
        for i, item in enumerate(value):
            where = f"{key}[{i}]"
            _fields(item, where, spec)
            missing = [r for r in required if r not in item]
            if missing:
                raise CheckError(f"{where!r} lacks {missing[0]!r}")
            if one_of and not item.keys() & one_of:
                raise CheckError(f"{where!r} needs one of {', '.join(sorted(one_of))}")

    return check_list


def _marking_refs(value: Any, key: str) -> None:
    if not isinstance(value, list):
        raise _wrong(key)
    for ref in value:
        reference(ref, key, _MARKING)


def _extensions(value: Any, key: str) -> None:
    if not isinstance(value, dict):
        raise _wrong(key)
    for ext_id, ext in value.items():
        if not isinstance(ext_id, str):
            raise CheckError("an extension key is not a string")
        if not isinstance(ext, dict):
            raise CheckError(f"extension {short(ext_id)} is not a JSON object")
        ext_def = ext_id.startswith("extension-definition--")
        if ext_def and not _uuid_ok(ext_id.removeprefix("extension-definition--")):
            raise CheckError(f"extension {short(ext_id)} is not an extension-definition id")


def _ignore(value: Any, key: str) -> None:
    """Checked before, by the envelope (type, id, spec_version)."""


def _created(value: Any, key: str) -> None:
    # The envelope parsed it already; stix2 also refuses more than 6 fraction digits.
    if len(value) > _TS_MAX_LEN:
        raise CheckError(f"{key!r} has more than 6 fraction digits")


_IDENTITY = frozenset({"identity"})
_MARKING = frozenset({"marking-definition"})
_COMMON: dict[str, Callable[[Any, str], None]] = {
    "type": _ignore,
    "spec_version": _ignore,
    "id": _ignore,
    "created_by_ref": lambda v, k: reference(v, k, _IDENTITY),
    "created": _created,
    "modified": _created,
    "revoked": _boolean,
    "labels": _strings,
    "confidence": _integer,
    "lang": _string,
    "external_references": _objects(
        _EXTERNAL_REFERENCE, ("source_name",), frozenset({"description", "url", "external_id"})
    ),
    "object_marking_refs": _marking_refs,
    "granular_markings": _objects(_GRANULAR_MARKING, ("selectors",)),
    "extensions": _extensions,
}
PROPERTIES: dict[str, dict[str, Callable[[Any, str], None]]] = {
    "incident": {
        **_COMMON,
        "name": _string,
        "description": _string,
        "kill_chain_phases": _objects(_KILL_CHAIN_PHASE, ("kill_chain_name", "phase_name")),
    },
    "location": {
        **_COMMON,
        **dict.fromkeys(
            ("name", "description", "region", "country", "administrative_area", "city"), _string
        ),
        "street_address": _string,
        "postal_code": _string,
        "latitude": lambda v, k: _number(v, k, -90.0, 90.0),
        "longitude": lambda v, k: _number(v, k, -180.0, 180.0),
        "precision": lambda v, k: _number(v, k, 0.0),
    },
    "relationship": {
        **_COMMON,
        "relationship_type": _string,
        "description": _string,
        "source_ref": lambda v, k: reference(v, k, RELATABLE_TYPES),
        "target_ref": lambda v, k: reference(v, k, RELATABLE_TYPES),
        "start_time": timestamp,
        "stop_time": timestamp,
    },
}
REQUIRED = {
    "incident": ("name",),
    "location": (),
    "relationship": ("relationship_type", "source_ref", "target_ref"),
}
_LIST_PROPERTIES = frozenset(
    {"labels", "external_references", "object_marking_refs", "granular_markings"}
    | {"kill_chain_phases"}
)


def check(obj: Mapping[str, Any], type_: str) -> bool:
    """Check an incident, location or relationship; raise :class:`CheckError` if refused.

    Expects the envelope checks to have passed. Returns True when the object has
    parts only stix2 checks (then run ``stix2.parse`` as well), False when this was all.
    """
    spec = PROPERTIES[type_]
    extensions = obj.get("extensions")
    rare = bool(obj.get("granular_markings"))
    open_top = False  # a top-level property extension: stix2 allows any extra property
    if isinstance(extensions, dict):
        for ext_id, ext in extensions.items():
            if not isinstance(ext_id, str) or not ext_id.startswith("extension-definition--"):
                rare = True  # predefined (SCO) extensions: stix2 knows their classes
            elif isinstance(ext, dict) and ext.get("extension_type") == (
                "toplevel-property-extension"
            ):
                rare = open_top = True
    for key, value in obj.items():
        prop = spec.get(key)
        if prop is None:
            if key == "custom_properties" or not open_top:
                raise CheckError(f"{short(key)!r} is not a STIX 2.1 {type_} property")
            if value is None or value == []:  # stix2 would drop it silently
                raise _wrong(key)
            continue
        if value is None or (value == [] and key not in _LIST_PROPERTIES):
            raise _wrong(key)  # stix2 would take it as absent
        prop(value, key)
    for key in REQUIRED[type_]:
        if key not in obj:
            raise CheckError(f"{key!r} is missing")
    if type_ == "location":
        _location(obj)
    elif type_ == "relationship":
        _relationship(obj)
    return rare


def _relationship(obj: Mapping[str, Any]) -> None:
    if not obj["relationship_type"]:  # stix2's Relationship() drops a falsy one: "missing"
        raise CheckError("'relationship_type' is empty")
    start, stop = obj.get("start_time"), obj.get("stop_time")
    if start and stop and parse_stix_timestamp(stop) <= parse_stix_timestamp(start):
        raise CheckError("'stop_time' must be later than 'start_time'")


def _location(obj: Mapping[str, Any]) -> None:
    lat, lon = "latitude" in obj, "longitude" in obj
    if "precision" in obj and not (lat and lon):
        raise CheckError("'precision' needs 'latitude' and 'longitude'")
    if lat != lon:
        raise CheckError("'latitude' and 'longitude' go together")
    if not (lat or "region" in obj or "country" in obj):
        raise CheckError("a location needs 'region', 'country' or 'latitude' and 'longitude'")


# --- our extension's JSON schema ---------------------------------------------------------
# jsonschema walks the schema for every instance (~280 µs per extension); this builds one
# closure per schema node, once. Only the node shapes our schema uses are supported (typed
# objects, numbers, strings and arrays with their keywords; string enum/const), anything
# else raises ValueError: a schema change cannot go unchecked. Numbers are ints and floats,
# the only JSON ones (the envelope refused the rest).

Predicate = Callable[[Any], bool]
_ANNOTATIONS = frozenset({"$schema", "$id", "title", "description", "$comment"})
_BOUNDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_SHAPES = {
    "object": frozenset({"properties", "required", "additionalProperties"}),
    "number": _BOUNDS,
    "integer": _BOUNDS,
    "string": frozenset({"minLength", "maxLength", "pattern"}),
    "array": frozenset({"items", "minItems", "maxItems", "uniqueItems"}),
}


@functools.cache
def _unique() -> Predicate:
    """jsonschema's own ``uniqueItems`` rule, for rare shapes.

    Imported on first use: importing jsonschema compiles an IRI grammar (about 1.5 s of CPU),
    which every CLI command and node start would otherwise pay before it checks anything.
    """
    from jsonschema import Draft202012Validator

    check: Predicate = Draft202012Validator({"uniqueItems": True}).is_valid
    return check


def compile_schema(schema: Mapping[str, Any]) -> Predicate:
    """A predicate equal to ``Draft202012Validator(schema).is_valid``, for schemas made of
    the node shapes our extension schema uses (``$defs`` inlined); others raise ValueError."""
    if not isinstance(schema, dict):
        raise ValueError("boolean schemas are not supported")
    kw = {k: v for k, v in schema.items() if k not in _ANNOTATIONS}
    type_ = kw.pop("type", None)
    if type_ is None and set(kw) in ({"enum"}, {"const"}):
        allowed = kw.get("enum", [kw.get("const")])
        if all(isinstance(a, str) for a in allowed):
            strings = frozenset(allowed)
            return lambda x: isinstance(x, str) and x in strings
    if isinstance(type_, str) and type_ in _SHAPES and kw.keys() <= _SHAPES[type_]:
        if type_ == "object":
            return _s_object(kw)
        if type_ == "string":
            return _s_string(kw)
        if type_ == "array":
            return _s_array(kw)
        return _s_number(kw, integer=type_ == "integer")
    raise ValueError(f"schema node with {sorted(schema)} is not supported")


def _s_object(kw: Mapping[str, Any]) -> Predicate:
    subs = {name: compile_schema(sub) for name, sub in kw.get("properties", {}).items()}
    required = tuple(kw.get("required", ()))
    extra_ok = kw.get("additionalProperties", True)
    if not isinstance(extra_ok, bool):
        raise ValueError("additionalProperties must be true or false")

    def check(x: Any) -> bool:
        if not isinstance(x, dict):
            return False
        for name in required:
            if name not in x:
                return False
        for name, item in x.items():
            sub = subs.get(name)
            if sub is None:
                if not extra_ok:
                    return False
            elif not sub(item):
                return False
        return True

    return check


def _s_number(kw: Mapping[str, Any], integer: bool) -> Predicate:
    low, high = kw.get("minimum"), kw.get("maximum")
    above, below = kw.get("exclusiveMinimum"), kw.get("exclusiveMaximum")

    def check(x: Any) -> bool:
        if isinstance(x, bool) or not isinstance(x, int | float):
            return False
        if integer and isinstance(x, float) and not x.is_integer():
            return False
        return (
            (low is None or x >= low)
            and (high is None or x <= high)
            and (above is None or x > above)
            and (below is None or x < below)
        )

    return check


def _s_string(kw: Mapping[str, Any]) -> Predicate:
    low, high = kw.get("minLength", 0), kw.get("maxLength")
    search = re.compile(kw["pattern"]).search if "pattern" in kw else None  # as jsonschema

    def check(x: Any) -> bool:
        if not isinstance(x, str) or len(x) < low or (high is not None and len(x) > high):
            return False
        return search is None or search(x) is not None

    return check


def _s_array(kw: Mapping[str, Any]) -> Predicate:
    item = compile_schema(kw["items"]) if "items" in kw else None
    low, high = kw.get("minItems", 0), kw.get("maxItems")
    unique = kw.get("uniqueItems") is True

    def check(x: Any) -> bool:
        if not isinstance(x, list) or len(x) < low or (high is not None and len(x) > high):
            return False
        if item is not None and not all(item(i) for i in x):
            return False
        if not unique:
            return True
        if all(isinstance(i, str) for i in x):
            return len(set(x)) == len(x)
        return bool(_unique()(x))

    return check
