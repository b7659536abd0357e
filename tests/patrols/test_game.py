"""The dedicated solver and the HiGHS LP agree on the strong Stackelberg equilibrium."""

from __future__ import annotations

import numpy as np
import pytest

from sarhad.core.errors import InvalidInput
from sarhad.patrols.game import (
    Game,
    Polytope,
    origami,
    solve_lp,
    solve_multiple_lps,
    spend_spare,
)


def uniform(rng: np.random.Generator, n: int) -> Game:
    return Game(
        rng.uniform(1, 10, n), -rng.uniform(1, 10, n), rng.uniform(1, 10, n), -rng.uniform(1, 10, n)
    )


def covariant(rng: np.random.Generator, n: int, rho: float) -> Game:
    """Attacker payoffs correlated with the defender's (Jain et al.'s generator)."""
    dr, dp = rng.normal(0, 1, n), rng.normal(0, 1, n)
    ar = rho * -dp + np.sqrt(1 - rho**2) * rng.normal(0, 1, n)
    return Game(
        np.abs(ar) + 1, -np.abs(rng.normal(0, 1, n)) - 0.1, np.abs(dr) + 0.1, -np.abs(dp) - 0.2
    )


def games(seed: int, count: int):
    rng = np.random.default_rng(seed)
    for k in range(count):
        n = int(rng.integers(2, 20))
        g = uniform(rng, n) if k % 2 else covariant(rng, n, [-1.0, -0.5, 0.0, 0.5, 0.9][k % 5])
        # d:s = 0.5 (the hardest instances) every third game, random otherwise
        m = n / 2 if k % 3 == 0 else float(rng.uniform(0.5, n))
        yield g, m


def test_origami_equals_the_lp_and_the_multiple_lps_on_random_games():
    worst = 0.0
    for g, m in games(7, 300):
        ref = solve_multiple_lps(g, m)
        fast = origami(g, m)
        lp = solve_lp(g, Polytope.independent(g.n, m))
        worst = max(worst, abs(fast.defender_utility - ref.defender_utility))
        worst = max(worst, abs(lp.defender_utility - ref.defender_utility))
        # the coverage is feasible and the attacker's utility is the same
        assert fast.coverage.sum() <= m + 1e-9
        assert np.all((fast.coverage >= 0) & (fast.coverage <= 1))
        assert fast.attacker_utility == pytest.approx(lp.attacker_utility, abs=1e-6)
    assert worst <= 1e-6


def test_the_attacked_target_is_a_best_response_and_the_best_for_the_defender():
    rng = np.random.default_rng(3)
    g = uniform(rng, 40)
    s = origami(g, 8)
    ua = g.attacker_utility(s.coverage)
    assert ua[s.target] == pytest.approx(ua.max())
    ud = g.defender_utility(s.coverage)
    assert ud[s.target] == pytest.approx(max(ud[t] for t in s.attack_set))


def test_more_teams_never_hurt_the_defender():
    g = uniform(np.random.default_rng(5), 60)
    values = [origami(g, m).defender_utility for m in range(0, 61, 5)]
    assert values == sorted(values)
    assert origami(g, 60).coverage.min() > 0  # with a team per target nothing is bare


def test_a_floor_keeps_every_target_covered_and_is_still_optimal_under_it():
    g = Game.from_risk(np.array([50.0, 20.0, 1.0, 0.5, 0.1, 0.05]))
    bare = origami(g, 1.0)
    assert bare.coverage.min() == 0  # the SSE alone leaves cold targets bare
    floor = 0.05
    inner = origami(g.with_floor(floor), (1.0 - g.n * floor) / (1 - floor))
    c = floor + (1 - floor) * inner.coverage
    assert c.min() >= floor - 1e-12 and c.sum() == pytest.approx(1.0)
    # same as the LP with the floor as a bound
    lp = solve_lp(g, Polytope(**{**Polytope.independent(g.n, 1.0).__dict__, "lower": floor}))
    assert g.defender_utility(c)[inner.target] == pytest.approx(lp.defender_utility, abs=1e-7)


def test_spare_teams_are_spent_without_moving_the_attacker():
    g = Game(np.array([5.0, 4.0, 1.0]), np.array([4.0, 3.0, 0.0]), np.ones(3), np.zeros(3))
    s = origami(g, 2.5)
    assert s.coverage.sum() < 2.5  # the equilibrium leaves resources idle here
    c = spend_spare(g, s, 2.5)
    assert c.sum() == pytest.approx(2.5)
    ua = g.attacker_utility(c)
    assert ua[s.target] == pytest.approx(ua.max())
    assert g.defender_utility(c)[s.target] == pytest.approx(s.defender_utility)


@pytest.mark.parametrize(
    ("field", "payoffs"),
    [
        ("attacker_penalty", ([1.0, 2.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0])),
        ("defender_penalty", ([1.0, 2.0], [0.0, 0.0], [1.0, 1.0], [1.0, 0.0])),
        ("attacker_reward", ([1.0, np.nan], [0.0, 0.0], [1.0, 1.0], [0.0, 0.0])),
        ("attacker_penalty", ([1.0, 2.0], [0.0], [1.0, 1.0], [0.0, 0.0])),
    ],
)
def test_bad_games_are_refused_naming_the_field(field, payoffs):
    with pytest.raises(InvalidInput) as exc:
        Game(*(np.array(p) for p in payoffs))
    assert field in [e.field for e in exc.value.errors]


def test_zero_risk_and_negative_resources_are_refused():
    with pytest.raises(InvalidInput):
        Game.from_risk(np.array([1.0, 0.0]))
    with pytest.raises(InvalidInput):
        origami(Game.from_risk(np.array([1.0, 2.0])), -1)
