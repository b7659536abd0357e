"""The publication switch: which crossings and markets the public page shows (admins only)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.border import BorderProfile
from sarhad.core.auth import Permission, Principal
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.journal import record
from sarhad.crossings.models import Publication
from sarhad.crossings.places import place


def set_published(
    session: Session,
    *,
    crossing_id: str,
    published: bool,
    actor: Principal,
    profile: BorderProfile,
) -> Publication:
    """Switch a crossing's public status on or off (admins only)."""
    actor.require(Permission.CROSSINGS_PUBLISH)
    where = place(profile, crossing_id)
    lock_writes(session)
    row = session.get(Publication, where.id)
    if row is None:
        row = Publication(crossing_id=where.id)
        session.add(row)
    row.published, row.updated_at, row.updated_by = published, utcnow(), actor.username
    session.flush()
    record(
        session,
        actor=actor.username,
        op="publish" if published else "unpublish",
        entity="crossing_publication",
        entity_id=where.id,
        version=1,
        detail={"published": published},
    )
    return row


def published_ids(session: Session) -> set[str]:
    """Crossings and markets an admin has put on the public page."""
    return set(
        session.scalars(select(Publication.crossing_id).where(Publication.published.is_(True)))
    )
