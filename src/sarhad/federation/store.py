"""The TAXII object store: collections per partner, objects appended with a seq and date_added."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Table, func, insert, select, update
from sqlalchemy.orm import Session

from sarhad.core.db import lock_writes, utcnow
from sarhad.federation.models import Collection, CollectionObject
from sarhad.sharing.models import Partner

# Fixed namespace: collection ids are derived from the partner id, so they never change.
_NS = uuid.UUID("5b0c3f8e-6f2d-4c55-9a43-0d6a8f3e2a71")
ONE_MICROSECOND = timedelta(microseconds=1)


#: json.dumps with these options, the encoder built once (json.dumps builds one per call).
_SORTED_COMPACT = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def canonical(obj: object) -> str:
    """The one serialisation of an object we store and serve."""
    return _SORTED_COMPACT(obj)


def collection_id(partner_id: str, kind: str) -> str:
    """Stable id of a partner's collection of ``kind`` ("outbound" or "inbox")."""
    return str(uuid.uuid5(_NS, f"{partner_id}/{kind}"))


def ensure_collections(session: Session, partner: Partner) -> tuple[Collection, Collection]:
    """The partner's outbound and inbox collections, created on first use."""

    def existing() -> dict[str, Collection]:
        return {
            c.kind: c
            for c in session.scalars(select(Collection).where(Collection.partner_id == partner.id))
        }

    found = existing()
    if len(found) < 2:
        # Created under the write lock: the courier and a partner's first request can race.
        lock_writes(session)
        found = existing()
    for kind, title in (
        ("outbound", f"Incidents shared with {partner.name}"),
        ("inbox", f"Objects sent to us by {partner.name}"),
    ):
        if kind not in found:
            found[kind] = Collection(
                id=collection_id(partner.id, kind),
                partner_id=partner.id,
                kind=kind,
                title=title,
                created_at=utcnow(),
            )
            session.add(found[kind])
    session.flush()
    return found["outbound"], found["inbox"]


@dataclass
class Appender:
    """Appends object versions to one collection; the caller holds the write lock.

    Why a class: seq and date_added are read once per batch and then counted up locally.
    """

    session: Session
    collection_id: str
    _seq: int = -1
    _added: datetime | None = None

    def _start(self) -> None:
        self._seq = self.session.scalar(select(func.max(CollectionObject.seq))) or 0
        last = self.session.scalar(
            select(func.max(CollectionObject.date_added)).where(
                CollectionObject.collection_id == self.collection_id
            )
        )
        self._added = last

    def has(self, stix_id: str, modified: str) -> bool:
        """Whether this exact version is in the collection already."""
        return (
            self.session.scalar(
                select(CollectionObject.seq).where(
                    CollectionObject.collection_id == self.collection_id,
                    CollectionObject.stix_id == stix_id,
                    CollectionObject.modified == modified,
                )
            )
            is not None
        )

    def latest(self, stix_id: str) -> CollectionObject | None:
        """The newest version of ``stix_id`` in the collection."""
        return self.session.scalar(
            select(CollectionObject).where(
                CollectionObject.collection_id == self.collection_id,
                CollectionObject.stix_id == stix_id,
                CollectionObject.is_latest.is_(True),
            )
        )

    def latest_many(self, stix_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The newest version the collection holds of each of ``stix_ids`` (absent: not held)."""
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(stix_ids))
        for start in range(0, len(unique), 500):  # keep IN lists within every backend's limits
            for sid, payload in self.session.execute(
                select(CollectionObject.stix_id, CollectionObject.payload).where(
                    CollectionObject.collection_id == self.collection_id,
                    CollectionObject.stix_id.in_(unique[start : start + 500]),
                    CollectionObject.is_latest.is_(True),
                )
            ):
                found[sid] = json.loads(payload)
        return found

    def append(self, obj: dict[str, Any]) -> CollectionObject | None:
        """Add one object version; None if that (id, modified) is there already."""
        if self._seq < 0:
            self._start()
        stix_id = obj["id"]
        modified = obj.get("modified") or obj.get("created") or "static"
        if self.has(stix_id, modified):
            return None
        # An UPDATE's result is a CursorResult (with rowcount); Session.execute types it Result.
        updated = self.session.execute(
            update(CollectionObject)
            .where(
                CollectionObject.collection_id == self.collection_id,
                CollectionObject.stix_id == stix_id,
                CollectionObject.is_latest.is_(True),
            )
            .values(is_latest=False)
        )
        previous = cast(CursorResult[Any], updated).rowcount
        now = utcnow()
        # Unique, increasing date_added: added_after paging can never skip a tie.
        self._added = (
            now if self._added is None or now > self._added else self._added + ONE_MICROSECOND
        )
        self._seq += 1
        row = CollectionObject(
            seq=self._seq,
            collection_id=self.collection_id,
            stix_id=stix_id,
            stix_type=stix_id.split("--", 1)[0],
            modified=modified,
            date_added=self._added,
            is_latest=True,
            is_first=previous == 0,  # exactly one latest row exists per object
            payload=canonical(obj),
        )
        self.session.add(row)
        return row

    def append_many(self, objects: list[dict[str, Any]]) -> set[str]:
        """Add many object versions (each id at most once); returns the ids actually added.

        Set-based: one query for what exists, one UPDATE, one executemany — publishing a
        large backlog would otherwise cost three statements per object.
        """
        if not objects:
            return set()
        if self._seq < 0:
            self._start()
        ids = [o["id"] for o in objects]
        existing: set[tuple[str, str]] = set()
        known: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for sid, mod in self.session.execute(
                select(CollectionObject.stix_id, CollectionObject.modified).where(
                    CollectionObject.collection_id == self.collection_id,
                    CollectionObject.stix_id.in_(chunk),
                )
            ):
                existing.add((sid, mod))
                known.add(sid)
        fresh = [
            o
            for o in objects
            if (o["id"], o.get("modified") or o.get("created") or "static") not in existing
        ]
        if not fresh:
            return set()
        replaced = [o["id"] for o in fresh if o["id"] in known]
        for start in range(0, len(replaced), 500):
            self.session.execute(
                update(CollectionObject)
                .where(
                    CollectionObject.collection_id == self.collection_id,
                    CollectionObject.stix_id.in_(replaced[start : start + 500]),
                    CollectionObject.is_latest.is_(True),
                )
                .values(is_latest=False)
            )
        rows = []
        for obj in fresh:
            now = utcnow()
            self._added = (
                now if self._added is None or now > self._added else self._added + ONE_MICROSECOND
            )
            self._seq += 1
            rows.append(
                {
                    "seq": self._seq,
                    "collection_id": self.collection_id,
                    "stix_id": obj["id"],
                    "stix_type": obj["id"].split("--", 1)[0],
                    "modified": obj.get("modified") or obj.get("created") or "static",
                    "date_added": self._added,
                    "is_latest": True,
                    "is_first": obj["id"] not in known,
                    "payload": canonical(obj),
                }
            )
        # Core executemany (no ORM bookkeeping); declarative types __table__ as a FromClause.
        self.session.execute(insert(cast(Table, CollectionObject.__table__)), rows)
        return {r["stix_id"] for r in rows}
