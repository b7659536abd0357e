"""The report's statistics on data with a known answer (planted clusters, uniform histories)."""

from __future__ import annotations

import numpy as np

from sarhad.analysis.report.stats import ALPHA, MIN_COUNT, gi_star, space_time_scan, unusual


def test_a_doubled_month_is_flagged_high_and_an_ordinary_one_is_not() -> None:
    history = [20, 22, 18, 21, 19, 20, 23, 17, 20, 21, 19, 20]
    assert unusual(45, history).flag == "high"
    assert unusual(45, history).p_high is not None and unusual(45, history).p_high < 1e-5
    assert unusual(22, history).flag == ""
    assert unusual(5, history).flag == "low"


def test_tiny_counts_are_never_flagged() -> None:
    test = unusual(MIN_COUNT - 1, [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    assert test.p_high is not None and test.p_high < ALPHA  # "significant", yet too small
    assert test.flag == ""


def test_an_overdispersed_history_uses_the_negative_binomial_and_is_more_cautious() -> None:
    history = [2, 40, 5, 30, 1, 25, 3, 35, 4, 28, 2, 33]
    nb = unusual(45, history)
    assert nb.test == "negative binomial"
    poisson_p = float(__import__("scipy.stats").stats.poisson(np.mean(history)).sf(44))
    assert nb.p_high is not None and nb.p_high > poisson_p
    assert nb.flag == ""


def test_gi_star_finds_a_planted_hot_sector_and_none_on_uniform_counts() -> None:
    sectors = [f"S{i:02d}" for i in range(20)]
    counts = [3.0] * 20
    counts[9:12] = [30.0, 40.0, 30.0]
    found = gi_star(counts, sectors, permutations=999)
    hot = {h.sector for h in found if h.hot}
    assert "S10" in hot
    assert hot <= {"S08", "S09", "S10", "S11", "S12"}
    rng = np.random.default_rng(7)
    uniform = rng.poisson(10, size=20).astype(float).tolist()
    assert not [h for h in gi_star(uniform, sectors, permutations=999) if h.hot]


def test_gi_star_with_every_incident_in_one_sector_gives_finite_answers() -> None:
    # The month of a small node: 4 incidents, all in one sector. esda's simulated spread is 0
    # there; the report must still be made (it failed with a division warning before).
    counts = [0.0] * 20
    counts[7] = 4.0
    found = gi_star(counts, [f"S{i:02d}" for i in range(20)], permutations=99)
    assert len(found) == 20
    assert all(np.isfinite(h.z) and 0 < h.p <= 1 for h in found)


def test_space_time_scan_finds_a_planted_cluster_where_it_was_planted() -> None:
    rng = np.random.default_rng(1)
    n_bins, n_weeks = 40, 13
    bins = list(rng.integers(0, n_bins, 400))
    weeks = list(rng.integers(0, n_weeks, 400))
    bins += [20, 21, 21, 22, 20, 21, 22, 21, 20, 22, 21, 21, 20, 22, 21] * 2  # km bins 20-22
    weeks += [11, 11, 12, 12, 11, 12, 11, 12, 11, 12, 11, 12, 12, 11, 12] * 2  # weeks 11-12
    c = space_time_scan(bins, weeks, n_bins=n_bins, n_weeks=n_weeks, permutations=199)
    assert c is not None and c.significant
    assert c.p <= 0.005
    assert 19 <= c.bin_first <= 20 and 22 <= c.bin_last <= 23
    assert c.week_first >= 10 and c.week_last == 12
    assert c.observed > 2 * c.expected


def test_space_time_scan_on_uniform_histories_finds_nothing_at_the_stated_level() -> None:
    # 20 independent uniform histories: at ALPHA = 0.01 we expect none (at most one by chance).
    found = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        bins = rng.integers(0, 30, 300)
        weeks = rng.integers(0, 13, 300)
        c = space_time_scan(bins, weeks, n_bins=30, n_weeks=13, permutations=99, seed=seed)
        found += bool(c and c.p < 0.05 and c.significant)
    assert found <= 1


def test_space_time_scan_likelihood_matches_a_hand_computed_value() -> None:
    # 2 zones × 2 weeks, cases: zone 0 week 0 ×6, zone 1 week 1 ×2, zone 0 week 1 ×1,
    # zone 1 week 0 ×1. Totals C=10. Zone 0 × week 0: c=6, mu=7*7/10=4.9, LLR 0.243;
    # zone 1 × week 1: c=2, mu=3*3/10=0.9, LLR 0.566: the most likely cluster.
    bins = [0] * 6 + [1] * 2 + [0] + [1]
    weeks = [0] * 6 + [1] * 2 + [1] + [0]
    c = space_time_scan(bins, weeks, n_bins=2, n_weeks=2, max_bins=1, max_weeks=1, permutations=9)
    expected = 2 * np.log(2 / 0.9) + 8 * np.log(8 / 9.1)
    assert c is not None
    assert (c.bin_first, c.week_first, c.observed) == (1, 1, 2)
    assert abs(c.llr - expected) < 1e-9
