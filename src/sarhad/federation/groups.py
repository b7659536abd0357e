"""Keep an incident with its location: split batches only between complete groups.

An incident travels as three objects (incident, located-at relationship, location). A page of
a TAXII collection, a POST or a chunk of a bundle can end between them; ingesting such a
split would refuse the incident ("no location in this batch"). ``split_incomplete`` holds the
objects of unfinished groups back so the caller can send them with the next batch.
"""

from __future__ import annotations

from typing import Any

#: Past this many held-back objects a batch goes as it is (the partner's ordering is broken
#: beyond repair; what cannot be completed is quarantined with its reason).
MAX_CARRY = 10_000


def split_incomplete(objects: list[Any]) -> tuple[list[Any], list[Any]]:
    """(complete, incomplete): incidents whose location is absent and parts whose incident is.

    Objects that are not dicts, or of other types, always count as complete (the inbox judges
    them on their own).
    """
    incidents: set[str] = set()
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
            incidents.add(oid)
        elif kind == "location":
            locations.add(oid)
        elif kind == "relationship" and obj.get("relationship_type") == "located-at":
            src, dst = obj.get("source_ref"), obj.get("target_ref")
            if isinstance(src, str) and isinstance(dst, str) and src.startswith("incident--"):
                rel_of[oid] = src
                target[src] = dst
    complete_incidents = {i for i in incidents if target.get(i) in locations}
    used_locations = {target[i] for i in complete_incidents}
    keep, hold = [], []
    for obj in objects:
        oid = obj.get("id") if isinstance(obj, dict) else None
        kind = obj.get("type") if isinstance(obj, dict) else None
        if kind == "incident" and oid in incidents:
            ok = oid in complete_incidents
        elif kind == "relationship" and oid in rel_of:
            ok = rel_of[oid] in complete_incidents
        elif kind == "location":
            # A location no complete incident points to may belong to one on the next page.
            ok = oid in used_locations
        else:
            ok = True
        (keep if ok else hold).append(obj)
    return keep, hold
