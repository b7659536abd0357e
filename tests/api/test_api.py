"""The REST API on a real server on loopback: tokens, roles, incidents, GeoJSON, errors."""

from __future__ import annotations

import pytest

from sarhad.core.auth import Role
from support import LiveNode

NEW = {
    "title": "Fuel convoy intercepted",
    "category": "smuggling_fuel",
    "occurred_at": "2026-11-21T02:00:00Z",
    "location": {"lon": 61.75403, "lat": 26.07937, "precision": "near"},
    "reporting_side": "IR",
    "seizures": [{"commodity": "diesel", "quantity": 6000, "unit": "l"}],
    "casualties": {"civilians": {"injured": 1}},
    "tlp": "green",
}


def test_every_api_route_needs_a_token(live: LiveNode) -> None:
    with live.client(role=None) as c:
        spec = c.get("/openapi.json").json()
        routes = [
            (method.upper(), path)
            for path, ops in spec["paths"].items()
            for method in ops
            if path.startswith("/api/v1")
        ]
        assert {p for _, p in routes} >= {"/api/v1/incidents", "/api/v1/border/locate"}
        for method, path in routes:
            r = c.request(method, path.replace("{incident_id}", "x"))
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.json()["error"]["code"] == "Unauthorized"
            assert r.headers["www-authenticate"] == "Bearer"
        bad = c.get("/api/v1/incidents", headers={"Authorization": "Bearer srh_forged"})
        assert bad.status_code == 401


def test_openapi_and_health_are_served(live: LiveNode) -> None:
    with live.client(role=None) as c:
        spec = c.get("/openapi.json").json()
        assert "/api/v1/incidents" in spec["paths"]
        assert c.get("/healthz").json() == {"status": "ok"}


def test_create_read_update_list(live: LiveNode) -> None:
    with live.client(Role.DUTY_OFFICER) as c:
        r = c.post("/api/v1/incidents", json=NEW)
        assert r.status_code == 201, r.text
        inc = r.json()
        assert inc["enrichment"]["side"] == "IR"
        assert inc["enrichment"]["nearest_crossing"]["id"]
        got = c.get(f"/api/v1/incidents/{inc['id']}").json()
        assert got["allowed_steps"] == ["submitted"]
        r = c.patch(
            f"/api/v1/incidents/{inc['id']}",
            json={"expected_version": 1, "title": "Fuel convoy stopped"},
        )
        assert r.status_code == 200 and r.json()["version"] == 2
        stale = c.patch(
            f"/api/v1/incidents/{inc['id']}", json={"expected_version": 1, "title": "x" * 5}
        )
        assert stale.status_code == 409
        assert "reload" in stale.json()["error"]["hint"]
        versions = c.get(f"/api/v1/incidents/{inc['id']}/versions").json()
        assert [(v["version"], v["changed"]) for v in versions] == [(1, []), (2, ["title"])]
        listed = c.get(
            "/api/v1/incidents", params={"category": "smuggling_fuel", "side": "IR"}
        ).json()
        assert [i["id"] for i in listed["items"]] == [inc["id"]]
        assert c.get("/api/v1/incidents", params={"category": "armed_attack"}).json()["items"] == []


def test_geojson_output_is_rfc7946(live: LiveNode) -> None:
    with live.client(Role.DUTY_OFFICER) as c:
        for i in range(3):
            assert (
                c.post(
                    "/api/v1/incidents", json={**NEW, "occurred_at": f"2026-11-2{i}T00:00:00Z"}
                ).status_code
                == 201
            )
        r = c.get("/api/v1/incidents", params={"format": "geojson", "limit": 2})
        assert r.headers["content-type"].startswith("application/geo+json")
        fc = r.json()
        assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 2
        f = fc["features"][0]
        assert f["geometry"] == {"type": "Point", "coordinates": [61.75403, 26.07937]}  # lon, lat
        assert fc["next_cursor"] and 'rel="next"' in r.headers["link"]
        rest = c.get(
            "/api/v1/incidents", params={"format": "geojson", "cursor": fc["next_cursor"]}
        ).json()
        assert len(rest["features"]) == 1 and rest["next_cursor"] is None
        one = c.get(f"/api/v1/incidents/{f['id']}", params={"format": "geojson"}).json()
        assert one["type"] == "Feature"


