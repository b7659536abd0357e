"""Stackelberg security games: the defender commits to coverage, the attacker watches it.

Targets carry four payoffs (Kiekintveld et al., AAMAS 2009): attacker reward if the target is
uncovered (``R^a``) and penalty if covered (``P^a < R^a``), defender reward if covered (``R^d``)
and penalty if uncovered (``P^d < R^d``). With coverage ``c_t`` the attacker gets
``U_a = c P^a + (1 - c) R^a`` and the defender ``U_d = c R^d + (1 - c) P^d``. The solution
concept is the strong Stackelberg equilibrium (SSE): ties are broken in the defender's favour.

Two solvers give the same equilibrium:

* :func:`origami` - the dedicated n log n algorithm for independent targets and m identical
  resources (no schedule constraints). Written by hand because no maintained library solves
  security games (none on PyPI); it is a sort plus prefix sums in numpy.
* :func:`solve_lp` - linear programming with scipy's HiGHS over any coverage polytope given as
  ``c = C x`` with linear constraints on ``x``; the patrol network (contiguous stretches,
  bases, shifts, coordinated patrols) is such a polytope (:mod:`sarhad.patrols.network`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from sarhad.core.errors import FieldError, InvalidInput, SarhadError
from sarhad.core.i18n import Number, Text, message


class SolverFailed(SarhadError):
    """The LP solver stopped without an answer (numerical trouble, a limit): not the user's
    input, so 503 with what to try, instead of an unexplained 500."""

    status_code = 503
    #: The time limit ran out (not numerical trouble): a plan whose equilibrium is already
    #: known then returns the best plan found so far instead (``solve_lp``, ``fill``).
    timed_out: bool = False


def try_smaller() -> Text:
    """What to try when a plan takes too long or too much (the API's 503 and the CLI say it)."""
    return message(
        "patrols.try_smaller",
        "plan with fewer teams (teams, partner_teams) or without coordinated; an administrator "
        "can raise SARHAD_PATROL_TIME_LIMIT_S (and SARHAD_PATROL_MEMORY_MB)",
    )


def out_of_time(limit_s: float | None) -> SolverFailed:
    """The error of a plan that ran past its time limit."""
    exc = SolverFailed(
        message(
            "patrols.out_of_time_limit",
            "the patrol plan could not be solved within the time limit of {limit} s",
            limit=Number(f"{limit_s:g}"),
        )
        if limit_s
        else message("patrols.out_of_time", "the patrol plan could not be solved in time"),
        hint=try_smaller(),
    )
    exc.timed_out = True
    return exc


#: Two attacker utilities closer than this are a tie (payoffs are of order 1-100).
TIE = 1e-9
_HIGHS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


@dataclass(frozen=True)
class Deadline:
    """A time limit shared by the several LPs of one plan (``time.monotonic`` seconds)."""

    at: float
    limit_s: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds, seconds)

    def left(self) -> float:
        """Seconds left; none left is SolverFailed (HiGHS needs a positive limit)."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise out_of_time(self.limit_s)
        return left


@dataclass(frozen=True)
class Game:
    """Payoff vectors of one security game (one entry per target)."""

    attacker_reward: np.ndarray
    attacker_penalty: np.ndarray
    defender_reward: np.ndarray
    defender_penalty: np.ndarray

    def __post_init__(self) -> None:
        arrays = [
            np.asarray(a, dtype=float)
            for a in (
                self.attacker_reward,
                self.attacker_penalty,
                self.defender_reward,
                self.defender_penalty,
            )
        ]
        names = ("attacker_reward", "attacker_penalty", "defender_reward", "defender_penalty")
        for name, a in zip(names, arrays, strict=True):
            object.__setattr__(self, name, a)
            if a.ndim != 1 or a.shape != arrays[0].shape or a.size == 0:
                raise InvalidInput(
                    FieldError(
                        name,
                        message(
                            "patrols.game.vector", "must be a non-empty vector, one per target"
                        ),
                    )
                )
            if not np.all(np.isfinite(a)):
                raise InvalidInput(
                    FieldError(name, message("patrols.game.finite", "must be finite numbers"))
                )
        if np.any(arrays[1] >= arrays[0]):
            raise InvalidInput(
                FieldError(
                    "attacker_penalty",
                    message(
                        "patrols.game.attacker_penalty",
                        "must be below attacker_reward on every target",
                    ),
                )
            )
        if np.any(arrays[3] >= arrays[2]):
            raise InvalidInput(
                FieldError(
                    "defender_penalty",
                    message(
                        "patrols.game.defender_penalty",
                        "must be below defender_reward on every target",
                    ),
                )
            )

    @property
    def n(self) -> int:
        return int(self.attacker_reward.size)

    def attacker_utility(self, coverage: np.ndarray) -> np.ndarray:
        """The attacker's expected payoff for attacking each target."""
        return coverage * self.attacker_penalty + (1 - coverage) * self.attacker_reward

    def defender_utility(self, coverage: np.ndarray) -> np.ndarray:
        """The defender's expected payoff if each target is attacked."""
        return coverage * self.defender_reward + (1 - coverage) * self.defender_penalty

    def with_floor(self, floor: float) -> Game:
        """The game in ``c' = (c - floor) / (1 - floor)``: coverage never drops below ``floor``.

        Every payoff at ``c' = 0`` is the old payoff at ``c = floor``, so solving the new game
        with ``(m - n·floor) / (1 - floor)`` resources solves the old one under the floor.
        """
        return Game(
            self.attacker_utility(np.full(self.n, floor)),
            self.attacker_penalty,
            self.defender_reward,
            self.defender_utility(np.full(self.n, floor)),
        )

    @classmethod
    def from_risk(cls, risk: np.ndarray, *, penalty_ratio: float = 1.0) -> Game:
        """Payoffs from sector risk: what the attacker gains is what the defender loses.

        An uncovered target gives the attacker its risk and costs the defender as much; a
        covered one costs the attacker ``penalty_ratio`` × risk (interdiction, seizure) and
        costs the defender nothing.
        """
        r = np.asarray(risk, dtype=float)
        if np.any(r <= 0):
            raise InvalidInput(
                FieldError(
                    "risk", message("patrols.game.risk", "every target needs a positive risk")
                )
            )
        return cls(r, -penalty_ratio * r, np.zeros_like(r), -r)


