"""Planning is bounded: days and teams a node allows (422 naming the field), a time and memory
limit (503 with what to try), a child process stopped when the client goes away."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from typer.testing import CliRunner

from sarhad.cli import app
from sarhad.core.auth import Role
from sarhad.core.journal import ChangeLog
from sarhad.patrols.models import PatrolPlan
from sarhad.patrols.runner import PlanRunner
from support import LiveNode, wait_for

TODAY = datetime.now(UTC).date()
#: Far more work than a second allows on any machine: coordinated, 20 + 20 teams along the
#: whole line (the default bases), ~170,000 flow variables per shift.
HEAVY = {"day": TODAY.isoformat(), "coordinated": True, "teams": 20, "partner_teams": 20}


def stored(node: LiveNode) -> tuple[int, int]:
    """(plans, change-log rows of plans) in the node's database."""
    with node.db.session() as s:
        plans = s.scalar(select(func.count()).select_from(PatrolPlan)) or 0
        logged = s.scalar(
            select(func.count()).select_from(ChangeLog).where(ChangeLog.entity == "patrol_plan")
        )
        return plans, logged or 0


def error_of(r: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = r.json()["error"]
    return error


def fields_of(r: httpx.Response) -> set[str]:
    return {f["field"] for f in error_of(r).get("fields", [])}


def test_days_and_teams_outside_the_nodes_bounds_are_422_naming_the_field(live: LiveNode):
    with live.client(Role.COMMANDER) as c:
        limits = c.get("/api/v1/patrols/config").json()["limits"]
        # Default bases: one per side along the whole line, 4 teams; the cap is 20.
        assert limits["teams"] == {"least": 1, "most": 20, "default": 4}
        assert limits["partner_teams"] == {"least": 1, "most": 20, "default": 4}
        assert limits["first_day"] == (TODAY - timedelta(days=366)).isoformat()
        assert limits["last_day"] == (TODAY + timedelta(days=31)).isoformat()
        assert limits["time_limit_s"] == 60

        def post(**body: Any) -> httpx.Response:
            return c.post("/api/v1/patrols/plans", json={"day": TODAY.isoformat(), **body})

        # The requests: all answered at once, none solved.
        r = post(partner_teams=59, coordinated=True, day="3555-02-05")
        assert r.status_code == 422, r.text
        assert fields_of(r) == {"partner_teams", "day"}
        assert "at most 20 teams per shift" in error_of(r)["message"]
        r = post(teams=1000)
        assert r.status_code == 422 and fields_of(r) == {"teams"}
        assert error_of(r)["hint"] == "leave teams empty for the configured 4 teams"
        r = post(day="9999-12-31", teams=1)
        assert r.status_code == 422 and fields_of(r) == {"day"}
        assert limits["first_day"] in error_of(r)["message"]
        r = post(day=(TODAY - timedelta(days=367)).isoformat())
        assert r.status_code == 422 and fields_of(r) == {"day"}
        r = post(day=(TODAY + timedelta(days=32)).isoformat())
        assert r.status_code == 422 and fields_of(r) == {"day"}
        # A Persian-reading commander reads the same problem and hint in Persian, digits too.
        r = c.post(
            "/api/v1/patrols/plans",
            json={"day": TODAY.isoformat(), "teams": 1000},
            headers={"Accept-Language": "fa"},
        )
        (problem,) = error_of(r)["fields"]
        assert problem["message_code"] == "patrols.teams_too_many"
        assert problem["message"].startswith("حداکثر ۲۰ تیم در هر نوبت"), problem
        assert error_of(r)["hint"] == "برای ۴ تیم پیکربندی‌شده teams را خالی بگذارید"
        # The partner's teams count only for a coordinated plan.
        assert post(teams=21).status_code == 422
        assert stored(live) == (0, 0)
        # The edges are allowed.
        r = post(day=limits["last_day"], teams=20, partner_teams=59)
        assert r.status_code == 201, r.text
        assert sum(r.json()["teams"].values()) == 20
    assert stored(live) == (1, 1)


def test_the_cli_applies_the_same_bounds(settings, db):
    env = {
        "SARHAD_DATA_DIR": str(settings.data_dir),
        "SARHAD_DATABASE_URL": settings.database_url,
        "SARHAD_NODE_SIDE": "PK",
        "SARHAD_PATROL_MAX_TEAMS": "6",
    }
    r = CliRunner().invoke(app, ["patrols", "plan", "--date", "9999-12-31"], env=env)
    assert r.exit_code != 0 and "day: plan a day from" in r.output
    r = CliRunner().invoke(
        app, ["patrols", "plan", "--date", TODAY.isoformat(), "--teams", "7"], env=env
    )
    assert r.exit_code != 0 and "teams: at most 6 teams per shift" in r.output
    r = CliRunner().invoke(app, ["patrols", "config"], env=env)
    assert "our teams per shift 1–6 (default 4)" in r.output
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PatrolPlan)) == 0


