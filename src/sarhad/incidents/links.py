"""Links between a partner's record and our own record of the same event.

Suggested automatically (same category, close in time and place), then confirmed or rejected
by an analyst. A rejected pair is never suggested again.
"""

from __future__ import annotations

import math
import uuid
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sarhad.core.auth import Permission, Principal
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.errors import Conflict, NotFound
from sarhad.core.journal import record
from sarhad.incidents.models import Incident, IncidentLink

MAX_HOURS = 48.0
MAX_KM = 25.0


def _km(a: Incident, b: Incident) -> float:
    """Great-circle distance; metre precision is not needed to rank candidates."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


def suggest_for(session: Session, *, incident_id: str) -> list[IncidentLink]:
    """Suggest links for one record (see ``suggest_for_many``)."""
    return suggest_for_many(session, incident_ids=[incident_id])


def suggest_for_many(session: Session, *, incident_ids: list[str]) -> list[IncidentLink]:
    """Suggest links between these records and records of the other origin (ours ↔ a partner's).

    One query fetches every candidate near any of them; pairs are scored in memory. The
    caller holds the write lock.
    """
    rows = list(session.scalars(select(Incident).where(Incident.id.in_(incident_ids))))
    if not rows:
        return []
    pairs: set[tuple[str, str]] = set()
    candidates: list[Incident] = []
    for received in (True, False):
        group = [r for r in rows if (r.origin_node_id is not None) == received]
        if not group:
            continue
        found = _candidates(session, group, want_received=not received)
        candidates += found
        by_cell: dict[tuple[str, int], list[Incident]] = {}
        for c in found:  # bucket by category and ~25 km latitude band: pairs only look nearby
            by_cell.setdefault((c.category, int(c.lat * 4)), []).append(c)
        for row in group:
            for band in (int(row.lat * 4) - 1, int(row.lat * 4), int(row.lat * 4) + 1):
                for other in by_cell.get((row.category, band), ()):
                    local, remote = (other, row) if received else (row, other)
                    hours = abs((local.occurred_at - remote.occurred_at).total_seconds()) / 3600
                    if hours <= MAX_HOURS and _km(local, remote) <= MAX_KM:
                        pairs.add((local.id, remote.id))
    if not pairs:
        return []
    known = {
        (a, b)
        for a, b in session.execute(
            select(IncidentLink.local_id, IncidentLink.remote_id).where(
                IncidentLink.local_id.in_({a for a, _ in pairs}),
                IncidentLink.remote_id.in_({b for _, b in pairs}),
            )
        )
    }
    by_id = {r.id: r for r in [*rows, *candidates]}
    made = []
    for local_id, remote_id in sorted(pairs - known):
        local, remote = by_id[local_id], by_id[remote_id]
        km = _km(local, remote)
        hours = abs((local.occurred_at - remote.occurred_at).total_seconds()) / 3600
        made.append(
            IncidentLink(
                id=str(uuid.uuid4()),
                local_id=local_id,
                remote_id=remote_id,
                score=round(1 - 0.5 * hours / MAX_HOURS - 0.5 * km / MAX_KM, 3),
                reasons=[
                    f"same category {local.category}",
                    f"{hours:.1f} h apart",
                    f"{km:.1f} km apart",
                ],
                status="suggested",
                created_at=utcnow(),
            )
        )
    session.add_all(made)
    session.flush()
    return made


def _candidates(session: Session, rows: list[Incident], *, want_received: bool) -> list[Incident]:
    window = timedelta(hours=MAX_HOURS)
    deg = MAX_KM / 111.0 + 0.01
    origin = (
        Incident.origin_node_id.is_not(None) if want_received else Incident.origin_node_id.is_(None)
    )
    return list(
        session.scalars(
            select(Incident).where(
                origin,
                Incident.revoked.is_(False),
                Incident.category.in_({r.category for r in rows}),
                Incident.occurred_at.between(
                    min(r.occurred_at for r in rows) - window,
                    max(r.occurred_at for r in rows) + window,
                ),
                Incident.lat.between(
                    min(r.lat for r in rows) - deg, max(r.lat for r in rows) + deg
                ),
            )
        )
    )


def list_links(
    session: Session, *, status: str | None = None, incident_id: str | None = None
) -> list[IncidentLink]:
    """Links, best first."""
    q = select(IncidentLink)
    if status:
        q = q.where(IncidentLink.status == status)
    if incident_id:
        q = q.where(
            or_(IncidentLink.local_id == incident_id, IncidentLink.remote_id == incident_id)
        )
    return list(session.scalars(q.order_by(IncidentLink.score.desc(), IncidentLink.created_at)))


def decide_link(session: Session, *, link_id: str, confirm: bool, actor: Principal) -> IncidentLink:
    """Confirm or reject a suggested link."""
    actor.require(Permission.LINKS_DECIDE)
    lock_writes(session)
    link = session.get(IncidentLink, link_id)
    if link is None:
        raise NotFound(f"no link {link_id}", hint="list suggestions with 'sarhad links list'")
    if link.status != "suggested":
        raise Conflict(f"link {link_id} was already {link.status}")
    link.status = "confirmed" if confirm else "rejected"
    link.decided_by, link.decided_at = actor.username, utcnow()
    record(
        session,
        actor=actor.username,
        op=link.status,
        entity="incident_link",
        entity_id=link.id,
        version=1,
        detail={"local": link.local_id, "remote": link.remote_id},
    )
    return link
