"""The ASGI application: ``create_app(settings)`` mounts every room's router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from sarhad import __version__
from sarhad.alerts import service as alerts
from sarhad.alerts.routes import router as alerts_router
from sarhad.analysis.routes import router as analysis_router
from sarhad.border import profile_from_settings
from sarhad.border.routes import router as border_router
from sarhad.core.api import Node, install_error_handlers
from sarhad.core.config import Settings, load_settings
from sarhad.core.db import Database
from sarhad.core.feed import router as feed_router
from sarhad.core.routes import router as core_router
from sarhad.core.worker import Periodic
from sarhad.federation.courier import Courier
from sarhad.federation.routes import router as federation_router
from sarhad.federation.taxii import router as taxii_router
from sarhad.incidents.link_routes import router as links_router
from sarhad.incidents.routes import router as incidents_router
from sarhad.node import alert_ports, feed_sources, patrol_ports
from sarhad.patrols.routes import router as patrols_router
from sarhad.sharing.routes import router as sharing_router

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    """Build a node's API. Settings are read here (not at import), so each app has its own."""
    settings = settings or load_settings()
    db = db or Database(settings.effective_database_url)
    profile = profile_from_settings(settings)
    carrier = Courier(db, settings=settings, profile=profile)
    courier = Periodic("courier", settings.courier_poll_s, carrier.round)
    escalation = Periodic(
        "escalation", settings.escalation_check_s, lambda: alerts.run_escalation(db)
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The courier and escalation run with the server: alerts go out the moment they are
        # written, and deadlines are checked even when nobody has the console open.
        courier.start()
        escalation.start()
        try:
            yield
        finally:
            courier.stop()
            escalation.stop()
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
    app.state.node = Node(
        settings=settings,
        db=db,
        profile=profile,
        ports={
            "alerts": alert_ports(wake=courier.wake),
            "feed": feed_sources(),
            "patrols": patrol_ports(settings, profile),
        },
        wake=courier.wake,
    )
    install_error_handlers(app)

    api = APIRouter(prefix=API_PREFIX)
    routers = (
        core_router,
        border_router,
        incidents_router,
        links_router,
        sharing_router,
        federation_router,
        alerts_router,
        analysis_router,
        patrols_router,
        feed_router,
    )
    for router in routers:
        api.include_router(router)
    app.include_router(api)
    app.include_router(taxii_router)  # TAXII 2.1 at /taxii2/, for partner tokens only

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        """Liveness only: no data, so it needs no token."""
        return {"status": "ok"}

    return app
