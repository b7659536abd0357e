"""Desk pages: the crossings board with the month's charts, a crossing's page, the day's patrol
plan on a map and in tables, and what is exchanged with each partner."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from sarhad.core.api import Node, node
from sarhad.core.db import utcnow
from sarhad.core.errors import InvalidInput, NotFound
from sarhad.crossings import service as crossings
from sarhad.patrols import service as patrols
from sarhad.web import auth, desk_views, i18n
from sarhad.web.i18n import N_
from sarhad.web.labels import LABELS
from sarhad.web.pages import PAGE_SIZE, page_user, render

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
    "coverage": N_("Coverage (day)"),
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
    n: Node = node(request)
    lang, _ = i18n.choose(request)
    now = utcnow()
    month = month or f"{now:%Y-%m}"
    errors: dict[str, str] = {}
    report = None
    with n.db.session() as session:
        rows = crossings.board(
            session, profile=n.profile, side=n.settings.node_side, at=now, lang=lang
        )
        try:
            report = desk_views.month_figures(
                session, profile=n.profile, settings=n.settings, month=month, now=now
            )
        except InvalidInput:
            errors["month"] = N_("Enter a month as YYYY-MM.")
    names = {p.id: p.name(lang) for p in crossings.places(n.profile)}
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
    n: Node = node(request)
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
        "conflicts": desk_views.plan_conflicts(plan),
        "shifts": list(plan.summary.get("shifts") or []),
        "kinds": PATROL_KINDS,
        "i18n_json": _strings(lang, PATROL_STRINGS),
    }


@router.get("/patrols", response_class=HTMLResponse)
def patrol_plans(
    request: Request,
    user: Annotated[auth.WebUser, Depends(page_user("/patrols"))],
    day: str | None = None,
) -> HTMLResponse:
    """The latest plan of the chosen day (today by default) and the stored plans."""
    n: Node = node(request)
    lang, _ = i18n.choose(request)
    errors: dict[str, str] = {}
    chosen = utcnow().date()
    if day:
        try:
            chosen = date.fromisoformat(day)
        except ValueError:
            errors["day"] = N_("Enter a date as YYYY-MM-DD.")
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
            rows=rows,
            day=day if errors else chosen.isoformat(),
            errors=errors,
            **context,
        )


@router.get("/patrols/{plan_id}", response_class=HTMLResponse)
def patrol_plan(
    request: Request,
    plan_id: str,
    user: Annotated[auth.WebUser, Depends(page_user("/patrols"))],
) -> HTMLResponse:
    """One stored plan: the map, coverage beside risk, the patrols and the warnings."""
    lang, _ = i18n.choose(request)
    with node(request).db.session() as session:
        try:
            plan = patrols.get_plan(session, plan_id=plan_id)
        except NotFound:
            return _not_found(request, user, N_("No patrol plan has that id."))
        return render(request, "patrol.html", user=user, **_plan_context(plan, lang))


# --- sharing -------------------------------------------------------------------------------


@router.get("/sharing", response_class=HTMLResponse)
def sharing_partners(
    request: Request, user: Annotated[auth.WebUser, Depends(page_user("/sharing"))]
) -> HTMLResponse:
    """Per partner: the terms, what was sent and received, what is withheld, the quarantine."""
    with node(request).db.session() as session:
        views = desk_views.partner_views(session, now=utcnow())
        return render(
            request,
            "sharing.html",
            user=user,
            rows=views,
            days=desk_views.EXCHANGE_DAYS,
            preview_limit=desk_views.PREVIEW_LIMIT,
        )
