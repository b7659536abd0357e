"""Records signed by their originator: three real nodes on loopback (issue 15, "Trust").

pk (A) and ir (B) are partners, ir and af (C) are partners with forward_third_party on both
sides, and af trusts pk's key as a third node's (``keys trust --node``). A record of pk goes
to ir signed by pk, and ir forwards it to af as pk signed it: af checks pk, not ir.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from sarhad.core.auth import CONSOLE, Role, set_password
from sarhad.core.db import get_node_id
from sarhad.core.signing import (
    Reason,
    Refused,
    SigningKey,
    Verified,
    check_covers,
    covers_of,
    digest,
    new_ring,
    sign_object,
    verify_object,
)
from sarhad.federation.models import CollectionObject, Quarantined, Receipt
from sarhad.federation.publish import publish_partner, sign_all, sign_records
from sarhad.federation.service import local_node
from sarhad.federation.store import collection_id
from sarhad.federation.types import REGISTRY
from sarhad.federation.types.base import POOL_FROM
from sarhad.federation.types.incident import EXTENSION_ID, IncidentType, incident_to_stix
from sarhad.incidents import service as incidents
from sarhad.incidents.models import Incident
from sarhad.sharing import keys
from sarhad.sharing import service as sharing
from sarhad.sharing.schemas import AgreementIn
from support import LiveNode
from web.helpers import PASSWORD, sign_in, username

from .conftest import introduce
from .fixtures.stix_records import make_record
from .helpers import get, record, sync, trust_node, unkeyed
from .test_taxii_server import MEDIA, inbox_id, partner_client

AT = ("extensions", EXTENSION_ID, "signature")


@dataclass
class Chain:
    """pk → ir → af, with the node ids."""

    pk: LiveNode
    ir: LiveNode
    af: LiveNode
    ids: dict[str, str]


@pytest.fixture
def chain(spawn: Callable[..., LiveNode]) -> Chain:
    pk, ir, af = spawn("pk-node", "PK"), spawn("ir-node", "IR"), spawn("af-node", "AF")
    introduce(pk, ir)
    introduce(ir, af, terms_a={"forward_third_party": True}, terms_b={"forward_third_party": True})
    trust_node(af, pk)  # af confirmed pk's fingerprint by another channel
    ids = {}
    for n in (pk, ir, af):
        with n.db.session() as s:
            ids[n.settings.node_name] = get_node_id(s)
    return Chain(pk, ir, af, ids)


def outbound(node: LiveNode, partner: str) -> list[dict[str, Any]]:
    """The latest version of every object in ``node``'s collection for ``partner`` (brought
    up to date first, as before a TAXII page)."""
    with node.db.session() as s:
        p = sharing.get_partner(s, name=partner)
        publish_partner(s, node=local_node(s, node.settings), partner=p)
        rows = s.scalars(
            select(CollectionObject.payload)
            .where(
                CollectionObject.collection_id == collection_id(p.id, "outbound"),
                CollectionObject.is_latest.is_(True),
            )
            .order_by(CollectionObject.seq)
        ).all()
    return [json.loads(r) for r in rows]


def record_objects(objects: list[dict[str, Any]], record_id: str) -> list[dict[str, Any]]:
    """[incident, location, relationship] of one record among ``objects``."""
    n = next(i for i, o in enumerate(objects) if o["id"] == f"incident--{record_id}")
    return [objects[n], *IncidentType().parts(objects)[n]]


def post(node: LiveNode, sender: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
    """``sender`` POSTs ``objects`` to ``node``'s inbox; the TAXII status."""
    with partner_client(node, sender) as c:
        r = c.post(
            f"/api/collections/{inbox_id(c)}/objects/",
            content=json.dumps({"objects": objects}),
            headers={"Content-Type": MEDIA},
        )
    assert r.status_code == 202, r.text
    return r.json()


def refusal(status: dict[str, Any], stix_id: str) -> str:
    return next(f["message"] for f in status["failures"] if f["id"] == stix_id)


def quarantined(node: LiveNode, stix_id: str) -> list[str]:
    with node.db.session() as s:
        return list(s.scalars(select(Quarantined.reason).where(Quarantined.stix_id == stix_id)))


def signed_key(node: LiveNode, record_id: str) -> str | None:
    with node.db.session() as s:
        return s.scalar(
            select(Receipt.signed_key_id)
            .where(Receipt.stix_id == f"incident--{record_id}")
            .order_by(Receipt.modified.desc())
        )


