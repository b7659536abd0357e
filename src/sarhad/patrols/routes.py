"""Patrol routes under /api/v1/patrols: plan a day, list and read plans, export them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from sarhad.border.api import node
from sarhad.core.api import media, require, responses
from sarhad.core.auth import Permission, Principal
from sarhad.core.idempotency import Idempotency, Idempotent
from sarhad.core.params import QueryDate, StrictBody
from sarhad.patrols import service
from sarhad.patrols.planner import PlanJob
from sarhad.patrols.ports import PatrolPorts
from sarhad.patrols.runner import PlanRunner

router = APIRouter(prefix="/patrols", tags=["patrols"])

Reader = Annotated[Principal, Depends(require(Permission.PATROLS_READ))]
Planner = Annotated[Principal, Depends(require(Permission.PATROLS_PLAN))]


class PlanIn(BaseModel):
    """Ask for a day's plan."""

    model_config = ConfigDict(extra="forbid")

    day: date
    teams: int | None = Field(default=None, ge=1, le=1000, description="Teams per shift (ours)")
    coordinated: bool = False
    partner_teams: int | None = Field(default=None, ge=1, le=1000)
    # below 2**53: any JSON reader keeps such a number exact
    seed: int | None = Field(default=None, ge=0, lt=2**53)


async def plan_and_store(
    request: Request, *, actor: Principal, data: PlanIn, idem: Idempotency | None = None
) -> dict[str, Any]:
    """Plan a day as the API and the console's form do, as the plan's JSON data.

    The bounds and the database reads run in a thread; the solve runs in a child process
    (``runner.PlanRunner``) that is killed when the client goes away, past the time limit or
    when the server stops; the plan is stored only once the child has answered.
    """
    n = node(request)
    ports = n.port(PatrolPorts)
    runner = n.port(PlanRunner)

    def prepare() -> PlanJob:
        with n.db.session() as session:
            return service.prepare_plan(
                session,
                profile=n.profile,
                settings=n.settings,
                ports=ports,
                day=data.day,
                actor=actor,
                teams=data.teams,
                coordinated=data.coordinated,
                partner_teams=data.partner_teams,
                seed=data.seed,
            )

    job = await run_in_threadpool(prepare)
    result = await runner.run(job, gone=request.is_disconnected)

    def store() -> dict[str, Any]:
        with n.db.session() as session:
            row = service.store_plan(
                session, result=result, actor=actor, config=job.config, settings=n.settings
            )
            out = service.plan_dict(row)
            if idem is not None:
                idem.keep(session, out)  # in the plan's own transaction
            return out

    return await run_in_threadpool(store)


@router.post("/plans", status_code=201, responses=responses(400, 422, 503))
async def create_plan(
    request: Request, data: StrictBody[PlanIn], actor: Planner, idem: Idempotent
) -> dict[str, Any]:
    """Solve the security game for the day and store a sampled plan: 422 naming a field outside
    this node's bounds, 503 past its time or memory limit (``GET /patrols/config``: ``limits``)."""
    return await plan_and_store(request, actor=actor, data=data, idem=idem)


@router.get("/plans", responses=responses(422))
def list_plans(
    request: Request,
    _actor: Reader,
    day: QueryDate = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[dict[str, Any]]:
    """Plans, newest first."""
    with node(request).db.session() as session:
        return [service.plan_dict(r) for r in service.list_plans(session, day=day, limit=limit)]


@router.get(
    "/plans/{plan_id}",
    response_model=None,
    responses={
        **media("application/json", "text/csv", "application/geo+json"),
        **responses(404, 422),
    },
)
def get_plan(
    request: Request,
    plan_id: str,
    _actor: Reader,
    format: Literal["json", "csv", "geojson"] = "json",
) -> dict[str, Any] | PlainTextResponse | JSONResponse:
    """One plan as JSON, CSV (one row per patrol) or GeoJSON (stretches and coverage)."""
    n = node(request)
    with n.db.session() as session:
        row = service.get_plan(session, plan_id=plan_id)
        if format == "csv":
            return PlainTextResponse(service.plan_csv(row), media_type="text/csv")
        if format == "geojson":
            return JSONResponse(
                service.plan_geojson(row, n.profile), media_type="application/geo+json"
            )
        return service.plan_dict(row)


@router.get("/config")
def patrol_config(request: Request, _actor: Reader) -> dict[str, Any]:
    """The bases, shifts and limits the planner uses on this node."""
    n = node(request)
    cfg = service.patrol_config(n.settings, n.profile)
    bounds = service.plan_bounds(n.settings, n.profile, config=cfg)
    return {
        "source": cfg.source,
        "limits": service.bounds_dict(bounds),
        "max_stretch": cfg.max_stretch,
        "effectiveness": {"single": cfg.single, "joint": cfg.joint},
        "shifts": [
            {
                "name": s.name,
                "start": s.start.strftime("%H:%M"),
                "hours": s.hours,
                "weight": s.weight,
            }
            for s in cfg.shifts
        ],
        "bases": [
            {
                "name": b.name,
                "side": b.side,
                "first_km": b.first_km,
                "last_km": b.last_km,
                "teams": b.teams,
            }
            for b in cfg.bases
        ],
        "floor": n.settings.patrol_floor,
        "buffer_km": n.settings.patrol_buffer_km,
    }
