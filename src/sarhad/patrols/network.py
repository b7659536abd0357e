"""The patrol network: every feasible day-plan of one shift is a path through a layered DAG.

Nodes are ``(i, a, b)``: sector boundary ``i`` and the number of teams side A and side B have
sent out so far from the bases whose areas contain boundary ``i``. From a node a path either
skips sector ``i``, or sends one team over a contiguous stretch of 1..L sectors (side A, side B,
or a coordinated patrol that takes one team from each side over the same stretch). Counters
return to 0 where a base's area ends, so a team never leaves its base's area. The conservation
matrix of this DAG is a network matrix (totally unimodular): every vertex of the flow polytope
is one concrete plan, so any optimal flow decomposes into plans and the path walk of
:class:`PathSampler` reproduces its coverage exactly in expectation (notes/patrols.md).

Sectors marked ``joint`` (both sides rate them high) take coordinated patrols only.
Coverage of a sector is the interdiction effectiveness of the state the path leaves it in:
``π_A`` for side A alone, ``π_B`` for side B alone, ``π_AB`` for a coordinated patrol. On one
sector the model holds one of the three, not two independent patrols of both sides.

Written by hand (on numpy/scipy.sparse) because no library builds security-game patrol
networks; the LP itself is scipy's HiGHS (:func:`sarhad.patrols.game.solve_lp`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import message
from sarhad.patrols.game import Polytope

SKIP, SIDE_A, SIDE_B, JOINT = 0, 1, 2, 3


@dataclass(frozen=True)
class Area:
    """A base's area of responsibility: sectors ``first``..``last`` (0-based, inclusive)."""

    first: int
    last: int
    teams: int  # teams on duty per shift


@dataclass
class Network:
    """The arcs of one shift's DAG (node 0 is the source, ``sink`` the single sink)."""

    n: int
    n_nodes: int
    sink: int
    tail: np.ndarray
    head: np.ndarray
    kind: np.ndarray  # SKIP / SIDE_A / SIDE_B / JOINT
    start: np.ndarray  # first sector of the stretch
    length: np.ndarray  # sectors in the stretch (0 for SKIP)
    team_a: np.ndarray  # index of the team within its base (-1: none)
    team_b: np.ndarray
    area_a: np.ndarray  # index into the side's areas (-1: none)
    area_b: np.ndarray

    @property
    def n_arcs(self) -> int:
        return int(self.tail.size)

    def incidence(self) -> sparse.csr_array:
        """Node × arc: −1 where the arc leaves, +1 where it arrives."""
        cols = np.arange(self.n_arcs)
        data = np.concatenate([-np.ones(self.n_arcs), np.ones(self.n_arcs)])
        return sparse.csr_array(
            (data, (np.concatenate([self.tail, self.head]), np.concatenate([cols, cols]))),
            shape=(self.n_nodes, self.n_arcs),
        )

    def covers(self, kind: int) -> sparse.csr_array:
        """Sector × arc: 1 where an arc of ``kind`` covers the sector."""
        sel = np.flatnonzero(self.kind == kind)
        lengths = self.length[sel]
        arcs = np.repeat(sel, lengths)
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        sectors = np.repeat(self.start[sel], lengths) + offsets
        return sparse.csr_array((np.ones(arcs.size), (sectors, arcs)), shape=(self.n, self.n_arcs))

    def coverage_matrix(self, pi_a: float, pi_b: float, pi_ab: float) -> sparse.csr_array:
        """Sector × arc: the interdiction effectiveness each arc brings to each sector."""
        return sparse.csr_array(
            pi_a * self.covers(SIDE_A) + pi_b * self.covers(SIDE_B) + pi_ab * self.covers(JOINT)
        )

    def source_sink(self) -> np.ndarray:
        b = np.zeros(self.n_nodes)
        b[0], b[self.sink] = -1.0, 1.0
        return b


def _area_index(n: int, areas: Sequence[Area], side: str) -> tuple[np.ndarray, np.ndarray]:
    """Per sector: index of the area holding it (-1: none) and the end (exclusive) of that area."""
    of = np.full(n, -1)
    end = np.zeros(n, dtype=int)
    for k, a in enumerate(areas):
        if not 0 <= a.first <= a.last < n:
            raise InvalidInput(
                FieldError(
                    f"bases.{side}",
                    message(
                        "patrols.area_off_line",
                        "area {first}..{last} is off the line",
                        first=a.first,
                        last=a.last,
                    ),
                )
            )
        if np.any(of[a.first : a.last + 1] >= 0):
            raise InvalidInput(
                FieldError(
                    f"bases.{side}",
                    message("patrols.bases_overlap", "bases of one side may not share sectors"),
                )
            )
        if a.teams < 0:
            raise InvalidInput(
                FieldError(
                    f"bases.{side}",
                    message("patrols.negative_teams", "teams must not be negative"),
                )
            )
        of[a.first : a.last + 1] = k
        end[a.first : a.last + 1] = a.last + 1
    return of, end