def console_page(node: LiveNode, path: str) -> str:
    """``path`` of the web console as a signed-in liaison officer sees it."""
    with node.db.session() as s:
        set_password(s, username=username(Role.LIAISON), password=PASSWORD, actor="console")
    with httpx.Client(base_url=node.url, timeout=30) as c:
        assert sign_in(c, username(Role.LIAISON)).status_code == 303
        r = c.get(path)
    assert r.status_code == 200, r.text
    return r.text


def active_key(node: LiveNode) -> str:
    return keys.own_ring(node.settings.data_dir).active.public.key_id


# --- three nodes -----------------------------------------------------------------------------


def test_a_forwarded_record_arrives_verified_as_its_originators(chain: Chain) -> None:
    pk, ir, af = chain.pk, chain.ir, chain.af
    green = record(pk, tlp="green", title="Fuel seized, may be passed on")
    assert sync(ir, "pk-node").error is None
    assert signed_key(ir, green.id) == active_key(pk)  # ir checked pk's signature
    assert sync(af, "ir-node").error is None
    got = get(af, green.id)
    assert got is not None and got.origin_node_id == chain.ids["pk-node"]
    assert got.origin == "partner:ir-node"
    assert signed_key(af, green.id) == active_key(pk)  # af checked pk, not ir
    # What ir sent af is pk's signed objects, byte for byte as pk signed them.
    sent = record_objects(outbound(ir, "af-node"), green.id)
    assert sent == record_objects(outbound(pk, "ir-node"), green.id)
    assert sent[0]["created_by_ref"] == f"identity--{chain.ids['pk-node']}"
    assert sent[0]["extensions"][EXTENSION_ID]["signature"]["key_id"] == active_key(pk)
    # The API and the console say who signed it, with the key's fingerprint.
    fingerprint = keys.own_ring(pk.settings.data_dir).active.public.fingerprint
    with af.client(Role.LIAISON) as c:
        shown = c.get(f"/api/v1/incidents/{green.id}").json()["signature"]
    page = console_page(af, f"/incidents/{green.id}")
    assert shown == {
        "signed": True,
        "node_id": chain.ids["pk-node"],
        "node": chain.ids["pk-node"],  # pk is no partner of af: named by its node id
        "key_id": active_key(pk),
        "fingerprint": fingerprint,
    }
    assert f"Signed by {chain.ids['pk-node']}, key {fingerprint}" in page
    with ir.client(Role.LIAISON) as c:  # ir names pk, its partner, by name
        assert c.get(f"/api/v1/incidents/{green.id}").json()["signature"]["node"] == "pk-node"
        mine = record(ir, tlp="green", reporting_side="IR", title="ir's own record")
        assert c.get(f"/api/v1/incidents/{mine.id}").json()["signature"] is None


def test_a_large_forwarded_batch_is_checked_on_helpers_with_the_same_verdicts(
    chain: Chain,
) -> None:
    # Enough records that the checks run on helper processes, started before the batch is
    # read (Inbound.expect): each verdict must be the one a check in this thread gives.
    pk, ir, af = chain.pk, chain.ir, chain.af
    made = [record(pk, tlp="green", title=f"Fuel seized, convoy {n}") for n in range(POOL_FROM + 4)]
    assert sync(ir, "pk-node").error is None  # one page: one batch at ir
    assert {signed_key(ir, r.id) for r in made} == {active_key(pk)}
    forwarded = [record_objects(outbound(ir, "af-node"), r.id) for r in made]
    changed = copy.deepcopy(forwarded[5])
    changed[0]["name"] = changed[0]["name"].replace("Fuel", "Fuek")  # one byte
    objects = [o for n, rec in enumerate(forwarded) for o in (changed if n == 5 else rec)]
    status = post(af, "ir-node", objects)
    assert (status["success_count"], status["failure_count"]) == (3 * (len(made) - 1), 3)
    assert refusal(status, changed[0]["id"]).startswith(
        f"{changed[0]['id']}: signature: bad signature: "
    )
    assert get(af, made[5].id) is None
    assert all(signed_key(af, r.id) == active_key(pk) for n, r in enumerate(made) if n != 5)


