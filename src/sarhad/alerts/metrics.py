"""Alert response metrics per month and sending side: volumes, delays and answers in time.

A node holds its outbound and inbound alerts with the times each side declared, so both
nodes compute the same figures for both sides.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.alerts.models import Alert
from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import message

_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
_SIDE = re.compile(r"[A-Z]{2}")

#: Columns of ``stats_rows`` and ``stats_csv``, in order.
COLUMNS = (
    "month",
    "side",
    "sent",
    "acknowledged",
    "answered",
    "ack_p50_min",
    "ack_p90_min",
    "answer_p50_min",
    "answer_p90_min",
    "answered_in_time",
    "in_time_share",
    "pending",
)


@dataclass(frozen=True)
class MonthSide:
    """The figures of the alerts one side sent in one month (durations in seconds).

    ``sent`` counts every alert raised, withdrawn ones included. ``in_time_share`` is the
    share answered by ``answer_by`` among the alerts that could still be answered: an alert
    withdrawn before it was answered (never answered, or answered only after the withdrawal)
    leaves both the numerator and the denominator, and so does a *pending* alert (not answered,
    not withdrawn, its deadline still ahead): it may yet be answered in time, so counting it
    either way would be a guess. ``pending`` counts those apart. The share is ``None`` when
    nothing is left. ``answered_in_time`` counts every alert answered by its deadline,
    withdrawn or not.
    """

    month: str  # "YYYY-MM" of created_at, UTC
    side: str  # from_side: the side that sent the alerts
    sent: int
    acknowledged: int
    answered: int
    ack_p50_s: float | None  # created_at → acknowledged_at, acknowledged alerts only
    ack_p90_s: float | None
    answer_p50_s: float | None  # created_at → answered_at, answered alerts only
    answer_p90_s: float | None
    answered_in_time: int  # answered_at <= answer_by
    in_time_share: float | None
    pending: int = 0  # unanswered, not withdrawn, answer_by still ahead: not in the share


def _month_start(month: str) -> datetime:
    m = _MONTH.fullmatch(month)
    if m is None:
        raise InvalidInput(
            FieldError.of(
                "month",
                message(
                    "alerts.bad_month",
                    "{month} is not a month: use YYYY-MM",
                    month=repr(month[:20]),
                ),
            )
        )
    return datetime(int(m[1]), int(m[2]), 1, tzinfo=UTC)


def _next_month(start: datetime) -> datetime:
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def _check_side(side: str) -> str:
    code = side.strip().upper()
    if _SIDE.fullmatch(code) is None:
        raise InvalidInput(
            FieldError.of(
                "side",
                message(
                    "alerts.bad_side", "{side} is not an ISO2 code such as PK", side=repr(side[:20])
                ),
            )
        )
    return code


def _pct(values: list[float], q: float) -> float | None:
    """The q-th percentile (numpy's "linear" method, the default), or None with no values."""
    if not values:
        return None
    return float(np.percentile(values, q, method="linear"))


@dataclass
class _Tally:
    sent: int = 0
    ack_s: list[float] = field(default_factory=list)
    answer_s: list[float] = field(default_factory=list)
    in_time: int = 0  # answered by the deadline
    eligible: int = 0  # not withdrawn before an answer: the share's denominator
    eligible_in_time: int = 0
    pending: int = 0


def alert_stats(
    session: Session,
    *,
    month: str | None = None,
    side: str | None = None,
    now: datetime | None = None,
) -> list[MonthSide]:
    """One row per (month, sending side), sorted by month then side; filters are optional.

    ``now`` (default: the clock) decides which unanswered alerts are still pending.

    Raises ``InvalidInput`` naming ``month`` (not ``YYYY-MM``) or ``side`` (not ISO2).
    """
    q = select(
        Alert.created_at,
        Alert.from_side,
        Alert.acknowledged_at,
        Alert.answered_at,
        Alert.answer_by,
        Alert.withdrawn_at,
    )
    if month is not None:
        start = _month_start(month)
        q = q.where(Alert.created_at >= start, Alert.created_at < _next_month(start))
    if side is not None:
        q = q.where(Alert.from_side == _check_side(side))
    tallies: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    now = now or datetime.now(UTC)
    for created, from_side, acked, answered, answer_by, withdrawn in session.execute(q):
        t = tallies[(created.astimezone(UTC).strftime("%Y-%m"), from_side)]
        t.sent += 1
        if acked is not None:
            t.ack_s.append((acked - created).total_seconds())
        in_time = answered is not None and answered <= answer_by
        if answered is not None:
            t.answer_s.append((answered - created).total_seconds())
            t.in_time += int(in_time)
        if answered is None and withdrawn is None and _aware(answer_by) > now:
            t.pending += 1
        elif withdrawn is None or (answered is not None and answered <= withdrawn):
            t.eligible += 1
            t.eligible_in_time += int(in_time)
    return [
        MonthSide(
            month=m,
            side=s,
            sent=t.sent,
            acknowledged=len(t.ack_s),
            answered=len(t.answer_s),
            ack_p50_s=_pct(t.ack_s, 50),
            ack_p90_s=_pct(t.ack_s, 90),
            answer_p50_s=_pct(t.answer_s, 50),
            answer_p90_s=_pct(t.answer_s, 90),
            answered_in_time=t.in_time,
            in_time_share=t.eligible_in_time / t.eligible if t.eligible else None,
            pending=t.pending,
        )
        for (m, s), t in sorted(tallies.items())
    ]


def _aware(at: datetime) -> datetime:
    """SQLite hands back naive datetimes: they are UTC."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def stats_rows(rows: list[MonthSide]) -> list[dict[str, object]]:
    """Plain dicts for JSON or CSV: durations in minutes (0.1), the share to 3 decimals."""
    return [
        {
            "month": r.month,
            "side": r.side,
            "sent": r.sent,
            "acknowledged": r.acknowledged,
            "answered": r.answered,
            "ack_p50_min": _minutes(r.ack_p50_s),
            "ack_p90_min": _minutes(r.ack_p90_s),
            "answer_p50_min": _minutes(r.answer_p50_s),
            "answer_p90_min": _minutes(r.answer_p90_s),
            "answered_in_time": r.answered_in_time,
            "in_time_share": None if r.in_time_share is None else round(r.in_time_share, 3),
            "pending": r.pending,
        }
        for r in rows
    ]


def stats_csv(rows: list[MonthSide]) -> str:
    """CSV text with a header line; a missing figure is an empty cell."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(stats_rows(rows))
    return out.getvalue()
