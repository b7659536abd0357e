"""The pure status timeline: declarations and regular hours → status at any moment.

No database and no clock: everything is given, so "is it open now?" and the monthly figures
are the same function of the same data. Rules (docs/crossings.md):

- a declared *closed* holds whatever the hours say;
- a declared *restricted* holds within regular hours (outside them the gate is shut anyway);
- a declared *open* holds even outside regular hours (a special opening);
- with no declaration in force the regular hours decide; no hours set means open all day.

>>> from datetime import UTC, datetime, time
>>> from sarhad.crossings.timeline import Schedule
>>> pkt = timezone(timedelta(hours=5), "PKT")
>>> s = Schedule(days=frozenset({0, 1, 2, 3, 4, 5}), opens=time(8), closes_min=17 * 60, tz=pkt)
>>> state_at([], s, datetime(2026, 11, 23, 4, 0, tzinfo=UTC)).status  # 09:00 PKT, Monday
'open'
>>> state_at([], s, datetime(2026, 11, 29, 4, 0, tzinfo=UTC)).reason  # Sunday
'outside_hours'
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

from sarhad.crossings.taxonomy import OUTSIDE_HOURS, Status

#: How far around a moment the timeline is built to find when a state began and ends.
LOOKAROUND = timedelta(days=8)
#: How far ahead "next opening" looks before giving up (a closure until further notice).
HORIZON = timedelta(days=31)
#: The moments the timeline answers for: the calendar's ends less two months. A moment beyond
#: is taken as the nearest of these, so nothing here can overflow the calendar (the API
#: refuses such moments before; a direct caller gets an answer, not an OverflowError).
FIRST = datetime.min.replace(tzinfo=UTC) + timedelta(days=60)
LAST = datetime.max.replace(tzinfo=UTC) - timedelta(days=60)
#: No moment computed here passes these (a day's margin for local time and the day around).
_EDGES = (
    datetime.min.replace(tzinfo=UTC) + timedelta(days=3),
    datetime.max.replace(tzinfo=UTC) - timedelta(days=3),
)


def within_calendar(at: datetime) -> datetime:
    """``at`` held within [FIRST, LAST]."""
    return min(max(at, FIRST), LAST)


def _edged(at: datetime) -> datetime:
    return min(max(at, _EDGES[0]), _EDGES[1])


def shifted(at: datetime, delta: timedelta) -> datetime:
    """``at + delta``, held within the calendar instead of overflowing past its ends."""
    try:
        return _edged(at + delta)
    except OverflowError:
        return _EDGES[0] if delta < timedelta(0) else _EDGES[1]


@dataclass(frozen=True)
class Period:
    """One declaration as plain data (withdrawn ones are never given)."""

    id: str
    status: str
    reason: str
    starts_at: datetime
    ends_at: datetime | None  # None: open-ended


@dataclass(frozen=True)
class Schedule:
    """Regular opening: weekdays (0 = Monday) and local hours in the side's time zone."""

    days: frozenset[int]
    opens: time
    closes_min: int  # minutes after local midnight; 1440 = midnight at the end of the day
    tz: tzinfo

    def windows(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Open windows (UTC) that meet [start, end)."""
        out = []
        start, end = _edged(start), _edged(end)
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        last = end.astimezone(self.tz).date()
        while day <= last:
            if day.weekday() in self.days:
                midnight = datetime.combine(day, time(0), self.tz)
                a = datetime.combine(day, self.opens, self.tz).astimezone(UTC)
                b = (midnight + timedelta(minutes=self.closes_min)).astimezone(UTC)
                if b > start and a < end:
                    out.append((a, b))
            day += timedelta(days=1)
        return out

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` falls inside regular hours."""
        return any(a <= at < b for a, b in self.windows(at, shifted(at, timedelta(seconds=1))))

    def scheduled_days(self, first: date, last: date) -> list[date]:
        """Local dates from ``first`` to ``last`` (inclusive) that are regular opening days."""
        n = (last - first).days + 1
        return [
            d for d in (first + timedelta(days=i) for i in range(n)) if d.weekday() in self.days
        ]


@dataclass(frozen=True)
class Segment:
    """A stretch of time with one state; ``declaration_id`` None when the hours decide."""

    start: datetime
    end: datetime
    status: str
    reason: str | None  # a Reason value, OUTSIDE_HOURS, or None (open by the hours)
    declaration_id: str | None

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0


@dataclass(frozen=True)
class State:
    """One side's state at a moment, with when it began and (if known) when it ends."""

    status: str
    reason: str | None
    since: datetime | None  # None: before anything we know
    until: datetime | None  # None: no end known (until further notice)
    declaration_id: str | None
    declared: bool


def _in_force(periods: Sequence[Period], at: datetime) -> Period | None:
    """The declaration covering ``at``; the latest-starting one wins if several do."""
    covering = [p for p in periods if p.starts_at <= at and (p.ends_at is None or at < p.ends_at)]
    return max(covering, key=lambda p: p.starts_at, default=None)


def _state(period: Period | None, scheduled_open: bool) -> tuple[str, str | None, str | None]:
    if period is None:
        if scheduled_open:
            return Status.OPEN.value, None, None
        return Status.CLOSED.value, OUTSIDE_HOURS, None
    if period.status == Status.RESTRICTED and not scheduled_open:
        return Status.CLOSED.value, OUTSIDE_HOURS, None
    return period.status, period.reason, period.id


def timeline(
    periods: Iterable[Period], schedule: Schedule | None, start: datetime, end: datetime
) -> list[Segment]:
    """The states from ``start`` to ``end``, as consecutive segments (merged when equal)."""
    periods = list(periods)
    windows = schedule.windows(start, end) if schedule is not None else []
    cuts = {start, end}
    for p in periods:
        cuts.update(t for t in (p.starts_at, p.ends_at) if t is not None and start < t < end)
    for a, b in windows:
        cuts.update(t for t in (a, b) if start < t < end)
    points = sorted(cuts)
    out: list[Segment] = []
    for a, b in itertools.pairwise(points):
        scheduled = schedule is None or any(wa <= a < wb for wa, wb in windows)
        status, reason, decl = _state(_in_force(periods, a), scheduled)
        if out and (out[-1].status, out[-1].reason, out[-1].declaration_id) == (
            status,
            reason,
            decl,
        ):
            out[-1] = replace(out[-1], end=b)
        else:
            out.append(Segment(a, b, status, reason, decl))
    return out


def state_at(periods: Sequence[Period], schedule: Schedule | None, at: datetime) -> State:
    """One side's state at ``at``: status, reason, since when and until when."""
    at = within_calendar(at)
    segments = timeline(periods, schedule, shifted(at, -LOOKAROUND), shifted(at, LOOKAROUND))
    i = next(k for k, s in enumerate(segments) if s.start <= at < s.end)
    seg = segments[i]
    since = None if i == 0 else seg.start
    until = None if i == len(segments) - 1 else seg.end
    if seg.declaration_id is not None:
        # A declaration's own start and end are known exactly, beyond the look-around.
        p = next(p for p in periods if p.id == seg.declaration_id)
        if i == 0:
            since = p.starts_at
        if i == len(segments) - 1:
            until = p.ends_at
    declared = seg.declaration_id is not None
    return State(seg.status, seg.reason, since, until, seg.declaration_id, declared)


def next_opening(
    periods: Sequence[Period], schedule: Schedule | None, at: datetime
) -> datetime | None:
    """When the gate next opens (open or restricted) after ``at``; ``at`` itself if it is open.

    None when nothing scheduled opens it within ``HORIZON`` (closed until further notice).
    """
    at = within_calendar(at)
    for seg in timeline(periods, schedule, at, shifted(at, HORIZON)):
        if seg.status != Status.CLOSED:
            return seg.start
    return None


def combine(statuses: Iterable[str]) -> str:
    """A crossing as a traveller meets it: closed if either side is, restricted if either is."""
    values = set(statuses)
    for worst in (Status.CLOSED, Status.RESTRICTED):
        if worst.value in values:
            return worst.value
    return Status.OPEN.value


def fixed_zone(name: str, minutes: int) -> tzinfo:
    """A fixed-offset zone (tests and docs)."""
    return timezone(timedelta(minutes=minutes), name)
