"""The pure risk model: decay, smoothing along the line, units, levels, explanations."""

from __future__ import annotations

import doctest
import math
import random
import time
from datetime import UTC, datetime, timedelta

import pytest
from shapely import LineString

from sarhad.analysis import risk
from sarhad.analysis.risk import (
    DEFAULT_WEIGHTS,
    IncidentPoint,
    RiskParams,
    SectorRisk,
    compute_risk,
    impact_level,
)
from sarhad.border.model import Sector
from sarhad.core.config import Settings
from sarhad.incidents.taxonomy import Category

AT = datetime(2025, 1, 1, tzinfo=UTC)
LENGTH = 100.0
_GEOM = LineString([(0, 0), (1, 1)])
SECTORS = [Sector(f"S-{i:02d}", i, 10.0 * (i - 1), 10.0 * i, _GEOM) for i in range(1, 11)]


def point(
    km: float,
    *,
    id: str = "a",
    days_ago: float = 0.0,
    category: str = "smuggling_narcotics",
    killed: int = 0,
    injured: int = 0,
) -> IncidentPoint:
    return IncidentPoint(
        id=id,
        km=km,
        occurred_at=AT - timedelta(days=days_ago),
        category=category,
        killed=killed,
        injured=injured,
        side="PK",
        origin="local",
    )


def run(points: list[IncidentPoint], **kw: object) -> list[SectorRisk]:
    params = kw.pop("params", RiskParams())
    return compute_risk(
        points,
        kw.pop("sectors", SECTORS),  # type: ignore[arg-type]
        at=kw.pop("at", AT),  # type: ignore[arg-type]
        params=params,  # type: ignore[arg-type]
        line_length_km=kw.pop("length", LENGTH),  # type: ignore[arg-type]
    )


def shares(rows: list[SectorRisk]) -> list[float]:
    return [sum(c.kernel_share for c in r.contributions) for r in rows]


def test_decay_halves_a_contribution_after_one_half_life() -> None:
    fresh = run([point(45.0, days_ago=0)])[4].contributions[0]
    old = run([point(45.0, days_ago=90)])[4].contributions[0]
    older = run([point(45.0, days_ago=180)])[4].contributions[0]
    assert fresh.decay == pytest.approx(1.0) and old.decay == pytest.approx(0.5)
    assert old.value == pytest.approx(fresh.value / 2, rel=1e-12)
    assert older.value == pytest.approx(fresh.value / 4, rel=1e-12)
    quick = run([point(45.0, days_ago=30)], params=RiskParams(half_life_days=30))
    assert quick[4].contributions[0].decay == pytest.approx(0.5)


def test_a_hot_sector_warms_its_neighbours_less_with_distance() -> None:
    rows = run([point(45.0, category="armed_attack", killed=2)])  # the middle of S-05
    scores = [r.score for r in rows]
    hot = scores[4]
    assert hot == max(scores)
    assert scores[3] == pytest.approx(scores[5], rel=1e-9)  # symmetric about the incident
    # Falling with distance on both sides, and still warm one sector away.
    assert hot > scores[5] > scores[6] > scores[7] > scores[8] > scores[9] >= 0
    assert hot > scores[3] > scores[2] > scores[1] > scores[0] >= 0
    assert scores[5] > 0.3 * hot
    # A narrower bandwidth keeps more of the heat at home.
    narrow = run([point(45.0, category="armed_attack")], params=RiskParams(bandwidth_km=2.0))
    assert narrow[5].score / narrow[4].score < scores[5] / scores[4]


@pytest.mark.parametrize("km", [50.0, 45.0, 0.0, 0.3, 99.9, 100.0])
@pytest.mark.parametrize("bandwidth", [2.0, 10.0, 80.0, 300.0])
def test_kernel_shares_of_one_incident_sum_to_one_even_at_the_ends(
    km: float, bandwidth: float
) -> None:
    rows = run([point(km)], params=RiskParams(bandwidth_km=bandwidth))
    assert sum(shares(rows)) == pytest.approx(1.0, abs=1e-9)


def test_reflection_keeps_the_mass_that_would_fall_off_the_end() -> None:
    # Without reflection, an incident at km 0 would keep half of its kernel off the line;
    # reflected, the first sector holds P(|Z| < 1) = erf(1/√2) of it.
    first = shares(run([point(0.0)]))[0]
    assert first == pytest.approx(math.erf(1 / math.sqrt(2)), abs=1e-9)
    last = shares(run([point(LENGTH)]))[-1]
    assert last == pytest.approx(first, abs=1e-9)


def test_contributions_sum_to_the_score_and_come_largest_first() -> None:
    rng = random.Random(4)
    cats = list(DEFAULT_WEIGHTS)
    points = [
        point(
            rng.uniform(0, LENGTH),
            id=f"i{k:03d}",
            days_ago=rng.uniform(0, 720),
            category=rng.choice(cats),
            killed=rng.randint(0, 3),
            injured=rng.randint(0, 3),
        )
        for k in range(300)
    ]
    params = RiskParams()
    for r in run(points, params=params):
        assert r.score > 0
        assert sum(c.value for c in r.contributions) == pytest.approx(r.score, rel=1e-6)
        values = [c.value for c in r.contributions]
        assert values == sorted(values, reverse=True)
        for c in r.contributions:
            expected = params.scale * c.severity * c.decay * c.kernel_share
            assert c.value == pytest.approx(expected, rel=1e-12)


