"""Web console pages: server-rendered HTML over the rooms' service functions.

Routes stay thin: find the signed-in user, check the role by ROLE_PERMISSIONS (the same
``Principal`` the API uses), call a service, render a template. Every state-changing form
carries the CSRF token; a page the role may not see answers 403 with a readable page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sarhad.border.api import BorderNode, node
from sarhad.core.auth import Permission, Principal
from sarhad.core.clients import client_address
from sarhad.core.db import utcnow
from sarhad.web import auth, i18n
from sarhad.web.i18n import N_
from sarhad.web.labels import LABELS
from sarhad.web.map_labels import map_strings, towns_json

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@dataclass(frozen=True)
class NavItem:
    """A page of the console and the permission needed to see it."""

    path: str
    label: str
    permission: Permission


NAV = (
    NavItem("/", N_("Map"), Permission.BORDER_READ),
    NavItem("/incidents", N_("Incidents"), Permission.INCIDENTS_READ),
    NavItem("/alerts", N_("Alerts"), Permission.ALERTS_READ),
    NavItem("/patrols", N_("Patrols"), Permission.PATROLS_READ),
    NavItem("/crossings", N_("Crossings"), Permission.CROSSINGS_READ),
    NavItem("/news", N_("News"), Permission.INCIDENTS_READ),
    NavItem("/reports", N_("Reports"), Permission.RISK_READ),
    NavItem("/sharing", N_("Sharing"), Permission.SHARING_READ),
)
PAGE_PERMISSION = {item.path: item.permission for item in NAV}


class SignInRequired(Exception):
    """No valid session: the browser is sent to the sign-in page."""


class PageForbidden(Exception):
    """The role may not see this page, or a form came without its CSRF token."""

    def __init__(self, user: auth.WebUser | None, message: str) -> None:
        super().__init__(message)
        self.user = user
        self.message = message


# --- sessions ------------------------------------------------------------------------------


def _https(request: Request) -> bool:
    return request.url.scheme == "https"


def _current(request: Request) -> auth.WebUser | None:
    """The signed-in user of this request's cookie (looked up once per request)."""
    if hasattr(request.state, "web_user"):
        return request.state.web_user
    n: BorderNode = node(request)
    now = utcnow()
    with n.db.session() as session:
        user = auth.find(session, request.cookies.get(auth.SESSION_COOKIE), now=now)
    if user is not None and auth.needs_touch(user, now):
        with n.db.session() as session:  # a separate write transaction (see core.db)
            auth.touch(session, session_id=user.session_id, now=now)
    request.state.web_user = user
    return user


def session_port(request: Request) -> tuple[Principal, str] | None:
    """The ``WebSession`` port: the API's view of a signed-in browser."""
    user = _current(request)
    return (user.principal, user.csrf) if user else None


def signed_in(request: Request) -> auth.WebUser:
    """A dependency: the signed-in user, or a redirect to the sign-in page."""
    user = _current(request)
    if user is None:
        raise SignInRequired()
    return user


def page_user(path: str) -> Any:
    """A dependency: the signed-in user allowed to see the page at ``path``."""
    permission = PAGE_PERMISSION[path]

    def dependency(user: Annotated[auth.WebUser, Depends(signed_in)]) -> auth.WebUser:
        if not user.principal.can(permission):
            raise PageForbidden(user, N_("Your role may not open this page."))
        return user

    return dependency


def check_csrf(request: Request, user: auth.WebUser, sent: str | None) -> None:
    """Refuse a state-changing request whose CSRF token (field or header) is not the session's."""
    token = sent or request.headers.get("X-CSRF-Token")
    if not auth.same(token, user.csrf):
        raise PageForbidden(user, N_("The form was not sent from this console. Reload the page."))


# --- rendering -----------------------------------------------------------------------------


