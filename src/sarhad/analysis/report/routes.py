"""The monthly report route: GET /api/v1/analysis/monthly-report → PDF."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from sarhad.analysis.report.joint import share_month
from sarhad.analysis.report.ports import ReportPorts
from sarhad.analysis.report.service import monthly_pdf
from sarhad.border.api import node
from sarhad.core.api import media, require, responses
from sarhad.core.auth import Permission, Principal
from sarhad.core.params import Month as MonthParam

router = APIRouter(prefix="/analysis", tags=["analysis"])

Reader = Annotated[Principal, Depends(require(Permission.RISK_READ))]
Sharer = Annotated[Principal, Depends(require(Permission.SHARING_MANAGE))]
Month = Annotated[MonthParam, Query(description="YYYY-MM (UTC)")]
Lang = Annotated[Literal["en", "ur", "fa"], Query(description="The report's language")]
Joint = Annotated[bool, Query(description="Add the partners' figures side by side with ours")]


@router.get(
    "/monthly-report",
    response_class=Response,
    responses={**media("application/pdf"), **responses(422)},
)
def monthly_report(
    request: Request, _actor: Reader, month: Month, lang: Lang = "en", joint: Joint = False
) -> Response:
    """The month's report as a PDF: map, trends, hot spots, cooperation, methods and data."""
    n = node(request)
    with n.db.session() as session:
        pdf = monthly_pdf(
            session, profile=n.profile, settings=n.settings, ports=n.port(ReportPorts),
            month=month, lang=lang, joint=joint,
        )  # fmt: skip
    name = f"sarhad-report-{month}-{lang}{'-joint' if joint else ''}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class SharedOut(BaseModel):
    """What happened to one partner's copy of our figures."""

    partner: str
    sent: bool = Field(description="a new version was made (false: the same figures went already)")
    reason: str | None = Field(None, description="why nothing can go to this partner")


@router.post("/monthly-report/share", responses=responses(422))
def share_figures(request: Request, actor: Sharer, month: Month) -> list[SharedOut]:
    """Send our figures of the month on the shared records to every partner (joint report),
    under each agreement; the courier delivers them at once."""
    n = node(request)
    with n.db.session() as session:
        done = share_month(session, month=month, ports=n.port(ReportPorts), actor=actor.username)
    n.wake()
    return [SharedOut(partner=d.partner, sent=d.sent, reason=d.reason) for d in done]
