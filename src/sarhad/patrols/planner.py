"""The planner: sector risk + bases + shifts → optimal coverage → one sampled day's plan.

Pure and seedable: the same inputs and seed give the same plan on any node, so a seed
published with a coordinated plan lets the partner reproduce it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import Text, message
from sarhad.core.labels import word
from sarhad.patrols.config import BaseConfig, PatrolConfig
from sarhad.patrols.game import Deadline, Game, fill, solve_lp
from sarhad.patrols.network import JOINT, SIDE_A, Area, PathSampler, build_network, polytope

HIGH_LEVELS = frozenset({"high", "critical"})


@dataclass(frozen=True)
class SectorInfo:
    """A sector as the planner sees it."""

    id: str
    start_km: float
    end_km: float


@dataclass(frozen=True)
class Notice:
    """An operation the partner announced (a deconfliction notice), as a stretch and a window."""

    ref: str
    km_from: float
    km_to: float
    valid_from: datetime
    valid_until: datetime
    text: str = ""


@dataclass(frozen=True)
class Patrol:
    """One team (or a coordinated pair) on one stretch in one shift."""

    shift: str
    starts_at: datetime
    ends_at: datetime
    kind: str  # "own" | "partner" | "coordinated"
    base: str | None
    team: str | None
    partner_base: str | None
    partner_team: str | None
    sectors: tuple[str, ...]
    km_from: float
    km_to: float


def _plain_number(x: float) -> int | float:
    """``x`` as a whole number when it is one (``20``, not ``20.0``), for a stored message."""
    return int(x) if float(x).is_integer() else x


@dataclass(frozen=True)
class Conflict:
    """A planned patrol within the buffer of a partner's announced operation."""

    patrol: int  # index into ``PlanResult.patrols``
    notice: str
    distance_km: float
    message: Text


@dataclass
class PlanResult:
    """The optimal coverage, the day's sampled patrols and what to watch out for."""

    day: date
    side: str
    partner_side: str | None
    seed: int
    shifts: list[str]
    sectors: list[SectorInfo]
    risk: np.ndarray
    levels: list[str]
    partner_levels: list[str] | None
    coverage: np.ndarray  # shifts × sectors, interdiction probability
    joint_sectors: list[str]
    attacker_utility: float
    defender_utility: float
    target: tuple[str, str]  # (shift, sector) the watching attacker would pick
    entropy_bits: float
    floor: float
    teams: dict[str, int]  # base → teams per shift
    partner_teams: dict[str, int]
    patrols: list[Patrol] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    #: What the commander should know about the plan, coded (worded where it is shown).
    notes: list[Text] = field(default_factory=list)
    #: Defender utility an optimal plan could still add (0: proven optimal; see game.Solution).
    gap: float = 0.0


@dataclass(frozen=True)
class PlanJob:
    """One plan to solve: :func:`plan`'s keyword arguments, read from the database beforehand.

    Plain data, so it can cross into the process that solves it (``sarhad.patrols.runner``).
    """

    args: dict[str, Any]

    @property
    def config(self) -> PatrolConfig:
        config: PatrolConfig = self.args["config"]
        return config

    def run(self, step: Callable[[str], None] = lambda _msg: None) -> PlanResult:
        """Solve and sample here, in this process."""
        return plan(**self.args, step=step)


def default_seed(day: date, side: str, coordinated: bool) -> int:
    """A seed both nodes can compute: the date, and the side unless the plan is shared."""
    key = f"{day.isoformat()}:{'joint' if coordinated else side}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")


@dataclass(frozen=True)
class TeamRange:
    """How many teams per shift a plan may ask of one side's bases."""

    least: int  # one per base
    most: int | None  # None: no upper bound (the pure planner's own check)
    configured: int  # what the bases have on duty: the default
    held: int  # sectors the bases' areas hold
    cap: int | None  # the node's cap (SARHAD_PATROL_MAX_TEAMS)


def team_range(
    bases: Sequence[BaseConfig], sectors: Sequence[SectorInfo] = (), cap: int | None = None
) -> TeamRange:
    """The teams a plan may ask of ``bases``: at least one per base; at most the node's ``cap``
    (or the configured teams, if more), and never more than the sectors the bases hold, since
    a team patrols at least one sector and a base's teams never share one in a shift. Beyond
    that teams stand idle while the patrol network (and the LP) grows with every one."""
    configured = sum(b.teams for b in bases)
    mids = np.array([(s.start_km + s.end_km) / 2 for s in sectors])
    held = sum(int(((mids >= b.first_km) & (mids < b.last_km)).sum()) for b in bases)
    least = max(1, len(bases))
    most = None if cap is None else max(least, configured, min(held, cap))
    return TeamRange(least, most, configured, held, cap)


