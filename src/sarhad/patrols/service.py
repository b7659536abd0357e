"""Patrol service functions: make a day's plan, store it, read it, export it."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

import numpy as np
from shapely import LineString, MultiLineString, line_merge
from shapely.geometry import mapping
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from sarhad.border import BorderProfile
from sarhad.core.auth import Permission, Principal
from sarhad.core.config import Settings
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.errors import FieldError, InvalidInput, NotFound
from sarhad.core.feed import in_batches
from sarhad.core.i18n import Text, from_json, message
from sarhad.core.journal import record
from sarhad.patrols.config import PatrolConfig, load_patrol_config
from sarhad.patrols.models import PatrolAssignment, PatrolPlan
from sarhad.patrols.planner import (
    PlanJob,
    PlanResult,
    SectorInfo,
    TeamRange,
    check_teams,
    default_seed,
    team_range,
)
from sarhad.patrols.ports import PatrolPorts


def patrol_config(settings: Settings, profile: BorderProfile) -> PatrolConfig:
    """This node's bases and shifts (or the defaults) for ``profile``."""
    return load_patrol_config(settings, profile.sides, profile.length_km)


def _other_side(profile: BorderProfile, side: str) -> str | None:
    others = [s for s in profile.sides if s != side]
    return others[0] if others else None


@dataclass(frozen=True)
class PlanBounds:
    """What a plan may ask for on this node: its day and the teams per shift of each side."""

    first_day: date
    last_day: date
    teams: TeamRange
    partner_teams: TeamRange | None  # None: the partner's side has no bases here
    time_limit_s: float


def plan_bounds(
    settings: Settings,
    profile: BorderProfile,
    *,
    config: PatrolConfig | None = None,
    today: date | None = None,
) -> PlanBounds:
    """The days and teams a plan may ask for: days from ``patrol_days_back`` before today to
    ``patrol_days_ahead`` after it (UTC); teams from the bases (``planner.team_range``)."""
    config = config or patrol_config(settings, profile)
    today = today or utcnow().date()
    sectors = [SectorInfo(s.id, s.start_km, s.end_km) for s in profile.sectors]
    cap = settings.patrol_max_teams
    partner = _other_side(profile, settings.node_side)
    partner_bases = config.bases_of(partner) if partner else []
    return PlanBounds(
        first_day=today - timedelta(days=settings.patrol_days_back),
        last_day=today + timedelta(days=settings.patrol_days_ahead),
        teams=team_range(config.bases_of(settings.node_side), sectors, cap),
        partner_teams=team_range(partner_bases, sectors, cap) if partner_bases else None,
        time_limit_s=settings.patrol_time_limit_s,
    )


def bounds_dict(bounds: PlanBounds) -> dict[str, Any]:
    """The bounds as JSON-ready data (``GET /api/v1/patrols/config``, ``patrols config``)."""

    def teams(r: TeamRange | None) -> dict[str, int | None] | None:
        return None if r is None else {"least": r.least, "most": r.most, "default": r.configured}

    return {
        "first_day": bounds.first_day.isoformat(),
        "last_day": bounds.last_day.isoformat(),
        "teams": teams(bounds.teams),
        "partner_teams": teams(bounds.partner_teams),
        "time_limit_s": bounds.time_limit_s,
    }


def check_plan(
    bounds: PlanBounds,
    *,
    day: date,
    teams: int | None,
    coordinated: bool,
    partner_teams: int | None,
) -> None:
    """InvalidInput naming every field outside ``bounds`` (``day``, ``teams``,
    ``partner_teams``), before anything is read or solved."""
    errors: list[FieldError] = []
    hints: list[Text] = []
    if not bounds.first_day <= day <= bounds.last_day:
        errors.append(
            FieldError(
                "day",
                message(
                    "patrols.day_range",
                    "plan a day from {first} to {last} "
                    "(SARHAD_PATROL_DAYS_BACK before today to SARHAD_PATROL_DAYS_AHEAD after it)",
                    first=bounds.first_day.isoformat(),
                    last=bounds.last_day.isoformat(),
                ),
            )
        )
    checks = [("teams", teams, bounds.teams)]
    if coordinated and bounds.partner_teams is not None:  # without bases: the planner says so
        checks.append(("partner_teams", partner_teams, bounds.partner_teams))
    for name, value, allowed in checks:
        try:
            check_teams(value, allowed, name)
        except InvalidInput as exc:
            errors.extend(exc.errors)
            hints.extend([exc.hint_text] if exc.hint_text is not None else [])
    if errors:
        hint: Text | None = hints[0] if len(hints) == 1 else None
        if len(hints) > 1:
            hint = message("patrols.hints", "{first}; {second}", first=hints[0], second=hints[1])
        raise InvalidInput(errors, hint=hint)


