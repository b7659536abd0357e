"""Health for load balancers and operators: ``/healthz``, ``/readyz`` and ``/metrics``.

* ``/healthz``: the process answers (200). It touches nothing else, so a slow database never
  makes a load balancer kill a process that is fine.
* ``/readyz``: this process can serve: the database answers within ``READY_TIMEOUT_S`` and its
  schema is at the head this code expects. 503 names the failing check. It also says which
  background loops this process runs, whether it runs background work at all (and why not),
  and which leases it holds. Neither says anything a stranger could use: no
  addresses, no error texts, no data.
* ``/metrics``: Prometheus text (``core.metrics``). Open to callers on this machine (the
  Prometheus agent beside the node), to anyone when the setting ``metrics_open`` is on (a
  private monitoring network), otherwise only with a token whose role has ``metrics:read``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from sarhad.core.api import ErrorBody, caller, node
from sarhad.core.auth import Permission
from sarhad.core.db import Database
from sarhad.core.errors import Unavailable
from sarhad.core.i18n import message
from sarhad.core.metrics import NodeMetrics, is_loopback, statement_timeout

#: Most seconds ``/readyz`` waits for the database (a load balancer's probe has its own timeout).
READY_TIMEOUT_S = 2.0


class Loop(BaseModel):
    """A background loop of this process."""

    name: str
    running: bool
    interval_s: float


class Check(BaseModel):
    """One readiness check: passed or not, and what it found."""

    ok: bool
    detail: str


class Readiness(BaseModel):
    """Whether this process can serve, check by check, and the loops it runs."""

    status: Literal["ready", "not ready"]
    failing: list[str]
    checks: dict[str, Check]
    loops: list[Loop]
    workers: str = Field(description="Whether this process runs background work, or why not")
    leases: list[str] = Field(description="The leases this process holds (e.g. sync:<partner>)")


class Alive(BaseModel):
    """The process answers."""

    status: Literal["ok"]


@dataclass
class Health:
    """What ``/readyz`` checks: the database and schema head, and this process's loops.

    ``head`` is the Alembic revision this code expects (the app reads it from the migrations,
    which core may not import); ``loops()`` gives the loops this process runs.
    """

    db: Database
    head: str
    loops: Callable[[], list[Loop]] = list
    leases: Callable[[], list[str]] = list
    workers: Callable[[], str] = lambda: "on"
    timeout_s: float = READY_TIMEOUT_S
    _pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="sarhad-ready")
    )
    _pending: Future[str | None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def readiness(self) -> Readiness:
        """Run the checks, each bounded by ``timeout_s``."""
        checks: dict[str, Check] = {}
        started = time.perf_counter()
        with self._lock:  # a check still waiting on a hung database is joined, not repeated
            if self._pending is None or self._pending.done():
                self._pending = self._pool.submit(self._revision)
            future = self._pending
        try:
            revision = future.result(timeout=self.timeout_s)
        except FutureTimeout:
            checks["database"] = Check(ok=False, detail=f"no answer within {self.timeout_s:g} s")
        except SQLAlchemyError:
            checks["database"] = Check(ok=False, detail="unreachable")
        else:
            ms = (time.perf_counter() - started) * 1000
            checks["database"] = Check(ok=True, detail=f"answered in {ms:.0f} ms")
            checks["schema"] = (
                Check(ok=True, detail=f"at head {self.head}")
                if revision == self.head
                else Check(ok=False, detail=f"at {revision or 'none'}, this code needs {self.head}")
            )
        if "schema" not in checks:
            checks["schema"] = Check(ok=False, detail="not checked: no database")
        failing = [name for name, c in checks.items() if not c.ok]
        return Readiness(
            status="not ready" if failing else "ready",
            failing=failing,
            checks=checks,
            loops=self.loops(),
            workers=self.workers(),
            leases=self.leases(),
        )

    def _revision(self) -> str | None:
        with self.db.session() as session:
            statement_timeout(session, self.timeout_s)
            session.execute(text("SELECT 1"))
            rows = session.execute(text("SELECT version_num FROM alembic_version")).all()
        return str(rows[0][0]) if len(rows) == 1 else None


router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Alive)
def healthz() -> dict[str, str]:
    """Liveness: the process answers. No token, no database."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: `failing` names the checks"}},
)
def readyz(request: Request) -> Any:
    """Readiness: the database answers and is at the schema head; the loops this process runs.

    No token (load balancers ask it); it shows no data, addresses or error texts.
    """
    found = node(request).port(Health).readiness()
    if found.failing:
        return JSONResponse(found.model_dump(), status_code=503)
    return found


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format (docs/operations.md lists the metrics)",
            "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
        },
        401: {"model": ErrorBody, "description": "Not on this machine: send an admin token"},
        403: {"model": ErrorBody, "description": "The token's role may not read metrics"},
        503: {"model": ErrorBody, "description": "The token could not be checked now"},
    },
)
def metrics(request: Request) -> Response:
    """The node's metrics. Open on loopback or with the setting `metrics_open`; otherwise a
    token with `metrics:read` (admin)."""
    n = node(request)
    if not (n.settings.metrics_open or _from_this_machine(request)):
        _authorised(request)
    body = generate_latest(n.port(NodeMetrics).registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


#: Headers a reverse proxy adds: a request that carries one was relayed for someone else.
RELAYED = ("x-forwarded-for", "forwarded", "x-real-ip")


def _from_this_machine(request: Request) -> bool:
    """A caller on the node's own machine, not relayed by a proxy.

    Why the headers: a proxy on the same machine connects from loopback for the whole
    world; when ``trusted_proxies`` is not set, the server keeps that loopback address.
    """
    if any(h in request.headers for h in RELAYED):
        return False
    return is_loopback(request.client.host if request.client else None)


def _authorised(request: Request) -> None:
    """A caller from elsewhere needs a token allowed ``metrics:read``."""
    try:
        principal = caller(request)
    except SQLAlchemyError:
        raise Unavailable(
            message(
                "metrics.no_database", "the token cannot be checked: the database does not answer"
            ),
            hint=message(
                "metrics.no_database.hint",
                "scrape from the node's own machine, or set metrics_open on a private network",
            ),
        ) from None
    principal.require(Permission.METRICS_READ)
