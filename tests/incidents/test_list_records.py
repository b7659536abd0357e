"""The incident list's full records (json and geojson) are read as plain rows, not through the
ORM and IncidentOut: each must still be exactly the record its own page shows, in few queries."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import event, select

from sarhad.border import load_profile
from sarhad.core.auth import CONSOLE, Role
from sarhad.incidents import service
from sarhad.incidents.models import Incident
from sarhad.incidents.schemas import IncidentIn
from support import LiveNode

KINDS: list[dict[str, Any]] = [
    {"category": "smuggling_fuel",
     "seizures": [{"commodity": "diesel", "quantity": 4000, "unit": "l"}]},
    {
        "category": "smuggling_narcotics",
        "seizures": [
            {"commodity": "hashish", "quantity": 120.5, "unit": "kg"},
            {"commodity": "opium", "quantity": 3, "unit": "kg"},
        ],
    },
    {"category": "armed_clash", "casualties": {"security_forces": {"killed": 1, "injured": 2}}},
    {"category": "illegal_crossing", "tlp": "green", "sources": ["patrol log", "radio"]},
]  # fmt: skip

PAGE_ONLY = ("allowed_steps", "signature")


def _add(live: LiveNode, n: int) -> None:
    profile = load_profile()
    with live.db.session() as s:
        for i in range(n):
            data = IncidentIn.model_validate({
                "title": f"Report {i} near Taftan — تفتان",
                "occurred_at": f"2026-11-{1 + i % 20:02d}T08:{i % 60:02d}:00.{i:03d}Z",
                "location": {"lon": 61.6 + i * 0.001, "lat": 28.9,
                             "place": "near Taftan" if i % 2 else None},
                "reporting_side": "PK" if i % 3 else "IR", "narrative": f"narrative {i}",
                **KINDS[i % len(KINDS)],
            })  # fmt: skip
            service.create_incident(s, data=data, actor=CONSOLE, profile=profile)
        far = IncidentIn.model_validate({
            "title": "Far report", "category": "illegal_crossing",
            "occurred_at": "2026-11-02T09:00:00Z",
            "location": {"lon": 2.35, "lat": 48.86}, "reporting_side": "PK", "far_from_line": True,
        })  # fmt: skip
        service.create_incident(s, data=far, actor=CONSOLE, profile=profile)
        # A record received from a partner, with fields its originator withheld.
        row = s.scalars(select(Incident).order_by(Incident.id).limit(1)).one()
        row.origin, row.origin_node_id = "partner:ir-node", "ir-node-id"
        row.withheld_fields, row.external_ref = ["sources", "narrative"], "ir-node:42"


def test_list_records_are_each_records_own_page_in_json_and_geojson(live: LiveNode) -> None:
    _add(live, 24)
    with live.client(Role.ANALYST) as c:
        items = c.get("/api/v1/incidents", params={"limit": 1000}).json()["items"]
        geo = c.get("/api/v1/incidents", params={"format": "geojson", "limit": 7})
        own = {i["id"]: c.get(f"/api/v1/incidents/{i['id']}").json() for i in items}
        own_geo = c.get(f"/api/v1/incidents/{items[0]['id']}", params={"format": "geojson"}).json()
    with live.db.session() as s:
        orm = {r.id: service.to_out(r).model_dump(mode="json") for r in s.scalars(select(Incident))}
    assert len(items) == 25 == len(orm)
    assert any(i["seizures"] and len(i["seizures"]) == 2 for i in items)
    assert any(i["enrichment"]["sector"] is None for i in items)  # the far record
    assert any(i["withheld_fields"] for i in items)
    for item in items:
        # What only a record's own page says: the caller's next steps, who signed it.
        page = {k: v for k, v in own[item["id"]].items() if k not in PAGE_ONLY}
        # same values, and the keys in the same order as the record's own page
        assert item == page == orm[item["id"]]
        # key order and number types too (3.0 is not written 3)
        assert json.dumps(item) == json.dumps(page)
    assert geo.headers["content-type"].startswith("application/geo+json")
    body = geo.json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 7
    assert body["features"][0] == own_geo
    assert [f["properties"] for f in body["features"]] == items[:7]
    assert body["next_cursor"] and 'rel="next"' in geo.headers["link"]


def test_a_page_of_records_takes_the_same_few_queries_whatever_its_size(live: LiveNode) -> None:
    _add(live, 40)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(live.db.engine, "before_cursor_execute", count)
    try:
        with live.client(Role.ANALYST) as c:
            for limit in (1, 10, 41):
                statements.clear()
                r = c.get("/api/v1/incidents", params={"format": "geojson", "limit": limit})
                assert r.status_code == 200
                reads = [q for q in statements if "incident" in q.lower()]
                # the page, then its seizures: no query per record
                assert len(reads) == 2, (limit, reads)
    finally:
        event.remove(live.db.engine, "before_cursor_execute", count)
