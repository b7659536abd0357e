"""The registry of object types nodes share: one module per type, one list of them all.

Each module holds one :class:`~sarhad.federation.types.base.ObjectType`: which change-log rows
it publishes, how they map to and from STIX, how a partner's objects are checked and stored,
and what happens when they are delivered. ``publish``, the inbox, sync and ``groups`` loop
over :data:`REGISTRY` (bundles and the TAXII server reach it through them) and name no type.
To add a type: write its module, add an instance here (docs/architecture.md, "Adding a
shareable object type").
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sarhad.federation.types.alert import AlertType
from sarhad.federation.types.base import ObjectType
from sarhad.federation.types.crossing import CrossingType
from sarhad.federation.types.incident import IncidentType
from sarhad.federation.types.link import LinkType
from sarhad.federation.types.report import ReportType


class Registry:
    """The object types in the order they are published and ingested.

    ``Any``: each type reads its own kind of record; nothing that loops over them looks
    inside one.
    """

    def __init__(self, types: Sequence[ObjectType[Any]]) -> None:
        self.types = tuple(types)
        self.claims()  # two types reading one STIX type is a mistake: stop at import

    def __iter__(self) -> Iterator[ObjectType[Any]]:
        return iter(self.types)

    def entities(self) -> tuple[str, ...]:
        """Every change-log entity some type publishes."""
        return tuple(sorted({e for t in self.types for e in t.entities}))

    def claims(self) -> dict[str, ObjectType[Any]]:
        """STIX type → the object type that reads it (each STIX type has at most one)."""
        found: dict[str, ObjectType[Any]] = {}
        for t in self.types:
            for stix_type in t.stix_types:
                if stix_type in found:
                    raise RuntimeError(
                        f"{stix_type} is read by {found[stix_type].name} and {t.name}"
                    )
                found[stix_type] = t
        return found


#: Every type, in order: a type's objects may refer to records of the types before it.
#: Incidents come first (alerts and crossing declarations cite them), crossings before alerts
#: (a closure alert's reader finds the board already updated). Link decisions name two
#: incidents, so they come after them. The joint monthly figures come last: they count the
#: incidents the partner holds once this pass has published them.
REGISTRY = Registry([IncidentType(), LinkType(), CrossingType(), AlertType(), ReportType()])

__all__ = ["REGISTRY", "ObjectType", "Registry"]
