"""Known signing keys of other nodes and this node's own ring: service, CLI and API."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError
from sqlalchemy import select
from typer.testing import CliRunner

from sarhad.cli import app
from sarhad.core.auth import Principal, Role
from sarhad.core.config import Settings
from sarhad.core.db import Database, get_node_id, utcnow
from sarhad.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from sarhad.core.journal import AuditLog, verify_audit
from sarhad.core.signing import (
    PROOF_AT,
    KeyRing,
    Reason,
    Refused,
    Revocation,
    Verified,
    new_ring,
    public_pem,
    revoke,
    rotate,
    sign_object,
    verify_object,
)
from sarhad.sharing import keys, service
from sarhad.sharing.models import KnownKey
from sarhad.sharing.schemas import PartnerUpdate
from support import LiveNode

LIAISON = Principal("mirjaveh-liaison", Role.LIAISON)
IR_NODE = "7d3c1a52-5a43-4b8e-9a53-6a2f0c1d9e11"
AF_NODE = "3f1e0b7a-2c4d-4e5f-8a9b-0c1d2e3f4a5b"


def pem() -> str:
    return public_pem(Ed25519PrivateKey.generate().public_key())


def add_ir(db: Database, **extra: object) -> None:
    with db.session() as s:
        service.add_partner(s, name="ir-node", country="IR", actor=LIAISON, **extra)


def test_a_partners_key_given_at_the_agreement_is_its_first_key(db: Database) -> None:
    ring = new_ring(now=utcnow())
    add_ir(db, node_id=IR_NODE, public_key_pem=ring.active.public.pem)
    with db.session() as s:
        partner = service.get_partner(s, name="ir-node")
        shown = service.partner_out(s, partner)
        (key,) = shown.public_keys
        assert key.key_id == ring.active.public.key_id
        assert key.fingerprint == ring.active.public.fingerprint
        assert (key.partner, key.node_id, key.source, key.added_by, key.state) == (
            "ir-node",
            IR_NODE,
            "registered",
            LIAISON.username,
            "valid",
        )
        # what the partner signs verifies with the keys of the partner, and of its node
        signed = sign_object({"type": "incident"}, ring)
        for found in (keys.keys_for_partner(s, partner), keys.keys_for_node(s, IR_NODE)):
            assert isinstance(verify_object(signed, found), Verified)
        actions = s.scalars(select(AuditLog.action).order_by(AuditLog.seq)).all()
        assert "known_key.trust" in actions


def test_trusting_checks_the_fingerprint_read_out_and_who_the_key_belongs_to(
    db: Database,
) -> None:
    add_ir(db, node_id=IR_NODE)
    ring = new_ring(now=utcnow())
    theirs = ring.active.public
    with db.session() as s:
        ir = service.get_partner(s, name="ir-node")
        with pytest.raises(InvalidInput) as exc:
            keys.trust_key(
                s, public_key_pem=theirs.pem, partner=ir, fingerprint="12345 " * 8, actor=LIAISON
            )
        assert exc.value.errors[0].field == "fingerprint"
        spoken = theirs.fingerprint.replace(" ", "")  # read out without pauses: still matches
        row, added = keys.trust_key(
            s, public_key_pem=theirs.pem, partner=ir, fingerprint=spoken, actor=LIAISON
        )
        assert added and row.key_id == theirs.key_id
        again, added = keys.trust_key(s, public_key_pem=theirs.pem, partner=ir, actor=LIAISON)
        assert again is row and not added  # the same key twice changes nothing
        # B cannot have A's key registered as its own
        with pytest.raises(Conflict, match="registered already for partner ir-node"):
            keys.trust_key(s, public_key_pem=theirs.pem, node_id=AF_NODE, actor=LIAISON)
        for bad, field in (("not a key", "public_key_pem"), (pem(), "node_id")):
            with pytest.raises(InvalidInput) as exc:
                keys.trust_key(s, public_key_pem=bad, node_id="node-7", actor=LIAISON)
            assert exc.value.errors[0].field == field
        with pytest.raises(InvalidInput) as exc:
            keys.trust_key(
                s,
                public_key_pem=pem(),
                partner=ir,
                valid_from=utcnow(),
                valid_until=utcnow() - timedelta(days=1),
                actor=LIAISON,
            )
        assert exc.value.errors[0].field == "valid_until"


def test_third_node_keys_and_who_may_trust(db: Database) -> None:
    with db.session() as s:
        row, _ = keys.trust_key(
            s, public_key_pem=pem(), node_id=AF_NODE, label="af-node, Kabul", actor=LIAISON
        )
        assert (row.partner_id, row.node_id, row.label) == (None, AF_NODE, "af-node, Kabul")
        assert [k.key_id for k in keys.keys_for_node(s, AF_NODE)] == [row.key_id]
        assert keys.keys_for_node(s, IR_NODE) == []
        for role in (Role.ANALYST, Role.DUTY_OFFICER, Role.COMMANDER, Role.PARTNER):
            with pytest.raises(Forbidden):
                keys.trust_key(s, public_key_pem=pem(), node_id=AF_NODE, actor=Principal("x", role))


def test_revocation_superseded_then_compromised_and_never_trusted_again(db: Database) -> None:
    ring = new_ring(now=utcnow() - timedelta(days=30))
    add_ir(db, public_key_pem=ring.active.public.pem)
    early = sign_object({"n": 1}, ring, now=utcnow() - timedelta(days=20))
    late = sign_object({"n": 2}, ring, now=utcnow() - timedelta(days=2))
    kid = ring.active.public.key_id
    with db.session() as s:
        ir = service.get_partner(s, name="ir-node")
        keys.revoke_key(
            s,
            key_id=kid,
            reason="superseded",
            at=utcnow() - timedelta(days=10),
            partner=ir,
            actor=LIAISON,
        )
        known = keys.keys_for_partner(s, ir)
        assert isinstance(verify_object(early, known), Verified)
        refused = verify_object(late, known)
        assert isinstance(refused, Refused) and refused.reason is Reason.REVOKED_KEY
        with pytest.raises(Conflict, match="revoked already"):
            keys.revoke_key(s, key_id=kid, reason=Revocation.SUPERSEDED, actor=LIAISON)
        keys.revoke_key(s, key_id=kid, reason=Revocation.COMPROMISED, actor=LIAISON)
        assert isinstance(verify_object(early, keys.keys_for_partner(s, ir)), Refused)
        with pytest.raises(Conflict, match="not trusted again"):
            keys.trust_key(s, public_key_pem=ring.active.public.pem, partner=ir, actor=LIAISON)
        with pytest.raises(NotFound):
            keys.revoke_key(s, key_id="0" * 32, reason="superseded", actor=LIAISON)
        with pytest.raises(InvalidInput) as exc:
            keys.revoke_key(s, key_id=kid, reason="lost", actor=LIAISON)
        assert exc.value.errors[0].field == "reason"
        assert verify_audit(s).ok


def test_a_key_is_never_cleared_from_a_partner(db: Database) -> None:
    add_ir(db, public_key_pem=pem())
    with pytest.raises(ValidationError, match="revoke one instead"):
        PartnerUpdate.model_validate({"public_key_pem": None})
    with db.session() as s:
        partner = service.update_partner(
            s, name="ir-node", changes=PartnerUpdate(public_key_pem=pem()), actor=LIAISON
        )
        assert len(service.partner_out(s, partner).public_keys) == 2  # added, not replaced


# -- announcements ------------------------------------------------------------------------------


def _learn(db: Database, ring: KeyRing, **where: object) -> keys.Learned:
    with db.session() as s:
        if "partner" in where:
            where["partner"] = service.get_partner(s, name=str(where["partner"]))
        return keys.apply_announcement(
            s,
            json.loads(json.dumps(ring.announcements[-1])),
            actor="bundle",
            **where,  # type: ignore[arg-type]
        )


def test_a_rotation_announced_by_the_old_key_teaches_the_new_one(db: Database) -> None:
    ring = new_ring(now=utcnow() - timedelta(days=10))
    add_ir(db, node_id=IR_NODE, public_key_pem=ring.active.public.pem)
    rotated = rotate(ring, node_id=IR_NODE, now=utcnow() - timedelta(hours=1))
    learned = _learn(db, rotated, partner="ir-node")
    assert learned.refused is None
    assert learned.added == [rotated.active.public.key_id]
    assert learned.narrowed == [ring.active.public.key_id]  # the old key's window now ends
    with db.session() as s:
        ir = service.get_partner(s, name="ir-node")
        new = s.get(KnownKey, rotated.active.public.key_id)
        assert new is not None and new.source == "announcement" and new.node_id == IR_NODE
        known = keys.keys_for_partner(s, ir)
        assert isinstance(verify_object(sign_object({"a": 1}, rotated), known), Verified)
    assert not _learn(db, rotated, partner="ir-node").changed  # taken once


def test_announcements_from_keys_not_trusted_change_nothing(db: Database) -> None:
    ring, stranger = new_ring(now=utcnow()), new_ring(now=utcnow())
    add_ir(db, node_id=IR_NODE, public_key_pem=ring.active.public.pem)
    forged = rotate(stranger, node_id=IR_NODE, now=utcnow())
    learned = _learn(db, forged, partner="ir-node")
    assert learned.refused and "unknown key" in learned.refused and not learned.changed
    # nor can one node speak for another
    third = rotate(ring, node_id=AF_NODE, now=utcnow())
    assert _learn(db, third, node_id=AF_NODE).refused is not None
    with db.session() as s:
        assert len(s.scalars(select(KnownKey)).all()) == 1


def test_a_compromise_announced_revokes_and_teaches_no_new_key(db: Database) -> None:
    ring = new_ring(now=utcnow() - timedelta(days=1))
    add_ir(db, node_id=IR_NODE, public_key_pem=ring.active.public.pem)
    kid = ring.active.public.key_id
    now = utcnow()
    after = revoke(ring, kid, reason=Revocation.COMPROMISED, at=now, node_id=IR_NODE, now=now)
    learned = _learn(db, after, partner="ir-node")
    assert learned.revoked == [kid] and learned.added == []
    assert learned.skipped and "compromised" in learned.skipped[0]
    with db.session() as s:
        row = s.get(KnownKey, kid)
        assert row is not None and row.revocation == "compromised"


# -- command line -------------------------------------------------------------------------------


@pytest.fixture
def run(settings: Settings, db: Database):
    env = {
        "SARHAD_DATA_DIR": str(settings.data_dir),
        "SARHAD_DATABASE_URL": settings.database_url,
        "SARHAD_NODE_SIDE": "PK",
    }

    def invoke(*args: str):
        return CliRunner().invoke(app, list(args), env=env)

    return invoke


def test_keys_commands(run, db: Database, settings: Settings, tmp_path: Path) -> None:
    ours = keys.own_ring(settings.data_dir).active.public
    shown = run("keys", "show")
    assert shown.exit_code == 0, shown.output
    assert ours.fingerprint in shown.output and ours.key_id in shown.output
    assert run("keys", "show", "--pem").output == ours.pem

    add_ir(db, node_id=IR_NODE)
    theirs = new_ring(now=utcnow()).active.public
    key_file = tmp_path / "ir.pem"
    key_file.write_text(theirs.pem)
    wrong = run(
        "keys",
        "trust",
        "--partner",
        "ir-node",
        "--public-key",
        str(key_file),
        "--fingerprint",
        "11111 22222 33333 44444 55555 66666 77777 88888",
    )
    assert wrong.exit_code == 2 and "fingerprint" in wrong.output
    trusted = run(
        "keys",
        "trust",
        "--partner",
        "ir-node",
        "--public-key",
        str(key_file),
        "--fingerprint",
        theirs.fingerprint,
    )
    assert trusted.exit_code == 0, trusted.output
    assert theirs.fingerprint in trusted.output
    third_file = tmp_path / "af.pem"
    third_file.write_text(pem())
    third = run("keys", "trust", AF_NODE, "--public-key", str(third_file), "--label", "af-node")
    assert third.exit_code == 0, third.output
    assert "check:" in third.output  # no fingerprint given: told to check it
    both = run("keys", "trust", AF_NODE, "--partner", "ir-node", "--public-key", str(key_file))
    assert both.exit_code == 2

    listed = json.loads(run("keys", "list", "--json").output)
    assert {(k["partner"], k["node_id"]) for k in listed} == {("ir-node", IR_NODE), (None, AF_NODE)}
    only_ir = json.loads(run("keys", "list", "--partner", "ir-node", "--json").output)
    assert [k["key_id"] for k in only_ir] == [theirs.key_id]
    assert "ir-node" in run("partners", "show", "ir-node").output
    assert theirs.fingerprint in " ".join(run("partners", "show", "ir-node").output.split())

    revoked = run("keys", "revoke", theirs.key_id, "--reason", "compromised")
    assert revoked.exit_code == 0, revoked.output
    assert (
        json.loads(run("keys", "list", "--partner", "ir-node", "--json").output)[0]["revocation"]
        == "compromised"
    )
    assert run("keys", "revoke", theirs.key_id, "--reason", "lost").exit_code == 2

    # our own: rotate, then the announcement is signed by the old key
    assert run("keys", "announcement").exit_code == 3  # nothing rotated yet
    rotated = run("keys", "rotate", "--overlap-hours", "2", "--json")
    assert rotated.exit_code == 0, rotated.output
    new_id = json.loads(rotated.output)["active_key_id"]
    assert new_id != ours.key_id
    out_file = tmp_path / "announcement.json"
    assert run("keys", "announcement", "--out", str(out_file)).exit_code == 0
    assert json.loads(out_file.read_text())["signature"]["key_id"] == ours.key_id
    assert run("keys", "revoke", ours.key_id, "--reason", "superseded").exit_code == 0
    mine = json.loads(run("keys", "show", "--json").output)
    assert mine["active_key_id"] == new_id
    assert [k["revocation"] for k in mine["keys"]] == ["superseded", None]
    with db.session() as s:
        assert mine["node_id"] == get_node_id(s)
        actions = set(s.scalars(select(AuditLog.action)))
    assert {"node.signing_key.rotate", "node.signing_key.revoke", "known_key.revoke"} <= actions


# -- API ----------------------------------------------------------------------------------------


def test_partner_and_node_keys_over_the_api(live: LiveNode) -> None:
    theirs = new_ring(now=utcnow()).active.public
    with live.client(Role.LIAISON) as c:
        assert c.post("/api/v1/partners", json={"name": "ir-node", "country": "IR"}).is_success
        body = {"public_key_pem": theirs.pem, "fingerprint": theirs.fingerprint}
        r = c.post("/api/v1/partners/ir-node/keys", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["key_id"] == theirs.key_id and r.json()["state"] == "valid"
        assert c.post("/api/v1/partners/ir-node/keys", json=body).status_code == 200
        bad = c.post("/api/v1/partners/ir-node/keys", json={"public_key_pem": "nope"})
        assert bad.status_code == 422
        assert bad.json()["error"]["fields"][0]["field"] == "public_key_pem"
        listed = c.get("/api/v1/partners/ir-node/keys").json()
        assert [k["fingerprint"] for k in listed] == [theirs.fingerprint]
        assert c.get("/api/v1/partners/ir-node").json()["public_keys"][0]["key_id"] == theirs.key_id
        assert c.get("/api/v1/partners/nobody/keys").status_code == 404

        third = {"public_key_pem": theirs.pem, "node_id": AF_NODE}
        conflict = c.post("/api/v1/keys/known", json=third)
        assert conflict.status_code == 409  # the key is ir-node's
        third["public_key_pem"] = pem()
        r = c.post("/api/v1/keys/known", json={**third, "label": "af-node"})
        assert r.status_code == 201, r.text
        af_key = r.json()["key_id"]
        known = c.get("/api/v1/keys/known").json()
        assert {k["key_id"] for k in known} == {theirs.key_id, af_key}
        assert [k["key_id"] for k in c.get(f"/api/v1/keys/known?node_id={AF_NODE}").json()] == [
            af_key
        ]

        r = c.post(f"/api/v1/partners/ir-node/keys/{af_key}/revoke", json={"reason": "superseded"})
        assert r.status_code == 404  # not one of ir-node's keys
        r = c.post(
            f"/api/v1/partners/ir-node/keys/{theirs.key_id}/revoke", json={"reason": "superseded"}
        )
        assert r.status_code == 200 and r.json()["revocation"] == "superseded"
        r = c.post(f"/api/v1/keys/known/{af_key}/revoke", json={"reason": "compromised"})
        assert r.status_code == 200 and r.json()["state"] == "revoked"
        future = c.post(
            f"/api/v1/keys/known/{af_key}/revoke",
            json={"reason": "compromised", "at": "2999-01-01T00:00:00Z"},
        )
        assert future.status_code == 422

        own = c.get("/api/v1/keys").json()
        ring = keys.own_ring(live.settings.data_dir)
        assert own["active_key_id"] == ring.active.public.key_id
        assert own["keys"][0]["fingerprint"] == ring.active.public.fingerprint
        assert "PRIVATE" not in json.dumps(own)
        assert c.get("/api/v1/keys/announcement").status_code == 404

    with live.client(Role.ANALYST) as c:
        assert c.get("/api/v1/keys/known").status_code == 200
        assert c.post("/api/v1/keys/known", json=third).status_code == 403
    with live.client(Role.DUTY_OFFICER) as c:
        assert c.get("/api/v1/keys").status_code == 403


def test_a_key_spelt_with_spare_base64_bits_is_stored_in_its_one_spelling(db: Database) -> None:
    """Base64 with the spare bits of its last character set decodes to the same key here, but
    OpenSSL refuses it: such a key passed the schema and then could not be loaded."""
    key = new_ring(now=utcnow()).active.public
    body = key.pem.splitlines()[1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    odd = body[:-2] + alphabet[alphabet.index(body[-2]) ^ 1] + "="
    with db.session() as s:
        row, _ = keys.trust_key(
            s, public_key_pem=key.pem.replace(body, odd), node_id=AF_NODE, actor=LIAISON
        )
        assert row.public_key == key.pem and row.key_id == key.key_id


def test_a_node_cannot_revoke_another_nodes_key_in_its_announcement(db: Database) -> None:
    ir = new_ring(now=utcnow() - timedelta(days=1))
    add_ir(db, public_key_pem=ir.active.public.pem)  # a partner whose node id we do not hold
    af = new_ring(now=utcnow() - timedelta(days=1))
    with db.session() as s:
        keys.trust_key(s, public_key_pem=af.active.public.pem, node_id=AF_NODE, actor=LIAISON)
    # af-node's genuine announcement, listing ir-node's key as compromised
    now = utcnow()
    doc = {
        "type": "sarhad-key-announcement",
        "version": 1,
        "node_id": AF_NODE,
        "issued_at": "2026-11-02T08:00:00.000Z",
        "active_key_id": af.active.public.key_id,
        "keys": [
            af.active.public.to_json(),
            dict(
                ir.active.public.to_json(),
                revoked_at="2026-11-01T00:00:00.000Z",
                revocation="compromised",
            ),
        ],
    }
    signed = sign_object(sign_object(doc, af, at=PROOF_AT, now=now), af, now=now)
    with db.session() as s:
        learned = keys.apply_announcement(s, signed, node_id=AF_NODE, actor="bundle")
    assert learned.refused is None and learned.revoked == []
    assert learned.skipped == [f"{ir.active.public.key_id}: registered here for another node"]
    with db.session() as s:
        row = s.get(KnownKey, ir.active.public.key_id)
        assert row is not None and row.revocation is None


def test_only_the_key_that_signed_its_own_announcement_is_learned(db: Database) -> None:
    ring = new_ring(now=utcnow() - timedelta(days=1))
    add_ir(db, node_id=IR_NODE, public_key_pem=ring.active.public.pem)
    extra = new_ring(now=utcnow()).active.public  # a key ir-node lists but never signed with
    now = utcnow()
    doc = {
        "type": "sarhad-key-announcement",
        "version": 1,
        "node_id": IR_NODE,
        "issued_at": "2026-11-02T08:00:00.000Z",
        "active_key_id": ring.active.public.key_id,
        "keys": [ring.active.public.to_json(), extra.to_json()],
    }
    signed = sign_object(sign_object(doc, ring, at=PROOF_AT, now=now), ring, now=now)
    with db.session() as s:
        learned = keys.apply_announcement(
            s, signed, partner=service.get_partner(s, name="ir-node"), actor="bundle"
        )
        assert learned.added == [] and s.get(KnownKey, extra.key_id) is None
    assert learned.skipped == [f"{extra.key_id}: comes with its own announcement"]