@dataclass(frozen=True)
class Solution:
    """A strong Stackelberg equilibrium: coverage, the attacked target and both utilities."""

    coverage: np.ndarray
    target: int
    defender_utility: float
    attacker_utility: float
    #: Targets the attacker is indifferent between (all at ``attacker_utility``).
    attack_set: np.ndarray
    #: The polytope variables behind ``coverage`` (patrol network flows); None for ORIGAMI.
    x: np.ndarray | None = field(default=None, repr=False)
    #: How much more defender utility an SSE could still give (0: proven optimal). Above 0
    #: when the time limit stopped the search after the minimax LP: the attacker is still held
    #: to its least possible utility, but the tie-break in the defender's favour is unproven.
    gap: float = 0.0


def _resources(resources: float, n: int) -> float:
    if not np.isfinite(resources) or resources < 0:
        raise InvalidInput(
            FieldError(
                "resources", message("patrols.game.resources", "must be a non-negative number")
            )
        )
    return float(min(resources, n))


def origami(game: Game, resources: float) -> Solution:
    """The exact SSE for independent targets and ``resources`` identical patrols, n log n.

    Sort targets by attacker reward; cover the top k just enough to bring them down to the
    (k+1)-th reward, growing k while resources last and no target needs more than full
    coverage; then spend what is left lowering the whole attack set evenly.
    """
    m = _resources(resources, game.n)
    ra, pa = game.attacker_reward, game.attacker_penalty
    order = np.argsort(-ra, kind="stable")
    r, p = ra[order], pa[order]
    inv_d = 1.0 / (r - p)
    s1 = np.cumsum(r * inv_d)  # Σ R/D over the top k
    s2 = np.cumsum(inv_d)  # Σ 1/D
    cap = np.maximum.accumulate(p)  # no coverage above 1: x >= max P over the set
    # Coverage needed to bring the top k down to the reward of target k+1.
    need = s1[:-1] - r[1:] * s2[:-1]
    grow = (need <= m + TIE) & (cap[:-1] <= r[1:] + TIE)
    k = int(np.argmin(grow)) if not grow.all() else game.n - 1  # index of the last in the set
    x = max((s1[k] - m) / s2[k], cap[k])
    if k + 1 < game.n:
        x = max(x, r[k + 1])
    coverage = np.clip((ra - x) / (ra - pa), 0.0, 1.0)
    return _best_for_defender(game, coverage)