def check_teams(teams: int | None, allowed: TeamRange, field_name: str) -> None:
    """InvalidInput naming ``field_name`` when ``teams`` is outside ``allowed``."""
    if teams is None:
        return
    if teams < allowed.least:
        raise InvalidInput(
            FieldError(
                field_name,
                message(
                    "patrols.teams_too_few",
                    "need at least one team per base ({bases} bases)",
                    bases=allowed.least,
                ),
            )
        )
    if allowed.most is not None and teams > allowed.most:
        raise InvalidInput(
            FieldError(
                field_name,
                message(
                    "patrols.teams_too_many",
                    "at most {most} teams per shift: the bases hold {held} sectors "
                    "(a team patrols at least one), {configured} teams are configured and "
                    "this node allows up to {cap} (SARHAD_PATROL_MAX_TEAMS)",
                    most=allowed.most,
                    held=allowed.held,
                    configured=allowed.configured,
                    cap=allowed.cap,
                ),
            ),
            hint=message(
                "patrols.teams_default.hint",
                "leave {field} empty for the configured {teams} teams",
                field=field_name,
                teams=allowed.configured,
            ),
        )


def _scale(bases: list[BaseConfig], teams: int | None, what: str) -> list[int]:
    """Teams per base: as configured, or ``teams`` split in proportion (largest remainder)."""
    configured = [b.teams for b in bases]
    if teams is None:
        return configured
    check_teams(teams, team_range(bases), what)
    weights = np.array(configured, dtype=float)
    weights = np.ones(len(bases)) if weights.sum() == 0 else weights
    spare = teams - len(bases)  # one each first, the rest in proportion
    share = weights / weights.sum() * spare
    out = np.floor(share).astype(int)
    for k in np.argsort(-(share - out), kind="stable")[: spare - int(out.sum())]:
        out[k] += 1
    return [int(v) + 1 for v in out]


@dataclass(frozen=True)
class _Home:
    """A base that holds at least one sector: its network area and its team names."""

    base: BaseConfig
    area: Area
    teams: tuple[str, ...]


def _homes(bases: list[BaseConfig], teams: list[int], sectors: Sequence[SectorInfo]) -> list[_Home]:
    """Bases as network areas, in order (a base whose km range holds no sector drops out)."""
    mids = np.array([(s.start_km + s.end_km) / 2 for s in sectors])
    homes = []
    for b, t in zip(bases, teams, strict=True):
        idx = np.flatnonzero((mids >= b.first_km) & (mids < b.last_km))
        if idx.size:
            names = tuple(f"{b.name}-{k + 1}" for k in range(t))
            homes.append(_Home(b, Area(int(idx[0]), int(idx[-1]), t), names))
    return homes


