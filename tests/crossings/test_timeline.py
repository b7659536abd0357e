"""The pure status timeline: declarations over regular hours, for any moment."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sarhad.crossings.timeline import (
    Period,
    Schedule,
    combine,
    fixed_zone,
    next_opening,
    state_at,
    timeline,
)

PKT = fixed_zone("PKT", 300)
IRST = fixed_zone("IRST", 210)
# Monday to Saturday, 08:00-17:00 PKT (03:00-12:00 UTC).
WEEKDAYS = Schedule(days=frozenset(range(6)), opens=time(8), closes_min=17 * 60, tz=PKT)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_regular_hours_decide_when_nothing_is_declared() -> None:
    monday_9_pkt = utc(2026, 11, 23, 4)
    s = state_at([], WEEKDAYS, monday_9_pkt)
    assert (s.status, s.reason, s.declared) == ("open", None, False)
    assert s.since == utc(2026, 11, 23, 3) and s.until == utc(2026, 11, 23, 12)
    night = state_at([], WEEKDAYS, utc(2026, 11, 23, 20))
    assert (night.status, night.reason) == ("closed", "outside_hours")
    assert night.until == utc(2026, 11, 24, 3)  # Tuesday 08:00 PKT
    sunday = state_at([], WEEKDAYS, utc(2026, 11, 29, 6))
    assert sunday.status == "closed" and sunday.until == utc(2026, 11, 30, 3)


def test_no_hours_means_open_all_day() -> None:
    s = state_at([], None, utc(2026, 11, 29, 23))
    assert s.status == "open" and s.since is None and s.until is None


def test_a_declared_closure_holds_through_opening_hours_until_it_ends() -> None:
    closure = Period("c", "closed", "security_incident", utc(2026, 11, 23, 1), utc(2026, 11, 25, 6))
    at = utc(2026, 11, 24, 5)  # Tuesday 10:00 PKT, inside hours
    s = state_at([closure], WEEKDAYS, at)
    assert (s.status, s.reason, s.declaration_id) == ("closed", "security_incident", "c")
    assert s.since == closure.starts_at and s.until == closure.ends_at
    # It reopens in the middle of Wednesday's hours.
    assert next_opening([closure], WEEKDAYS, at) == utc(2026, 11, 25, 6)


def test_open_ended_closure_has_no_next_opening() -> None:
    closure = Period("c", "closed", "protest", utc(2026, 11, 23, 1), None)
    s = state_at([closure], WEEKDAYS, utc(2026, 12, 20))  # four weeks later: still closed
    assert s.status == "closed" and s.since == closure.starts_at and s.until is None
    assert next_opening([closure], WEEKDAYS, utc(2026, 11, 24)) is None


def test_restriction_holds_within_hours_only_and_an_open_declaration_beyond_them() -> None:
    r = Period("r", "restricted", "policy_decision", utc(2026, 11, 23), utc(2026, 11, 24))
    assert state_at([r], WEEKDAYS, utc(2026, 11, 23, 5)).status == "restricted"
    assert state_at([r], WEEKDAYS, utc(2026, 11, 23, 20)).reason == "outside_hours"
    special = Period("o", "open", "other", utc(2026, 11, 29, 4), utc(2026, 11, 29, 10))
    assert state_at([special], WEEKDAYS, utc(2026, 11, 29, 5)).status == "open"  # a Sunday


def test_timeline_segments_cover_the_span_and_count_hours() -> None:
    closure = Period("c", "closed", "weather", utc(2026, 11, 24, 5), utc(2026, 11, 24, 8))
    segs = timeline([closure], WEEKDAYS, utc(2026, 11, 24), utc(2026, 11, 25))
    assert segs[0].start == utc(2026, 11, 24) and segs[-1].end == utc(2026, 11, 25)
    assert all(a.end == b.start for a, b in itertools.pairwise(segs))
    by: dict[tuple[str, str | None], float] = {}
    for s in segs:
        by[(s.status, s.reason)] = by.get((s.status, s.reason), 0.0) + s.hours
    assert by[("closed", "weather")] == 3.0
    assert by[("open", None)] == 9.0 - 3.0  # 03:00-12:00 UTC open, minus the closure
    assert by[("closed", "outside_hours")] == 24.0 - 9.0


def test_the_latest_starting_declaration_wins_where_a_partner_sent_overlaps() -> None:
    a = Period("a", "closed", "protest", utc(2026, 11, 23), None)
    b = Period("b", "restricted", "other", utc(2026, 11, 23, 4), utc(2026, 11, 23, 6))
    assert state_at([a, b], None, utc(2026, 11, 23, 5)).declaration_id == "b"
    assert state_at([a, b], None, utc(2026, 11, 23, 7)).declaration_id == "a"


def test_iran_hours_are_in_irst() -> None:
    ir = Schedule(days=frozenset(range(7)), opens=time(8), closes_min=16 * 60, tz=IRST)
    assert ir.is_open(utc(2026, 11, 23, 4, 30))  # 08:00 IRST
    assert not ir.is_open(utc(2026, 11, 23, 4, 29))
    assert not ir.is_open(utc(2026, 11, 23, 12, 30))  # 16:00 IRST


def test_combined_status_is_the_worse_side() -> None:
    assert combine(["open", "closed"]) == "closed"
    assert combine(["restricted", "open"]) == "restricted"
    assert combine(["open"]) == "open"


@given(
    st.lists(
        st.tuples(st.integers(0, 14 * 24), st.integers(1, 72), st.sampled_from(["closed", "open"])),
        max_size=6,
    ),
    st.integers(0, 14 * 24 * 60),
)
def test_state_at_agrees_with_the_timeline_everywhere(
    spans: list[tuple[int, int, str]], minute: int
) -> None:
    base = utc(2026, 11, 16)
    periods = [
        Period(str(i), status, "other", base + timedelta(hours=h), base + timedelta(hours=h + n))
        for i, (h, n, status) in enumerate(spans)
    ]
    at = base + timedelta(minutes=minute)
    segs = timeline(periods, WEEKDAYS, base - timedelta(days=1), base + timedelta(days=16))
    seg = next(s for s in segs if s.start <= at < s.end)
    assert state_at(periods, WEEKDAYS, at).status == seg.status
