"""The planner: risk in, a day's patrols out, reproducible, never leaving a sector bare for ever."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import numpy as np
import pytest

from sarhad.border import BorderProfile
from sarhad.core.config import Settings
from sarhad.core.errors import InvalidInput
from sarhad.patrols import service
from sarhad.patrols.config import DEFAULT_SHIFTS, BaseConfig, PatrolConfig
from sarhad.patrols.game import Game, solve_lp
from sarhad.patrols.network import Area, build_network, polytope
from sarhad.patrols.planner import Notice, Patrol, SectorInfo, deconflict, default_seed, plan

SECTORS = [SectorInfo(f"S-{k:03d}", 10.0 * k, 10.0 * (k + 1)) for k in range(40)]
CONFIG = PatrolConfig(
    DEFAULT_SHIFTS,
    (
        BaseConfig("North", "PK", 0, 200, 2),
        BaseConfig("South", "PK", 200, 400, 2),
        BaseConfig("Mirjaveh", "IR", 0, 250, 2),
        BaseConfig("Saravan", "IR", 250, 400, 2),
    ),
    max_stretch=3,
)
DAY = date(2026, 11, 24)


def hot_spot() -> tuple[np.ndarray, list[str]]:
    risk = np.full(40, 0.2)
    risk[18:22] = [6.0, 12.0, 11.0, 5.0]
    levels = ["critical" if r >= 10 else "high" if r >= 5 else "low" for r in risk]
    return risk, levels


def run(**kw):
    risk, levels = hot_spot()
    args = dict(
        day=DAY, side="PK", sectors=SECTORS, risk=risk, levels=levels, config=CONFIG, seed=11
    )
    return plan(**{**args, **kw})


def test_the_hot_spot_gets_most_coverage_and_every_sector_some():
    r = run(floor=0.05)
    daily = r.coverage.sum(axis=0)
    assert daily[18:22].min() > 1.5 * np.delete(daily, range(18, 22)).mean()
    assert daily.min() >= 0.05 - 1e-7
    assert r.target[1] in {s.id for s in SECTORS}
    assert r.entropy_bits > 0
    assert r.teams == {"North": 2, "South": 2}


def test_no_positive_risk_sector_goes_unpatrolled_over_many_days():
    """Sampled day after day, every sector is visited (floor 5 % → about every 20 days)."""
    seen: set[str] = set()
    for k in range(300):
        seen.update(s for p in run(floor=0.05, seed=k).patrols for s in p.sectors)
    assert seen == {s.id for s in SECTORS}


def test_same_inputs_and_seed_give_the_same_plan():
    a, b = run(seed=3), run(seed=3)
    assert a.patrols == b.patrols
    assert any(run(seed=k).patrols != a.patrols for k in range(4, 8))


def test_patrols_respect_teams_stretch_and_shift_times():
    r = run(teams=6)
    assert r.teams == {"North": 3, "South": 3}
    for shift in ("day", "evening", "night"):
        mine = [p for p in r.patrols if p.shift == shift]
        assert len({p.team for p in mine}) == len(mine) <= 6
        assert all(1 <= len(p.sectors) <= 3 for p in mine)
    day = next(p for p in r.patrols if p.shift == "day")
    # 06:00 PKT is 01:00 UTC
    assert day.starts_at == datetime.combine(DAY, time(1, 0), tzinfo=UTC)
    assert (day.ends_at - day.starts_at).total_seconds() == 8 * 3600


def test_too_few_teams_for_the_bases_is_refused():
    with pytest.raises(InvalidInput, match="one team per base"):
        run(teams=1)


def test_coordinated_patrols_only_where_both_sides_rate_high():
    partner_levels = ["high" if 19 <= k <= 25 else "low" for k in range(40)]
    r = run(coordinated=True, partner_side="IR", partner_levels=partner_levels)
    assert r.joint_sectors == ["S-019", "S-020", "S-021"]
    joint = [p for p in r.patrols if p.kind == "coordinated"]
    for p in joint:
        assert set(p.sectors) <= set(r.joint_sectors)
        assert p.team and p.partner_team
    # Over many days mirrored patrols are proposed on the shared hot spot.
    assert any(
        p.kind == "coordinated"
        for k in range(30)
        for p in run(
            coordinated=True, partner_side="IR", partner_levels=partner_levels, seed=k
        ).patrols
    )
    none = run(coordinated=True, partner_side="IR", partner_levels=["low"] * 40)
    assert not [p for p in none.patrols if p.kind == "coordinated"]
    assert "no sector is rated high by both sides" in none.notes[0]


def _patrol(km_from: float, km_to: float) -> Patrol:
    start = datetime(2026, 11, 24, 1, tzinfo=UTC)
    return Patrol("day", start, start.replace(hour=9), "own", "North", "North-1", None, None,
                  ("S-005",), km_from, km_to)  # fmt: skip


def test_deconfliction_warns_within_the_buffer_and_overlapping_in_time():
    p = _patrol(50, 80)
    near = Notice(
        "n1", 85, 90, datetime(2026, 11, 24, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC)
    )
    far = Notice("n2", 120, 130, near.valid_from, near.valid_until)
    later = Notice("n3", 60, 60, datetime(2026, 11, 24, 10, tzinfo=UTC), near.valid_until)
    found = deconflict([p], [near, far, later], buffer_km=10)
    assert [(c.notice, c.distance_km) for c in found] == [("n1", 5.0)]
    assert "North-1" in found[0].message and "km 85" in found[0].message
    assert [c.notice for c in deconflict([p], [near, far], buffer_km=40)] == ["n1", "n2"]


def test_shifts_of_equal_weight_share_one_flow_without_changing_the_equilibrium():
    """The planner solves one shift per weight; the full day's LP gives the same equilibrium."""
    risk, levels = hot_spot()
    partner_levels = ["high" if 19 <= k <= 25 else "low" for k in range(40)]
    r = run(coordinated=True, partner_side="IR", partner_levels=partner_levels, floor=0.05)
    areas = [Area(0, 19, 2), Area(20, 39, 2)]  # North/South (km 0-200, 200-400)
    areas_b = [Area(0, 24, 2), Area(25, 39, 2)]  # Mirjaveh/Saravan (km 0-250, 250-400)
    pairs = zip(levels, partner_levels, strict=True)
    joint = np.array([a in ("high", "critical") and b == "high" for a, b in pairs])
    net = build_network(40, areas, areas_b, max_stretch=3, joint=joint)
    full = polytope(net, 3, pi=(0.6, 0.6, 0.9), shift_floor=0.05 / 3)
    w = np.full(3, 1 / 3)
    game = Game.from_risk(np.outer(w, risk + 0.01 * risk.mean()).ravel())
    exact = solve_lp(game, full)
    assert r.attacker_utility == pytest.approx(exact.attacker_utility, abs=1e-7)
    assert r.defender_utility == pytest.approx(exact.defender_utility, abs=1e-7)
    assert r.gap == 0
    # The floor holds in every shift, hence over the day.
    assert r.coverage.min() >= 0.05 / 3 - 1e-7
    assert np.allclose(r.coverage[0], r.coverage[1]) and np.allclose(r.coverage[1], r.coverage[2])


