"""The compact map format of the incident list: what the situation map needs, in big pages."""

from __future__ import annotations

from sqlalchemy import select

from sarhad.border import load_profile
from sarhad.core.auth import CONSOLE, Role
from sarhad.incidents import service
from sarhad.incidents.models import Incident
from sarhad.incidents.schemas import IncidentIn
from support import LiveNode


def _add(live: LiveNode, n: int) -> None:
    profile = load_profile()
    with live.db.session() as s:
        for i in range(n):
            data = IncidentIn.model_validate({
                "title": f"Fuel carriers stopped {i}", "category": "smuggling_fuel",
                "occurred_at": f"2026-11-{1 + i % 20:02d}T08:00:00Z",
                "location": {"lon": 61.6 + i * 0.001, "lat": 28.9}, "reporting_side": "PK",
                "narrative": "a long narrative that the map never needs " * 20,
                "sources": ["confidential source note"],
            })  # fmt: skip
            service.create_incident(s, data=data, actor=CONSOLE, profile=profile)


def test_map_points_are_compact_paged_and_match_the_full_list(live: LiveNode) -> None:
    _add(live, 25)
    with live.client(Role.ANALYST) as c:
        full = c.get("/api/v1/incidents", params={"format": "geojson", "limit": 1000}).json()
        first = c.get("/api/v1/incidents", params={"format": "map", "limit": 10}).json()
        rest = c.get(
            "/api/v1/incidents",
            params={"format": "map", "limit": 10, "cursor": first["next_cursor"]},
        ).json()
        big = c.get("/api/v1/incidents", params={"format": "map", "limit": 5000})
        too_big = c.get("/api/v1/incidents", params={"format": "geojson", "limit": 5000})
    assert [f["id"] for f in first["features"] + rest["features"]] == [
        f["id"] for f in full["features"][:20]
    ]
    point = first["features"][0]
    assert set(point["properties"]) == {
        "id", "title", "category", "status", "occurred_at", "enrichment", "tlp", "origin",
        "origin_node_id",
    }  # fmt: skip
    assert point["properties"]["enrichment"]["sector"].startswith("PKIR-")
    assert "narrative" not in str(point) and "confidential" not in str(point)
    assert big.status_code == 200 and len(big.json()["features"]) == 25
    # a limit above the format's page size is a maximum: the page holds what the format allows
    assert too_big.status_code == 200 and len(too_big.json()["features"]) == 25


def test_points_are_columns_paged_like_the_list_and_tell_the_partner_apart(
    live: LiveNode,
) -> None:
    _add(live, 25)
    with live.db.session() as s:
        received = s.scalars(select(Incident).order_by(Incident.id).limit(3)).all()
        for row in received:
            row.origin = "partner:ir-node"
            row.origin_node_id = "ir-node-id"
        partner_ids = {row.id for row in received}
    with live.client(Role.ANALYST) as c:
        full = c.get("/api/v1/incidents", params={"format": "geojson", "limit": 1000}).json()
        first = c.get("/api/v1/incidents", params={"format": "points", "limit": 10}).json()
        rest = c.get(
            "/api/v1/incidents",
            params={"format": "points", "limit": 1000, "cursor": first["next_cursor"]},
        ).json()
        big = c.get("/api/v1/incidents", params={"format": "points", "limit": 50000})
        too_big = c.get("/api/v1/incidents", params={"format": "map", "limit": 50000})
    assert set(first) == {"type", "id", "lon", "lat", "partner", "next_cursor"}
    ids = first["id"] + rest["id"]
    assert ids == [f["id"] for f in full["features"]] and rest["next_cursor"] is None
    by_id = {f["id"]: f for f in full["features"]}
    for page in (first, rest):
        for i, lon, lat, partner in zip(
            page["id"], page["lon"], page["lat"], page["partner"], strict=True
        ):
            assert [lon, lat] == by_id[i]["geometry"]["coordinates"]
            assert partner == (1 if i in partner_ids else 0)
    assert big.status_code == 200 and len(big.json()["id"]) == 25
    # a limit above the format's page size is a maximum: the page holds what the format allows
    assert too_big.status_code == 200 and len(too_big.json()["features"]) == 25


def test_points_page_is_revalidated_by_etag_and_never_stale_after_a_write(
    live: LiveNode,
) -> None:
    _add(live, 3)
    params = {"format": "points", "limit": 50_000}
    with live.client(Role.ANALYST) as c:
        first = c.get("/api/v1/incidents", params=params)
        etag = first.headers["etag"]
        assert first.headers["cache-control"] == "private, no-cache"
        again = c.get("/api/v1/incidents", params=params, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        # Another filter is another page with its own tag.
        fuel = c.get("/api/v1/incidents", params={**params, "category": "armed_attack"})
        assert fuel.json()["id"] == [] and fuel.headers["etag"] != etag

        _add(live, 1)  # a new record: the kept page must not be served any more
        after = c.get("/api/v1/incidents", params=params, headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert len(after.json()["id"]) == 4 and len(first.json()["id"]) == 3
