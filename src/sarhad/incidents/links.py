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
    """Suggest links for one record against records of the other origin (caller holds the lock)."""
    row = session.get(Incident, incident_id)
    if row is None:
        return []
    received = row.origin_node_id is not None
    window = timedelta(hours=MAX_HOURS)
    deg = MAX_KM / 111.0 + 0.01
    q = select(Incident).where(
        Incident.category == row.category,
        Incident.occurred_at.between(row.occurred_at - window, row.occurred_at + window),
        Incident.lat.between(row.lat - deg, row.lat + deg),
        Incident.id != row.id,
        Incident.origin_node_id.is_(None) if received else Incident.origin_node_id.is_not(None),
    )
    made = []
    for other in session.scalars(q):
        local, remote = (other, row) if received else (row, other)
        km = _km(local, remote)
        hours = abs((local.occurred_at - remote.occurred_at).total_seconds()) / 3600
        if km > MAX_KM:
            continue
        exists = session.scalar(
            select(IncidentLink).where(
                IncidentLink.local_id == local.id, IncidentLink.remote_id == remote.id
            )
        )
        if exists is not None:
            continue
        score = round(1 - 0.5 * hours / MAX_HOURS - 0.5 * km / MAX_KM, 3)
        link = IncidentLink(
            id=str(uuid.uuid4()), local_id=local.id, remote_id=remote.id, score=score,
            reasons=[f"same category {row.category}", f"{hours:.1f} h apart", f"{km:.1f} km apart"],
            status="suggested", created_at=utcnow(),
        )
        session.add(link)
        made.append(link)
    session.flush()
    return made


def list_links(session: Session, *, status: str | None = None, incident_id: str | None = None) -> list[IncidentLink]:
    """Links, best first."""
    q = select(IncidentLink)
    if status:
        q = q.where(IncidentLink.status == status)
    if incident_id:
        q = q.where(or_(IncidentLink.local_id == incident_id, IncidentLink.remote_id == incident_id))
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
        session, actor=actor.username, op=link.status, entity="incident_link", entity_id=link.id,
        version=1, detail={"local": link.local_id, "remote": link.remote_id},
    )
    return link