def prepare_plan(
    session: Session,
    *,
    profile: BorderProfile,
    settings: Settings,
    ports: PatrolPorts,
    day: date,
    actor: Principal,
    teams: int | None = None,
    coordinated: bool = False,
    partner_teams: int | None = None,
    seed: int | None = None,
    step: Callable[[str], None] = lambda _msg: None,
) -> PlanJob:
    """Check the request against this node's bounds and read what planning ``day`` needs
    (risk, the partner's notices): the job to solve, here or in a child process."""
    actor.require(Permission.PATROLS_PLAN)
    side = settings.node_side
    if side not in profile.sides:
        raise InvalidInput(
            FieldError(
                "node_side",
                message("patrols.not_a_side", "{side} is not a side of this border", side=side),
            )
        )
    config = patrol_config(settings, profile)
    check_plan(
        plan_bounds(settings, profile, config=config),
        day=day,
        teams=teams,
        coordinated=coordinated,
        partner_teams=partner_teams,
    )
    partner = _other_side(profile, side)
    # Risk as known now; for a past day, as it was known at the end of that day.
    day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)
    at = min(utcnow(), day_end)
    step("computing sector risk")
    risk = ports.risk(session, at, None)
    ids = [s.id for s in profile.sectors]
    partner_levels = None
    ours = risk
    if coordinated:
        ours = ports.risk(session, at, "local")
        theirs = ports.risk(session, at, "partner")
        partner_levels = [theirs.levels[i] for i in ids]
    window_start = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=12)
    notices = ports.notices(session, window_start, day_end + timedelta(hours=12))
    return PlanJob(
        {
            "day": day,
            "side": side,
            "sectors": [SectorInfo(s.id, s.start_km, s.end_km) for s in profile.sectors],
            "risk": np.array([risk.scores[i] for i in ids]),
            "levels": [ours.levels[i] for i in ids],
            "config": config,
            "teams": teams,
            "coordinated": coordinated,
            "partner_side": partner,
            "partner_levels": partner_levels,
            "partner_teams": partner_teams,
            "seed": default_seed(day, side, coordinated) if seed is None else seed,
            "floor": settings.patrol_floor,
            "notices": notices,
            "buffer_km": settings.patrol_buffer_km,
            "time_limit_s": settings.patrol_time_limit_s,
        }
    )


class Solver(Protocol):
    """Something that solves a job away from the caller (``runner.PlanRunner``)."""

    def run_sync(self, job: PlanJob, *, step: Callable[[str], None]) -> PlanResult: ...


def make_plan(
    session: Session,
    *,
    profile: BorderProfile,
    settings: Settings,
    ports: PatrolPorts,
    day: date,
    actor: Principal,
    teams: int | None = None,
    coordinated: bool = False,
    partner_teams: int | None = None,
    seed: int | None = None,
    step: Callable[[str], None] = lambda _msg: None,
    solver: Solver | None = None,
) -> PatrolPlan:
    """Plan ``day`` for this node's side from current risk, store and return the plan.

    ``solver`` solves in a child process that its limits can stop (the CLI); without it the
    plan is solved here, bounded by HiGHS' time limit only (tests, scripts).
    """
    job = prepare_plan(
        session,
        profile=profile,
        settings=settings,
        ports=ports,
        day=day,
        actor=actor,
        teams=teams,
        coordinated=coordinated,
        partner_teams=partner_teams,
        seed=seed,
        step=step,
    )
    result = solver.run_sync(job, step=step) if solver is not None else job.run(step=step)
    step("saving the plan")
    return store_plan(session, result=result, actor=actor, config=job.config, settings=settings)


