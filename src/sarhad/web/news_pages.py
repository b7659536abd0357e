"""News pages: paste an article, the review queue, a candidate beside its articles (the
supporting sentences marked), accept, edit then accept (the incident form prefilled), reject."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sarhad.border.api import BorderNode, node
from sarhad.core.auth import Permission
from sarhad.core.errors import Conflict, InvalidInput, NotFound
from sarhad.crossings.ports import CrossingPorts
from sarhad.incidents.schemas import IncidentIn
from sarhad.intake import service
from sarhad.web import auth
from sarhad.web import incident_forms as forms
from sarhad.web.i18n import N_
from sarhad.web.incident_pages import _form_page, form_values
from sarhad.web.pages import PageForbidden, check_csrf, page_user, render

router = APIRouter(include_in_schema=False)
Reader = Annotated[auth.WebUser, Depends(page_user("/news"))]

#: The words of the candidate's fields, translated where shown.
FIELD_LABELS = {
    "pending": N_("Waiting for review"),
    "accepted": N_("Accepted"),
    "rejected": N_("Rejected"),
    "incident": N_("Incident"),
    "crossing": N_("Crossing event"),
    "day": N_("day"),
    "week": N_("week"),
    "month": N_("month"),
    "year": N_("year"),
    "exact": N_("exact"),
    "security_forces": N_("Security forces"),
    "civilians": N_("Civilians"),
    "assailants": N_("Assailants"),
    "killed": N_("killed"),
    "injured": N_("injured"),
    "detained": N_("detained"),
    "at least": N_("at least"),
    "up to": N_("up to"),
    "more than": N_("more than"),
    "about": N_("about"),
}


def _deciding(user: auth.WebUser) -> None:
    if not user.principal.can(Permission.INCIDENTS_WRITE):
        raise PageForbidden(user, N_("Your role may not decide on news candidates."))


def _segments(text: str, spans: list[list[int]]) -> list[tuple[str, bool]]:
    """The article as (text, marked) pieces: the supporting sentences marked."""
    out: list[tuple[str, bool]] = []
    at = 0
    for start, end in sorted(spans):
        if start < at:
            continue
        out.append((text[at:start], False))
        out.append((text[start:end], True))
        at = end
    out.append((text[at:], False))
    return [p for p in out if p[0]]


def _queue(request: Request, user: auth.WebUser, **extra: Any) -> HTMLResponse:
    n: BorderNode = node(request)
    status = request.query_params.get("status", "pending")
    status = status if status in service.STATUSES else "pending"
    with n.db.session() as session:
        rows = [service.view(session, r) for r in service.list_candidates(session, status=status)]
    return render(
        request,
        "news.html",
        user=user,
        rows=rows,
        status=status,
        statuses=service.STATUSES,
        field_labels=FIELD_LABELS,
        can_add=user.principal.can(Permission.INCIDENTS_IMPORT)
        or user.principal.can(Permission.INCIDENTS_WRITE),
        values=extra.pop("values", {}),
        errors=extra.pop("errors", {}),
        added=request.query_params.get("added"),
        **extra,
    )


@router.get("/news", response_class=HTMLResponse)
def news_queue(request: Request, user: Reader) -> HTMLResponse:
    """The review queue and the form to paste an article."""
    return _queue(request, user)


@router.post("/news", response_class=HTMLResponse)
def paste_article(
    request: Request,
    user: Reader,
    values: Annotated[dict[str, str], Depends(form_values)],
) -> Response:
    """Keep a pasted article; its events join the queue."""
    check_csrf(request, user, values.get("csrf_token"))
    n: BorderNode = node(request)
    errors: dict[str, str] = {}
    published = None
    try:
        published = date.fromisoformat(values.get("published", "").strip())
    except ValueError:
        errors["published"] = N_("Give the publication date as YYYY-MM-DD.")
    if not errors and published is not None:
        try:
            with n.db.session() as session:
                added = service.add_article(
                    session,
                    title=values.get("title", ""),
                    outlet=values.get("outlet", ""),
                    published=published,
                    text=values.get("text", ""),
                    url=values.get("url", "").strip() or None,
                    via="console",
                    actor=user.principal,
                )
        except InvalidInput as exc:
            errors = {e.field: e.message for e in exc.errors}
        else:
            count = len(added.created) + len(added.joined)
            return RedirectResponse(f"/news?added={count}", status_code=303)
    return _queue(request, user, values=values, errors=errors, status_code=422)


@router.get("/news/{candidate_id}", response_class=HTMLResponse)
def candidate_page(request: Request, candidate_id: str, user: Reader) -> HTMLResponse:
    """A candidate beside the articles that report it, the supporting sentences marked."""
    n: BorderNode = node(request)
    with n.db.session() as session:
        try:
            row = service.get_candidate(session, candidate_id=candidate_id)
        except NotFound:
            return render(request, "notfound.html", user=user, status_code=404)
        view = service.view(session, row)
        articles = [
            {"article": a, "segments": _segments(a.text, spans)}
            for a, spans in service.sources_of(session, row.id)
        ]
    return render(
        request,
        "news_candidate.html",
        user=user,
        c=view,
        articles=articles,
        field_labels=FIELD_LABELS,
        can_decide=user.principal.can(Permission.INCIDENTS_WRITE),
        error=request.query_params.get("error"),
    )


def _decide(request: Request, user: auth.WebUser, candidate_id: str, fn: Any) -> Response:
    n: BorderNode = node(request)
    try:
        with n.db.session() as session:
            fn(session, n)
    except (InvalidInput, Conflict) as exc:
        return RedirectResponse(f"/news/{candidate_id}?error={type(exc).__name__}", status_code=303)
    return RedirectResponse(f"/news/{candidate_id}", status_code=303)


@router.post("/news/{candidate_id}/accept", response_class=HTMLResponse)
def accept(
    request: Request,
    candidate_id: str,
    user: Reader,
    values: Annotated[dict[str, str], Depends(form_values)],
) -> Response:
    """Accept as read: a draft incident."""
    check_csrf(request, user, values.get("csrf_token"))
    _deciding(user)
    return _decide(
        request,
        user,
        candidate_id,
        lambda s, n: service.accept(
            s,
            candidate_id=candidate_id,
            actor=user.principal,
            profile=n.profile,
            node_side=n.settings.node_side,
            ports=n.port(CrossingPorts),
        ),
    )


@router.post("/news/{candidate_id}/reject", response_class=HTMLResponse)
def reject(
    request: Request,
    candidate_id: str,
    user: Reader,
    values: Annotated[dict[str, str], Depends(form_values)],
) -> Response:
    """Reject with a reason."""
    check_csrf(request, user, values.get("csrf_token"))
    _deciding(user)
    return _decide(
        request,
        user,
        candidate_id,
        lambda s, _n: service.reject(
            s, candidate_id=candidate_id, reason=values.get("reason", ""), actor=user.principal
        ),
    )


def _values(data: IncidentIn) -> dict[str, str]:
    """The incident form's values for the draft a candidate would become (UTC)."""
    values = {
        "title": data.title,
        "category": data.category.value,
        "occurred_at": data.occurred_at.strftime("%Y-%m-%dT%H:%M"),
        "zone": "UTC",
        "date_precision": data.date_precision.value,
        "lon": f"{data.location.lon:.5f}",
        "lat": f"{data.location.lat:.5f}",
        "place": data.location.place or "",
        "location_precision": data.location.precision.value,
        "reporting_side": data.reporting_side,
        "source_reliability": data.grading.source_reliability,
        "information_credibility": data.grading.information_credibility,
        "tlp": data.tlp.value,
        "narrative": data.narrative,
    }
    for group in forms.GROUPS:
        for kind in forms.KINDS:
            values[f"casualties.{group}.{kind}"] = str(
                getattr(getattr(data.casualties, group), kind)
            )
    values["seizure_rows"] = str(len(data.seizures) + 1)
    for i, s in enumerate(data.seizures):
        values[f"seizures.{i}.commodity"] = s.commodity.value
        values[f"seizures.{i}.quantity"] = f"{s.quantity:g}"
        values[f"seizures.{i}.unit"] = s.unit.value
    return values