def test_roles_limit_what_a_token_can_do(live: LiveNode) -> None:
    with live.client(Role.ANALYST) as c:
        r = c.post("/api/v1/incidents", json=NEW)
        assert r.status_code == 403 and "analyst" in r.json()["error"]["message"]
    with live.client(Role.DUTY_OFFICER) as c:
        inc = c.post("/api/v1/incidents", json=NEW).json()
        step = {"to": "submitted", "expected_version": 1}
        assert c.post(f"/api/v1/incidents/{inc['id']}/transitions", json=step).status_code == 200
        v = c.post(
            f"/api/v1/incidents/{inc['id']}/transitions",
            json={"to": "validated", "expected_version": 2},
        )
        assert v.status_code == 403
        assert c.get("/api/v1/audit/verify").status_code == 403
    with live.client(Role.COMMANDER) as c:
        v = c.post(
            f"/api/v1/incidents/{inc['id']}/transitions",
            json={"to": "validated", "expected_version": 2},
        )
        assert v.status_code == 200 and v.json()["status"] == "validated"
    with live.client(Role.ADMIN) as c:
        audit = c.get("/api/v1/audit/verify").json()
        assert audit["ok"] and audit["entries"] >= 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW, "location": {"lon": 200, "lat": 26}}, "location.lon"),
        ({**NEW, "category": "piracy"}, "category"),
        (
            {**NEW, "seizures": [{"commodity": "diesel", "quantity": "lots", "unit": "l"}]},
            "seizures.0.quantity",
        ),
        ({**NEW, "casualties": {"civilians": {"killed": -3}}}, "casualties.civilians.killed"),
        ({**NEW, "reporting_side": "AF"}, "reporting_side"),
    ],
)
def test_bad_input_is_422_naming_the_field(live: LiveNode, body: dict, field: str) -> None:
    with live.client(Role.DUTY_OFFICER) as c:
        r = c.post("/api/v1/incidents", json=body)
    assert r.status_code == 422
    assert any(f["field"].startswith(field) for f in r.json()["error"]["fields"]), r.json()


def test_malformed_requests_get_json_errors(live: LiveNode) -> None:
    with live.client(Role.DUTY_OFFICER) as c:
        r = c.post(
            "/api/v1/incidents", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert r.status_code == 422 and "error" in r.json()
        assert c.get("/api/v1/incidents/does-not-exist").status_code == 404
        assert (
            c.get("/api/v1/incidents", params={"bbox": "1,2,3"}).json()["error"]["fields"][0][
                "field"
            ]
            == "bbox"
        )
        assert c.get("/api/v1/incidents", params={"cursor": "%%%"}).status_code == 422
        assert c.get("/api/v1/incidents", params={"limit": 0}).status_code == 422
        assert c.get("/api/v1/nowhere").status_code == 404


def test_border_routes(live: LiveNode) -> None:
    with live.client(Role.ANALYST) as c:
        fc = c.get("/api/v1/border").json()
        assert fc["type"] == "FeatureCollection"
        kinds = {f["properties"].get("kind") for f in fc["features"]}
        assert {"crossing", "market"} <= kinds
        loc = c.get("/api/v1/border/locate", params={"lon": 61.58661, "lat": 28.94687}).json()
        assert (
            loc["side"] == "PK" and {"distance_m", "sector", "km", "nearest_crossing"} <= loc.keys()
        )
        assert loc["sector"] is not None and "beyond_km_from_line" not in loc
        # Paris is 5,000 km off: no sector and no km marker, which would only mislead.
        paris = c.get("/api/v1/border/locate", params={"lon": 2.35, "lat": 48.86}).json()
        assert (paris["sector"], paris["km"]) == (None, None)
        assert paris["beyond_km_from_line"] == 150 and paris["distance_m"] > 5e6
        bad = c.get("/api/v1/border/locate", params={"lon": 61.5, "lat": 95})
        assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "lat"
        sectors = c.get("/api/v1/border/sectors").json()
        assert sectors[0]["start_km"] == 0 and sectors[0]["number"] == 1
