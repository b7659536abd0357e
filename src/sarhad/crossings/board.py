"""The board: every crossing and market now, our side's view, the partner's, any mismatch."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.border import BorderProfile
from sarhad.core.db import utcnow
from sarhad.crossings.declarations import periods
from sarhad.crossings.hours import get_hours, schedule
from sarhad.crossings.models import Declaration
from sarhad.crossings.places import local, places
from sarhad.crossings.publication import published_ids
from sarhad.crossings.schemas import BoardRow, SideView
from sarhad.crossings.timeline import combine, next_opening, state_at


def _has_data(session: Session, crossing_id: str, side: str) -> bool:
    return (
        get_hours(session, crossing_id=crossing_id, side=side) is not None
        or session.scalar(
            select(Declaration.id)
            .where(Declaration.crossing_id == crossing_id, Declaration.side == side)
            .limit(1)
        )
        is not None
    )


def side_view(
    session: Session, *, profile: BorderProfile, crossing_id: str, side: str, at: datetime
) -> SideView:
    """One side's state of one crossing at ``at``, with its next opening."""
    ps = periods(session, crossing_id=crossing_id, side=side)
    sched = schedule(session, profile, crossing_id, side)
    s = state_at(ps, sched, at)
    return SideView(
        side=side,
        status=s.status,
        reason=s.reason,
        since=s.since,
        until=s.until,
        declared=s.declared,
        declaration_id=s.declaration_id,
        known=_has_data(session, crossing_id, side),
        next_opening=next_opening(ps, sched, at),
    )


def mismatch(ours: SideView, theirs: SideView | None, tz: tzinfo) -> str | None:
    """ "we say open, they say closed since 06:00 PKT" when the sides disagree.

    Flagged only when at least one side has *declared* its state: regular hours that
    differ (each side opens at 08:00 its own time) are shown, not flagged.
    """
    if theirs is None or not theirs.known or ours.status == theirs.status:
        return None
    if not (ours.declared or theirs.declared):
        return None

    def since(v: SideView) -> str:
        return f" since {local(v.since, tz)}" if v.since else ""

    return f"we say {ours.status}{since(ours)}, they say {theirs.status}{since(theirs)}"


def board(
    session: Session,
    *,
    profile: BorderProfile,
    side: str,
    at: datetime | None = None,
    lang: str = "en",
    crossing_ids: Iterable[str] | None = None,
) -> list[BoardRow]:
    """Every crossing and market at ``at``: our view, the partner's, combined, mismatch."""
    at = at or utcnow()
    other = next((s for s in profile.sides if s != side), None)
    wanted = set(crossing_ids) if crossing_ids is not None else None
    shown = published_ids(session)
    rows = []
    for p in places(profile):
        if wanted is not None and p.id not in wanted:
            continue
        ours = side_view(session, profile=profile, crossing_id=p.id, side=side, at=at)
        ours.known = True  # our own side is known even when we set nothing (open all day)
        theirs = (
            side_view(session, profile=profile, crossing_id=p.id, side=other, at=at)
            if other
            else None
        )
        statuses = [ours.status] + ([theirs.status] if theirs and theirs.known else [])
        rows.append(
            BoardRow(
                crossing=p.id,
                kind=p.kind,
                name=p.name(lang),
                ours=ours,
                theirs=theirs,
                combined=combine(statuses),
                mismatch=mismatch(ours, theirs, profile.local_time(side)),
                published=p.id in shown,
                lon=p.lon,
                lat=p.lat,
            )
        )
    return rows