@router.get("/news/{candidate_id}/edit", response_class=HTMLResponse)
def edit_form(request: Request, candidate_id: str, user: Reader) -> HTMLResponse:
    """The incident form, prefilled with what the news said; saving it accepts the candidate."""
    _deciding(user)
    n: BorderNode = node(request)
    with n.db.session() as session:
        try:
            row = service.get_candidate(session, candidate_id=candidate_id)
        except NotFound:
            return render(request, "notfound.html", user=user, status_code=404)
        article = service.get_article(session, article_id=row.article_id)
        try:
            values = _values(
                service.draft(row, article, node_side=n.settings.node_side, profile=n.profile)
            )
        except InvalidInput:  # nothing read for a field: the analyst fills it in
            values = {"title": article.title[:200], "reporting_side": n.settings.node_side}
    return _form_page(request, user, values=values, action=f"/news/{candidate_id}/edit")


@router.post("/news/{candidate_id}/edit", response_class=HTMLResponse)
def edit_accept(
    request: Request,
    candidate_id: str,
    user: Reader,
    values: Annotated[dict[str, str], Depends(form_values)],
) -> Response:
    """Accept with the analyst's edits; or the form again with errors by field."""
    check_csrf(request, user, values.get("csrf_token"))
    _deciding(user)
    n: BorderNode = node(request)
    data, errors = forms.parse(values, n.profile)
    if data is not None:
        try:
            with n.db.session() as session:
                row = service.accept(
                    session,
                    candidate_id=candidate_id,
                    actor=user.principal,
                    profile=n.profile,
                    node_side=n.settings.node_side,
                    data=data,
                )
                incident_id = row.incident_id
        except InvalidInput as exc:
            errors = forms.service_errors(exc)
        else:
            return RedirectResponse(f"/incidents/{incident_id}?saved=1", status_code=303)
    action = f"/news/{candidate_id}/edit"
    return _form_page(request, user, values=values, errors=errors, status_code=422, action=action)
