"""Plausible times: one rule for every record's event times, and dates typed on the CLI.

* An event time (when an incident happened, when a partner took a step, a day of throughput)
  lies between :data:`TIME_FLOOR` and now plus :data:`CLOCK_SKEW` (the sender's clock may run a
  little ahead of ours; a record from next week cannot be a report of what happened).
* A planned time (a crossing closure announced ahead, an alert's validity) may lie in the
  future, but not beyond :data:`PLAN_HORIZON` from now, and not before the floor either.

Why a floor of 1989: the oldest records worth importing here, the UCDP GED events, begin in
1989; a year 1 or 0001 is a typing or conversion error, never history.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import Text, message
from sarhad.core.labels import word

TIME_FLOOR = datetime(1989, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=10)
PLAN_HORIZON = timedelta(days=731)  # two years: a closure or an alert planned further is a typo

_FLOOR_TEXT = f"{TIME_FLOOR:%Y-%m-%d}"


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _shown(value: datetime) -> str:
    # As given, not converted: year 9999 at -05:00 has no UTC date in Python's range.
    return value.isoformat(timespec="minutes")


def _early(value: datetime) -> Text | None:
    if value < TIME_FLOOR:
        return _before_floor(_shown(value))
    return None


def _before_floor(shown: str) -> Text:
    return message(
        "times.before_floor",
        "{value} is before {floor}; check the year",
        value=shown,
        floor=_FLOOR_TEXT,
    )


def event_time_problem(value: datetime, *, now: datetime | None = None) -> Text | None:
    """What is implausible about the time of something that happened (None if nothing)."""
    latest = _now(now) + CLOCK_SKEW
    if value > latest:
        return message(
            "times.future_event",
            "{value} is in the future; give the time it happened, with its time zone (e.g. +05:00)",
            value=_shown(value),
        )
    return _early(value)


def planned_time_problem(value: datetime, *, now: datetime | None = None) -> Text | None:
    """What is implausible about a planned time (None if nothing): at most two years ahead."""
    latest = _now(now) + PLAN_HORIZON
    if value > latest:
        return message(
            "times.too_far_ahead",
            "{value} is more than two years ahead; check the year, or declare it nearer the time",
            value=_shown(value),
        )
    return _early(value)


def event_day_problem(value: date, *, now: datetime | None = None) -> Text | None:
    """What is implausible about the local day of something that happened (None if nothing)."""
    # A day ahead of UTC's today: local days east of UTC begin before UTC's.
    if value > _now(now).date() + timedelta(days=1):
        return message(
            "times.future_day",
            "{value} is in the future; give a day that has begun",
            value=f"{value:%Y-%m-%d}",
        )
    if value < TIME_FLOOR.date():
        return _before_floor(f"{value:%Y-%m-%d}")
    return None


def check_event_time(value: datetime) -> datetime:
    """Pydantic validator of :data:`EventTime`."""
    problem = event_time_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def check_planned_time(value: datetime) -> datetime:
    """Pydantic validator of :data:`PlannedTime`."""
    problem = planned_time_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def check_event_day(value: date) -> date:
    """Pydantic validator of :data:`EventDay`."""
    problem = event_day_problem(value)
    if problem:
        raise ValueError(problem)
    return value


#: When something happened: from 1989 to now (plus a few minutes of clock skew).
EventTime = Annotated[AwareDatetime, AfterValidator(check_event_time)]
#: A time that may be planned ahead: from 1989 to two years from now.
PlannedTime = Annotated[AwareDatetime, AfterValidator(check_planned_time)]
#: A local day on which something happened.
EventDay = Annotated[date, AfterValidator(check_event_day)]


def require_plausible(
    *,
    events: dict[str, datetime | None] | None = None,
    planned: dict[str, datetime | None] | None = None,
    now: datetime | None = None,
) -> None:
    """Raise ``InvalidInput`` naming each implausible time (for values not from a schema)."""
    problems = [
        FieldError.of(name, problem)
        for group, check in ((events, event_time_problem), (planned, planned_time_problem))
        for name, value in (group or {}).items()
        if value is not None and (problem := check(value, now=now))
    ]
    if problems:
        raise InvalidInput(problems)


# --- dates and times typed on the command line -----------------------------------------

_YMD = re.compile(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})(?=$|[T ])")


def missing_day(text: str) -> Text | None:
    """Why ``text`` names a calendar day that does not exist (2026-02-30), else None."""
    found = _YMD.match(text)
    if found is None:
        return None
    year, month, day = (int(g) for g in found.groups())
    if not 1 <= month <= 12:
        return message("times.no_month", "month {month} does not exist", month=month)
    days = calendar.monthrange(year, month)[1] if year >= 1 else 31
    if not 1 <= day <= days:
        return message(
            "times.no_day",
            "{month} {year} has {days} days; day {day} does not exist",
            month=word("month", calendar.month_name[month]),
            year=year,
            days=days,
            day=day,
        )
    return None


def parse_day(text: str, field: str) -> date:
    """A ``YYYY-MM-DD`` option value; ``InvalidInput`` naming ``field`` otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        why = missing_day(text)
        if why:
            raise InvalidInput(FieldError.of(field, _typed(text, why))) from None
        raise InvalidInput(
            FieldError.of(
                field,
                message(
                    "times.not_a_date",
                    "{text} is not a date; write YYYY-MM-DD, e.g. 2026-11-24",
                    text=repr(text.strip()),
                ),
            )
        ) from None


def _typed(text: str, why: Text) -> Text:
    return message("times.typed", "{text}: {why}", text=repr(text.strip()), why=why)


def parse_datetime(text: str, field: str, *, example: str = "2026-11-24T06:00+05:00") -> datetime:
    """An ISO 8601 date or date-time option value (naive as given); ``InvalidInput`` otherwise."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        why = missing_day(text)
        if why:
            raise InvalidInput(FieldError.of(field, _typed(text, why))) from None
        raise InvalidInput(
            FieldError.of(
                field,
                message(
                    "times.not_a_datetime",
                    "{text} is not a date and time; write e.g. {example}",
                    text=repr(text.strip()),
                    example=example,
                ),
            )
        ) from None


__all__ = [
    "CLOCK_SKEW",
    "PLAN_HORIZON",
    "TIME_FLOOR",
    "EventDay",
    "EventTime",
    "PlannedTime",
    "event_day_problem",
    "event_time_problem",
    "missing_day",
    "parse_datetime",
    "parse_day",
    "planned_time_problem",
    "require_plausible",
]
