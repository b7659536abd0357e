"""Desk pages: the crossings board with the month's charts, a crossing's page, the day's patrol
plan on a map and in tables (and the form that plans a day), and what is exchanged with each
partner."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from sarhad.border.api import BorderNode, node
from sarhad.core.auth import Permission
from sarhad.core.db import utcnow
from sarhad.core.errors import ConfigError, InvalidInput, NotFound, SarhadError
from sarhad.crossings.board import board
from sarhad.crossings.places import places
from sarhad.patrols import service as patrols
from sarhad.patrols.game import SolverFailed
from sarhad.patrols.routes import PlanIn, plan_and_store
from sarhad.patrols.runner import PlanCancelled, PlannerBusy
from sarhad.web import auth, desk_views, i18n
from sarhad.web.i18n import N_
from sarhad.web.incident_forms import message
from sarhad.web.incident_pages import form_values
from sarhad.web.labels import LABELS
from sarhad.web.pages import PAGE_SIZE, PageForbidden, check_csrf, page_user, render

router = APIRouter(include_in_schema=False)

#: Strings crossings-charts.js needs (besides reason, status and side names).
CHART_STRINGS = {
    "days_closed": N_("Days closed by reason"),
    "throughput": N_("Daily throughput"),
    "vehicles": N_("Vehicles"),
    "trucks": N_("Trucks"),
    "pedestrians": N_("Pedestrians"),
    "days": N_("Days"),
    "no_data": N_("No figures for this month."),
    "load_error": N_("Could not load the month's figures."),
}
#: Strings patrol-map.js needs.
PATROL_STRINGS = {
    "sector": N_("Sector"),
    "coverage": N_("Shifts with a patrol, expected"),
    "risk_planned": N_("Risk when planned"),
    "risk_now": N_("Risk now"),
    "patrol": N_("Patrol"),
    "shift": N_("Shift"),
    "team": N_("Team"),
    "partner_team": N_("Partner team"),
    "coordinated": N_("Coordinated patrol"),
    "warning": N_("Deconfliction warning"),
    "km": N_("km"),
    "all_shifts": N_("All shifts"),
    "shown": N_("{n} patrols shown"),
    "load_error": N_("Could not load the plan."),
}
WEEKDAYS = {
    "mon": N_("Monday"),
    "tue": N_("Tuesday"),
    "wed": N_("Wednesday"),
    "thu": N_("Thursday"),
    "fri": N_("Friday"),
    "sat": N_("Saturday"),
    "sun": N_("Sunday"),
}
PATROL_KINDS = {
    "own": N_("Our team"),
    "partner": N_("Partner's team"),
    "coordinated": N_("Coordinated"),
}


def _strings(lang: str, extra: dict[str, str], given: dict[str, str] | None = None) -> str:
    """The page's #i18n JSON block: script strings plus reason, status, level and side names
    (``given``: strings already in the page's language, e.g. place names)."""
    tr = i18n.gettext_for(lang)
    out = {key: tr(text) for key, text in extra.items()} | (given or {})
    for group, prefix in (
        ("reason", "reason_"),
        ("crossing_status", "status_"),
        ("impact", "level_"),
        ("side", "side_"),
    ):
        out.update({f"{prefix}{k}": tr(v) for k, v in LABELS[group].items()})
    out.update({f"kind_{k}": tr(v) for k, v in PATROL_KINDS.items()})
    return json.dumps(out, ensure_ascii=False).replace("<", "\\u003c")


def _not_found(request: Request, user: auth.WebUser, message: str) -> HTMLResponse:
    return render(request, "notfound.html", user=user, status_code=404, message=message)


# --- crossings -----------------------------------------------------------------------------


@router.get("/crossings", response_class=HTMLResponse)
def crossing_board(
    request: Request,
    user: Annotated[auth.WebUser, Depends(page_user("/crossings"))],
    month: str | None = None,
) -> HTMLResponse:
    """Both sides' status of every crossing and market now, and the month's figures."""
    n: BorderNode = node(request)
    lang, _ = i18n.choose(request)
    now = utcnow()
    month = month or f"{now:%Y-%m}"
    errors: dict[str, str] = {}
    report = None
    with n.db.session() as session:
        rows = board(session, profile=n.profile, side=n.settings.node_side, at=now, lang=lang)
        try:
            report = desk_views.month_figures(
                session, profile=n.profile, settings=n.settings, month=month, now=now
            )
        except InvalidInput:
            errors["month"] = N_("Enter a month as YYYY-MM.")
    names = {p.id: p.name(lang) for p in places(n.profile)}
    return render(
        request,
        "crossings.html",
        user=user,
        rows=rows,
        month=month,
        report=report,
        names=names,
        errors=errors,
        i18n_json=_strings(lang, CHART_STRINGS, {f"place_{k}": v for k, v in names.items()}),
    )


@router.get("/crossings/{crossing_id}", response_class=HTMLResponse)
def crossing_page(
    request: Request,
    crossing_id: str,
    user: Annotated[auth.WebUser, Depends(page_user("/crossings"))],
) -> HTMLResponse:
    """One crossing or market: both sides now, each side's hours, recent declarations."""
    n: BorderNode = node(request)
    lang, _ = i18n.choose(request)
    try:
        with n.db.session() as session:
            detail = desk_views.crossing_detail(
                session,
                profile=n.profile,
                side=n.settings.node_side,
                crossing_id=crossing_id,
                at=utcnow(),
                lang=lang,
            )
    except InvalidInput:
        return _not_found(request, user, N_("No crossing or market has that name."))
    return render(request, "crossing.html", user=user, d=detail, r=detail.row, weekdays=WEEKDAYS)


# --- patrols -------------------------------------------------------------------------------


def _plan_context(plan: Any, lang: str) -> dict[str, Any]:
    return {
        "plan": plan,
        "sectors": desk_views.plan_sectors(plan),
        "patrols": desk_views.plan_patrols(plan),
        "conflicts": desk_views.plan_conflicts(plan, lang),
        "notes": patrols.plan_notes(plan.summary or {}, lang),
        "shifts": list(plan.summary.get("shifts") or []),
        "kinds": PATROL_KINDS,
        "i18n_json": _strings(lang, PATROL_STRINGS),
    }


#: The plan form's inputs, in the order the page shows them.
PLAN_FIELDS = ("day", "teams", "coordinated", "partner_teams")
BAD_DAY = N_("Enter a date as YYYY-MM-DD.")
BAD_TEAMS = N_(
    "Enter a whole number from %(least)s to %(most)s, or leave it empty for the default."
)
#: The day is outside the planning window (SARHAD_PATROL_DAYS_BACK / _AHEAD).
DAY_OUT_OF_RANGE = N_("Choose a day from %(first)s to %(last)s.")
DAY_RANGE_HINT = N_("Plans can be made for days from %(first)s to %(last)s.")
#: The schema's own bounds of teams (PlanIn), when the node's cannot be read.
SCHEMA_TEAMS = (1, 1000)
#: The service's ``InvalidInput`` by field → what the form says there (its own text is English).
PLAN_SERVICE_ERRORS = {
    "teams": N_("Too few teams: every patrol base needs at least one team per shift."),
    "partner_teams": N_("Too few teams: every patrol base needs at least one team per shift."),
    "coordinated": N_(
        "No patrol bases of the partner's side are configured, so no coordinated plan can be "
        "made. Plan our side alone, or ask the administrator to add the partner's bases."
    ),
}
#: A page-level error when the node's patrol settings (not the form) stop the plan.
PLAN_SETUP_ERROR = N_(
    "The plan could not be made: this node's patrol settings are incomplete or wrong. Ask the "
    "administrator to check the patrol configuration (patrols.toml); the details are below."
)
PLAN_FAILED = N_("The plan could not be made. Check the details below and try again.")
#: A 503: the solver's time or memory ran out, or the node is busy with other plans.
PLAN_TOO_BIG = N_(
    "The plan could not be solved within the time and memory this node allows. Try fewer "
    "teams, or a plan that is not coordinated; the details are below."
)


def _can_plan(user: auth.WebUser) -> bool:
    """The API's rule for ``POST /api/v1/patrols/plans`` (``Planner``), read from the role."""
    return user.principal.can(Permission.PATROLS_PLAN)


def _planner(user: auth.WebUser) -> auth.WebUser:
    """The user, if the role may plan; else the 403 page."""
    if not _can_plan(user):
        raise PageForbidden(user, N_("Your role may not plan patrols."))
    return user


def _bounds(n: BorderNode) -> patrols.PlanBounds | None:
    """What a plan may ask for on this node (days, teams of each side; the configured teams
    are the defaults); None when the configuration cannot be read (the form still works:
    planning then reports the configuration error)."""
    try:
        return patrols.plan_bounds(n.settings, n.profile)
    except ConfigError:
        return None


def _team_range(bounds: patrols.PlanBounds | None, name: str) -> tuple[int, int]:
    """(least, most) teams for the form's input ``name`` (teams or partner_teams)."""
    allowed = None
    if bounds is not None:
        allowed = bounds.teams if name == "teams" else bounds.partner_teams
    if allowed is None or allowed.most is None:
        return SCHEMA_TEAMS
    return allowed.least, allowed.most


def _limits(bounds: patrols.PlanBounds | None) -> dict[str, Any]:
    """The form's min/max attributes and the defaults named in its hints."""
    return {
        "first_day": bounds.first_day.isoformat() if bounds else None,
        "last_day": bounds.last_day.isoformat() if bounds else None,
        "teams": _team_range(bounds, "teams"),
        "partner_teams": _team_range(bounds, "partner_teams"),
        "ours": bounds.teams.configured if bounds else None,
        "partner": bounds.partner_teams.configured if bounds and bounds.partner_teams else 0,
    }


def _bad_teams(lang: str, bounds: patrols.PlanBounds | None, name: str) -> str:
    least, most = _team_range(bounds, name)
    return i18n.gettext_for(lang)(BAD_TEAMS) % {"least": least, "most": most}


def parse_plan(
    values: dict[str, str], *, lang: str = i18n.DEFAULT, bounds: patrols.PlanBounds | None = None
) -> tuple[PlanIn | None, dict[str, str]]:
    """``PlanIn`` from the form, or None and the errors by input name."""
    data = {
        "day": values.get("day", "").strip() or None,
        "teams": values.get("teams", "").strip() or None,
        "coordinated": bool(values.get("coordinated")),  # a checkbox: sent only when ticked
        "partner_teams": values.get("partner_teams", "").strip() or None,
    }
    if data["day"] is None:
        # PlanIn's day has no default: None would read as "not a date"; say it is needed.
        return None, {"day": message("missing", "")}
    try:
        return PlanIn.model_validate(data), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for e in exc.errors():
            field = str(e["loc"][0]) if e["loc"] else "day"
            if field == "day":
                text = BAD_DAY  # pydantic's date messages name parser internals
            elif field in ("teams", "partner_teams") and e["type"] in (
                "greater_than_equal",
                "less_than_equal",
            ):
                text = _bad_teams(lang, bounds, field)
            else:
                text = message(e["type"], e["msg"])
            errors.setdefault(field if field in PLAN_FIELDS else "day", text)
        return None, errors


def _service_error(
    field: str, data: PlanIn, lang: str, bounds: patrols.PlanBounds | None
) -> str | None:
    """What the form says for the service's error on ``field``; None: not the form's (the
    node's set-up)."""
    if field == "day" and bounds is not None:
        first, last = bounds.first_day.isoformat(), bounds.last_day.isoformat()
        return i18n.gettext_for(lang)(DAY_OUT_OF_RANGE) % {"first": first, "last": last}
    if field in ("teams", "partner_teams"):
        asked = data.teams if field == "teams" else data.partner_teams
        least, _most = _team_range(bounds, field)
        if asked is not None and asked < least:
            return PLAN_SERVICE_ERRORS[field]
        return _bad_teams(lang, bounds, field)
    return PLAN_SERVICE_ERRORS.get(field)


def _patrols_page(
    request: Request,
    user: auth.WebUser,
    *,
    day: str | None,
    plan_values: dict[str, str] | None = None,
    plan_errors: dict[str, str] | None = None,
    plan_error: str | None = None,
    plan_detail: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The patrols page: the chosen day's latest plan, the stored plans, and (for planners)
    the form that plans a day, with its values and errors when it came back."""
    n: BorderNode = node(request)
    lang, _ = i18n.choose(request)
    errors: dict[str, str] = {}
    chosen = utcnow().date()
    if day:
        try:
            chosen = date.fromisoformat(day)
        except ValueError:
            errors["day"] = BAD_DAY
    can_plan = _can_plan(user)
    context: dict[str, Any] = {"plan": None}
    with n.db.session() as session:
        plans = patrols.list_plans(session, limit=PAGE_SIZE)
        of_day = patrols.list_plans(session, day=chosen, limit=1) if not errors else []
        if of_day:
            context = _plan_context(of_day[0], lang)
        rows = [
            {
                "id": p.id,
                "day": p.day,
                "side": p.side,
                "coordinated": p.coordinated,
                "patrols": len(p.patrols),
                "conflicts": len(p.conflicts or []),
                "created_at": p.created_at,
                "created_by": p.created_by,
            }
            for p in plans
        ]
        return render(
            request,
            "patrols.html",
            user=user,
            status_code=status_code,
            rows=rows,
            day=day if errors else chosen.isoformat(),
            errors=errors,
            can_plan=can_plan,
            # The form plans the day on show unless it came back with the officer's own values.
            plan_values=plan_values if plan_values is not None else {"day": chosen.isoformat()},
            plan_errors=plan_errors or {},
            plan_error=plan_error,
            plan_detail=plan_detail,
            limits=_limits(_bounds(n)) if can_plan else None,
            **context,
        )


@router.get("/patrols", response_class=HTMLResponse)
def patrol_plans(
    request: Request,
    user: Annotated[auth.WebUser, Depends(page_user("/patrols"))],
    day: str | None = None,
) -> HTMLResponse:
    """The latest plan of the chosen day (today by default) and the stored plans."""
    return _patrols_page(request, user, day=day)


@router.post("/patrols/plan", response_class=HTMLResponse)
async def plan_day(
    request: Request,
    user: Annotated[auth.WebUser, Depends(page_user("/patrols"))],
    values: Annotated[dict[str, str], Depends(form_values)],
) -> Response:
    """Plan a day as ``POST /api/v1/patrols/plans`` does (the same bounds, limits and child
    process, stopped if the officer leaves) and show the new plan; or the patrols page again
    with the form's values kept and the errors by field (422), or what to try (503)."""
    check_csrf(request, user, values.get("csrf_token"))
    _planner(user)
    n: BorderNode = node(request)
    lang, _ = i18n.choose(request)
    bounds = await run_in_threadpool(_bounds, n)
    data, errors = parse_plan(values, lang=lang, bounds=bounds)
    error = detail = None
    status_code = 422
    if data is not None:
        try:
            plan = await plan_and_store(request, actor=user.principal, data=data)
        except InvalidInput as exc:
            for e in exc.errors:
                text = _service_error(e.field, data, lang, bounds)
                if text is not None:
                    errors.setdefault(e.field, text)
                else:  # bases, shifts, node_side...: the node's set-up, not the form
                    error, detail = PLAN_SETUP_ERROR, str(exc)
        except ConfigError as exc:
            error = PLAN_SETUP_ERROR
            detail = f"{exc.message} ({exc.hint})" if exc.hint else exc.message
        except (SolverFailed, PlannerBusy) as exc:
            error, status_code = PLAN_TOO_BIG, exc.status_code
            detail = f"{exc.message} ({exc.hint})" if exc.hint else exc.message
        except PlanCancelled:
            raise  # the officer left: nobody reads an answer
        except SarhadError as exc:
            error, detail = PLAN_FAILED, exc.message
        else:
            return RedirectResponse(f"/patrols/{plan['id']}?made=1", status_code=303)
    shown = data.day.isoformat() if data is not None else None

    def page() -> HTMLResponse:
        return _patrols_page(
            request,
            user,
            day=shown,
            plan_values=values,
            plan_errors=errors,
            plan_error=error,
            plan_detail=detail,
            status_code=status_code,
        )

    return await run_in_threadpool(page)


@router.get("/patrols/{plan_id}", response_class=HTMLResponse)
def patrol_plan(
    request: Request,
    plan_id: str,
    user: Annotated[auth.WebUser, Depends(page_user("/patrols"))],
    made: str | None = None,
) -> HTMLResponse:
    """One stored plan: the map, coverage beside risk, the patrols and the warnings (with a
    notice when the plan form just made it)."""
    lang, _ = i18n.choose(request)
    with node(request).db.session() as session:
        try:
            plan = patrols.get_plan(session, plan_id=plan_id)
        except NotFound:
            return _not_found(request, user, N_("No patrol plan has that id."))
        return render(
            request,
            "patrol.html",
            user=user,
            made=bool(made),
            **_plan_context(plan, lang),
        )


# --- sharing -------------------------------------------------------------------------------


@router.get("/sharing", response_class=HTMLResponse)
def sharing_partners(
    request: Request, user: Annotated[auth.WebUser, Depends(page_user("/sharing"))]
) -> HTMLResponse:
    """Per partner: the terms, what was sent and received, what is withheld, the quarantine,
    its signing keys; and this node's own keys with the fingerprints to read out."""
    n = node(request)
    with n.db.session() as session:
        lang, _ = i18n.choose(request)
        views = desk_views.partner_views(session, now=utcnow(), lang=lang)
        return render(
            request,
            "sharing.html",
            user=user,
            rows=views,
            keys=desk_views.key_views(session, data_dir=n.settings.data_dir),
            days=desk_views.EXCHANGE_DAYS,
            preview_limit=desk_views.PREVIEW_LIMIT,
        )