def _best_for_defender(game: Game, coverage: np.ndarray, x: np.ndarray | None = None) -> Solution:
    """Break the attacker's ties in the defender's favour (the 'strong' in SSE)."""
    ua = game.attacker_utility(coverage)
    best = float(ua.max())
    attack_set = np.flatnonzero(ua >= best - 1e-7 * max(1.0, abs(best)))
    ud = game.defender_utility(coverage)
    target = int(attack_set[np.argmax(ud[attack_set])])
    return Solution(coverage, target, float(ud[target]), best, attack_set, x)


@dataclass(frozen=True)
class Polytope:
    """Feasible coverage ``c = C x`` with ``A_ub x <= b_ub``, ``A_eq x = b_eq``, bounds on x."""

    C: sparse.csr_array
    A_ub: sparse.csr_array | None = None
    b_ub: np.ndarray | None = None
    A_eq: sparse.csr_array | None = None
    b_eq: np.ndarray | None = None
    lower: np.ndarray | float = 0.0
    upper: np.ndarray | float | None = None

    @property
    def n_vars(self) -> int:
        return int(self.C.shape[1])

    @classmethod
    def independent(cls, n: int, resources: float) -> Polytope:
        """Targets covered independently by ``resources`` patrols: Σ c <= m, 0 <= c <= 1."""
        ones = sparse.csr_array(np.ones((1, n)))
        return cls(sparse.eye_array(n, format="csr"), ones, np.array([float(resources)]), upper=1.0)


def _stack(blocks: list[sparse.csr_array | None]) -> sparse.csr_array | None:
    rows = [b for b in blocks if b is not None and b.shape[0]]
    if not rows:
        return None
    return sparse.vstack([sparse.csr_array(b) for b in rows], format="csr")


def _lp(
    cost: np.ndarray,
    poly: Polytope,
    *,
    extra_ub: sparse.csr_array | None = None,
    extra_b: np.ndarray | None = None,
    extra_eq: sparse.csr_array | None = None,
    extra_beq: np.ndarray | None = None,
    extra_bounds: list[tuple[float | None, float | None]],
    method: str,
    deadline: Deadline | None = None,
) -> np.ndarray | None:
    """One HiGHS LP over ``[x, extra vars]``; None when infeasible.

    ``deadline``: HiGHS gets the time left as its ``time_limit``; running out is SolverFailed.
    """
    options = dict(_HIGHS)
    if deadline is not None:
        options["time_limit"] = deadline.left()
    k = len(extra_bounds)

    def widen(a: sparse.csr_array | None) -> sparse.csr_array | None:
        if a is None:
            return None
        return sparse.hstack([a, sparse.csr_array((a.shape[0], k))], format="csr")

    a_ub = _stack([widen(poly.A_ub), extra_ub])
    b_ub = np.concatenate([b for b in (poly.b_ub, extra_b) if b is not None] or [np.zeros(0)])
    a_eq = _stack([widen(poly.A_eq), extra_eq])
    b_eq = np.concatenate([b for b in (poly.b_eq, extra_beq) if b is not None] or [np.zeros(0)])
    lo = np.broadcast_to(np.asarray(poly.lower, dtype=float), (poly.n_vars,))
    hi = (
        np.full(poly.n_vars, np.inf)
        if poly.upper is None
        else np.broadcast_to(np.asarray(poly.upper, dtype=float), (poly.n_vars,))
    )
    bounds = [*zip(lo, hi, strict=True), *extra_bounds]
    res = linprog(
        cost,
        A_ub=a_ub,
        b_ub=b_ub if a_ub is not None else None,
        A_eq=a_eq,
        b_eq=b_eq if a_eq is not None else None,
        bounds=bounds,
        method=method,
        options=options,
    )
    if res.status == 2:  # infeasible
        return None
    if res.status == 1 and deadline is not None:  # iteration or time limit
        raise out_of_time(deadline.limit_s)
    if res.status != 0:
        raise SolverFailed(
            message(
                "patrols.highs_failed",
                "HiGHS could not solve the patrol LP: {why}",
                why=str(res.message),
            ),
            hint=message(
                "patrols.highs_failed.hint",
                "try again with fewer teams or shorter stretches; if it persists, report the "
                "day and the patrol settings",
            ),
        )
    return np.asarray(res.x)


