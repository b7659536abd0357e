"""What the public status page and feed show, for traders and travellers.

Per *published* crossing or market (an admin switches each on with
``PUT /api/v1/crossings/{id}/publication``): the status a traveller meets (both sides
combined), the next opening or the next scheduled closing, and each side's regular hours.
Nothing else: no reason, note, declaration, incident, throughput figure, account or node
name. The output is built from an allow-list (``PublicPlace``), never by trimming a staff
schema, so a field added to the staff API cannot leak here. The routes, the rate limit and
the page in three languages are the web room's (``sarhad.web.public_pages``).

A declaration marked TLP:RED drives nothing public: RED never leaves the node
(``core.markings.may_leave``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from sarhad.border import BorderProfile
from sarhad.core.markings import TLP, may_leave
from sarhad.crossings.declarations import declarations_of
from sarhad.crossings.hours import get_hours, schedule
from sarhad.crossings.places import places, zone_label
from sarhad.crossings.publication import published_ids
from sarhad.crossings.taxonomy import WEEKDAYS, Status
from sarhad.crossings.timeline import HORIZON, Period, Segment, combine, timeline

#: The languages of the public page and of the place names in the feed.
LANGS = ("en", "ur", "fa")


class PublicHours(BaseModel):
    """One side's regular hours, in that side's local time."""

    side: str
    days: list[str] = Field(description="mon … sun")
    opens: str = Field(description="HH:MM local time of the side")
    closes: str = Field(description="HH:MM local time of the side; 24:00 is midnight")
    time_zone: str = Field(description="e.g. PKT (UTC+05:00)")


class PublicPlace(BaseModel):
    """A published crossing or market now: status, next opening or closing, hours."""

    id: str
    kind: str = Field(description="crossing or market")
    names: dict[str, str] = Field(description="The name in en, ur and fa")
    status: str = Field(description="open, restricted or closed, as a traveller meets it")
    next_opening: datetime | None = Field(
        description="When closed: the next time both sides are open (UTC); null when closed "
        "until further notice. Null when open now."
    )
    closes_at: datetime | None = Field(
        description="When open: the next scheduled closing (UTC); null when none is scheduled"
    )
    hours: list[PublicHours] = Field(description="Regular hours of each side that has set them")


class PublicFeed(BaseModel):
    """Every published crossing and market."""

    generated_at: datetime
    crossings: list[PublicPlace]


@dataclass(frozen=True)
class Span:
    """A stretch of time with one combined status."""

    start: datetime
    end: datetime
    status: str


def combined(sides: Sequence[Sequence[Segment]], start: datetime, end: datetime) -> list[Span]:
    """The status a traveller meets from ``start`` to ``end``: both sides' timelines combined.

    A side we know nothing of is open all day in its timeline, so it changes nothing.
    """
    cuts = {start, end} | {
        t for segments in sides for s in segments for t in (s.start, s.end) if start < t < end
    }
    out: list[Span] = []
    for a, b in itertools.pairwise(sorted(cuts)):
        status = combine(next(s.status for s in segs if s.start <= a < s.end) for segs in sides)
        if out and out[-1].status == status:
            out[-1] = Span(out[-1].start, b, status)
        else:
            out.append(Span(a, b, status))
    return out


def outlook(spans: Sequence[Span]) -> tuple[str, datetime | None, datetime | None]:
    """(status now, next opening if closed now, next closing if open now)."""
    status = spans[0].status
    if status == Status.CLOSED:
        return status, next((s.start for s in spans if s.status != Status.CLOSED), None), None
    return status, None, next((s.start for s in spans if s.status == Status.CLOSED), None)


def _side_timeline(
    session: Session, *, profile: BorderProfile, crossing_id: str, side: str, at: datetime
) -> list[Segment]:
    rows = declarations_of(session, crossing_id=crossing_id, side=side)
    periods = [
        Period(r.id, r.status, r.reason, r.starts_at, r.ends_at)
        for r in rows
        if may_leave(TLP(r.tlp)).ok
    ]
    return timeline(periods, schedule(session, profile, crossing_id, side), at, at + HORIZON)


def public_places(
    session: Session,
    *,
    profile: BorderProfile,
    at: datetime,
    crossing_ids: Iterable[str] | None = None,
) -> list[PublicPlace]:
    """The published crossings and markets at ``at``, as the public sees them."""
    shown = published_ids(session)
    wanted = set(crossing_ids) if crossing_ids is not None else None
    out = []
    for p in places(profile):
        if p.id not in shown or (wanted is not None and p.id not in wanted):
            continue
        sides = [
            _side_timeline(session, profile=profile, crossing_id=p.id, side=side, at=at)
            for side in profile.sides
        ]
        status, opening, closing = outlook(combined(sides, at, at + HORIZON))
        hours = [
            PublicHours(
                side=side,
                days=[WEEKDAYS[d] for d in sorted(h.days)],
                opens=h.opens,
                closes=h.closes,
                time_zone=zone_label(profile, side),
            )
            for side in profile.sides
            if (h := get_hours(session, crossing_id=p.id, side=side)) is not None
        ]
        out.append(
            PublicPlace(
                id=p.id,
                kind=p.kind,
                names={lang: p.name(lang) for lang in LANGS},
                status=status,
                next_opening=opening,
                closes_at=closing,
                hours=hours,
            )
        )
    return out
