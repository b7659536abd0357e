"""Incident pages: the list (filters, paging), a record with its history and status steps, and
the new/edit form (its map and ``locate`` preview are drawn by static/js/incident-form.js)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from sarhad.border.api import BorderNode, node
from sarhad.core.auth import Permission
from sarhad.core.errors import Conflict, InvalidInput, NotFound, SarhadError
from sarhad.core.markings import TLP
from sarhad.federation.inbox import signature_of
from sarhad.incidents import service as incidents
from sarhad.incidents.schemas import IncidentPatch, Transition, VersionOut
from sarhad.incidents.taxonomy import (
    CREDIBILITY,
    RELIABILITY,
    UNITS_FOR,
    Category,
    Commodity,
    DatePrecision,
    LocationPrecision,
)
from sarhad.incidents.taxonomy import Status as IncidentStatus
from sarhad.web import auth, i18n
from sarhad.web import incident_forms as forms
from sarhad.web.i18n import N_
from sarhad.web.labels import LABELS
from sarhad.web.pages import (
    PAGE_SIZE,
    PageForbidden,
    check_csrf,
    page_user,
    parse_day,
    places_of,
    render,
)

router = APIRouter(include_in_schema=False)


@router.get("/incidents", response_class=HTMLResponse)
def incident_list(
    request: Request,
    user: Annotated[auth.WebUser, Depends(page_user("/incidents"))],
    since: str | None = None,
    until: str | None = None,
    category: str | None = None,
    side: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    """Incidents newest first, filtered, one page at a time."""
    n: BorderNode = node(request)
    errors: dict[str, str] = {}
    start = parse_day(since, "since", errors)
    end = parse_day(until, "until", errors)
    if end is not None:
        end += timedelta(days=1)  # "until" is the last day shown
    if category and category not in {c.value for c in Category}:
        errors["category"] = N_("Choose a category from the list.")
    if status and status not in {s.value for s in IncidentStatus}:
        errors["status"] = N_("Choose a status from the list.")
    if side and side not in n.profile.sides:
        errors["side"] = N_("Choose a side from the list.")
    rows: list[Any] = []
    next_cursor = None
    if not errors:
        filters = incidents.IncidentFilter(
            since=start,
            until=end,
            categories=[category] if category else [],
            sides=[side] if side else [],
            statuses=[status] if status else [],
        )
        try:
            with n.db.session() as session:
                rows, next_cursor = incidents.list_incidents(
                    session, filters=filters, limit=PAGE_SIZE, cursor=cursor
                )
        except InvalidInput:
            errors["cursor"] = N_("That page link is no longer valid. Start from the first page.")
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("cursor", "lang")]
    next_url = f"/incidents?{urlencode([*kept, ('cursor', next_cursor)])}" if next_cursor else None
    return render(
        request,
        "incidents.html",
        user=user,
        rows=rows,
        errors=errors,
        values={
            "since": since,
            "until": until,
            "category": category,
            "side": side,
            "status": status,
        },
        sides=n.profile.sides,
        places=places_of(n),
        next_url=next_url,
        can_write=user.principal.can(Permission.INCIDENTS_WRITE),
    )


# --- the record, its history and its status steps ------------------------------------------

#: Names of the record's fields in the history table.
FIELD_LABELS = {
    "title": N_("Title"),
    "category": N_("Category"),
    "occurred_at": N_("Occurred"),
    "date_precision": N_("Date precision"),
    "location": N_("Location"),
    "reporting_side": N_("Reporting side"),
    "casualties": N_("Casualties"),
    "seizures": N_("Seizures"),
    "grading": N_("Grading"),
    "tlp": N_("TLP"),
    "narrative": N_("Narrative"),
    "sources": N_("Sources"),
    "enrichment": N_("Placement on the border"),
    "status": N_("Status"),
    "withheld_fields": N_("Withheld fields"),
    "revoked": N_("Revoked"),
}
#: The button of each lifecycle step.
STEP_LABELS = {
    "draft": N_("Back to draft"),
    "submitted": N_("Submit"),
    "validated": N_("Validate"),
    "closed": N_("Close"),
}


def _shown(field: str, value: Any) -> str:
    """A field's value in a version, short enough for a table cell (codes stay codes)."""
    if value is None or value == "" or value == []:
        return "—"
    if field == "occurred_at":
        return str(value).replace("T", " ")[:16] + " UTC"
    if field == "location":
        where = f"{value['lon']:.5f}, {value['lat']:.5f} ({value['precision']})"
        return f"{where} {value['place']}" if value.get("place") else where
    if field == "seizures":
        return ", ".join(f"{s['commodity']} {s['quantity']:g} {s['unit']}" for s in value)
    if field == "casualties":
        parts = [
            f"{group} {kind} {n}"
            for group, counts in value.items()
            for kind, n in counts.items()
            if n
        ]
        return ", ".join(parts) or "0"
    if field == "enrichment":
        if value["km"] is None:  # far from the line: no sector, no km marker
            return f"{value['side']} · —"
        return f"{value['side']} · {value['sector']} · km {value['km']:.1f}"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)[:300]
    text = str(value)
    return text if len(text) <= 300 else text[:299] + "…"