@pytest.mark.parametrize("where", ["incident", "location"])
def test_one_byte_changed_by_the_forwarder_is_quarantined(chain: Chain, where: str) -> None:
    pk, ir, af = chain.pk, chain.ir, chain.af
    green = record(pk, tlp="green", title="Fuel seized, may be passed on")
    assert sync(ir, "pk-node").error is None
    objects = copy.deepcopy(record_objects(outbound(pk, "ir-node"), green.id))
    inc, loc = objects[0], next(o for o in objects if o["type"] == "location")
    if where == "incident":
        inc["name"] = inc["name"].replace("Fuel", "Fuek")  # one byte
    else:
        loc["latitude"] = 28.96  # 28.95 → 28.96: one digit
    status = post(af, "ir-node", objects)  # ir hands af pk's record, altered
    assert (status["success_count"], status["failure_count"]) == (0, 3)
    why = refusal(status, inc["id"])
    assert why.startswith(f"{inc['id']}: signature: bad signature: ")
    assert f"(originator node {chain.ids['pk-node']})" in why
    if where == "location":
        assert f"part {loc['id']} was changed after signing" in why
    assert get(af, green.id) is None
    assert any("signature: bad signature" in q for q in quarantined(af, inc["id"]))


def test_a_forwarder_claiming_to_be_the_originator_is_quarantined(chain: Chain) -> None:
    ir, af = chain.ir, chain.af
    own = record(ir, tlp="green", reporting_side="IR", title="Said to be pk's")
    with ir.db.session() as s:
        body = incidents.to_out(s.get(Incident, own.id)).model_dump(mode="json")
    objects = incident_to_stix(
        body,
        identity_id=f"identity--{chain.ids['pk-node']}",
        origin_node_id=chain.ids["pk-node"],
    )
    # ir signs a record that names pk as its originator, with ir's own key.
    ring = keys.own_ring(ir.settings.data_dir)
    forged = sign_records(IncidentType(), objects, ring, node_id=chain.ids["pk-node"])
    status = post(af, "ir-node", forged)
    assert status["failure_count"] == 3
    why = refusal(status, forged[0]["id"])
    assert "signature: unknown key: " in why and f"originator node {chain.ids['pk-node']}" in why
    # Unsigned, it is refused just the same: ir's word for pk's record is not enough.
    status = post(af, "ir-node", objects)
    assert "signature: unsigned: " in refusal(status, objects[0]["id"])
    assert get(af, own.id) is None


def test_a_key_revoked_as_compromised_is_quarantined(chain: Chain) -> None:
    pk, ir, af = chain.pk, chain.ir, chain.af
    before = record(pk, tlp="green", title="Signed before the theft")
    assert sync(ir, "pk-node").error is None  # ir took it while the key was trusted
    stolen = active_key(pk)
    with pk.db.session() as s:
        keys.revoke_own(
            s, data_dir=pk.settings.data_dir, key_id=stolen, reason="compromised", actor=CONSOLE
        )
    # af learns it from pk's announcement (signed by the revoked key: a revocation is taken).
    announcement = keys.own_ring(pk.settings.data_dir).announcements[-1]
    with af.db.session() as s:
        learned = keys.apply_announcement(
            s, announcement, node_id=chain.ids["pk-node"], actor="console"
        )
    assert learned.revoked == [stolen]
    assert sync(af, "ir-node").error is None
    assert get(af, before.id) is None
    [why] = [q for q in quarantined(af, f"incident--{before.id}") if "signature" in q]
    assert "signature: revoked key: " in why and "compromised" in why