def test_equal_contributions_are_ordered_by_incident_id() -> None:
    rows = run([point(45.0, id="b"), point(45.0, id="c"), point(45.0, id="a")])
    assert [c.incident_id for c in rows[4].contributions] == ["a", "b", "c"]


def test_steady_monthly_incident_inside_a_sector_scores_about_one() -> None:
    # The unit: one weight-1 incident per 30 days, all inside one sector, scores ~1.
    whole = [Sector("ALL", 1, 0.0, LENGTH, _GEOM)]
    monthly = [point(50.0, id=f"m{k}", days_ago=15 + 30 * k) for k in range(200)]
    (row,) = run(monthly, sectors=whole)
    assert DEFAULT_WEIGHTS["smuggling_narcotics"] == 1.0
    assert row.score == pytest.approx(1.0, abs=0.01)


def test_severity_is_category_weight_plus_casualties() -> None:
    p = RiskParams()
    assert p.severity("armed_attack", 2, 1) == 3.0 + 2 * 2.0 + 0.5
    assert p.severity("smuggling_goods", 0, 0) < p.severity("smuggling_narcotics", 0, 0)
    assert p.severity("no_such_category", 0, 0) == DEFAULT_WEIGHTS["other"]
    assert set(DEFAULT_WEIGHTS) == {c.value for c in Category}  # every category weighed
    heavy = {"armed_attack", "armed_clash", "explosion_ied", "kidnapping"}
    assert min(DEFAULT_WEIGHTS[c] for c in heavy) > max(
        w
        for c, w in DEFAULT_WEIGHTS.items()
        if c.startswith("smuggling_") and c != "smuggling_weapons"
    )


def test_incidents_after_at_are_ignored() -> None:
    rows = run([point(45.0, days_ago=-1), point(45.0, id="b", days_ago=1)])
    assert {c.incident_id for r in rows for c in r.contributions} == {"b"}
    assert sum(r.score for r in run([point(45.0, days_ago=-1)])) == 0.0


def test_no_incidents_means_every_sector_low_and_unexplained() -> None:
    rows = run([])
    assert [(r.score, r.level, r.contributions) for r in rows] == [(0.0, "low", ())] * 10


def test_levels_follow_the_thresholds() -> None:
    p = RiskParams(medium=2, high=5, critical=10)
    assert impact_level(0.0, p) == "low"
    assert impact_level(1.999, p) == "low"
    assert impact_level(2.0, p) == "medium"
    assert impact_level(4.999, p) == "medium"
    assert impact_level(5.0, p) == "high"
    assert impact_level(9.999, p) == "high"
    assert impact_level(10.0, p) == "critical"
    assert impact_level(1e6, p) == "critical"


def test_changing_the_settings_changes_the_levels() -> None:
    # A deadly attack inside S-05: low with the defaults, critical with low thresholds.
    points = [point(45.0, category="armed_attack", killed=3)]
    default = RiskParams.from_settings(Settings())
    assert run(points, params=default)[4].level == "low"
    touchy = RiskParams.from_settings(Settings(risk_medium=0.1, risk_high=0.2, risk_critical=0.3))
    assert (touchy.medium, touchy.high, touchy.critical) == (0.1, 0.2, 0.3)
    rows = run(points, params=touchy)
    assert rows[4].level == "critical"
    assert rows[4].score == pytest.approx(run(points, params=default)[4].score)  # same score
    slow = RiskParams.from_settings(Settings(risk_half_life_days=30, risk_bandwidth_km=5))
    assert (slow.half_life_days, slow.bandwidth_km) == (30, 5)


def test_params_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="medium < high < critical"):
        RiskParams(medium=5, high=2)
    with pytest.raises(ValueError, match="positive"):
        RiskParams(half_life_days=0)
    with pytest.raises(ValueError, match="negative"):
        RiskParams(weights={"armed_attack": -1.0})


def test_ten_thousand_incidents_on_a_hundred_sectors_is_quick() -> None:
    rng = random.Random(1)
    cats = list(DEFAULT_WEIGHTS)
    length = 816.6
    sectors = [
        Sector(f"S-{i}", i, i * length / 100, (i + 1) * length / 100, _GEOM) for i in range(100)
    ]
    points = [
        point(
            rng.uniform(0, length),
            id=str(k),
            days_ago=rng.uniform(0, 1500),
            category=rng.choice(cats),
            killed=rng.randint(0, 2),
        )
        for k in range(10_000)
    ]
    started = time.perf_counter()
    rows = run(points, sectors=sectors, length=length)
    elapsed = time.perf_counter() - started
    assert len(rows) == 100 and elapsed < 5.0, elapsed  # about 0.4 s on the build machine
    assert all(r.score > 0 and r.contributions for r in rows)


def test_docstring_examples_hold() -> None:
    failures, tried = doctest.testmod(risk)
    assert tried > 0 and failures == 0
