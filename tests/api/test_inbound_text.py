"""Text from a client: NUL, other control characters and lone surrogates are a 422 naming the
field on SQLite and PostgreSQL alike (a PostgreSQL text column cannot even hold a NUL)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sarhad.core.auth import Role
from support import LiveNode

INCIDENT = {
    "title": "Fuel convoy intercepted",
    "category": "smuggling_fuel",
    "occurred_at": "2026-11-21T02:00:00Z",
    "location": {"lon": 61.75403, "lat": 26.07937, "precision": "near"},
    "reporting_side": "IR",
}
NUL, ESC, SURROGATE = "\u0000", "\u001b", "\ud800"


def _fields(r: Any) -> dict[str, str]:
    assert r.status_code == 422, r.text
    return {f["field"]: f["message"] for f in r.json()["error"]["fields"]}


@pytest.mark.parametrize(
    ("where", "value", "field", "says"),
    [
        ("title", f"nul{NUL}title", "title", "NUL"),
        ("title", "two\nlines", "title", "line break"),
        ("title", f"escape{ESC}[31m", "title", "U+001B"),
        ("title", f"half{SURROGATE}char", "title", "valid string"),  # pydantic-core refuses it
        ("narrative", f"nul{NUL}", "narrative", "NUL"),
        ("place", f"Taftan{NUL}", "location.place", "NUL"),
        ("sources", ["ok", f"bad{NUL}"], "sources.1", "NUL"),
    ],
)
def test_an_incident_with_control_characters_is_refused_naming_the_field(
    live: LiveNode, where: str, value: Any, field: str, says: str
) -> None:
    body: dict[str, Any] = {**INCIDENT, "location": dict(INCIDENT["location"])}
    if where == "place":
        body["location"]["place"] = value
    else:
        body[where] = value
    with live.client(Role.DUTY_OFFICER) as c:
        # json.dumps writes a lone surrogate as the escape \ud800, as any JSON client may.
        sent = json.dumps(body)
        headers = {"Content-Type": "application/json"}
        fields = _fields(c.post("/api/v1/incidents", content=sent, headers=headers))
        assert says in fields[field], fields
        assert c.get("/api/v1/incidents").json()["items"] == []  # nothing stored


def test_free_text_keeps_its_line_breaks_and_tabs(live: LiveNode) -> None:
    narrative = "First seen at 02:00.\r\n\tThen a second truck.\nمنشیات ضبط\u200c شد"
    with live.client(Role.DUTY_OFFICER) as c:
        r = c.post("/api/v1/incidents", json={**INCIDENT, "narrative": narrative})
        assert r.status_code == 201, r.text
        assert r.json()["narrative"] == narrative
        inc = r.json()
        fields = _fields(
            c.patch(
                f"/api/v1/incidents/{inc['id']}",
                json={"expected_version": 1, "narrative": f"edited{NUL}"},
            )
        )
        assert "NUL" in fields["narrative"]
        fields = _fields(
            c.post(
                f"/api/v1/incidents/{inc['id']}/transitions",
                json={"to": "submitted", "expected_version": 1, "comment": f"ok{NUL}"},
            )
        )
        assert "NUL" in fields["comment"]
        assert c.get(f"/api/v1/incidents/{inc['id']}").json()["version"] == 1


def test_alerts_declarations_and_partners_refuse_control_characters(live: LiveNode) -> None:
    with live.client(Role.ADMIN) as c:
        r = c.post("/api/v1/partners", json={"name": "ir-node", "country": "IR"})
        assert r.status_code == 201, r.text
        fields = _fields(
            c.put("/api/v1/partners/ir-node/agreement", json={"sectors": [f"PKIR-001{NUL}"]})
        )
        assert "NUL" in fields["sectors.0"]
        fields = _fields(c.patch("/api/v1/partners/ir-node", json={"remote_token": f"t{NUL}k"}))
        assert "NUL" in fields["remote_token"]
    alert = {
        "priority": "immediate",
        "kind": "smuggling_movement",
        "text": f"Convoy{NUL} heading south",
        "location": {"lon": 61.6, "lat": 28.95},
    }
    with live.client(Role.LIAISON) as c:
        fields = _fields(c.post("/api/v1/alerts", json=alert))
        assert "NUL" in fields["text"]
        fields = _fields(c.post("/api/v1/alerts", json={**alert, "text": "ok", "sector": "PK\x07"}))
        assert "U+0007" in fields["sector"]
        assert c.get("/api/v1/alerts").json()["items"] == []
    with live.client(Role.DUTY_OFFICER) as c:
        declaration = {"crossing": "taftan-mirjaveh", "status": "closed", "reason": "other"}
        fields = _fields(
            c.post("/api/v1/crossings/declarations", json={**declaration, "note": f"n{NUL}"})
        )
        assert "NUL" in fields["note"]
        fields = _fields(
            c.post(
                "/api/v1/crossings/declarations",
                json={**declaration, "crossing": f"taftan-mirjaveh{NUL}"},
            )
        )
        assert "NUL" in fields["crossing"]
        assert c.get("/api/v1/crossings/declarations").json() == []
