"""The crossings report's figures: result shapes and pure functions (plain data in, figures out).

Every figure is per crossing or market, per side and per month, with the month and its days
taken in **that side's local time** (PKT for PK, IRST for IR): staff read "days closed" in
their own days. ``report`` reads the rows and calls these; ``export`` gives the CSV, GeoJSON
and PNG forms. Definitions: docs/crossings-report.md.

>>> parse_month("2026-10")
(2026, 10)
>>> lag_stats([5.0, 12.0], 48.0).median_h
8.5
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import numpy as np
from pydantic import BaseModel

from sarhad.core.config import Settings
from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import message
from sarhad.crossings.taxonomy import Reason, Status
from sarhad.crossings.timeline import Schedule, Segment

#: Days of throughput compared before a closure starts and after it ends.
WINDOW_DAYS = 7


#: Edges (hours) of the lag histogram; cut at the configured window, which is the last edge.
LAG_EDGES_H = (0.0, 1.0, 3.0, 6.0, 12.0, 24.0, 48.0, 72.0, 96.0, 168.0, 336.0, 720.0)


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class ReportParams:
    """What the report depends on besides the data (from settings)."""

    incident_km: float = 25.0
    incident_hours: float = 48.0
    seizure_km: float = 10.0
    window_days: int = WINDOW_DAYS

    @classmethod
    def from_settings(cls, s: Settings) -> ReportParams:
        return cls(
            incident_km=s.crossing_incident_km,
            incident_hours=s.crossing_incident_hours,
            seizure_km=s.crossing_seizure_km,
        )


class LagBin(BaseModel):
    """Closures whose lag after the incident fell in [lo_h, hi_h) (the last bin includes hi_h)."""

    lo_h: float
    hi_h: float
    count: int


class LagStats(BaseModel):
    """Distribution of hours from an incident to the closure that followed it."""

    count: int
    median_h: float | None
    q1_h: float | None
    q3_h: float | None
    min_h: float | None
    max_h: float | None
    bins: list[LagBin]


class IncidentLink(BaseModel):
    """The incident a closure followed: the latest one within the distance and time limits."""

    incident_id: str
    category: str
    occurred_at: datetime
    distance_km: float
    lag_hours: float


class Flow(BaseModel):
    """Mean daily throughput over the local days ``first``..``last`` that had data."""

    first: date
    last: date
    days: int
    days_with_data: int
    vehicles: float | None  # None: no day had data
    trucks: float | None
    pedestrians: float | None
    fuel_litres: float | None
    goods_value: dict[str, float]  # per currency, as declared (never converted)


class Closure(BaseModel):
    """A declared closure that started in the month, with what preceded and followed it."""

    declaration_id: str
    reason: str
    starts_at: datetime
    ends_at: datetime | None  # None: until further notice
    hours_in_month: float
    declared_incident_ids: list[str]
    incident: IncidentLink | None
    before: Flow
    after: Flow


class Day(BaseModel):
    """One local day of one side."""

    day: date
    scheduled: bool  # a regular opening day (every day when no hours are set)
    opened: bool  # open or restricted at some moment of its regular window
    closed: bool  # a declared closure covered all of its regular window
    any_closure: bool  # a declared closure covered part of its regular window
    reason: str | None  # the reason covering most of the window, on a day with a closure
    closed_hours: float  # wall-clock hours of declared closure in the day
    window_closed_hours: float  # hours of the regular window under a declared closure
    vehicles: int | None  # None: no throughput recorded for the day
    trucks: int | None
    pedestrians: int | None


class SideMonth(BaseModel):
    """One side's month at one crossing or market."""

    crossing: str
    kind: str
    name: str
    side: str
    ours: bool
    known: bool  # False: nothing from this side (no hours, declarations or throughput)
    time_zone: str
    start: datetime  # the local month, in UTC
    end: datetime
    hours_set: bool
    hours_closed: dict[str, float]  # declared closed, by reason (wall-clock hours)
    hours_closed_total: float
    hours_restricted: dict[str, float]  # declared restricted within regular hours, by reason
    hours_restricted_total: float
    open_hours_lost: float  # regular opening hours under a declared closure
    days_closed: dict[str, int]
    days_closed_total: int
    days_any_closure: int
    scheduled_days: int
    days_opened: int
    opened_share: float | None  # days_opened / scheduled_days; None without scheduled days
    closures: list[Closure]
    closures_after_incident: int
    lags: LagStats
    throughput: Flow  # the month's mean daily throughput
    seizures: list[dict[str, Any]]
    days: list[Day]


