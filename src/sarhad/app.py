"""The ASGI application: ``create_app(settings)`` mounts every room's router."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from os import PathLike
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy.orm import Session
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from sarhad import __version__
from sarhad.alerts import gauges as alert_gauges
from sarhad.alerts.deadlines import run_escalation
from sarhad.alerts.routes import router as alerts_router
from sarhad.analysis.crossings.routes import router as crossings_report_router
from sarhad.analysis.report.routes import router as report_router
from sarhad.analysis.routes import router as analysis_router
from sarhad.border import profile_from_settings
from sarhad.border.routes import router as border_router
from sarhad.core import threads
from sarhad.core.api import Node, WebSession, install_error_handlers, responses
from sarhad.core.config import Settings, load_settings
from sarhad.core.db import Database, open_database
from sarhad.core.feed import router as feed_router
from sarhad.core.health import Health, Loop
from sarhad.core.health import router as health_router
from sarhad.core.json_depth import JsonDepthLimit, api_answer
from sarhad.core.leases import LeaseKeeper
from sarhad.core.metrics import NodeMetrics, RequestMetrics, StateGauge
from sarhad.core.params import (
    CROSSINGS,
    SECTORS,
    SIDES,
    ParamsContext,
    Vocabularies,
    complete_openapi,
)
from sarhad.core.ports import CourierPort, Ports
from sarhad.core.routes import router as core_router
from sarhad.core.worker import LeasedPeriodic, Periodic, WorkerGate, stop_all
from sarhad.crossings.routes import router as crossings_router
from sarhad.federation import gauges as federation_gauges
from sarhad.federation import service as federation
from sarhad.federation.anchors import router as anchors_router
from sarhad.federation.courier import Courier
from sarhad.federation.inbox import signature_of
from sarhad.federation.routes import router as federation_router
from sarhad.federation.taxii import error_response as taxii_error
from sarhad.federation.taxii import router as taxii_router
from sarhad.incidents.link_routes import record_router as incident_links_router
from sarhad.incidents.link_routes import router as links_router
from sarhad.incidents.ports import SignaturePort
from sarhad.incidents.routes import router as incidents_router
from sarhad.intake.poller import poll as poll_news
from sarhad.intake.routes import router as news_router
from sarhad.migrations import head
from sarhad.node import (
    alert_ports,
    crossing_ports,
    feed_sources,
    patrol_ports,
    report_ports,
)
from sarhad.patrols.routes import router as patrols_router
from sarhad.patrols.runner import PlanRunner
from sarhad.sharing.routes import keys_router
from sarhad.sharing.routes import router as sharing_router
from sarhad.web import i18n as web_i18n
from sarhad.web import pages as web_pages
from sarhad.web.public_pages import router as public_router
from sarhad.web.security import SecurityHeaders

API_PREFIX = "/api/v1"
#: Where the shared parameter rules hold (core.params): the API.
PARAM_PREFIXES = (f"{API_PREFIX}/",)
STATIC_DIR = web_i18n.HERE / "static"
#: At shutdown, how long the background loops get to finish a round.
STOP_WAIT_S = 2.0


def _per_partner(read: Callable[[Session], dict[str, float] | dict[str, int]]) -> Any:
    def samples(session: Session) -> list[tuple[tuple[str, ...], float]]:
        return [((name,), float(v)) for name, v in sorted(read(session).items())]

    return samples


def _outbox(session: Session) -> list[tuple[tuple[str, ...], float]]:
    depth = alert_gauges.outbox_depth(session)
    return [(key, float(n)) for key, n in sorted(depth.items())]


#: The node's shared state in the metrics, read from the database at each scrape.
STATE_GAUGES = (
    StateGauge(
        "sarhad_sync_lag_seconds",
        "Seconds since the last successful sync round with each active partner (+Inf: never)",
        ("partner",),
        _per_partner(federation_gauges.sync_lag),
    ),
    StateGauge(
        "sarhad_outbox_depth",
        "Alert outbox rows not yet delivered to a partner, by kind (alert, alert_step)",
        ("partner", "kind"),
        _outbox,
    ),
    StateGauge(
        "sarhad_outbox_oldest_age_seconds",
        "Seconds the oldest undelivered alert outbox row for each partner has waited",
        ("partner",),
        _per_partner(alert_gauges.outbox_oldest_age),
    ),
    StateGauge(
        "sarhad_alert_duplicates_received",
        "Copies of alerts or their steps a partner sent again (stored once, counted)",
        ("partner",),
        _per_partner(alert_gauges.duplicates_received),
    ),
    StateGauge(
        "sarhad_federation_waiting_objects",
        "Objects of every type in a partner's outbound collection not yet pushed to it",
        ("partner",),
        _per_partner(federation_gauges.waiting),
    ),
    StateGauge(
        "sarhad_quarantine_objects",
        "Objects from a partner held in quarantine",
        ("partner",),
        _per_partner(federation_gauges.quarantined),
    ),
    StateGauge(
        "sarhad_escalations_due",
        "Unacknowledged alerts whose escalation deadline has passed",
        (),
        lambda session: [((), float(alert_gauges.escalations_due(session)))],
    ),
)


class Static(StaticFiles):
    """The console's files: versioned vendor builds cached for a year, our own revalidated."""

    def file_response(
        self,
        full_path: PathLike[str] | str,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """The file, with a Cache-Control by where it lies."""
        response = super().file_response(full_path, stat_result, scope, status_code)
        vendor = Path(full_path).resolve().is_relative_to((STATIC_DIR / "vendor").resolve())
        response.headers["Cache-Control"] = (
            "public, max-age=31536000, immutable" if vendor else "no-cache"
        )
        return response


def _too_deep(scope: Scope, message: str) -> Response:
    """A body nested too deep, answered in the error shape of the interface it was sent to."""
    if scope["path"].startswith("/taxii2/"):
        return taxii_error(400, "Bad Request", message)
    return api_answer(scope, message)


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    """Build a node's API. Settings are read here (not at import), so each app has its own."""
    settings = settings or load_settings()
    db = db or open_database(settings)
    profile = profile_from_settings(settings)
    carrier = Courier(db, settings=settings, profile=profile)
    courier = Periodic("courier", settings.courier_poll_s, carrier.round)
    escalation = Periodic("escalation", settings.escalation_check_s, lambda: run_escalation(db))
    # A partner's sync runs in the one process holding its lease (any number may serve).
    keeper = LeaseKeeper(db, ttl_s=settings.lease_ttl_s, renew_s=settings.lease_poll_every_s)
    syncer = LeasedPeriodic(
        "sync",
        settings.sync_interval_s,
        keeper=keeper,
        names=lambda: federation.sync_leases(db),
        fn=lambda lease: federation.sync_leased(db, lease, settings=settings, profile=profile),
        poll_s=settings.lease_poll_every_s,
    )
    loops: list[Periodic] = [courier, escalation, syncer]
    if settings.news_feeds:  # the news feeds' loop, only when some are configured
        loops.append(
            Periodic("news", settings.news_poll_s, lambda: poll_news(db, settings.news_feeds))
        )
    gate = WorkerGate(enabled=settings.workers, database_url=db.url)

    planner = PlanRunner.from_settings(settings)

    def running() -> list[Loop]:
        return [Loop(name=x.name, running=x.running, interval_s=x.interval_s) for x in loops]

    health = Health(db, head=head(), loops=running, leases=keeper.held, workers=lambda: gate.state)
    metrics = NodeMetrics(
        db, STATE_GAUGES, loops=lambda: {x.name: x.running for x in loops}, leases=keeper.held
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The loops run with the server, whatever ASGI server runs it: alerts go out the
        # moment they are written, deadlines are checked even when nobody has the console
        # open, and partners are pulled from every sync_interval_s.
        # Unless this process serves requests only (--no-workers, or a second process on an
        # SQLite file: WorkerGate says why, in the log and in /readyz).
        threads.start(_app, threads.request_threads(settings.request_threads))
        if gate.open():
            keeper.start()
            for loop in loops:
                loop.start()
        try:
            yield
        finally:
            # Stopping must take seconds whatever runs: plans being solved are killed (their
            # requests were cancelled by the server's grace period, nothing was stored) and
            # a round of the loops still running is left to end with the process.
            planner.shutdown()
            stop_all(loops, timeout=STOP_WAIT_S)
            keeper.stop()  # released: another process takes them at its next poll
            gate.close()
            carrier.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Sarhad node API",
        version=__version__,
        description=(
            "Border incidents placed on the border, with their history. Every /api/v1 route "
            "needs `Authorization: Bearer <token>` (see `sarhad users add`)."
        ),
    )
    alerts_wiring = alert_ports()
    app.state.node = Node(
        settings=settings,
        db=db,
        profile=profile,
        ports=Ports(
            alerts_wiring,
            crossing_ports(alerts_wiring),
            feed_sources(),
            patrol_ports(settings, profile),
            report_ports(),
            planner,
            SignaturePort(of=signature_of),  # received records: signed by whom, or not
            # the API accepts a signed-in console's cookie (with its CSRF header) too
            WebSession(recognise=web_pages.session_port),
            health,
            metrics,
        ),
        courier=CourierPort(wake=courier.wake),
    )
    install_error_handlers(app)
    vocabularies = Vocabularies(
        {
            SIDES: list(profile.sides),
            SECTORS: [s.id for s in profile.sectors],
            CROSSINGS: [p.id for p in (*profile.crossings, *profile.markets)],
        }
    )

    # Every API route needs a token (401) with a role that may do it (403).
    api = APIRouter(prefix=API_PREFIX, responses=responses(401, 403))
    routers = (
        core_router,
        border_router,
        incidents_router,
        links_router,
        incident_links_router,
        sharing_router,
        keys_router,
        federation_router,
        alerts_router,
        analysis_router,
        report_router,
        patrols_router,
        crossings_report_router,  # before crossings_router: /crossings/report is not a crossing
        crossings_router,
        news_router,
        feed_router,
    )
    for router in routers:
        api.include_router(router)
    app.include_router(api)
    app.include_router(health_router)  # /healthz, /readyz, /metrics: outside the token rule
    app.include_router(public_router)  # the public status page: no token, rate-limited
    app.include_router(taxii_router)  # TAXII 2.1 at /taxii2/, for partner tokens only
    app.include_router(anchors_router)  # audit anchors beside TAXII, for partner tokens only

    web_i18n.environments()  # compile the catalogs now: a broken one stops start-up
    web_pages.install(app)  # the web console: /signin, /, /incidents, /alerts, ...
    app.mount("/static", Static(directory=STATIC_DIR, check_dir=False), name="static")
    # Refuses JSON nested too deep before any route parses it (SecurityHeaders, added later,
    # wraps it).
    app.add_middleware(JsonDepthLimit, answer=_too_deep)
    app.add_middleware(SecurityHeaders, tiles_url=settings.tiles_url)
    app.add_middleware(ParamsContext, vocabularies=vocabularies, prefixes=PARAM_PREFIXES)
    # Outermost: times every request, including those the layers above refuse.
    app.add_middleware(RequestMetrics, metrics=metrics)
    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """The document with this node's sides, sectors and crossings as enums."""
        if app.openapi_schema is None:
            app.openapi_schema = complete_openapi(
                plain_openapi(), vocabularies=vocabularies, prefixes=PARAM_PREFIXES
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    return app
