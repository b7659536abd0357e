"""Each side's regular opening hours, in the side's local time (from the border profile)."""

from __future__ import annotations

import uuid
from datetime import datetime, time, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.border import BorderProfile
from sarhad.core.auth import Permission, Principal
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.journal import record
from sarhad.crossings.models import Hours
from sarhad.crossings.places import place, zone_label
from sarhad.crossings.schemas import HoursIn, HoursOut
from sarhad.crossings.taxonomy import LOCAL, WEEKDAYS
from sarhad.crossings.timeline import Schedule

HOURS = "crossing_hours"


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def schedule_of(row: Hours, tz: tzinfo) -> Schedule:
    """A stored hours row as a ``Schedule``."""
    opens = _minutes(row.opens)
    return Schedule(
        days=frozenset(row.days),
        opens=time(opens // 60, opens % 60),
        closes_min=_minutes(row.closes),
        tz=tz,
    )


def get_hours(session: Session, *, crossing_id: str, side: str) -> Hours | None:
    """One side's regular hours of one crossing, if set."""
    return session.scalar(select(Hours).where(Hours.crossing_id == crossing_id, Hours.side == side))


def schedule(
    session: Session, profile: BorderProfile, crossing_id: str, side: str
) -> Schedule | None:
    """One side's regular hours as a ``Schedule`` (None: not set, open all day)."""
    row = get_hours(session, crossing_id=crossing_id, side=side)
    return schedule_of(row, profile.local_time(side)) if row is not None else None


def hours_out(row: Hours, profile: BorderProfile) -> HoursOut:
    """The API shape of regular hours."""
    return HoursOut(
        crossing=row.crossing_id,
        side=row.side,
        days=[WEEKDAYS[d] for d in sorted(row.days)],
        opens=row.opens,
        closes=row.closes,
        time_zone=zone_label(profile, row.side),
        origin=row.origin,
        updated_at=row.updated_at,
    )


def store_hours(
    session: Session,
    *,
    crossing_id: str,
    side: str,
    days: list[int],
    opens: str,
    closes: str,
    origin: str,
    actor: str,
    now: datetime,
) -> Hours | None:
    """Insert or update one side's hours; None when nothing changed."""
    row = get_hours(session, crossing_id=crossing_id, side=side)
    if row is None:
        row = Hours(id=str(uuid.uuid4()), crossing_id=crossing_id, side=side, version=0)
        session.add(row)
    elif (sorted(row.days), row.opens, row.closes) == (sorted(days), opens, closes):
        return None
    row.days, row.opens, row.closes = sorted(days), opens, closes
    row.origin, row.version, row.updated_at, row.updated_by = origin, row.version + 1, now, actor
    session.flush()
    record(
        session,
        actor=actor,
        op="set",
        entity=HOURS,
        entity_id=row.id,
        version=row.version,
        detail={"crossing": crossing_id, "side": side, "days": row.days, "opens": opens,
                "closes": closes, "origin": origin},
    )  # fmt: skip
    return row


def set_hours(
    session: Session,
    *,
    crossing_id: str,
    data: HoursIn,
    side: str,
    actor: Principal,
    profile: BorderProfile,
    now: datetime | None = None,
) -> Hours:
    """Set our side's regular hours (and market days) of a crossing or market."""
    actor.require(Permission.CROSSINGS_DECLARE)
    where = place(profile, crossing_id)
    lock_writes(session)
    days = [WEEKDAYS.index(d) for d in data.days]
    store_hours(
        session, crossing_id=where.id, side=side, days=days, opens=data.opens,
        closes=data.closes, origin=LOCAL, actor=actor.username, now=now or utcnow(),
    )  # fmt: skip
    row = get_hours(session, crossing_id=where.id, side=side)
    assert row is not None
    return row