def store_plan(
    session: Session,
    *,
    result: PlanResult,
    actor: Principal,
    config: PatrolConfig,
    settings: Settings,
) -> PatrolPlan:
    """Write a plan with its patrols, a change-log row and an audit entry."""
    lock_writes(session)
    r = result
    plan_row = PatrolPlan(
        id=str(uuid.uuid4()),
        day=r.day,
        side=r.side,
        partner_side=r.partner_side,
        coordinated=r.partner_side is not None,
        seed=r.seed,
        teams=r.teams,
        partner_teams=r.partner_teams,
        summary={
            "attacker_utility": r.attacker_utility,
            "defender_utility": r.defender_utility,
            "target": {"shift": r.target[0], "sector": r.target[1]},
            "entropy_bits": r.entropy_bits,
            "floor": r.floor,
            "shifts": r.shifts,
            "joint_sectors": r.joint_sectors,
            # English for the API's readers as before; the codes word them for each reader.
            "notes": [str(n) for n in r.notes],
            "note_codes": [n.as_json() for n in r.notes],
            "gap": r.gap,
            "max_stretch": config.max_stretch,
            "config": config.source,
            "buffer_km": settings.patrol_buffer_km,
            "effectiveness": {"single": config.single, "joint": config.joint},
        },
        sectors=[
            {
                "sector_id": s.id,
                "risk": round(float(r.risk[k]), 6),
                "level": r.levels[k],
                "partner_level": r.partner_levels[k] if r.partner_levels else None,
                "coverage": [round(float(v), 6) for v in r.coverage[:, k]],
            }
            for k, s in enumerate(r.sectors)
        ],
        conflicts=[
            {
                "patrol": c.patrol,
                "notice": c.notice,
                "distance_km": c.distance_km,
                "message": str(c.message),
                "message_code": c.message.as_json(),
            }
            for c in r.conflicts
        ],
        created_at=utcnow(),
        created_by=actor.username,
    )
    plan_row.patrols = [
        PatrolAssignment(
            position=k,
            shift=p.shift,
            starts_at=p.starts_at,
            ends_at=p.ends_at,
            kind=p.kind,
            base=p.base,
            team=p.team,
            partner_base=p.partner_base,
            partner_team=p.partner_team,
            sectors=list(p.sectors),
            km_from=p.km_from,
            km_to=p.km_to,
        )
        for k, p in enumerate(r.patrols)
    ]
    session.add(plan_row)
    session.flush()
    record(
        session,
        actor=actor.username,
        op="planned",
        entity="patrol_plan",
        entity_id=plan_row.id,
        version=1,
        detail={
            "day": r.day.isoformat(),
            "coordinated": plan_row.coordinated,
            "seed": r.seed,
            "patrols": len(r.patrols),
            "conflicts": len(r.conflicts),
        },
    )
    return plan_row


def get_plan(session: Session, *, plan_id: str) -> PatrolPlan:
    """The plan whose id is ``plan_id`` or starts with it (as lists show them)."""
    row = session.get(PatrolPlan, plan_id, options=[selectinload(PatrolPlan.patrols)])
    if row is not None:
        return row
    rows = list(
        session.scalars(
            select(PatrolPlan)
            .where(PatrolPlan.id.like(f"{plan_id}%"))
            .options(selectinload(PatrolPlan.patrols))
            .limit(2)
        )
    )
    if len(rows) != 1:
        raise NotFound(
            message("patrols.no_plan", "no patrol plan {id}", id=plan_id)
            if not rows
            else message("patrols.ambiguous", "plan id {id} is ambiguous", id=plan_id),
            hint=message("patrols.no_plan.hint", "list plans with 'sarhad patrols list'"),
        )
    return rows[0]


def list_plans(session: Session, *, day: date | None = None, limit: int = 50) -> list[PatrolPlan]:
    """Plans, newest first (optionally of one day)."""
    q = select(PatrolPlan).options(selectinload(PatrolPlan.patrols))
    if day is not None:
        q = q.where(PatrolPlan.day == day)
    return list(session.scalars(q.order_by(PatrolPlan.created_at.desc()).limit(limit)))


