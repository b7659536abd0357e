"""Declaring crossing status: the rules, the errors naming fields, the board and alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sarhad.alerts.models import Alert
from sarhad.border import BorderProfile
from sarhad.core.auth import CONSOLE, Principal
from sarhad.core.db import Database
from sarhad.core.errors import Conflict, Forbidden, InvalidInput
from sarhad.core.journal import AuditLog, verify_audit
from sarhad.crossings.board import board, side_view
from sarhad.crossings.declarations import (
    declaration_out,
    end_declaration,
    get_declaration,
    list_declarations,
    withdraw_declaration,
)
from sarhad.crossings.declarations import declare as declare_status
from sarhad.crossings.hours import get_hours, hours_out, set_hours
from sarhad.crossings.received import InboundDeclaration, receive_declaration
from sarhad.crossings.schemas import DeclarationIn, HoursIn
from sarhad.node import alert_ports, crossing_ports
from sarhad.sharing import service as sharing
from sarhad.sharing.schemas import AgreementIn

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # Monday 09:00 PKT


def h(hours: float) -> datetime:
    return NOW + timedelta(hours=hours)


def declare(db: Database, profile: BorderProfile, actor: Principal = CONSOLE, **kw: Any) -> Any:
    body = {"crossing": "taftan-mirjaveh", "status": "closed", "reason": "weather", **kw}
    with db.session() as s:
        row = declare_status(
            s, data=DeclarationIn.model_validate(body), side="PK", actor=actor, profile=profile,
            ports=crossing_ports(alert_ports()), now=NOW,
        )  # fmt: skip
        return declaration_out(row)


def fields(exc: pytest.ExceptionInfo[InvalidInput]) -> dict[str, str]:
    return {e.field: e.message for e in exc.value.errors}


def test_a_closure_is_stored_logged_and_answers_is_it_open(
    db: Database, profile: BorderProfile
) -> None:
    d = declare(db, profile, reason="security_incident", note="firing near the gate",
                starts_at=h(0), ends_at=h(30))  # fmt: skip
    assert (d.status, d.reason, d.side, d.origin, d.planned) == (
        "closed", "security_incident", "PK", "local", False,
    )  # fmt: skip
    with db.session() as s:
        row = board(s, profile=profile, side="PK", at=h(1), crossing_ids=["taftan-mirjaveh"])
        assert row[0].ours.status == "closed" and row[0].ours.until == h(30)
        assert row[0].combined == "closed" and row[0].mismatch is None
        after = board(s, profile=profile, side="PK", at=h(31))[0]
        assert after.ours.status == "open"
        actions = [a.action for a in s.scalars(select(AuditLog))]
        assert "crossing_declaration.declare" in actions
        assert verify_audit(s).ok


BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"crossing": "wagah"}, "crossing", "no crossing or market"),
    ({"starts_at": h(5), "ends_at": h(2)}, "ends_at", "after starts_at"),
    ({"incident_ids": ["9b2e8f0c-3c51-4d1e-8a57-0c6f1b2d3e4f"]}, "incident_ids", "no such"),
]


@pytest.mark.parametrize(("over", "field", "words"), BAD, ids=[b[1] for b in BAD])
def test_bad_declarations_name_the_field(
    db: Database, profile: BorderProfile, over: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        declare(db, profile, **over)
    assert words in fields(exc)[field]
    with db.session() as s:
        assert list_declarations(s) == []  # nothing half-written


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "closed"}, "reason"),
        ({"status": "shut", "reason": "other"}, "status"),
        ({"status": "closed", "reason": "riot"}, "reason"),
    ],
)
def test_schema_errors_name_the_field(body: dict[str, Any], field: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as exc:
        DeclarationIn.model_validate({"crossing": "taftan-mirjaveh", **body})
    assert exc.value.errors()[0]["loc"] == (field,)


def test_overlapping_declarations_of_the_same_side_are_refused(
    db: Database, profile: BorderProfile
) -> None:
    first = declare(db, profile, starts_at=h(0), ends_at=h(10))
    with pytest.raises(Conflict) as clash:  # a clash with what is stored: 409
        declare(db, profile, status="restricted", starts_at=h(5), ends_at=h(20))
    assert clash.value.message.startswith("starts_at: overlaps")
    assert first.id[:8] in clash.value.message
    # Back to back is fine, and so is another crossing at the same time.
    declare(db, profile, status="restricted", starts_at=h(10), ends_at=h(20))
    declare(db, profile, crossing="gabd-rimdan", starts_at=h(5))


def test_a_running_open_ended_declaration_is_ended_by_the_next(
    db: Database, profile: BorderProfile
) -> None:
    closed = declare(db, profile, starts_at=h(0))
    restricted = declare(db, profile, status="restricted", reason="policy_decision", starts_at=h(6))
    with db.session() as s:
        first = get_declaration(s, declaration_id=closed.id)
        assert first.ends_at == h(6) and first.version == 2
        now = side_view(s, profile=profile, crossing_id="taftan-mirjaveh", side="PK",
                                at=h(7))  # fmt: skip
        assert now.declaration_id == restricted.id


def test_end_and_withdraw(db: Database, profile: BorderProfile) -> None:
    d = declare(db, profile, starts_at=h(-2))
    with db.session() as s:
        with pytest.raises(Conflict) as clash:
            end_declaration(s, declaration_id=d.id, at=h(-3), actor=CONSOLE,
                                    profile=profile, now=NOW)  # fmt: skip
        assert "at: must be after the declaration's start" in clash.value.message
    with db.session() as s:
        row = end_declaration(s, declaration_id=d.id[:8], at=None, actor=CONSOLE,
                                      profile=profile, now=NOW)  # fmt: skip
        assert row.ends_at == NOW
    w = declare(db, profile, crossing="gabd-rimdan", starts_at=h(1), ends_at=h(2))
    with db.session() as s:
        withdraw_declaration(s, declaration_id=w.id, actor=CONSOLE, now=NOW)
        assert w.id not in {r.id for r in list_declarations(s)}
        kept = list_declarations(s, include_withdrawn=True)
        assert any(r.id == w.id and r.withdrawn for r in kept)
    with db.session() as s:  # a withdrawn declaration is never changed again: 409
        with pytest.raises(Conflict, match="was withdrawn"):
            withdraw_declaration(s, declaration_id=w.id, actor=CONSOLE, now=NOW)
        with pytest.raises(Conflict, match="was withdrawn"):
            end_declaration(s, declaration_id=w.id, at=None, actor=CONSOLE,
                                    profile=profile, now=NOW)  # fmt: skip


def test_only_declaring_roles_declare(db: Database, profile: BorderProfile) -> None:
    from sarhad.core.auth import Role

    with pytest.raises(Forbidden):
        declare(db, profile, actor=Principal("analyst-1", Role.ANALYST))
    declare(db, profile, actor=Principal("duty-1", Role.DUTY_OFFICER))


def test_hours_make_the_gate_shut_outside_them_and_errors_name_fields(
    db: Database, profile: BorderProfile
) -> None:
    with db.session() as s:
        set_hours(
            s, crossing_id="mand-pishin-market", side="PK", actor=CONSOLE, profile=profile,
            data=HoursIn(days=["mon", "thu"], opens="09:00", closes="15:00"),
        )  # fmt: skip
        out = hours_out(
            get_hours(s, crossing_id="mand-pishin-market", side="PK"),  # type: ignore[arg-type]
            profile,
        )
        assert out.days == ["mon", "thu"] and out.time_zone == "PKT (UTC+05:00)"
        view = side_view(s, profile=profile, crossing_id="mand-pishin-market", side="PK",
                                 at=h(1))  # fmt: skip  # Monday 10:00 PKT
        assert view.status == "open" and view.until == datetime(2026, 11, 23, 10, tzinfo=UTC)
        later = side_view(s, profile=profile, crossing_id="mand-pishin-market",
                                  side="PK", at=h(12))  # fmt: skip
        assert later.status == "closed" and later.reason == "outside_hours"
        assert later.next_opening == datetime(2026, 11, 26, 4, tzinfo=UTC)  # Thursday 09:00


@pytest.fixture
def partner(db: Database) -> str:
    """Iran's node as our partner (default agreement: crossing status shared)."""
    with db.session() as s:
        p, _token = sharing.add_partner(s, name="ir-node", country="IR", actor=CONSOLE)
        return p.name