def minimax(
    game: Game, poly: Polytope, *, method: str = "highs", deadline: Deadline | None = None
) -> tuple[float, np.ndarray]:
    """The least possible best attacker utility k* over the polytope, and an x reaching it."""
    n, nv = game.n, poly.n_vars
    d = game.attacker_reward - game.attacker_penalty
    # R_t - D_t (C x)_t <= k  <=>  -D_t C_t x - k <= -R_t
    a = sparse.hstack([-(sparse.diags_array(d) @ poly.C), -np.ones((n, 1))], format="csr")
    cost = np.zeros(nv + 1)
    cost[-1] = 1.0
    sol = _lp(
        cost,
        poly,
        extra_ub=a,
        extra_b=-game.attacker_reward,
        extra_bounds=[(None, None)],
        method=method,
        deadline=deadline,
    )
    if sol is None:
        raise InvalidInput(
            FieldError(
                "plan", message("patrols.infeasible", "the patrol constraints cannot all be met")
            )
        )
    return float(sol[-1]), sol[:-1]


def solve_lp(
    game: Game, poly: Polytope, *, method: str = "highs", deadline: Deadline | None = None
) -> Solution:
    """The SSE over any coverage polytope by linear programming (scipy's HiGHS).

    First the minimax LP gives the attacker's equilibrium utility k*; a target can be the
    attacker's choice only if its reward reaches k*, and its coverage is then at most
    ``(R - k*) / D``, which bounds what the defender can get there. Candidates are tried in
    order of that bound with the LP "maximise U_d(t) such that t is a best response"
    (Conitzer & Sandholm, EC 2006); the first one whose value beats every remaining bound
    wins, so usually one LP suffices.
    """
    kstar, x0 = minimax(game, poly, method=method, deadline=deadline)
    # Past this point a feasible plan is in hand (x0 holds the attacker to k*): running out of
    # time returns the best plan so far with its gap to the bound rather than nothing.
    ra, pa = game.attacker_reward, game.attacker_penalty
    d = ra - pa
    gain = game.defender_reward - game.defender_penalty
    tol = 1e-7 * max(1.0, abs(kstar))
    candidates = np.flatnonzero(ra >= kstar - tol)
    bound = game.defender_penalty + gain * np.clip((ra - kstar) / d, 0, 1)
    candidates = candidates[np.argsort(-bound[candidates], kind="stable")]
    best: tuple[float, np.ndarray] | None = None
    n, nv = game.n, poly.n_vars
    dc = sparse.diags_array(d) @ poly.C
    ub = sparse.hstack([-dc, -np.ones((n, 1))], format="csr")  # U_a(t') <= u, every candidate
    unproven: float | None = None  # the best bound left unexplored when time ran out
    for t in candidates:
        if best is not None and bound[t] <= best[0] + tol:
            break
        # u = U_a(t) = R_t - D_t C_t x;  U_a(t') <= u for all t'.
        eq = sparse.hstack([dc[[t]], np.ones((1, 1))], format="csr")
        cost = np.zeros(nv + 1)
        cost[:nv] = -gain[t] * poly.C[[t]].toarray().ravel()
        try:
            sol = _lp(
                cost,
                poly,
                extra_ub=ub,
                extra_b=-ra,
                extra_eq=eq,
                extra_beq=np.array([ra[t]]),
                extra_bounds=[(None, None)],
                method=method,
                deadline=deadline,
            )
        except SolverFailed as exc:
            if not exc.timed_out:
                raise
            unproven = float(bound[t])
            break
        if sol is None:
            continue
        x = sol[:nv]
        value = float(game.defender_utility(poly.C @ x)[t])
        if best is None or value > best[0]:
            best = (value, x)
    x = x0 if best is None else best[1]
    found = _best_for_defender(game, np.clip(poly.C @ x, 0.0, 1.0), x)
    if unproven is None:
        return found
    return replace(found, gap=max(0.0, unproven - found.defender_utility))


