"""Crossing report routes under /api/v1/crossings/report (JSON, CSV, GeoJSON, PNG).

Mounted before the crossings room's router, so /crossings/report is not taken for a crossing.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from sarhad.analysis.crossings.export import report_csv, report_geojson, report_png
from sarhad.analysis.crossings.figures import CrossingsReport, ReportParams
from sarhad.analysis.crossings.report import month_report
from sarhad.border.api import node
from sarhad.core.api import media, require, responses
from sarhad.core.auth import Permission, Principal
from sarhad.core.params import Month as MonthParam
from sarhad.core.params import QueryCrossing, QuerySide

router = APIRouter(prefix="/crossings", tags=["crossings"])

Reader = Annotated[Principal, Depends(require(Permission.CROSSINGS_READ))]
Month = Annotated[MonthParam, Query(description="YYYY-MM; each side's figures use its local days")]
Crossing = Annotated[QueryCrossing, Query(description="Only this crossing or market id")]
Side = Annotated[QuerySide, Query(description="Only this side")]
ERRORS = responses(422)


def _report(
    request: Request, month: str, crossing: str | None, side: str | None
) -> CrossingsReport:
    n = node(request)
    with n.db.session() as session:
        return month_report(
            session, profile=n.profile, params=ReportParams.from_settings(n.settings),
            month=month, node_side=n.settings.node_side, crossing=crossing, side=side,
        )  # fmt: skip


@router.get("/report", response_model=CrossingsReport, responses=ERRORS)
def report(
    request: Request, _actor: Reader, month: Month, crossing: Crossing = None, side: Side = None
) -> CrossingsReport:
    """The month at every crossing and market, both sides: closures by reason, closures after
    incidents with the lag distribution, throughput around closures, scheduled days opened."""
    return _report(request, month, crossing, side)


@router.get("/report.csv", response_class=Response, responses={**media("text/csv"), **ERRORS})
def report_as_csv(
    request: Request,
    _actor: Reader,
    month: Month,
    crossing: Crossing = None,
    side: Side = None,
    rows: Literal["sides", "closures"] = "sides",
) -> PlainTextResponse:
    """One line per crossing and side, or (``rows=closures``) per closure."""
    text = report_csv(_report(request, month, crossing, side), rows=rows)
    return PlainTextResponse(text, media_type="text/csv")


@router.get(
    "/report.geojson",
    response_class=Response,
    responses={**media("application/geo+json"), **ERRORS},
)
def report_as_geojson(
    request: Request, _actor: Reader, month: Month, crossing: Crossing = None, side: Side = None
) -> JSONResponse:
    """One point per crossing or market with each side's figures (``pk_…``, ``ir_…``)."""
    data = report_geojson(_report(request, month, crossing, side), node(request).profile)
    return JSONResponse(data, media_type="application/geo+json")


@router.get("/report.png", response_class=Response, responses={**media("image/png"), **ERRORS})
def report_as_png(
    request: Request, _actor: Reader, month: Month, crossing: Crossing = None, side: Side = None
) -> Response:
    """The chart: days closed by reason per crossing and side, and daily throughput."""
    return Response(report_png(_report(request, month, crossing, side)), media_type="image/png")
