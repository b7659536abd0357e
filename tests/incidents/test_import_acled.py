"""``sarhad import --format acled``: ACLED export rows mapped onto the incident taxonomy.

The rows in tests/data/acled_sample.csv are written for this test to the columns of ACLED's
published codebook (see tests/data/ATTRIBUTION.md); they are not ACLED data.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from conftest import DATA
from sarhad.cli import app
from sarhad.core.config import Settings
from sarhad.core.db import Database
from sarhad.incidents.importers import ACLED_CITATION, FileFormatError, ParsedRow, parse_file
from sarhad.incidents.models import Incident

SAMPLE = DATA / "acled_sample.csv"


@pytest.fixture(scope="module")
def rows() -> dict[str, ParsedRow]:
    return {r.external_ref or "": r for r in parse_file(SAMPLE, "acled", default_side="PK")}


def _write(path: Path, changes: list[dict[str, str]]) -> Path:
    """The sample's first row once per entry of ``changes``, with those columns changed."""
    with SAMPLE.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        header, first = reader.fieldnames, next(reader)
    assert header is not None
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, header)
        writer.writeheader()
        for n, change in enumerate(changes):
            writer.writerow(first | {"event_id_cnty": f"PAK8{n:04d}"} | change)
    return path


def test_every_sample_row_parses(rows) -> None:
    assert len(rows) == 11
    assert all(r.incident is not None and not r.errors for r in rows.values())


@pytest.mark.parametrize(
    ("ref", "category", "date_precision", "location_precision"),
    [
        ("acled:PAK90001", "armed_clash", "day", "exact"),
        ("acled:PAK90002", "explosion_ied", "day", "exact"),
        ("acled:PAK90003", "armed_attack", "week", "near"),
        ("acled:PAK90004", "kidnapping", "month", "district"),
        ("acled:PAK90005", "crossing_closure_protest", "day", "exact"),  # at the Taftan crossing
        ("acled:PAK90006", "other", "day", "exact"),  # a teachers' protest
        ("acled:PAK90007", "cross_border_fire", "day", "near"),  # Iran's forces, in Pakistan
        ("acled:IRN90008", "armed_clash", "day", "exact"),
        ("acled:PAK90009", "infrastructure_attack", "day", "near"),
        ("acled:PAK90010", "other", "day", "exact"),  # arrests
        ("acled:PAK90011", "explosion_ied", "day", "near"),  # a bomb defused
    ],
)
def test_mapping_onto_the_taxonomy(
    rows, ref: str, category: str, date_precision: str, location_precision: str
) -> None:
    inc = rows[ref].incident
    assert inc is not None
    assert inc.category.value == category
    assert inc.date_precision.value == date_precision
    assert inc.location.precision.value == location_precision


def test_place_date_title_and_sources(rows) -> None:
    inc = rows["acled:PAK90001"].incident
    assert inc is not None
    assert (inc.location.lat, inc.location.lon) == (26.152, 62.641)
    assert inc.location.place == "Buleda, Kech, Balochistan"
    assert inc.occurred_at.isoformat() == "2026-03-15T00:00:00+00:00"
    assert inc.title == "Armed clash (Buleda), 2026-03-15"
    assert inc.sources == ["Dawn", "The Express Tribune", ACLED_CITATION]
    assert inc.tlp.value == "amber" and inc.reporting_side == "PK"
    older = rows["acled:PAK90010"].incident  # "16 May 2026", as older exports write it
    assert older is not None and older.occurred_at.date().isoformat() == "2026-05-16"


def test_fatalities_go_to_civilians_only_when_acled_says_civilians_were_targeted(rows) -> None:
    ied, battle = rows["acled:PAK90002"].incident, rows["acled:PAK90001"].incident
    assert ied is not None and battle is not None
    assert ied.casualties.civilians.killed == 3
    assert ied.casualties.security_forces.killed == ied.casualties.assailants.killed == 0
    assert "fatalities" not in ied.narrative
    # A battle's 4 dead are not split by party in ACLED: kept as a number in the narrative.
    c = battle.casualties
    assert c.civilians.killed == c.security_forces.killed == c.assailants.killed == 0
    assert "4 reported fatalities, not split by party (ACLED)" in battle.narrative


