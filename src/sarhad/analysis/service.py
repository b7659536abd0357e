"""Sector risk from stored incidents: read the rows, call the pure ``risk`` module, export.

Counted: incidents that are not drafts and not revoked, placed with this node's border
profile, that happened at or before ``at`` and lie within ``within_km`` of the line; a
partner's record confirmed as the twin of one of ours counts once, as ours.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import takewhile
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from sarhad.analysis.risk import (
    Contribution,
    IncidentPoint,
    RiskParams,
    SectorRisk,
    compute_risk,
    impact_level,
    level_counts,
    sector_scores,
)
from sarhad.border import BorderProfile
from sarhad.core.db import utcnow
from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import message
from sarhad.core.memo import HeadMemo
from sarhad.incidents import links
from sarhad.incidents.models import Incident
from sarhad.incidents.taxonomy import Status

ORIGINS = ("all", "local", "partner")

#: Incidents farther from the line than this are left out by default. Why: ``locate`` gives
#: every point a km marker, even one 1,000 km inland (UCDP rows from Quetta or Peshawar all
#: land on the same vertex of the line); those say nothing about a border sector.
DEFAULT_WITHIN_KM = 50.0

#: A contribution of at least this share of its sector's score counts among the sector's
#: "incidents" in tables and exports (smaller ones stay in the full explanation).
MATERIAL_SHARE = 0.01

#: Top contributions shown per sector in lists and GeoJSON (the explanation shows all).
TOP_CONTRIBUTIONS = 5


def parse_at(text: str | None) -> datetime | None:
    """An ISO date or date-time; a bare date is 00:00 that day and no zone means UTC."""
    if text is None or not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            FieldError(
                "at",
                message(
                    "analysis.bad_at", "{text} is not an ISO date or date-time", text=repr(text)
                ),
            ),
            hint=message("analysis.bad_at.hint", "write e.g. 2024-03-31 or 2024-03-31T18:00:00Z"),
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _origin_clause(origin: str | None) -> ColumnElement[bool] | None:
    # Received records carry the originator's node id; ours (typed in or imported) do not.
    if origin in (None, "all"):
        return None
    if origin == "local":
        return Incident.origin_node_id.is_(None)
    if origin == "partner":
        return Incident.origin_node_id.is_not(None)
    raise InvalidInput(
        FieldError(
            "origin",
            message(
                "analysis.bad_origin", "{origin}: use all, local or partner", origin=repr(origin)
            ),
        )
    )


def _counted(
    profile: BorderProfile,
    at: datetime,
    origin: str | None,
    within_km: float | None,
    *,
    drafts: bool = False,
) -> list[ColumnElement[bool]]:
    """The rows that count (or, with ``drafts``, the drafts that would count if submitted)."""
    draft = Incident.status == Status.DRAFT.value
    where = [
        draft if drafts else ~draft,
        Incident.revoked.is_(False),
        Incident.profile_id == profile.id,  # km markers of another line mean nothing here
        Incident.km.is_not(None),  # marked far from the line: no km marker, no sector risk
        Incident.occurred_at <= at,
    ]
    if within_km is not None:
        if within_km < 0:
            raise InvalidInput(
                FieldError("within_km", message("error.not_negative", "must be 0 or more"))
            )
        where.append(Incident.distance_m <= within_km * 1000.0)
    clause = _origin_clause(origin)
    if clause is not None:
        where.append(clause)
    else:
        where.append(~links.confirmed_twin())
    return where


def load_points(
    session: Session,
    *,
    profile: BorderProfile,
    at: datetime,
    origin: str | None = None,
    within_km: float | None = DEFAULT_WITHIN_KM,
) -> list[IncidentPoint]:
    """The incidents that count towards risk at ``at``, as plain points."""
    killed = Incident.sf_killed + Incident.civ_killed + Incident.asl_killed
    injured = Incident.sf_injured + Incident.civ_injured + Incident.asl_injured
    rows = session.execute(
        select(
            Incident.id,
            Incident.km,
            Incident.occurred_at,
            Incident.category,
            killed,
            injured,
            Incident.side,
            Incident.origin,
        ).where(*_counted(profile, at, origin, within_km))
    ).all()
    return [
        IncidentPoint(
            id=r[0],
            km=float(r[1]),
            occurred_at=r[2],
            category=r[3],
            killed=int(r[4] or 0),
            injured=int(r[5] or 0),
            side=r[6],
            origin=r[7],
        )
        for r in rows
    ]


def sector_risk(
    session: Session,
    *,
    profile: BorderProfile,
    params: RiskParams,
    at: datetime | None = None,
    origin: str | None = None,
    within_km: float | None = DEFAULT_WITHIN_KM,
) -> list[SectorRisk]:
    """Every sector's risk at ``at`` (default now), in line order.

    ``origin``: None or "all" every incident (a partner's record confirmed as the same event
    as ours counts once, as ours), "local" only this node's (typed in or imported),
    "partner" only those received from partners.
    """
    at = at or utcnow()
    points = load_points(session, profile=profile, at=at, origin=origin, within_km=within_km)
    return compute_risk(
        points, profile.sectors, at=at, params=params, line_length_km=profile.length_km
    )


def sector_levels(
    session: Session,
    *,
    profile: BorderProfile,
    params: RiskParams,
    at: datetime,
    within_km: float | None = DEFAULT_WITHIN_KM,
) -> dict[str, str]:
    """Sector id → impact level at ``at``, every incident counted (``origin`` all): the levels
    :func:`sector_risk` gives, without reading each incident into a point or sorting each
    sector's contributions (the monthly report colours its map with them: about a second at
    50,000 incidents, docs/benchmarks.md)."""
    killed = Incident.sf_killed + Incident.civ_killed + Incident.asl_killed
    injured = Incident.sf_injured + Incident.civ_injured + Incident.asl_injured
    rows = session.execute(
        select(Incident.km, Incident.occurred_at, Incident.category, killed, injured).where(
            *_counted(profile, at, None, within_km)
        )
    ).all()
    scores = sector_scores(
        [float(r[0]) for r in rows],
        [r[1] for r in rows],
        [(r[2], int(r[3] or 0), int(r[4] or 0)) for r in rows],
        profile.sectors,
        at=at,
        params=params,
        line_length_km=profile.length_km,
    )
    return {
        s.id: impact_level(score, params) for s, score in zip(profile.sectors, scores, strict=True)
    }


#: How long risk "now" is reused while no record changes: the decay over a minute is a few
#: millionths of a score (90-day half-life), far below what any level or chart shows.
NOW_REUSE_S = 60.0
_risk_now: HeadMemo[tuple[datetime, list[SectorRisk]]] = HeadMemo(size=8, max_age_s=NOW_REUSE_S)


def sector_risk_now(
    session: Session,
    *,
    profile: BorderProfile,
    params: RiskParams,
    origin: str | None = None,
    within_km: float | None = DEFAULT_WITHIN_KM,
) -> tuple[datetime, list[SectorRisk]]:
    """``sector_risk`` at the current moment: (the moment, the rows).

    Reused for up to ``NOW_REUSE_S`` while the change log stands still, so the map of every
    officer who opens the console does not recompute it over every incident.
    """

    def compute() -> tuple[datetime, list[SectorRisk]]:
        at = utcnow()
        rows = sector_risk(
            session, profile=profile, params=params, at=at, origin=origin, within_km=within_km
        )
        return at, rows

    return _risk_now.get(session, ("risk", profile.id, params, origin, within_km), compute)


def explain(
    session: Session,
    *,
    profile: BorderProfile,
    params: RiskParams,
    sector_id: str,
    at: datetime | None = None,
    origin: str | None = None,
    within_km: float | None = DEFAULT_WITHIN_KM,
) -> SectorRisk:
    """One sector's risk with every contributing incident; ``NotFound`` for an unknown id."""
    sector = profile.sector(sector_id)
    at = at or utcnow()
    points = load_points(session, profile=profile, at=at, origin=origin, within_km=within_km)
    (row,) = compute_risk(points, [sector], at=at, params=params, line_length_km=profile.length_km)
    return row


