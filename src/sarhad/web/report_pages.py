"""The reports page: choose a month, a language and whether to add the partners' figures, and
download the monthly report (the PDF the CLI and the API make: one path, analysis.report)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from sarhad.analysis.report.ports import ReportPorts
from sarhad.analysis.report.service import monthly_pdf
from sarhad.border.api import BorderNode, node
from sarhad.core.errors import InvalidInput
from sarhad.core.params import parse_month
from sarhad.web import auth, i18n
from sarhad.web.i18n import N_
from sarhad.web.pages import page_user, render

router = APIRouter(include_in_schema=False)
Reader = Annotated[auth.WebUser, Depends(page_user("/reports"))]


def _last_month() -> str:
    first = date.today().replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def _page(
    request: Request,
    user: auth.WebUser,
    *,
    month: str,
    lang: str,
    joint: bool,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "reports.html",
        user=user,
        status_code=422 if errors else 200,
        month=month,
        report_lang=lang,
        joint=joint,
        errors=errors or {},
    )


@router.get("/reports", response_class=HTMLResponse)
def reports(request: Request, user: Reader) -> HTMLResponse:
    """The form: last month, in the reader's language, by default."""
    lang, _switched = i18n.choose(request)
    return _page(request, user, month=_last_month(), lang=lang, joint=False)


@router.get("/reports/monthly", response_class=Response)
def monthly(
    request: Request,
    user: Reader,
    month: str = "",
    report_lang: str = "en",
    joint: bool = False,
) -> Response:
    """The month's report as a PDF download; a bad month or language shows the form again,
    naming the field (reading only: a GET, so a link to it can be kept)."""
    shown, _switched = i18n.choose(request)
    errors: dict[str, str] = {}
    try:
        known = parse_month(month)
    except ValueError:
        known = None
    if known is None:
        errors["month"] = N_("Give the month as YYYY-MM, for example 2026-11.")
    if report_lang not in i18n.LANGUAGES:
        errors["report_lang"] = N_("Choose English, Urdu or Persian.")
    if errors:
        return _page(request, user, month=month, lang=report_lang, joint=joint, errors=errors)
    n: BorderNode = node(request)
    try:
        with n.db.session() as session:
            pdf = monthly_pdf(
                session, profile=n.profile, settings=n.settings, ports=n.port(ReportPorts),
                month=month, lang=report_lang, joint=joint,
            )  # fmt: skip
    except InvalidInput as exc:
        errors = {e.field: e.in_(shown) for e in exc.errors}
        return _page(request, user, month=month, lang=report_lang, joint=joint, errors=errors)
    name = f"sarhad-report-{month}-{report_lang}{'-joint' if joint else ''}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
