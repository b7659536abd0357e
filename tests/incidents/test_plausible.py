"""Implausible incidents are refused: points far off the line unless marked far_from_line
(then without sector or km), and event times before 1989 or in the future. Through the real
API, the CLI, imports and a partner's TAXII POST."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from sarhad.cli import app
from sarhad.core.auth import Role
from sarhad.core.config import Settings
from sarhad.core.db import Database
from sarhad.core.markings import TLP
from sarhad.incidents.models import Incident
from sarhad.sharing.policy import SharableRecord, Terms, decide
from support import LiveNode

INCIDENT: dict[str, Any] = {
    "title": "Fuel convoy intercepted",
    "category": "smuggling_fuel",
    "occurred_at": "2026-11-21T02:00:00Z",
    "location": {"lon": 61.75403, "lat": 26.07937, "precision": "near"},
    "reporting_side": "PK",
}
PARIS = {"lon": 2.35, "lat": 48.86}


def _at(where: dict[str, float], **over: Any) -> dict[str, Any]:
    return {**INCIDENT, "location": {**INCIDENT["location"], **where}, **over}


def _error(r: Any) -> tuple[dict[str, str], str]:
    assert r.status_code == 422, r.text
    body = r.json()["error"]
    return {f["field"]: f["message"] for f in body["fields"]}, body.get("hint", "")


@pytest.mark.parametrize(
    ("where", "km"),
    [({"lon": 0.0, "lat": 0.0}, "7,174.7"), ({"lon": 180.0, "lat": -90.0}, ""), (PARIS, "5,312.8")],
    ids=["null-island", "antimeridian-pole", "paris"],
)
def test_a_point_far_from_the_line_is_refused_naming_location(
    live: LiveNode, where: dict[str, float], km: str
) -> None:
    with live.client(Role.DUTY_OFFICER) as c:
        fields, hint = _error(c.post("/api/v1/incidents", json=_at(where)))
        assert "km from the border line" in fields["location"] and km in fields["location"]
        assert "150 km" in fields["location"] and "far_from_line" in hint
        assert c.get("/api/v1/incidents").json()["items"] == []


def test_swapped_coordinates_are_named_as_such(live: LiveNode) -> None:
    with live.client(Role.DUTY_OFFICER) as c:
        _fields, hint = _error(c.post("/api/v1/incidents", json=_at({"lon": 28.95, "lat": 61.59})))
    assert "did you swap longitude and latitude? lon 61.59, lat 28.95 is near the line" in hint


def test_far_from_line_keeps_a_far_record_without_sector_through_edits(live: LiveNode) -> None:
    with live.client(Role.DUTY_OFFICER) as c:
        r = c.post("/api/v1/incidents", json=_at(PARIS, far_from_line=True))
        assert r.status_code == 201, r.text
        inc = r.json()
        assert inc["far_from_line"] is True
        e = inc["enrichment"]
        assert (e["sector"], e["km"], e["side"]) == (None, None, "outside")
        assert round(e["distance_m"] / 1000, 1) == 5312.8
        r = c.patch(
            f"/api/v1/incidents/{inc['id']}", json={"expected_version": 1, "title": "x" * 5}
        )
        assert r.status_code == 200, r.text
        assert r.json()["far_from_line"] is True and r.json()["enrichment"]["sector"] is None
        fields, _ = _error(
            c.patch(
                f"/api/v1/incidents/{inc['id']}",
                json={"expected_version": 2, "far_from_line": False},
            )
        )
        assert "km from the border line" in fields["location"]
        # Moved to the line, it gets its sector back (the mark stays, harmless there).
        r = c.patch(
            f"/api/v1/incidents/{inc['id']}",
            json={"expected_version": 2, "location": INCIDENT["location"]},
        )
        assert r.status_code == 200, r.text
        assert r.json()["enrichment"]["sector"] == "PKIR-072"
        points = c.get("/api/v1/incidents", params={"format": "geojson"}).json()["features"]
        assert points and points[0]["properties"]["enrichment"]["sector"] == "PKIR-072"
    # A far record counts for no sector and goes to no partner.
    record = SharableRecord(
        id="x",
        category="smuggling_fuel",
        sector=None,
        status="validated",
        tlp=TLP.GREEN,
        occurred_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    terms = Terms(partner="ir-node", partner_node_id=None, version=1)
    decision = decide(record, terms, now=datetime(2026, 12, 1, tzinfo=UTC))
    assert not decision.share and "far from the line" in decision.reasons[0]


def test_the_limit_is_a_setting(spawn) -> None:
    node = spawn("wide-node", "PK", max_km_from_line=6000.0)
    with node.client(Role.DUTY_OFFICER) as c:
        r = c.post("/api/v1/incidents", json=_at(PARIS))
        assert r.status_code == 201, r.text
        assert r.json()["enrichment"]["sector"] == "PKIR-001"  # within this node's limit


@pytest.mark.parametrize(
    ("when", "says"),
    [
        ("0001-01-01T00:00:00Z", "before 1989-01-01"),
        ("1988-12-31T23:00:00Z", "before 1989-01-01"),
        ("9999-12-31T23:59:59Z", "in the future"),
        ("+1h", "in the future"),
    ],
)
def test_an_implausible_occurred_at_is_refused(live: LiveNode, when: str, says: str) -> None:
    if when == "+1h":
        when = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    with live.client(Role.DUTY_OFFICER) as c:
        fields, _ = _error(c.post("/api/v1/incidents", json={**INCIDENT, "occurred_at": when}))
        assert says in fields["occurred_at"]
        ok = c.post("/api/v1/incidents", json=INCIDENT).json()
        fields, _ = _error(
            c.patch(
                f"/api/v1/incidents/{ok['id']}", json={"expected_version": 1, "occurred_at": when}
            )
        )
        assert says in fields["occurred_at"]


def test_a_clock_a_few_minutes_ahead_is_tolerated(live: LiveNode) -> None:
    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    with live.client(Role.DUTY_OFFICER) as c:
        assert (
            c.post("/api/v1/incidents", json={**INCIDENT, "occurred_at": soon}).status_code == 201
        )


# --- CLI and imports -------------------------------------------------------------------


@pytest.fixture
def run(settings: Settings, db: Database):
    env = {
        "SARHAD_DATA_DIR": str(settings.data_dir),
        "SARHAD_DATABASE_URL": settings.database_url,
        "SARHAD_NODE_SIDE": "PK",
    }
    return lambda *args: CliRunner().invoke(app, list(args), env=env)


def said(result: Any) -> str:
    """What the command printed, on one line (the console wraps long messages)."""
    return " ".join(result.output.split())


def _count(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Incident)) or 0


def test_cli_add_refuses_paris_and_keeps_it_only_when_marked(run, db: Database) -> None:
    args = ["incidents", "add", "--title", "Seized in Paris", "--category", "other"]
    r = run(*args, "--lon", "2.35", "--lat", "48.86", "--at", "2026-11-20T10:00:00Z")
    assert r.exit_code == 2, r.output
    assert "5,312.8 km from the border line" in said(r) and "PKIR-001" not in said(r)
    r = run(*args, "--lon", "2.35", "--lat", "48.86", "--far-from-line")
    assert r.exit_code == 0, r.output
    assert "far from the line: no sector" in said(r) and "PKIR" not in said(r)
    listed = run("incidents", "list")  # a table with no sector and no km for it
    assert listed.exit_code == 0 and "1 incident(s)" in listed.output
    [row] = json.loads(run("incidents", "list", "--json").output)
    assert (row["title"], row["sector"], row["km"]) == ("Seized in Paris", None, None)
    r = run(*args, "--lon", "61.6", "--lat", "28.95", "--at", "2026-02-30T10:00:00Z")
    assert r.exit_code == 2 and "--at" in said(r) and "day 30 does not exist" in said(r)
    r = run(*args, "--lon", "61.6", "--lat", "28.95", "--at", "9999-01-01T00:00:00Z")
    assert r.exit_code == 2 and "--at" in said(r) and "in the future" in said(r)
    r = run("incidents", "list", "--since", "2026-02-30")
    assert r.exit_code == 2 and "--since" in said(r) and "does not exist" in said(r)
    assert "Traceback" not in said(r)
    assert _count(db) == 1


def test_import_reports_far_rows_by_number_and_keeps_marked_ones(
    run, db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "far.csv"
    path.write_text(
        "title,category,occurred_at,lon,lat,far_from_line\n"
        "Near Taftan,other,2026-11-20,61.6,28.95,\n"
        "In Paris,other,2026-11-20,2.35,48.86,\n"
        "Marked far,other,2026-11-20,2.35,48.86,yes\n"
        "Year one,other,0001-01-01,61.6,28.95,\n"
        "Not a flag,other,2026-11-20,61.6,28.95,perhaps\n",
        encoding="utf-8",
    )
    r = run("import", str(path), "--json")
    assert r.exit_code == 1, r.output
    report = json.loads(r.output)
    assert report["imported"] == 2
    errors = {row["row"]: row["errors"][0] for row in report["rejected"]}
    assert errors[3]["field"] == "location" and "km from the border line" in errors[3]["message"]
    assert errors[5]["field"] == "occurred_at" and "before 1989" in errors[5]["message"]
    assert errors[6]["field"] == "far_from_line" and "true or false" in errors[6]["message"]
    with db.session() as s:
        marked = s.scalars(select(Incident).where(Incident.title == "Marked far")).one()
        assert marked.far_from_line and marked.sector_id is None and marked.km is None


def test_import_far_from_line_option_keeps_far_rows(run, db: Database, tmp_path: Path) -> None:
    path = tmp_path / "far.jsonl"
    rows = [_at(PARIS, title="Paris one"), _at(PARIS, title="Paris two", far_from_line=False)]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    r = run("import", str(path), "--format", "json", "--far-from-line", "--json")
    report = json.loads(r.output)
    assert report["imported"] == 1 and [x["row"] for x in report["rejected"]] == [2]