def test_a_plan_past_the_time_limit_is_503_with_what_to_try(spawn):
    node = spawn("pk-node", "PK", patrol_time_limit_s=1.0)
    with node.client(Role.COMMANDER) as c:
        r = c.post("/api/v1/patrols/plans", json=HEAVY)
    assert r.status_code == 503, r.text
    error = error_of(r)
    assert error["code"] == "SolverFailed"
    assert "time limit of 1 s" in error["message"]
    assert "fewer teams" in error["hint"] and "SARHAD_PATROL_TIME_LIMIT_S" in error["hint"]
    assert stored(node) == (0, 0)


def test_a_plan_past_the_memory_limit_is_503_and_the_node_goes_on(spawn):
    node = spawn("pk-node", "PK", patrol_memory_mb=64)
    with node.client(Role.COMMANDER) as c:
        r = c.post("/api/v1/patrols/plans", json=HEAVY)
        assert r.status_code == 503, r.text
        assert "64 MB" in error_of(r)["message"] and "fewer teams" in error_of(r)["hint"]
        assert stored(node) == (0, 0)
        # The child took the blow: the node answers, and a small plan fits.
        r = c.post("/api/v1/patrols/plans", json={"day": TODAY.isoformat(), "teams": 2})
        assert r.status_code == 201, r.text


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_a_plan_stops_when_its_client_goes_away_and_stores_nothing(spawn):
    node = spawn("pk-node", "PK", patrol_time_limit_s=600, patrol_parallel=1)
    runner = node.server.config.app.state.node.port(PlanRunner)
    gave_up: list[BaseException] = []

    def impatient() -> None:
        # The client waits 3 s and hangs up (closes the connection) without an answer.
        headers = {"Authorization": f"Bearer {node.tokens[Role.COMMANDER]}"}
        with httpx.Client(base_url=node.url, headers=headers, timeout=3.0) as c:
            try:
                c.post("/api/v1/patrols/plans", json=HEAVY)
            except httpx.TimeoutException as exc:
                gave_up.append(exc)

    client = threading.Thread(target=impatient)
    client.start()
    [pid] = wait_for(runner.pids, timeout=30, what="the plan's process")
    assert alive(pid)
    # One plan at a time on this node: a second one is told to come back, not queued.
    with node.client(Role.COMMANDER) as c:
        busy = c.post("/api/v1/patrols/plans", json={"day": TODAY.isoformat()})
    assert busy.status_code == 503 and busy.json()["error"]["code"] == "PlannerBusy"
    client.join(timeout=30)
    assert gave_up, "the plan should still have been running when the client gave up"
    wait_for(
        lambda: not alive(pid) and not runner.pids(), timeout=15, what="the plan's process killed"
    )
    time.sleep(0.5)  # anything the request might still have written would be written by now
    assert stored(node) == (0, 0)
    # The node plans again once the first is gone.
    with node.client(Role.COMMANDER) as c:
        r = c.post("/api/v1/patrols/plans", json={"day": TODAY.isoformat(), "teams": 2})
        assert r.status_code == 201, r.text
