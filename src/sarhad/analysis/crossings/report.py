"""The monthly crossings report from the database: closures by reason, closures after
incidents, throughput around closures, and scheduled (market) days on which the gate opened.

``month_report`` reads the declarations, hours, throughput and incidents of one month and
hands them to the pure functions of ``figures``. Definitions: docs/crossings-report.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from pyproj import Geod
from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.analysis.crossings.figures import (
    Closure,
    Counts,
    CrossingsReport,
    NearIncident,
    ReportParams,
    SideMonth,
    around,
    day_figures,
    flow,
    followed,
    hours_by_reason,
    lag_stats,
    local_midnight,
    month_days,
    parse_month,
)
from sarhad.border import BorderProfile
from sarhad.border.model import Place
from sarhad.core.db import utcnow
from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import message
from sarhad.crossings import flows
from sarhad.crossings.declarations import declarations_of
from sarhad.crossings.declarations import periods as side_periods
from sarhad.crossings.hours import schedule as side_schedule
from sarhad.crossings.places import place, places, zone_label
from sarhad.crossings.taxonomy import Reason, Status
from sarhad.crossings.timeline import timeline
from sarhad.incidents import links
from sarhad.incidents.models import Incident

_GEOD = Geod(ellps="WGS84")


def _counts(
    session: Session, crossing_id: str, side: str, first: date, last: date
) -> dict[date, Counts]:
    rows = flows.list_throughput(
        session, crossing_id=crossing_id, side=side, first=first, last=last
    )
    return {
        r.day: Counts(r.vehicles, r.trucks, r.pedestrians, r.fuel_litres, tuple(r.goods or ()))
        for r in rows
    }


def _incidents(session: Session, start: datetime, end: datetime) -> list[tuple[Any, ...]]:
    """Incidents (any status but revoked) that could precede a closure starting in [start, end)."""
    return list(
        session.execute(
            select(Incident.id, Incident.category, Incident.occurred_at, Incident.lon, Incident.lat)
            .where(
                Incident.revoked.is_(False),
                ~links.confirmed_twin(),  # count once: a confirmed pair is our record
                Incident.occurred_at >= start,
                Incident.occurred_at < end,
            )
            .order_by(Incident.occurred_at)
        ).all()
    )


def _near(rows: Sequence[tuple[Any, ...]], where: Place) -> list[NearIncident]:
    """The incidents with their geodesic distance (WGS84) to the place's point."""
    if not rows:
        return []
    lons = np.array([r[3] for r in rows], dtype=float)
    lats = np.array([r[4] for r in rows], dtype=float)
    _, _, dist_m = _GEOD.inv(
        np.full_like(lons, where.lon), np.full_like(lats, where.lat), lons, lats
    )
    return [
        NearIncident(r[0], r[1], r[2], float(d) / 1000.0)
        for r, d in zip(rows, np.atleast_1d(dist_m), strict=True)
    ]


