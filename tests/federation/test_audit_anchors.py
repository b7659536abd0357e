"""Partners anchor each other's audit logs: an entry edited with every later hash recomputed
passes ``audit verify`` but not ``audit verify --partners``, which names the entry."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from sarhad.cli import app
from sarhad.core.auth import CONSOLE, Role
from sarhad.core.db import Database, get_node_id
from sarhad.core.journal import AuditLog, Entry, head, link
from sarhad.core.signing import SigningKey, sign_object, signing_keys
from sarhad.federation.anchors import MAX_ANCHORS, PATH, PartnerAnchor, message
from sarhad.sharing import keys
from sarhad.sharing import service as sharing
from support import LiveNode, introduce

from .conftest import Pair
from .helpers import record, sync


def run(node: LiveNode, *args: str) -> Any:
    env = {
        "SARHAD_DATA_DIR": str(node.settings.data_dir),
        "SARHAD_DATABASE_URL": node.settings.database_url or "",
        "SARHAD_NODE_NAME": node.settings.node_name,
        "SARHAD_NODE_SIDE": node.settings.node_side,
    }
    return CliRunner().invoke(app, list(args), env=env)


def trust_each_other(a: LiveNode, b: LiveNode) -> None:
    """What liaison officers do when they make the agreement: exchange public keys."""
    for here, there in ((a, b), (b, a)):
        pem = signing_keys(there.settings.data_dir).ring().active.public.pem
        with here.db.session() as s:
            partner = sharing.get_partner(s, name=there.settings.node_name)
            keys.trust_key(s, public_key_pem=pem, partner=partner, actor=CONSOLE)


@pytest.fixture
def anchored(pair: Pair) -> Pair:
    """Two partners with some history, whose logs are anchored at each other."""
    trust_each_other(pair.pk, pair.ir)
    for _ in range(3):
        record(pair.pk)
        record(pair.ir, reporting_side="IR")
        assert sync(pair.pk).anchors is not None
        assert sync(pair.ir).error is None
    return pair


def held(node: LiveNode, partner: str) -> dict[int, str]:
    with node.db.session() as s:
        p = sharing.get_partner(s, name=partner)
        rows = s.execute(
            select(PartnerAnchor.seq, PartnerAnchor.hash).where(PartnerAnchor.partner_id == p.id)
        ).all()
    return dict(rows)


def chain(node: LiveNode) -> dict[int, str]:
    with node.db.session() as s:
        return dict(s.execute(select(AuditLog.seq, AuditLog.hash)).all())


# -- what an operator with database access can do -----------------------------------------------


def _guard_off(conn: Any, backend: str) -> None:
    if backend == "sqlite":
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("DROP TRIGGER audit_log_no_delete"))
    else:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))


def _guard_on(conn: Any, backend: str) -> None:
    if backend == "sqlite":
        for action in ("UPDATE", "DELETE"):
            conn.execute(
                text(
                    f"CREATE TRIGGER audit_log_no_{action.lower()} BEFORE {action} ON audit_log "
                    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
                )
            )
    else:
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))


def rewrite(db: Database, seq: int, detail: dict[str, Any]) -> None:
    """Edit entry ``seq``'s detail and recompute every later hash with the product's ``link``,
    the append-only guard taken off for the edit and put back after."""
    table = AuditLog.__table__
    with db.engine.begin() as conn:
        _guard_off(conn, db.backend)
        rows = conn.execute(select(table).where(table.c.seq >= seq).order_by(table.c.seq)).all()
        prev = rows[0].prev_hash
        for row in rows:
            new_detail = detail if row.seq == seq else row.detail
            entry = Entry(
                at=row.at,
                actor=row.actor,
                action=row.action,
                entity=row.entity,
                entity_id=row.entity_id,
                version=row.version,
                change_seq=row.change_seq,
                detail=new_detail,
            )
            k = link(entry, seq=row.seq, prev_hash=prev)
            conn.execute(
                update(table)
                .where(table.c.seq == row.seq)
                .values(detail=new_detail, prev_hash=prev, hash=k.hash)
            )
            prev = k.hash
        _guard_on(conn, db.backend)
    # The guard is back: the log looks as untouched as ever.
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'x' WHERE seq = 1"))


def delete_tail(db: Database, n: int) -> int:
    """Delete the newest ``n`` entries; return the first seq deleted."""
    with db.engine.begin() as conn:
        last = conn.execute(select(func.max(AuditLog.seq))).scalar_one()
        _guard_off(conn, db.backend)
        conn.execute(text("DELETE FROM audit_log WHERE seq > :s"), {"s": last - n})
        _guard_on(conn, db.backend)
    return last - n + 1


# -- the tests ------------------------------------------------------------------------------------


def test_partners_hold_each_others_chain_and_verify_passes(anchored: Pair) -> None:
    pk, ir = anchored.pk, anchored.ir
    # Each holds every entry of the other's chain that existed at its last exchange.
    assert held(ir, "pk-node").items() <= chain(pk).items()
    assert held(pk, "ir-node").items() <= chain(ir).items()
    assert len(held(ir, "pk-node")) >= 10 and len(held(pk, "ir-node")) >= 10
    r = run(pk, "audit", "verify", "--partners")
    assert r.exit_code == 0, r.output
    assert "ir-node" in r.output and "anchors match" in r.output
    body = json.loads(run(ir, "audit", "verify", "--partners", "--json").output)
    assert body["ok"] is True
    [partner] = body["partners"]
    assert partner["partner"] == "pk-node" and partner["matched"] == partner["held"] > 0


def test_edit_and_recompute_passes_verify_but_not_verify_partners(anchored: Pair) -> None:
    pk, ir = anchored.pk, anchored.ir
    before = held(ir, "pk-node")
    target = 4
    rewrite(pk.db, target, {"note": "nothing happened here"})
    plain = run(pk, "audit", "verify")
    assert plain.exit_code == 0, plain.output  # the chain itself is consistent again

    r = run(pk, "audit", "verify", "--partners")
    assert r.exit_code == 1, r.output
    assert f"entry {target}" in r.output and "Traceback" not in r.output
    body = json.loads(run(pk, "audit", "verify", "--partners", "--json").output)
    assert body["ok"] is False
    [check] = body["partners"]
    first = check["first_mismatch"]
    assert first["seq"] == target and check["matched"] == target - 1
    with pk.db.session() as s:
        entry = s.get(AuditLog, target)
        assert entry is not None
        assert (first["actor"], first["action"]) == (entry.actor, entry.action)

    # The rewritten node's next exchange contradicts what the partner holds: refused, audited.
    report = sync(pk)
    assert report.anchors is not None and "contradicts" in report.anchors
    assert held(ir, "pk-node") == before
    with ir.db.session() as s:
        refusals = s.scalars(select(AuditLog).where(AuditLog.action == "anchor.refused")).all()
    assert refusals and "rewritten" in refusals[-1].detail["reason"]


def test_a_deleted_tail_is_named(anchored: Pair) -> None:
    pk = anchored.pk
    first = delete_tail(pk.db, 2)
    body = json.loads(run(pk, "audit", "verify", "--partners", "--json").output)
    assert body["ok"] is False
    mismatch = body["partners"][0]["first_mismatch"]
    assert mismatch["seq"] == first and "missing" in mismatch["problem"]


def _post(node: LiveNode, partner: LiveNode, body: Any) -> httpx.Response:
    """POST an anchor message to ``partner`` with the token ``node`` holds for it."""
    with node.db.session() as s:
        p = sharing.get_partner(s, name=partner.settings.node_name)
        token = sharing.remote_token(s, p)
    return httpx.post(
        f"{partner.url}/taxii2/api/{PATH}",
        content=json.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Accept": "application/taxii+json"},
        timeout=30,
    )


def _ids(a: LiveNode, b: LiveNode) -> tuple[str, str]:
    with a.db.session() as s:
        ai = get_node_id(s)
    with b.db.session() as s:
        bi = get_node_id(s)
    return ai, bi


def test_forged_malformed_and_contradicting_anchors_are_refused(anchored: Pair) -> None:
    pk, ir = anchored.pk, anchored.ir
    pk_id, ir_id = _ids(pk, ir)
    ring = signing_keys(pk.settings.data_dir).ring()
    before = held(ir, "pk-node")
    top = max(before)
    with pk.db.session() as s:
        h = head(s)
    honest = message(ring, sender=pk_id, to=ir_id, head_=h, entries=[], holds_=0, more=False)
    assert _post(pk, ir, honest).status_code == 200  # what is held already: nothing new

    cases: list[tuple[dict[str, Any], int, str]] = []
    unsigned = {k: v for k, v in honest.items() if k != "signature"}
    cases.append((unsigned, 403, "unsigned"))
    stranger = SigningKey.generate(valid_from=None)
    cases.append((sign_object(unsigned, stranger), 403, "unknown key"))
    changed = json.loads(json.dumps(honest))
    changed["holds"] = 5  # one field changed after signing
    cases.append((changed, 403, "bad signature"))
    lie = message(
        ring, sender=pk_id, to=ir_id, head_=(top, "f" * 64), entries=[], holds_=0, more=False
    )
    cases.append((lie, 409, "rewritten"))
    behind = message(
        ring,
        sender=pk_id,
        to=ir_id,
        head_=(top - 3, before[top - 3]),
        entries=[],
        holds_=0,
        more=False,
    )
    cases.append((behind, 409, "deleted"))
    too_many = message(
        ring,
        sender=pk_id,
        to=ir_id,
        head_=(MAX_ANCHORS + 5, "a" * 64),
        entries=[(i, "a" * 64) for i in range(1, MAX_ANCHORS + 2)],
        holds_=0,
        more=False,
    )
    cases.append((too_many, 413, f"at most {MAX_ANCHORS}"))
    bad_hash = sign_object({**unsigned, "entries": [[top + 1, "nothex"]]}, ring)
    cases.append((bad_hash, 422, "entries[0].hash"))
    gap = message(
        ring,
        sender=pk_id,
        to=ir_id,
        head_=(top + 9, "b" * 64),
        entries=[(top + 5, "b" * 64)],
        holds_=0,
        more=False,
    )
    cases.append((gap, 422, "gap"))
    elsewhere = message(ring, sender=pk_id, to=pk_id, head_=h, entries=[], holds_=0, more=False)
    cases.append((elsewhere, 403, "not this node"))

    for body, status, reason in cases:
        r = _post(pk, ir, body)
        assert r.status_code == status, (reason, r.text)
        assert reason in r.json()["description"], r.text
    assert held(ir, "pk-node") == before  # nothing of any of them was stored
    with ir.db.session() as s:
        n = s.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "anchor.refused")
        )
    assert n == len(cases)
    # No token, no anchors.
    r = httpx.post(f"{ir.url}/taxii2/api/{PATH}", content=json.dumps(honest), timeout=30)
    assert r.status_code == 401


def test_a_partner_down_is_reported_and_fails_only_when_none_is_checked(
    anchored: Pair, spawn: Callable[..., LiveNode]
) -> None:
    pk, ir = anchored.pk, anchored.ir
    third = spawn("ir2-node", "IR")
    introduce(pk, third)
    trust_each_other(pk, third)
    assert sync(pk, "ir2-node").anchors is not None
    ir.stop()
    r = run(pk, "audit", "verify", "--partners")
    assert r.exit_code == 0, r.output  # ir2-node could be checked
    assert "ir-node" in r.output and "not checked" in r.output
    third.stop()
    r = run(pk, "audit", "verify", "--partners")
    assert r.exit_code == 1 and "no partner could be checked" in r.output
    assert "Traceback" not in r.output


def test_admins_verify_against_partners_in_the_api(anchored: Pair) -> None:
    pk = anchored.pk
    with pk.client() as c:
        body = c.get("/api/v1/federation/audit/verify").json()
    assert body["ok"] is True and body["partners"][0]["matched"] > 0
    rewrite(pk.db, 3, {"note": "edited"})
    with pk.client() as c:
        body = c.get("/api/v1/federation/audit/verify").json()
        assert c.get("/api/v1/audit/verify").json()["ok"] is True  # the chain alone passes
    assert body["ok"] is False and body["partners"][0]["first_mismatch"]["seq"] == 3
    with pk.client(Role.DUTY_OFFICER) as c:
        assert c.get("/api/v1/federation/audit/verify").status_code == 403


def test_the_partner_that_answers_with_a_rewritten_log_is_refused_too(anchored: Pair) -> None:
    """The caller checks the answer as the partner checks the call: a rewritten log shows
    whichever side syncs."""
    pk, ir = anchored.pk, anchored.ir
    before = held(pk, "ir-node")
    rewrite(ir.db, 2, {"note": "edited on the answering side"})
    report = sync(pk)
    assert report.anchors is not None and "their answer was refused" in report.anchors
    assert "rewritten" in report.anchors
    assert held(pk, "ir-node") == before
    with pk.db.session() as s:
        refusal = s.scalars(
            select(AuditLog).where(AuditLog.action == "anchor.refused").order_by(AuditLog.seq)
        ).all()[-1]
    assert refusal.detail["via"] == "answer"
    body = json.loads(run(ir, "audit", "verify", "--partners", "--json").output)
    assert body["partners"][0]["first_mismatch"]["seq"] == 2
