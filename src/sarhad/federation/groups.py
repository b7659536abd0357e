"""Keep a record with its parts: split batches only between complete records.

An incident travels as three objects (incident, located-at relationship, location). A page of
a TAXII collection, a POST or a chunk of a bundle can end between them; ingesting such a
split would refuse the incident ("no location in this batch"). ``split_incomplete`` holds the
objects of unfinished records back so the caller can send them with the next batch.
"""

from __future__ import annotations

from typing import Any

from sarhad.federation.types import REGISTRY

#: Past this many held-back objects a batch goes as it is (the partner's ordering is broken
#: beyond repair; what cannot be completed is quarantined with its reason).
MAX_CARRY = 10_000


def split_incomplete(objects: list[Any]) -> tuple[list[Any], list[Any]]:
    """(complete, incomplete): the objects of records whole in ``objects``, and the rest.

    Each object type of the registry names the parts of its records that are not whole
    (``ObjectType.incomplete``; for incidents: those whose location is absent, and parts
    whose incident is). Objects that are not dicts, or of other types, always count as
    complete (the inbox judges them on their own).
    """
    held = set().union(*(t.incomplete(objects) for t in REGISTRY))
    keep = [obj for n, obj in enumerate(objects) if n not in held]
    hold = [obj for n, obj in enumerate(objects) if n in held]
    return keep, hold
