"""/api/v1/partners on a real server: who may read, who may manage, what is never shown."""

from __future__ import annotations

import re

import httpx

from sarhad.core.auth import Role
from support import LiveNode

INCIDENT = {
    "title": "Fuel convoy intercepted",
    "category": "smuggling_fuel",
    "occurred_at": "2026-11-01T02:00:00Z",
    "location": {"lon": 61.6, "lat": 28.95, "precision": "near", "place": "near Taftan"},
    "reporting_side": "PK",
    "tlp": "green",
    "sources": ["FC daily report 301"],
}


def test_liaison_manages_partners_and_agreements(live: LiveNode) -> None:
    with live.client(Role.LIAISON) as c:
        r = c.post(
            "/api/v1/partners",
            json={"name": "ir-node", "country": "IR", "remote_token": "their-secret-token"},
        )
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["token"].startswith("srh_")
        assert created["partner"]["remote_token_set"] is True
        assert created["agreement"]["version"] == 1
        assert "their-secret-token" not in r.text
        assert (
            c.post("/api/v1/partners", json={"name": "ir-node", "country": "IR"}).status_code == 409
        )

        r = c.patch(
            "/api/v1/partners/ir-node", json={"taxii_url": "https://ir.example/taxii2/api/"}
        )
        assert r.status_code == 200 and r.json()["taxii_url"].startswith("https://ir.example")
        listed = c.get("/api/v1/partners")
        assert [p["name"] for p in listed.json()] == ["ir-node"]
        assert "their-secret-token" not in listed.text + c.get("/api/v1/partners/ir-node").text

        r = c.put(
            "/api/v1/partners/ir-node/agreement",
            json={"max_tlp": "green", "sectors": ["PKIR-001"], "withheld_fields": ["narrative"]},
        )
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 2 and r.json()["max_tlp"] == "green"
        assert c.get("/api/v1/partners/ir-node/agreement").json()["sectors"] == ["PKIR-001"]

        red = c.put("/api/v1/partners/ir-node/agreement", json={"max_tlp": "red"})
        assert red.status_code == 422
        assert red.json()["error"]["fields"][0]["field"] == "max_tlp"
        assert "TLP:RED never leaves the node" in red.json()["error"]["message"]
        bad = c.put("/api/v1/partners/ir-node/agreement", json={"sectors": ["PKIR-999"]})
        assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "sectors.0"
        cas = c.put("/api/v1/partners/ir-node/agreement", json={"withheld_fields": ["casualties"]})
        assert cas.status_code == 422 and "civilian harm" in cas.text
        assert c.get("/api/v1/partners/nobody").status_code == 404


def test_preview_shows_the_redacted_record(live: LiveNode) -> None:
    with live.client(Role.ADMIN) as c:
        assert c.post("/api/v1/partners", json={"name": "ir-node", "country": "IR"}).is_success
        inc = c.post("/api/v1/incidents", json=INCIDENT).json()
        for to in ("submitted", "validated"):
            inc = c.post(
                f"/api/v1/incidents/{inc['id']}/transitions",
                json={"to": to, "expected_version": inc["version"]},
            ).json()
    with live.client(Role.ANALYST) as c:
        r = c.get("/api/v1/partners/ir-node/preview", params={"limit": 5})
        assert r.status_code == 200, r.text
        body = r.json()
    assert (body["shared"], body["held"], body["refused"]) == (1, 0, 0)
    item = body["items"][0]
    assert item["share"] is True and item["withheld_fields"] == ["sources"]
    assert "sources" not in item["record"] and "FC daily report 301" not in r.text
    assert item["record"]["location"]["place"] == "near Taftan"


def test_roles_analyst_reads_duty_officer_and_partner_are_refused(live: LiveNode) -> None:
    with live.client(Role.ADMIN) as c:
        assert c.post("/api/v1/partners", json={"name": "ir-node", "country": "IR"}).is_success
    with live.client(Role.ANALYST) as c:
        assert c.get("/api/v1/partners").status_code == 200
        assert c.get("/api/v1/partners/ir-node/agreement").status_code == 200
        assert c.put("/api/v1/partners/ir-node/agreement", json={}).status_code == 403
        assert (
            c.post("/api/v1/partners", json={"name": "x-node", "country": "AF"}).status_code == 403
        )
    for role in (Role.DUTY_OFFICER, Role.COMMANDER):
        with live.client(role) as c:
            assert c.get("/api/v1/partners").status_code == 403
            assert c.get("/api/v1/partners/ir-node/preview").status_code == 403


def test_a_partner_token_is_refused_everywhere_under_api_v1(live: LiveNode) -> None:
    with live.client(Role.LIAISON) as c:
        r = c.post("/api/v1/partners", json={"name": "ir-node", "country": "IR"})
        token = r.json()["token"]
        spec = c.get("/openapi.json").json()
    routes = [
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        for method in ops
        if path.startswith("/api/v1")
    ]
    assert ("PUT", "/api/v1/partners/{name}/agreement") in routes
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=live.url, headers=headers, timeout=30) as c:
        for method, path in routes:
            # Any value fills a path parameter: the role check comes before any lookup.
            url = re.sub(r"\{[a-z_]+\}", "ir-node", path)
            r = c.request(method, url, json={})
            if (method, path) == ("GET", "/api/v1/keys/announcement"):
                # The one exception: partners fetch our key announcement at each sync round
                # (public keys, signed); this node never rotated, so there is none.
                assert r.status_code == 404, r.text
                continue
            assert r.status_code == 403, (method, path, r.status_code, r.text)


def test_preview_names_why_a_record_far_from_the_line_does_not_go(live: LiveNode) -> None:
    """A far_from_line record has no sector: the preview says it stays, never a 500."""
    far = {**INCIDENT, "location": {"lon": 67.0, "lat": 30.18, "precision": "near"}}
    with live.client(Role.ADMIN) as c:
        assert c.post("/api/v1/partners", json={"name": "ir-node", "country": "IR"}).is_success
        inc = c.post("/api/v1/incidents", json={**far, "far_from_line": True}).json()
        assert inc["enrichment"]["sector"] is None, inc
        r = c.get("/api/v1/partners/ir-node/preview")
        assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["sector"] is None and item["share"] is False
    assert any("far from the line" in why for why in item["reasons"]), item["reasons"]
