"""The alert outbox and the deadline rows on one database: written with the alert, claimed
once, released on expiry, backed off, fired once (the fault test runs them across processes)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from sarhad.alerts import deadlines, outbox, receiver, sender
from sarhad.alerts.models import Alert, AlertDeadline, OutboxItem
from sarhad.alerts.ports import Counterpart
from sarhad.alerts.schemas import AlertIn, default_deadlines
from sarhad.border import BorderProfile, profile_from_settings
from sarhad.core.auth import CONSOLE, Principal, Role
from sarhad.core.db import Database, utcnow
from sarhad.core.journal import AuditLog
from sarhad.core.markings import TLP
from sarhad.federation.courier import Courier
from sarhad.sharing import service as sharing
from sarhad.sharing.schemas import AgreementIn
from support import LiveNode, introduce

from .conftest import ALERT

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
DUTY = Principal("pk-duty", Role.DUTY_OFFICER)
CP = Counterpart(
    partner_id="p-ir",
    name="ir-node",
    country="IR",
    deadlines=default_deadlines(),
    max_tlp=TLP.AMBER,
)


def _raise(session, profile: BorderProfile, now: datetime = T0) -> Alert:
    return sender.raise_alert(
        session,
        data=AlertIn.model_validate(
            {**ALERT, "valid_from": now, "valid_until": now + timedelta(hours=6)}
        ),
        counterpart=CP,
        known_incidents=lambda _s, _ids: set(),
        actor=DUTY,
        profile=profile,
        from_side="PK",
        now=now,
    )


def _rows(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(OutboxItem)) or 0)


def test_the_outbox_row_commits_with_the_alert_or_not_at_all(
    db: Database, profile: BorderProfile
) -> None:
    with pytest.raises(RuntimeError), db.session() as s:
        _raise(s, profile)
        raise RuntimeError("the request failed after the insert")
    assert _rows(db) == 0
    with db.session() as s:
        alert_id = _raise(s, profile).id
    with db.session() as s:
        row = s.scalars(select(OutboxItem)).one()
        assert (row.alert_id, row.kind, row.ref, row.partner_id) == (
            alert_id,
            "alert",
            "raised",
            "p-ir",
        )
        deadline = s.scalars(select(AlertDeadline)).one()
        assert (deadline.level, deadline.fired_at) == (1, None)


def test_a_claim_keeps_others_off_until_it_expires(db: Database, profile: BorderProfile) -> None:
    with db.session() as s:
        _raise(s, profile)
        _raise(s, profile)
    now = utcnow() + timedelta(seconds=1)  # rows are due from the moment they are written
    with db.session() as s:
        first = outbox.claim(s, claim_s=30, claimer="p1", now=now)
    assert len(first) == 2
    with db.session() as s:  # the same rows, still claimed by p1: nothing for p2
        assert outbox.claim(s, claim_s=30, claimer="p2", now=now + timedelta(seconds=29)) == []
    with db.session() as s:  # p1 died: its claim expired, p2 takes the rows
        second = outbox.claim(s, claim_s=30, claimer="p2", now=now + timedelta(seconds=31))
    assert [r.id for r in second] == [r.id for r in first]
    assert [r.attempts for r in second] == [2, 2]
    with db.session() as s:
        assert outbox.mark_delivered(s, [r.id for r in second]) == 2
        assert outbox.mark_delivered(s, [r.id for r in second]) == 0  # once
        assert outbox.pending(s) == 0


def test_a_renewed_claim_outlasts_a_slow_send_and_only_its_holder_renews_it(
    db: Database, profile: BorderProfile
) -> None:
    with db.session() as s:
        _raise(s, profile)
    now = utcnow() + timedelta(seconds=1)
    with db.session() as s:
        ids = [r.id for r in outbox.claim(s, claim_s=30, claimer="p1", now=now)]
    with db.session() as s:  # p1's POST is still running at 25 s: it renews
        assert outbox.renew(s, ids, claim_s=30, claimer="p1", now=now + timedelta(seconds=25))
        assert outbox.renew(s, ids, claim_s=30, claimer="p2", now=now) == 0  # not p2's
    with db.session() as s:  # past the first claim, within the renewed one: nothing for p2
        assert outbox.claim(s, claim_s=30, claimer="p2", now=now + timedelta(seconds=40)) == []
    with db.session() as s:  # p1 froze and renewed no more: p2 takes the row at expiry
        taken = outbox.claim(s, claim_s=30, claimer="p2", now=now + timedelta(seconds=56))
        assert [r.id for r in taken] == ids
    with db.session() as s:  # p1 wakes up: the row is p2's now, p1 cannot keep it
        assert outbox.renew(s, ids, claim_s=30, claimer="p1", now=now + timedelta(seconds=57)) == 0


def test_a_failed_send_backs_off_with_jitter_and_drops_nothing(
    db: Database, profile: BorderProfile
) -> None:
    with db.session() as s:
        _raise(s, profile)
    now = utcnow() + timedelta(seconds=1)
    waits = []
    for attempt in range(1, 8):
        with db.session() as s:
            rows = outbox.claim(s, claim_s=30, claimer="p1", now=now)
            assert [r.attempts for r in rows] == [attempt]
            outbox.failed(s, rows, error="partner down", claimer="p1", max_s=10, now=now)
        with db.session() as s:
            row = s.scalars(select(OutboxItem)).one()
            wait = (row.next_attempt_at - now).total_seconds()
            assert row.last_error == "partner down" and row.claimed_by is None
            assert outbox.claim(s, claim_s=30, claimer="p2", now=now) == []  # not yet due
        base = min(10.0, 0.5 * 2 ** (attempt - 1))
        assert base * 0.5 <= wait <= base
        waits.append(wait)
        now = row.next_attempt_at
    assert waits[-1] <= 10 and _rows(db) == 1  # capped, and still there


def test_two_processes_fire_a_deadline_once(db: Database, profile: BorderProfile) -> None:
    with db.session() as s:
        raised = [_raise(s, profile) for _ in range(5)]
        alert_ids = [a.id for a in raised]
        late = raised[0].ack_by + timedelta(seconds=1)  # level 1 due, level 2 not yet
    fired: list[str] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        with db.session() as s:
            fired.extend(a.id for a in deadlines.escalate_due(s, now=late))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(fired) == sorted(alert_ids)
    with db.session() as s:
        rows = s.execute(
            select(AlertDeadline.alert_id, AlertDeadline.level, AlertDeadline.fired_at)
        ).all()
    assert sorted((a, lvl) for a, lvl, f in rows if f is not None) == sorted(
        (a, 1) for a in alert_ids
    )
    assert sorted((a, lvl) for a, lvl, f in rows if f is None) == sorted((a, 2) for a in alert_ids)


def test_a_copy_received_again_is_stored_once_and_counted(
    db: Database, profile: BorderProfile
) -> None:
    data = receiver.InboundAlert(
        id="8c0c5f8e-4a55-4b2f-9f3e-2b8a4c1d7e60",
        priority="immediate",
        kind="smuggling_movement",
        tlp="amber",
        text="Convoy near Taftan",
        from_side="IR",
        created_at=T0,
        ack_by=T0 + timedelta(minutes=15),
        answer_by=T0 + timedelta(minutes=60),
        valid_from=T0,
        valid_until=T0 + timedelta(hours=6),
        lon=61.6,
        lat=28.95,
    )
    for _ in range(3):
        with db.session() as s:
            receiver.receive_alert(
                s,
                data=data,
                partner_id="p-ir",
                partner_name="ir-node",
                to_side="PK",
                profile=profile,
                now=T0 + timedelta(seconds=5),
            )
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 1
        assert s.get(Alert, data.id).duplicates_received == 2  # type: ignore[union-attr]
        # the receipt goes back once, through the outbox
        assert [r.ref for r in s.scalars(select(OutboxItem))] == ["received"]


def test_a_partners_rows_leave_in_the_order_written_after_an_outage(
    db: Database, profile: BorderProfile
) -> None:
    with db.session() as s:
        _raise(s, profile)
    now = utcnow() + timedelta(seconds=1)
    with db.session() as s:  # the first alert fails a few times: its wait grows
        for _ in range(4):
            rows = outbox.claim(s, claim_s=30, claimer="p1", now=now)
            outbox.failed(s, rows, error="partner down", claimer="p1", now=now)
        first = s.scalars(select(OutboxItem)).one()
        due = first.next_attempt_at
    with db.session() as s:  # a second alert, due at once, must not overtake the first
        _raise(s, profile)
    with db.session() as s:
        assert outbox.claim(s, claim_s=30, claimer="p1", now=now) == []
    with db.session() as s:
        both = outbox.claim(s, claim_s=30, claimer="p1", now=due)
    assert [r.ref for r in both] == ["raised", "raised"] and both[0].id == first.id


def test_an_alert_above_a_lowered_limit_is_withheld_and_its_row_settled(
    spawn: Callable[..., LiveNode],
) -> None:
    """The limit may be lowered between raising and sending: the limit in force decides."""
    pk, ir = spawn("pk-node", "PK"), spawn("ir-node", "IR")  # no workers: we carry by hand
    introduce(pk, ir)
    with pk.client(Role.DUTY_OFFICER) as c:
        r = c.post("/api/v1/alerts", json={**ALERT, "tlp": "amber"})
        assert r.status_code == 201, r.text
        amber = r.json()["id"]
    with pk.db.session() as s:
        sharing.set_agreement(
            s, partner="ir-node", changes=AgreementIn(max_tlp="green"), actor=CONSOLE
        )
    with pk.client(Role.DUTY_OFFICER) as c:
        r = c.post("/api/v1/alerts", json={**ALERT, "tlp": "green"})
        assert r.status_code == 201, r.text
        green = r.json()["id"]
    courier = Courier(pk.db, settings=pk.settings, profile=profile_from_settings(pk.settings))
    try:
        courier.round()
        courier.round()  # nothing is left to retry
    finally:
        courier.close()
    with ir.db.session() as s:
        got = set(s.scalars(select(Alert.id)))
    assert green in got and amber not in got
    with pk.db.session() as s:
        rows = {r.alert_id: r for r in s.scalars(select(OutboxItem))}
        assert rows[green].delivered_at is not None and rows[green].last_error is None
        held = rows[amber]
        assert held.delivered_at is not None and held.attempts == 0
        assert held.last_error == "withheld: TLP:AMBER is above the agreement's limit TLP:GREEN"
        entry = s.scalars(
            select(AuditLog).where(AuditLog.action == "share.withhold", AuditLog.entity_id == amber)
        ).one()
        assert entry.detail["partner"] == "ir-node" and entry.detail["outbox_rows"] == 1
        assert outbox.pending(s) == 0
