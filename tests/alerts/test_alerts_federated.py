"""Alerts between two real nodes on loopback: push at once, steps back, outages, audit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from sarhad.alerts.models import Alert, AlertStep
from sarhad.core.auth import Role
from sarhad.core.journal import AuditLog, verify_audit
from sarhad.federation.models import Receipt, SyncCursor
from support import LiveNode

from .conftest import ALERT, Desks, wait_for


def get(node: LiveNode, alert_id: str, role: Role = Role.LIAISON) -> dict[str, Any]:
    with node.client(role) as c:
        r = c.get(f"/api/v1/alerts/{alert_id}")
    return r.json() if r.status_code == 200 else {}


def raise_(node: LiveNode, **over: Any) -> dict[str, Any]:
    with node.client(Role.DUTY_OFFICER) as c:
        r = c.post("/api/v1/alerts", json={**ALERT, **over})
    assert r.status_code == 201, r.text
    return r.json()


def test_alert_is_pushed_at_once_and_every_step_comes_back(desks: Desks) -> None:
    pk, ir = desks.pk, desks.ir
    sent = raise_(pk)
    # Enriched by locate, with the deadline the (default) agreement gives "immediate".
    assert sent["place"]["side"] == "PK" and sent["place"]["sector"].startswith("PKIR-")
    assert sent["place"]["nearest_crossing"] == "taftan-mirjaveh"
    minutes = (_ts(sent["ack_by"]) - _ts(sent["created_at"])).total_seconds() / 60
    assert abs(minutes - 30) < 1e-6

    # No sync is run: the courier pushes it, and Iran's receipt comes back.
    got = wait_for(lambda: get(ir, sent["id"]), what="the alert on the Iranian node")
    assert got["direction"] == "inbound" and got["status"] == "received"
    assert got["from_side"] == "PK" and got["to_side"] == "IR"
    assert got["ack_by"] == sent["ack_by"] and got["text"] == ALERT["text"]
    wait_for(lambda: get(pk, sent["id"])["status"] == "received", what="receipt at PK")
    assert get(pk, sent["id"])["delivered_at"] is not None

    with ir.client(Role.DUTY_OFFICER) as c:
        assert c.post(f"/api/v1/alerts/{sent['id']}/acknowledge").status_code == 200
        again = c.post(f"/api/v1/alerts/{sent['id']}/acknowledge")
        assert again.status_code == 409
        bad = c.post(f"/api/v1/alerts/{sent['id']}/answer", json={"answer": "declined"})
        assert bad.status_code == 422 and "reason" in bad.text
    wait_for(lambda: get(pk, sent["id"])["status"] == "acknowledged", what="ack at PK")
    with ir.client(Role.DUTY_OFFICER) as c:
        r = c.post(
            f"/api/v1/alerts/{sent['id']}/answer",
            json={"answer": "declined", "text": "No patrol free in that sector before dawn"},
        )
        assert r.status_code == 200, r.text
    pk_view = wait_for(
        lambda: (a := get(pk, sent["id"]))["status"] == "answered" and a,
        what="answer at PK",
    )
    assert pk_view["answer"] == "declined"
    assert pk_view["answer_text"] == "No patrol free in that sector before dawn"
    assert pk_view["acknowledged_at"] is not None and pk_view["next_escalation_at"] is None

    # Every step has its time on both sides, in order, and an audit entry on each node.
    steps = [s["step"] for s in pk_view["steps"]]
    assert steps == ["raised", "delivered", "received", "acknowledged", "answered"]
    ir_steps = [s["step"] for s in get(ir, sent["id"])["steps"]]
    assert ir_steps == ["raised", "received", "acknowledged", "answered"]
    for node, n_steps in ((pk, 5), (ir, 4)):
        with node.db.session() as s:
            actions = s.scalars(
                select(AuditLog.action).where(AuditLog.entity_id == sent["id"])
            ).all()
            assert len(actions) == n_steps
            assert verify_audit(s).ok


def test_the_sender_cannot_acknowledge_and_the_receiver_cannot_withdraw(desks: Desks) -> None:
    sent = raise_(desks.pk)
    wait_for(lambda: get(desks.ir, sent["id"]), what="delivery")
    with desks.pk.client(Role.DUTY_OFFICER) as c:
        r = c.post(f"/api/v1/alerts/{sent['id']}/acknowledge")
        assert r.status_code == 409 and "ir-node acknowledges" in r.json()["error"]["message"]
    with desks.ir.client(Role.DUTY_OFFICER) as c:
        r = c.post(f"/api/v1/alerts/{sent['id']}/withdraw", json={"reason": "no"})
        assert r.status_code == 409
    with desks.pk.client(Role.ANALYST) as c:  # analysts read alerts but do not raise them
        assert c.post("/api/v1/alerts", json=ALERT).status_code == 403
        assert c.get("/api/v1/alerts").status_code == 200


def test_withdrawal_reaches_the_partner_and_stops_escalation(desks: Desks) -> None:
    sent = raise_(desks.pk)
    wait_for(lambda: get(desks.ir, sent["id"]), what="delivery")
    with desks.pk.client(Role.DUTY_OFFICER) as c:
        r = c.post(f"/api/v1/alerts/{sent['id']}/withdraw", json={"reason": "Convoy turned back"})
        assert r.status_code == 200
    ir_view = wait_for(
        lambda: (a := get(desks.ir, sent["id"]))["status"] == "withdrawn" and a,
        what="withdrawal at IR",
    )
    assert ir_view["withdraw_reason"] == "Convoy turned back"
    assert ir_view["next_escalation_at"] is None
    with desks.ir.client(Role.DUTY_OFFICER) as c:
        assert c.post(f"/api/v1/alerts/{sent['id']}/acknowledge").status_code == 409


def test_alerts_raised_while_the_partner_is_down_arrive_in_order_once(desks: Desks) -> None:
    pk, ir = desks.pk, desks.ir
    ir.stop()
    ids = [raise_(pk, text=f"Alert number {i}")["id"] for i in range(5)]
    for i in ids:
        assert get(pk, i)["status"] == "queued"
    with pk.db.session() as s:
        assert s.get(SyncCursor, _partner_id(pk)).last_error  # the courier tried and failed
    ir.start()
    wait_for(lambda: all(get(ir, i) for i in ids), timeout=30, what="delivery after restart")
    with ir.db.session() as s:
        order = s.scalars(
            select(Alert.id).where(Alert.direction == "inbound").order_by(Alert.received_at)
        ).all()
    assert list(order) == ids  # in the order they were raised
    wait_for(lambda: all(get(pk, i)["status"] == "received" for i in ids), what="receipts")

    # The sender forgets what it pushed (e.g. a crash before its cursor was saved) and sends
    # everything again: the partner recognises each object and stores nothing twice.
    with pk.db.session() as s:
        s.get(SyncCursor, _partner_id(pk)).pushed_seq = 0
    pk_waker = pk.client(Role.DUTY_OFFICER)
    with pk_waker as c:  # any alert write wakes the courier
        c.post("/api/v1/alerts", json={**ALERT, "text": "one more"})
    wait_for(lambda: _count(ir, Alert) == 6, what="the sixth alert")
    with ir.db.session() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(AlertStep).where(AlertStep.step == "received")
            )
            == 6
        )
        receipts = s.scalar(
            select(func.count()).select_from(Receipt).where(Receipt.stix_id.like("sarhad-alert--%"))
        )
        assert receipts == 6


def _partner_id(node: LiveNode) -> str:
    from sarhad.sharing.models import Partner

    with node.db.session() as s:
        return s.scalars(select(Partner.id)).one()


def _count(node: LiveNode, model: type) -> int:
    with node.db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _ts(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))