def plan(
    *,
    day: date,
    side: str,
    sectors: Sequence[SectorInfo],
    risk: np.ndarray,
    levels: Sequence[str],
    config: PatrolConfig,
    teams: int | None = None,
    coordinated: bool = False,
    partner_side: str | None = None,
    partner_levels: Sequence[str] | None = None,
    partner_teams: int | None = None,
    seed: int,
    floor: float = 0.02,
    notices: Sequence[Notice] = (),
    buffer_km: float = 10.0,
    time_limit_s: float | None = None,
    step: Callable[[str], None] = lambda _msg: None,
) -> PlanResult:
    """Plan one day for ``side`` (and, when coordinated, the partner's teams with it).

    ``time_limit_s`` bounds the LPs together (HiGHS' own time limit): past it, SolverFailed.
    """
    deadline = Deadline.after(time_limit_s) if time_limit_s is not None else None
    n, shifts = len(sectors), config.shifts
    notes: list[Text] = []
    own = config.bases_of(side)
    if not own:
        raise InvalidInput(
            FieldError(
                "bases",
                message(
                    "patrols.no_bases",
                    "no patrol bases for side {side} are configured",
                    side=word("side", side),
                ),
            )
        )
    own_teams = _scale(own, teams, "teams")
    homes_a = _homes(own, own_teams, sectors)
    homes_b: list[_Home] = []
    joint = np.zeros(n, dtype=bool)
    partner = config.bases_of(partner_side) if coordinated and partner_side else []
    partner_counts: list[int] = []
    if coordinated:
        if not partner:
            raise InvalidInput(
                FieldError(
                    "coordinated",
                    message(
                        "patrols.no_partner_bases",
                        "no bases of the partner side {side} are known",
                        side=word("side", partner_side),
                    ),
                )
            )
        partner_counts = _scale(partner, partner_teams, "partner_teams")
        homes_b = _homes(partner, partner_counts, sectors)
        if partner_levels is None:
            raise InvalidInput(
                FieldError(
                    "coordinated",
                    message("patrols.no_partner_levels", "the partner's risk levels are needed"),
                )
            )
        joint = np.array(
            [
                a in HIGH_LEVELS and b in HIGH_LEVELS
                for a, b in zip(levels, partner_levels, strict=True)
            ]
        )
        if not joint.any():
            notes.append(
                message(
                    "patrols.note.no_joint",
                    "no sector is rated high by both sides: no coordinated patrols proposed",
                )
            )
    areas_a = [h.area for h in homes_a]
    covered = np.zeros(n, dtype=bool)
    for a in areas_a:
        covered[a.first : a.last + 1] = True
    if not covered.all():
        notes.append(
            message(
                "patrols.note.uncovered",
                "{count} sectors lie outside every base of {side}",
                count=int((~covered).sum()),
                side=word("side", side),
            )
        )

    # Targets are shift × sector; a sector's risk is split over shifts by the shift weights.
    w = np.array([s.weight for s in shifts], dtype=float)
    w = np.ones_like(w) / len(w) if w.sum() == 0 else w / w.sum()
    # Shifts of equal weight are the same game on the same network, and the floor holds in
    # every shift: copying any one shift's flow onto its equals keeps every attacker utility
    # where it was, so an optimal plan exists in which they share one flow. The LP therefore
    # holds one shift per weight (a third of the variables with the default shifts); each
    # shift still draws its own patrols from that flow below.
    weights, group = np.unique(w, return_inverse=True)
    group = np.asarray(group).ravel()
    r = np.asarray(risk, dtype=float)
    background = 0.01 * max(float(r.mean()), 1e-6)  # every sector keeps some risk
    game = Game.from_risk(np.outer(weights, r + background).ravel())
    pi = (config.single, config.single, config.joint) if coordinated else (1.0, 1.0, 1.0)

    step("building the patrol network")
    net = build_network(
        n,
        areas_a,
        [h.area for h in homes_b],
        max_stretch=config.max_stretch,
        joint=joint if coordinated else None,
    )
    # The floor cannot exceed what each base's teams can give its area; halve that capacity.
    # It is held in every shift (its share of the day), which holds it for the day as well.
    f = np.zeros(n)
    for a in areas_a:
        size = a.last - a.first + 1
        cap = a.teams * config.max_stretch * len(shifts) / size * pi[0]
        f[a.first : a.last + 1] = min(floor, 0.5 * cap)
    poly = polytope(net, weights.size, pi=pi, shift_floor=f / len(shifts))
    method = "highs-ipm" if poly.n_vars > 8_000 else "highs"
    step(f"solving the security game ({poly.n_vars:,} flow variables)")
    equilibrium = solve_lp(game, poly, method=method, deadline=deadline)
    solution = fill(game, poly, equilibrium, method=method, deadline=deadline)
    assert solution.x is not None
    coverage = solution.coverage.reshape(weights.size, n)[group]
    if solution.gap > 0:
        notes.append(
            message(
                "patrols.note.gap",
                "the time limit of {limit} s was reached before this plan was proven the best: "
                "it holds the adversary to the least gain any plan can, and the defender's "
                "utility is within {gap} of the best possible",
                limit=_plain_number(time_limit_s or 0.0),
                gap=float(f"{solution.gap:.3g}"),
            )
        )

    step("sampling the day's patrols")
    rng = np.random.default_rng(seed)
    patrols: list[Patrol] = []
    entropy = 0.0
    offset = timedelta(hours=config.offset(side))
    for s_idx, shift in enumerate(shifts):
        g_idx = int(group[s_idx])
        x = solution.x[g_idx * net.n_arcs : (g_idx + 1) * net.n_arcs]
        sampler = PathSampler(net, x)
        entropy += sampler.entropy_bits()
        # Which team takes which stretch is shuffled daily too: "team 1 goes north" is a pattern.
        perm_a = [rng.permutation(len(h.teams)) for h in homes_a]
        perm_b = [rng.permutation(len(h.teams)) for h in homes_b]
        (arcs,) = sampler.sample(rng, 1)
        start = datetime.combine(day, shift.start, tzinfo=UTC) - offset
        end = start + timedelta(hours=shift.hours)
        for arc in arcs:
            kind = int(net.kind[arc])
            first, ln = int(net.start[arc]), int(net.length[arc])
            ids = tuple(s.id for s in sectors[first : first + ln])
            ka, kb = int(net.area_a[arc]), int(net.area_b[arc])
            team_a = homes_a[ka].teams[perm_a[ka][net.team_a[arc]]] if ka >= 0 else None
            team_b = homes_b[kb].teams[perm_b[kb][net.team_b[arc]]] if kb >= 0 else None
            patrols.append(
                Patrol(
                    shift=shift.name,
                    starts_at=start,
                    ends_at=end,
                    kind="coordinated" if kind == JOINT else "own" if kind == SIDE_A else "partner",
                    base=homes_a[ka].base.name if ka >= 0 else None,
                    team=team_a,
                    partner_base=homes_b[kb].base.name if kb >= 0 else None,
                    partner_team=team_b,
                    sectors=ids,
                    km_from=sectors[first].start_km,
                    km_to=sectors[first + ln - 1].end_km,
                )
            )
    t_group, t_sector = divmod(solution.target, n)
    t_shift = int(np.flatnonzero(group == t_group)[0])  # its equals are as attractive
    return PlanResult(
        day=day,
        side=side,
        partner_side=partner_side if coordinated else None,
        seed=int(seed),
        shifts=[s.name for s in shifts],
        sectors=list(sectors),
        risk=r,
        levels=list(levels),
        partner_levels=list(partner_levels) if partner_levels is not None else None,
        coverage=coverage,
        joint_sectors=[sectors[i].id for i in np.flatnonzero(joint)],
        attacker_utility=solution.attacker_utility,
        defender_utility=solution.defender_utility,
        target=(shifts[t_shift].name, sectors[t_sector].id),
        entropy_bits=entropy,
        floor=float(f.max(initial=0.0)),
        teams={b.name: t for b, t in zip(own, own_teams, strict=True)},
        partner_teams={b.name: t for b, t in zip(partner, partner_counts, strict=True)},
        patrols=patrols,
        conflicts=deconflict(patrols, notices, buffer_km=buffer_km),
        notes=notes,
        gap=solution.gap,
    )


