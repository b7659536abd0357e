"""``sarhad border ...`` through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sarhad.border import BorderProfile
from sarhad.border.cli import app

MINI_DIR = Path(__file__).parent / "fixtures" / "mini"
# Start every invocation from a clean environment: no settings from the machine running tests.
CLEAN_ENV: dict[str, str | None] = {
    "SARHAD_CONFIG": None,
    "SARHAD_PROFILE_DIR": None,
    "SARHAD_SECTOR_LENGTH_KM": None,
}


def run(*args: str, env: dict[str, str | None] | None = None):
    result = CliRunner().invoke(app, list(args), env={**CLEAN_ENV, **(env or {})})
    assert "Traceback" not in result.output
    return result


def test_info_json_is_profile_info(pkir: BorderProfile):
    result = run("info", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(json.dumps(pkir.info()))


def test_info_table():
    result = run("info")
    assert result.exit_code == 0
    assert "816.6 km" in result.stdout and "82 × 10 km" in result.stdout
    assert "taftan-mi" in result.stdout


def test_info_profile_and_sector_length_options():
    data = json.loads(run("info", "--json", "--profile", str(MINI_DIR)).stdout)
    assert data["id"] == "mini" and data["sectors"] == 11 and len(data["posts"]) == 2
    data = json.loads(run("info", "--json", "--sector-length-km", "25").stdout)
    assert data["sectors"] == 33 and data["sector_length_km"] == 25.0


def test_settings_from_environment_and_override():
    env = {"SARHAD_PROFILE_DIR": str(MINI_DIR), "SARHAD_SECTOR_LENGTH_KM": "10"}
    data = json.loads(run("info", "--json", env=env).stdout)
    assert data["id"] == "mini" and data["sectors"] == 6
    data = json.loads(
        run("info", "--json", "--profile", str(MINI_DIR), "--sector-length-km", "5", env=env).stdout
    )
    assert data["sectors"] == 11


def test_locate_json_keys():
    result = run("locate", "61.58661", "28.94687", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert list(data) == ["side", "distance_m", "sector", "km", "nearest_crossing"]
    assert data["side"] == "PK" and data["sector"] == "PKIR-014"
    assert data["nearest_crossing"]["id"] == "taftan-mirjaveh"
    assert data["nearest_crossing"]["name"] == "Taftan–Mirjaveh"
    assert set(data["nearest_crossing"]) == {"id", "name", "distance_m"}


def test_locate_language():
    data = json.loads(run("locate", "--json", "--lang", "ur", "61.75403", "26.07937").stdout)
    assert data["side"] == "IR" and data["nearest_crossing"]["name"] == "مند–پشین"


def test_locate_human_output():
    result = run("locate", "60.8629", "29.4963")
    assert result.exit_code == 0
    assert "Side:              IR" in result.stdout
    assert "PKIR-00" in result.stdout and "Taftan–Mirjaveh" in result.stdout


@pytest.mark.parametrize("args", [("-5.0", "40.0"), ("--", "-5.0", "40.0"), ("-5", "-40.5")])
def test_locate_negative_coordinates(args: tuple[str, ...]):
    result = run("locate", "--json", *args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["side"] == "outside"


@pytest.mark.parametrize(
    ("args", "field"),
    [(("61.5", "91"), "lat"), (("nan", "28"), "lon"), (("-181", "28"), "lon")],
)
def test_locate_bad_coordinates_exit_2(args: tuple[str, ...], field: str):
    result = run("locate", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{field}:" in result.stderr


def test_locate_not_a_number():
    result = run("locate", "abc", "28")
    assert result.exit_code == 2 and "lon" in result.stderr.lower()


def test_sectors_json_and_geojson():
    rows = json.loads(run("sectors", "--json").stdout)
    assert len(rows) == 82 and rows[0]["id"] == "PKIR-001" and rows[-1]["end_km"] == 816.591
    fc = json.loads(run("sectors", "--geojson").stdout)
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 82
    table = run("sectors", "--profile", str(MINI_DIR))
    assert table.exit_code == 0 and "MINI-011" in table.stdout


def test_export_geojson(tmp_path: Path, pkir: BorderProfile):
    out = tmp_path / "pk-ir.geojson"
    result = run("export", "--geojson", str(out), "--lang", "fa")
    assert result.exit_code == 0 and str(out) in result.stderr
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(
        json.dumps(pkir.to_geojson("fa"))
    )


def test_export_to_unwritable_path(tmp_path: Path):
    result = run("export", "--geojson", str(tmp_path / "missing" / "x.geojson"))
    assert result.exit_code == 1 and "cannot write" in result.stderr


def test_broken_profile_is_a_clear_error(tmp_path: Path):
    result = run("info", "--profile", str(tmp_path))
    assert result.exit_code == 1
    assert "profile.toml" in result.stderr and result.stdout == ""


def test_locate_asks_whether_longitude_and_latitude_were_swapped() -> None:
    from typer.testing import CliRunner

    from sarhad.border.cli import app as border_app

    runner = CliRunner()
    r = runner.invoke(border_app, ["locate", "28.95", "61.59"], env={"COLUMNS": "200"})
    said = " ".join(r.output.split())
    assert r.exit_code == 0, r.output
    assert "did you swap longitude and latitude? lon 61.59, lat 28.95 is near the line" in said
    assert "PKIR-" not in said and "Sector: none (beyond the 150 km limit)" in said
    r = runner.invoke(border_app, ["locate", "2.35", "48.86", "--json"])
    data = __import__("json").loads(r.output)
    assert (data["sector"], data["km"], data["beyond_km_from_line"]) == (None, None, 150.0)
    r = runner.invoke(border_app, ["locate", "28.95", "95"], env={"COLUMNS": "200"})
    said = " ".join(r.output.split())
    assert r.exit_code == 2 and "lat: must be between -90 and 90, got 95" in said
    assert "did you swap longitude and latitude? lon 95, lat 28.95" in said
    r = runner.invoke(border_app, ["locate", "61.59", "28.95"])
    assert r.exit_code == 0 and "did you swap" not in r.output and "PKIR-014" in r.output
