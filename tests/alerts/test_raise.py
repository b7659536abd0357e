"""Raising an alert: what is checked, what the agreement decides, and the CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from sarhad.cli import app
from sarhad.core.auth import CONSOLE, Role
from sarhad.sharing import service as sharing
from support import LiveNode

from .conftest import ALERT


@pytest.fixture
def node(live: LiveNode) -> LiveNode:
    """A node with one partner that has no URL yet (alerts queue for it)."""
    with live.db.session() as s:
        sharing.add_partner(s, name="ir-node", country="IR", actor=CONSOLE)
    return live


def _raise(node: LiveNode, body: dict[str, Any]) -> Any:
    with node.client(Role.DUTY_OFFICER) as c:
        return c.post("/api/v1/alerts", json=body)


CASES: list[tuple[dict[str, Any], str, str]] = [
    ({"tlp": "red"}, "tlp", "never leaves"),
    ({"sector": "PKIR-999"}, "sector", "no sector"),
    ({"sector": "PKIR-001"}, "sector", "not in PKIR-001"),
    ({"incident_ids": ["9b2e8f0c-3c51-4d1e-8a57-0c6f1b2d3e4f"]}, "incident_ids", "no such"),
    ({"incident_ids": ["nope"]}, "incident_ids", "not an incident id"),
    ({"location": None}, "request", "give a sector or a location"),
    ({"partner": "af-node"}, "partner", "no partner"),
    ({"priority": "urgent"}, "priority", "flash"),
    (
        {"valid_until": "2020-01-01T00:00:00Z", "valid_from": "2019-12-31T00:00:00Z"},
        "valid_until",
        "in the past",
    ),
    ({"valid_until": "9999-12-31T00:00:00Z"}, "valid_until", "more than two years ahead"),
    ({"valid_from": "0001-01-01T00:00:00Z"}, "valid_from", "before 1989-01-01"),
    ({"location": {"lon": 2.35, "lat": 48.86}}, "location", "5,312.8 km from the border line"),
    ({"location": {"lon": 28.95, "lat": 61.59}}, "location", "did you swap longitude"),
]


@pytest.mark.parametrize(
    ("over", "field", "words"), CASES, ids=[c[1] + str(i) for i, c in enumerate(CASES)]
)
def test_bad_alerts_are_refused_naming_the_field(
    node: LiveNode, over: dict[str, Any], field: str, words: str
) -> None:
    r = _raise(node, {**ALERT, **over})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert any(f["field"].startswith(field) for f in error["fields"]), error
    assert words in error["message"]


def test_the_agreement_sets_deadlines_and_the_highest_tlp(node: LiveNode) -> None:
    with node.client(Role.LIAISON) as c:
        r = c.put(
            "/api/v1/partners/ir-node/agreement",
            json={
                "alert_deadlines": {"flash": {"acknowledge_minutes": 3, "answer_minutes": 15}},
                "max_tlp": "green",
            },
        )
        assert r.status_code == 200, r.text
        terms = r.json()["alert_deadlines"]
    assert terms["flash"] == {"acknowledge_minutes": 3.0, "answer_minutes": 15.0}
    assert terms["immediate"] == {"acknowledge_minutes": 30.0, "answer_minutes": 120.0}
    r = _raise(node, {**ALERT, "priority": "flash", "tlp": "green"})
    assert r.status_code == 201
    a = r.json()
    assert a["status"] == "queued" and a["delivered_at"] is None
    from datetime import datetime

    created = datetime.fromisoformat(a["created_at"])
    assert (datetime.fromisoformat(a["ack_by"]) - created).total_seconds() == 180
    assert (datetime.fromisoformat(a["answer_by"]) - created).total_seconds() == 900
    r = _raise(node, {**ALERT, "tlp": "amber"})
    assert r.status_code == 422 and "TLP:GREEN" in r.text
    with node.client(Role.LIAISON) as c:
        bad = c.put(
            "/api/v1/partners/ir-node/agreement",
            json={"alert_deadlines": {"flash": {"acknowledge_minutes": 30, "answer_minutes": 5}}},
        )
    assert bad.status_code == 422 and "answer_minutes" in bad.text


def test_listing_filters_and_pages(node: LiveNode) -> None:
    ids = [_raise(node, {**ALERT, "text": f"n{i}"}).json()["id"] for i in range(5)]
    with node.client(Role.ANALYST) as c:
        first = c.get("/api/v1/alerts", params={"limit": 3, "direction": "outbound"}).json()
        second = c.get("/api/v1/alerts", params={"limit": 3, "cursor": first["next_cursor"]}).json()
        assert c.get("/api/v1/alerts", params={"direction": "inbound"}).json()["items"] == []
    got = [a["id"] for a in first["items"] + second["items"]]
    assert got == list(reversed(ids)) and second["next_cursor"] is None


def test_cli_raise_list_show_and_stats(node: LiveNode) -> None:
    env = {
        "SARHAD_DATA_DIR": str(node.settings.data_dir),
        "SARHAD_DATABASE_URL": node.settings.database_url or "",
        "SARHAD_NODE_SIDE": "PK",
    }
    run = CliRunner()
    r = run.invoke(
        app,
        [
            "alerts",
            "raise",
            "--priority",
            "flash",
            "--kind",
            "armed_group_movement",
            "--sector",
            "PKIR-040",
            "--text",
            "Group of 20 moving east",
            "--json",
        ],
        env=env,
    )
    assert r.exit_code == 0, r.output
    alert = json.loads(r.output)
    assert alert["place"]["sector"] == "PKIR-040" and alert["status"] == "queued"
    r = run.invoke(
        app,
        [
            "alerts",
            "raise",
            "--priority",
            "flash",
            "--kind",
            "nope",
            "--sector",
            "PKIR-040",
            "--text",
            "x",
        ],
        env=env,
    )
    assert r.exit_code == 2 and "kind" in r.output
    r = run.invoke(app, ["alerts", "list"], env=env)
    assert r.exit_code == 0 and alert["id"][:8] in r.output
    r = run.invoke(app, ["alerts", "show", alert["id"][:8]], env=env)
    assert r.exit_code == 0 and "Group of 20 moving east" in r.output and "raised" in r.output
    r = run.invoke(app, ["alerts", "ack", alert["id"][:8]], env=env)
    assert r.exit_code == 3 and "ir-node acknowledges" in r.output
    r = run.invoke(app, ["alerts", "stats", "--json"], env=env)
    assert r.exit_code == 0
    rows = json.loads(r.output)
    assert rows[0]["side"] == "PK" and rows[0]["sent"] == 1
    # Still inside its deadline: pending, apart from the on-time share (not counted as late).
    assert rows[0]["pending"] == 1 and rows[0]["in_time_share"] is None
    table = run.invoke(app, ["alerts", "stats"], env={**env, "COLUMNS": "120"})
    assert table.exit_code == 0 and "pending" in table.output
    r = run.invoke(app, ["agreements", "set", "ir-node", "--alert-deadline", "flash=2/10"], env=env)
    assert r.exit_code == 0 and "flash 2/10 min" in r.output
    r = run.invoke(app, ["agreements", "set", "ir-node", "--alert-deadline", "flash=2"], env=env)
    assert r.exit_code == 2 and "PRIORITY=ACK/ANSWER" in r.output


@pytest.mark.parametrize("hours", ["1e9", "inf", "0"])
def test_cli_refuses_a_validity_beyond_two_years_naming_the_option(
    node: LiveNode, hours: str
) -> None:
    env = {
        "SARHAD_DATA_DIR": str(node.settings.data_dir),
        "SARHAD_DATABASE_URL": node.settings.database_url or "",
        "SARHAD_NODE_SIDE": "PK",
    }
    args = ["alerts", "raise", "--priority", "flash", "--kind", "armed_group_movement"]
    r = CliRunner().invoke(
        app, [*args, "--sector", "PKIR-040", "--text", "x", "--valid-hours", hours], env=env
    )
    said = " ".join(r.output.split())
    assert r.exit_code == 2, r.output
    assert "--valid-hours: must be more than 0 and at most two years" in said
