"""Turn crossing changes of the change log into STIX objects for one partner.

What goes is decided by the agreement's terms: ``share_crossings`` for status and hours,
``share_throughput`` for daily figures, ``max_tlp`` (TLP:RED never) and ``expires_at``. Only
our own rows ever go: a partner's crossing data is neither forwarded nor echoed back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.core.markings import TLP, may_go
from sarhad.crossings.declarations import DECLARATION
from sarhad.crossings.flows import THROUGHPUT
from sarhad.crossings.hours import HOURS
from sarhad.crossings.models import Declaration, Hours, Throughput
from sarhad.crossings.taxonomy import LOCAL
from sarhad.federation.models import CollectionObject
from sarhad.federation.stix import parse_stix_timestamp, stix_timestamp
from sarhad.federation.stix_crossings import (
    HOURS_TLP,
    STATUS_TYPE,
    crossing_extension_definition,
    hours_to_stix,
    status_to_stix,
    throughput_to_stix,
)
from sarhad.federation.store import Appender
from sarhad.sharing.policy import Terms

#: Change-log entities of the crossings room that become objects for partners.
CROSSING_ENTITIES = (DECLARATION, HOURS, THROUGHPUT)


def _may_go(tlp: TLP, terms: Terms) -> bool:
    return may_go(tlp, terms.max_tlp).ok


def _latest_many(appender: Appender, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The newest version the partner's collection holds of each of ``ids``."""
    found: dict[str, dict[str, Any]] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), 500):  # keep IN lists within every backend's limits
        for sid, payload in appender.session.execute(
            select(CollectionObject.stix_id, CollectionObject.payload).where(
                CollectionObject.collection_id == appender.collection_id,
                CollectionObject.stix_id.in_(unique[start : start + 500]),
                CollectionObject.is_latest.is_(True),
            )
        ):
            found[sid] = json.loads(payload)
    return found


def _next_version(obj: dict[str, Any], held: dict[str, Any] | None) -> dict[str, Any] | None:
    """``obj`` as the next version of what the partner holds; None if it holds it already.

    Why: versions are ordered by ``version`` (ours), but STIX orders them by ``modified`` and
    keeps ``created``. A version is sent once; re-reading the log after an agreement change
    gives no duplicate, and ``modified`` always grows even if two versions share a clock tick.
    """
    if held is None:
        return obj
    if held.get("revoked") or int(held.get("version", 0)) >= int(obj["version"]):
        return None  # a revoked object never gets a new version (STIX 2.1 versioning)
    obj["created"] = held["created"]
    last = parse_stix_timestamp(held["modified"])
    if parse_stix_timestamp(obj["modified"]) <= last:
        obj["modified"] = stix_timestamp(last + timedelta(milliseconds=1))
    return obj


def crossing_objects(
    session: Session,
    *,
    appender: Appender,
    terms: Terms,
    identity_id: str,
    extension_author: str,
    time_zone: str | None,
    changes: Sequence[tuple[str, str]],
    now: datetime,
) -> list[dict[str, Any]]:
    """The objects for ``changes`` ((entity, id) in log order) that this partner may have.

    Each changed row goes once, as it stands now (later changes of the batch included).
    """
    if not changes or (terms.expires_at is not None and now >= terms.expires_at):
        return []
    wanted = {DECLARATION, HOURS} if terms.share_crossings else set()
    if terms.share_throughput:
        wanted.add(THROUGHPUT)
    order = list(dict.fromkeys((e, i) for e, i in changes if e in wanted))
    if not order:
        return []

    def ids(entity: str) -> list[str]:
        return [i for e, i in order if e == entity]

    rows: dict[tuple[str, str], Declaration | Hours | Throughput] = {}
    for entity, table in ((DECLARATION, Declaration), (HOURS, Hours), (THROUGHPUT, Throughput)):
        wanted_ids = ids(entity)
        for start in range(0, len(wanted_ids), 500):
            chunk = wanted_ids[start : start + 500]
            for row in session.scalars(
                select(table).where(table.id.in_(chunk), table.origin == LOCAL)
            ):
                rows[(entity, row.id)] = row
    built: list[dict[str, Any]] = []
    refs: list[str] = []
    for key in order:
        row = rows.get(key)
        if isinstance(row, Declaration) and _may_go(TLP(row.tlp), terms):
            built.append(status_to_stix(row, identity_id=identity_id, incident_refs=[]))
            refs += [f"incident--{i}" for i in row.incident_ids or []]
        elif isinstance(row, Hours) and _may_go(HOURS_TLP, terms):
            built.append(hours_to_stix(row, identity_id=identity_id, time_zone=time_zone))
        elif isinstance(row, Throughput) and _may_go(TLP(row.tlp), terms):
            built.append(throughput_to_stix(row, identity_id=identity_id))
    held = _latest_many(appender, [o["id"] for o in built] + refs)
    objects = []
    for obj in built:
        if obj["type"] == STATUS_TYPE:
            # Only incidents this partner already holds (and still may): even a bare id tells
            # that a record exists, and a status must not say more than the collection does.
            declaration = rows[(DECLARATION, obj["id"].split("--", 1)[1])]
            assert isinstance(declaration, Declaration)
            shared = [
                ref
                for i in declaration.incident_ids or []
                if (ref := f"incident--{i}") in held and not held[ref].get("revoked")
            ]
            if shared:
                obj["incident_refs"] = shared
            if obj.get("revoked") and obj["id"] not in held:
                continue  # withdrawn before the partner ever had it: nothing to tell
        nxt = _next_version(obj, held.get(obj["id"]))
        if nxt is not None:
            objects.append(nxt)
    definition = crossing_extension_definition(created_by_ref=extension_author)
    if objects and appender.latest(definition["id"]) is None:
        # Partners introduced before crossings were shared have not seen the definition yet.
        objects.insert(0, definition)
    return objects