def uncounted_drafts(
    session: Session,
    *,
    profile: BorderProfile,
    at: datetime,
    origin: str | None = None,
    within_km: float | None = DEFAULT_WITHIN_KM,
) -> int:
    """How many drafts would count if submitted (imports arrive as drafts: worth telling)."""
    where = _counted(profile, at, origin, within_km, drafts=True)
    return int(session.scalar(select(func.count()).select_from(Incident).where(*where)) or 0)


def suggested_pairs(
    session: Session,
    *,
    profile: BorderProfile,
    at: datetime,
    origin: str | None = None,
    within_km: float | None = DEFAULT_WITHIN_KM,
) -> int:
    """Pairs among the counted incidents that are only suggested as one event: until an
    officer confirms them each weighs as two (links.count_once)."""
    where = _counted(profile, at, origin, within_km)
    return links.count_once(session, where).suggested_pairs


# --- plain forms for JSON, CSV and GeoJSON ------------------------------------------------


def share_of_score(c: Contribution, score: float) -> float:
    """The contribution's part of the score (0 when the score is 0)."""
    return c.value / score if score > 0 else 0.0


def material(row: SectorRisk) -> list[Contribution]:
    """The contributions of at least ``MATERIAL_SHARE`` of the score."""
    # Largest first: stop at the first immaterial one instead of reading them all.
    return list(
        takewhile(lambda c: share_of_score(c, row.score) >= MATERIAL_SHARE, row.contributions)
    )


