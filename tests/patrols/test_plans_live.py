"""Plans through the CLI and the API, and deconfliction with a partner node on loopback."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from sarhad.cli import app
from sarhad.core.auth import Role
from support import introduce

#: A day inside the planning window whenever the tests run.
DAY = (datetime.now(UTC) - timedelta(days=11)).date().isoformat()

CONFIG = """
max_stretch = 3
[[bases]]
name = "Mashkel"
side = "PK"
first_km = 350
last_km = 450
teams = 4
[[bases]]
name = "Saravan"
side = "IR"
first_km = 300
last_km = 500
teams = 3
"""


def test_cli_plans_lists_shows_and_exports(settings, db, tmp_path: Path):
    env = {
        "SARHAD_DATA_DIR": str(settings.data_dir),
        "SARHAD_DATABASE_URL": settings.database_url,
        "SARHAD_NODE_SIDE": "PK",
    }
    r = CliRunner().invoke(app, ["patrols", "plan", "--date", DAY, "--teams", "3"], env=env)
    assert r.exit_code == 0, r.output
    assert "stored as plan" in r.output and "PK-line-" in r.output
    r = CliRunner().invoke(app, ["patrols", "list", "--json"], env=env)
    plans = json.loads(r.output)
    assert len(plans) == 1 and plans[0]["day"] == DAY
    pid = plans[0]["id"]
    assert all(len(p["sectors"]) <= 3 for p in plans[0]["patrols"])
    out = tmp_path / "plan.csv"
    r = CliRunner().invoke(
        app, ["patrols", "show", pid[:8], "--format", "csv", "--out", str(out)], env=env
    )
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == len(plans[0]["patrols"]) and rows[0]["plan_id"] == pid
    r = CliRunner().invoke(app, ["patrols", "show", pid, "--format", "geojson"], env=env)
    gj = json.loads(r.output)
    kinds = {f["properties"]["feature"] for f in gj["features"]}
    assert kinds == {"patrol", "sector"}
    assert all(f["geometry"]["type"] in ("LineString", "MultiLineString") for f in gj["features"])
    # the same seed reproduces the same patrols
    r = CliRunner().invoke(app, ["patrols", "plan", "--date", DAY, "--teams", "3",
                                 "--format", "json"], env=env)  # fmt: skip
    again = json.loads(r.output)
    assert again["seed"] == plans[0]["seed"] and again["patrols"] == plans[0]["patrols"]
    r = CliRunner().invoke(app, ["patrols", "plan", "--date", "24/11/2026"], env=env)
    assert r.exit_code != 0 and "YYYY-MM-DD" in r.output
    r = CliRunner().invoke(app, ["patrols", "show", "nope"], env=env)
    assert r.exit_code != 0 and "sarhad patrols list" in r.output


def wait_for(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def test_partner_operation_warns_our_plan_and_api_roles(spawn, tmp_path: Path):
    cfg = tmp_path / "patrols.toml"
    cfg.write_text(CONFIG)
    fast = {"courier_poll_s": 0.2, "escalation_check_s": 0.2}
    pk = spawn("pk-node", "PK", workers=True, patrol_config=cfg, patrol_buffer_km=60, **fast)
    ir = spawn("ir-node", "IR", workers=True, **fast)
    introduce(pk, ir)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    # Iran announces an operation on the line at PKIR-040 (km 390–400) for two days.
    with ir.client(Role.LIAISON) as c:
        r = c.post(
            "/api/v1/alerts",
            json={
                "priority": "priority",
                "kind": "deconfliction_notice",
                "text": "Joint operation against a smuggling camp; keep clear of the line",
                "sector": "PKIR-040",
                "valid_until": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
            },
        )
        assert r.status_code == 201, r.text
        notice_id = r.json()["id"]
    with pk.client(Role.COMMANDER) as c:
        wait_for(lambda: c.get("/api/v1/alerts", params={"direction": "inbound"}).json()["items"])
        r = c.post("/api/v1/patrols/plans", json={"day": tomorrow.isoformat()})
        assert r.status_code == 201, r.text
        plan = r.json()
    # Every patrol of the Mashkel base lies within 60 km of km 390–400: all are warned.
    assert plan["patrols"] and plan["teams"] == {"Mashkel": 4}
    assert all(p["km_from"] >= 350 and p["km_to"] <= 450 for p in plan["patrols"])
    assert {c["notice"] for c in plan["conflicts"]} == {notice_id}
    assert len(plan["conflicts"]) == len(plan["patrols"])
    with pk.client(Role.ANALYST) as c:
        assert (
            c.post("/api/v1/patrols/plans", json={"day": tomorrow.isoformat()}).status_code == 403
        )
        got = c.get(f"/api/v1/patrols/plans/{plan['id']}", params={"format": "csv"})
        assert got.status_code == 200 and got.text.startswith("plan_id,")
        assert "partner's announced operation" in got.text
        assert c.get("/api/v1/patrols/plans/none").status_code == 404
        assert c.get("/api/v1/patrols/config").json()["bases"][0]["name"] == "Mashkel"
    with pk.client(Role.COMMANDER) as c:
        r = c.post("/api/v1/patrols/plans", json={"day": tomorrow.isoformat(), "teams": 0})
        assert r.status_code == 422
        r = c.post("/api/v1/patrols/plans", json={"day": tomorrow.isoformat(), "coordinated": True})
        assert r.status_code == 201, r.text
        assert r.json()["coordinated"] and r.json()["partner_teams"] == {"Saravan": 3}