@pytest.mark.once_on("sqlite")  # the demo's full-size joint game: seconds, not a DB test
def test_a_coordinated_plan_for_the_demo_profile_puts_both_sides_on_the_shared_hot_spots(
    settings: Settings, profile: BorderProfile
):
    """The demo's case: the shipped line, one base per side with 4 teams, three shifts, each
    side's violent stretch across from the other's weapons stretch (both rate them high)."""
    config = service.patrol_config(settings, profile)
    n = len(profile.sectors)
    km = np.arange(n)
    ours_hot, theirs_hot = (51, 39), (39, 51)  # 0-based centres: critical, then high

    def levels_of(hot: tuple[int, int]) -> list[str]:
        return [
            "critical" if abs(k - hot[0]) <= 1 else "high" if abs(k - hot[1]) <= 1 else "low"
            for k in range(n)
        ]

    risk = 0.2 + 12 * np.exp(-((km - 51) ** 2) / 2) + 12 * np.exp(-((km - 39) ** 2) / 2)
    r = plan(
        day=DAY,
        side="PK",
        sectors=[SectorInfo(s.id, s.start_km, s.end_km) for s in profile.sectors],
        risk=risk,
        levels=levels_of(ours_hot),
        config=config,
        coordinated=True,
        partner_side="IR",
        partner_levels=levels_of(theirs_hot),
        seed=default_seed(DAY, "PK", coordinated=True),
        floor=settings.patrol_floor,
        time_limit_s=settings.patrol_time_limit_s,
    )
    shared = {profile.sectors[k].id for k in (38, 39, 40, 50, 51, 52)}
    assert set(r.joint_sectors) == shared
    assert r.partner_side == "IR" and r.partner_teams == {"IR-line": 4}
    joint = [p for p in r.patrols if p.kind == "coordinated"]
    assert joint, "no mirrored patrol on the sectors both sides rate high"
    for p in joint:  # one of our teams and one of theirs, same stretch, same shift window
        assert p.team and p.team.startswith("PK-line-")
        assert p.partner_team and p.partner_team.startswith("IR-line-")
        assert set(p.sectors) <= shared and p.starts_at < p.ends_at
    for shift in r.shifts:  # no team is in two places in one shift, on either side
        mine = [p.team for p in r.patrols if p.shift == shift and p.team]
        theirs = [p.partner_team for p in r.patrols if p.shift == shift and p.partner_team]
        assert len(mine) == len(set(mine)) <= 4 and len(theirs) == len(set(theirs)) <= 4
    # The shared hot spots are covered far above the rest of the line, in every shift.
    daily = r.coverage.sum(axis=0)
    idx = [k for k, s in enumerate(profile.sectors) if s.id in shared]
    assert daily[idx].min() > 3 * np.delete(daily, idx).mean()