def _theirs(status: str, start: datetime, *, version: int = 1, **kw: Any) -> InboundDeclaration:
    base: dict[str, Any] = {
        "id": "7d0c1f7e-8d0b-4b7a-9d55-3f1f0a1e2b3c",
        "crossing_id": "taftan-mirjaveh",
        "side": "IR",
        "status": status,
        "reason": "other",
        "note": None,
        "starts_at": start,
        "ends_at": None,
        "planned": False,
        "incident_ids": (),
        "tlp": "green",
        "withdrawn": False,
        "version": version,
        "created_at": start,
        "modified": start + timedelta(seconds=version),
    }
    return InboundDeclaration(**(base | kw))


def test_partner_status_shows_beside_ours_and_a_mismatch_is_flagged(
    db: Database, profile: BorderProfile, partner: str
) -> None:
    declare(db, profile, starts_at=h(0))
    with db.session() as s:
        stored = receive_declaration(s, data=_theirs("open", h(-1) + timedelta(hours=3)),
                                     partner_name="ir-node", partner_node_id=None,
                                     partner_side="IR", profile=profile)  # fmt: skip
        assert stored
    with db.session() as s:
        row = board(s, profile=profile, side="PK", at=h(3))[0]
        assert row.theirs is not None and row.theirs.status == "open" and row.theirs.declared
        assert row.mismatch == (
            "we say closed since 2026-11-23 09:00 PKT, they say open since 2026-11-23 11:00 PKT"
        )
        assert row.combined == "closed"
        # The same version again changes nothing; a newer one that agrees clears the flag.
        again = _theirs("open", h(2))
        kept = receive_declaration(s, data=again, partner_name="ir-node", partner_node_id=None,
                                   partner_side="IR", profile=profile)  # fmt: skip
        assert not kept
        newer = _theirs("closed", h(2), version=2, reason="security_incident")
        assert receive_declaration(s, data=newer, partner_name="ir-node", partner_node_id=None,
                                   partner_side="IR", profile=profile)  # fmt: skip
    with db.session() as s:
        row = board(s, profile=profile, side="PK", at=h(3))[0]
        assert row.theirs is not None and row.theirs.status == "closed" and row.mismatch is None


