"""``Idempotency-Key``: a client that lost a reply retries without making a second record."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, inspect, select, text, update

from sarhad.alerts.models import Alert
from sarhad.core.auth import CONSOLE, Role
from sarhad.core.db import utcnow
from sarhad.core.idempotency import StoredReply
from sarhad.crossings.models import Declaration
from sarhad.incidents.models import Incident
from sarhad.patrols.models import PatrolPlan
from sarhad.sharing import service as sharing
from sarhad.sharing.models import Partner
from support import LiveNode, wait_for

NEW = {
    "title": "Fuel convoy intercepted",
    "category": "smuggling_fuel",
    "occurred_at": "2026-11-21T02:00:00Z",
    "location": {"lon": 61.75403, "lat": 26.07937, "precision": "near"},
    "reporting_side": "PK",
    "tlp": "green",
}
HEADER = "Idempotency-Key"


def _count(node: LiveNode, model: Any) -> int:
    with node.db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _key() -> dict[str, str]:
    return {HEADER: str(uuid.uuid4())}


def _send_and_hang_up(node: LiveNode, path: str, body: dict[str, Any], key: str) -> None:
    """POST and close the connection at once, never reading the reply (it is lost)."""
    url = urlsplit(node.url)
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Authorization: Bearer {node.tokens[Role.DUTY_OFFICER]}\r\n"
        f"Content-Type: application/json\r\n{HEADER}: {key}\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(head + payload)


def test_a_retry_after_a_lost_reply_returns_the_first_record(live: LiveNode) -> None:
    key = str(uuid.uuid4())
    _send_and_hang_up(live, "/api/v1/incidents", NEW, key)
    wait_for(lambda: _count(live, Incident) == 1, what="the first request to be carried out")
    with live.client(Role.DUTY_OFFICER) as c:
        retry = c.post("/api/v1/incidents", json=NEW, headers={HEADER: key})
        assert retry.status_code == 201, retry.text
        assert retry.headers["idempotent-replayed"] == "true"
        with live.db.session() as s:
            (made,) = s.scalars(select(Incident.id)).all()
        assert retry.json()["id"] == made
        # the same again, serialised differently (keys reordered, spaced): the same request
        again = c.post(
            "/api/v1/incidents",
            content=json.dumps(dict(reversed(NEW.items())), indent=2),
            headers={HEADER: key, "Content-Type": "application/json"},
        )
        assert again.status_code == 201 and again.json() == retry.json()
        assert _count(live, Incident) == 1
        # without a key, each POST is a new incident, as before
        assert c.post("/api/v1/incidents", json=NEW).status_code == 201
    assert _count(live, Incident) == 2


def test_a_replay_repeats_the_first_reply_exactly(live: LiveNode) -> None:
    with live.client(Role.DUTY_OFFICER) as c:
        key = _key()
        first = c.post("/api/v1/incidents", json=NEW, headers=key)
        second = c.post("/api/v1/incidents", json=NEW, headers=key)
    assert first.status_code == second.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert second.json() == first.json()


def test_the_same_key_for_another_request_is_refused_naming_the_header(live: LiveNode) -> None:
    with live.client(Role.DUTY_OFFICER) as c:
        key = _key()
        assert c.post("/api/v1/incidents", json=NEW, headers=key).status_code == 201
        other = c.post("/api/v1/incidents", json={**NEW, "title": "Another one"}, headers=key)
        assert other.status_code == 422
        error = other.json()["error"]
        assert error["fields"][0]["field"] == HEADER
        assert "new key" in error["hint"]
        bad = c.post("/api/v1/incidents", json=NEW, headers={HEADER: "has spaces in it"})
        assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == HEADER
    assert _count(live, Incident) == 1


def test_two_posts_with_one_key_at_once_make_one_record(live: LiveNode) -> None:
    keys = [str(uuid.uuid4()) for _ in range(4)]
    results: dict[str, list[httpx.Response]] = {k: [] for k in keys}
    barrier = threading.Barrier(2 * len(keys))

    def post(key: str) -> None:
        with live.client(Role.DUTY_OFFICER) as c:
            barrier.wait(timeout=30)
            results[key].append(c.post("/api/v1/incidents", json=NEW, headers={HEADER: key}))

    threads = [threading.Thread(target=post, args=(k,)) for k in keys for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for key in keys:
        a, b = results[key]
        assert a.status_code == b.status_code == 201, (a.text, b.text)
        assert a.json()["id"] == b.json()["id"]
    assert _count(live, Incident) == len(keys)
    assert _count(live, StoredReply) == len(keys)


def test_keys_belong_to_one_account(live: LiveNode) -> None:
    key = _key()
    for role in (Role.DUTY_OFFICER, Role.ADMIN):
        with live.client(role) as c:
            r = c.post("/api/v1/incidents", json=NEW, headers=key)
            assert r.status_code == 201 and "idempotent-replayed" not in r.headers
    assert _count(live, Incident) == 2


def test_a_failed_request_keeps_nothing_and_keys_expire(live: LiveNode) -> None:
    with live.client(Role.DUTY_OFFICER) as c:
        key = _key()
        bad = c.post("/api/v1/incidents", json={**NEW, "category": "nonsense"}, headers=key)
        assert bad.status_code == 422
        # the client fixes the request and sends it with the same key: it is carried out
        assert c.post("/api/v1/incidents", json=NEW, headers=key).status_code == 201
        assert _count(live, Incident) == 1
        # a day later the key is forgotten: the same request makes a new record
        with live.db.session() as s:
            s.execute(update(StoredReply).values(created_at=utcnow() - timedelta(hours=25)))
        later = c.post("/api/v1/incidents", json=NEW, headers=key)
        assert later.status_code == 201 and "idempotent-replayed" not in later.headers
    assert _count(live, Incident) == 2
    assert _count(live, StoredReply) == 1  # the expired reply was removed


def test_alerts_their_steps_and_declarations_are_idempotent(live: LiveNode) -> None:
    with live.db.session() as s:
        sharing.add_partner(s, name="ir-node", country="IR", actor=CONSOLE)
    alert = {
        "partner": "ir-node",
        "priority": "immediate",
        "kind": "smuggling_movement",
        "text": "Convoy of six pickups heading south towards the line near Taftan",
        "location": {"lon": 61.6, "lat": 28.95},
    }
    closure = {"crossing": "gabd-rimdan", "status": "closed", "reason": "security_incident"}
    with live.client(Role.LIAISON) as c:
        key = _key()
        made = [c.post("/api/v1/alerts", json=alert, headers=key) for _ in range(2)]
        assert [r.status_code for r in made] == [201, 201]
        assert made[0].json()["id"] == made[1].json()["id"]
        path = f"/api/v1/alerts/{made[0].json()['id']}/withdraw"
        key = _key()
        steps = [c.post(path, json={"reason": "entered twice"}, headers=key) for _ in range(2)]
        # without the key the second would be a 409 "withdrawn already": the client would
        # not know its first try had worked
        assert [r.status_code for r in steps] == [200, 200]
        assert steps[1].json() == steps[0].json()
    with live.client(Role.DUTY_OFFICER) as c:
        key = _key()
        declared = [c.post("/api/v1/crossings/declarations", json=closure, headers=key)]
        declared.append(c.post("/api/v1/crossings/declarations", json=closure, headers=key))
        assert [r.status_code for r in declared] == [201, 201]
        path = f"/api/v1/crossings/declarations/{declared[0].json()['id']}/end"
        key = _key()
        ends = [c.post(path, json={}, headers=key) for _ in range(2)]
        assert [r.status_code for r in ends] == [200, 200] and ends[0].json() == ends[1].json()
    assert _count(live, Alert) == 3  # the one raised, the closure's and the reopening's
    assert _count(live, Declaration) == 1


def test_a_patrol_plan_is_solved_and_stored_once(live: LiveNode) -> None:
    from patrols.test_plans_live import CONFIG

    (live.settings.data_dir / "patrols.toml").write_text(CONFIG)
    with live.client(Role.COMMANDER) as c:
        key = _key()
        plans = [c.post("/api/v1/patrols/plans", json={"day": "2026-11-24"}, headers=key)]
        plans.append(c.post("/api/v1/patrols/plans", json={"day": "2026-11-24"}, headers=key))
    assert [r.status_code for r in plans] == [201, 201], plans[0].text
    assert plans[0].json()["id"] == plans[1].json()["id"]
    assert _count(live, PatrolPlan) == 1


def test_a_new_partner_replayed_gives_the_same_token_never_stored_in_clear(
    live: LiveNode,
) -> None:
    body = {"name": "ir-node", "country": "IR", "remote_token": "their-secret-for-us"}
    with live.client(Role.ADMIN) as c:
        key = _key()
        first = c.post("/api/v1/partners", json=body, headers=key)
        second = c.post("/api/v1/partners", json=body, headers=key)
    assert first.status_code == second.status_code == 201, first.text
    assert second.json()["token"] == first.json()["token"]  # the client did get it after all
    assert _count(live, Partner) == 1
    with live.db.engine.connect() as conn:
        stored = " ".join(
            " ".join(str(v) for v in row)
            for table in inspect(conn).get_table_names()
            for row in conn.execute(text(f'SELECT * FROM "{table}"'))
        )
    assert first.json()["token"] not in stored
    assert "their-secret-for-us" not in stored


def test_a_stored_secret_reply_survives_a_node_key_rotation(live: LiveNode) -> None:
    from sarhad.node import rotate_node_key

    body = {"name": "ir-node", "country": "IR"}
    with live.client(Role.ADMIN) as c:
        key = _key()
        first = c.post("/api/v1/partners", json=body, headers=key)
        assert first.status_code == 201
        assert rotate_node_key(live.db).resealed == 1  # the stored reply (no token for them)
        again = c.post("/api/v1/partners", json=body, headers=key)
    assert again.status_code == 201 and again.json()["token"] == first.json()["token"]


def test_every_create_route_documents_the_header(live: LiveNode) -> None:
    with live.client(None) as c:
        spec = c.get("/openapi.json").json()
    creates = [
        "/api/v1/incidents",
        "/api/v1/alerts",
        "/api/v1/alerts/{alert_id}/acknowledge",
        "/api/v1/alerts/{alert_id}/answer",
        "/api/v1/alerts/{alert_id}/withdraw",
        "/api/v1/crossings/declarations",
        "/api/v1/crossings/declarations/{declaration_id}/end",
        "/api/v1/crossings/declarations/{declaration_id}/withdraw",
        "/api/v1/crossings/throughput",
        "/api/v1/patrols/plans",
        "/api/v1/partners",
    ]
    for path in creates:
        params = spec["paths"][path]["post"].get("parameters", [])
        (header,) = [p for p in params if p["name"] == HEADER]
        assert header["in"] == "header" and not header.get("required", False), path
        assert "24 hours" in header["description"], path
