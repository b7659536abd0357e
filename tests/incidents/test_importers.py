"""Tests of sarhad.incidents.importers: pure parsing of our CSV/JSON and UCDP GED files."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import UCDP_SAMPLE
from sarhad.incidents.importers import (
    CSV_COLUMNS,
    FileFormatError,
    Format,
    ParsedRow,
    count_records,
    parse_file,
)

FIXTURES = Path(__file__).parent / "fixtures"
# Real UCDP GED 23.1 rows (CC BY 4.0, cite UCDP: Davies, Pettersson & Öberg 2023; Sundberg &
# Melander 2013), kept in tests/data with their attribution.
UCDP_FILE = UCDP_SAMPLE


def parse(path: Path, fmt: Format = "csv", side: str = "PK") -> list[ParsedRow]:
    return list(parse_file(path, fmt, default_side=side))


def messages(row: ParsedRow) -> dict[str, str]:
    return {e.field: e.message for e in row.errors}


def file_error(path: Path, fmt: Format = "csv") -> str:
    with pytest.raises(FileFormatError) as info:
        parse(path, fmt)
    assert all(e.field == "file" for e in info.value.errors)
    return " / ".join(e.message for e in info.value.errors)


# --- UCDP GED -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ucdp() -> tuple[dict[str, ParsedRow], dict[str, dict[str, str]]]:
    rows = parse(UCDP_FILE, "ucdp")
    with UCDP_FILE.open(encoding="utf-8-sig", newline="") as f:
        source = {r["id"]: r for r in csv.DictReader(f)}
    return {r.external_ref or "": r for r in rows}, source


def test_ucdp_every_real_row_parses(ucdp) -> None:
    parsed, source = ucdp
    assert len(parsed) == len(source) == 37 == count_records(UCDP_FILE, "ucdp")
    assert sorted(parsed) == sorted(f"ucdp-ged:{i}" for i in source)  # unique and complete
    for ref, row in parsed.items():
        assert row.errors == [], (ref, row.errors)
        inc = row.incident
        assert inc is not None
        assert (inc.tlp, inc.reporting_side) == ("clear", "PK")
        assert (inc.grading.source_reliability, inc.grading.information_credibility) == ("B", "2")
        assert inc.sources[-1] == "UCDP GED 23.1 (CC BY 4.0)"
        assert f"UCDP GED {ref.removeprefix('ucdp-ged:')}, dyad: " in inc.narrative


def test_ucdp_row_numbers_are_the_physical_lines(ucdp) -> None:
    parsed, _ = ucdp
    lines = UCDP_FILE.read_text(encoding="utf-8-sig").split("\n")
    for ref, row in parsed.items():
        assert lines[row.row - 1].startswith(ref.removeprefix("ucdp-ged:") + ","), ref


def test_ucdp_no_death_is_lost(ucdp) -> None:
    parsed, source = ucdp
    for ref, row in parsed.items():
        src, inc = source[ref.removeprefix("ucdp-ged:")], row.incident
        assert inc is not None
        c = inc.casualties
        killed = c.security_forces.killed + c.civilians.killed + c.assailants.killed
        note = re.search(r"(\d+) deaths of unknown affiliation \(UCDP\)", inc.narrative)
        unknown = int(note[1]) if note else 0
        assert unknown == int(src["deaths_unknown"]), ref
        assert killed + unknown == int(src["best"]), ref
        assert c.civilians.killed == int(src["deaths_civilians"]), ref


def test_ucdp_jondullah_on_the_border(ucdp) -> None:
    parsed, source = ucdp
    inc, src = parsed["ucdp-ged:119484"].incident, source["119484"]
    assert inc is not None
    assert src["dyad_name"] == "Government of Iran - Jondullah"
    assert inc.category == "armed_clash"
    assert inc.occurred_at == datetime(2006, 5, 1, tzinfo=UTC)
    assert inc.date_precision == "week"  # date_prec 2
    assert (inc.location.precision, inc.location.place) == ("border", "Pakistan-Iran border")
    assert (inc.location.lon, inc.location.lat) == (62.824632, 27.684847)
    assert inc.title == "Government of Iran - Jondullah (Pakistan-Iran border), 2006-05-01"
    # Type 1: side_a "Government of Iran" = security forces, Jondullah = assailants.
    assert inc.casualties.security_forces.killed == int(src["deaths_a"])
    assert inc.casualties.assailants.killed == int(src["deaths_b"])
    assert inc.casualties.civilians.killed == int(src["deaths_civilians"])
    assert inc.sources[0].startswith("BBC Monitoring Middle East 2006-05-04")


def test_ucdp_bla_rows(ucdp) -> None:
    parsed, _ = ucdp
    quetta = parsed["ucdp-ged:52131"].incident  # BLA - Civilians, one-sided, Quetta
    assert quetta is not None
    assert (quetta.category, quetta.location.place) == ("armed_attack", "Quetta town")
    assert quetta.casualties.civilians.killed == 1
    assert quetta.casualties.assailants.killed == quetta.casualties.security_forces.killed == 0
    # Numbered "(1) … (2) …" source blocks become two references on one line each.
    assert quetta.sources[0] == (
        "FACTBOX-Security developments in Pakistan, April 27, 27 April 2010, Reuters News"
    )
    assert len(quetta.sources) == 3
    dalbandin = parsed["ucdp-ged:274893"].incident  # BLA - Civilians, Dalbandin
    assert dalbandin is not None and dalbandin.casualties.civilians.killed == 1
    assert dalbandin.narrative.startswith("Five wounded in attack on bus ferrying Chinese")
    dasht = parsed["ucdp-ged:58473"].incident  # Government of Pakistan - BLA: 4 state deaths
    kohlu = parsed["ucdp-ged:275256"].incident  # Government of Pakistan - BLA: 3 BLA deaths
    assert dasht is not None and kohlu is not None
    assert (dasht.casualties.security_forces.killed, dasht.casualties.assailants.killed) == (4, 0)
    assert (kohlu.casualties.security_forces.killed, kohlu.casualties.assailants.killed) == (0, 3)
    assert dasht.date_precision == "week" and dasht.location.precision == "near"


def test_ucdp_unknown_deaths_and_non_state(ucdp) -> None:
    parsed, _ = ucdp
    parachinar = parsed["ucdp-ged:55870"].incident  # Ansaar ul-Islam - Lashkar-e-Islam
    assert parachinar is not None
    assert parachinar.category == "armed_clash"
    assert "9 deaths of unknown affiliation (UCDP)" in parachinar.narrative
    wazir = parsed["ucdp-ged:57977"].incident  # Government of Pakistan - TTP: 11 state, 6 civ
    assert wazir is not None
    assert (wazir.casualties.security_forces.killed, wazir.casualties.civilians.killed) == (11, 6)


def test_ucdp_quoted_sources_and_no_bylines(ucdp) -> None:
    parsed, _ = ucdp
    ajabshir = parsed["ucdp-ged:119598"].incident
    assert ajabshir is not None
    assert ajabshir.sources[:2] == [
        "Reuters News,2000-10-10,UPDATE 1-Teen killed as Iran town protests for third day.",
        "Reuters News,2000-10-10,Teen killed as Iran town protests for third day.",
    ]
    loc = parsed["ucdp-ged:370603"].incident  # its Factiva text carries a journalist's byline
    assert loc is not None
    assert loc.sources[0] == "Dawn,2020-11-13,Man killed in Indian shelling at LoC"
    assert "Naqash" not in loc.narrative + " ".join(loc.sources)
    assert "AU" not in loc.narrative.split()


def test_ucdp_malformed_values_name_the_ucdp_column(tmp_path: Path) -> None:
    with UCDP_FILE.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        header, first = reader.fieldnames, next(reader)
    assert header is not None
    bad = dict(first, latitude="north", type_of_violence="9", deaths_civilians="-2", id="")
    path = tmp_path / "ged.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, header)
        writer.writeheader()
        writer.writerows([bad, dict(first, date_start="2000-13-45", where_prec="0")])
    one, two = parse(path, "ucdp")
    assert one.incident is None and one.external_ref is None
    assert messages(one) == {
        "id": "is required",
        "type_of_violence": "'9' is not a UCDP code (1, 2, 3)",
        "deaths_civilians": "must not be negative",
        "latitude": "'north' is not a number",
    }
    assert two.row == 3 and two.incident is None
    assert set(messages(two)) == {"date_start", "where_prec"}


def test_ucdp_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "not_ged.csv"
    path.write_text("id,latitude,longitude\n1,27,62\n", encoding="utf-8")
    message = file_error(path, "ucdp")
    assert "missing required columns: type_of_violence, dyad_name" in message
    assert "deaths_unknown" in message


# --- our CSV --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed() -> dict[int, ParsedRow]:
    return {r.row: r for r in parse(FIXTURES / "ours_mixed.csv")}


def test_csv_row_numbers_count_physical_lines(mixed) -> None:
    # Line 2's narrative spans lines 2-4 and line 10 is blank.
    assert sorted(mixed) == [2, 5, 6, 7, 8, 9, 11, 12]
    assert count_records(FIXTURES / "ours_mixed.csv", "csv") == 8


def test_csv_good_row_parses_fully(mixed) -> None:
    row = mixed[2]
    assert row.errors == [] and row.external_ref == "pk-fc-2024-0012"
    inc = row.incident
    assert inc is not None
    assert inc.category == "smuggling_fuel" and inc.reporting_side == "PK"
    assert inc.occurred_at == datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    assert inc.occurred_at.utcoffset() == timedelta(hours=5)
    assert inc.date_precision == "exact"
    assert (inc.location.lon, inc.location.lat, inc.location.precision) == (61.59, 28.96, "near")
    assert inc.location.place == "near Taftan"
    assert inc.casualties.security_forces.injured == 1
    assert inc.casualties.assailants.detained == 3
    assert inc.casualties.civilians.killed == 0
    assert [(s.commodity, s.quantity, s.unit) for s in inc.seizures] == [
        ("diesel", 5000, "l"),
        ("vehicles", 2, "items"),
    ]
    assert inc.sources == ["FC Balochistan SITREP 12", "Dawn 2024-03-02"]
    assert (inc.grading.source_reliability, inc.grading.information_credibility) == ("B", "2")
    assert inc.tlp == "amber"
    assert inc.narrative.splitlines()[1] == 'Drivers detained, "fuel" in jerry cans.'


def test_csv_date_only_and_explicit_side(mixed) -> None:
    row = mixed[12]
    inc = row.incident
    assert row.errors == [] and row.external_ref is None and inc is not None
    assert inc.occurred_at == datetime(2024, 2, 10, tzinfo=UTC)
    assert inc.date_precision == "day"
    assert inc.reporting_side == "IR"
    assert (inc.grading.source_reliability, inc.grading.information_credibility) == ("C", "3")
    assert inc.sources == ["IRNA report"] and inc.tlp == "green"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (5, {"lat": "must be between -90 and 90"}),
        (7, {"sf_killed": "must not be negative"}),
        (
            8,
            {
                "seizures": "item 2 'diesel:5000:rounds': unit 'rounds' does not fit diesel; "
                "use g, kg, l, m3, t"
            },
        ),
        (9, {"title": "is required"}),
    ],
)
def test_csv_bad_rows(mixed, line: int, expected: dict[str, str]) -> None:
    row = mixed[line]
    assert row.incident is None
    assert messages(row) == expected


def test_csv_unknown_category_lists_the_choices(mixed) -> None:
    message = messages(mixed[6])["category"]
    assert message.startswith("unknown category 'smugling'; use one of armed_attack, ")
    assert "smuggling_narcotics" in message


def test_csv_reports_every_error_of_a_row_in_column_order(mixed) -> None:
    row = mixed[11]
    assert [e.field for e in row.errors] == ["occurred_at", "lon", "sf_killed", "civ_injured"]
    found = messages(row)
    assert found["sf_killed"] == "'two' is not a whole number"
    assert found["civ_injured"] == "'1.5' is not a whole number"
    assert found["lon"] == "'east' is not a number"
    assert "is not a date and time" in found["occurred_at"]


def write(tmp_path: Path, text: str, name: str = "in.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


HEADER = "title,category,occurred_at,lon,lat"


def test_csv_bom_case_spaces_and_trailing_empty_columns(tmp_path: Path) -> None:
    text = (
        " Title , CATEGORY,occurred_at,lon,lat,,\n"
        " Shots across the line , Cross_Border_Fire , 2024-02-11T22:10:00+03:30 , 61.45,29.02,,\n"
    )
    (row,) = parse(write(tmp_path, text, encoding="utf-8-sig"))
    assert row.errors == [] and row.incident is not None
    assert row.incident.title == "Shots across the line"
    assert row.incident.category == "cross_border_fire"
    assert row.incident.occurred_at.tzinfo == timezone(timedelta(hours=3, minutes=30))


def test_csv_more_values_than_columns(tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\nA title,other,2024-01-01,61,28,surplus\n")
    (row,) = parse(path)
    assert messages(row) == {"row": "has 6 values but the header has 5"}


def test_csv_time_without_zone_and_decimal_comma(tmp_path: Path) -> None:
    path = write(tmp_path, f'{HEADER}\nA title,other,2024-01-01T10:00:00,"61,5",28\n')
    (row,) = parse(path)
    assert messages(row) == {
        "occurred_at": "'2024-01-01T10:00:00' has no time zone; add one, e.g. Z or +05:00",
        "lon": "'61,5' is not a number (use a point as the decimal separator)",
    }


def test_csv_seizure_syntax(tmp_path: Path) -> None:
    path = write(
        tmp_path, f"{HEADER},seizures\nA title,other,2024-01-01,61,28,opium 3kg; heroin:x:kg\n"
    )
    (row,) = parse(path)
    assert [e.field for e in row.errors] == ["seizures", "seizures"]
    assert "must be commodity:quantity:unit" in row.errors[0].message
    assert row.errors[1].message == "item 2 'heroin:x:kg': quantity 'x' is not a number"


# --- file-level errors ----------------------------------------------------------------------


def test_unknown_and_missing_columns_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, "title,category,occurred_at,lon,latitud,sfkilled\nx,y,z,1,2,3\n")
    message = file_error(path)
    assert "unknown column 'latitud' (did you mean 'lat'?)" in message
    assert "unknown column 'sfkilled' (did you mean 'sf_killed'?)" in message
    assert "missing required columns: lat" in message


def test_missing_required_columns_all_named(tmp_path: Path) -> None:
    message = file_error(write(tmp_path, "title,category\nx,y\n"))
    assert message == "missing required columns: occurred_at, lon, lat"


def test_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\nQuetta café,other,2024-01-01,61,28\n", encoding="latin-1")
    assert "not UTF-8" in file_error(path)
    assert "UTF-16" in file_error(write(tmp_path, HEADER, encoding="utf-16"))


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n \n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    assert file_error(path) == "the file is empty"
    assert file_error(path, "json") == "the file is empty"
    assert count_records(path, "csv") == 0


def test_semicolon_csv_gets_a_hint(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError) as info:
        parse(write(tmp_path, "title;category;occurred_at;lon;lat\n"))
    assert info.value.hint is not None and "';'" in info.value.hint


def test_unclosed_quote(tmp_path: Path) -> None:
    path = write(tmp_path, f'{HEADER},narrative\nA title,other,2024-01-01,61,28,"never closed\n')
    assert file_error(path).startswith("line 2:")


def test_not_a_file(tmp_path: Path) -> None:
    assert "not a readable file" in file_error(tmp_path / "nope.csv")
    assert count_records(tmp_path / "nope.csv", "csv") == 0


def test_json_object_without_incidents(tmp_path: Path) -> None:
    path = write(tmp_path, '{"items": []}', "in.json")
    assert "list of incidents" in file_error(path, "json")
    assert "list of incidents" in file_error(write(tmp_path, '"text"', "s.json"), "json")


def test_json_row_that_is_not_an_object(tmp_path: Path) -> None:
    path = write(tmp_path, '[{"title": "ok"}, "second", [3]]', "in.json")
    assert file_error(path, "json") == "these rows are not JSON objects {...}: 2, 3"


def test_invalid_json(tmp_path: Path) -> None:
    message = file_error(write(tmp_path, '[{"title": }]', "in.json"), "json")
    assert message.startswith("not valid JSON at line 1, column 12")
    bad_line = write(tmp_path, '{"title": "a"}\n{oops\n', "in.jsonl")
    assert file_error(bad_line, "json").startswith("line 2 is not valid JSON")


# --- JSON and JSON Lines ---------------------------------------------------------------------


def test_json_happy_and_bad_rows() -> None:
    good, bad = parse(FIXTURES / "incidents.json", "json")
    assert count_records(FIXTURES / "incidents.json", "json") == 2
    assert (good.row, good.external_ref, good.errors) == (1, "ir-bg-1402-77", [])
    inc = good.incident
    assert inc is not None
    assert inc.occurred_at == datetime(2024, 1, 15, tzinfo=UTC) and inc.date_precision == "day"
    assert inc.reporting_side == "IR" and inc.location.place == "near Mirjaveh"
    assert inc.casualties.security_forces.injured == 2
    assert inc.grading.information_credibility == "2"
    assert bad.row == 2 and bad.incident is None
    found = messages(bad)
    assert set(found) == {"category", "location.lat", "seizures[1]", "extra_key"}
    assert found["location.lat"] == "must be between -90 and 90"
    assert found["seizures[1]"].startswith("unit 'rounds' does not fit diesel")
    assert found["extra_key"] == "is not a known field"


def test_json_plain_list_and_nested_unit_error(tmp_path: Path) -> None:
    item = json.loads((FIXTURES / "incidents.json").read_text())["incidents"][0]
    item["seizures"] = [{"commodity": "hashish", "quantity": 1, "unit": "bags"}]
    (row,) = parse(write(tmp_path, json.dumps([item]), "list.json"), "json", side="IR")
    assert messages(row) == {
        "seizures[0].unit": "unknown unit 'bags'; use one of g, kg, t, l, m3, items, rounds, "
        "head, PKR, IRR, USD"
    }


def test_jsonl_rows_are_line_numbers() -> None:
    path = FIXTURES / "incidents.jsonl"
    first, second, third = parse(path, "json")
    assert count_records(path, "json") == 3
    assert (first.row, second.row, third.row) == (1, 3, 4)
    assert first.external_ref == "pk-x-1" and first.incident is not None
    assert first.incident.seizures[0].unit == "head" and first.incident.reporting_side == "PK"
    assert second.errors == [] and second.incident is not None
    assert second.incident.date_precision == "day"
    assert messages(third) == {
        "title": "must be at least 3 characters long",
        "occurred_at": "has no time zone; add one, e.g. Z or +05:00",
        "reporting_side": "must be a two-letter country code in capitals, e.g. PK or IR",
    }


def test_csv_columns_are_the_documented_ones() -> None:
    doc = Path(__file__).parents[2] / "docs" / "import-formats.md"
    if doc.is_file():
        text = doc.read_text(encoding="utf-8")
        assert all(f"`{c}`" in text for c in CSV_COLUMNS)
