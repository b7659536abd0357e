"""Daily throughput: entry, CSV import (row-numbered errors, nothing half-written), seizures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sarhad.border import BorderProfile
from sarhad.core.auth import CONSOLE
from sarhad.core.db import Database
from sarhad.core.errors import InvalidInput
from sarhad.crossings import flows
from sarhad.crossings.schemas import ThroughputIn
from sarhad.incidents import service as incidents
from sarhad.incidents.schemas import IncidentIn

NOW = datetime(2026, 11, 23, 6, tzinfo=UTC)


def entry(**kw: Any) -> ThroughputIn:
    body = {"crossing": "taftan-mirjaveh", "day": "2026-11-20", "vehicles": 120, "trucks": 45,
            "pedestrians": 900, "fuel_litres": 15000,
            "goods": [{"commodity": "dates", "quantity": 12, "unit": "t", "value": 3500000,
                       "currency": "PKR"}]} | kw  # fmt: skip
    return ThroughputIn.model_validate(body)


def test_a_day_is_entered_corrected_and_listed(db: Database, profile: BorderProfile) -> None:
    with db.session() as s:
        row, outcome = flows.record_throughput(s, data=entry(), side="PK", actor=CONSOLE,
                                               profile=profile, now=NOW)  # fmt: skip
        assert outcome == "created" and row.version == 1
        assert row.goods == [{"commodity": "dates", "quantity": 12.0, "unit": "t",
                              "value": 3500000.0, "currency": "PKR"}]  # fmt: skip
    with db.session() as s:
        _, again = flows.record_throughput(s, data=entry(), side="PK", actor=CONSOLE,
                                           profile=profile, now=NOW)  # fmt: skip
        _, fixed = flows.record_throughput(s, data=entry(trucks=46), side="PK", actor=CONSOLE,
                                           profile=profile, now=NOW)  # fmt: skip
        assert (again, fixed) == ("unchanged", "updated")
    with db.session() as s:
        rows = flows.list_throughput(s, crossing_id="taftan-mirjaveh")
        assert [(r.trucks, r.version) for r in rows] == [(46, 2)]


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"vehicles": -1}, "vehicles"),
        ({"pedestrians": -5}, "pedestrians"),
        ({"goods": [{"commodity": "livestock", "quantity": 5, "unit": "kg"}]}, "goods.0.unit"),
        ({"goods": [{"commodity": "dates", "quantity": 5, "unit": "t", "value": 10}]},
         "goods.0.currency"),
        ({"goods": [{"commodity": "dates", "quantity": 5, "unit": "t", "value": 10,
                     "currency": "USD"}]}, "goods.0.currency"),
        ({"goods": [{"commodity": "dates", "quantity": 0, "unit": "t"}]}, "goods.0.quantity"),
        ({"names": ["someone"]}, "names"),
    ],
)  # fmt: skip
def test_bad_figures_name_the_field(over: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        entry(**over)
    assert ".".join(str(p) for p in exc.value.errors()[0]["loc"]) == field


def test_unknown_crossing_and_future_day_are_refused(db: Database, profile: BorderProfile) -> None:
    with db.session() as s:
        with pytest.raises(InvalidInput) as exc:
            flows.record_throughput(s, data=entry(crossing="wagah"), side="PK", actor=CONSOLE,
                                    profile=profile, now=NOW)  # fmt: skip
        assert exc.value.errors[0].field == "crossing"
        with pytest.raises(InvalidInput) as exc:
            flows.record_throughput(s, data=entry(day="2026-12-01"), side="PK", actor=CONSOLE,
                                    profile=profile, now=NOW)  # fmt: skip
        assert exc.value.errors[0].field == "day"


HEADER = (
    "crossing,date,vehicles,trucks,pedestrians,fuel_litres,commodity,quantity,unit,value,currency"
)
GOOD_CSV = f"""{HEADER}
taftan-mirjaveh,2026-11-20,120,45,900,15000,dates,12,t,3500000,PKR
taftan-mirjaveh,2026-11-20,,,,,fruit_vegetables,30,t,,
taftan-mirjaveh,2026-11-21,80,30,600,9000,,,,,
mand-pishin-market,2026-11-21,5,0,1400,0,food_staples,800,kg,950000000,IRR
"""


def test_csv_import_groups_goods_by_day(
    db: Database, profile: BorderProfile, tmp_path: Path
) -> None:
    path = tmp_path / "flows.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")
    rows = flows.parse_csv(path, profile=profile)
    with db.session() as s:
        counts = flows.import_throughput(s, rows=rows, side="PK", actor=CONSOLE, profile=profile)
    assert counts == {"created": 3, "updated": 0, "unchanged": 0}
    with db.session() as s:
        got = {(r.crossing_id, r.day): r for r in flows.list_throughput(s)}
    day = got[("taftan-mirjaveh", date(2026, 11, 20))]
    assert (day.vehicles, day.trucks, day.fuel_litres) == (120, 45, 15000.0)
    assert [g["commodity"] for g in day.goods] == ["dates", "fruit_vegetables"]
    market = got[("mand-pishin-market", date(2026, 11, 21))]
    assert market.goods[0]["currency"] == "IRR" and market.goods[0]["value"] == 950000000.0


def test_a_bad_csv_writes_nothing_and_names_each_row(
    db: Database, profile: BorderProfile, tmp_path: Path
) -> None:
    bad = GOOD_CSV + (
        "taftan-mirjaveh,2026-11-22,-3,1,1,0,,,,,\n"  # row 6: negative count
        "wagah,2026-11-22,1,1,1,0,,,,,\n"  # row 7: unknown crossing
        "gabd-rimdan,2026-11-22,1,1,1,0,livestock,4,kg,,\n"  # row 8: wrong unit
        "gabd-rimdan,2026-11-23,1,1,1,0,,,,,\n"
        "gabd-rimdan,2026-11-23,2,,,,,,,,\n"  # row 10: differs from row 9
        "gabd-rimdan,22/11/2026,1,1,1,0,,,,,\n"  # row 11: not a date
    )
    path = tmp_path / "flows.csv"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        flows.parse_csv(path, profile=profile)
    named = {e.field for e in exc.value.errors}
    assert {"row 6: vehicles", "row 7: crossing", "row 8: unit", "row 10: vehicles",
            "row 11: date"} <= named  # fmt: skip
    assert "nothing was imported" in (exc.value.hint or "")
    with db.session() as s:
        assert flows.list_throughput(s) == []


def test_unknown_columns_are_refused_before_any_row(profile: BorderProfile, tmp_path: Path) -> None:
    path = tmp_path / "flows.csv"
    path.write_text("crossing,date,driver_name\ntaftan-mirjaveh,2026-11-20,x\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        flows.parse_csv(path, profile=profile)
    assert "unknown column 'driver_name'" in exc.value.message


def test_seizures_come_from_the_incident_log(db: Database, profile: BorderProfile) -> None:
    taftan = profile.place("taftan-mirjaveh")

    def incident(lon: float, lat: float, qty: float) -> None:
        data = IncidentIn.model_validate({
            "title": "Fuel seized at the gate", "category": "smuggling_fuel",
            "occurred_at": "2026-11-20T08:00:00Z", "location": {"lon": lon, "lat": lat},
            "reporting_side": "PK",
            "seizures": [{"commodity": "diesel", "quantity": qty, "unit": "l"}],
        })  # fmt: skip
        with db.session() as s:
            incidents.create_incident(s, data=data, actor=CONSOLE, profile=profile)

    incident(taftan.lon + 0.02, taftan.lat - 0.01, 4000)  # ~2.3 km away
    incident(taftan.lon + 0.03, taftan.lat - 0.02, 1000)
    incident(61.70, 25.40, 99999)  # near Gabd, not Taftan
    with db.session() as s:
        got = flows.seizures_near(s, profile=profile, crossing_id="taftan-mirjaveh",
                                  start=datetime(2026, 11, 1, tzinfo=UTC),
                                  end=datetime(2026, 12, 1, tzinfo=UTC), within_km=10)  # fmt: skip
    assert [(g["commodity"], g["unit"], g["quantity"], len(g["incidents"])) for g in got] == [
        ("diesel", "l", 5000.0, 2)
    ]
