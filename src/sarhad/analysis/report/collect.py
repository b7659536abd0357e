"""What the monthly report reads from the database: incidents, confirmed links, cooperation.

Every count the report prints comes from here through :mod:`figures`; tests query the same
tables directly and compare with what pdftotext reads back from the PDF.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.alerts.metrics import MonthSide, alert_stats
from sarhad.analysis.crossings.figures import ReportParams
from sarhad.analysis.crossings.report import month_report
from sarhad.analysis.report.figures import CASUALTY_FIELDS, MONTHS, Row, month_start, shift
from sarhad.analysis.report.ports import Shared
from sarhad.border import BorderProfile
from sarhad.core.errors import NotFound
from sarhad.core.markings import TLP
from sarhad.incidents.links import twins_among
from sarhad.incidents.models import Incident, SeizureRow
from sarhad.sharing import service as sharing
from sarhad.sharing.policy import SharableRecord, decide

#: Weeks of the space-time scan: the 13 weeks that end with the report's month.
SCAN_WEEKS = 13
WEEK_S = 7 * 86400


def joint_events(session: Session, ids: Sequence[str]) -> dict[str, str]:
    """Record id → event key (our record's id): a partner's record CONFIRMED as the twin of
    one of ours is the same event. The counting rule is the links room's
    (:func:`sarhad.incidents.links.twins_among`), the same one risk uses; records absent from
    the map are their own event."""
    twins = twins_among(session, ids)
    return {**{o: o for o in twins.values()}, **twins}


def incident_rows(session: Session, *, month: str) -> list[Row]:
    """The incidents of the 13 months that end with ``month`` (drafts and withdrawn left out)."""
    first = month_start(shift(month, -12))
    end = month_start(shift(month, 1))
    scan_start = end.timestamp() - SCAN_WEEKS * WEEK_S
    q = (
        select(
            Incident.id, Incident.occurred_at, Incident.category, Incident.side,
            Incident.sector_id, Incident.km, Incident.lon, Incident.lat,
            Incident.origin_node_id, *(getattr(Incident, f) for f in CASUALTY_FIELDS),
        )
        .where(
            Incident.revoked.is_(False),
            Incident.status != "draft",
            Incident.occurred_at >= first,
            Incident.occurred_at < end,
        )
    )  # fmt: skip
    seized: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    this = month_start(month)
    for incident_id, commodity, unit, qty in session.execute(
        select(SeizureRow.incident_id, SeizureRow.commodity, SeizureRow.unit, SeizureRow.quantity)
        .join(Incident, Incident.id == SeizureRow.incident_id)
        .where(Incident.occurred_at >= this, Incident.occurred_at < end)
    ):
        seized[incident_id].append((commodity, unit, qty))
    base = first.year * 12 + first.month - 1
    out = []
    for r in session.execute(q):
        at: datetime = r[1]
        ts = at.timestamp()
        week = int((ts - scan_start) // WEEK_S) if ts >= scan_start else -1
        out.append(
            Row(
                id=r[0], month=at.year * 12 + at.month - 1 - base, week=min(week, SCAN_WEEKS - 1),
                category=r[2], side=r[3], sector=r[4], km=r[5], lon=r[6], lat=r[7],
                partner=r[8] is not None, casualties=tuple(int(x or 0) for x in r[9:]),
                seizures=tuple(seized.get(r[0], ())),
            )
        )  # fmt: skip
    assert all(0 <= r.month < MONTHS for r in out)
    return out


# --- cooperation ---------------------------------------------------------------------------


def _median_h(values: list[float]) -> float | None:
    return round(statistics.median(values) / 3600, 1) if values else None


#: decide() explains in words; the report counts by code (never the record's content).
_REASON_CODES = (
    ("agreement expired", "agreement_expired"),
    ("category", "category"),
    ("far from the line", "far_from_line"),
    ("sector", "sector"),
    ("status", "status"),
    ("received from", "forwarding"),
    ("held until", "release_delay"),
)


def reason_code(text: str) -> str:
    """The code of one of ``sharing.policy.decide``'s reasons (``marking`` for TLP rules)."""
    for prefix, code in _REASON_CODES:
        if text.startswith(prefix):
            return code
    return "marking"


@dataclass
class Cooperation:
    """How the two sides worked together in the month."""

    sent: dict[str, int] = field(default_factory=dict)  # partner → records first shared
    sent_delay_h: dict[str, float | None] = field(default_factory=dict)  # median, after event
    received: int = 0
    received_delay_h: float | None = None
    withheld: dict[str, dict[str, int]] = field(default_factory=dict)  # partner → code → n
    alerts: list[MonthSide] = field(default_factory=list)
    days_closed: dict[str, int] = field(default_factory=dict)  # reason → crossing-days
    crossings_known: bool = False


def cooperation(
    session: Session, *, month: str, profile: BorderProfile, node_side: str,
    crossing_params: ReportParams,
    shared: Callable[[Session, datetime, datetime], list[Shared]],
) -> Cooperation:  # fmt: skip
    """Records shared each way and how fast, withheld by reason, alerts, crossing closures."""
    start, end = month_start(month), month_start(shift(month, 1))
    co = Cooperation()
    # Sent: the first version of each incident put in a partner's collection this month.
    sent = shared(session, start, end)
    occurred = dict(
        session.execute(
            select(Incident.id, Incident.occurred_at).where(
                Incident.id.in_([incident_id for _, incident_id, _ in sent])
            )
        ).all()
    )
    delays: dict[str, list[float]] = defaultdict(list)
    for title, incident_id, added in sent:
        co.sent[title] = co.sent.get(title, 0) + 1
        at = occurred.get(incident_id)
        if at is not None:
            delays[title].append(max(0.0, (added - at).total_seconds()))
    co.sent_delay_h = {t: _median_h(v) for t, v in delays.items()}
    # Received: partners' records first stored here this month.
    got = session.execute(
        select(Incident.created_at, Incident.occurred_at).where(
            Incident.origin_node_id.is_not(None),
            Incident.created_at >= start,
            Incident.created_at < end,
        )
    ).all()
    co.received = len(got)
    co.received_delay_h = _median_h([max(0.0, (c - o).total_seconds()) for c, o in got])
    # Withheld: our records of the month the agreement kept from each partner, by reason.
    ours = session.execute(
        select(
            Incident.id,
            Incident.category,
            Incident.sector_id,
            Incident.status,
            Incident.tlp,
            Incident.occurred_at,
        ).where(
            Incident.origin_node_id.is_(None),
            Incident.status != "draft",
            Incident.occurred_at >= start,
            Incident.occurred_at < end,
        )
    ).all()
    for partner in sharing.list_partners(session):
        try:
            terms = sharing.terms_for(session, partner=partner)
        except NotFound:  # only hand-edited databases lack one: nothing is shared
            continue
        codes: Counter[str] = Counter()
        for r in ours:
            record = SharableRecord(r[0], r[1], r[2], r[3], TLP(r[4]), r[5])
            d = decide(record, terms, now=end)
            for text in d.reasons:
                codes[reason_code(text)] += 1
        co.withheld[partner.name] = dict(sorted(codes.items()))
    co.alerts = alert_stats(session, month=month)
    report = month_report(
        session, profile=profile, params=crossing_params, month=month, node_side=node_side
    )
    closed: Counter[str] = Counter()
    for item in report.items:
        co.crossings_known |= item.known
        for reason, days in item.days_closed.items():
            closed[reason] += days
    co.days_closed = dict(sorted(closed.items()))
    return co


def as_dict(obj: Any) -> Any:
    """A plain JSON-able view (dataclasses and tuples-keyed dicts flattened)."""
    from dataclasses import asdict, is_dataclass

    if is_dataclass(obj) and not isinstance(obj, type):
        return as_dict(asdict(obj))
    if isinstance(obj, dict):
        return {
            ("/".join(k) if isinstance(k, tuple) else str(k)): as_dict(v) for k, v in obj.items()
        }
    if isinstance(obj, list | tuple):
        return [as_dict(v) for v in obj]
    return obj
