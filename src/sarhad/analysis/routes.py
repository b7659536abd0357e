"""Sector risk routes under /api/v1/risk: parse, call the service, return JSON, CSV or GeoJSON."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from sarhad.analysis import service
from sarhad.analysis.risk import RiskParams
from sarhad.border.api import BorderNode, node
from sarhad.core.api import media, require, responses
from sarhad.core.auth import Permission, Principal
from sarhad.core.db import utcnow
from sarhad.core.params import QueryDateTime

router = APIRouter(tags=["analysis"])

Reader = Annotated[Principal, Depends(require(Permission.RISK_READ))]
At = Annotated[QueryDateTime, Query(description="The moment to score (default: now)")]
Origin = Annotated[
    Literal["all", "local", "partner"],
    Query(description="all incidents, only this node's, or only those received from partners"),
]
WithinKm = Annotated[
    float,
    Query(ge=0, description="leave out incidents farther than this from the line (km)"),
]


def _inputs(request: Request, at: datetime | None) -> tuple[BorderNode, datetime, RiskParams]:
    """The node, the moment asked for (default now) and the risk settings."""
    n = node(request)
    return n, at or utcnow(), RiskParams.from_settings(n.settings)


@router.get(
    "/risk",
    response_model=None,
    responses={
        **media("application/json", "text/csv", "application/geo+json"),
        **responses(422),
    },
)
def risk(
    request: Request,
    _actor: Reader,
    at: At = None,
    origin: Origin = "all",
    within_km: WithinKm = service.DEFAULT_WITHIN_KM,
    format: Literal["json", "csv", "geojson"] = "json",
) -> Any:
    """Risk score and impact level of every sector, with the incidents that weigh most."""
    n, when, params = _inputs(request, at)
    with n.db.session() as session:
        if at is None:  # now: the map asks this on every load
            when, rows = service.sector_risk_now(
                session, profile=n.profile, params=params, origin=origin, within_km=within_km
            )
        else:
            rows = service.sector_risk(
                session,
                profile=n.profile,
                params=params,
                at=when,
                origin=origin,
                within_km=within_km,
            )
    if format == "csv":
        return PlainTextResponse(service.risk_csv(rows), media_type="text/csv")
    if format == "geojson":
        return JSONResponse(
            service.risk_geojson(rows, n.profile), media_type="application/geo+json"
        )
    return service.report(rows, at=when, origin=origin, params=params, within_km=within_km)


@router.get("/risk/{sector_id}", responses=responses(404, 422))
def explain(
    request: Request,
    sector_id: str,
    _actor: Reader,
    at: At = None,
    origin: Origin = "all",
    within_km: WithinKm = service.DEFAULT_WITHIN_KM,
) -> dict[str, Any]:
    """One sector's score explained: every contributing incident, largest first (404 if no
    such sector)."""
    n, when, params = _inputs(request, at)
    with n.db.session() as session:
        row = service.explain(
            session,
            profile=n.profile,
            params=params,
            sector_id=sector_id,
            at=when,
            origin=origin,
            within_km=within_km,
        )
    return {
        "at": when.isoformat(),
        "origin": origin,
        "within_km": within_km,
        "params": service.params_dict(params),
        **service.risk_dict(row, top=None),
    }
