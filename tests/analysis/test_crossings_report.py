"""The monthly crossings report against October 2026 worked out by hand.

October 2026: the 1st is a Thursday; Sundays are the 4th, 11th, 18th and 25th; Fridays the
2nd, 9th, 16th, 23rd and 30th. PKT is UTC+5, IRST UTC+3:30.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from pyproj import Geod
from typer.testing import CliRunner

from sarhad.analysis.crossings.export import report_csv
from sarhad.analysis.crossings.figures import CrossingsReport, ReportParams, SideMonth, lag_stats
from sarhad.analysis.crossings.report import month_report
from sarhad.border import BorderProfile
from sarhad.cli import app
from sarhad.core.auth import CONSOLE, Principal, Role
from sarhad.core.config import Settings
from sarhad.core.db import Database, lock_writes
from sarhad.crossings import flows, received
from sarhad.crossings.declarations import declare, withdraw_declaration
from sarhad.crossings.hours import set_hours
from sarhad.crossings.places import place
from sarhad.crossings.schemas import DeclarationIn, HoursIn, ThroughputIn
from sarhad.incidents import service as incidents
from sarhad.incidents.schemas import IncidentIn
from support import LiveNode

PKT = timezone(timedelta(hours=5), "PKT")
IRST = timezone(timedelta(hours=3, minutes=30), "IRST")
NOW = datetime(2026, 11, 20, tzinfo=UTC)
TAFTAN = "taftan-mirjaveh"
MARKET = "mand-pishin-market"
PNG = b"\x89PNG\r\n\x1a\n"
HEROIN = {"seizures": [{"commodity": "heroin", "quantity": 120, "unit": "kg"}]}
FOOD_WORTH_A_MILLION = {
    "commodity": "food_staples",
    "quantity": 10,
    "unit": "t",
    "value": 1_000_000,
    "currency": "PKR",
}


def pkt(day: int, hour: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=PKT)


def irst(day: int, hour: int = 0, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=IRST)


def _east_of_taftan(profile: BorderProfile, km: float) -> tuple[float, float]:
    """A point ``km`` due east of the Taftan–Mirjaveh crossing point (geodesic)."""
    where = place(profile, TAFTAN)
    lon, lat, _ = Geod(ellps="WGS84").fwd(where.lon, where.lat, 90.0, km * 1000.0)
    return lon, lat


def _incident(
    profile: BorderProfile, at: datetime, km: float, category: str, **extra: Any
) -> IncidentIn:
    lon, lat = _east_of_taftan(profile, km)
    return IncidentIn.model_validate(
        {
            "title": f"{category} {km} km from Taftan",
            "category": category,
            "occurred_at": at.isoformat(),
            "location": {"lon": lon, "lat": lat, "precision": "exact"},
            "reporting_side": "PK",
            **extra,
        }
    )


def _declare(
    session: Any,
    profile: BorderProfile,
    crossing: str,
    status: str,
    reason: str,
    start: datetime,
    end: datetime | None,
    **extra: Any,
) -> str:
    data = DeclarationIn(
        crossing=crossing, status=status, reason=reason, starts_at=start, ends_at=end, **extra
    )
    row = declare(session, data=data, side="PK", actor=CONSOLE, profile=profile, now=NOW)
    return row.id


def _day(session: Any, profile: BorderProfile, day: date, **counts: Any) -> None:
    data = ThroughputIn(crossing=TAFTAN, day=day, **counts)
    flows.record_throughput(session, data=data, side="PK", actor=CONSOLE, profile=profile, now=NOW)


def _received(
    session: Any, profile: BorderProfile, reason: str, start: datetime, end: datetime
) -> str:
    decl_id = str(uuid.uuid4())
    received.receive_declaration(
        session,
        data=received.InboundDeclaration(
            id=decl_id,
            crossing_id=TAFTAN,
            side="IR",
            status="closed",
            reason=reason,
            note=None,
            starts_at=start,
            ends_at=end,
            planned=False,
            incident_ids=(),
            tlp="green",
            withdrawn=False,
            version=1,
            created_at=NOW,
            modified=NOW,
        ),
        partner_name="ir-node",
        partner_node_id=None,
        partner_side="IR",
        profile=profile,
    )
    return decl_id


@pytest.fixture
def october(db: Database, profile: BorderProfile, duty: Principal) -> dict[str, str]:
    """The month: hours, closures, a restriction, incidents and throughput (ids returned)."""
    ids: dict[str, str] = {}
    with db.session() as s:
        for name, at, km, category, extra in (
            ("i1", pkt(3, 1), 3.0, "armed_attack", {}),  # 5 h before closure A
            ("i2", pkt(11, 20), 3.0, "smuggling_narcotics", HEROIN),  # 60 h before closure B
            ("i3", pkt(14, 6), 40.0, "armed_clash", {}),  # 2 h before B, but 40 km away
            ("i4", pkt(29, 12), 3.0, "cross_border_fire", {}),  # 12 h before closure D
        ):
            row = incidents.create_incident(
                s, data=_incident(profile, at, km, category, **extra), actor=duty, profile=profile
            )
            ids[name] = row.id
        # A partner's record it later revoked: 1 h before B and 1 km away, yet not counted.
        lock_writes(s)
        ids["i5"] = str(uuid.uuid4())
        incidents.store_received(
            s,
            record_id=ids["i5"],
            data=_incident(profile, pkt(14, 7), 1.0, "armed_attack"),
            version=1,
            status="validated",
            remote_modified=NOW,
            origin_node_id=str(uuid.UUID(int=7)),
            origin="partner:ir-node",
            withheld=[],
            revoked=True,
            profile=profile,
        )

        # Our side of Taftan: Monday to Saturday, 08:00-17:00 PKT.
        week = HoursIn(
            days=["mon", "tue", "wed", "thu", "fri", "sat"], opens="08:00", closes="17:00"
        )
        set_hours(
            s, crossing_id=TAFTAN, data=week, side="PK", actor=CONSOLE, profile=profile, now=NOW
        )
        ids["e"] = _declare(s, profile, TAFTAN, "closed", "weather", pkt(30, 20, 9), pkt(1, 10))
        ids["a"] = _declare(
            s,
            profile,
            TAFTAN,
            "closed",
            "security_incident",
            pkt(3, 6),
            pkt(5, 18),
            incident_ids=[ids["i1"]],
        )
        ids["b"] = _declare(s, profile, TAFTAN, "closed", "protest", pkt(14, 8), pkt(14, 12))
        ids["c"] = _declare(s, profile, TAFTAN, "restricted", "policy_decision", pkt(20), pkt(22))
        ids["d"] = _declare(s, profile, TAFTAN, "closed", "holiday", pkt(30), None)
        # Entered by mistake and withdrawn: counts nowhere.
        typo = _declare(s, profile, TAFTAN, "closed", "other", pkt(26, 8), pkt(27, 17))
        withdraw_declaration(s, declaration_id=typo, actor=CONSOLE, now=NOW)

        # Throughput: five days before A (the 30th with goods worth PKR 1,000,000), three after.
        for day, vehicles in (
            (date(2026, 9, 28), 100),
            (date(2026, 9, 29), 110),
            (date(2026, 9, 30), 120),
            (date(2026, 10, 1), 130),
            (date(2026, 10, 2), 140),
        ):
            goods = [FOOD_WORTH_A_MILLION] if day == date(2026, 9, 30) else []
            _day(
                s,
                profile,
                day,
                vehicles=vehicles,
                trucks=40,
                pedestrians=300,
                fuel_litres=1000,
                goods=goods,
            )
        for day, vehicles, trucks in ((6, 50, 10), (7, 60, 20), (8, 70, 30)):
            _day(s, profile, date(2026, 10, day), vehicles=vehicles, trucks=trucks, pedestrians=100)

        # The market: Mondays and Thursdays, 09:00-15:00 PKT.
        market = HoursIn(days=["mon", "thu"], opens="09:00", closes="15:00")
        set_hours(
            s, crossing_id=MARKET, data=market, side="PK", actor=CONSOLE, profile=profile, now=NOW
        )
        ids["m1"] = _declare(s, profile, MARKET, "closed", "policy_decision", pkt(8), pkt(13))
        ids["m2"] = _declare(s, profile, MARKET, "closed", "holiday", pkt(29, 9), pkt(29, 15))

        # The partner's side of Taftan, as received: Saturday to Thursday, 07:30-16:00 IRST.
        received.receive_hours(
            s,
            crossing_id=TAFTAN,
            side="IR",
            days=[5, 6, 0, 1, 2, 3],
            opens="07:30",
            closes="16:00",
            partner_name="ir-node",
            partner_side="IR",
            profile=profile,
            modified=NOW,
        )
        ids["w"] = _received(s, profile, "weather", irst(10), irst(11))
        ids["x"] = _received(s, profile, "maintenance", irst(31, 23), irst(1, 2, month=11))
    return ids


def _item(report: CrossingsReport, crossing: str, side: str) -> SideMonth:
    return next(i for i in report.items if i.crossing == crossing and i.side == side)


def report_ids(item: SideMonth) -> list[str]:
    return [c.declaration_id for c in item.closures]


@pytest.fixture
def report(db: Database, profile: BorderProfile, october: dict[str, str]) -> CrossingsReport:
    with db.session() as s:
        return month_report(
            s, profile=profile, params=ReportParams(), month="2026-10", node_side="PK"
        )


def test_hours_and_days_closed_by_reason_in_local_days(report: CrossingsReport) -> None:
    pk = _item(report, TAFTAN, "PK")
    assert pk.ours and pk.known and pk.hours_set
    # E weather 30 Sep 20:00 → 1 Oct 10:00 PKT: 10 h in October (the 1st from 00:00).
    # A security 3 Oct 06:00 → 5 Oct 18:00: 18 + 24 + 18 = 60 h. B protest 14 Oct 08-12: 4 h.
    # D holiday from 30 Oct 00:00, open-ended: 30 and 31 Oct = 48 h to the month's end.
    assert pk.hours_closed == {
        "holiday": 48.0,
        "protest": 4.0,
        "security_incident": 60.0,
        "weather": 10.0,
    }
    assert pk.hours_closed_total == 122.0
    # C restricted 20 Oct 00:00 → 22 Oct 00:00: only the hours Tue 20 + Wed 21 08-17 = 18 h
    # (outside them the gate is shut anyway, which is regular closing, not a closure).
    assert pk.hours_restricted == {"policy_decision": 18.0} and pk.hours_restricted_total == 18.0
    # Whole 08-17 window closed: Sat 3, Mon 5 (A; Sun 4 is no opening day), Fri 30, Sat 31 (D).
    assert pk.days_closed == {"holiday": 2, "security_incident": 2} and pk.days_closed_total == 4
    # Part of a window closed too: Thu 1 (08-10, E) and Wed 14 (08-12, B): 4 + 2 = 6 days.
    assert pk.days_any_closure == 6
    # Opening hours lost: 2 (1st) + 9 + 9 (3rd, 5th) + 4 (14th) + 9 + 9 (30th, 31st) = 42 h.
    assert pk.open_hours_lost == 42.0
    # 31 days - 4 Sundays = 27 opening days; wholly closed on 4 of them → 23 opened.
    assert (pk.scheduled_days, pk.days_opened) == (27, 23)
    assert pk.opened_share == pytest.approx(23 / 27)
    # E started in September: its hours count here, but it is September's closure.
    assert [(c.reason, c.hours_in_month) for c in pk.closures] == [
        ("security_incident", 60.0),
        ("protest", 4.0),
        ("holiday", 48.0),
    ]


def test_the_partners_side_uses_its_own_local_month(
    report: CrossingsReport, october: dict[str, str]
) -> None:
    ir = _item(report, TAFTAN, "IR")
    assert not ir.ours and ir.known and ir.time_zone == "IRST (UTC+03:30)"
    assert ir.start == irst(1) and ir.end == irst(1, month=11)
    # W weather Sat 10 Oct 00:00 → Sun 11 Oct 00:00 IRST: 24 h. X maintenance from 31 Oct
    # 23:00 IRST: 1 h before the IRST month ends (in PKT days it would fall in November).
    assert ir.hours_closed == {"maintenance": 1.0, "weather": 24.0}
    # Sat 10 is an opening day, its 07:30-16:00 window wholly closed; X misses the window.
    assert ir.days_closed == {"weather": 1} and ir.days_any_closure == 1
    assert ir.open_hours_lost == 8.5
    # 31 days - 5 Fridays = 26 opening days, 25 opened.
    assert (ir.scheduled_days, ir.days_opened) == (26, 25)
    assert report_ids(ir) == [october["w"], october["x"]]
    assert ir.closures_after_incident == 0  # i4 is 60.5 h before X, over the 48 h


def test_closures_that_followed_an_incident_and_the_lag_distribution(
    report: CrossingsReport, october: dict[str, str]
) -> None:
    pk = _item(report, TAFTAN, "PK")
    a, b, d = pk.closures
    assert (a.declaration_id, b.declaration_id, d.declaration_id) == (
        october["a"],
        october["b"],
        october["d"],
    )
    # A: i1 at 3 Oct 01:00 PKT, 3 km away, closure at 06:00 → 5 h.
    assert a.incident is not None and a.incident.incident_id == october["i1"]
    assert a.incident.lag_hours == 5.0 and a.incident.distance_km == pytest.approx(3.0, abs=1e-6)
    assert a.incident.category == "armed_attack" and a.declared_incident_ids == [october["i1"]]
    # B: i2 was 60 h before (over 48 h), i3 40 km away (over 25 km), i5 revoked → none.
    assert b.incident is None
    # D: i4 at 29 Oct 12:00, closure 30 Oct 00:00 → 12 h.
    assert d.incident is not None and d.incident.incident_id == october["i4"]
    assert d.incident.lag_hours == 12.0 and d.ends_at is None
    # Lags [5, 12]: median 8.5; quartiles 5 + 0.25·7 = 6.75 and 5 + 0.75·7 = 10.25.
    expected = {
        "count": 2,
        "median_h": 8.5,
        "q1_h": 6.75,
        "q3_h": 10.25,
        "min_h": 5.0,
        "max_h": 12.0,
    }
    assert pk.closures_after_incident == 2
    assert pk.lags.model_dump(exclude={"bins"}) == expected
    # Bins 0-1, 1-3, 3-6, 6-12, 12-24, 24-48 h: 5 h in 3-6, 12 h in 12-24.
    assert [(b.lo_h, b.hi_h, b.count) for b in pk.lags.bins] == [
        (0, 1, 0),
        (1, 3, 0),
        (3, 6, 1),
        (6, 12, 0),
        (12, 24, 1),
        (24, 48, 0),
    ]
    # The whole report: the same two closures (the market's and IR's followed none).
    assert report.lags.model_dump(exclude={"bins"}) == expected


def test_wider_limits_in_the_settings_count_more_closures(
    db: Database, profile: BorderProfile, october: dict[str, str]
) -> None:
    with db.session() as s:
        one = {"month": "2026-10", "node_side": "PK", "crossing": TAFTAN, "side": "PK"}
        late = month_report(s, profile=profile, params=ReportParams(incident_hours=72.0), **one)
        far = month_report(s, profile=profile, params=ReportParams(incident_km=50.0), **one)
    b_late = late.items[0].closures[1].incident
    assert b_late is not None and (b_late.incident_id, b_late.lag_hours) == (october["i2"], 60.0)
    assert [b.hi_h for b in late.items[0].lags.bins][-1] == 72.0
    b_far = far.items[0].closures[1].incident
    assert b_far is not None and (b_far.incident_id, b_far.lag_hours) == (october["i3"], 2.0)


def test_throughput_before_and_after_each_closure(report: CrossingsReport) -> None:
    a, b, d = _item(report, TAFTAN, "PK").closures
    # A starts 3 Oct: before = 26 Sep-2 Oct, data on 28, 29, 30 Sep, 1, 2 Oct (5 days):
    # vehicles (100+110+120+130+140)/5 = 120; goods PKR 1,000,000/5 = 200,000 a day.
    assert (a.before.first, a.before.last) == (date(2026, 9, 26), date(2026, 10, 2))
    assert a.before.days_with_data == 5
    assert (a.before.vehicles, a.before.trucks, a.before.pedestrians) == (120.0, 40.0, 300.0)
    assert a.before.fuel_litres == 1000.0 and a.before.goods_value == {"PKR": 200_000.0}
    # A ends 5 Oct 18:00: after = 6-12 Oct, data on 6, 7, 8: (50+60+70)/3 = 60, (10+20+30)/3 = 20.
    assert (a.after.first, a.after.last, a.after.days_with_data) == (
        date(2026, 10, 6),
        date(2026, 10, 12),
        3,
    )
    assert (a.after.vehicles, a.after.trucks, a.after.pedestrians) == (60.0, 20.0, 100.0)
    assert a.after.fuel_litres == 0.0 and a.after.goods_value == {}
    # B (14 Oct): before = 7-13 Oct, data on 7 and 8: (60+70)/2 = 65; after 15-21 Oct: none.
    assert (b.before.days_with_data, b.before.vehicles, b.before.trucks) == (2, 65.0, 25.0)
    assert b.after.days_with_data == 0 and b.after.vehicles is None
    # D is open-ended: "after" starts when the month ends, 1-7 Nov.
    assert (d.after.first, d.after.last) == (date(2026, 11, 1), date(2026, 11, 7))
    # The month: 1, 2, 6, 7, 8 Oct → (130+140+50+60+70)/5 = 90 vehicles a day.
    month = _item(report, TAFTAN, "PK").throughput
    assert (month.days_with_data, month.vehicles, month.trucks) == (5, 90.0, 28.0)


def test_share_of_scheduled_market_days_opened(report: CrossingsReport) -> None:
    m = _item(report, MARKET, "PK")
    assert m.kind == "market"
    # Mondays 5, 12, 19, 26 and Thursdays 1, 8, 15, 22, 29 = 9 market days. Closed 8 → 13 Oct
    # (Thu 8, Mon 12) and 29 Oct 09:00-15:00 (exactly the market's hours): 6 of 9 opened.
    assert (m.scheduled_days, m.days_opened, m.opened_share) == (9, 6, 6 / 9)
    assert m.days_closed == {"holiday": 1, "policy_decision": 2}
    # 5 days × 24 h = 120 h, and 6 h; 3 market days × 6 h of opening lost.
    assert m.hours_closed == {"holiday": 6.0, "policy_decision": 120.0}
    assert m.open_hours_lost == 18.0
    assert m.closures_after_incident == 0  # the incidents are near Taftan, 300 km away
    # A crossing nobody recorded: no hours means open all day, every day.
    quiet = _item(report, "gabd-rimdan", "IR")
    assert not quiet.known and (quiet.scheduled_days, quiet.days_opened) == (31, 31)


def test_seizures_near_the_crossing_in_the_month(
    report: CrossingsReport, october: dict[str, str]
) -> None:
    assert _item(report, TAFTAN, "PK").seizures == [
        {"commodity": "heroin", "unit": "kg", "quantity": 120.0, "incidents": [october["i2"]]}
    ]
    assert _item(report, MARKET, "PK").seizures == []


def test_lag_statistics_of_no_closures() -> None:
    empty = lag_stats([], 48.0)
    assert empty.count == 0 and empty.median_h is None
    assert [b.count for b in empty.bins] == [0] * 6


def test_bad_month_crossing_and_side_are_named(db: Database, profile: BorderProfile) -> None:
    from sarhad.core.errors import InvalidInput

    with db.session() as s, pytest.raises(InvalidInput) as exc:
        month_report(
            s,
            profile=profile,
            params=ReportParams(),
            month="2026-13",
            node_side="PK",
            crossing="nowhere",
            side="AF",
        )
    assert [e.field for e in exc.value.errors] == ["month", "crossing", "side"]


# --- CLI -----------------------------------------------------------------------------------


@pytest.fixture
def run(settings: Settings, db: Database):
    env = {
        "SARHAD_DATA_DIR": str(settings.data_dir),
        "SARHAD_DATABASE_URL": settings.database_url,
        "SARHAD_NODE_SIDE": "PK",
    }

    def invoke(*args: str):
        return CliRunner().invoke(app, list(args), env=env)

    return invoke


def test_cli_prints_tables_and_writes_the_chart(
    run, tmp_path: Path, october: dict[str, str]
) -> None:
    chart = tmp_path / "october.png"
    r = run("crossings", "report", "--month", "2026-10", "--chart", str(chart))
    assert r.exit_code == 0, r.output
    assert "Closures in 2026-10" in r.output and "taftan-mirjaveh" in r.output
    lines = r.output.splitlines()
    assert any(
        x.split() == ["taftan-mirjaveh", "PK*", "122", "18", "42", "4", "2", "23/27", "85%"]
        for x in lines
    ), r.output
    assert any(x.split()[-5:] == ["security", "incident", "60", "2", "0"] for x in lines)
    assert any(x.split()[-2:] == ["6/9", "67%"] for x in lines)  # the market
    assert "2 of 7 closure(s) followed an incident within 25 km and 48 h" in r.output
    assert "lag median 8.5 h" in r.output and "heroin 120 kg" in r.output
    assert f"wrote the chart to {chart}" in r.output
    data = chart.read_bytes()
    assert data.startswith(PNG) and len(data) > 20_000  # a drawn chart, not an empty image


def test_cli_chart_goes_under_the_data_folder_and_says_where(
    run, settings: Settings, tmp_path: Path, october: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    r = run("crossings", "report", "--month", "2026-10")
    assert r.exit_code == 0, r.output
    chart = (settings.data_dir / "reports" / "crossings-2026-10.png").resolve()
    assert chart.read_bytes().startswith(PNG)
    assert f"wrote the chart to {chart}" in r.output
    assert list(here.iterdir()) == []  # nothing left in the current folder


def test_cli_json_and_csv_give_the_services_figures(
    run, tmp_path: Path, report: CrossingsReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    chart = tmp_path / "with-json.png"
    r = run("crossings", "report", "--month", "2026-10", "--format", "json", "--chart", str(chart))
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == report.model_dump(mode="json")  # the chart's note: stderr
    assert chart.read_bytes().startswith(PNG)
    out = tmp_path / "closures.csv"
    c = run(
        "crossings",
        "report",
        "--month",
        "2026-10",
        "--crossing",
        TAFTAN,
        "--side",
        "pk",
        "--rows",
        "closures",
        "--out",
        str(out),
    )
    assert c.exit_code == 0, c.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [
        (x["reason"], x["lag_hours"], x["before_vehicles"], x["after_vehicles"]) for x in rows
    ] == [
        ("security_incident", "5", "120", "60"),
        ("protest", "", "65", ""),
        ("holiday", "12", "", ""),
    ]
    assert not (tmp_path / "crossings-2026-10.png").exists()  # exports: no chart unless asked


def test_cli_bad_input_is_named(run, tmp_path: Path) -> None:
    r = run("crossings", "report", "--month", "October")
    assert r.exit_code == 2 and "month" in r.output and "YYYY-MM" in r.output
    side = run("crossings", "report", "--month", "2026-10", "--side", "AF")
    assert side.exit_code == 2 and "side: 'AF': use PK or IR" in side.output
    nowhere = tmp_path / "missing" / "chart.png"
    chart = run("crossings", "report", "--month", "2026-10", "--chart", str(nowhere))
    assert chart.exit_code == 2 and "chart: cannot write" in chart.output
    assert "Closures in" not in chart.output  # it fails before printing anything


# --- API -----------------------------------------------------------------------------------

OCT = {"month": "2026-10"}


def test_api_report_matches_the_service(live: LiveNode, report: CrossingsReport) -> None:
    with live.client(Role.ANALYST) as c:
        r = c.get("/api/v1/crossings/report", params=OCT)
        one = c.get("/api/v1/crossings/report", params={**OCT, "crossing": MARKET, "side": "PK"})
    assert r.status_code == 200, r.text
    assert r.json() == report.model_dump(mode="json")
    assert [(i["crossing"], i["side"], i["opened_share"]) for i in one.json()["items"]] == [
        (MARKET, "PK", 6 / 9)
    ]


def test_api_csv_geojson_and_png(live: LiveNode, report: CrossingsReport) -> None:
    with live.client(Role.DUTY_OFFICER) as c:
        sides = c.get("/api/v1/crossings/report.csv", params=OCT)
        closures = c.get("/api/v1/crossings/report.csv", params={**OCT, "rows": "closures"})
        geo = c.get("/api/v1/crossings/report.geojson", params=OCT)
        png = c.get("/api/v1/crossings/report.png", params=OCT)
    assert sides.status_code == 200 and sides.headers["content-type"].startswith("text/csv")
    assert sides.text == report_csv(report)
    rows = {(x["crossing"], x["side"]): x for x in csv.DictReader(io.StringIO(sides.text))}
    taftan = rows[(TAFTAN, "PK")]
    assert (taftan["hours_closed_total"], taftan["days_closed_total"]) == ("122", "4")
    assert taftan["hours_closed_security_incident"] == "60" and taftan["lag_median_h"] == "8.5"
    assert rows[(MARKET, "PK")]["opened_share"] == "0.6667"
    assert closures.text == report_csv(report, rows="closures")
    assert geo.headers["content-type"] == "application/geo+json"
    features = {f["id"]: f for f in geo.json()["features"]}
    assert len(features) == 4  # three crossings and the market, one point each
    props = features[TAFTAN]["properties"]
    assert (props["pk_hours_closed_total"], props["ir_hours_closed_total"]) == (122.0, 25.0)
    assert (props["pk_days_closed_total"], props["ir_days_closed_total"]) == (4, 1)
    assert features[MARKET]["properties"]["pk_days_opened"] == 6
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(PNG) and len(png.content) > 20_000


def test_api_bad_month_is_422_naming_month_and_a_token_is_needed(live: LiveNode) -> None:
    with live.client(Role.ANALYST) as c:
        bad = c.get("/api/v1/crossings/report", params={"month": "2026-1"})
        missing = c.get("/api/v1/crossings/report.csv")
    anonymous = httpx.get(f"{live.url}/api/v1/crossings/report.png", params=OCT)
    assert bad.status_code == 422
    assert [f["field"] for f in bad.json()["error"]["fields"]] == ["month"]
    assert missing.status_code == 422
    assert [f["field"] for f in missing.json()["error"]["fields"]] == ["month"]
    assert anonymous.status_code == 401