def side_month(
    session: Session,
    *,
    profile: BorderProfile,
    params: ReportParams,
    where: Place,
    side: str,
    year: int,
    month: int,
    node_side: str,
    incidents: Sequence[tuple[Any, ...]],
    until: datetime | None = None,
) -> SideMonth:
    """One side's month at one crossing or market (up to the last local day ended by ``until``)."""
    tz = profile.local_time(side)
    first, last = month_days(year, month)
    if until is not None:
        # A month in progress counts only the local days that have ended: an open-ended
        # closure must not fill the rest of the month with hours that have not happened.
        last = min(last, until.astimezone(tz).date() - timedelta(days=1))
    start = local_midnight(first, tz)
    end = max(start, local_midnight(last + timedelta(days=1), tz))
    sched = side_schedule(session, profile, where.id, side)
    periods = side_periods(session, crossing_id=where.id, side=side)
    segments = timeline(periods, sched, start, end)
    rows = declarations_of(session, crossing_id=where.id, side=side)
    started = [
        r for r in rows if r.status == Status.CLOSED and start <= r.starts_at < end
    ]  # a closure running in from last month was reported (with its incident) then
    n = params.window_days
    spans = {r.id: around(r.starts_at, r.ends_at or end, tz, n) for r in started}
    lo = min([first - timedelta(days=n)] + [b[0] for b, _ in spans.values()])
    hi = max([last] + [a[1] for _, a in spans.values()])
    counts = _counts(session, where.id, side, lo, hi)
    near = _near(incidents, where)
    closures = []
    for r in started:
        (b0, b1), (a0, a1) = spans[r.id]
        closures.append(
            Closure(
                declaration_id=r.id,
                reason=r.reason,
                starts_at=r.starts_at,
                ends_at=r.ends_at,
                hours_in_month=sum(s.hours for s in segments if s.declaration_id == r.id),
                declared_incident_ids=list(r.incident_ids or []),
                incident=followed(
                    r.starts_at,
                    near,
                    within_km=params.incident_km,
                    within_hours=params.incident_hours,
                ),
                before=flow(counts, b0, b1),
                after=flow(counts, a0, a1),
            )
        )
    days = day_figures(segments, sched, tz, first, last, counts)
    closed = hours_by_reason(segments, Status.CLOSED)
    restricted = hours_by_reason(segments, Status.RESTRICTED)
    days_closed: dict[str, int] = defaultdict(int)
    for d in days:
        if d.closed:
            days_closed[d.reason or Reason.OTHER.value] += 1
    scheduled = sum(d.scheduled for d in days)
    opened = sum(d.scheduled and d.opened for d in days)
    lags = [c.incident.lag_hours for c in closures if c.incident is not None]
    month_flow = flow(counts, first, last)
    return SideMonth(
        crossing=where.id,
        kind=where.kind,
        name=where.name("en"),
        side=side,
        ours=side == node_side,
        known=sched is not None or bool(rows) or month_flow.days_with_data > 0,
        time_zone=zone_label(profile, side),
        start=start,
        end=end,
        hours_set=sched is not None,
        hours_closed=closed,
        hours_closed_total=sum(closed.values()),
        hours_restricted=restricted,
        hours_restricted_total=sum(restricted.values()),
        open_hours_lost=sum(d.window_closed_hours for d in days),
        days_closed=dict(sorted(days_closed.items())),
        days_closed_total=sum(days_closed.values()),
        days_any_closure=sum(d.any_closure for d in days),
        scheduled_days=scheduled,
        days_opened=opened,
        opened_share=opened / scheduled if scheduled else None,
        closures=closures,
        closures_after_incident=len(lags),
        lags=lag_stats(lags, params.incident_hours),
        throughput=month_flow,
        seizures=flows.seizures_near(
            session,
            profile=profile,
            crossing_id=where.id,
            start=start,
            end=end,
            within_km=params.seizure_km,
        ),
        days=days,
    )


def month_report(
    session: Session,
    *,
    profile: BorderProfile,
    params: ReportParams,
    month: str,
    node_side: str,
    crossing: str | None = None,
    side: str | None = None,
    now: datetime | None = None,
) -> CrossingsReport:
    """The month at every crossing and market (or one), for both sides (or one).

    A month not yet over is reported up to the last local day that has ended before ``now``.
    """
    now = now or utcnow()
    problems: list[FieldError] = []
    try:
        year, mon = parse_month(month)
    except InvalidInput as exc:
        problems += exc.errors
    wanted = places(profile)
    if crossing:
        try:
            wanted = [place(profile, crossing)]
        except InvalidInput as exc:
            problems += exc.errors
    sides = list(profile.sides)
    if side:
        if side.upper() not in sides:
            problems.append(
                FieldError.of(
                    "side",
                    message(
                        "analysis.side",
                        "{side}: use {sides}",
                        side=repr(side),
                        sides=" or ".join(sides),
                    ),
                )
            )
        sides = [side.upper()]
    if problems:
        raise InvalidInput(problems)
    first, last = month_days(year, mon)
    # Wide enough for any side's local month, reaching back over the incident window.
    lookback = timedelta(hours=params.incident_hours) + timedelta(days=1)
    incidents = _incidents(
        session,
        datetime.combine(first, time(0), UTC) - lookback,
        datetime.combine(last, time(0), UTC) + timedelta(days=2),
    )
    items = [
        side_month(
            session,
            profile=profile,
            params=params,
            where=p,
            side=s,
            year=year,
            month=mon,
            node_side=node_side,
            incidents=incidents,
            until=now,
        )
        for p in wanted
        for s in sides
    ]
    lags = [c.incident.lag_hours for i in items for c in i.closures if c.incident is not None]
    return CrossingsReport(
        month=f"{year:04d}-{mon:02d}",
        node_side=node_side,
        incident_km=params.incident_km,
        incident_hours=params.incident_hours,
        seizure_km=params.seizure_km,
        window_days=params.window_days,
        items=items,
        lags=lag_stats(lags, params.incident_hours),
    )