def build_network(
    n: int,
    areas_a: Sequence[Area],
    areas_b: Sequence[Area] = (),
    *,
    max_stretch: int,
    joint: np.ndarray | None = None,
) -> Network:
    """The DAG of one shift for ``n`` sectors; ``joint`` marks sectors open to joint patrols."""
    if max_stretch < 1:
        raise InvalidInput(
            FieldError("max_stretch", message("patrols.max_stretch", "must be at least 1 sector"))
        )
    of_a, end_a = _area_index(n, areas_a, "a")
    of_b, end_b = _area_index(n, areas_b, "b")
    teams_a = np.array([a.teams for a in areas_a] + [0])  # index -1 → 0 teams
    teams_b = np.array([a.teams for a in areas_b] + [0])
    reset_a = np.ones(n + 1, dtype=bool)
    reset_a[1:n] = of_a[1:] != of_a[:-1]
    reset_b = np.ones(n + 1, dtype=bool)
    reset_b[1:n] = of_b[1:] != of_b[:-1]
    ok_joint = np.zeros(n, dtype=bool) if joint is None else np.asarray(joint, dtype=bool)
    # Longest joint stretch starting at each sector (consecutive allowed sectors).
    # Longest run of joint (resp. not joint) sectors from each sector: where both sides rate
    # a sector high, the agreed protocol is a mirrored patrol, so one side alone may not take it.
    run = np.zeros(n + 1, dtype=int)
    solo = np.zeros(n + 1, dtype=int)
    for i in range(n - 1, -1, -1):
        run[i] = run[i + 1] + 1 if ok_joint[i] else 0
        solo[i] = solo[i + 1] + 1 if not ok_joint[i] else 0

    ids: dict[tuple[int, int, int], int] = {(0, 0, 0): 0}
    at: list[set[tuple[int, int, int]]] = [set() for _ in range(n + 1)]
    at[0].add((0, 0, 0))
    cols: list[list[int]] = [[] for _ in range(9)]

    def node(start: int, i: int, a: int, b: int) -> int:
        # A side's counter restarts if any boundary of its bases lies in (start, i]: a stretch
        # of one side may cross the other side's base boundary.
        key = (
            i,
            0 if reset_a[start + 1 : i + 1].any() else a,
            0 if reset_b[start + 1 : i + 1].any() else b,
        )
        if key not in ids:
            ids[key] = len(ids)
            at[i].add(key)
        return ids[key]

    def arc(t: int, h: int, kind: int, i: int, ln: int, ta: int, tb: int, aa: int, ab: int) -> None:
        for col, v in zip(cols, (t, h, kind, i, ln, ta, tb, aa, ab), strict=True):
            col.append(v)

    # By sector boundary: arcs only go forward, so every node at boundary i exists (was
    # reached) before i is expanded.
    for i in range(n):
        for key in sorted(at[i]):
            _, a, b = key
            t = ids[key]
            ka, kb = int(of_a[i]), int(of_b[i])
            can_a = ka >= 0 and a < teams_a[ka]
            can_b = kb >= 0 and b < teams_b[kb]
            h = node(i, i + 1, a, b)
            arc(t, h, SKIP, i, 0, -1, -1, -1, -1)
            for ln in range(1, max_stretch + 1):
                j = i + ln
                in_a = can_a and j <= end_a[i]
                in_b = can_b and j <= end_b[i]
                if not (in_a or in_b):
                    break
                if in_a and ln <= solo[i]:
                    arc(t, node(i, j, a + 1, b), SIDE_A, i, ln, a, -1, ka, -1)
                if in_b and ln <= solo[i]:
                    arc(t, node(i, j, a, b + 1), SIDE_B, i, ln, -1, b, -1, kb)
                if in_a and in_b and ln <= run[i]:
                    arc(t, node(i, j, a + 1, b + 1), JOINT, i, ln, a, b, ka, kb)
    tail, head, kind, start, length, ta, tb, aa, ab = (np.array(c, dtype=np.int64) for c in cols)
    return Network(
        n=n,
        n_nodes=len(ids),
        sink=ids[(n, 0, 0)],
        tail=tail,
        head=head,
        kind=kind,
        start=start,
        length=length,
        team_a=ta,
        team_b=tb,
        area_a=aa,
        area_b=ab,
    )


