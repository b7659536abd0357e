"""The live feed: server-sent events from the change log, resumable with Last-Event-ID."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
from typer.testing import CliRunner

from sarhad.cli import app
from sarhad.core.auth import Role
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
