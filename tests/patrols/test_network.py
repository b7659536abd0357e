"""Patrol network: contiguous stretches within base areas, exact marginals when sampled."""

from __future__ import annotations

import numpy as np
import pytest

from sarhad.core.errors import InvalidInput
from sarhad.patrols.game import Deadline, Game, SolverFailed, fill, origami, out_of_time, solve_lp
from sarhad.patrols.network import JOINT, SIDE_A, SIDE_B, Area, PathSampler, build_network, polytope


def risk(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).gamma(0.6, 2.0, n) + 0.05


def test_single_sector_patrols_reproduce_the_dedicated_solver():
    for seed in range(8):
        rng = np.random.default_rng(seed)
        n, m = int(rng.integers(5, 30)), int(rng.integers(1, 5))
        g = Game(
            rng.uniform(1, 10, n),
            -rng.uniform(1, 10, n),
            rng.uniform(1, 10, n),
            -rng.uniform(1, 10, n),
        )
        net = build_network(n, [Area(0, n - 1, m)], max_stretch=1)
        assert solve_lp(g, polytope(net, 1)).defender_utility == pytest.approx(
            origami(g, m).defender_utility, abs=1e-6
        )


def test_longer_stretches_cover_more_and_never_lower_the_defender_utility():
    g = Game.from_risk(risk(40))
    values = []
    for length in (1, 2, 3, 5):
        net = build_network(40, [Area(0, 39, 4)], max_stretch=length)
        values.append(solve_lp(g, polytope(net, 1)).defender_utility)
    assert values == sorted(values)
    assert values[-1] > values[0]


def test_sampled_plans_keep_every_rule():
    n, length = 30, 3
    areas = [Area(0, 11, 2), Area(12, 29, 3)]
    partner = [Area(0, 19, 2), Area(20, 29, 1)]
    joint = np.zeros(n, dtype=bool)
    joint[5:15] = True
    net = build_network(n, areas, partner, max_stretch=length, joint=joint)
    g = Game.from_risk(risk(n, 3))
    sol = solve_lp(g, polytope(net, 1, pi=(0.6, 0.6, 0.9)))
    for arcs in PathSampler(net, sol.x).sample(np.random.default_rng(1), 2000):
        covered = np.zeros(n, dtype=int)
        used_a: dict[int, set[int]] = {}
        used_b: dict[int, set[int]] = {}
        for a in arcs:
            first, ln = int(net.start[a]), int(net.length[a])
            assert 1 <= ln <= length
            covered[first : first + ln] += 1
            if net.kind[a] in (SIDE_A, JOINT):
                area = areas[net.area_a[a]]
                assert area.first <= first and first + ln - 1 <= area.last  # stays home
                team = int(net.team_a[a])
                assert team not in used_a.setdefault(int(net.area_a[a]), set())  # once a shift
                used_a[int(net.area_a[a])].add(team)
            if net.kind[a] in (SIDE_B, JOINT):
                area = partner[net.area_b[a]]
                assert area.first <= first and first + ln - 1 <= area.last
                used_b.setdefault(int(net.area_b[a]), set()).add(int(net.team_b[a]))
            if net.kind[a] == JOINT:
                assert joint[first : first + ln].all()  # coordinated only where both agreed
        assert covered.max() <= 1
        for k, teams in used_a.items():
            assert len(teams) <= areas[k].teams
        for k, teams in used_b.items():
            assert len(teams) <= partner[k].teams


def test_empirical_coverage_matches_the_optimal_marginals():
    """20,000 sampled days: every sector within 4 binomial standard errors (stated tolerance)."""
    n = 60
    net = build_network(n, [Area(0, 29, 3), Area(30, 59, 3)], max_stretch=3)
    sol = solve_lp(Game.from_risk(risk(n, 9)), polytope(net, 1))
    k = 20_000
    sampler = PathSampler(net, sol.x)
    counts = sampler.arc_counts(np.random.default_rng(42), k)
    cover = net.coverage_matrix(1, 1, 1)
    expected, seen = cover @ sol.x, cover @ counts / k
    se = np.sqrt(np.clip(expected * (1 - expected), 1e-12, None) / k)
    assert np.all(np.abs(seen - expected) <= 4 * se + 1e-9)
    assert sampler.entropy_bits() > 1.0  # more than a couple of alternating plans