def polytope(
    net: Network,
    shifts: int,
    *,
    pi: tuple[float, float, float] = (1.0, 1.0, 1.0),
    daily_floor: np.ndarray | float = 0.0,
    shift_floor: np.ndarray | float = 0.0,
) -> Polytope:
    """Coverage of ``shifts`` × ``n`` targets (shift-major) by one unit flow per shift.

    ``daily_floor``: least coverage of each sector summed over the day's shifts (one number or
    a vector per sector), so no sector goes unpatrolled for ever. ``shift_floor``: least
    coverage of each sector in every shift (the planner's form: it keeps shifts of equal
    weight interchangeable, so one of them stands for all; see ``planner.plan``).
    """
    inc = net.incidence()
    cov = net.coverage_matrix(*pi)
    c = sparse.block_diag([cov] * shifts, format="csr")
    a_eq = sparse.block_diag([inc] * shifts, format="csr")
    b_eq = np.tile(net.source_sink(), shifts)
    f = np.broadcast_to(np.asarray(daily_floor, dtype=float), (net.n,))
    g = np.broadcast_to(np.asarray(shift_floor, dtype=float), (net.n,))
    blocks: list[sparse.csr_array] = []
    bounds: list[np.ndarray] = []
    if np.any(f > 0):
        rows = np.flatnonzero(f > 0)
        day = sparse.hstack([cov] * shifts, format="csr")
        blocks.append(sparse.csr_array(-day[rows]))
        bounds.append(-f[rows])
    if np.any(g > 0):
        rows = np.flatnonzero(g > 0)
        blocks.append(sparse.block_diag([-cov[rows]] * shifts, format="csr"))
        bounds.append(np.tile(-g[rows], shifts))
    a_ub = sparse.vstack(blocks, format="csr") if blocks else None
    b_ub = np.concatenate(bounds) if bounds else None
    return Polytope(C=c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, lower=0.0, upper=1.0)


class PathSampler:
    """Draw day-plans (paths) with probability proportional to the optimal flow.

    At each node the walk takes an outgoing arc with probability flow(arc) / flow(node); the
    arc frequencies then equal the flow in expectation, so sampled plans reproduce the optimal
    coverage. Vectorised over samples: one ``searchsorted`` per step on keys ``node + cumulative
    probability``.
    """

    def __init__(self, net: Network, flow: np.ndarray) -> None:
        self.net = net
        f = np.clip(np.asarray(flow, dtype=float), 0.0, None)
        out = np.bincount(net.tail, weights=f, minlength=net.n_nodes)
        # A node the LP left (numerically) empty keeps its skip arc, so a walk never stalls.
        empty = out[net.tail] <= 1e-12
        f = np.where(empty & (net.kind == SKIP), 1.0, np.where(empty, 0.0, f))
        out = np.bincount(net.tail, weights=f, minlength=net.n_nodes)
        self.order = np.argsort(net.tail, kind="stable")
        t = net.tail[self.order]
        p = f[self.order] / out[t]
        cum = np.cumsum(p)
        first = np.searchsorted(t, t, side="left")
        base = np.concatenate([[0.0], cum])[first]
        self.keys = t + np.minimum(cum - base, 1.0)
        self.visit = np.bincount(net.tail, weights=np.clip(flow, 0, None), minlength=net.n_nodes)
        self.prob = np.zeros(net.n_arcs)
        self.prob[self.order] = p

    def sample(self, rng: np.random.Generator, k: int) -> list[np.ndarray]:
        """``k`` plans, each as the array of its non-skip arcs."""
        cur = np.zeros(k, dtype=np.int64)
        steps: list[np.ndarray] = []
        while True:
            active = cur != self.net.sink
            if not active.any():
                break
            r = np.minimum(rng.random(k), 1.0 - 1e-9)
            idx = np.searchsorted(self.keys, cur + r, side="right")
            arcs = np.where(active, self.order[np.minimum(idx, self.order.size - 1)], -1)
            steps.append(arcs)
            cur = np.where(active, self.net.head[np.maximum(arcs, 0)], cur)
        if not steps:
            return [np.zeros(0, dtype=np.int64) for _ in range(k)]
        table = np.stack(steps, axis=1)
        keep = (table >= 0) & (self.net.kind[np.maximum(table, 0)] != SKIP)
        return [row[mask] for row, mask in zip(table, keep, strict=True)]

    def arc_counts(self, rng: np.random.Generator, k: int) -> np.ndarray:
        """How often each arc is used over ``k`` sampled plans (for checking marginals)."""
        counts = np.zeros(self.net.n_arcs)
        for plan in self.sample(rng, k):
            np.add.at(counts, plan, 1.0)
        return counts

    def entropy_bits(self) -> float:
        """Entropy of the plan distribution: Σ_nodes P(visit) · H(choice at the node)."""
        p = self.prob
        h = np.where(p > 0, -p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
        per_node = np.bincount(self.net.tail, weights=h, minlength=self.net.n_nodes)
        return float(np.dot(self.visit, per_node))
