"""Storing records received from partners, one page at a time.

Set-based on purpose: a page of a thousand records costs a handful of statements and one
vectorised ``locate_many``, instead of a dozen round trips per record.
"""

from __future__ import annotations

from datetime import UTC
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
from pydantic_core import to_jsonable_python
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from sarhad.border import BorderProfile, LocatedArrays
from sarhad.core.db import utcnow
from sarhad.core.errors import InvalidInput
from sarhad.core.journal import Change, record_many
from sarhad.incidents import service
from sarhad.incidents.models import Incident, IncidentVersion, SeizureRow
from sarhad.incidents.service import Received

__all__ = ["Received", "store_received_many"]


def store_received_many(
    session: Session,
    *,
    items: list[Received],
    profile: BorderProfile,
    created: list[Incident] | None = None,
) -> dict[str, str]:
    """Store a page; per record id: "created", "updated", "stale", "collision: <why>" or
    "refused: <why>" (a point farther from the line than the node accepts).

    The caller holds the write lock. Only the newest version of a record in the page is
    stored; older ones in the same page are "stale". ``created``, when given, receives the
    rows of the records created, as stored (plain rows with the ``Incident``'s columns and
    ``seizures``, not ORM objects): what ``links.propose`` would otherwise read back.
    """
    newest: dict[str, Received] = {}
    outcomes: dict[str, str] = {}
    for item in items:
        have = newest.get(item.record_id)
        if have is None or item.remote_modified > have.remote_modified:
            newest[item.record_id] = item
    existing = {
        row.id: row
        for row in session.scalars(select(Incident).where(Incident.id.in_(list(newest))))
    }
    storable: list[Received] = []
    for rid, item in newest.items():
        row = existing.get(rid)
        if row is not None and row.origin_node_id != item.origin_node_id:
            outcomes[rid] = f"collision: incident {rid} exists here with another origin"
        elif (
            row is not None and row.remote_modified and item.remote_modified <= row.remote_modified
        ):
            outcomes[rid] = "stale"
        else:
            storable.append(item)
    if not storable:
        return outcomes
    # One vectorised locate for the page: the place rule before anything is written.
    where = profile.locate_many(
        np.array([i.data.location.lon for i in storable]),
        np.array([i.data.location.lat for i in storable]),
    )
    beyond = profile.beyond_limit(where)
    fresh: list[tuple[Received, int]] = []
    for k, item in enumerate(storable):
        if beyond[k] and not item.data.far_from_line:
            outcomes[item.record_id] = f"refused: {_refusal(item, profile)}"
        elif item.record_id in existing or item.revoked:
            # Updates are rarer: the plain path. It applies the rule again, exactly (the bulk
            # distance may differ by a millimetre at the limit): a savepoint keeps a refusal
            # from leaving half an update behind.
            try:
                with session.begin_nested():
                    outcomes[item.record_id] = _one(session, item, profile)
            except InvalidInput as exc:
                outcomes[item.record_id] = f"refused: {exc.message}"
        else:
            fresh.append((item, k))
    if fresh:
        rows = _insert(session, fresh, where, beyond, profile)
        if created is not None:
            created += rows
        outcomes.update({item.record_id: "created" for item, _ in fresh})
    return outcomes


def _refusal(item: Received, profile: BorderProfile) -> str:
    """Why the place rule refuses ``item``: the words of ``locate_record`` itself."""
    try:
        profile.locate_record(item.data.location.lon, item.data.location.lat)
    except InvalidInput as exc:
        return exc.message + (f" ({exc.hint})" if exc.hint else "")
    return "location: too far from the line"  # not reached: the bulk result said beyond


def _one(session: Session, item: Received, profile: BorderProfile) -> str:
    return service.store_received(
        session,
        record_id=item.record_id,
        data=item.data,
        version=item.version,
        status=item.status,
        remote_modified=item.remote_modified,
        origin_node_id=item.origin_node_id,
        origin=item.origin,
        withheld=item.withheld,
        revoked=item.revoked,
        profile=profile,
    )


_COLUMNS = [c.name for c in Incident.__table__.columns]
_RECORD_KEYS = [c.key for c in service.RECORD_COLUMNS]


def _snapshot(row: SimpleNamespace) -> dict[str, Any]:
    """``to_out(row).model_dump(mode="json")`` without building the models: the values were
    validated on the way in, and ``api_record`` is the plain form the incident list uses
    (the same keys and values; pydantic-core writes the times). Six models a record cost
    more than the insert itself (docs/benchmarks.md, TAXII)."""
    seized = [
        {"commodity": s.commodity, "quantity": float(s.quantity), "unit": s.unit}
        for s in row.seizures
    ]
    record = service.api_record(tuple(getattr(row, k) for k in _RECORD_KEYS), seized)
    return cast(dict[str, Any], to_jsonable_python(record))


def _insert(
    session: Session,
    items: list[tuple[Received, int]],
    where: LocatedArrays,
    beyond: np.ndarray,
    profile: BorderProfile,
) -> list[Incident]:
    """Insert new records; ``k`` of each item indexes its point in ``where`` and ``beyond``.

    Returns the rows inserted (plain namespaces with the ``Incident``'s columns, typed as it).
    """
    # Plain namespaces and Core executemany, not ORM objects: at a thousand records a page,
    # the unit of work's bookkeeping cost more than the inserts themselves.
    now = utcnow()
    rows = []
    for item, k in items:
        row = SimpleNamespace(**dict.fromkeys(_COLUMNS))
        service.received_row(
            row,  # type: ignore[arg-type]  # a namespace with the Incident's columns
            item,
            where=where.location(k, profile),
            on_line=not beyond[k],
            profile=profile,
            now=now,
            new=True,
            seizure=SimpleNamespace,  # plain rows, plain seizures: no ORM instance
        )
        rows.append(row)
    session.execute(
        insert(Incident.__table__), [{c: getattr(r, c) for c in _COLUMNS} for r in rows]
    )
    seizures = [
        {
            "incident_id": r.id,
            "position": s.position,
            "commodity": s.commodity,
            "quantity": s.quantity,
            "unit": s.unit,
        }
        for r in rows
        for s in r.seizures
    ]
    if seizures:
        session.execute(insert(SeizureRow.__table__), seizures)
    seqs = record_many(
        session,
        [
            Change(
                actor=r.origin,
                op="received",
                entity="incident",
                entity_id=r.id,
                version=r.version,
                detail={"changed": [], "status": r.status},
            )
            for r in rows
        ],
    )
    session.execute(
        insert(IncidentVersion.__table__),
        [
            {
                "incident_id": r.id,
                "version": r.version,
                "at": now,
                "actor": r.origin,
                "op": "received",
                "changed": [],
                "snapshot": _snapshot(r),
                "change_seq": seq,
            }
            for r, seq in zip(rows, seqs, strict=True)
        ],
    )
    for r in rows:
        r.occurred_at = r.occurred_at.astimezone(UTC)  # as the database holds it
    return cast(list[Incident], rows)
