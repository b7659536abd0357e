"""Sector risk from incident history: pure, vectorised, and every score explains itself.

Each incident adds ``severity × decay × kernel_share`` to a sector, where

* ``severity`` = the category's weight + ``per_killed`` × killed + ``per_injured`` × injured,
* ``decay`` = ``2 ** (-age_days / half_life_days)`` (incidents after ``at`` count nothing),
* ``kernel_share`` = the share of a Gaussian kernel (sd = ``bandwidth_km``) centred on the
  incident's km marker that falls inside the sector, the kernel reflected at both ends of the
  line so that no mass is lost there (the shares of one incident over all sectors sum to 1).

The sector's score is that sum times ``30 · ln 2 / half_life_days``: a steady rate of one
weight-1 incident per 30 days, all inside the sector, scores 1. So the unit is
"severity-weighted incidents expected per 30 days in this sector".

>>> from datetime import UTC, datetime
>>> from shapely import LineString
>>> from sarhad.border.model import Sector
>>> line = [Sector(f"S-{i}", i, 10.0 * (i - 1), 10.0 * i, LineString([(0, 0), (1, 1)]))
...         for i in range(1, 11)]
>>> at = datetime(2024, 1, 1, tzinfo=UTC)
>>> hit = IncidentPoint("a", 52.0, at, "armed_attack", killed=1, injured=0, side="PK",
...                     origin="local")
>>> rows = compute_risk([hit], line, at=at, params=RiskParams(), line_length_km=100.0)
>>> [r.sector_id for r in sorted(rows, key=lambda r: -r.score)[:3]]
['S-6', 'S-5', 'S-7']
>>> round(sum(r.score for r in rows) / (30 * math.log(2) / 90), 6)  # severity 3 + 2·1
5.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy.special import ndtr

from sarhad.border.model import Sector
from sarhad.core.config import Settings

LEVELS = ("low", "medium", "high", "critical")

#: Contributions smaller than this share of their sector's score, or than ``ABS_TOL``, are
#: left out of the explanation: the kept ones sum to the score within
#: (number left out) × max(REL_TOL × score, ABS_TOL).
REL_TOL = 1e-9
ABS_TOL = 1e-12

#: Images of the reflected kernel farther than this many bandwidths outside the line carry
#: less than 1e-23 of an incident's mass: they are not computed.
_REACH_SD = 10.0

# Severity weight of one incident by category, before casualties. Why these numbers: the
# unit (1.0) is a narcotics interdiction, the bread-and-butter event of this border. Armed
# attacks, clashes, IEDs and kidnappings threaten life directly and are what cross-border
# alerts are raised for, so they weigh 3. Cross-border fire, attacks on infrastructure and
# weapons smuggling feed that violence: 2. Fuel and goods smuggling are a livelihood trade
# along the Makran and Chagai stretches, frequent and rarely violent: 0.5 and 0.25, so that
# their sheer number does not drown the violent signal. Illegal crossings and protests at a
# closed crossing say something about pressure on a stretch but little about danger: 0.5.
# Deaths and injuries are added on top (``per_killed``, ``per_injured``), so a deadly attack
# outweighs a failed one.
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "armed_attack": 3.0,
        "armed_clash": 3.0,
        "explosion_ied": 3.0,
        "kidnapping": 3.0,
        "cross_border_fire": 2.0,
        "infrastructure_attack": 2.0,
        "smuggling_weapons": 2.0,
        "smuggling_narcotics": 1.0,
        "illegal_crossing": 0.5,
        "crossing_closure_protest": 0.5,
        "smuggling_fuel": 0.5,
        "smuggling_goods": 0.25,
        "other": 1.0,
    }
)


def _default_weights() -> Mapping[str, float]:
    return MappingProxyType(dict(DEFAULT_WEIGHTS))


@dataclass(frozen=True)
class RiskParams:
    """How risk is computed and graded; ``from_settings`` reads the node's ``risk_*`` settings."""

    half_life_days: float = 90.0
    bandwidth_km: float = 10.0
    medium: float = 2.0
    high: float = 5.0
    critical: float = 10.0
    weights: Mapping[str, float] = field(default_factory=_default_weights, hash=False)
    per_killed: float = 2.0
    per_injured: float = 0.5

    def __post_init__(self) -> None:
        if not (self.half_life_days > 0 and self.bandwidth_km > 0):
            raise ValueError("half_life_days and bandwidth_km must be positive")
        if not 0 < self.medium < self.high < self.critical:
            raise ValueError("0 < medium < high < critical must hold")
        if self.per_killed < 0 or self.per_injured < 0 or any(w < 0 for w in self.weights.values()):
            raise ValueError("weights must not be negative")

    @classmethod
    def from_settings(cls, settings: Settings) -> RiskParams:
        """The node's settings; category weights and casualty terms keep their defaults."""
        return cls(
            half_life_days=settings.risk_half_life_days,
            bandwidth_km=settings.risk_bandwidth_km,
            medium=settings.risk_medium,
            high=settings.risk_high,
            critical=settings.risk_critical,
        )

    @property
    def scale(self) -> float:
        """Factor from decayed severity to "weighted incidents per 30 days"."""
        return 30.0 * math.log(2) / self.half_life_days

    def severity(self, category: str, killed: int, injured: int) -> float:
        """Category weight (``other``'s for an unknown category) plus casualty terms."""
        base = self.weights.get(category, self.weights.get("other", 1.0))
        return base + self.per_killed * killed + self.per_injured * injured