def solve_multiple_lps(game: Game, resources: float) -> Solution:
    """Reference oracle: one LP per target, best feasible one wins (Conitzer & Sandholm).

    Independent of the minimax argument used by :func:`solve_lp` and :func:`origami`; n LPs,
    so for tests on small games only.
    """
    m = _resources(resources, game.n)
    n = game.n
    d = game.attacker_reward - game.attacker_penalty
    gain = game.defender_reward - game.defender_penalty
    best: tuple[float, np.ndarray] | None = None
    for t in range(n):
        # U_a(t') <= U_a(t):  R_t' - D_t' c_t' - R_t + D_t c_t <= 0
        a = -np.diag(d)
        a[:, t] += d[t]
        a = np.vstack([a, np.ones((1, n))])
        b = np.concatenate([game.attacker_reward[t] - game.attacker_reward, [m]])
        cost = np.zeros(n)
        cost[t] = -gain[t]
        res = linprog(cost, A_ub=a, b_ub=b, bounds=(0, 1), method="highs", options=_HIGHS)
        if res.status != 0:
            continue
        value = float(game.defender_utility(res.x)[t])
        if best is None or value > best[0]:
            best = (value, res.x)
    assert best is not None  # covering nothing else always makes the top-reward target feasible
    return _best_for_defender(game, best[1])


def spend_spare(game: Game, solution: Solution, resources: float) -> np.ndarray:
    """Coverage with unused resources added where it cannot move the attacker's choice.

    The SSE can leave resources idle; commanders do not idle teams. Extra coverage goes to
    targets outside the attack set first (highest attacker reward first), never to the
    attacked target's rivals in a way that would lift them above it.
    """
    c = solution.coverage.copy()
    spare = min(float(resources), game.n) - float(c.sum())
    if spare <= 1e-9:
        return c
    outside = np.setdiff1d(np.arange(game.n), solution.attack_set)
    inside = np.setdiff1d(solution.attack_set, [solution.target])
    for group in (outside, inside):
        for t in group[np.argsort(-game.attacker_reward[group], kind="stable")]:
            add = min(1.0 - c[t], spare)
            c[t] += add
            spare -= add
            if spare <= 1e-9:
                return c
    return c


def fill(
    game: Game,
    poly: Polytope,
    solution: Solution,
    *,
    method: str = "highs",
    deadline: Deadline | None = None,
) -> Solution:
    """The same equilibrium with idle patrols put to work (a second-stage LP).

    Keeps the attacked target's coverage and every other target at or below the attacker's
    equilibrium utility (so the attacker's choice and both utilities stay), and among such
    plans takes the one covering the most attacker reward.
    """
    d = game.attacker_reward - game.attacker_penalty
    t, u = solution.target, solution.attacker_utility
    dc = sparse.diags_array(d) @ poly.C
    # U_a(t') <= u  <=>  -D C x <= u - R ;  C_t x = c_t
    slack = 1e-9 * max(1.0, abs(u))
    try:
        sol = _lp(
            -(game.attacker_reward @ poly.C),
            poly,
            extra_ub=sparse.csr_array(-dc),
            extra_b=u + slack - game.attacker_reward,
            extra_eq=sparse.csr_array(poly.C[[t]]),
            extra_beq=np.array([solution.coverage[t]]),
            extra_bounds=[],
            method=method,
            deadline=deadline,
        )
    except SolverFailed as exc:  # out of time: the equilibrium is a plan, idle teams and all
        if not exc.timed_out:
            raise
        return solution
    if sol is None:  # numerically on the edge: the equilibrium itself is a fine answer
        return solution
    c = np.clip(poly.C @ sol, 0.0, 1.0)
    ua = game.attacker_utility(c)
    ud = game.defender_utility(c)
    attack_set = np.flatnonzero(ua >= ua.max() - 1e-7 * max(1.0, abs(u)))
    return Solution(c, t, float(ud[t]), float(ua.max()), attack_set, sol, solution.gap)
