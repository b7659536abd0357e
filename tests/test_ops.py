"""Operations: /healthz, /readyz and /metrics for load balancers and Prometheus, on real nodes.

Every node here is a real uvicorn server on loopback with its own database; a database that is
down is a real one (a closed port, or a socket that accepts and never answers).
"""

from __future__ import annotations

import json
import math
import socket
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text, update

from sarhad.alerts.deadlines import run_escalation
from sarhad.alerts.models import Alert, AlertDeadline
from sarhad.app import create_app
from sarhad.core.auth import CONSOLE, Role, issue_token
from sarhad.core.config import Settings
from sarhad.core.db import Database, utcnow
from sarhad.migrations import head
from support import LiveNode, free_port, introduce, start_server, wait_for

ALERT = {
    "priority": "immediate",
    "kind": "smuggling_movement",
    "text": "Convoy of six pickups heading south towards the line near Taftan",
    "location": {"lon": 61.6, "lat": 28.95},
}
TAXII = "application/taxii+json;version=2.1"


def scrape(url: str, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples /metrics serves: {(name, sorted labels): value}."""
    r = httpx.get(f"{url}/metrics", headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


# -- health -----------------------------------------------------------------------------------


def test_healthz_and_readyz_answer_without_a_token_and_name_the_loops(
    spawn: Callable[..., LiveNode],
) -> None:
    node = spawn("pk-node", "PK", workers=True, sync_interval_s=30)
    with node.client(role=None) as c:
        alive = c.get("/healthz")
        ready = c.get("/readyz")
    assert alive.status_code == 200 and alive.json() == {"status": "ok"}
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready" and body["failing"] == []
    assert body["checks"]["schema"] == {"ok": True, "detail": f"at head {head()}"}
    assert {(x["name"], x["running"]) for x in body["loops"]} == {
        ("courier", True),
        ("escalation", True),
        ("sync", True),
    }
    # nothing a stranger could use: no address, URL or database name in it
    assert node.settings.effective_database_url.rsplit("/", 1)[-1] not in ready.text


def test_readyz_is_503_naming_the_schema_when_it_is_not_at_head(live: LiveNode) -> None:
    with live.db.session() as s:
        s.execute(text("UPDATE alembic_version SET version_num = '0010'"))
    try:
        with live.client(role=None) as c:
            r = c.get("/readyz")
            alive = c.get("/healthz")
        assert r.status_code == 503
        assert r.json()["failing"] == ["schema"]
        assert r.json()["checks"]["schema"]["detail"] == f"at 0010, this code needs {head()}"
        assert alive.status_code == 200  # alive all the same: a restart would not help
    finally:
        with live.db.session() as s:
            s.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head()})
    with live.client(role=None) as c:
        assert c.get("/readyz").status_code == 200


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung database server)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


def _node_on(url: str, tmp_path, **over: object) -> Iterator[str]:
    settings = Settings(data_dir=tmp_path / "down", database_url=url, node_name="pk-node", **over)
    db = Database(url)
    server, thread, base = start_server(create_app(settings, db=db))
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        db.dispose()


@pytest.mark.parametrize(
    "where", ["closed port", "hung server", "missing SQLite folder"], ids=lambda w: w
)
def test_a_database_that_is_down_or_hangs_is_never_a_500(
    where: str, tmp_path, silent_port: int
) -> None:
    url = {
        "closed port": f"postgresql://postgres@127.0.0.1:{free_port()}/sarhad",
        "hung server": f"postgresql://postgres@127.0.0.1:{silent_port}/sarhad",
        "missing SQLite folder": f"sqlite:///{tmp_path}/nowhere/sarhad.db",
    }[where]
    for base in _node_on(url, tmp_path):
        started = time.monotonic()
        assert httpx.get(f"{base}/healthz").status_code == 200
        ready = httpx.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 503, ready.text
        assert ready.json()["failing"] == ["database", "schema"]
        samples = scrape(base)
        assert value(samples, "sarhad_up") == 0
        assert not [k for k in samples if k[0].startswith("sarhad_sync_lag")]
        # bounded: the readiness check and the scrape each wait at most 2 s for the database
        assert time.monotonic() - started < 8
        if where == "hung server":
            assert "no answer within 2 s" in ready.json()["checks"]["database"]["detail"]
        else:
            # Any request that needs the database: 503, try again, never a 500.
            r = httpx.get(f"{base}/api/v1/incidents", headers={"Authorization": "Bearer srh_x"})
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"] == "5" and "again" in r.json()["error"]["hint"]


# -- metrics ----------------------------------------------------------------------------------


def test_request_metrics_are_by_route_template_not_by_raw_path(live: LiveNode) -> None:
    with live.client(Role.ANALYST) as c:
        for _ in range(3):
            assert c.get(f"/api/v1/incidents/{uuid.uuid4()}").status_code == 404
        for _ in range(2):
            assert c.get(f"/no/such/{uuid.uuid4()}").status_code == 404
    samples = scrape(live.url)
    route = "/api/v1/incidents/{incident_id}"
    counted = value(samples, "sarhad_http_requests_total", method="GET", route=route, status="404")
    assert counted == 3
    timed = value(samples, "sarhad_http_request_duration_seconds_count", method="GET", route=route)
    assert timed == 3
    assert (
        value(
            samples, "sarhad_http_requests_total", method="GET", route="<unmatched>", status="404"
        )
        == 2
    )
    assert not [k for k in samples if any(v.startswith("/no/such") for _, v in k[1])]


def test_metrics_are_open_on_loopback_and_need_an_admin_token_from_elsewhere(
    spawn: Callable[..., LiveNode],
) -> None:
    # Behind a trusted proxy the client is the address it forwards: not this machine.
    node = spawn("pk-node", "PK", trusted_proxies=["127.0.0.1"])
    away = {"X-Forwarded-For": "203.0.113.9"}
    assert httpx.get(f"{node.url}/metrics").status_code == 200  # Prometheus beside the node
    r = httpx.get(f"{node.url}/metrics", headers=away)
    assert r.status_code == 401 and r.json()["error"]["code"] == "Unauthorized"
    analyst = {**away, "Authorization": f"Bearer {node.tokens[Role.ANALYST]}"}
    r = httpx.get(f"{node.url}/metrics", headers=analyst)
    assert r.status_code == 403 and "metrics:read" in r.text
    admin = {"Authorization": f"Bearer {node.tokens[Role.ADMIN]}"}
    assert value(scrape(node.url, **away, **admin), "sarhad_up") == 1
    # a private monitoring network: metrics_open lets any caller read them
    opened = spawn("ir-node", "IR", trusted_proxies=["127.0.0.1"], metrics_open=True)
    assert value(scrape(opened.url, **away), "sarhad_up") == 1


def test_metrics_relayed_by_a_proxy_on_this_machine_need_a_token(
    spawn: Callable[..., LiveNode],
) -> None:
    # No trusted_proxies: the server keeps the proxy's loopback address as the client's.
    node = spawn("pk-node", "PK")
    for header in ({"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"}):
        assert httpx.get(f"{node.url}/metrics", headers=header).status_code == 401, header
    assert httpx.get(f"{node.url}/metrics").status_code == 200


def _quarantine_one(node: LiveNode, partner: str) -> None:
    """``partner`` sends ``node`` an object it must refuse (through TAXII, as a partner does)."""
    with node.db.session() as s:
        token = issue_token(s, username=f"partner-{partner}", actor=CONSOLE.username)
    with httpx.Client(
        base_url=f"{node.url}/taxii2/api",
        headers={"Authorization": f"Bearer {token}", "Accept": TAXII},
        timeout=30,
    ) as c:
        cols = c.get("/collections/").json()["collections"]
        inbox = next(x["id"] for x in cols if x["can_write"])
        bad = {"type": "incident", "id": "incident--not-a-uuid", "spec_version": "2.1"}
        r = c.post(
            f"/collections/{inbox}/objects/",
            content=json.dumps({"objects": [bad]}),
            headers={"Content-Type": TAXII},
        )
        assert r.status_code == 202 and r.json()["failure_count"] == 1, r.text


def test_state_gauges_read_the_database_sync_lag_outbox_quarantine_escalations(
    spawn: Callable[..., LiveNode],
) -> None:
    pk = spawn("pk-node", "PK")  # no loops: nothing moves unless the test moves it
    ir = spawn("ir-node", "IR")
    introduce(pk, ir)
    before = scrape(pk.url)
    assert value(before, "sarhad_up") == 1
    assert value(before, "sarhad_sync_lag_seconds", partner="ir-node") == math.inf  # never
    assert value(before, "sarhad_escalations_due") == 0
    assert value(before, "sarhad_background_loop_running", loop="courier") == 0

    with pk.client(Role.DUTY_OFFICER) as c:
        ids = [c.post("/api/v1/alerts", json=ALERT).json()["id"] for _ in range(2)]
    _quarantine_one(pk, "ir-node")
    waiting = scrape(pk.url)
    assert value(waiting, "sarhad_outbox_depth", partner="ir-node", kind="alert") == 2
    assert value(waiting, "sarhad_quarantine_objects", partner="ir-node") == 1

    # One alert's acknowledgement deadline passes unanswered (as if 31 minutes went by).
    with pk.db.session() as s:
        past = utcnow().replace(microsecond=0)
        s.execute(
            update(Alert)
            .where(Alert.id == ids[0])
            .values(ack_by=past, next_escalation_at=past, created_at=past.replace(year=2025))
        )
        s.execute(  # the deadline is a row of its own
            update(AlertDeadline).where(AlertDeadline.alert_id == ids[0]).values(due_at=past)
        )
    assert value(scrape(pk.url), "sarhad_escalations_due") == 1

    with pk.client(Role.LIAISON) as c:
        r = c.post("/api/v1/federation/sync")
        assert r.status_code == 200, r.text
    assert run_escalation(pk.db) == [ids[0]]
    after = scrape(pk.url)
    assert 0 <= value(after, "sarhad_sync_lag_seconds", partner="ir-node") < 30
    assert value(after, "sarhad_outbox_depth", partner="ir-node", kind="alert") is None  # none
    assert value(after, "sarhad_escalations_due") == 0
    # another process of the same node (one database) reports the same shared state
    other = create_app(pk.settings, db=pk.db)
    server, thread, url = start_server(other)
    try:
        again = scrape(url)
        for key in [k for k in after if k[0].startswith(("sarhad_quarantine", "sarhad_escal"))]:
            assert again[key] == after[key]
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_a_partner_down_shows_as_waiting_alerts_until_the_courier_delivers(
    spawn: Callable[..., LiveNode],
) -> None:
    from support import FAST

    pk = spawn("pk-node", "PK", workers=True, **FAST)
    ir = spawn("ir-node", "IR", workers=True, **FAST)
    introduce(pk, ir)
    ir.stop()
    with pk.client(Role.DUTY_OFFICER) as c:
        assert c.post("/api/v1/alerts", json=ALERT).status_code == 201
    wait_for(
        lambda: value(scrape(pk.url), "sarhad_outbox_depth", partner="ir-node", kind="alert") == 1,
        what="the alert waiting in the outbox gauge",
    )
    ir.start()
    wait_for(
        lambda: (
            value(scrape(pk.url), "sarhad_outbox_depth", partner="ir-node", kind="alert") is None
        ),
        timeout=30,
        what="the outbox gauge emptied by the courier",
    )
