"""Our TAXII 2.1 server as a partner's client sees it: scoping, paging, media types, errors."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sarhad.core.auth import CONSOLE
from sarhad.core.db import get_node_id
from sarhad.federation.models import Quarantined
from sarhad.federation.types.incident import incident_to_stix
from sarhad.incidents import service as incidents
from sarhad.incidents.models import Incident
from sarhad.sharing import service as sharing
from sarhad.sharing.schemas import AgreementIn
from support import LiveNode

from .conftest import Pair
from .helpers import get, record, resign, trust_node

MEDIA = "application/taxii+json;version=2.1"


def partner_client(
    node: LiveNode, partner_name: str, spawn_token: str | None = None
) -> httpx.Client:
    """A client holding the token that ``partner_name`` uses to call ``node``."""
    with node.db.session() as s:
        from sarhad.core.auth import issue_token

        token = spawn_token or issue_token(
            s, username=f"partner-{partner_name}", actor=CONSOLE.username
        )
    return httpx.Client(
        base_url=f"{node.url}/taxii2",
        timeout=30,
        headers={"Authorization": f"Bearer {token}", "Accept": MEDIA},
    )


def outbound_id(c: httpx.Client) -> str:
    cols = c.get("/api/collections/").json()["collections"]
    return next(x["id"] for x in cols if x["can_read"])


def inbox_id(c: httpx.Client) -> str:
    cols = c.get("/api/collections/").json()["collections"]
    return next(x["id"] for x in cols if x["can_write"])


def test_discovery_api_root_and_collections(pair: Pair) -> None:
    with partner_client(pair.pk, "ir-node") as c:
        d = c.get("/")
        assert d.status_code == 200 and d.headers["content-type"].startswith(MEDIA)
        assert d.json()["api_roots"] == [f"{pair.pk.url}/taxii2/api/"]
        root = c.get("/api/").json()
        assert root["versions"] == [MEDIA]
        cols = c.get("/api/collections/").json()["collections"]
        assert sorted((x["can_read"], x["can_write"]) for x in cols) == [
            (False, True),
            (True, False),
        ]


def test_tokens_are_scoped_to_their_partner(pair: Pair, spawn) -> None:
    from .conftest import introduce

    third = spawn("af-node", "AF")
    introduce(pair.pk, third)
    with partner_client(pair.pk, "ir-node") as ir, partner_client(pair.pk, "af-node") as af:
        ir_out = outbound_id(ir)
        assert outbound_id(af) != ir_out
        r = af.get(f"/api/collections/{ir_out}/objects/")
        assert r.status_code == 404 and r.json()["http_status"] == "404"
    with httpx.Client(base_url=f"{pair.pk.url}/taxii2") as anon:
        r = anon.get("/api/collections/")
        assert r.status_code == 401 and r.headers["content-type"].startswith(MEDIA)
        assert set(r.json()) >= {"title", "description", "http_status"}
    with httpx.Client(
        base_url=f"{pair.pk.url}/taxii2",
        headers={"Authorization": f"Bearer {pair.pk.tokens[next(iter(pair.pk.tokens))]}"},
    ) as staff:
        assert (
            staff.get("/api/collections/").status_code == 403
        )  # staff tokens are not partner tokens


def test_paging_is_stable_and_complete(pair: Pair) -> None:
    rows = [record(pair.pk, title=f"Seizure number {i}") for i in range(5)]
    with partner_client(pair.pk, "ir-node") as c:
        col = outbound_id(c)
        seen, nxt, pages = [], None, 0
        while True:
            params = {"limit": 4, **({"next": nxt} if nxt else {})}
            r = c.get(f"/api/collections/{col}/objects/", params=params)
            body = r.json()
            if nxt:  # the same `next` twice gives the same page
                again = c.get(f"/api/collections/{col}/objects/", params=params).json()
                assert again["objects"] == body["objects"]
            seen += [o["id"] for o in body["objects"]]
            pages += 1
            if not body["more"]:
                break
            nxt = body["next"]
        assert len(seen) == len(set(seen))
        assert {f"incident--{r.id}" for r in rows} <= set(seen)
        # added_after with the last date of a page never skips the next object
        first = c.get(f"/api/collections/{col}/objects/", params={"limit": 3})
        last = first.headers["X-TAXII-Date-Added-Last"]
        rest = c.get(
            f"/api/collections/{col}/objects/", params={"added_after": last, "limit": 1000}
        ).json()
        assert [o["id"] for o in first.json()["objects"]] + [
            o["id"] for o in rest["objects"]
        ] == seen
        bad = c.get(f"/api/collections/{col}/objects/", params={"next": "garbage"})
        assert bad.status_code == 400 or bad.status_code == 422


def test_filters_manifest_and_versions(pair: Pair) -> None:
    row = record(pair.pk)
    with partner_client(pair.pk, "ir-node") as c:
        col = outbound_id(c)
        inc = c.get(f"/api/collections/{col}/objects/", params={"match[type]": "incident"}).json()
        assert [o["type"] for o in inc["objects"]] == ["incident"]
        one = c.get(f"/api/collections/{col}/objects/incident--{row.id}/").json()
        assert one["objects"][0]["id"] == f"incident--{row.id}"
        versions = c.get(f"/api/collections/{col}/objects/incident--{row.id}/versions/").json()
        assert versions["versions"] == [one["objects"][0]["modified"]]
        man = c.get(
            f"/api/collections/{col}/manifest/", params={"match[id]": f"incident--{row.id}"}
        ).json()
        assert man["objects"][0]["version"] == one["objects"][0]["modified"]
        assert (
            c.get(
                f"/api/collections/{col}/objects/incident--00000000-0000-4000-8000-000000000000/"
            ).status_code
            == 404
        )
        assert (
            c.get(f"/api/collections/{col}/objects/", headers={"Accept": "text/html"}).status_code
            == 406
        )


def test_post_validates_each_object_and_quarantines_the_bad(pair: Pair) -> None:
    good = record(pair.ir, reporting_side="IR")
    with partner_client(pair.ir, "pk-node") as from_ir:  # take IR's own serialisation of it
        objects = from_ir.get(
            f"/api/collections/{outbound_id(from_ir)}/objects/", params={"limit": 1000}
        ).json()["objects"]
    bad = [
        {"type": "incident", "id": "incident--not-a-uuid", "spec_version": "2.1", "name": "x"},
        {"type": "observed-data", "id": "observed-data--6f1d2a3e-1111-4aaa-8bbb-123456789abc"},
        "not even an object",
    ]
    with partner_client(pair.pk, "ir-node") as c:
        inbox = inbox_id(c)
        body = json.dumps({"objects": objects + bad})
        r = c.post(
            f"/api/collections/{inbox}/objects/", content=body, headers={"Content-Type": MEDIA}
        )
        assert r.status_code == 202, r.text
        status = r.json()
        assert status["failure_count"] == 3 and status["success_count"] == len(objects)
        again = c.post(
            f"/api/collections/{inbox}/objects/", content=body, headers={"Content-Type": MEDIA}
        ).json()
        assert again["success_count"] == len(objects)  # already have it = success, not failure
        assert c.get(f"/api/status/{status['id']}/").json()["id"] == status["id"]
        assert (
            c.post(
                f"/api/collections/{inbox}/objects/", content=b"{", headers={"Content-Type": MEDIA}
            ).status_code
            == 400
        )
        assert (
            c.post(
                f"/api/collections/{inbox}/objects/",
                content=b"{}",
                headers={"Content-Type": "application/json"},
            ).status_code
            == 415
        )
        assert (
            c.post(
                f"/api/collections/{outbound_id(c)}/objects/",
                content=body,
                headers={"Content-Type": MEDIA},
            ).status_code
            == 403
        )
    with pair.pk.db.session() as s:
        assert s.get(Incident, good.id) is not None
        assert s.scalar(select(func.count()).select_from(Quarantined)) == 6
        reasons = s.scalars(select(Quarantined.reason)).all()
    assert any("observed-data" in r for r in reasons)


@pytest.mark.parametrize(
    ("where", "value", "says"),
    [
        ("name", "nul\u0000title", "title: contains a NUL"),
        ("name", "bell\u0007", "title: contains a control character (U+0007)"),
        ("description", "nul\u0000narrative", "narrative: contains a NUL"),
        ("name", "half\ud800", "title: Input should be a valid string"),  # pydantic-core
    ],
)
def test_a_partner_incident_with_control_characters_is_quarantined(
    pair: Pair, where: str, value: str, says: str
) -> None:
    record(pair.ir, reporting_side="IR")
    with partner_client(pair.ir, "pk-node") as from_ir:
        objects = from_ir.get(
            f"/api/collections/{outbound_id(from_ir)}/objects/", params={"limit": 1000}
        ).json()["objects"]
    incident = next(o for o in objects if o["type"] == "incident")
    incident[where] = value
    with partner_client(pair.pk, "ir-node") as c:
        # json.dumps escapes NUL and lone surrogates (\u0000, \ud800), as a JSON client would.
        r = c.post(
            f"/api/collections/{inbox_id(c)}/objects/",
            content=json.dumps({"objects": objects}),
            headers={"Content-Type": MEDIA},
        )
        assert r.status_code == 202, r.text
        status = r.json()
    # The incident, its location and its located-at relationship share one verdict.
    assert status["failure_count"] == 3, status
    failure = next(f for f in status["failures"] if f["id"] == incident["id"])
    assert says in failure["message"]
    with pair.pk.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 0
        q = s.scalars(select(Quarantined).where(Quarantined.stix_id == incident["id"])).one()
        assert says in q.reason
        assert json.loads(q.payload)[where] == value  # kept escaped: the admin sees what came


@pytest.mark.parametrize(
    ("part", "key", "value", "says"),
    [
        ("location", "longitude", 2.35, "km from the border line"),
        ("extension", "occurred_at", "9999-01-01T00:00:00.000Z", "occurred_at: 9999"),
        ("extension", "occurred_at", "1900-01-01T00:00:00.000Z", "before 1989"),
    ],
)
def test_a_partner_record_far_off_or_out_of_time_is_quarantined(
    pair: Pair, part: str, key: str, value: object, says: str
) -> None:
    from sarhad.federation.types.incident import EXTENSION_ID

    good = record(pair.ir, reporting_side="IR")
    other = record(pair.ir, reporting_side="IR", title="Second, untouched")
    with partner_client(pair.ir, "pk-node") as from_ir:
        objects = from_ir.get(
            f"/api/collections/{outbound_id(from_ir)}/objects/", params={"limit": 1000}
        ).json()["objects"]
    incident = next(o for o in objects if o["id"] == f"incident--{good.id}")
    if part == "location":
        target = next(
            o["target_ref"]
            for o in objects
            if o["type"] == "relationship" and o["source_ref"] == incident["id"]
        )
        next(o for o in objects if o["id"] == target)[key] = value
    else:
        incident["extensions"][EXTENSION_ID][key] = value
    objects = resign(pair.ir, objects)  # ir itself signed the bad content
    with partner_client(pair.pk, "ir-node") as c:
        r = c.post(
            f"/api/collections/{inbox_id(c)}/objects/",
            content=json.dumps({"objects": objects}),
            headers={"Content-Type": MEDIA},
        )
        assert r.status_code == 202, r.text
        status = r.json()
    # The incident, its location and its located-at relationship share one verdict.
    assert status["failure_count"] == 3, status
    failure = next(f for f in status["failures"] if f["id"] == incident["id"])
    assert says in failure["message"]
    with pair.pk.db.session() as s:
        assert s.get(Incident, good.id) is None and s.get(Incident, other.id) is not None
        q = s.scalars(select(Quarantined).where(Quarantined.stix_id == incident["id"])).one()
        assert says in q.reason


def test_a_partner_update_moving_a_record_far_off_is_quarantined_and_v1_kept(
    pair: Pair,
) -> None:
    from sarhad.federation.types.incident import EXTENSION_ID

    good = record(pair.ir, reporting_side="IR")
    with partner_client(pair.ir, "pk-node") as from_ir:
        objects = from_ir.get(
            f"/api/collections/{outbound_id(from_ir)}/objects/", params={"limit": 1000}
        ).json()["objects"]
    with partner_client(pair.pk, "ir-node") as c:
        url = f"/api/collections/{inbox_id(c)}/objects/"
        headers = {"Content-Type": MEDIA}
        first = c.post(url, content=json.dumps({"objects": objects}), headers=headers).json()
        assert first["failure_count"] == 0, first
        from datetime import UTC, datetime

        later = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        moved = [
            o
            for o in json.loads(json.dumps(objects))
            if o["type"] in ("incident", "location", "relationship")
        ]
        for o in moved:  # version 2 of the incident, its location and relationship
            o["modified"] = later
            if o["type"] == "location":
                o["longitude"], o["latitude"] = 2.35, 48.86
            if o["type"] == "incident":
                o["extensions"][EXTENSION_ID]["version"] += 1
        moved = resign(pair.ir, moved)  # ir itself signed the move
        status = c.post(url, content=json.dumps({"objects": moved}), headers=headers).json()
    assert status["failure_count"] == 3, [f["message"] for f in status["failures"]][:3]
    [why] = [f["message"] for f in status["failures"] if f["id"] == f"incident--{good.id}"]
    assert "5,312.8 km from the border line" in why
    with pair.pk.db.session() as s:
        kept = s.get(Incident, good.id)
        assert kept is not None and (kept.lon, kept.lat) == (61.6, 28.95)
        assert kept.sector_id is not None


def test_three_nodes_originator_control(spawn) -> None:
    from .conftest import introduce
    from .helpers import sync

    pk, ir, af = spawn("pk-node", "PK"), spawn("ir-node", "IR"), spawn("af-node", "AF")
    introduce(pk, ir)
    # Both sides of ir-af allow third-party records: ir forwards, af takes them.
    introduce(ir, af, terms_a={"forward_third_party": True}, terms_b={"forward_third_party": True})
    trust_node(af, pk)  # af confirmed pk's key by another channel: pk's records verify at af
    amber = record(pk, tlp="amber")
    green = record(pk, tlp="green", title="Fuel seized, may be passed on")
    sync(ir, "pk-node")
    assert sync(af, "ir-node").error is None
    with af.db.session() as s:
        assert s.get(Incident, amber.id) is None  # TLP:AMBER is never forwarded to a third node
        got = s.get(Incident, green.id)
        assert got is not None and got.origin == "partner:ir-node"
    with pk.db.session() as s:
        pk_node = get_node_id(s)
        assert s.scalar(select(Incident.origin_node_id).where(Incident.id == green.id)) is None
    assert got.origin_node_id == pk_node  # af knows it is pk's record, passed on by ir
    with ir.db.session() as s:
        assert sharing.terms_for(s, partner="af-node").forward_third_party


def test_a_partner_that_may_not_forward_cannot_pass_on_records(spawn) -> None:
    from .conftest import introduce
    from .helpers import sync

    pk, ir, af = spawn("pk-node", "PK"), spawn("ir-node", "IR"), spawn("af-node", "AF")
    introduce(pk, ir, terms_a={"forward_third_party": True})  # pk forwards to ir...
    introduce(pk, af)  # ...af's records; ir does not know af
    trust_node(ir, af)  # but it holds af's key, confirmed by another channel
    first = record(af, tlp="green", reporting_side="IR", title="Goods seized near the tri-point")
    sync(pk, "af-node")
    assert sync(ir, "pk-node").error is None
    with ir.db.session() as s:
        assert s.get(Incident, first.id) is None
        [reason] = s.scalars(
            select(Quarantined.reason).where(Quarantined.stix_id == f"incident--{first.id}")
        ).all()
    assert "does not allow third-party records (forward_third_party)" in reason
    # Once ir's agreement with pk takes third-party records, the next one lands.
    with ir.db.session() as s:
        sharing.set_agreement(
            s, partner="pk-node", changes=AgreementIn(forward_third_party=True), actor=CONSOLE
        )
    second = record(af, tlp="green", reporting_side="IR", title="More goods near the tri-point")
    sync(pk, "af-node")
    assert sync(ir, "pk-node").error is None
    landed = get(ir, second.id)
    with af.db.session() as s:
        assert landed is not None and landed.origin_node_id == get_node_id(s)
    assert landed.origin == "partner:pk-node"


def _claim(sender: LiveNode, receiver: LiveNode, record_row: Incident, origin: str) -> dict:
    """``sender`` POSTs ``record_row`` to ``receiver``'s inbox, naming ``origin`` as originator."""
    with record_row_session(sender) as (s, sender_id):
        body = incidents.to_out(s.get(Incident, record_row.id)).model_dump(mode="json")
    objects = incident_to_stix(body, identity_id=f"identity--{sender_id}", origin_node_id=origin)
    with sender.db.session() as s:
        token = sharing.remote_token(s, sharing.get_partner(s, name=receiver.settings.node_name))
    with partner_client(receiver, sender.settings.node_name, token) as c:
        r = c.post(
            f"/api/collections/{inbox_id(c)}/objects/",
            content=json.dumps({"objects": objects}),
            headers={"Content-Type": MEDIA},
        )
    assert r.status_code == 202, r.text
    return r.json()


