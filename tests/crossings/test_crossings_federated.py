"""Crossing status between two real nodes on loopback: closure, mismatch, reopening, figures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sarhad.core.auth import Role
from sarhad.core.db import utcnow
from support import Desks, LiveNode, wait_for

TAFTAN = "taftan-mirjaveh"


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def board_row(node: LiveNode, crossing: str = TAFTAN) -> dict[str, Any]:
    with node.client(Role.LIAISON) as c:
        r = c.get("/api/v1/crossings")
    assert r.status_code == 200, r.text
    return next(row for row in r.json() if row["crossing"] == crossing)


def closure_alerts(node: LiveNode) -> list[dict[str, Any]]:
    with node.client(Role.LIAISON) as c:
        r = c.get("/api/v1/alerts", params={"direction": "inbound"})
    assert r.status_code == 200, r.text
    items = [a for a in r.json()["items"] if a["kind"] == "crossing_closure"]
    return sorted(items, key=lambda a: a["created_at"])


def declare(node: LiveNode, **body: Any) -> dict[str, Any]:
    with node.client(Role.DUTY_OFFICER) as c:
        r = c.post("/api/v1/crossings/declarations", json={"crossing": TAFTAN, **body})
    assert r.status_code == 201, r.text
    return r.json()


def test_closure_mismatch_and_reopening_reach_the_partner_at_once(desks: Desks) -> None:
    pk, ir = desks.pk, desks.ir

    # (1) Pakistan closes Taftan after a security incident; no sync is run.
    closed = declare(pk, status="closed", reason="security_incident", note="IED found at gate")
    theirs = wait_for(
        lambda: (t := board_row(ir)["theirs"])["status"] == "closed" and t,
        what="PK's closure on IR's board",
    )
    assert theirs["side"] == "PK" and theirs["declared"] and theirs["reason"] == "security_incident"
    assert _ts(theirs["since"]) == _ts(closed["starts_at"])
    assert theirs["declaration_id"] == closed["id"]
    alert = wait_for(lambda: closure_alerts(ir), what="the closure alert on IR")[0]
    assert alert["direction"] == "inbound" and alert["priority"] == "immediate"
    assert alert["from_side"] == "PK" and "closed" in alert["text"]
    # The default agreement gives "immediate" 30 minutes to acknowledge.
    assert _ts(alert["ack_by"]) - _ts(alert["created_at"]) == timedelta(minutes=30)

    # (2) Iran says its gate is open at the same time: both boards flag the disagreement.
    declare(ir, status="open", reason="other")
    # Their status may show a moment before the declaration that says since when: wait for both.
    pk_row = wait_for(
        lambda: (r := board_row(pk))["mismatch"] and "they say open since" in r["mismatch"] and r,
        what="the mismatch on PK's board",
    )
    assert pk_row["mismatch"].startswith("we say closed since ")
    assert ", they say open since " in pk_row["mismatch"]
    ir_row = board_row(ir)
    assert ir_row["mismatch"].startswith("we say open since ")
    assert ", they say closed since " in ir_row["mismatch"]
    assert ir_row["combined"] == pk_row["combined"] == "closed"

    # (3) Pakistan ends its closure: a second alert (the reopening), and the boards agree.
    with pk.client(Role.DUTY_OFFICER) as c:
        r = c.post(f"/api/v1/crossings/declarations/{closed['id']}/end", json={})
    assert r.status_code == 200, r.text
    alerts = wait_for(lambda: len(a := closure_alerts(ir)) == 2 and a, what="the reopening alert")
    assert "reopens" in alerts[1]["text"] and alerts[1]["priority"] == "priority"
    ir_row = wait_for(
        lambda: (r := board_row(ir))["theirs"]["status"] == "open" and r,
        what="the reopening on IR's board",
    )
    assert ir_row["mismatch"] is None
    assert wait_for(lambda: board_row(pk)["mismatch"] is None, what="PK's board agreeing")
    with ir.client(Role.LIAISON) as c:
        history = c.get("/api/v1/crossings/declarations", params={"side": "PK"}).json()
    assert [(d["id"], d["version"], d["origin"]) for d in history] == [
        (closed["id"], 2, "partner:pk-node")
    ]
    assert history[0]["ends_at"] is not None and history[0]["note"] == "IED found at gate"


def test_throughput_goes_only_once_the_agreement_shares_it(desks: Desks) -> None:
    pk, ir = desks.pk, desks.ir
    day = (utcnow() - timedelta(days=1)).date().isoformat()
    figures = {
        "crossing": TAFTAN,
        "day": day,
        "vehicles": 140,
        "trucks": 62,
        "pedestrians": 1900,
        "fuel_litres": 42000.0,
        "goods": [
            {"commodity": "dates", "quantity": 12.5, "unit": "t", "value": 3.1e6, "currency": "PKR"}
        ],
    }
    with pk.client(Role.DUTY_OFFICER) as c:
        assert c.post("/api/v1/crossings/throughput", json=figures).status_code == 201
        # Hours are shared by default: once they arrive, the figures logged before them have
        # been through the publisher too (the log is published in order).
        hours = {"days": ["mon", "tue", "wed", "thu", "fri", "sat"], "opens": "08:00"}
        r = c.put(f"/api/v1/crossings/{TAFTAN}/hours", json={**hours, "closes": "17:00"})
        assert r.status_code == 200, r.text

    def ir_hours() -> list[dict[str, Any]]:
        with ir.client(Role.LIAISON) as c:
            return [
                h for h in c.get(f"/api/v1/crossings/{TAFTAN}/hours").json() if h["side"] == "PK"
            ]

    def ir_figures() -> list[dict[str, Any]]:
        with ir.client(Role.LIAISON) as c:
            return c.get("/api/v1/crossings/throughput", params={"side": "PK"}).json()

    got = wait_for(ir_hours, what="PK's hours on IR")[0]
    assert (got["days"], got["opens"], got["closes"]) == (hours["days"], "08:00", "17:00")
    assert got["time_zone"] == "PKT (UTC+05:00)" and got["origin"] == "partner:pk-node"
    assert ir_figures() == []

    with pk.client(Role.ADMIN) as c:
        r = c.put("/api/v1/partners/ir-node/agreement", json={"share_throughput": True})
    assert r.status_code == 200 and r.json()["share_throughput"] is True, r.text
    row = wait_for(ir_figures, what="PK's figures on IR after the agreement allows them")[0]
    assert {k: row[k] for k in ("crossing", "day", "vehicles", "trucks", "pedestrians")} == {
        k: figures[k] for k in ("crossing", "day", "vehicles", "trucks", "pedestrians")
    }
    assert row["fuel_litres"] == 42000.0 and row["goods"] == figures["goods"]
    assert row["tlp"] == "amber" and row["origin"] == "partner:pk-node"
