"""FastAPI plumbing every room's routes share: node state, authentication, errors as JSON."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from sarhad.core import i18n
from sarhad.core.auth import Permission, Principal, authenticate
from sarhad.core.config import Settings
from sarhad.core.db import Database
from sarhad.core.errors import FieldError, Forbidden, InvalidInput, SarhadError, validation_text
from sarhad.core.i18n import Text, message
from sarhad.core.ports import CourierPort, Ports

log = logging.getLogger("sarhad.api")
#: What a client is told to wait before sending again when the database does not answer.
RETRY_AFTER_S = 5


ProfileT = TypeVar("ProfileT")
T = TypeVar("T")


@dataclass(frozen=True)
class WebSession:
    """The port through which the API accepts a signed-in web console (core may not import web).

    ``recognise(request)`` gives the session's (principal, CSRF token), or None.
    """

    recognise: Callable[[Request], tuple[Principal, str] | None]


@dataclass
class Node(Generic[ProfileT]):
    """What a running node holds: its settings, database, border profile and wiring.

    Generic in the profile because core imports no room: rooms that read it take the node from
    ``sarhad.border.api.node``, typed ``Node[BorderProfile]``. ``ports`` holds what the app
    wires into rooms that may not import each other, each fetched by its class with ``port``
    (e.g. ``n.port(AlertPorts)``); ``wake()`` is the one way to tell the courier that
    something waits to go to a partner.
    """

    settings: Settings
    db: Database
    profile: ProfileT
    ports: Ports = field(default_factory=Ports)
    courier: CourierPort = field(default_factory=CourierPort)

    def port(self, kind: type[T]) -> T:
        """The port of class ``kind`` the app wired (``MissingPort`` if it wired none)."""
        return self.ports.get(kind)

    def wake(self) -> None:
        """Tell the courier that something waits to go to a partner (after the commit)."""
        self.courier.wake()


def node(request: Request) -> Node[object]:
    """The node serving this request (its profile typed: ``sarhad.border.api.node``)."""
    found: Node[object] = request.app.state.node
    return found


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


#: Methods that change nothing; every other method needs the CSRF header under a cookie.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"


def caller(request: Request) -> Principal:
    """The authenticated caller, whatever its role (a dependency).

    A bearer token wins; without one, a web console session cookie is accepted through the
    ``WebSession`` port, and then any unsafe method must carry the session's CSRF token in
    ``X-CSRF-Token`` (a cookie is sent by the browser on its own, a header is not).
    """
    n = node(request)
    token = _bearer(request)
    web_session = n.ports.find(WebSession)
    if token is None and web_session is not None:
        found = web_session.recognise(request)
        if found is not None:
            principal, csrf = found
            if request.method not in SAFE_METHODS:
                sent = request.headers.get(CSRF_HEADER, "")
                if not sent or not secrets.compare_digest(sent, csrf):
                    raise Forbidden(
                        message(
                            "auth.csrf",
                            "the {header} header is missing or does not match this session",
                            header=CSRF_HEADER,
                        ),
                        hint=message(
                            "auth.csrf.hint", "send the token from the page's csrf-token meta tag"
                        ),
                    )
            return principal
    with n.db.session() as session:
        return authenticate(session, token)


def require(permission: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that authenticates the caller and checks ``permission``.

    The caller is a dependency of its own, so other dependencies of the same request that
    need it (``core.idempotency``) get it without a second look-up. The check itself is a
    coroutine: it waits on nothing, so it runs in the event loop, not on a request thread.
    """

    async def dependency(principal: Annotated[Principal, Depends(caller)]) -> Principal:
        principal.require(permission)
        return principal

    return dependency


class Replay(Exception):
    """Answer with a stored reply instead of running the request (``core.idempotency``)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"replay of a stored {status} reply")
        self.status = status
        self.body = body


#: Set on a reply that repeats a stored one.
REPLAYED_HEADER = "Idempotent-Replayed"


def error_body(
    code: str,
    message: str,
    *,
    hint: str | None = None,
    fields: list[dict[str, Any]] | None = None,
    text: Text | None = None,
    lang: str | None = None,
) -> dict[str, Any]:
    """The one error shape of the API: ``message`` in the request's language (``lang``), with
    the message's own ``message_code`` and ``params`` beside it to word it otherwise."""
    body: dict[str, Any] = {"code": code, "message": message}
    if text is not None:
        body["message_code"] = text.code
        body["params"] = text.as_json()["params"]
    if lang is not None:
        body["lang"] = lang
    if hint:
        body["hint"] = hint
    if fields:
        body["fields"] = fields
    return {"error": body}


