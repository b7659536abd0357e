"""The statistics of the monthly report: is a month unusual, where are the hot spots.

* :func:`unusual` — a one-sided Poisson test of a month's count against the mean of the 12
  months before it, or a negative binomial test when those months vary more than a Poisson
  would (over-dispersion); nothing is flagged below :data:`MIN_COUNT`.
* :func:`gi_star` — Getis-Ord Gi* over the sectors along the line, with PySAL's ``esda`` on a
  ``libpysal`` neighbour graph (each sector's neighbours are the sectors next to it on the line)
  and permutation p-values.
* :func:`space_time_scan` — Kulldorff's space-time permutation scan statistic (Kulldorff et al.
  2005, PLoS Med 2(3): e59) over km marker bins × weeks. Written here because no maintained
  Python package implements it (SaTScan is a closed desktop program; PySAL has no space-time
  scan); tested on planted clusters with a known answer and on uniform histories.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

#: A month is never flagged with fewer incidents than this, whatever the p-value: on tiny
#: counts one incident more makes a "significant" rise that means nothing.
MIN_COUNT = 5
#: The level at which a month, a sector or a space-time cluster is called significant.
ALPHA = 0.01


@dataclass(frozen=True)
class MonthTest:
    """Is ``count`` unusually high (or low) against ``history``? One-sided both ways."""

    count: int
    baseline: float  # mean of the history
    test: str  # "poisson" | "negative binomial" | "none" (no history)
    p_high: float | None  # P(X >= count)
    p_low: float | None  # P(X <= count)
    flag: str  # "high" | "low" | ""


def unusual(count: int, history: Sequence[int], *, alpha: float = ALPHA) -> MonthTest:
    """Test ``count`` against the distribution fitted to ``history`` (the months before).

    Poisson with the history's mean; when the history's variance exceeds its mean (more
    spread than Poisson allows), a negative binomial with the same mean and variance (method
    of moments), which gives larger, honest p-values. ``flag`` is set only when the p-value is
    below ``alpha`` and the larger of count and baseline is at least :data:`MIN_COUNT`.

    >>> unusual(30, [10] * 12).flag
    'high'
    >>> unusual(3, [0] * 12).flag  # below the minimum count: never flagged
    ''
    """
    if not history:
        return MonthTest(count, 0.0, "none", None, None, "")
    h = np.asarray(history, dtype=float)
    mean = float(h.mean())
    var = float(h.var(ddof=1)) if len(h) > 1 else mean
    if mean <= 0:
        # Nothing ever happened: any count is "more", but a rate of zero has no test.
        return MonthTest(count, 0.0, "none", None, None, "")
    if var > mean * 1.0001:
        # scipy's nbinom(n, p): mean n(1-p)/p, variance n(1-p)/p².
        p = mean / var
        n = mean * p / (1 - p)
        dist: stats.rv_discrete = stats.nbinom(n, p)
        test = "negative binomial"
    else:
        dist = stats.poisson(mean)
        test = "poisson"
    p_high = float(dist.sf(count - 1))
    p_low = float(dist.cdf(count))
    flag = ""
    if max(count, mean) >= MIN_COUNT:
        if p_high < alpha:
            flag = "high"
        elif p_low < alpha:
            flag = "low"
    return MonthTest(count, mean, test, p_high, p_low, flag)


# --- Getis-Ord Gi* over sectors ------------------------------------------------------------


@dataclass(frozen=True)
class SectorHotspot:
    """Gi* of one sector: z-score and permutation p-value; ``hot`` when z > 0 and p < alpha."""

    sector: str
    count: float
    z: float
    p: float
    hot: bool


def gi_star(
    counts: Sequence[float],
    sectors: Sequence[str],
    *,
    permutations: int = 999,
    seed: int = 12345,
    alpha: float = ALPHA,
) -> list[SectorHotspot]:
    """Getis-Ord Gi* of ``counts``, sectors in order along the line (neighbours: next ones).

    Empty when there are fewer than three sectors or no incident (the statistic is undefined).
    """
    # Imported here: esda and libpysal take about a second to import and only the report
    # needs them.
    from esda.getisord import G_Local
    from libpysal.weights import W

    n = len(sectors)
    y = np.asarray(counts, dtype=float)
    if n < 3 or y.sum() <= 0 or np.all(y == y[0]):
        return []
    neighbours = {i: [j for j in (i - 1, i + 1) if 0 <= j < n] for i in range(n)}
    w = W(neighbours, silence_warnings=True)
    with warnings.catch_warnings():
        # esda 2.x warns that its default will become two-sided; we want today's "directed"
        # p (the share of permutations at least as extreme in the observed direction): a hot
        # spot is a one-sided question. n_jobs=1: no worker processes for 20-odd sectors.
        warnings.simplefilter("ignore", DeprecationWarning)
        # A sector whose neighbourhood is the same in every permutation (all of the month's
        # incidents in one sector) has no spread of simulated G: esda divides by zero for
        # its simulated z, which we do not use (z is the analytic one, p the permutation's).
        with np.errstate(divide="ignore", invalid="ignore"):
            g = G_Local(
                y, w, transform="B", star=True, permutations=permutations, seed=seed, n_jobs=1
            )
    out = []
    for i, sector in enumerate(sectors):
        z = float(g.Zs[i]) if np.isfinite(g.Zs[i]) else 0.0
        p = float(g.p_sim[i])
        out.append(SectorHotspot(sector, float(y[i]), z, p, z > 0 and p < alpha))
    return out


# --- Kulldorff's space-time permutation scan -----------------------------------------------


@dataclass(frozen=True)
class Cluster:
    """The most likely space-time cluster: km bins [first, last] × weeks [start, end]."""

    bin_first: int
    bin_last: int
    week_first: int
    week_last: int
    observed: int
    expected: float
    llr: float
    p: float
    significant: bool


def _llr(c: NDArray[np.float64], mu: NDArray[np.float64], total: float) -> NDArray[np.float64]:
    """Kulldorff's Poisson generalised log likelihood ratio, 0 where c <= mu (no excess)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = np.where(c > 0, c * np.log(c / mu), 0.0)
        rest = total - c
        outside = np.where(rest > 0, rest * np.log(rest / (total - mu)), 0.0)
        llr = inside + outside
    return np.where((c > mu) & (mu > 0), llr, 0.0)


