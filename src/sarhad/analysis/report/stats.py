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
    # The distributions' functions are called directly, not through frozen distributions:
    # freezing one costs milliseconds, and a report tests hundreds of counts.
    if var > mean * 1.0001:
        # scipy's nbinom(n, p): mean n(1-p)/p, variance n(1-p)/p².
        p = mean / var
        n = mean * p / (1 - p)
        test = "negative binomial"
        p_high = float(stats.nbinom.sf(count - 1, n, p))
        p_low = float(stats.nbinom.cdf(count, n, p))
    else:
        test = "poisson"
        p_high = float(stats.poisson.sf(count - 1, mean))
        p_low = float(stats.poisson.cdf(count, mean))
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


def _boxes(cum: NDArray[np.float64], ws: int, wt: int) -> NDArray[np.float64]:
    """Sums over every box of ``ws`` bins × ``wt`` weeks, from prefix sums ``cum`` (data sets
    × (bins+1) × (weeks+1)): four slices, no gathering (the scan's inner loop)."""
    return np.asarray(cum[:, ws:, wt:] - cum[:, :-ws, wt:] - cum[:, ws:, :-wt] + cum[:, :-ws, :-wt])


def _prefix(tables: NDArray[np.float64]) -> NDArray[np.float64]:
    n, s, t = tables.shape
    cum = np.zeros((n, s + 1, t + 1))
    cum[:, 1:, 1:] = tables.cumsum(1).cumsum(2)
    return cum


#: Permuted data sets scanned at once (memory: this × bins × weeks × 8 bytes per array).
BATCH = 100


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
    cells = n_bins * n_weeks
    shapes = [(ws, wt) for ws in range(1, min(max_bins, n_bins) + 1)
              for wt in range(1, min(max_weeks, n_weeks) + 1)]  # fmt: skip

    def tables_of(tt: NDArray[np.intp]) -> NDArray[np.float64]:
        """Tables (data sets × bins × weeks) of rows of weeks ``tt`` (one row per data set)."""
        k = tt.shape[0]
        flat = (np.arange(k)[:, None] * cells + b[None, :] * n_weeks + tt).ravel()
        counts = np.bincount(flat, minlength=k * cells)
        return counts.reshape(k, n_bins, n_weeks).astype(float)

    table = tables_of(t[None, :])[0]
    total = float(table.sum())
    # Expected count of each cylinder under no space-time interaction: (cases in its bins) ×
    # (cases in its weeks) / all cases. The same for every permuted data set (shuffling the
    # weeks among the cases keeps each bin's and each week's total): computed once.
    zc = np.concatenate([[0.0], table.sum(1).cumsum()])
    tc = np.concatenate([[0.0], table.sum(0).cumsum()])
    mu = {
        (ws, wt): (zc[ws:] - zc[:-ws])[:, None] * (tc[wt:] - tc[:-wt])[None, :] / total
        for ws, wt in shapes
    }
    cum = _prefix(table[None])
    llr, where = 0.0, (1, 1, 0, 0)
    for ws, wt in shapes:
        scores = _llr(_boxes(cum, ws, wt)[0], mu[(ws, wt)], total)
        i, j = divmod(int(np.argmax(scores)), scores.shape[1])
        if scores[i, j] > llr:
            llr, where = float(scores[i, j]), (ws, wt, i, j)
    if llr <= 0:
        return None
    rng = np.random.default_rng(seed)
    beaten = 0
    # Batches of permuted data sets at once; per cylinder shape, four slices and one LLR array.
    for start in range(0, permutations, BATCH):
        k = min(BATCH, permutations - start)
        shuffled = rng.permuted(np.broadcast_to(t, (k, len(t))), axis=1)
        cum = _prefix(tables_of(shuffled))
        best = np.zeros(k)
        for ws, wt in shapes:
            np.maximum(best, _llr(_boxes(cum, ws, wt), mu[(ws, wt)], total).max(axis=(1, 2)),
                       out=best)  # fmt: skip
        beaten += int((best >= llr).sum())
    p = (beaten + 1) / (permutations + 1)
    ws, wt, i, j = where
    s0, s1, t0, t1 = i, i + ws - 1, j, j + wt - 1
    observed = int(table[s0 : s1 + 1, t0 : t1 + 1].sum())
    expected = float(table[s0 : s1 + 1].sum() * table[:, t0 : t1 + 1].sum() / table.sum())
    return Cluster(s0, s1, t0, t1, observed, expected, llr, p, p < alpha)
