"""The live feed: server-sent events from the change log, resumable with Last-Event-ID."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from sarhad.border import load_profile
from sarhad.cli import app
from sarhad.core.auth import CONSOLE, Principal, Role
from sarhad.core.feed import head
from sarhad.core.journal import ChangeLog
from sarhad.patrols.config import DEFAULT_SHIFTS, BaseConfig, PatrolConfig
from sarhad.patrols.planner import PlanResult, SectorInfo, plan
from sarhad.patrols.service import store_plan
from sarhad.sharing import service as sharing
from support import LiveNode

from .conftest import ALERT, Desks


def read_events(node: LiveNode, role: Role, n: int, **headers: str) -> list[dict[str, Any]]:
    """Open the feed, read ``n`` events, close it."""
    events: list[dict[str, Any]] = []
    hdrs = {"Authorization": f"Bearer {node.tokens[role]}", **headers}
    with (
        httpx.Client(base_url=node.url, timeout=20) as c,
        c.stream(
            "GET", "/api/v1/feed", headers=hdrs, params={"after": "0"} if not headers else {}
        ) as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        event: dict[str, Any] = {}
        for line in r.iter_lines():
            if line.startswith("id:"):
                event["id"] = int(line[3:])
            elif line.startswith("event:"):
                event["event"] = line[6:].strip()
            elif line.startswith("data:"):
                event["data"] = json.loads(line[5:])
            elif line == "" and "data" in event:
                events.append(event)
                event = {}
                if len(events) == n:
                    break
    return events


def test_feed_streams_alerts_and_incidents_and_resumes(desks: Desks) -> None:
    pk, ir = desks.pk, desks.ir
    with pk.client(Role.DUTY_OFFICER) as c:
        alert = c.post("/api/v1/alerts", json=ALERT).json()
    # PK's log: the alert raised, delivered, then Iran's receipt came back.
    first = read_events(pk, Role.DUTY_OFFICER, 3)
    assert [e["event"] for e in first] == ["alert", "alert", "alert"]
    assert [e["data"]["op"] for e in first] == ["raised", "delivered", "received"]
    assert all(e["data"]["id"] == alert["id"] for e in first)
    assert first[0]["data"]["summary"]["priority"] == "immediate"
    assert [e["id"] for e in first] == sorted(e["id"] for e in first)

    # Reconnecting with Last-Event-ID gives what came after, nothing twice.
    with ir.client(Role.DUTY_OFFICER) as c:
        c.post(f"/api/v1/alerts/{alert['id']}/acknowledge")
    more = read_events(pk, Role.DUTY_OFFICER, 1, **{"Last-Event-ID": str(first[-1]["id"])})
    assert more[0]["id"] > first[-1]["id"]
    assert more[0]["data"]["op"] == "acknowledged"


def test_feed_shows_each_role_only_what_it_may_read(live: LiveNode) -> None:
    # Analysts read incidents and alerts.
    with (
        live.client(Role.ANALYST) as c,
        c.stream("GET", "/api/v1/feed", params={"entities": "alert"}) as r,
    ):
        assert r.status_code == 200
    with httpx.Client(base_url=live.url) as c:
        assert c.get("/api/v1/feed").status_code == 401
    with live.client(Role.ADMIN) as c:
        r = c.get("/api/v1/feed", params={"entities": "nonsense"})
        assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "entities"
        r = c.get("/api/v1/feed", headers={"Last-Event-ID": "abc"})
        assert r.status_code == 422


def test_cli_watch_shows_a_partner_alert_live(desks: Desks) -> None:
    pk, ir = desks.pk, desks.ir
    result: dict[str, Any] = {}

    def watch() -> None:
        result["run"] = CliRunner().invoke(
            app,
            [
                "alerts",
                "watch",
                "--url",
                ir.url,
                "--token",
                ir.tokens[Role.LIAISON],
                "--entities",
                "alert",
                "--max-events",
                "2",
                "--timeout",
                "20",
            ],
        )

    t = threading.Thread(target=watch)
    t.start()
    import time

    time.sleep(0.5)  # the watcher connects and starts from "now"
    with pk.client(Role.DUTY_OFFICER) as c:
        c.post(
            "/api/v1/alerts",
            json={**ALERT, "priority": "flash", "text": "Armed group at the fence"},
        )
    t.join(timeout=30)
    run = result["run"]
    assert run.exit_code == 0, run.output
    assert "FLASH" in run.output and "raised" in run.output and "received" in run.output
    assert "Armed group at the fence" in run.output


# --- any mix of kinds in one read of the change log ----------------------------------------

#: A small patrol configuration: one base, so a real plan is solved in a moment.
ONE_BASE = PatrolConfig(
    DEFAULT_SHIFTS, (BaseConfig("Mashkel", "PK", 350.0, 450.0, 3),), max_stretch=3
)


@functools.cache
def solved_plan() -> PlanResult:
    """A real plan from the planner (solved once; each write stores it as a new plan)."""
    profile = load_profile()
    sectors = [SectorInfo(s.id, s.start_km, s.end_km) for s in profile.sectors]
    return plan(
        day=datetime.now(UTC).date(),
        side="PK",
        sectors=sectors,
        risk=np.ones(len(sectors)),
        levels=["low"] * len(sectors),
        config=ONE_BASE,
        seed=7,
    )


def write_incident(node: LiveNode, k: int) -> None:
    with node.client(Role.DUTY_OFFICER) as c:
        r = c.post(
            "/api/v1/incidents",
            json={
                "title": f"Fuel convoy {k}",
                "category": "smuggling_fuel",
                "occurred_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
                "location": {"lon": 61.59, "lat": 29.0},
                "reporting_side": "PK",
            },
        )
        assert r.status_code == 201, r.text


def write_alert(node: LiveNode, k: int) -> None:
    with node.client(Role.DUTY_OFFICER) as c:
        r = c.post("/api/v1/alerts", json={**ALERT, "text": f"{ALERT['text']} ({k})"})
        assert r.status_code == 201, r.text


def write_plan(node: LiveNode, k: int) -> None:
    with node.db.session() as s:
        store_plan(
            s,
            result=solved_plan(),
            actor=Principal("commander-1", Role.COMMANDER),
            config=ONE_BASE,
            settings=node.settings,
        )


def write_declaration(node: LiveNode, k: int) -> None:
    # Each declaration ends the crossing's running one: two change-log rows from one write.
    with node.client(Role.DUTY_OFFICER) as c:
        r = c.post(
            "/api/v1/crossings/declarations",
            json={"crossing": "gabd-rimdan", "status": "closed", "reason": "security_incident",
                  "note": f"firing near the gate ({k})"},
        )  # fmt: skip
        assert r.status_code == 201, r.text


WRITERS: dict[str, Callable[[LiveNode, int], None]] = {
    "incident": write_incident,
    "alert": write_alert,
    "patrol_plan": write_plan,
    "crossing_declaration": write_declaration,
}


def read_feed(node: LiveNode, n: int, *, after: int | None = None, last: int | None = None):
    """``n`` events from the feed, from ``after`` or resuming after ``last`` (Last-Event-ID)."""
    headers = {"Authorization": f"Bearer {node.tokens[Role.DUTY_OFFICER]}"}
    params = {}
    if last is not None:
        headers["Last-Event-ID"] = str(last)
    else:
        params["after"] = str(after)
    events: list[dict[str, Any]] = []
    event: dict[str, Any] = {}
    with (
        httpx.Client(base_url=node.url, timeout=20) as c,
        c.stream("GET", "/api/v1/feed", headers=headers, params=params) as r,
    ):
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("id:"):
                event["id"] = int(line[3:])
            elif line.startswith("event:"):
                event["event"] = line[6:].strip()
            elif line.startswith("data:"):
                event["data"] = json.loads(line[5:])
            elif line == "" and "data" in event:
                events.append(event)
                event = {}
                if len(events) == n:
                    break
    return events


@pytest.fixture
def feed_node(live: LiveNode) -> LiveNode:
    """A node with a partner (alerts queue for it: no partner node needed)."""
    with live.db.session() as s:
        sharing.add_partner(s, name="ir-node", country="IR", actor=CONSOLE)
    return live


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kinds=st.lists(st.sampled_from(sorted(WRITERS)), min_size=1, max_size=8),
    cut=st.integers(min_value=0, max_value=100),
)
@example(kinds=["patrol_plan", "patrol_plan"], cut=1)
@example(kinds=["patrol_plan", "incident", "alert", "crossing_declaration"] * 2, cut=3)
def test_any_mix_of_kinds_streams_once_each_with_a_summary(
    feed_node: LiveNode, kinds: list[str], cut: int
) -> None:
    node = feed_node
    with node.db.session() as s:
        start = head(s)
    for k, kind in enumerate(kinds):
        WRITERS[kind](node, k)
    with node.db.session() as s:
        logged = [
            (r.seq, r.entity, r.entity_id)
            for r in s.scalars(
                select(ChangeLog).where(ChangeLog.seq > start).order_by(ChangeLog.seq)
            )
            if r.entity in WRITERS
        ]
    assert {e for _, e, _ in logged} == set(kinds)
    # All of it in one read of the change log, cut anywhere, resumed with Last-Event-ID.
    first = read_feed(node, 1 + cut % len(logged), after=start)
    rest = len(logged) - len(first)
    events = first + (read_feed(node, rest, last=first[-1]["id"]) if rest else [])
    assert [(e["id"], e["event"], e["data"]["id"]) for e in events] == logged
    for e in events:
        assert e["data"]["summary"], f"{e['event']} {e['id']} has no summary"
    plans = [e["data"]["summary"] for e in events if e["event"] == "patrol_plan"]
    assert all(p["patrols"] == len(solved_plan().patrols) for p in plans)
