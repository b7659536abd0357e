"""``sarhad risk`` as an analyst uses it: the table, exports, explanations and errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from analysis.helpers import AddIncident
from sarhad.border import BorderProfile
from sarhad.cli import app
from sarhad.core.config import Settings
from sarhad.core.db import Database

AT = "2025-01-01"


@pytest.fixture
def run(settings: Settings, db: Database):
    env = {
        "SARHAD_DATA_DIR": str(settings.data_dir),
        "SARHAD_DATABASE_URL": settings.database_url,
        "SARHAD_NODE_SIDE": "PK",
    }

    def invoke(*args: str, **extra_env: str) -> Result:
        return CliRunner().invoke(app, list(args), env={**env, **extra_env})

    return invoke


@pytest.fixture
def hot(add_incident: AddIncident, profile: BorderProfile) -> dict[str, str]:
    """A deadly attack in one sector and a seizure nearby; returns their ids and the sector."""
    attack = add_incident(km=405.0, category="armed_attack", killed=4)
    seizure = add_incident(km=412.0, category="smuggling_narcotics", days_ago=40)
    return {"attack": attack, "seizure": seizure, "sector": profile.sector_at_km(405.0).id}


def test_table_shows_every_sector_and_a_summary(run, hot: dict[str, str]) -> None:
    r = run("risk", "--at", AT)
    assert r.exit_code == 0, r.output
    assert "PKIR-001" in r.output and "PKIR-082" in r.output and hot["sector"] in r.output
    assert "82 sectors at 2025-01-01 00:00 UTC" in r.output
    assert "low" in r.output and "thresholds 2 / 5 / 10" in r.output


def test_top_lists_the_riskiest_sectors_first(run, hot: dict[str, str]) -> None:
    r = run("risk", "--at", AT, "--top", "3", "--format", "json")
    assert r.exit_code == 0, r.output
    items = json.loads(r.output)["items"]
    assert len(items) == 3 and items[0]["sector_id"] == hot["sector"]
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)


def test_lower_thresholds_in_settings_raise_the_level(run, hot: dict[str, str]) -> None:
    def level(**env: str) -> str:
        r = run("risk", "--at", AT, "--format", "json", **env)
        assert r.exit_code == 0, r.output
        return next(
            i["level"] for i in json.loads(r.output)["items"] if i["sector_id"] == hot["sector"]
        )

    # One deadly attack scores about 0.9: low against the defaults (2 / 5 / 10).
    assert level() == "low"
    assert (
        level(SARHAD_RISK_MEDIUM="0.5", SARHAD_RISK_HIGH="0.8", SARHAD_RISK_CRITICAL="5") == "high"
    )
    assert (
        level(SARHAD_RISK_MEDIUM="0.1", SARHAD_RISK_HIGH="0.2", SARHAD_RISK_CRITICAL="0.3")
        == "critical"
    )
    bad = run("risk", SARHAD_RISK_MEDIUM="9", SARHAD_RISK_HIGH="5")
    assert bad.exit_code == 4 and "risk_medium < risk_high" in bad.output


def test_csv_to_stdout_and_geojson_to_a_file(run, hot: dict[str, str], tmp_path: Path) -> None:
    r = run("risk", "--at", AT, "--format", "csv")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == 82
    mine = next(x for x in rows if x["sector_id"] == hot["sector"])
    assert mine["top_incident_id"] == hot["attack"] and mine["incidents"] == "2"
    target = tmp_path / "risk.geojson"
    r = run("risk", "--at", AT, "--out", str(target))  # the format comes from the suffix
    assert r.exit_code == 0, r.output
    assert f"to {target}" in r.output.replace("\n", "")
    gj = json.loads(target.read_text(encoding="utf-8"))
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == 82
    f = next(f for f in gj["features"] if f["id"] == hot["sector"])
    assert f["properties"]["top_contributions"][0]["incident_id"] == hot["attack"]


def test_explain_lists_the_contributing_incidents(run, hot: dict[str, str]) -> None:
    r = run("risk", "--at", AT, "--explain", hot["sector"])
    assert r.exit_code == 0, r.output
    assert hot["attack"][:8] in r.output and hot["seizure"][:8] in r.output
    assert "armed_attack" in r.output and "kernel" in r.output
    assert r.output.index(hot["attack"][:8]) < r.output.index(hot["seizure"][:8])
    data = json.loads(
        run("risk", "--at", AT, "--explain", hot["sector"], "--format", "json").output
    )
    assert [c["incident_id"] for c in data["contributions"]] == [hot["attack"], hot["seizure"]]
    assert sum(c["value"] for c in data["contributions"]) == pytest.approx(data["score"])
    assert sum(c["share_of_score"] for c in data["contributions"]) == pytest.approx(1.0)
    one = run("risk", "--at", AT, "--explain", hot["sector"], "--format", "csv", "--top", "1")
    rows = list(csv.DictReader(io.StringIO(one.stdout)))
    assert [x["incident_id"] for x in rows] == [hot["attack"]]


def test_origin_filter(run, hot: dict[str, str], receive_incident: AddIncident) -> None:
    theirs = receive_incident(km=700.0)

    def ids(origin: str) -> set[str]:
        r = run("risk", "--at", AT, "--origin", origin, "--format", "json")
        assert r.exit_code == 0, r.output
        return {c["incident_id"] for i in json.loads(r.output)["items"] for c in i["contributions"]}

    assert ids("partner") == {theirs}
    assert ids("local") == {hot["attack"], hot["seizure"]}
    assert ids("all") == {hot["attack"], hot["seizure"], theirs}


def test_drafts_are_named_as_not_counted(run, add_incident: AddIncident) -> None:
    add_incident(km=100.0, status="draft")
    r = run("risk", "--at", AT)
    assert r.exit_code == 0, r.output
    assert "1 draft incident(s) not counted" in r.output
    assert "sarhad incidents submit" in r.output


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("--explain", "PKIR-999"), 3, "PKIR-001 to PKIR-082"),
        (("--at", "last week"), 2, "ISO date"),
        (("--origin", "ir-node"), 2, "use all, local or partner"),
        (("--format", "xml"), 2, "table, csv, geojson, json"),
        (("--format", "table", "--out", "x.txt"), 2, "--format csv"),
        (("--out", "risk.txt"), 2, "cannot tell the format"),
        (("--explain", "PKIR-001", "--format", "geojson"), 2, "whole line"),
        (("--top", "0"), 2, "--top"),
    ],
)
def test_bad_input_says_what_to_do(run, args: tuple[str, ...], code: int, says: str) -> None:
    r = run("risk", *args)
    assert r.exit_code == code, r.output
    assert says in r.output.replace("\n", " ")


def test_unwritable_out_file(run, tmp_path: Path) -> None:
    r = run("risk", "--out", str(tmp_path / "missing" / "risk.csv"))
    assert r.exit_code == 2 and "cannot write" in r.output


def test_before_init_it_says_run_init(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        app,
        ["risk"],
        env={"SARHAD_DATA_DIR": str(tmp_path / "none"), "SARHAD_DATABASE_URL": ""},
    )
    assert r.exit_code == 4 and "sarhad init" in r.output