@dataclass(frozen=True, slots=True)
class IncidentPoint:
    """Plain data taken from an Incident row (``origin`` as on the row, e.g. ``"local"``)."""

    id: str
    km: float
    occurred_at: datetime
    category: str
    killed: int
    injured: int
    side: str
    origin: str


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one incident adds to one sector's score (``value``, in the score's unit)."""

    incident_id: str
    category: str
    occurred_at: datetime
    km: float
    severity: float  # category weight + casualty terms
    decay: float  # 2 ** (-age_days / half_life)
    kernel_share: float  # share of the incident's kernel mass inside this sector
    value: float  # its part of this sector's score


@dataclass(frozen=True, slots=True)
class SectorRisk:
    """One sector's score, impact level and the incidents behind it (largest first).

    The contributions sum to ``score`` up to the ones left out for being smaller than
    max(``REL_TOL`` × score, ``ABS_TOL``) each.
    """

    sector_id: str
    number: int
    start_km: float
    end_km: float
    score: float
    level: str  # "low" | "medium" | "high" | "critical"
    contributions: Sequence[Contribution]


class Contributions(Sequence[Contribution]):
    """One sector's contributions, largest first, built into objects only when read.

    Why: 50,000 incidents make ~500,000 (incident, sector) pairs, and building them all took
    seconds per risk map, while lists and the map read five per sector. The order and values
    are fixed at construction (numpy arrays); equality is that of the tuple of items.
    """

    __slots__ = ("_decay", "_kept", "_km", "_order", "_severity", "_share", "_value")

    def __init__(
        self,
        kept: Sequence[IncidentPoint],
        order: list[int],
        share: list[float],
        value: list[float],
        km: list[float],
        severity: list[float],
        decay: list[float],
    ) -> None:
        self._kept, self._order, self._share, self._value = kept, order, share, value
        self._km, self._severity, self._decay = km, severity, decay

    def __len__(self) -> int:
        return len(self._order)

    def _make(self, pos: int) -> Contribution:
        i = self._order[pos]
        p = self._kept[i]
        return Contribution(
            incident_id=p.id,
            category=p.category,
            occurred_at=p.occurred_at,
            km=self._km[i],
            severity=self._severity[i],
            decay=self._decay[i],
            kernel_share=self._share[pos],
            value=self._value[pos],
        )

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return tuple(self._make(pos) for pos in range(*index.indices(len(self))))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("contribution index out of range")
        return self._make(index)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]  # compared by value, like a list

    def __repr__(self) -> str:
        return f"Contributions({len(self)} items)"


def impact_level(score: float, params: RiskParams) -> str:
    """low below ``medium``, medium below ``high``, high below ``critical``, else critical.

    >>> [impact_level(s, RiskParams()) for s in (0.0, 2.0, 4.99, 5.0, 10.0)]
    ['low', 'medium', 'medium', 'high', 'critical']
    """
    if score < params.medium:
        return "low"
    if score < params.high:
        return "medium"
    if score < params.critical:
        return "high"
    return "critical"


def kernel_shares(
    km: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    *,
    bandwidth_km: float,
    line_length_km: float,
) -> np.ndarray:
    """Shares (len(km) × len(starts)) of each point's reflected Gaussian in each interval.

    The kernel is folded back at 0 and at ``line_length_km`` (method of images), so over
    intervals that tile the line the shares of one point sum to 1.
    """
    length, sd = float(line_length_km), float(bandwidth_km)
    x = np.clip(np.asarray(km, dtype=float), 0.0, length)
    edges, inverse = np.unique(np.concatenate([starts, ends]), return_inverse=True)
    cdf = np.zeros((x.size, edges.size))
    lo, hi = -_REACH_SD * sd, length + _REACH_SD * sd
    # Images of x: x + 2kL and -x + 2kL. Those wholly outside [lo, hi] add nothing.
    k_max = 1 + math.ceil(_REACH_SD * sd / (2 * length)) if length > 0 else 1
    for k in range(-k_max, k_max + 1):
        for sign in (1.0, -1.0):
            image = sign * x + 2 * k * length
            if x.size and (image.max() < lo or image.min() > hi):
                continue
            cdf += ndtr((edges[None, :] - image[:, None]) / sd)
    m = len(starts)
    return cdf[:, inverse[m:]] - cdf[:, inverse[:m]]


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _values(
    kms: Sequence[float],
    occurred: Sequence[datetime],
    kinds: Sequence[tuple[str, int, int]],
    sectors: Sequence[Sector],
    *,
    at: datetime,
    params: RiskParams,
    line_length_km: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The one score formula (``compute_risk`` and ``sector_scores``): for incidents at
    ``kms``, ``occurred`` (not after ``at``), of ``kinds`` (category, killed, injured), their
    km, severity, decay, kernel shares and values (incidents × sectors)."""
    starts = np.array([s.start_km for s in sectors], dtype=float)
    ends = np.array([s.end_km for s in sectors], dtype=float)
    age_days = np.array([(at - _aware(t)).total_seconds() / 86400.0 for t in occurred], dtype=float)
    decay = np.exp2(-age_days / params.half_life_days)
    severity = np.array([params.severity(c, k, i) for c, k, i in kinds], dtype=float)
    km = np.array(kms, dtype=float)
    share = kernel_shares(
        km, starts, ends, bandwidth_km=params.bandwidth_km, line_length_km=line_length_km
    )
    values = (params.scale * severity * decay)[:, None] * share  # incidents × sectors
    return km, severity, decay, share, values