class FieldProblem(BaseModel):
    """One problem with one input field."""

    field: str
    message: str
    message_code: str | None = None
    params: dict[str, Any] | None = None


class ErrorDetail(BaseModel):
    """What went wrong, and what to do next."""

    code: str
    message: str
    message_code: str | None = None
    params: dict[str, Any] | None = None
    lang: str | None = None
    hint: str | None = None
    fields: list[FieldProblem] | None = None


class ErrorBody(BaseModel):
    """The one error shape of the API (every 4xx and 5xx)."""

    error: ErrorDetail


#: What each error status of the API means, for the OpenAPI document.
ERROR_STATUSES: dict[int, str] = {
    400: "The body is not valid JSON (or not the media type the route reads)",
    401: "No valid token: send `Authorization: Bearer <token>`",
    403: "The caller's role may not do this",
    404: "No such record (or the caller may not know it exists)",
    409: "The request clashes with the stored state (a stale version, a step not allowed now)",
    422: "A parameter or body field is invalid; `fields` names each one",
    502: "The partner node answered with something that is not TAXII",
    503: "A partner node or the planner could not do it now; try again later",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route or router: the error statuses it can give, with their body."""
    return {s: {"model": ErrorBody, "description": ERROR_STATUSES[s]} for s in statuses}


def media(*types: str, description: str = "Successful Response") -> dict[int | str, Any]:
    """``responses=`` entry for a 200 that may come as other media types (CSV, GeoJSON, PNG)."""
    return {200: {"description": description, "content": {t: {} for t in types}}}


#: The methods ``Allow`` may name, in the order it names them.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of this app serves at the request's path (for ``Allow``)."""
    routes = request.app.router.routes
    served = [
        method
        for method in METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]
    return [*served, "OPTIONS"]


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def request_language(request: Request) -> str:
    """The language to word an error in: the console's (cookie ``sarhad_lang``, as the
    console's scripts call the API), else ``Accept-Language``, else English."""
    return (
        i18n.normalise(request.cookies.get("sarhad_lang"))
        or i18n.from_accept_language(request.headers.get("accept-language"))
        or i18n.DEFAULT
    )


def field_problem(e: FieldError, lang: str) -> dict[str, Any]:
    """One field's problem for the error JSON, worded in ``lang``, with its code when coded."""
    problem: dict[str, Any] = {"field": e.field, "message": e.in_(lang)}
    if e.text is not None:
        problem["message_code"] = e.text.code
        problem["params"] = e.text.as_json()["params"]
    return problem


def install_error_handlers(app: FastAPI) -> None:
    """Map every failure to a JSON error with a status code; never a traceback."""

    @app.exception_handler(SarhadError)
    async def _sarhad(request: Request, exc: SarhadError) -> JSONResponse:
        lang = request_language(request)
        fields = (
            [field_problem(e, lang) for e in exc.errors] if isinstance(exc, InvalidInput) else None
        )
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(
            error_body(
                type(exc).__name__,
                exc.in_(lang),
                hint=exc.hint_in(lang),
                fields=fields,
                text=exc.text,
                lang=lang,
            ),
            status_code=exc.status_code,
            headers=headers,
        )

    @app.exception_handler(Replay)
    async def _replay(_request: Request, exc: Replay) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status, headers={REPLAYED_HEADER: "true"})

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        lang = request_language(request)
        fields = [
            field_problem(
                FieldError(
                    _field_path(tuple(e.get("loc", ()))),
                    str(e.get("msg", "invalid")).removeprefix("Value error, "),
                    validation_text(e),
                ),
                lang,
            )
            for e in exc.errors()
        ]
        message = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        return JSONResponse(
            error_body("InvalidInput", message, fields=fields, lang=lang), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # The router names only the first route at the path; a path can have several (GET
            # and POST /incidents), and HTTP wants all of them in Allow. OPTIONS asks just that.
            headers["Allow"] = ", ".join(allowed_methods(request))
            if request.method == "OPTIONS":
                return Response(status_code=204, headers=headers)
        message = str(exc.detail)
        if exc.status_code == 400 and message == "There was an error parsing the body":
            message = "the body is not valid JSON"
        return JSONResponse(
            error_body("HTTPError", message), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def _database_away(request: Request, exc: Exception) -> JSONResponse:
        # The database restarting, unreachable or busy: nothing the client did, and nothing
        # was written (the transaction did not commit), so the same request may be sent again.
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            error_body(
                "Unavailable",
                "the node's database does not answer now",
                hint="nothing was saved; send the same request again in a few seconds",
            ),
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body(
                "InternalError",
                "the node failed to handle this request",
                hint="the node's log has the details; report it to the node's admin",
            ),
            status_code=500,
        )