def _windows(n: int, longest: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Every window [a, b] of 1..longest consecutive cells among n."""
    a, b = [], []
    for width in range(1, min(longest, n) + 1):
        for start in range(0, n - width + 1):
            a.append(start)
            b.append(start + width - 1)
    return np.asarray(a, dtype=np.intp), np.asarray(b, dtype=np.intp)


def _best(
    table: NDArray[np.float64],
    sw: tuple[NDArray[np.intp], NDArray[np.intp]],
    tw: tuple[NDArray[np.intp], NDArray[np.intp]],
) -> tuple[float, int, int]:
    """Largest LLR over all cylinders (space window × time window), and which one."""
    total = float(table.sum())
    # Prefix sums make any window's count a four-term difference.
    cum = np.zeros((table.shape[0] + 1, table.shape[1] + 1))
    cum[1:, 1:] = table.cumsum(0).cumsum(1)
    by_zone = table.sum(1)
    by_time = table.sum(0)
    zc = np.concatenate([[0.0], by_zone.cumsum()])
    tc = np.concatenate([[0.0], by_time.cumsum()])
    s0, s1 = sw[0][:, None], sw[1][:, None] + 1
    t0, t1 = tw[0][None, :], tw[1][None, :] + 1
    c = cum[s1, t1] - cum[s0, t1] - cum[s1, t0] + cum[s0, t0]
    # Expected under no space-time interaction: (cases in the zones) × (cases in the weeks) / C.
    mu = (zc[s1] - zc[s0]) * (tc[t1] - tc[t0]) / total
    llr = _llr(c, mu, total)
    k = int(np.argmax(llr))
    i, j = divmod(k, llr.shape[1])
    return float(llr[i, j]), i, j


def space_time_scan(
    bins: Sequence[int],
    weeks: Sequence[int],
    *,
    n_bins: int,
    n_weeks: int,
    max_bins: int = 5,
    max_weeks: int = 3,
    permutations: int = 999,
    seed: int = 12345,
    alpha: float = ALPHA,
) -> Cluster | None:
    """The most likely space-time cluster of the cases (one per incident: its km bin, week).

    Cylinders are ``1..max_bins`` consecutive km bins × ``1..max_weeks`` consecutive weeks.
    The expected count of a cylinder is conditioned on the totals of its bins and weeks, so a
    cluster means "more here-and-now than where and when alone explain". Its p-value is the
    rank of the observed largest LLR among those of ``permutations`` data sets in which the
    weeks are shuffled among the cases (Monte Carlo, Dwass 1957). None when fewer than two
    cases or no cylinder has an excess.
    """
    b = np.asarray(bins, dtype=np.intp)
    t = np.asarray(weeks, dtype=np.intp)
    if len(b) < 2:
        return None
    if b.min() < 0 or b.max() >= n_bins or t.min() < 0 or t.max() >= n_weeks:
        raise ValueError("a case lies outside the bins or weeks given")
    sw = _windows(n_bins, max_bins)
    tw = _windows(n_weeks, max_weeks)

    def table_of(tt: NDArray[np.intp]) -> NDArray[np.float64]:
        flat = np.bincount(b * n_weeks + tt, minlength=n_bins * n_weeks)
        return flat.reshape(n_bins, n_weeks).astype(float)

    table = table_of(t)
    llr, i, j = _best(table, sw, tw)
    if llr <= 0:
        return None
    rng = np.random.default_rng(seed)
    beaten = 0
    for _ in range(permutations):
        if _best(table_of(rng.permutation(t)), sw, tw)[0] >= llr:
            beaten += 1
    p = (beaten + 1) / (permutations + 1)
    s0, s1, t0, t1 = int(sw[0][i]), int(sw[1][i]), int(tw[0][j]), int(tw[1][j])
    observed = int(table[s0 : s1 + 1, t0 : t1 + 1].sum())
    expected = float(table[s0 : s1 + 1].sum() * table[:, t0 : t1 + 1].sum() / table.sum())
    return Cluster(s0, s1, t0, t1, observed, expected, llr, p, p < alpha)