def sector_scores(
    kms: Sequence[float],
    occurred: Sequence[datetime],
    kinds: Sequence[tuple[str, int, int]],
    sectors: Sequence[Sector],
    *,
    at: datetime,
    params: RiskParams,
    line_length_km: float,
) -> list[float]:
    """Each sector's score, as :func:`compute_risk` gives it, without the contributions
    (what the monthly report's map needs: the level of each sector, not why)."""
    at = _aware(at)
    keep = [n for n, t in enumerate(occurred) if _aware(t) <= at]
    if len(keep) < len(occurred):
        kms = [kms[n] for n in keep]
        occurred = [occurred[n] for n in keep]
        kinds = [kinds[n] for n in keep]
    *_, values = _values(
        kms, occurred, kinds, sectors, at=at, params=params, line_length_km=line_length_km
    )
    return [float(x) for x in values.sum(axis=0)]


def compute_risk(
    points: Sequence[IncidentPoint],
    sectors: Sequence[Sector],
    *,
    at: datetime,
    params: RiskParams,
    line_length_km: float,
) -> list[SectorRisk]:
    """The risk of each of ``sectors`` at time ``at`` (naive means UTC), in their order.

    Incidents after ``at`` are ignored. Each sector's contributions are sorted largest first
    (ties by incident id); those below max(``REL_TOL`` × score, ``ABS_TOL``) are left out, so
    the kept ones sum to the score within (number left out) × that bound.
    """
    at = _aware(at)
    kept = [p for p in points if _aware(p.occurred_at) <= at]
    km, severity, decay, share, values = _values(
        [p.km for p in kept],
        [p.occurred_at for p in kept],
        [(p.category, p.killed, p.injured) for p in kept],
        sectors, at=at, params=params, line_length_km=line_length_km,
    )  # fmt: skip
    scores = values.sum(axis=0)
    # Ties are broken by incident id, so the order never depends on the input's order.
    id_rank = np.argsort(np.argsort(np.array([p.id for p in kept], dtype=object)))
    km_l, severity_l, decay_l = km.tolist(), severity.tolist(), decay.tolist()
    result = []
    for j, sector in enumerate(sectors):
        score = float(scores[j])
        column = values[:, j]
        idx = np.flatnonzero(column >= max(REL_TOL * score, ABS_TOL))
        order = idx[np.lexsort((id_rank[idx], -column[idx]))]
        contributions = Contributions(
            kept, order.tolist(), share[order, j].tolist(), column[order].tolist(),
            km_l, severity_l, decay_l,
        )  # fmt: skip
        result.append(
            SectorRisk(
                sector_id=sector.id,
                number=sector.number,
                start_km=sector.start_km,
                end_km=sector.end_km,
                score=score,
                level=impact_level(score, params),
                contributions=contributions,
            )
        )
    return result


def level_counts(rows: Sequence[SectorRisk]) -> dict[str, int]:
    """How many sectors sit at each level, every level present (for summaries)."""
    counts = dict.fromkeys(LEVELS, 0)
    for r in rows:
        counts[r.level] += 1
    return counts