def history(versions: list[VersionOut]) -> list[dict[str, Any]]:
    """Each version with what changed from the one before: (field, before, after) triples."""
    rows: list[dict[str, Any]] = []
    before: dict[str, Any] = {}
    for v in versions:
        after = v.record.model_dump(mode="json")
        changes = [
            {
                "field": f,
                "before": _shown(f, before.get(f)) if before else "",
                "after": _shown(f, after.get(f)),
                "code": f in ("category", "status"),
                "before_code": before.get(f),
                "after_code": after.get(f),
            }
            for f in v.changed
        ]
        rows.append({"version": v, "changes": changes})
        before = after
    return rows


def _record_page(
    request: Request,
    user: auth.WebUser,
    incident_id: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
    action: str | None = None,
) -> HTMLResponse:
    n: BorderNode = node(request)
    with n.db.session() as session:
        try:
            row = incidents.get_incident(session, incident_id=incident_id)
        except NotFound:
            return render(request, "incident_missing.html", user=user, status_code=404)
        out = incidents.to_out(row)
        steps = [s.value for s in incidents.allowed_steps(row, user.principal)]
        versions = incidents.list_versions(session, incident_id=incident_id)
        signature = signature_of(session, row.id) if row.origin_node_id else None
        # Imported here: link_pages imports this module's helpers.
        from sarhad.web.link_pages import LINK_ERRORS, link_panel

        link_view = link_panel(session, incident_id=row.id, principal=user.principal)
    link_error = request.query_params.get("link_error")
    if link_error and link_error in LINK_ERRORS:
        error = error or link_error
    editable = (
        user.principal.can(Permission.INCIDENTS_WRITE)
        and out.origin_node_id is None
        and out.status != IncidentStatus.CLOSED
    )
    return render(
        request,
        "incident.html",
        user=user,
        status_code=status_code,
        r=out,
        steps=steps,
        step_labels=STEP_LABELS,
        history=history(versions),
        field_labels=FIELD_LABELS,
        places=places_of(n),
        form_labels=forms.FORM_LABELS,
        editable=editable,
        # The raise form links the alert to this record (alerts:raise, as the form needs).
        can_alert=user.principal.can(Permission.ALERTS_RAISE),
        signature=signature,
        links=link_view,
        notice=notice,
        error=error,
    )


# --- the form ------------------------------------------------------------------------------


async def form_values(request: Request) -> dict[str, str]:
    """The posted form as plain strings (the last value of a repeated name)."""
    form = await request.form()
    return {k: v for k, v in form.multi_items() if isinstance(v, str)}


