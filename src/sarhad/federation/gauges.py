"""What the federation tables say about each partner, for the node's metrics (read at scrape time).

Read from stored state only (cursors, collections, quarantine), so every process of a node
reports the same figures whichever of them ran the sync.
"""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from sarhad.core.db import utcnow
from sarhad.federation.models import Collection, CollectionObject, Quarantined, SyncCursor
from sarhad.federation.types.alert import STEP_TYPE
from sarhad.sharing.models import Partner


def sync_lag(session: Session, *, now: datetime | None = None) -> dict[str, float]:
    """Seconds since the last successful sync round with each active partner (inf: never)."""
    now = now or utcnow()
    rows = session.execute(
        select(Partner.name, SyncCursor.last_success_at)
        .outerjoin(SyncCursor, SyncCursor.partner_id == Partner.id)
        .where(Partner.active.is_(True))
    )
    return {
        name: math.inf if last is None else max(0.0, (now - last).total_seconds())
        for name, last in rows
    }


def quarantined(session: Session) -> dict[str, int]:
    """Objects held in quarantine, per partner that sent them."""
    rows = session.execute(
        select(Partner.name, func.count())
        .join(Quarantined, Quarantined.partner_id == Partner.id)
        .group_by(Partner.name)
    )
    return {name: int(n) for name, n in rows}


def waiting(session: Session, *, stix_type: str | None = None) -> dict[str, int]:
    """Objects in each partner's outbound collection past the push cursor (not yet delivered),
    all of them or those of one STIX type; partners with none waiting are left out."""
    pushed = func.coalesce(SyncCursor.pushed_seq, 0)
    query = (
        select(Partner.name, func.count())
        .select_from(CollectionObject)
        .join(Collection, Collection.id == CollectionObject.collection_id)
        .join(Partner, Partner.id == Collection.partner_id)
        .outerjoin(SyncCursor, SyncCursor.partner_id == Partner.id)
        .where(and_(Collection.kind == "outbound", CollectionObject.seq > pushed))
        .group_by(Partner.name)
    )
    if stix_type is not None:
        query = query.where(CollectionObject.stix_type == stix_type)
    return {name: int(n) for name, n in session.execute(query)}


def steps_waiting(session: Session) -> dict[str, int]:
    """Alert steps published for each partner and not yet pushed to it."""
    return waiting(session, stix_type=STEP_TYPE)
