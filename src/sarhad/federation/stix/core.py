"""STIX 2.1 plumbing every shareable object type uses: timestamps, ids, fixed objects.

Every function returns plain JSON-ready dicts. Building ``stix2`` objects (let alone a
``Bundle``) for every record is slow on big exports (cti-python-stix2 #96, #302), so the hot
path writes the dicts directly and the tests prove each one with ``stix2.parse`` and
stix2-validator. Each type's own mapping lives in its module of :mod:`sarhad.federation.types`;
the inbound checks every standard STIX object passes are in
:mod:`sarhad.federation.stix.envelope`. Mapping tables: docs/stix-mapping.md.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sarhad.core.markings import STIX_TLP2_IDS, TLP

StixObject = dict[str, Any]
"""One STIX object as JSON: what every mapping returns and every check reads."""

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
"""JSON schemas of our extensions (stix2-validator reads them from here by extension id)."""

TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_CREATED = "2022-10-01T00:00:00.000Z"
TLP_BY_ID = {v: k for k, v in STIX_TLP2_IDS.items()}
"""TLP 2.0 marking-definition id → level."""

ISO2 = re.compile(r"[A-Z]{2}")
_STIX_TS = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z", re.ASCII)


# --- timestamps and ids ------------------------------------------------------------------


def stix_timestamp(value: datetime | str) -> str:
    """UTC ``YYYY-MM-DDTHH:MM:SS.mmmZ``, with 6 fraction digits when microseconds are set.

    Nothing is rounded: two versions a few microseconds apart keep distinct, ordered
    ``modified`` values. A naive datetime is taken as UTC (the database stores UTC).
    """
    dt = as_utc(value)
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


def as_utc(value: datetime | str) -> datetime:
    """``value`` (a datetime or ISO text) in UTC; a naive one is taken as UTC."""
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def uuid_of(value: object, what: str) -> uuid.UUID:
    """``value`` as a UUID; ValueError naming ``what`` if it is not one."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValueError(f"{what} must be a UUID, got {value!r}") from None


def check_ref(ref: str, type_: str) -> str:
    """``ref`` if it is a ``<type_>--<uuid>`` id; ValueError otherwise."""
    prefix = f"{type_}--"
    if not isinstance(ref, str) or not ref.startswith(prefix):
        raise ValueError(f"expected a {prefix}<uuid> id, got {ref!r}")
    uuid_of(ref[len(prefix) :], f"{type_} id")
    return ref


# --- fixed objects -----------------------------------------------------------------------


def node_identity(*, node_id: str, name: str, country: str, created: datetime) -> StixObject:
    """The node's agency as an ``identity`` (always an organization, never a person)."""
    if not ISO2.fullmatch(country or ""):
        raise ValueError(f"country must be an ISO 3166 alpha-2 code, got {country!r}")
    ts = stix_timestamp(created)
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": f"identity--{uuid_of(node_id, 'node_id')}",
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


# --- second gate -------------------------------------------------------------------------


def validate_with_oasis(
    objects: Sequence[Mapping[str, Any]], *, warnings_out: list[str] | None = None
) -> list[str]:
    """Run the OASIS stix2-validator on each object, with our extension schema; return errors.

    Warnings are not errors ([202] "incident located-at location" is expected); pass
    ``warnings_out`` to collect them. The validator is slow on some inputs: use it as a
    second gate after the inbound checks, not instead.
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