def _writer(user: auth.WebUser) -> auth.WebUser:
    if not user.principal.can(Permission.INCIDENTS_WRITE):
        raise PageForbidden(user, N_("Your role may not record or edit incidents."))
    return user


def _form_page(
    request: Request,
    user: auth.WebUser,
    *,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    incident: Any = None,
    error: str | None = None,
    status_code: int = 200,
    action: str | None = None,
) -> HTMLResponse:
    n: BorderNode = node(request)
    lang, _ = i18n.choose(request)
    tr = i18n.gettext_for(lang)
    strings = {key: tr(text) for key, text in FORM_STRINGS.items()}
    strings.update({f"side_{s}": tr(LABELS["side"].get(s, s)) for s in n.profile.sides})
    return render(
        request,
        "incident_form.html",
        user=user,
        status_code=status_code,
        values=values,
        errors=errors or {},
        error=error,
        incident=incident,
        action=action,  # another page's form that saves an incident (news: edit then accept)
        sides=n.profile.sides,
        zones=list(forms.zones(n.profile)),
        zone_names=forms.zone_names(n.profile),
        categories=[c.value for c in Category],
        date_precisions=[p.value for p in DatePrecision],
        location_precisions=[p.value for p in LocationPrecision],
        commodities=[c.value for c in Commodity],
        units=sorted({u.value for us in UNITS_FOR.values() for u in us}),
        reliability=RELIABILITY,
        credibility=CREDIBILITY,
        tlps=[t.value for t in TLP],
        form_labels=forms.FORM_LABELS,
        groups=forms.GROUPS,
        kinds=forms.KINDS,
        seizure_rows=forms.seizure_rows(values),
        i18n_json=json.dumps(strings, ensure_ascii=False).replace("<", "\\u003c"),
    )


#: Strings incident-form.js needs (read from the page's #i18n block).
FORM_STRINGS = {
    "side": N_("Side"),
    "sector": N_("Sector"),
    "km": N_("Km marker"),
    "distance": N_("Distance to the line"),
    "nearest": N_("Nearest crossing"),
    "locating": N_("Locating…"),
    "locate_error": N_("Could not locate this point."),
    "pick": N_("Click the map or enter longitude and latitude."),
    "unit_km": N_("km"),
    "map_label": N_("Map: click to set the incident's place"),
}


@router.get("/incidents/new", response_class=HTMLResponse)
def new_incident_form(
    request: Request, user: Annotated[auth.WebUser, Depends(page_user("/incidents"))]
) -> HTMLResponse:
    """An empty form; the time is read in this node's side's zone unless another is chosen."""
    _writer(user)
    n: BorderNode = node(request)
    side = n.settings.node_side
    values = {
        "zone": side if side in n.profile.sides else "UTC",
        "reporting_side": side,
        # Admiralty F6 ("cannot be judged") until the officer grades the report.
        "source_reliability": "F",
        "information_credibility": "6",
    }
    return _form_page(request, user, values=values)


@router.post("/incidents/new", response_class=HTMLResponse)
def create_incident(
    request: Request,
    user: Annotated[auth.WebUser, Depends(page_user("/incidents"))],
    values: Annotated[dict[str, str], Depends(form_values)],
) -> Response:
    """Store the new incident and show its page; or the form again with errors by field."""
    check_csrf(request, user, values.get("csrf_token"))
    _writer(user)
    n: BorderNode = node(request)
    data, errors = forms.parse(values, n.profile)
    if data is not None:
        try:
            with n.db.session() as session:
                row = incidents.create_incident(
                    session, data=data, actor=user.principal, profile=n.profile
                )
                incident_id = row.id
        except InvalidInput as exc:
            errors = forms.service_errors(exc)
        else:
            return RedirectResponse(f"/incidents/{incident_id}?saved=1", status_code=303)
    return _form_page(request, user, values=values, errors=errors, status_code=422)


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(
    request: Request,
    incident_id: str,
    user: Annotated[auth.WebUser, Depends(page_user("/incidents"))],
    saved: str | None = None,
) -> HTMLResponse:
    """One incident: its fields, where it lies, its history and the steps the role may take."""
    notice = N_("Saved.") if saved else None
    return _record_page(request, user, incident_id, notice=notice)


