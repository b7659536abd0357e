"""The crossings API and CLI as staff use them: roles, errors naming fields, exports."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sarhad.cli import app
from sarhad.core.auth import Role
from sarhad.core.config import Settings
from support import LiveNode

CLOSURE = {
    "crossing": "gabd-rimdan",
    "status": "closed",
    "reason": "security_incident",
    "note": "firing near the gate",
}


def test_duty_officer_declares_and_everyone_reads_the_board(live: LiveNode) -> None:
    with live.client(Role.DUTY_OFFICER) as c:
        r = c.post("/api/v1/crossings/declarations", json=CLOSURE)
        assert r.status_code == 201, r.text
        made = r.json()
    with live.client(Role.ANALYST) as c:
        board = {row["crossing"]: row for row in c.get("/api/v1/crossings").json()}
        assert board["gabd-rimdan"]["ours"]["status"] == "closed"
        assert board["gabd-rimdan"]["ours"]["declaration_id"] == made["id"]
        assert board["taftan-mirjaveh"]["ours"]["status"] == "open"
        assert set(board) == {"taftan-mirjaveh", "gabd-rimdan", "mand-pishin", "mand-pishin-market"}
        # Analysts read but do not declare; only admins publish.
        assert c.post("/api/v1/crossings/declarations", json=CLOSURE).status_code == 403
        detail = c.get("/api/v1/crossings/gabd-rimdan").json()
        assert detail["declarations"][0]["note"] == "firing near the gate"
        assert c.get("/api/v1/crossings/wagah").status_code == 404
        geo = c.get("/api/v1/crossings.geojson").json()
        assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 4
        csv_text = c.get("/api/v1/crossings/declarations", params={"format": "csv"}).text
        assert next(csv.DictReader(io.StringIO(csv_text)))["reason"] == "security_incident"
    with live.client(Role.DUTY_OFFICER) as c:
        body = {"published": True}
        assert c.put("/api/v1/crossings/gabd-rimdan/publication", json=body).status_code == 403
        end = c.post(f"/api/v1/crossings/declarations/{made['id']}/end", json={})
        assert end.status_code == 200 and end.json()["ends_at"] is not None
    with live.client(Role.ADMIN) as c:
        r = c.put("/api/v1/crossings/gabd-rimdan/publication", json={"published": True})
        assert r.json() == {"crossing": "gabd-rimdan", "published": True}
    with live.client(None) as c:
        assert c.get("/api/v1/crossings").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**CLOSURE, "crossing": "wagah"}, "crossing"),
        ({**CLOSURE, "reason": None}, "reason"),
        ({**CLOSURE, "starts_at": "2026-11-23T10:00:00Z", "ends_at": "2026-11-23T09:00:00Z"},
         "ends_at"),
        ({**CLOSURE, "starts_at": "2026-11-23T10:00"}, "starts_at"),  # no offset
        ({**CLOSURE, "starts_at": "0001-01-01T00:00:00Z"}, "starts_at"),
        ({**CLOSURE, "starts_at": "9999-01-01T00:00:00Z"}, "starts_at"),
        ({**CLOSURE, "ends_at": "9999-12-31T23:59:59Z"}, "ends_at"),
    ],
)  # fmt: skip
def test_bad_declarations_get_422_naming_the_field(
    live: LiveNode, body: dict[str, object], field: str
) -> None:
    with live.client(Role.DUTY_OFFICER) as c:
        r = c.post("/api/v1/crossings/declarations", json=body)
    assert r.status_code == 422, r.text
    assert field in {f["field"] for f in r.json()["error"]["fields"]}


def test_throughput_api_entry_import_and_csv_export(live: LiveNode) -> None:
    goods = [{"commodity": "livestock", "quantity": 8, "unit": "kg"}]
    day = {"crossing": "taftan-mirjaveh", "day": "2026-11-20", "vehicles": 10, "trucks": 4,
           "pedestrians": 70, "goods": goods}  # fmt: skip
    with live.client(Role.DUTY_OFFICER) as c:
        r = c.post("/api/v1/crossings/throughput", json=day)
        assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "goods.0.unit"
        day["goods"] = [{"commodity": "livestock", "quantity": 8, "unit": "head"}]
        assert c.post("/api/v1/crossings/throughput", json=day).status_code == 201
        bad = "crossing,date,vehicles\ntaftan-mirjaveh,2026-11-21,-1\ngabd-rimdan,2026-11-21,3\n"
        r = c.post("/api/v1/crossings/throughput/import", content=bad)
        assert r.status_code == 422
        assert [f["field"] for f in r.json()["error"]["fields"]] == ["row 2: vehicles"]
        good = "crossing,date,vehicles\ntaftan-mirjaveh,2026-11-21,5\ngabd-rimdan,2026-11-21,3\n"
        r = c.post("/api/v1/crossings/throughput/import", content=good)
        assert r.json() == {"created": 2, "updated": 0, "unchanged": 0}
        rows = list(csv.DictReader(io.StringIO(c.get(
            "/api/v1/crossings/throughput", params={"format": "csv"}).text)))  # fmt: skip
    assert [(r["date"], r["crossing"], r["vehicles"]) for r in rows] == [
        ("2026-11-20", "taftan-mirjaveh", "10"),
        ("2026-11-21", "gabd-rimdan", "3"),
        ("2026-11-21", "taftan-mirjaveh", "5"),
    ]
    assert rows[0]["commodity"] == "livestock" and rows[0]["unit"] == "head"


def _env(settings: Settings) -> dict[str, str]:
    return {
        "SARHAD_DATA_DIR": str(settings.data_dir),
        "SARHAD_DATABASE_URL": settings.effective_database_url,
        "SARHAD_NODE_SIDE": "PK",
        "COLUMNS": "200",
    }


def test_cli_declare_status_hours_history_and_throughput(
    db: object, settings: Settings, tmp_path: Path
) -> None:
    runner = CliRunner()
    env = _env(settings)

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    run("crossings", "hours", "taftan-mirjaveh", "--days", "mon,tue,wed,thu,fri,sat",
        "--opens", "08:00", "--closes", "17:00")  # fmt: skip
    assert "PK: mon,tue,wed,thu,fri,sat 08:00–17:00 PKT (UTC+05:00)" in run(
        "crossings", "hours", "taftan-mirjaveh"
    )
    said = run("crossings", "declare", "gabd-rimdan", "closed", "--reason", "protest",
               "--from", "2026-11-23T06:00+05:00")  # fmt: skip
    assert "declared gabd-rimdan closed (protest) from 2026-11-23 06:00 PKT" in said
    board = json.loads(run("crossings", "status", "--json", "--at", "2026-11-23T12:00+05:00"))
    gabd = next(r for r in board if r["crossing"] == "gabd-rimdan")
    assert gabd["ours"]["status"] == "closed" and gabd["combined"] == "closed"
    table = run("crossings", "status", "--at", "2026-11-23T12:00+05:00")
    assert "Gabd–Rimdan" in table and "nothing received" in table
    assert "protest" in run("crossings", "history", "--crossing", "gabd-rimdan")

    bad = runner.invoke(app, ["crossings", "declare", "gabd-rimdan", "closed"], env=env)
    assert bad.exit_code != 0 and "reason" in bad.output
    overlap = runner.invoke(
        app, ["crossings", "declare", "gabd-rimdan", "restricted", "--reason", "other",
              "--from", "2026-11-23T05:00+05:00", "--until", "2026-11-23T07:00+05:00"], env=env,
    )  # fmt: skip
    assert overlap.exit_code != 0 and "starts_at" in overlap.output

    path = tmp_path / "day.csv"
    text = (
        "crossing,date,trucks,commodity,quantity,unit,value,currency\n"
        "taftan-mirjaveh,2026-11-20,40,dates,3,t,900000,PKR\n"
    )
    path.write_text(text, encoding="utf-8")
    assert "1 new day(s)" in run("crossings", "throughput", "import", str(path))
    listed = run("crossings", "throughput", "list")
    assert "dates 3 t (900,000 PKR)" in listed
    assert "updated" in run("crossings", "throughput", "add", "taftan-mirjaveh",
                            "--date", "2026-11-20", "--trucks", "41")  # fmt: skip
    geo = json.loads(run("crossings", "export"))
    assert {f["properties"]["id"] for f in geo["features"]} >= {"gabd-rimdan"}
    assert "public status page on" in run("crossings", "publish", "gabd-rimdan")


@pytest.mark.parametrize("starts_at", ["9999-01-01T00:00:00Z", "0001-01-01T00:00:00Z"])
def test_an_implausible_declaration_raises_no_alert_to_partners(
    live: LiveNode, starts_at: str
) -> None:
    from sqlalchemy import func, select

    from sarhad.alerts.models import Alert
    from sarhad.core.auth import CONSOLE
    from sarhad.sharing import service as sharing

    with live.db.session() as s:  # a partner that shares crossings: closures alert it
        sharing.add_partner(s, name="ir-node", country="IR", actor=CONSOLE)
    with live.client(Role.DUTY_OFFICER) as c:
        r = c.post("/api/v1/crossings/declarations", json={**CLOSURE, "starts_at": starts_at})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["fields"][0]["field"] == "starts_at"
        assert c.get("/api/v1/crossings/declarations").json() == []
        ok = c.post("/api/v1/crossings/declarations", json=CLOSURE)  # the same, plausible
        assert ok.status_code == 201, ok.text
    with live.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 1  # the plausible one's


def test_throughput_of_an_impossible_or_future_day_is_refused(
    live: LiveNode, settings: Settings
) -> None:
    with live.client(Role.DUTY_OFFICER) as c:
        for day, words in (("9999-01-01", "in the future"), ("1900-01-01", "before 1989")):
            r = c.post(
                "/api/v1/crossings/throughput",
                json={"crossing": "taftan-mirjaveh", "day": day, "vehicles": 3},
            )
            assert r.status_code == 422, r.text
            assert words in r.json()["error"]["message"]
    r = CliRunner().invoke(
        app,
        [
            "crossings",
            "throughput",
            "add",
            "taftan-mirjaveh",
            "--date",
            "2026-02-30",
            "--vehicles",
            "3",
        ],
        env=_env(settings),
    )
    said = " ".join(r.output.split())
    assert r.exit_code == 2, r.output
    assert "--date: '2026-02-30': February 2026 has 28 days; day 30 does not exist" in said
    assert "Traceback" not in said