@contextmanager
def record_row_session(node: LiveNode) -> Iterator[tuple[Session, str]]:
    with node.db.session() as s:
        yield s, get_node_id(s)


def test_a_partner_cannot_claim_another_nodes_records(spawn) -> None:
    from .conftest import introduce
    from .helpers import sync

    pk, ir, af = spawn("pk-node", "PK"), spawn("ir-node", "IR"), spawn("af-node", "AF")
    introduce(pk, ir)
    introduce(pk, af)
    with ir.db.session() as s:
        ir_node = get_node_id(s)
    # af sends pk a record naming ir, pk's own partner, as its originator: refused, and its
    # location and relationship with it.
    forged = record(af, tlp="green", reporting_side="IR", title="Claimed in ir-node's name")
    status = _claim(af, pk, forged, ir_node)
    assert (status["total_count"], status["success_count"], status["failure_count"]) == (3, 0, 3)
    [why] = [f["message"] for f in status["failures"] if f["id"].startswith("incident--")]
    assert "ir-node is our partner" in why and "never through af-node" in why
    assert get(pk, forged.id) is None
    # A node pk does not know, claimed without the agreement's leave: refused too.
    stranger = str(uuid.uuid4())
    status = _claim(af, pk, forged, stranger)
    assert status["failure_count"] == 3
    assert "does not allow third-party records" in status["failures"][0]["message"]
    # With forward_third_party on af's agreement, a GREEN record of a stranger still needs
    # the stranger's signature: af's word for it is not enough (test_signatures.py has the
    # signed case); an AMBER one may not be passed on at all.
    with pk.db.session() as s:
        sharing.set_agreement(
            s, partner="af-node", changes=AgreementIn(forward_third_party=True), actor=CONSOLE
        )
    status = _claim(af, pk, forged, stranger)
    assert status["failure_count"] == 3, status
    [why] = [f["message"] for f in status["failures"] if f["id"].startswith("incident--")]
    assert "signature: unsigned" in why and "forwarded by af-node" in why
    assert get(pk, forged.id) is None
    amber = record(af, tlp="amber", reporting_side="IR", title="Amber record of a stranger")
    status = _claim(af, pk, amber, stranger)
    assert status["failure_count"] == 3 and "TLP:AMBER" in status["failures"][0]["message"]
    # ir's own records still come from ir, untouched by what af claimed.
    mine = record(ir, reporting_side="IR", title="Recorded by ir-node itself")
    assert sync(pk, "ir-node").error is None
    assert get(pk, mine.id).origin_node_id == ir_node
    with pk.db.session() as s:
        quarantined = s.scalars(select(Quarantined.reason)).all()
    assert sum("which was refused" in q for q in quarantined) == 8  # parts, with their reason