def test_the_same_seed_gives_the_same_plans():
    net = build_network(20, [Area(0, 19, 3)], max_stretch=2)
    sol = solve_lp(Game.from_risk(risk(20)), polytope(net, 1))
    s = PathSampler(net, sol.x)
    one = s.sample(np.random.default_rng(5), 50)
    two = s.sample(np.random.default_rng(5), 50)
    assert all(np.array_equal(a, b) for a, b in zip(one, two, strict=True))
    other = s.sample(np.random.default_rng(6), 50)
    assert not all(np.array_equal(a, b) for a, b in zip(one, other, strict=True))


def test_a_daily_floor_reaches_every_sector():
    n = 30
    g = Game.from_risk(np.tile(np.r_[np.full(5, 50.0), np.full(25, 0.01)], 2))  # 2 shifts
    net = build_network(n, [Area(0, n - 1, 2)], max_stretch=2)
    bare = solve_lp(g, polytope(net, 2))
    assert bare.coverage.reshape(2, n).sum(axis=0).min() < 0.2  # cold sectors get little
    floored = solve_lp(g, polytope(net, 2, daily_floor=0.2))
    assert floored.coverage.reshape(2, n).sum(axis=0).min() >= 0.2 - 1e-7
    # the hot stretch still gets the most
    assert floored.coverage.reshape(2, n)[:, :5].sum(axis=0).min() > 0.2


def test_overlapping_bases_of_one_side_are_refused():
    with pytest.raises(InvalidInput, match="share sectors"):
        build_network(10, [Area(0, 5, 1), Area(5, 9, 1)], max_stretch=2)
    with pytest.raises(InvalidInput, match="off the line"):
        build_network(10, [Area(0, 10, 1)], max_stretch=2)


def test_a_stretch_may_cross_the_other_sides_base_boundary():
    """B on sector 0, A on 2–4 (crossing B's boundary at 3), B on 5 is a valid plan."""
    net = build_network(6, [Area(0, 5, 1)], [Area(0, 2, 1), Area(3, 5, 1)], max_stretch=3)
    plans: set[frozenset[tuple[int, int, int]]] = set()

    def walk(v: int, taken: tuple[tuple[int, int, int], ...]) -> None:
        if v == net.sink:
            plans.add(frozenset(taken))
            return
        for a in np.flatnonzero(net.tail == v):
            step = (int(net.kind[a]), int(net.start[a]), int(net.length[a]))
            walk(int(net.head[a]), taken if step[0] == 0 else (*taken, step))

    walk(0, ())
    assert frozenset({(SIDE_B, 0, 1), (SIDE_A, 2, 3), (SIDE_B, 5, 1)}) in plans
    assert frozenset({(SIDE_B, 0, 1), (SIDE_B, 1, 1)}) not in plans  # one team per base


class LPsThenOut(Deadline):
    """A deadline that lets ``lps`` LPs start and runs out at the next: a clock that cannot be
    fooled by a busy machine, so the test asserts what happens, not when."""

    def __init__(self, lps: int) -> None:
        super().__init__(at=float("inf"), limit_s=60.0)
        object.__setattr__(self, "calls", [lps])

    def left(self) -> float:
        calls: list[int] = self.calls  # type: ignore[attr-defined]
        calls[0] -= 1
        if calls[0] < 0:
            raise out_of_time(self.limit_s)
        return 60.0


def test_out_of_time_after_the_minimax_lp_returns_that_plan_with_its_gap():
    """The time limit met after the attacker's least utility is known: a feasible plan that
    reaches it comes back, with how much defender utility is unproven, instead of nothing."""
    n = 30
    joint = np.zeros(n, dtype=bool)
    joint[10:16] = True
    net = build_network(n, [Area(0, n - 1, 3)], [Area(0, n - 1, 3)], max_stretch=3, joint=joint)
    poly = polytope(net, 2, pi=(0.6, 0.6, 0.9), shift_floor=0.01)
    g = Game.from_risk(np.tile(risk(n, 4), 2))
    best = fill(g, poly, solve_lp(g, poly))
    assert best.gap == 0
    early = fill(g, poly, solve_lp(g, poly, deadline=LPsThenOut(1)), deadline=LPsThenOut(0))
    assert early.attacker_utility == pytest.approx(best.attacker_utility, abs=1e-7)
    assert early.defender_utility <= best.defender_utility + 1e-7
    assert early.gap >= best.defender_utility - early.defender_utility - 1e-7
    assert early.x is not None and np.allclose(poly.A_eq @ early.x, poly.b_eq, atol=1e-7)
    # Out of time inside the minimax LP itself: nothing feasible is known, so it says so.
    with pytest.raises(SolverFailed, match="time limit of 60 s") as failed:
        solve_lp(g, poly, deadline=LPsThenOut(0))
    assert failed.value.timed_out