def test_rotation_keeps_old_records_verifiable_and_reaches_partners(chain: Chain) -> None:
    pk, ir, af = chain.pk, chain.ir, chain.af
    old = record(pk, tlp="green", title="Signed by the first key")
    assert sync(ir, "pk-node").error is None
    first = active_key(pk)
    with pk.db.session() as s:
        keys.rotate_own(s, data_dir=pk.settings.data_dir, actor=CONSOLE)
    second = active_key(pk)
    assert second != first
    new = record(pk, tlp="green", title="Signed by the second key")
    # ir's next sync round fetches pk's announcement before pulling: no operator needed.
    assert sync(ir, "pk-node").error is None
    assert signed_key(ir, new.id) == second and signed_key(ir, old.id) == first
    with ir.db.session() as s:
        known = {k.key_id: k for k in keys.keys_for_node(s, chain.ids["pk-node"])}
        original = s.scalar(
            select(Receipt.original).where(Receipt.stix_id == f"incident--{old.id}")
        )
    assert known[second].key_id == second
    # The record signed before the rotation still verifies after it, parts and all.
    kept = json.loads(original or "[]")
    assert isinstance(verify_object(kept[0], known, at=AT), Verified)
    assert check_covers(kept[0], kept[1:], at=AT) is None
    # af trusted only the first key: the new record is refused until the announcement
    # reaches it (a bundle carries them); then ir's copy is taken.
    assert sync(af, "ir-node").error is None
    assert get(af, old.id) is not None and get(af, new.id) is None
    [why] = quarantined(af, f"incident--{new.id}")
    assert "signature: unknown key: " in why
    announcement = keys.own_ring(pk.settings.data_dir).announcements[-1]
    with af.db.session() as s:
        learned = keys.apply_announcement(
            s, announcement, node_id=chain.ids["pk-node"], actor="console"
        )
    assert learned.added == [second]
    status = post(af, "ir-node", record_objects(outbound(ir, "af-node"), new.id))
    assert status["success_count"] == 3, status
    assert signed_key(af, new.id) == second


def test_a_withdrawal_may_be_signed_by_the_forwarder(chain: Chain) -> None:
    pk, ir, af = chain.pk, chain.ir, chain.af
    green = record(pk, tlp="green", title="Passed on, then withdrawn")
    assert sync(ir, "pk-node").error is None
    assert sync(af, "ir-node").error is None
    assert get(af, green.id) is not None
    with ir.db.session() as s:  # ir may no longer pass third-party records to af
        sharing.set_agreement(
            s, partner="af-node", changes=AgreementIn(forward_third_party=False), actor=CONSOLE
        )
    assert sync(af, "ir-node").error is None
    withdrawn = next(o for o in outbound(ir, "af-node") if o["id"] == f"incident--{green.id}")
    assert withdrawn["revoked"] is True
    assert withdrawn["extensions"][EXTENSION_ID]["signature"]["key_id"] == active_key(ir)
    got = get(af, green.id)
    assert got is not None and got.revoked
    assert quarantined(af, f"incident--{green.id}") == []


# --- two nodes: unsigned peers, stripped signatures -------------------------------------------


def test_unsigned_records_of_a_peer_without_keys_are_taken_and_shown_unsigned(pair: Any) -> None:
    unkeyed(pair.pk, "ir-node")  # an agreement made without exchanging keys
    theirs = record(pair.ir, tlp="green", reporting_side="IR")
    objects = [copy.deepcopy(o) for o in record_objects(outbound(pair.ir, "pk-node"), theirs.id)]
    for o in objects:
        o.get("extensions", {}).get(EXTENSION_ID, {}).pop("signature", None)
    status = post(pair.pk, "ir-node", objects)
    assert status["success_count"] == 3, status
    assert signed_key(pair.pk, theirs.id) is None
    with pair.pk.client(Role.LIAISON) as c:
        shown = c.get(f"/api/v1/incidents/{theirs.id}").json()["signature"]
    page = console_page(pair.pk, f"/incidents/{theirs.id}")
    assert shown == {"signed": False, "node_id": shown["node_id"], "node": "ir-node"}
    assert ">Unsigned<" in page


def test_a_stripped_signature_is_quarantined(pair: Any) -> None:
    theirs = record(pair.ir, tlp="green", reporting_side="IR")
    objects = [copy.deepcopy(o) for o in record_objects(outbound(pair.ir, "pk-node"), theirs.id)]
    del objects[0]["extensions"][EXTENSION_ID]["signature"]
    status = post(pair.pk, "ir-node", objects)
    assert status["failure_count"] == 3
    why = refusal(status, objects[0]["id"])
    assert "signature: unsigned: ir-node" in why and "carries no signature" in why
    assert get(pair.pk, theirs.id) is None
    # The same objects with their signature are taken.
    assert (
        post(pair.pk, "ir-node", record_objects(outbound(pair.ir, "pk-node"), theirs.id))[
            "success_count"
        ]
        == 3
    )


