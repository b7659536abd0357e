"""Escalation: from stored deadlines, on both sides, level after level, across restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from sarhad.alerts import deadlines, reading, sender
from sarhad.alerts.models import AlertStep
from sarhad.alerts.ports import Counterpart
from sarhad.alerts.schemas import AlertIn, DeadlineTerms, default_deadlines
from sarhad.border import BorderProfile
from sarhad.core.auth import CONSOLE, Principal, Role
from sarhad.core.config import Settings
from sarhad.core.db import Database
from sarhad.core.markings import TLP
from sarhad.sharing import service as sharing
from sarhad.sharing.schemas import AgreementIn
from support import LiveNode

from .conftest import ALERT, Desks, wait_for

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
DUTY = Principal("pk-duty", Role.DUTY_OFFICER)


def _raise(db: Database, profile: BorderProfile, *, now: datetime, ack_minutes: float = 5):
    deadlines = default_deadlines()
    deadlines["flash"] = DeadlineTerms(acknowledge_minutes=ack_minutes, answer_minutes=30)
    cp = Counterpart(
        partner_id="p-ir", name="ir-node", country="IR", deadlines=deadlines, max_tlp=TLP.AMBER
    )
    with db.session() as s:
        row = sender.raise_alert(
            s,
            data=AlertIn.model_validate(
                {
                    **ALERT,
                    "priority": "flash",
                    "valid_from": now,
                    "valid_until": now + timedelta(hours=6),
                }
            ),
            counterpart=cp,
            known_incidents=lambda _s, _ids: set(),
            actor=DUTY,
            profile=profile,
            from_side="PK",
            now=now,
        )
        return row.id


def _levels(db: Database, alert_id: str) -> list[tuple[int, list[str]]]:
    with db.session() as s:
        return [
            (st.level, st.detail["notify"])
            for st in s.scalars(
                select(AlertStep)
                .where(AlertStep.alert_id == alert_id, AlertStep.step == "escalated")
                .order_by(AlertStep.seq)
            )
        ]


def test_levels_follow_the_stored_deadline_and_survive_a_restart(
    db: Database, settings: Settings, profile: BorderProfile
) -> None:
    alert_id = _raise(db, profile, now=T0)  # flash: acknowledge within 5 minutes
    with db.session() as s:
        assert deadlines.escalate_due(s, now=T0 + timedelta(minutes=4, seconds=59)) == []
    with db.session() as s:
        assert [a.id for a in deadlines.escalate_due(s, now=T0 + timedelta(minutes=5))] == [
            alert_id
        ]
    with db.session() as s:  # twice at the same moment changes nothing
        assert deadlines.escalate_due(s, now=T0 + timedelta(minutes=6)) == []
    assert _levels(db, alert_id) == [(1, ["duty_officer", "liaison"])]

    # The node restarts: a new engine over the same database knows where escalation stands.
    db.dispose()
    again = Database(settings.effective_database_url)
    try:
        with again.session() as s:
            assert deadlines.escalate_due(s, now=T0 + timedelta(minutes=9, seconds=59)) == []
            assert len(deadlines.escalate_due(s, now=T0 + timedelta(minutes=10))) == 1
        # Down for 20 minutes: the level now due is recorded once, with the levels missed.
        with again.session() as s:
            deadlines.escalate_due(s, now=T0 + timedelta(minutes=31))
            last = s.scalars(
                select(AlertStep)
                .where(AlertStep.step == "escalated")
                .order_by(AlertStep.seq.desc())
            ).first()
            assert last is not None and last.level == 6 and last.detail["missed_levels"] == 3
            alert = reading.get_alert(s, alert_id=alert_id)
            assert alert.next_escalation_at == T0 + timedelta(minutes=35)
    finally:
        again.dispose()


def test_an_acknowledged_or_withdrawn_alert_never_escalates(
    db: Database, profile: BorderProfile
) -> None:
    from sarhad.alerts.schemas import WithdrawIn

    alert_id = _raise(db, profile, now=T0)
    with db.session() as s:
        sender.withdraw(s, alert_id=alert_id, data=WithdrawIn(reason="turned back"), actor=DUTY)
    with db.session() as s:
        assert deadlines.escalate_due(s, now=T0 + timedelta(hours=2)) == []
    assert _levels(db, alert_id) == []


def test_both_sides_escalate_until_the_partner_acknowledges(desks: Desks) -> None:
    pk, ir = desks.pk, desks.ir
    # The agreement sets a 1.2-second acknowledge deadline for flash (minutes, as in the CLI).
    for node, partner in ((pk, "ir-node"), (ir, "pk-node")):
        with node.db.session() as s:
            sharing.set_agreement(
                s,
                partner=partner,
                changes=AgreementIn(
                    alert_deadlines={"flash": {"acknowledge_minutes": 0.02, "answer_minutes": 1}}
                ),
                actor=CONSOLE,
            )
    with pk.client(Role.DUTY_OFFICER) as c:
        sent = c.post("/api/v1/alerts", json={**ALERT, "priority": "flash"}).json()
    alert_id = sent["id"]
    wait_for(lambda: len(_levels(pk.db, alert_id)) >= 2, what="two escalations at PK")
    wait_for(lambda: len(_levels(ir.db, alert_id)) >= 2, what="two escalations at IR")
    assert _levels(ir.db, alert_id)[0] == (1, ["commander", "liaison"])
    assert [lvl for lvl, _ in _levels(pk.db, alert_id)][:2] == [1, 2]
    with ir.client(Role.COMMANDER) as c:  # the supervisor it escalated to answers
        assert c.post(f"/api/v1/alerts/{alert_id}/acknowledge").status_code == 200
    wait_for(lambda: _get(pk, alert_id)["acknowledged_at"], what="ack at PK")
    settled_pk, settled_ir = len(_levels(pk.db, alert_id)), len(_levels(ir.db, alert_id))
    import time

    time.sleep(1.5)  # more than one period: no further level on either side
    assert len(_levels(pk.db, alert_id)) == settled_pk
    assert len(_levels(ir.db, alert_id)) == settled_ir
    with pk.client(Role.DUTY_OFFICER) as c:
        overdue = c.get("/api/v1/alerts", params={"overdue": True}).json()["items"]
    assert overdue == []


def _get(node: LiveNode, alert_id: str) -> dict:
    with node.client(Role.LIAISON) as c:
        return c.get(f"/api/v1/alerts/{alert_id}").json()