def describe(session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Short summaries of plans for the live feed, by plan id (any number of ids)."""
    out: dict[str, dict[str, Any]] = {}
    for batch in in_batches(ids):
        patrols: dict[str, int] = {
            plan_id: count
            for plan_id, count in session.execute(
                select(PatrolAssignment.plan_id, func.count())
                .where(PatrolAssignment.plan_id.in_(batch))
                .group_by(PatrolAssignment.plan_id)
            )
        }
        for row in session.scalars(select(PatrolPlan).where(PatrolPlan.id.in_(batch))):
            out[row.id] = {
                "day": row.day.isoformat(),
                "side": row.side,
                "coordinated": row.coordinated,
                "patrols": patrols.get(row.id, 0),
                "conflicts": len(row.conflicts or []),
                "created_by": row.created_by,
            }
    return out


def plan_dict(row: PatrolPlan) -> dict[str, Any]:
    """The plan as JSON-ready data (the API schema)."""
    return {
        "id": row.id,
        "day": row.day.isoformat(),
        "side": row.side,
        "partner_side": row.partner_side,
        "coordinated": row.coordinated,
        "seed": row.seed,
        "teams": row.teams,
        "partner_teams": row.partner_teams,
        "summary": row.summary,
        "created_at": row.created_at.isoformat(),
        "created_by": row.created_by,
        "patrols": [
            {
                "shift": p.shift,
                "starts_at": p.starts_at.isoformat(),
                "ends_at": p.ends_at.isoformat(),
                "kind": p.kind,
                "base": p.base,
                "team": p.team,
                "partner_base": p.partner_base,
                "partner_team": p.partner_team,
                "sectors": p.sectors,
                "km_from": p.km_from,
                "km_to": p.km_to,
            }
            for p in row.patrols
        ],
        "sectors": row.sectors,
        "conflicts": row.conflicts,
    }


CSV_COLUMNS = (
    "plan_id", "day", "shift", "starts_at_utc", "ends_at_utc", "kind", "base", "team",
    "partner_base", "partner_team", "first_sector", "last_sector", "km_from", "km_to",
    "deconfliction",
)  # fmt: skip


def plan_csv(row: PatrolPlan) -> str:
    """One CSV row per patrol, with deconfliction warnings inline."""
    warn: dict[int, list[str]] = {}
    for c in row.conflicts:
        warn.setdefault(int(c["patrol"]), []).append(str(c["message"]))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for p in row.patrols:
        w.writerow(
            [
                row.id, row.day.isoformat(), p.shift, p.starts_at.isoformat(),
                p.ends_at.isoformat(), p.kind, p.base or "", p.team or "", p.partner_base or "",
                p.partner_team or "", p.sectors[0], p.sectors[-1], f"{p.km_from:.1f}",
                f"{p.km_to:.1f}", " | ".join(warn.get(p.position, [])),
            ]
        )  # fmt: skip
    return buf.getvalue()


def _stretch(profile: BorderProfile, sector_ids: list[str]) -> LineString | MultiLineString:
    parts = [profile.sector(s).geometry for s in sector_ids]
    return line_merge(MultiLineString(parts)) if len(parts) > 1 else parts[0]


def plan_geojson(row: PatrolPlan, profile: BorderProfile) -> dict[str, Any]:
    """Patrol stretches and sector coverage beside risk, as one FeatureCollection."""
    warned = {int(c["patrol"]) for c in row.conflicts}
    features: list[dict[str, Any]] = []
    for p in row.patrols:
        features.append(
            {
                "type": "Feature",
                "geometry": mapping(_stretch(profile, p.sectors)),
                "properties": {
                    "feature": "patrol",
                    "plan_id": row.id,
                    "shift": p.shift,
                    "starts_at": p.starts_at.isoformat(),
                    "ends_at": p.ends_at.isoformat(),
                    "kind": p.kind,
                    "team": p.team,
                    "partner_team": p.partner_team,
                    "sectors": p.sectors,
                    "km_from": p.km_from,
                    "km_to": p.km_to,
                    "conflict": p.position in warned,
                },
            }
        )
    for s in row.sectors:
        features.append(
            {
                "type": "Feature",
                "geometry": mapping(profile.sector(s["sector_id"]).geometry),
                "properties": {
                    "feature": "sector",
                    **s,
                    "daily_coverage": round(sum(s["coverage"]), 6),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def plan_notes(summary: Mapping[str, Any], lang: str) -> list[str]:
    """A plan's notes worded in ``lang`` (a plan stored before the notes were coded keeps its
    English notes as written)."""
    coded = summary.get("note_codes")
    if not isinstance(coded, list):
        return [str(n) for n in summary.get("notes") or []]
    return [t.in_(lang) if (t := from_json(c)) is not None else str(c) for c in coded]
