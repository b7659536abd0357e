"""Sector risk from stored incidents: which rows count, origins, explanations and exports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analysis.helpers import AT, QUETTA, TURBAT, AddIncident
from sarhad.analysis import service
from sarhad.analysis.risk import RiskParams
from sarhad.border import BorderProfile
from sarhad.core.auth import Principal, Role
from sarhad.core.db import Database, lock_writes
from sarhad.core.errors import InvalidInput, NotFound
from sarhad.incidents import links

PARAMS = RiskParams()


def risk(db: Database, profile: BorderProfile, **kw: object) -> dict[str, float]:
    with db.session() as s:
        rows = service.sector_risk(s, profile=profile, params=PARAMS, at=AT, **kw)  # type: ignore[arg-type]
    return {r.sector_id: r.score for r in rows}


def contributors(db: Database, profile: BorderProfile, **kw: object) -> set[str]:
    with db.session() as s:
        rows = service.sector_risk(s, profile=profile, params=PARAMS, at=AT, **kw)  # type: ignore[arg-type]
    return {c.incident_id for r in rows for c in r.contributions}


def test_every_sector_in_line_order_and_the_hot_one_on_top(
    db: Database, profile: BorderProfile, add_incident: AddIncident
) -> None:
    add_incident(km=405.0, category="armed_attack", killed=2)
    with db.session() as s:
        rows = service.sector_risk(s, profile=profile, params=PARAMS, at=AT)
    assert [r.sector_id for r in rows] == [x.id for x in profile.sectors]
    hot = max(rows, key=lambda r: r.score)
    assert hot.sector_id == profile.sector_at_km(405.0).id
    assert rows[hot.number - 2].score == pytest.approx(rows[hot.number].score, rel=0.05)


def test_drafts_and_revoked_records_do_not_count(
    db: Database,
    profile: BorderProfile,
    add_incident: AddIncident,
    receive_incident: AddIncident,
) -> None:
    counted = add_incident(km=100.0)
    draft = add_incident(km=100.0, status="draft")
    received = receive_incident(km=100.0)
    revoked = receive_incident(km=100.0, revoked=True)
    assert contributors(db, profile) == {counted, received}
    assert draft not in contributors(db, profile) and revoked not in contributors(db, profile)
    with db.session() as s:
        assert service.uncounted_drafts(s, profile=profile, at=AT) == 1
        assert service.uncounted_drafts(s, profile=profile, at=AT, origin="partner") == 0


def test_origin_filter(
    db: Database,
    profile: BorderProfile,
    add_incident: AddIncident,
    receive_incident: AddIncident,
) -> None:
    ours = add_incident(km=300.0)
    theirs = receive_incident(km=600.0)
    assert contributors(db, profile) == {ours, theirs}
    assert contributors(db, profile, origin="all") == {ours, theirs}
    assert contributors(db, profile, origin="local") == {ours}
    assert contributors(db, profile, origin="partner") == {theirs}
    with db.session() as s:
        points = service.load_points(s, profile=profile, at=AT)
        with pytest.raises(InvalidInput, match="origin"):
            service.sector_risk(s, profile=profile, params=PARAMS, at=AT, origin="ir-node")
    assert {p.origin for p in points} == {"local", "partner:ir-node"}


def test_a_confirmed_twin_counts_once(
    db: Database,
    profile: BorderProfile,
    add_incident: AddIncident,
    receive_incident: AddIncident,
) -> None:
    ours = add_incident(km=250.0)
    theirs = receive_incident(km=251.0)
    other = receive_incident(km=700.0)
    with db.session() as s:
        lock_writes(s)
        (link,) = links.suggest_for(s, incident_id=theirs)
    assert {link.local_id, link.remote_id} == {ours, theirs}
    assert contributors(db, profile) == {ours, theirs, other}  # only suggested: both count
    with db.session() as s:
        links.decide_link(s, link_id=link.id, confirm=True, actor=Principal("l", Role.LIAISON))
    assert contributors(db, profile) == {ours, other}
    assert contributors(db, profile, origin="partner") == {theirs, other}


def test_incidents_far_from_the_line_or_after_at_are_left_out(
    db: Database, profile: BorderProfile, add_incident: AddIncident
) -> None:
    near = add_incident(km=200.0)
    far = add_incident(where=TURBAT)
    add_incident(where=QUETTA, far_from_line=True)  # no km marker: never in any sector's risk
    later = add_incident(km=200.0, days_ago=-3)
    assert contributors(db, profile) == {near}
    assert contributors(db, profile, within_km=None) == {near, far}
    assert contributors(db, profile, within_km=1000.0) == {near, far}
    with db.session() as s:
        rows = service.sector_risk(s, profile=profile, params=PARAMS, at=AT + timedelta(days=5))
    assert later in {c.incident_id for r in rows for c in r.contributions}


def test_the_reports_levels_are_sector_risks_levels(
    db: Database,
    profile: BorderProfile,
    add_incident: AddIncident,
    receive_incident: AddIncident,
) -> None:
    """``sector_levels`` (the monthly report's map) counts the rows ``sector_risk`` counts,
    by the same formula: drafts, withdrawn records, a confirmed twin, records far from the
    line and after ``at`` left out, casualties and decay in; levels and scores the same."""
    for km, days, killed in ((400.0, 1, 3), (402.0, 10, 0), (405.0, 200, 1), (20.0, 30, 0)):
        add_incident(km=km, days_ago=days, killed=killed, category="armed_attack")
    add_incident(km=400.0, status="draft", killed=9)
    add_incident(km=400.0, days_ago=-3, killed=9)  # after at
    add_incident(where=TURBAT, killed=9)  # far from the line
    receive_incident(km=401.0, revoked=True, killed=9)
    ours = add_incident(km=610.0, killed=2)
    theirs = receive_incident(km=611.0, killed=2)
    with db.session() as s:
        lock_writes(s)
        (link,) = links.suggest_for(s, incident_id=theirs)
        links.decide_link(s, link_id=link.id, confirm=True, actor=Principal("l", Role.LIAISON))
    assert {link.local_id, link.remote_id} == {ours, theirs}
    params = RiskParams(medium=0.1, high=0.4, critical=0.5)  # several levels on this line
    with db.session() as s:
        full = service.sector_risk(s, profile=profile, params=params, at=AT)
        levels = service.sector_levels(s, profile=profile, params=params, at=AT)
        points = service.load_points(s, profile=profile, at=AT)
    assert levels == {r.sector_id: r.level for r in full}
    assert set(levels.values()) == {"low", "medium", "high", "critical"}, levels
    # The scores behind them: one formula (risk._values) for both.
    assert risk_scores(points, profile, params) == pytest.approx([r.score for r in full])


def risk_scores(points: list[Any], profile: BorderProfile, params: RiskParams) -> list[float]:
    from sarhad.analysis.risk import sector_scores

    return sector_scores(
        [p.km for p in points], [p.occurred_at for p in points],
        [(p.category, p.killed, p.injured) for p in points], profile.sectors,
        at=AT, params=params, line_length_km=profile.length_km,
    )  # fmt: skip


def test_casualties_of_every_group_count(
    db: Database, profile: BorderProfile, add_incident: AddIncident
) -> None:
    add_incident(km=500.0, killed=2, injured=4)
    with db.session() as s:
        (p,) = service.load_points(s, profile=profile, at=AT)
    assert (p.killed, p.injured) == (2, 4)
    assert p.km == pytest.approx(500.0, abs=0.01)


def test_explain_matches_the_line_and_knows_no_unknown_sector(
    db: Database, profile: BorderProfile, add_incident: AddIncident
) -> None:
    big = add_incident(km=452.0, category="armed_attack", killed=3)
    small = add_incident(km=458.0, category="smuggling_goods", days_ago=200)
    sid = profile.sector_at_km(452.0).id
    with db.session() as s:
        row = service.explain(s, profile=profile, params=PARAMS, sector_id=sid, at=AT)
        whole = {
            r.sector_id: r for r in service.sector_risk(s, profile=profile, params=PARAMS, at=AT)
        }
        with pytest.raises(NotFound) as exc:
            service.explain(s, profile=profile, params=PARAMS, sector_id="PKIR-999", at=AT)
    assert exc.value.hint and "PKIR-001" in exc.value.hint
    assert row == whole[sid]
    assert [c.incident_id for c in row.contributions] == [big, small]
    assert sum(c.value for c in row.contributions) == pytest.approx(row.score, rel=1e-9)


def test_csv_export(db: Database, profile: BorderProfile, add_incident: AddIncident) -> None:
    top = add_incident(km=305.0, category="armed_attack", killed=1)
    add_incident(km=306.0, category="smuggling_goods")
    with db.session() as s:
        rows = service.sector_risk(s, profile=profile, params=PARAMS, at=AT)
    parsed = list(csv.DictReader(io.StringIO(service.risk_csv(rows))))
    assert list(parsed[0]) == list(service.CSV_COLUMNS)
    assert len(parsed) == len(profile.sectors)
    hot = next(r for r in parsed if r["sector_id"] == profile.sector_at_km(305.0).id)
    row = next(r for r in rows if r.sector_id == hot["sector_id"])
    assert float(hot["score"]) == pytest.approx(row.score, abs=1e-6)
    assert hot["level"] == row.level and hot["incidents"] == "2"
    assert hot["top_incident_id"] == top
    assert float(hot["top_share"]) == pytest.approx(
        row.contributions[0].value / row.score, abs=1e-4
    )
    cold = next(r for r in parsed if r["sector_id"] == profile.sectors[0].id)
    assert (cold["score"], cold["incidents"], cold["top_incident_id"]) == ("0.000000", "0", "")


def test_geojson_export(db: Database, profile: BorderProfile, add_incident: AddIncident) -> None:
    top = add_incident(km=605.0, category="explosion_ied", killed=2)
    with db.session() as s:
        rows = service.sector_risk(s, profile=profile, params=PARAMS, at=AT)
    gj = service.risk_geojson(rows, profile)
    assert gj["type"] == "FeatureCollection"
    assert len(gj["features"]) == len(profile.sectors)
    sid = profile.sector_at_km(605.0).id
    f = next(f for f in gj["features"] if f["id"] == sid)
    assert f["geometry"]["type"] == "LineString"
    expected = [list(c) for c in profile.sector(sid).geometry.coords]
    assert f["geometry"]["coordinates"] == [
        [pytest.approx(x, abs=1e-6), pytest.approx(y, abs=1e-6)] for x, y in expected
    ]
    props = f["properties"]
    row = next(r for r in rows if r.sector_id == sid)
    assert (props["sector_id"], props["level"]) == (sid, row.level)
    assert props["score"] == pytest.approx(row.score)
    assert props["top_contributions"][0]["incident_id"] == top
    assert props["top_contributions"][0]["share_of_score"] == pytest.approx(1.0)
    assert len(props["top_contributions"]) <= service.TOP_CONTRIBUTIONS


def test_parse_at() -> None:
    assert service.parse_at("2024-03-31") == datetime(2024, 3, 31, tzinfo=UTC)
    assert service.parse_at("2024-03-31T18:00:00+05:00") == datetime(2024, 3, 31, 13, tzinfo=UTC)
    assert service.parse_at("2024-03-31T18:00:00Z") == datetime(2024, 3, 31, 18, tzinfo=UTC)
    assert service.parse_at(None) is None and service.parse_at(" ") is None
    with pytest.raises(InvalidInput, match="at"):
        service.parse_at("last tuesday")
