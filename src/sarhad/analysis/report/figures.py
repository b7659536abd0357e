"""The monthly figures, each with its provenance, from plain rows (no database here).

Provenance: ``ours`` counts this node's records, ``partner`` the records partners shared with
us (as they shared them: withheld fields are zeros), ``joint`` counts *events*: records tied by
a confirmed link are one event, counted once (see :func:`joint_events` in ``collect``), and
the event's figures are those of our record when we have one, else the partner's.

Months are numbered 0..12 from the month a year before the report's month: 12 is the report's
month, 11 the month before, 0 the same month last year; 0..11 are the 12-month baseline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from sarhad.analysis.report.stats import MonthTest, unusual

PROVENANCES = ("ours", "partner", "joint")
PARTIES = ("sf", "civ", "asl")  # security forces, civilians, assailants
KINDS = ("killed", "injured", "detained")
CASUALTY_FIELDS = tuple(f"{p}_{k}" for p in PARTIES for k in KINDS)
MONTHS = 13
THIS, PREVIOUS, LAST_YEAR = 12, 11, 0

#: Normalised unit of each unit family: a seizure's quantity times the factor is in it.
UNIT_FAMILY: dict[str, tuple[str, float]] = {
    "g": ("kg", 0.001),
    "kg": ("kg", 1.0),
    "t": ("kg", 1000.0),
    "l": ("l", 1.0),
    "m3": ("l", 1000.0),
    "items": ("items", 1.0),
    "rounds": ("rounds", 1.0),
    "head": ("head", 1.0),
    # Money is not converted: no exchange rate is part of the record, so each currency is its
    # own family.
    "PKR": ("PKR", 1.0),
    "IRR": ("IRR", 1.0),
    "USD": ("USD", 1.0),
}


class Row(NamedTuple):
    """One incident as the report reads it (a named tuple: a month holds tens of thousands,
    and a tuple is made several times faster than a frozen dataclass)."""

    id: str
    month: int  # 0..12, see the module's docstring
    week: int  # week of the scan window (0 = oldest), -1 outside it
    category: str
    side: str  # where it happened: PK | IR | line
    sector: str | None
    km: float | None
    lon: float
    lat: float
    partner: bool  # received from a partner
    casualties: tuple[int, ...]  # in CASUALTY_FIELDS order
    seizures: tuple[tuple[str, str, float], ...] = ()  # (commodity, unit, quantity)


@dataclass(frozen=True)
class Trend:
    """One count of one provenance: the month, the month before, the baseline, a year ago."""

    dimension: str  # all | category | side | sector
    value: str
    provenance: str
    month: int
    previous: int
    last_year: int
    test: MonthTest


@dataclass
class Figures:
    """Everything the report's tables and charts show for one month."""

    month: str
    trends: list[Trend] = field(default_factory=list)
    #: provenance → (party, kind) → people, this month.
    casualties: dict[str, dict[str, int]] = field(default_factory=dict)
    #: provenance → (commodity, normalised unit) → quantity, this month.
    seizures: dict[str, dict[tuple[str, str], float]] = field(default_factory=dict)
    #: provenance → month index → incidents (for the trend chart).
    series: dict[str, list[int]] = field(default_factory=dict)
    #: events both sides reported, only we did, only a partner did (this month).
    both: int = 0
    only_ours: int = 0
    only_partner: int = 0


def month_start(month: str) -> datetime:
    """The first instant of ``YYYY-MM`` (UTC)."""
    y, m = (int(x) for x in month.split("-"))
    return datetime(y, m, 1, tzinfo=UTC)


def shift(month: str, by: int) -> str:
    """``YYYY-MM`` moved by ``by`` months.

    >>> shift("2025-01", -1), shift("2025-01", -12), shift("2024-12", 1)
    ('2024-12', '2024-01', '2025-01')
    """
    y, m = (int(x) for x in month.split("-"))
    k = y * 12 + (m - 1) + by
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


def by_provenance(rows: Sequence[Row], events: dict[str, str]) -> dict[str, list[Row]]:
    """The rows each provenance counts; ``joint`` has one representative row per event.

    The representative is our record where the event has one (the first by id), so that a
    linked pair is counted once and with the figures of the side that recorded it first-hand.
    """
    ours = [r for r in rows if not r.partner]
    partner = [r for r in rows if r.partner]
    chosen: dict[str, Row] = {}
    for r in sorted(rows, key=lambda r: (r.partner, r.id)):  # ours first
        chosen.setdefault(events.get(r.id, r.id), r)
    return {"ours": ours, "partner": partner, "joint": list(chosen.values())}


def _keys(rows: Sequence[Row], dimension: str) -> list[str]:
    """Each row's value of ``dimension`` (one comprehension per dimension: this runs over
    every row of 13 months, four dimensions and three provenances)."""
    if dimension == "all":
        return ["all"] * len(rows)
    if dimension == "category":
        return [r.category for r in rows]
    if dimension == "side":
        return [r.side for r in rows]
    return [r.sector or "-" for r in rows]


def trends(rows: Sequence[Row], provenance: str, dimension: str) -> list[Trend]:
    """One :class:`Trend` per value of ``dimension`` seen in the 13 months."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * MONTHS)
    for key, month in zip(_keys(rows, dimension), [r.month for r in rows], strict=True):
        counts[key][month] += 1
    out = []
    for value in sorted(counts):
        c = counts[value]
        out.append(
            Trend(
                dimension,
                value,
                provenance,
                c[THIS],
                c[PREVIOUS],
                c[LAST_YEAR],
                unusual(c[THIS], c[:THIS]),
            )
        )
    return out


def compute(month: str, rows: Sequence[Row], events: dict[str, str]) -> Figures:
    """The month's figures for every provenance (``events``: record id → event key)."""
    fig = Figures(month=month)
    per = by_provenance(rows, events)
    for prov in PROVENANCES:
        chosen = per[prov]
        for dim in ("all", "category", "side", "sector"):
            fig.trends.extend(trends(chosen, prov, dim))
        series = [0] * MONTHS
        cas = dict.fromkeys(CASUALTY_FIELDS, 0)
        seized: dict[tuple[str, str], float] = defaultdict(float)
        for r in chosen:
            series[r.month] += 1
            if r.month != THIS:
                continue
            for name, n in zip(CASUALTY_FIELDS, r.casualties, strict=True):
                cas[name] += n
            for commodity, unit, qty in r.seizures:
                family, factor = UNIT_FAMILY.get(unit, (unit, 1.0))
                seized[(commodity, family)] += qty * factor
        fig.series[prov] = series
        fig.casualties[prov] = cas
        fig.seizures[prov] = dict(sorted(seized.items()))
    # Events of this month: who reported them.
    sides: dict[str, set[bool]] = defaultdict(set)
    for r in rows:
        if r.month == THIS:
            sides[events.get(r.id, r.id)].add(r.partner)
    fig.both = sum(1 for s in sides.values() if len(s) == 2)
    fig.only_ours = sum(1 for s in sides.values() if s == {False})
    fig.only_partner = sum(1 for s in sides.values() if s == {True})
    return fig
