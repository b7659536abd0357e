"""The ``sarhad`` command as an operator uses it: init, accounts, incidents, import, audit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from conftest import UCDP_SAMPLE
from sarhad.cli import app
from sarhad.core.config import Settings
from sarhad.core.db import Database
from sarhad.incidents.models import Incident

MIXED = Path(__file__).parent / "incidents" / "fixtures" / "ours_mixed.csv"


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


def count(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Incident))


def test_init_is_idempotent_and_prints_an_admin_token(run) -> None:
    first = run("init", "--admin", "hq-admin")
    assert first.exit_code == 0, first.output
    assert "srh_" in first.output
    again = run("init")
    assert again.exit_code == 0 and "id " in again.output
    dup = run("users", "add", "hq-admin", "--role", "admin")
    assert dup.exit_code == 3 and "already exists" in dup.output


def test_users_add_prints_a_token_once(run, db: Database) -> None:
    r = run("users", "add", "taftan-duty-1", "--role", "duty_officer", "--json")
    assert r.exit_code == 0, r.output
    token = json.loads(r.output)["token"]
    with db.session() as s:
        stored = s.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
    assert token not in stored and len(stored) == 1  # only the hash is kept
    bad = run("users", "add", "bad name!", "--role", "admin")
    assert bad.exit_code == 2 and "username" in bad.output


def test_incidents_add_list_show(run) -> None:
    r = run(
        "incidents",
        "add",
        "--title",
        "Hashish seized",
        "--category",
        "smuggling_narcotics",
        "--lon",
        "61.60",
        "--lat",
        "28.95",
        "--seizure",
        "hashish:120:kg",
        "--asl-detained",
        "2",
        "--json",
    )
    assert r.exit_code == 0, r.output
    rec = json.loads(r.output)
    assert rec["enrichment"]["side"] == "PK" and rec["seizures"][0]["quantity"] == 120
    assert run("incidents", "submit", rec["id"]).exit_code == 0
    listed = json.loads(run("incidents", "list", "--json").output)
    assert [(i["id"], i["status"]) for i in listed] == [(rec["id"], "submitted")]
    shown = json.loads(run("incidents", "show", rec["id"], "--history", "--json").output)
    assert [v["op"] for v in shown["versions"]] == ["create", "status:submitted"]
    human = run("incidents", "show", rec["id"])
    assert human.exit_code == 0 and "sector" in human.output


def test_incidents_add_bad_input_names_the_field(run, db: Database) -> None:
    r = run(
        "incidents",
        "add",
        "--title",
        "Bad",
        "--category",
        "armed_attack",
        "--lon",
        "61.6",
        "--lat",
        "95",
    )
    assert r.exit_code == 2
    assert "--lat: " in r.output and "Traceback" not in r.output
    r = run(
        "incidents",
        "add",
        "--title",
        "Bad unit",
        "--category",
        "smuggling_fuel",
        "--lon",
        "61.6",
        "--lat",
        "28.9",
        "--seizure",
        "diesel:10:rounds",
    )
    assert r.exit_code == 2 and "does not fit diesel" in r.output
    assert count(db) == 0
    assert run("incidents", "show", "missing-id").exit_code == 3


def test_import_ucdp_sample_is_complete_and_idempotent(run, db: Database) -> None:
    # GED covers both countries: events beyond the node's 150 km from the line are row
    # errors, unless the import marks them far from the line.
    r = run("import", str(UCDP_SAMPLE), "--format", "ucdp", "--json")
    assert r.exit_code == 1, r.output
    first = json.loads(r.output)
    near = first["imported"]
    assert 0 < near < 37 and near + len(first["rejected"]) == 37
    assert all(
        x["errors"][0]["field"] == "location"
        and "km from the border line" in x["errors"][0]["message"]
        for x in first["rejected"]
    )
    r = run("import", str(UCDP_SAMPLE), "--format", "ucdp", "--far-from-line", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {"imported": 37 - near, "already_present": near, "rejected": []}
    args = ("import", str(UCDP_SAMPLE), "--format", "ucdp", "--far-from-line", "--json")
    again = json.loads(run(*args).output)
    assert again["imported"] == 0 and again["already_present"] == 37
    assert count(db) == 37
    with db.session() as s:
        far = s.scalars(select(Incident).where(Incident.far_from_line.is_(True))).all()
        assert len(far) == 37 - near and all(i.sector_id is None and i.km is None for i in far)
    with db.session() as s:
        jondullah = s.scalar(select(Incident).where(Incident.place == "Pakistan-Iran border"))
        assert jondullah is not None and jondullah.location_precision == "border"
        assert jondullah.distance_m < 50_000  # placed near the line by locate


def test_import_reports_bad_rows_and_writes_nothing_of_them(run, db: Database) -> None:
    r = run("import", str(MIXED), "--format", "csv", "--json")
    assert r.exit_code == 1
    report = json.loads(r.output)
    assert report["imported"] == 2
    assert [x["row"] for x in report["rejected"]] == [5, 6, 7, 8, 9, 11]
    assert report["rejected"][0]["errors"] == [
        {"field": "lat", "message": "must be between -90 and 90"}
    ]
    assert count(db) == 2
    human = run("import", str(MIXED), "--format", "csv")
    assert "row 6: category" in human.output and "already present 2" in human.output
    assert count(db) == 2  # re-import adds nothing twice


def test_import_unreadable_file(run, tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_bytes(b"\xff\xfe\x00garbage")
    r = run("import", str(f), "--format", "csv")
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert run("import", str(f), "--format", "xml").exit_code == 2


def test_audit_verify_exit_codes(run, db: Database) -> None:
    run(
        "incidents",
        "add",
        "--title",
        "Clash",
        "--category",
        "armed_clash",
        "--lon",
        "61.6",
        "--lat",
        "28.9",
    )
    ok = run("audit", "verify", "--json")
    assert ok.exit_code == 0 and json.loads(ok.output)["ok"] is True
    with db.engine.begin() as conn:
        if db.backend == "sqlite":
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1"))
    bad = run("audit", "verify")
    assert bad.exit_code == 1 and "entry 1: content was changed" in bad.output


def test_commands_before_init_say_what_to_do(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        app,
        ["incidents", "list"],
        env={"SARHAD_DATA_DIR": str(tmp_path / "none"), "SARHAD_DATABASE_URL": ""},
    )
    assert r.exit_code == 4 and "sarhad init" in r.output


def test_help_shows_no_value_after_a_flag(run) -> None:
    r = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "80"})
    assert r.exit_code == 0
    lines = {line.split()[1]: line for line in r.output.splitlines() if line.startswith("│ --")}
    assert "<bool>" not in r.output
    assert "<path>" in lines["--config"]  # an option that takes a value still says so
    listed = run("incidents", "list", "--help")
    assert "--json" in listed.output and "<bool>" not in listed.output


LONG_TITLE = "Armed group fired on the post from across the line and withdrew north at dusk"


def test_incidents_list_fits_an_80_column_terminal(settings: Settings, db: Database) -> None:
    env = {
        "SARHAD_DATA_DIR": str(settings.data_dir),
        "SARHAD_DATABASE_URL": settings.database_url,
        "SARHAD_NODE_SIDE": "PK",
    }
    for title, lon, lat in ((LONG_TITLE, "61.60", "28.95"), ("Fuel stopped", "62.03", "26.14")):
        made = CliRunner().invoke(
            app,
            ["incidents", "add", "--title", title, "--category", "cross_border_fire",
             "--lon", lon, "--lat", lat],
            env=env,
        )  # fmt: skip
        assert made.exit_code == 0, made.output
    listed = json.loads(CliRunner().invoke(app, ["incidents", "list", "--json"], env=env).output)
    for width in (80, 200):
        r = CliRunner().invoke(app, ["incidents", "list"], env={**env, "COLUMNS": str(width)})
        assert r.exit_code == 0, r.output
        lines = r.output.splitlines()
        assert max(len(line) for line in lines) <= width, r.output
        rows = [line for line in lines if any(i["id"][:8] in line for i in listed)]
        assert len(rows) == 2, r.output  # one line per incident: no title wrapped
        for i in listed:
            [row] = [line for line in rows if i["id"][:8] in line]
            assert i["sector"] in row, row  # whole sector ids, never "PKIR-0…"
        if width == 80:
            assert "…" in r.output  # the long title is cut, on its one line
            assert "left out at this width" in r.output
        else:
            assert LONG_TITLE in r.output and "left out" not in r.output


def test_bad_input_prints_each_problem_once_naming_the_option(run) -> None:
    r = run(
        "incidents", "add", "--title", "ab", "--category", "other",
        "--lon", "61.6", "--lat", "28.9", "--sf-killed", "-1",
    )  # fmt: skip
    assert r.exit_code == 2
    assert r.output.count("at least 3 characters") == 1
    assert "--title: " in r.output and "--sf-killed: " in r.output
    assert "Value error" not in r.output and "casualties." not in r.output