def deconflict(
    patrols: Sequence[Patrol], notices: Sequence[Notice], *, buffer_km: float
) -> list[Conflict]:
    """Patrols of ours that come within ``buffer_km`` (along the line) of a partner operation
    announced for an overlapping time."""
    out: list[Conflict] = []
    for k, p in enumerate(patrols):
        if p.kind == "partner":
            continue  # the partner's own teams are the partner's to deconflict
        for nt in notices:
            if nt.valid_until <= p.starts_at or nt.valid_from >= p.ends_at:
                continue
            gap = max(0.0, nt.km_from - p.km_to, p.km_from - nt.km_to)
            if gap <= buffer_km:
                who = p.team or p.partner_team
                out.append(
                    Conflict(
                        patrol=k,
                        notice=nt.ref,
                        distance_km=round(gap, 3),
                        message=message(
                            "patrols.conflict",
                            "{team} ({shift}, km {km_from}–{km_to}) is {gap} km from the "
                            "partner's announced operation at km {op_from}–{op_to} (notice "
                            "{notice}; buffer {buffer} km): coordinate with the partner's liaison",
                            team=who,
                            shift=word("shift", p.shift),
                            # Plain numbers, not ``Number``: the message is stored as JSON,
                            # and ints and floats come back as numbers (the reader's digits).
                            km_from=round(p.km_from),
                            km_to=round(p.km_to),
                            gap=round(gap, 1),
                            op_from=round(nt.km_from),
                            op_to=round(nt.km_to),
                            notice=nt.ref[:8],
                            buffer=_plain_number(buffer_km),
                        ),
                    )
                )
    return out