def test_a_partner_cannot_declare_for_our_side_or_an_unknown_crossing(
    db: Database, profile: BorderProfile
) -> None:
    with db.session() as s:
        with pytest.raises(InvalidInput) as exc:
            receive_declaration(s, data=_theirs("closed", NOW, side="PK"),
                                partner_name="ir-node", partner_node_id=None,
                                partner_side="IR", profile=profile)  # fmt: skip
        assert "side" in fields(exc)
        with pytest.raises(InvalidInput) as exc:
            receive_declaration(s, data=_theirs("closed", NOW, crossing_id="wagah"),
                                partner_name="ir-node", partner_node_id=None, partner_side="IR",
                                profile=profile)  # fmt: skip
        assert "crossing" in fields(exc)


def test_closure_and_reopening_raise_crossing_closure_alerts_with_priority_deadlines(
    db: Database, profile: BorderProfile, partner: str
) -> None:
    d = declare(db, profile, reason="security_incident", starts_at=NOW)
    with db.session() as s:
        end_declaration(s, declaration_id=d.id, at=h(2.5), actor=CONSOLE, profile=profile,
                                ports=crossing_ports(alert_ports()), now=h(2))  # fmt: skip
    declare(db, profile, crossing="gabd-rimdan", reason="holiday", starts_at=h(48),
            ends_at=h(72))  # fmt: skip
    with db.session() as s:
        alerts = list(s.scalars(select(Alert).order_by(Alert.created_at)))
    assert [a.kind for a in alerts] == ["crossing_closure"] * 3
    by_text = {("reopens" in a.text, "gabd" in a.text): a for a in alerts}
    closure, reopening, planned = (
        by_text[(False, False)],
        by_text[(True, False)],
        by_text[(False, True)],
    )
    assert closure.priority == "immediate" and closure.partner_name == "ir-node"
    assert closure.ack_by - closure.created_at == timedelta(minutes=30)
    assert "closed" in closure.text and "Taftan" in closure.text
    assert reopening.priority == "priority" and "reopens" in reopening.text
    assert reopening.ack_by - reopening.created_at == timedelta(hours=2)
    assert planned.priority == "routine" and planned.valid_from == h(48)


def test_no_alert_when_the_agreement_does_not_share_crossings(
    db: Database, profile: BorderProfile, partner: str
) -> None:
    with db.session() as s:
        sharing.set_agreement(s, partner="ir-node", changes=AgreementIn(share_crossings=False),
                              actor=CONSOLE)  # fmt: skip
    declare(db, profile, starts_at=NOW)
    with db.session() as s:
        assert list(s.scalars(select(Alert))) == []