def test_every_type_signs_what_it_originates(pair: Any) -> None:
    """Incidents, alerts and crossing declarations leave signed (and withdrawals too)."""
    sent = outbound(pair.pk, "ir-node")
    assert sent  # the static objects at least
    record(pair.pk, tlp="green")
    with pair.pk.client(Role.DUTY_OFFICER) as c:
        c.post(
            "/api/v1/alerts",
            json={"priority": "routine", "kind": "other", "text": "Radio check",
                  "location": {"lon": 61.6, "lat": 28.95}},
        )  # fmt: skip
    assert sync(pair.ir, "pk-node").error is None
    records = [
        (t, o)
        for o in outbound(pair.pk, "ir-node")
        for t in REGISTRY
        if (at := t.signature_at()) and at[1] in (o.get("extensions") or {})
    ]
    assert {t.name for t, _ in records} >= {"incident", "alert"}
    ring_keys = keys.own_ring(pair.pk.settings.data_dir).by_id()
    for t, o in records:
        at = t.signature_at()
        assert at is not None
        assert isinstance(verify_object(o, ring_keys, at=at), Verified), o["id"]
    with pair.ir.db.session() as s:
        assert s.scalars(select(Quarantined.reason)).all() == []


# --- units: covers and the publisher's rule ----------------------------------------------------


def _record() -> list[dict[str, Any]]:
    origin = "3f1c2a77-9d4b-4e0a-8f6e-2b7c5d9e1a44"
    return incident_to_stix(
        make_record(1, tlp="green", reporting_side="PK"),
        identity_id=f"identity--{origin}",
        origin_node_id=origin,
    )


def test_covers_bind_the_parts_by_digest() -> None:
    key = SigningKey.generate(valid_from=None)
    inc, loc, rel = _record()
    signed = sign_object(inc, key, at=AT, covers=covers_of([loc, rel]))
    block = signed["extensions"][EXTENSION_ID]["signature"]
    assert block["covers"] == {loc["id"]: digest(loc), rel["id"]: digest(rel)}
    assert isinstance(verify_object(signed, [key.public], at=AT), Verified)
    assert check_covers(signed, [loc, rel], at=AT) is None
    # The covers are signed: changing one is a bad signature of the incident itself.
    changed_covers = copy.deepcopy(signed)
    changed_covers["extensions"][EXTENSION_ID]["signature"]["covers"][loc["id"]] = "0" * 64
    refused = verify_object(changed_covers, [key.public], at=AT)
    assert isinstance(refused, Refused) and refused.reason is Reason.BAD_SIGNATURE
    # A changed part, a missing part, an added part of the same version: refused.
    moved = loc | {"latitude": loc["latitude"] + 0.01}
    for parts, says in (
        ([moved, rel], "was changed after signing"),
        ([rel], "is missing"),
        ([loc, rel, rel | {"id": "relationship--" + "1" * 8 + rel["id"][-28:]}], "not covered"),
    ):
        found = check_covers(signed, parts, at=AT)
        assert isinstance(found, Refused) and found.reason is Reason.BAD_SIGNATURE
        assert says in found.detail
    # A part of another version (a batch may carry several) is not this signature's business.
    older = loc | {"modified": "2020-01-01T00:00:00.000Z", "latitude": 1.0}
    assert check_covers(signed, [older, loc, rel], at=AT) is None


def test_the_publisher_signs_its_own_records_and_withdrawals_only() -> None:
    ring = new_ring(now=datetime(2026, 1, 1, tzinfo=UTC))
    objects = _record()
    origin = objects[0]["extensions"][EXTENSION_ID]["origin_node"]
    mine = sign_all(objects, ring, node_id=origin)
    assert "signature" in mine[0]["extensions"][EXTENSION_ID]
    assert [o for o in mine[1:]] == objects[1:]  # parts are covered, not signed
    assert set(mine[0]["extensions"][EXTENSION_ID]["signature"]["covers"]) == {
        objects[1]["id"],
        objects[2]["id"],
    }
    # Another node's record passes unsigned (forwarded as its originator signed it) ...
    theirs = sign_all(objects, ring, node_id="7c0e5a1b-2d3f-4a6b-8c9d-0e1f2a3b4c5d")
    assert "signature" not in theirs[0]["extensions"][EXTENSION_ID]
    # ... but a withdrawal is signed by whoever sends it.
    withdrawal = objects[0] | {"revoked": True}
    signed = sign_all([withdrawal], ring, node_id="7c0e5a1b-2d3f-4a6b-8c9d-0e1f2a3b4c5d")
    assert "signature" in signed[0]["extensions"][EXTENSION_ID]
