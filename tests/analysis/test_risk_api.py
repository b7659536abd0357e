"""``/api/v1/risk`` on a real node: formats, explanations, permissions, unknown sectors."""

from __future__ import annotations

import csv
import io

import pytest

from analysis.helpers import AT, data
from sarhad.border import BorderProfile
from sarhad.core.auth import CONSOLE, Principal, Role
from sarhad.incidents import service as incidents
from sarhad.incidents.schemas import Transition
from sarhad.incidents.taxonomy import Status
from sarhad.sharing import service as sharing
from support import LiveNode

WHEN = {"at": AT.isoformat()}


def _add(live: LiveNode, profile: BorderProfile, **kw: object) -> str:
    duty = Principal("taftan-duty", Role.DUTY_OFFICER)
    with live.db.session() as s:
        row = incidents.create_incident(s, data=data(profile, **kw), actor=duty, profile=profile)
        incidents.transition_incident(
            s,
            incident_id=row.id,
            step=Transition(to=Status.SUBMITTED, expected_version=1),
            actor=duty,
        )
        return row.id


@pytest.fixture
def hot(live: LiveNode, profile: BorderProfile) -> dict[str, str]:
    attack = _add(live, profile, km=205.0, category="armed_attack", killed=2)
    seizure = _add(live, profile, km=209.0, category="smuggling_fuel", days_ago=30)
    return {"attack": attack, "seizure": seizure, "sector": profile.sector_at_km(205.0).id}


def test_risk_json_lists_every_sector_with_levels(live: LiveNode, hot: dict[str, str]) -> None:
    with live.client(Role.ANALYST) as c:
        r = c.get("/api/v1/risk", params=WHEN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["at"] == "2025-01-01T00:00:00+00:00" and body["origin"] == "all"
    assert body["params"]["thresholds"] == {"medium": 2.0, "high": 5.0, "critical": 10.0}
    assert len(body["items"]) == 82 and sum(body["levels"].values()) == 82
    mine = next(i for i in body["items"] if i["sector_id"] == hot["sector"])
    assert mine["score"] == max(i["score"] for i in body["items"])
    assert [c["incident_id"] for c in mine["contributions"]] == [hot["attack"], hot["seizure"]]


def test_risk_csv_and_geojson(live: LiveNode, hot: dict[str, str]) -> None:
    with live.client(Role.DUTY_OFFICER) as c:
        r = c.get("/api/v1/risk", params={**WHEN, "format": "csv"})
        g = c.get("/api/v1/risk", params={**WHEN, "format": "geojson"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert (
        next(x for x in rows if x["sector_id"] == hot["sector"])["top_incident_id"] == hot["attack"]
    )
    assert g.status_code == 200 and g.headers["content-type"] == "application/geo+json"
    features = g.json()["features"]
    assert len(features) == 82 and {f["geometry"]["type"] for f in features} == {"LineString"}


def test_origin_filter(live: LiveNode, hot: dict[str, str]) -> None:
    with live.client(Role.COMMANDER) as c:
        partner = c.get("/api/v1/risk", params={**WHEN, "origin": "partner"}).json()
        bad = c.get("/api/v1/risk", params={"origin": "ir-node"})
    assert all(i["score"] == 0 and not i["contributions"] for i in partner["items"])
    assert bad.status_code == 422


def test_explain_a_sector(live: LiveNode, hot: dict[str, str]) -> None:
    with live.client(Role.LIAISON) as c:
        r = c.get(f"/api/v1/risk/{hot['sector']}", params=WHEN)
        missing = c.get("/api/v1/risk/PKIR-999", params=WHEN)
        bad_at = c.get(f"/api/v1/risk/{hot['sector']}", params={"at": "soon"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sector_id"] == hot["sector"] and body["incidents"] == 2
    contributions = body["contributions"]
    assert [c["incident_id"] for c in contributions] == [hot["attack"], hot["seizure"]]
    assert sum(c["value"] for c in contributions) == pytest.approx(body["score"])
    assert contributions[0]["decay"] == pytest.approx(2 ** (-10 / 90))
    assert missing.status_code == 404
    assert "PKIR-001" in missing.json()["error"]["hint"]
    assert bad_at.status_code == 422 and bad_at.json()["error"]["fields"][0]["field"] == "at"


def test_partner_accounts_may_not_read_risk(live: LiveNode) -> None:
    with live.db.session() as s:
        _, token = sharing.add_partner(s, name="ir-node", country="IR", actor=CONSOLE)
    with live.client(role=None) as c:
        headers = {"Authorization": f"Bearer {token}"}
        assert c.get("/api/v1/risk", headers=headers).status_code == 403
        assert c.get("/api/v1/risk/PKIR-001", headers=headers).status_code == 403
        assert c.get("/api/v1/risk").status_code == 401


def test_risk_now_is_reused_but_never_misses_a_new_incident(
    live: LiveNode, profile: BorderProfile
) -> None:
    sector = profile.sector_at_km(205.0).id

    def score_now() -> tuple[float, str]:
        with live.client(Role.ANALYST) as c:
            body = c.get("/api/v1/risk").json()  # no `at`: now, as the map asks
        row = next(r for r in body["items"] if r["sector_id"] == sector)
        return row["score"], body["at"]

    before, at = score_now()
    assert score_now() == (before, at)  # nothing changed: the same result, the same moment
    _add(live, profile, km=205.0, category="armed_attack", killed=2, days_ago=0)
    after, later = score_now()
    assert after > before and later >= at