def _lang_links(request: Request) -> dict[str, str]:
    """The current page in each language (the switch keeps filters)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return {
        code: f"{request.url.path}?{urlencode([*kept, ('lang', code)])}" for code in i18n.LANGUAGES
    }


def render(
    request: Request,
    template: str,
    *,
    user: auth.WebUser | None,
    status_code: int = 200,
    csrf: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` in the request's language; remember a switched language."""
    lang, switched = i18n.choose(request)
    n: BorderNode = node(request)
    env = i18n.environments()[lang]
    nav = [item for item in NAV if user and user.principal.can(item.permission)]
    html = env.get_template(template).render(
        lang=lang,
        dir=i18n.direction(lang),
        languages=i18n.LANGUAGES,
        lang_links=_lang_links(request),
        user=user,
        csrf=csrf if csrf is not None else (user.csrf if user else ""),
        nav=nav,
        path=request.url.path,
        labels=LABELS,
        node_name=n.settings.node_name,
        node_side=n.settings.node_side,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"  # pages show live, role-scoped data
    if switched:
        response.set_cookie(
            i18n.LANG_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            path="/",
            httponly=True,
            samesite="strict",
            secure=_https(request),
        )
    return response


def _safe_next(target: str | None) -> str:
    """Only a path on this node (no open redirect to another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# --- sign-in -------------------------------------------------------------------------------


def _signin_page(
    request: Request, *, error: str | None = None, retry_at: datetime | None = None, status: int
) -> HTMLResponse:
    token = request.cookies.get(auth.SIGNIN_COOKIE) or auth.new_token()
    response = render(
        request,
        "signin.html",
        user=None,
        csrf=token,
        status_code=status,
        error=error,
        retry_at=retry_at,
        next=_safe_next(request.query_params.get("next")),
    )
    response.set_cookie(
        auth.SIGNIN_COOKIE,
        token,
        path="/signin",
        httponly=True,
        samesite="strict",
        secure=_https(request),
    )
    return response


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request) -> Response:
    """The sign-in form (a signed-in user goes straight on)."""
    if _current(request) is not None:
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    return _signin_page(request, status=200)


@router.post("/signin", response_class=HTMLResponse)
def signin(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password, open a session and go to ``next``; slow down repeated failures."""
    if not auth.same(csrf_token, request.cookies.get(auth.SIGNIN_COOKIE)):
        return _signin_page(
            request, error=N_("The form expired. Please sign in again."), status=403
        )
    address = client_address(request)  # the socket's peer unless a trusted proxy forwards
    with node(request).db.session() as session:
        result = auth.sign_in(
            session, username=username.strip(), password=password, address=address
        )
    if result.token is None:
        error = N_("Too many failed attempts.") if result.retry_at else None
        return _signin_page(
            request,
            error=error or N_("Wrong user name or password."),
            retry_at=result.retry_at,
            status=429 if result.retry_at else 401,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        result.token,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_https(request),
    )
    response.delete_cookie(auth.SIGNIN_COOKIE, path="/signin")
    return response


@router.post("/signout")
def signout(
    request: Request,
    user: Annotated[auth.WebUser, Depends(signed_in)],
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """End the session: the row is deleted and the cookie cleared."""
    check_csrf(request, user, csrf_token)
    with node(request).db.session() as session:
        auth.sign_out(session, user=user)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(
        auth.SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_https(request)
    )
    return response


# --- pages ---------------------------------------------------------------------------------


def places_of(n: BorderNode) -> dict[str, Any]:
    return {p.id: p for p in [*n.profile.crossings, *n.profile.markets]}


@router.get("/", response_class=HTMLResponse)
def situation_map(
    request: Request, user: Annotated[auth.WebUser, Depends(page_user("/"))]
) -> HTMLResponse:
    """The situation map: the border, sector risk, crossings and incidents (drawn by map.js)."""
    n: BorderNode = node(request)
    lang, _ = i18n.choose(request)
    return render(
        request,
        "map.html",
        user=user,
        tiles_url=n.settings.tiles_url,
        sides=n.profile.sides,
        i18n_json=map_strings(lang),
        towns_json=towns_json(n.profile, lang),
    )


def parse_day(raw: str | None, field: str, errors: dict[str, str]) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.combine(date.fromisoformat(raw), time(), tzinfo=UTC)
    except ValueError:
        errors[field] = N_("Enter a date as YYYY-MM-DD.")
        return None


# --- wiring --------------------------------------------------------------------------------


def install(app: FastAPI) -> None:
    """Mount the pages and turn their refusals into a redirect or a readable 403 page."""

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?{urlencode({'next': here})}", status_code=303)

    @app.exception_handler(PageForbidden)
    async def _forbidden(request: Request, exc: PageForbidden) -> Response:
        return render(
            request, "forbidden.html", user=exc.user, status_code=403, message=exc.message
        )

    # Imported here, not at the top: those modules import their helpers from this one.
    from sarhad.web import (
        alert_pages,
        desk_pages,
        incident_pages,
        link_pages,
        news_pages,
        report_pages,
    )

    app.include_router(router)
    for pages in (incident_pages, link_pages, alert_pages, desk_pages, news_pages, report_pages):
        app.include_router(pages.router)
