"""The reports page: choose a month, a language and whether to add the partners' figures, and
download the monthly report (the PDF the CLI and the API make: one path, analysis.report); a
liaison officer or an admin sends our month's figures to the partners from it too."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from sarhad.analysis.report.joint import share_month
from sarhad.analysis.report.ports import ReportPorts
from sarhad.analysis.report.service import monthly_pdf
from sarhad.border.api import BorderNode, node
from sarhad.core.auth import Permission
from sarhad.core.errors import InvalidInput
from sarhad.core.params import parse_month
from sarhad.web import auth, i18n
from sarhad.web.i18n import N_
from sarhad.web.incident_pages import form_values
from sarhad.web.pages import PageForbidden, check_csrf, page_user, render

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
    shared: list[dict[str, Any]] | None = None,
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
        can_share=user.principal.can(Permission.SHARING_MANAGE),
        shared=shared,
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


#: What happened to one partner's copy of our figures, as the page says it.
SENT = N_("figures sent")
UNCHANGED = N_("unchanged since they were last sent")
NOT_SENT = N_("not sent: %(reason)s")


@router.post("/reports/share", response_class=HTMLResponse)
def share(
    request: Request,
    user: Reader,
    values: Annotated[dict[str, str], Depends(form_values)],
) -> HTMLResponse:
    """Send our figures of the month to every partner (the API's and the CLI's one path)."""
    check_csrf(request, user, values.get("csrf_token"))
    if not user.principal.can(Permission.SHARING_MANAGE):
        raise PageForbidden(user, N_("Your role may not send figures to the partners."))
    shown, _switched = i18n.choose(request)
    month = values.get("month", "").strip()
    try:
        parse_month(month)
    except ValueError:
        errors = {"share_month": N_("Give the month as YYYY-MM, for example 2026-11.")}
        return _page(request, user, month=month, lang=shown, joint=False, errors=errors)
    n: BorderNode = node(request)
    with n.db.session() as session:
        done = share_month(session, month=month, ports=n.port(ReportPorts), actor=user.username)
    n.wake()
    say = i18n.gettext_for(shown)
    shared = [
        {
            "partner": d.partner,
            "sent": d.sent and d.reason is None,
            "what": say(NOT_SENT) % {"reason": d.reason.in_(shown)}
            if d.reason is not None
            else say(SENT if d.sent else UNCHANGED),
        }
        for d in done
    ]
    return _page(request, user, month=month, lang=shown, joint=False, shared=shared)