def contribution_dict(c: Contribution, score: float) -> dict[str, Any]:
    """One contribution as JSON-ready values."""
    return {
        "incident_id": c.incident_id,
        "category": c.category,
        "occurred_at": c.occurred_at.isoformat(),
        "km": c.km,
        "severity": c.severity,
        "decay": c.decay,
        "kernel_share": c.kernel_share,
        "value": c.value,
        "share_of_score": share_of_score(c, score),
    }


def risk_dict(row: SectorRisk, *, top: int | None = TOP_CONTRIBUTIONS) -> dict[str, Any]:
    """One sector as JSON-ready values, with its ``top`` contributions (None: all)."""
    shown = row.contributions if top is None else row.contributions[:top]
    return {
        "sector_id": row.sector_id,
        "number": row.number,
        "start_km": row.start_km,
        "end_km": row.end_km,
        "score": row.score,
        "level": row.level,
        "incidents": len(material(row)),
        "contributions": [contribution_dict(c, row.score) for c in shown],
    }


def params_dict(params: RiskParams) -> dict[str, Any]:
    """The parameters a result was computed with (so a reader can reproduce it)."""
    return {
        "half_life_days": params.half_life_days,
        "bandwidth_km": params.bandwidth_km,
        "thresholds": {"medium": params.medium, "high": params.high, "critical": params.critical},
        "weights": dict(params.weights),
        "per_killed": params.per_killed,
        "per_injured": params.per_injured,
        "unit": "severity-weighted incidents expected per 30 days in the sector",
    }


def report(
    rows: Sequence[SectorRisk],
    *,
    at: datetime,
    origin: str | None,
    params: RiskParams,
    within_km: float | None,
    top: int | None = TOP_CONTRIBUTIONS,
) -> dict[str, Any]:
    """The whole line as JSON: when, with what, level counts and each sector."""
    return {
        "at": at.isoformat(),
        "origin": origin or "all",
        "within_km": within_km,
        "params": params_dict(params),
        "levels": level_counts(rows),
        "items": [risk_dict(r, top=top) for r in rows],
    }


CSV_COLUMNS = (
    "sector_id",
    "number",
    "start_km",
    "end_km",
    "score",
    "level",
    "incidents",
    "top_incident_id",
    "top_share",
)


def risk_csv(rows: Sequence[SectorRisk]) -> str:
    """One line per sector; ``incidents`` counts contributions of at least 1 % of the score,
    ``top_share`` is the largest contribution's share of the score."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        top = r.contributions[0] if r.contributions else None
        writer.writerow(
            [
                r.sector_id,
                r.number,
                f"{r.start_km:.3f}",
                f"{r.end_km:.3f}",
                f"{r.score:.6f}",
                r.level,
                len(material(r)),
                top.incident_id if top else "",
                f"{share_of_score(top, r.score):.4f}" if top else "",
            ]
        )
    return buf.getvalue()


# RFC 7946 §11.2: six decimals (~0.1 m) is more than the line's own precision.
_DECIMALS = 6


def risk_geojson(rows: Sequence[SectorRisk], profile: BorderProfile) -> dict[str, Any]:
    """A FeatureCollection: one LineString per sector with its score, level and top incidents."""
    features = []
    for r in rows:
        geom = profile.sector(r.sector_id).geometry
        props = risk_dict(r, top=TOP_CONTRIBUTIONS)
        props["top_contributions"] = props.pop("contributions")
        features.append(
            {
                "type": "Feature",
                "id": r.sector_id,
                "geometry": {
                    "type": "LineString",
                    "coordinates": [
                        [round(x, _DECIMALS), round(y, _DECIMALS)] for x, y in geom.coords
                    ],
                },
                "properties": props,
            }
        )
    return {"type": "FeatureCollection", "features": features}