def test_no_person_is_stored(rows) -> None:
    with SAMPLE.open(encoding="utf-8", newline="") as f:
        notes = [r["notes"] for r in csv.DictReader(f)]
    for parsed in rows.values():
        inc = parsed.incident
        assert inc is not None
        stored = " ".join([inc.title, inc.narrative, inc.location.place or "", *inc.sources])
        # Notes name people (an officer, a victim): never imported, only read to classify.
        assert "Farhan Yousaf" not in stored and "Abdul Karim" not in stored
        assert not any(n[:40] in stored for n in notes)
        # Associated actors are not typed by ACLED, so none is kept.
        assert "Transporters" not in stored and "Teachers" not in stored
    battle, protest = rows["acled:PAK90001"].incident, rows["acled:PAK90005"].incident
    assert battle is not None and protest is not None
    assert "BLF: Balochistan Liberation Front (rebel group)" in battle.narrative
    assert "Military Forces of Pakistan (2018-) (state forces)" in battle.narrative
    assert "Actors: Protesters" in protest.narrative  # people: only their kind


def test_bad_values_name_the_row_and_the_acled_column(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "acled.csv",
        [
            {"time_precision": "4", "geo_precision": "x", "fatalities": "-1"},
            {"event_date": "31 Febuary 2026", "latitude": "north"},
            {"event_type": "Parades", "event_id_cnty": ""},
            {"longitude": "", "fatalities": "two"},
        ],
    )
    one, two, three, four = parse_file(path, "acled", default_side="PK")
    assert (one.row, two.row, three.row, four.row) == (2, 3, 4, 5)
    assert all(r.incident is None for r in (one, two, three, four))
    assert {e.field: e.message for e in one.errors} == {
        "time_precision": "'4' is not an ACLED code (1, 2, 3)",
        "geo_precision": "'x' is not an ACLED code (1, 2, 3)",
        "fatalities": "must not be negative",
    }
    msgs = {e.field: e.message for e in two.errors}
    assert set(msgs) == {"event_date", "latitude"} and "is not a date" in msgs["event_date"]
    assert {e.field for e in three.errors} == {"event_id_cnty", "event_type"}
    assert "'Parades' is not an ACLED event type; use one of Battles" in str(three.errors)
    assert three.external_ref is None
    assert {e.field: e.message for e in four.errors} == {
        "fatalities": "'two' is not a whole number",
        "longitude": "is required",
    }


def test_missing_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "not_acled.csv"
    path.write_text("event_id_cnty,event_date,latitude,longitude\nX1,2026-01-01,27,62\n")
    with pytest.raises(FileFormatError) as info:
        list(parse_file(path, "acled", default_side="PK"))
    message = " ".join(e.message for e in info.value.errors)
    assert "missing required columns" in message
    assert "sub_event_type" in message and "geo_precision" in message and "fatalities" in message


@pytest.fixture
def run(settings: Settings, db: Database):
    env = {
        "SARHAD_DATA_DIR": str(settings.data_dir),
        "SARHAD_DATABASE_URL": settings.database_url,
        "SARHAD_NODE_SIDE": "PK",
    }
    return lambda *args: CliRunner().invoke(app, list(args), env=env)


def _count(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Incident)) or 0


def test_cli_import_stores_good_rows_reports_bad_ones_and_is_idempotent(
    run, db: Database, tmp_path: Path
) -> None:
    # Kharan town (row 5) lies 260 km from the line: refused unless marked far from it.
    r = run("import", str(SAMPLE), "--format", "acled", "--json")
    assert r.exit_code == 1
    first = json.loads(r.output)
    assert first["imported"] == 10 and [x["row"] for x in first["rejected"]] == [5]
    assert first["rejected"][0]["errors"][0]["field"] == "location"
    args = ("import", str(SAMPLE), "--format", "acled", "--far-from-line", "--json")
    r = run(*args)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {"imported": 1, "already_present": 10, "rejected": []}
    assert json.loads(run(*args).output)["already_present"] == 11
    assert _count(db) == 11
    with db.session() as s:
        taftan = s.scalar(select(Incident).where(Incident.external_ref == "acled:PAK90005"))
        assert taftan is not None and taftan.category == "crossing_closure_protest"
        assert taftan.origin == "import:acled"
    # A bad row is reported with its line and column and leaves nothing behind.
    bad = _write(tmp_path / "bad.csv", [{}, {"geo_precision": "7"}])
    r = run("import", str(bad), "--format", "acled", "--json")
    assert r.exit_code == 1
    report = json.loads(r.output)
    assert report["imported"] == 1
    assert report["rejected"] == [
        {
            "row": 3,
            "errors": [{"field": "geo_precision", "message": "'7' is not an ACLED code (1, 2, 3)"}],
        }
    ]
    assert _count(db) == 12
    human = run("import", str(bad), "--format", "acled")
    assert "row 3: geo_precision: '7' is not an ACLED code" in human.output