class CrossingsReport(BaseModel):
    """The month at every crossing and market asked for, both sides."""

    month: str
    node_side: str
    incident_km: float
    incident_hours: float
    seizure_km: float
    window_days: int
    items: list[SideMonth]
    lags: LagStats  # over every closure of every item


def parse_month(text: str) -> tuple[int, int]:
    """``YYYY-MM`` → (year, month); an error naming ``month`` otherwise."""
    m = _MONTH.match(text.strip()) if text else None
    if m is None or not (1 <= int(m[2]) <= 12) or not (1900 <= int(m[1]) <= 2999):
        raise InvalidInput(
            FieldError.of(
                "month", message("analysis.not_month", "{text} is not a month", text=repr(text))
            ),
            hint=message("analysis.not_month.hint", "write YYYY-MM, e.g. 2026-10"),
        )
    return int(m[1]), int(m[2])


def month_days(year: int, month: int) -> tuple[date, date]:
    """The first and last date of a calendar month."""
    first = date(year, month, 1)
    after = date(year + month // 12, month % 12 + 1, 1)
    return first, after - timedelta(days=1)


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """00:00 of a local day, in UTC."""
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def regular_window(
    day: date, schedule: Schedule | None, tz: tzinfo
) -> tuple[datetime, datetime] | None:
    """The day's regular opening (UTC); the whole day without hours; None on a closed weekday."""
    if schedule is None:
        return local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
    if day.weekday() not in schedule.days:
        return None
    midnight = datetime.combine(day, time(0), tz)
    opens = datetime.combine(day, schedule.opens, tz)
    closes = midnight + timedelta(minutes=schedule.closes_min)
    return opens.astimezone(UTC), closes.astimezone(UTC)


def _overlap_h(a0: datetime, a1: datetime, b0: datetime, b1: datetime) -> float:
    return max(0.0, (min(a1, b1) - max(a0, b0)).total_seconds() / 3600.0)


def declared_closed(seg: Segment) -> bool:
    """A declared closure (regular closing, ``outside_hours``, is not one)."""
    return seg.status == Status.CLOSED and seg.declaration_id is not None


def hours_by_reason(segments: Iterable[Segment], status: str) -> dict[str, float]:
    """Hours of declared ``status`` by reason (outside-hours closing left out)."""
    out: dict[str, float] = defaultdict(float)
    for s in segments:
        if s.status == status and s.declaration_id is not None:
            out[s.reason or Reason.OTHER.value] += s.hours
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class Counts:
    """One day's throughput as plain data."""

    vehicles: int
    trucks: int
    pedestrians: int
    fuel_litres: float
    goods: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


def day_figures(
    segments: Sequence[Segment],
    schedule: Schedule | None,
    tz: tzinfo,
    first: date,
    last: date,
    counts: Mapping[date, Counts],
) -> list[Day]:
    """Each local day from ``first`` to ``last``: scheduled, opened, closed, and its traffic."""
    out = []
    for i in range((last - first).days + 1):
        d = first + timedelta(days=i)
        d0, d1 = local_midnight(d, tz), local_midnight(d + timedelta(days=1), tz)
        window = regular_window(d, schedule, tz)
        by_reason: dict[str, float] = defaultdict(float)
        closed_hours, covered, opened = 0.0, 0.0, False
        for s in segments:
            if s.end <= d0 or s.start >= d1:
                continue
            if declared_closed(s):
                closed_hours += _overlap_h(s.start, s.end, d0, d1)
            if window is None:
                continue
            h = _overlap_h(s.start, s.end, *window)
            if declared_closed(s) and h > 0:
                covered += h
                by_reason[s.reason or Reason.OTHER.value] += h
            elif s.status != Status.CLOSED and h > 0:
                opened = True
        length = (window[1] - window[0]).total_seconds() / 3600.0 if window else 0.0
        c = counts.get(d)
        out.append(
            Day(
                day=d,
                scheduled=window is not None,
                opened=opened,
                closed=window is not None and covered >= length - 1e-9,
                any_closure=covered > 0,
                # The reason that took most of the window; ties go to the first in the day.
                reason=max(by_reason, key=lambda r: by_reason[r]) if by_reason else None,
                closed_hours=closed_hours,
                window_closed_hours=covered,
                vehicles=c.vehicles if c else None,
                trucks=c.trucks if c else None,
                pedestrians=c.pedestrians if c else None,
            )
        )
    return out


def flow(counts: Mapping[date, Counts], first: date, last: date) -> Flow:
    """Mean daily throughput over the days ``first``..``last`` that had data."""
    n = (last - first).days + 1
    days = [c for i in range(n) if (c := counts.get(first + timedelta(days=i))) is not None]
    k = len(days)
    values: dict[str, float] = defaultdict(float)
    for c in days:
        for g in c.goods:
            if g.get("value") is not None and g.get("currency"):
                values[str(g["currency"])] += float(g["value"])

    def mean(attr: str) -> float | None:
        return sum(getattr(c, attr) for c in days) / k if k else None

    return Flow(
        first=first,
        last=last,
        days=n,
        days_with_data=k,
        vehicles=mean("vehicles"),
        trucks=mean("trucks"),
        pedestrians=mean("pedestrians"),
        fuel_litres=mean("fuel_litres"),
        goods_value={cur: v / k for cur, v in sorted(values.items())},
    )


def around(
    start: datetime, end: datetime, tz: tzinfo, n: int
) -> tuple[tuple[date, date], tuple[date, date]]:
    """The ``n`` whole local days before ``start`` and the ``n`` whole local days after ``end``."""
    s = start.astimezone(tz)
    e = end.astimezone(tz)
    first_after = e.date() if e.time() == time(0) else e.date() + timedelta(days=1)
    before = (s.date() - timedelta(days=n), s.date() - timedelta(days=1))
    return before, (first_after, first_after + timedelta(days=n - 1))


@dataclass(frozen=True)
class NearIncident:
    """An incident as plain data, with its distance to the place in question."""

    id: str
    category: str
    occurred_at: datetime
    distance_km: float


def followed(
    start: datetime, incidents: Iterable[NearIncident], *, within_km: float, within_hours: float
) -> IncidentLink | None:
    """The latest incident at most ``within_hours`` before ``start`` and ``within_km`` away."""
    best: tuple[float, float, NearIncident] | None = None
    for inc in incidents:
        lag = (start - inc.occurred_at).total_seconds() / 3600.0
        if inc.distance_km <= within_km and 0.0 <= lag <= within_hours:
            key = (lag, inc.distance_km, inc)
            if best is None or key[:2] < best[:2]:
                best = key
    if best is None:
        return None
    lag, km, inc = best
    return IncidentLink(
        incident_id=inc.id,
        category=inc.category,
        occurred_at=inc.occurred_at,
        distance_km=km,
        lag_hours=lag,
    )


def lag_stats(lags: Sequence[float], window_hours: float) -> LagStats:
    """Count, quartiles (linear interpolation), min, max and histogram of lags in hours."""
    edges = [e for e in LAG_EDGES_H if e < window_hours] + [window_hours]
    hist = np.histogram(np.asarray(lags, dtype=float), bins=edges)[0] if lags else None
    bins = [
        LagBin(lo_h=lo, hi_h=hi, count=int(hist[i]) if hist is not None else 0)
        for i, (lo, hi) in enumerate(itertools.pairwise(edges))
    ]
    if not lags:
        return LagStats(
            count=0, median_h=None, q1_h=None, q3_h=None, min_h=None, max_h=None, bins=bins
        )
    q1, med, q3 = (float(v) for v in np.percentile(lags, [25, 50, 75]))
    return LagStats(
        count=len(lags),
        median_h=med,
        q1_h=q1,
        q3_h=q3,
        min_h=float(min(lags)),
        max_h=float(max(lags)),
        bins=bins,
    )
