"""Alert metrics: hand-computed figures for alerts made through the real service functions."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sarhad.alerts.metrics import MonthSide, alert_stats, stats_csv, stats_rows
from sarhad.alerts.ports import Counterpart
from sarhad.alerts.receiver import InboundAlert, acknowledge, answer, receive_alert, receive_step
from sarhad.alerts.schemas import AlertIn, AnswerIn, WithdrawIn, default_deadlines
from sarhad.alerts.sender import raise_alert, withdraw
from sarhad.alerts.taxonomy import Step
from sarhad.border import BorderProfile
from sarhad.core.auth import Principal, Role
from sarhad.core.db import Database
from sarhad.core.errors import InvalidInput
from sarhad.core.markings import TLP

T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
IR_NODE = Counterpart(
    partner_id="p1",
    name="ir-node",
    country="IR",
    deadlines=default_deadlines(),  # flash: acknowledge in 5 min, answer in 30 min
    max_tlp=TLP.AMBER_STRICT,
)
PK_DUTY = Principal("pk-duty", Role.DUTY_OFFICER)
PK_LIAISON = Principal("pk-liaison", Role.LIAISON)


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def outbound(
    db: Database,
    profile: BorderProfile,
    at: datetime,
    *,
    ack_after: float | None = None,
    answer_after: float | None = None,
) -> str:
    """Raise a PK flash alert at ``at``; IR acknowledges and answers after so many seconds."""
    with db.session() as session:
        alert = raise_alert(
            session,
            data=AlertIn(
                priority="flash",
                kind="smuggling_movement",
                text="Three pickups heading north of the Taftan crossing",
                sector="PKIR-010",
                valid_from=at - timedelta(hours=1),
                valid_until=at + timedelta(hours=24),
            ),
            counterpart=IR_NODE,
            known_incidents=lambda _s, _ids: set(),
            actor=PK_DUTY,
            profile=profile,
            from_side="PK",
            now=at,
        )
        alert_id = alert.id
    for step, after, detail in (
        (Step.ACKNOWLEDGED, ack_after, {}),
        (Step.ANSWERED, answer_after, {"answer": "accepted"}),
    ):
        if after is None:
            continue
        with db.session() as session:
            assert receive_step(
                session,
                alert_id=alert_id,
                step=step,
                at=at + s(after),
                side="IR",
                detail=detail,
                partner_id="p1",
                partner_name="ir-node",
            )
    return alert_id


def inbound(
    db: Database,
    profile: BorderProfile,
    at: datetime,
    *,
    ack_after: float | None = None,
    answer_after: float | None = None,
) -> str:
    """Receive an IR flash alert raised at ``at``; PK acknowledges and answers after so long."""
    alert_id = str(uuid.uuid4())
    with db.session() as session:
        receive_alert(
            session,
            data=InboundAlert(
                id=alert_id,
                priority="flash",
                kind="smuggling_movement",
                tlp="amber",
                text="Armed group seen moving towards the line",
                from_side="IR",
                created_at=at,
                ack_by=at + timedelta(minutes=5),
                answer_by=at + timedelta(minutes=30),
                valid_from=at,
                valid_until=at + timedelta(hours=24),
                sector="PKIR-010",
            ),
            partner_id="p1",
            partner_name="ir-node",
            to_side="PK",
            profile=profile,
            now=at + s(5),
        )
    if ack_after is not None:
        with db.session() as session:
            acknowledge(session, alert_id=alert_id, actor=PK_LIAISON, now=at + s(ack_after))
    if answer_after is not None:
        with db.session() as session:
            answer(
                session,
                alert_id=alert_id,
                data=AnswerIn(answer="declined", text="no patrol free"),
                actor=PK_LIAISON,
                now=at + s(answer_after),
            )
    return alert_id


@pytest.fixture
def two_months(db: Database, profile: BorderProfile) -> Database:
    """October 2026: 4 PK alerts and 3 IR alerts; November 2026: 1 PK alert."""
    h = timedelta(hours=1)
    # PK → IR; the flash answer deadline is created_at + 30 min (1800 s).
    outbound(db, profile, T0, ack_after=60, answer_after=1200)  # in time
    outbound(db, profile, T0 + h, ack_after=120, answer_after=2700)  # late
    outbound(db, profile, T0 + 2 * h, ack_after=180, answer_after=1800)  # in time: on the dot
    outbound(db, profile, T0 + 3 * h, ack_after=600)  # never answered
    # IR → PK
    oct10 = datetime(2026, 10, 10, 12, 0, tzinfo=UTC)
    inbound(db, profile, oct10, ack_after=300, answer_after=900)  # in time
    inbound(db, profile, oct10 + 24 * h, answer_after=2400)  # late; answering acknowledges
    inbound(db, profile, oct10 + 48 * h)  # never acknowledged
    # November, PK
    outbound(db, profile, datetime(2026, 11, 2, 9, 0, tzinfo=UTC), ack_after=240, answer_after=600)
    return db


def test_month_side_figures(two_months: Database) -> None:
    with two_months.session() as session:
        rows = alert_stats(session)
    assert [(r.month, r.side) for r in rows] == [
        ("2026-10", "IR"),
        ("2026-10", "PK"),
        ("2026-11", "PK"),
    ]
    oct_ir, oct_pk, nov_pk = rows
    # PK, October. ack delays [60, 120, 180, 600]:
    #   p50 = (120 + 180) / 2 = 150; p90: rank 0.9 * 3 = 2.7 → 180 + 0.7 * (600 - 180) = 474.
    # answer delays sorted [1200, 1800, 2700]:
    #   p50 = 1800; p90: rank 0.9 * 2 = 1.8 → 1800 + 0.8 * (2700 - 1800) = 2520.
    # in time (<= 1800 s): 1200 and 1800 → 2 of 4 sent.
    assert oct_pk == MonthSide(
        month="2026-10",
        side="PK",
        sent=4,
        acknowledged=4,
        answered=3,
        ack_p50_s=150.0,
        ack_p90_s=pytest.approx(474.0),
        answer_p50_s=1800.0,
        answer_p90_s=pytest.approx(2520.0),
        answered_in_time=2,
        in_time_share=0.5,
    )
    # IR, October. ack delays [300, 2400] (the answer at 2400 s acknowledges too):
    #   p50 = 1350; p90: rank 0.9 → 300 + 0.9 * 2100 = 2190.
    # answer delays [900, 2400]: p50 = 1650; p90 = 900 + 0.9 * 1500 = 2250.
    # in time: only 900 s → 1 of 3 sent.
    assert oct_ir == MonthSide(
        month="2026-10",
        side="IR",
        sent=3,
        acknowledged=2,
        answered=2,
        ack_p50_s=1350.0,
        ack_p90_s=pytest.approx(2190.0),
        answer_p50_s=1650.0,
        answer_p90_s=pytest.approx(2250.0),
        answered_in_time=1,
        in_time_share=pytest.approx(1 / 3),
    )
    # One alert: every percentile is its own value.
    assert nov_pk == MonthSide(
        month="2026-11",
        side="PK",
        sent=1,
        acknowledged=1,
        answered=1,
        ack_p50_s=240.0,
        ack_p90_s=240.0,
        answer_p50_s=600.0,
        answer_p90_s=600.0,
        answered_in_time=1,
        in_time_share=1.0,
    )


def test_filters(two_months: Database) -> None:
    with two_months.session() as session:
        october = alert_stats(session, month="2026-10")
        november = alert_stats(session, month="2026-11")
        pk = alert_stats(session, side="pk")  # the code is case-insensitive
        ir_november = alert_stats(session, month="2026-11", side="IR")
        december = alert_stats(session, month="2026-12")
    assert [(r.month, r.side, r.sent) for r in october] == [
        ("2026-10", "IR", 3),
        ("2026-10", "PK", 4),
    ]
    assert [(r.month, r.side, r.sent) for r in november] == [("2026-11", "PK", 1)]
    assert [(r.month, r.side, r.sent) for r in pk] == [("2026-10", "PK", 4), ("2026-11", "PK", 1)]
    assert ir_november == []
    assert december == []


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "10-2026", "2026-10-01", "", "2026/10"])
def test_bad_month_is_invalid_input(db: Database, bad: str) -> None:
    with db.session() as session, pytest.raises(InvalidInput) as caught:
        alert_stats(session, month=bad)
    assert [e.field for e in caught.value.errors] == ["month"]
    assert "YYYY-MM" in caught.value.message


@pytest.mark.parametrize("bad", ["PAK", "P", "P1", ""])
def test_bad_side_is_invalid_input(db: Database, bad: str) -> None:
    with db.session() as session, pytest.raises(InvalidInput) as caught:
        alert_stats(session, side=bad)
    assert [e.field for e in caught.value.errors] == ["side"]


def test_month_is_utc(db: Database, profile: BorderProfile) -> None:
    # 03:30 on 1 November in Pakistan (UTC+5) is 22:30 on 31 October UTC.
    pkt = timezone(timedelta(hours=5))
    outbound(db, profile, datetime(2026, 11, 1, 3, 30, tzinfo=pkt))
    # 00:00 UTC on 1 November starts November.
    outbound(db, profile, datetime(2026, 11, 1, 0, 0, tzinfo=UTC))
    with db.session() as session:
        rows = alert_stats(session)
        november = alert_stats(session, month="2026-11")
    assert [(r.month, r.sent) for r in rows] == [("2026-10", 1), ("2026-11", 1)]
    assert [(r.month, r.sent) for r in november] == [("2026-11", 1)]


def test_withdrawn_alerts_count_as_sent_but_not_in_the_share(
    db: Database, profile: BorderProfile
) -> None:
    h = timedelta(hours=1)
    answered_then_withdrawn = outbound(db, profile, T0, ack_after=60, answer_after=600)
    withdrawn_unanswered = outbound(db, profile, T0 + h)
    withdrawn_then_answered = outbound(db, profile, T0 + 2 * h)
    outbound(db, profile, T0 + 3 * h, ack_after=60, answer_after=2400)  # late
    for alert_id, at in (
        (answered_then_withdrawn, T0 + s(900)),
        (withdrawn_unanswered, T0 + h + s(300)),
        (withdrawn_then_answered, T0 + 2 * h + s(300)),
    ):
        with db.session() as session:
            withdraw(
                session,
                alert_id=alert_id,
                data=WithdrawIn(reason="moved on"),
                actor=PK_DUTY,
                now=at,
            )
    # IR had not heard of the withdrawal yet: its answer (in time) arrives after it.
    with db.session() as session:
        receive_step(
            session,
            alert_id=withdrawn_then_answered,
            step=Step.ANSWERED,
            at=T0 + 2 * h + s(600),
            side="IR",
            detail={"answer": "accepted"},
            partner_id="p1",
            partner_name="ir-node",
        )
    with db.session() as session:
        [row] = alert_stats(session)
    assert (row.sent, row.acknowledged, row.answered) == (4, 3, 3)
    # In time: the first and the third (600 s each); the third was withdrawn before its
    # answer, so the share is 1 (the first) of 2 (the first and the late fourth).
    assert row.answered_in_time == 2
    assert row.in_time_share == 0.5


def test_all_withdrawn_share_is_none(db: Database, profile: BorderProfile) -> None:
    alert_id = outbound(db, profile, T0)
    with db.session() as session:
        withdraw(
            session,
            alert_id=alert_id,
            data=WithdrawIn(reason="false alarm"),
            actor=PK_DUTY,
            now=T0 + s(60),
        )
    with db.session() as session:
        [row] = alert_stats(session)
    assert (row.sent, row.answered_in_time, row.in_time_share) == (1, 0, None)
    assert row.ack_p50_s is None and row.answer_p90_s is None


def test_rows_in_minutes(two_months: Database) -> None:
    with two_months.session() as session:
        dicts = stats_rows(alert_stats(session))
    assert dicts[0] == {
        "month": "2026-10",
        "side": "IR",
        "sent": 3,
        "acknowledged": 2,
        "answered": 2,
        "ack_p50_min": 22.5,  # 1350 s
        "ack_p90_min": 36.5,  # 2190 s
        "answer_p50_min": 27.5,  # 1650 s
        "answer_p90_min": 37.5,  # 2250 s
        "answered_in_time": 1,
        "in_time_share": 0.333,
        "pending": 0,
    }
    assert dicts[1]["ack_p50_min"] == 2.5  # 150 s
    assert dicts[1]["ack_p90_min"] == 7.9  # 474 s
    assert dicts[1]["answer_p90_min"] == 42.0  # 2520 s


def test_csv(two_months: Database) -> None:
    with two_months.session() as session:
        text = stats_csv(alert_stats(session))
    lines = text.splitlines()
    assert lines[0] == (
        "month,side,sent,acknowledged,answered,ack_p50_min,ack_p90_min,"
        "answer_p50_min,answer_p90_min,answered_in_time,in_time_share,pending"
    )
    assert lines[2] == "2026-10,PK,4,4,3,2.5,7.9,30.0,42.0,2,0.5,0"
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert len(parsed) == 3
    assert parsed[2]["month"] == "2026-11"


def test_csv_blank_cells_for_missing_figures(db: Database, profile: BorderProfile) -> None:
    outbound(db, profile, T0)  # never acknowledged
    with db.session() as session:
        text = stats_csv(alert_stats(session))
    assert text.splitlines()[1] == "2026-10,PK,1,0,0,,,,,0,0.0,0"


def test_empty_node(db: Database) -> None:
    with db.session() as session:
        assert alert_stats(session) == []
        assert alert_stats(session, month="2026-10", side="IR") == []
    assert stats_rows([]) == []
    assert stats_csv([]).splitlines() == [
        "month,side,sent,acknowledged,answered,ack_p50_min,ack_p90_min,"
        "answer_p50_min,answer_p90_min,answered_in_time,in_time_share,pending"
    ]


def test_an_alert_still_inside_its_deadline_is_pending_not_late(
    db: Database, profile: BorderProfile
) -> None:
    """Unanswered with its deadline ahead: left out of the share and counted apart; once the
    deadline has passed unanswered, it counts as late."""
    outbound(db, profile, T0, ack_after=60, answer_after=600)  # in time
    outbound(db, profile, T0 + s(3600), ack_after=60)  # unanswered; answer by T0 + 1 h 30
    with db.session() as session:
        [inside] = alert_stats(session, now=T0 + s(3600 + 600))
        [after] = alert_stats(session, now=T0 + s(3600 + 1801))
    assert (inside.sent, inside.pending, inside.in_time_share) == (2, 1, 1.0)
    assert (after.sent, after.pending, after.in_time_share) == (2, 0, 0.5)