@router.post("/incidents/{incident_id}/status", response_class=HTMLResponse)
def incident_step(
    request: Request,
    incident_id: str,
    user: Annotated[auth.WebUser, Depends(page_user("/incidents"))],
    values: Annotated[dict[str, str], Depends(form_values)],
) -> Response:
    """Take one lifecycle step on the version the page showed (a stale page gets a 409)."""
    check_csrf(request, user, values.get("csrf_token"))
    try:
        step = Transition(to=values.get("to", ""), expected_version=values.get("expected_version"))
    except ValidationError:
        return _record_page(
            request,
            user,
            incident_id,
            error=N_("Choose a step shown on the page."),
            status_code=422,
        )
    try:
        with node(request).db.session() as session:
            incidents.transition_incident(
                session, incident_id=incident_id, step=step, actor=user.principal
            )
    except Conflict:
        return _record_page(
            request,
            user,
            incident_id,
            error=N_("The record changed meanwhile. Check it and try again."),
            status_code=409,
        )
    except SarhadError as exc:
        return _record_page(request, user, incident_id, error=exc.message, status_code=403)
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


def _editable(request: Request, user: auth.WebUser, incident_id: str) -> Any:
    with node(request).db.session() as session:
        try:
            row = incidents.get_incident(session, incident_id=incident_id)
        except NotFound:
            return None
        if row.origin_node_id is not None or row.status == IncidentStatus.CLOSED:
            raise PageForbidden(user, N_("A partner's or a closed record cannot be edited."))
        values = forms.values_of(row)
        return {"id": row.id, "title": row.title, "version": row.version}, values


@router.get("/incidents/{incident_id}/edit", response_class=HTMLResponse)
def edit_incident_form(
    request: Request,
    incident_id: str,
    user: Annotated[auth.WebUser, Depends(page_user("/incidents"))],
) -> HTMLResponse:
    """The form filled with the current version (its time in UTC)."""
    _writer(user)
    found = _editable(request, user, incident_id)
    if found is None:
        return render(request, "incident_missing.html", user=user, status_code=404)
    row, values = found
    values["expected_version"] = str(row["version"])
    return _form_page(request, user, values=values, incident=row)


@router.post("/incidents/{incident_id}/edit", response_class=HTMLResponse)
def edit_incident(
    request: Request,
    incident_id: str,
    user: Annotated[auth.WebUser, Depends(page_user("/incidents"))],
    values: Annotated[dict[str, str], Depends(form_values)],
) -> Response:
    """Save the edit as a new version, guarded by the version the form was opened on."""
    check_csrf(request, user, values.get("csrf_token"))
    _writer(user)
    found = _editable(request, user, incident_id)
    if found is None:
        return render(request, "incident_missing.html", user=user, status_code=404)
    row = found[0]
    n: BorderNode = node(request)
    data, errors = forms.parse(values, n.profile)
    error = None
    if data is not None:
        try:
            patch = IncidentPatch.model_validate(
                {
                    **data.model_dump(exclude={"sources"}),
                    "expected_version": values.get("expected_version"),
                }
            )
            with n.db.session() as session:
                incidents.update_incident(
                    session,
                    incident_id=incident_id,
                    patch=patch,
                    actor=user.principal,
                    profile=n.profile,
                )
        except ValidationError:
            error = N_("The form lost its version number. Reload the record and edit again.")
        except InvalidInput as exc:
            errors = forms.service_errors(exc)
        except Conflict:
            error = N_(
                "Someone saved this record meanwhile. Reload it and apply your change again."
            )
        else:
            return RedirectResponse(f"/incidents/{incident_id}?saved=1", status_code=303)
    return _form_page(
        request, user, values=values, errors=errors, error=error, incident=row, status_code=422
    )