@pytest.mark.parametrize("size", [70_000])
def test_oversized_object_is_refused(pair: Pair, size: int) -> None:
    huge = {
        "type": "note",
        "id": "note--6f1d2a3e-2222-4aaa-8bbb-123456789abc",
        "spec_version": "2.1",
        "created": "2026-11-20T00:00:00.000Z",
        "modified": "2026-11-20T00:00:00.000Z",
        "content": "x" * size,
        "object_refs": ["incident--6f1d2a3e-3333-4aaa-8bbb-123456789abc"],
    }
    with partner_client(pair.pk, "ir-node") as c:
        r = c.post(
            f"/api/collections/{inbox_id(c)}/objects/",
            content=json.dumps({"objects": [huge]}),
            headers={"Content-Type": MEDIA},
        )
        assert r.json()["failure_count"] == 1
        assert "exceeds" in r.json()["failures"][0]["message"]


def test_next_token_survives_a_server_restart(pair: Pair) -> None:
    from sarhad.app import create_app
    from support import start_server

    for i in range(3):
        record(pair.pk, title=f"Record before restart {i}")
    with partner_client(pair.pk, "ir-node") as c:
        col = outbound_id(c)
        first = c.get(f"/api/collections/{col}/objects/", params={"limit": 5}).json()
        token = c.headers["Authorization"]
        before = c.get(
            f"/api/collections/{col}/objects/", params={"limit": 5, "next": first["next"]}
        )
    # A second server process image on the same database: nothing of the first is kept.
    server, thread, url = start_server(create_app(pair.pk.settings, db=pair.pk.db))
    try:
        with httpx.Client(
            base_url=f"{url}/taxii2", headers={"Authorization": token, "Accept": MEDIA}
        ) as c2:
            after = c2.get(
                f"/api/collections/{col}/objects/", params={"limit": 5, "next": first["next"]}
            )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert after.status_code == 200 and after.json()["objects"] == before.json()["objects"]


@pytest.mark.parametrize(
    "body", [b"[" * 200_000, b'{"objects": [' + b'{"a":' * 50_000], ids=["arrays", "objects"]
)
def test_deeply_nested_json_is_a_taxii_400(pair: Pair, body: bytes) -> None:
    with partner_client(pair.pk, "ir-node") as c:
        r = c.post(
            f"/api/collections/{inbox_id(c)}/objects/",
            content=body,
            headers={"Content-Type": MEDIA},
        )
        assert r.status_code == 400, r.text
        assert r.headers["content-type"] == MEDIA
        error = r.json()
        assert error["http_status"] == "400" and error["title"] == "Bad Request"
        assert "nested" in error["description"]
        # The node goes on answering.
        assert c.get("/api/collections/").status_code == 200
