"""Prometheus metrics: requests by route template, and the node's shared state read at scrape time.

Two kinds of figures, kept apart on purpose:

* **Request metrics** (``sarhad_http_*``) live in this process's memory. In a deployment of
  several processes each one exports its own; Prometheus sums them over the targets.
* **State gauges** (sync lag, outbox depth, quarantine, escalations due) are read from the
  database when Prometheus scrapes, by ``StateCollector``, so every process reports the same
  shared state and none keeps a copy that could go stale. The read is bounded in time: a
  database that is down or slow gives ``sarhad_up 0`` and no state gauges, never a 500.

Each app has its own ``CollectorRegistry`` (two nodes in one test process never mix figures).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sarhad.core.db import Database

log = logging.getLogger("sarhad.metrics")

#: Latency buckets (seconds): a page of 100 incidents should sit in the first few.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: The route label of a request no route matched (a 404 on any path): one label, not one per path.
UNMATCHED = "<unmatched>"
#: Most seconds a scrape waits for the database before it answers without the state gauges.
STATE_TIMEOUT_S = 2.0

#: One labelled value of a gauge: (label values in the order of ``StateGauge.labels``, value).
Sample = tuple[tuple[str, ...], float]


@dataclass(frozen=True)
class StateGauge:
    """A gauge whose samples are read from the database at scrape time.

    ``read(session)`` gives the samples; rooms write the readers, the app lists them (core
    imports no room).
    """

    name: str
    help: str
    labels: tuple[str, ...]
    read: Callable[[Session], Iterable[Sample]]


class RequestMetrics:
    """ASGI middleware counting requests and timing them by method, route template and status.

    The route label is the template the router matched (``/api/v1/incidents/{incident_id}``),
    never the raw path, so the number of series stays bounded whatever clients send.
    """

    def __init__(self, app: ASGIApp, *, metrics: NodeMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # an exception that escapes every handler is answered with a 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.observe(
                scope["method"], route_template(scope), status, time.perf_counter() - start
            )


def route_template(scope: Scope) -> str:
    """The path template of the route the router matched in ``scope``, or ``UNMATCHED``.

    FastAPI keeps routes of an included router under the router's own path (without the
    ``/api/v1`` prefix) in ``scope["route"]``; the full template is on the route context it
    records beside it, read first.
    """
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    path = getattr(context, "path_format", None)
    if isinstance(path, str) and path:
        return path
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    if isinstance(route, Mount):  # static files: one label for everything under the mount
        return path + "/{path}"
    return path or "/"


@dataclass
class NodeMetrics:
    """This app's registry: request metrics, and the state collector over its database."""

    db: Database
    gauges: Sequence[StateGauge] = ()
    loops: Callable[[], dict[str, bool]] = dict
    leases: Callable[[], list[str]] = list
    timeout_s: float = STATE_TIMEOUT_S
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "sarhad_http_requests",
            "HTTP requests answered by this process, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sarhad_http_request_duration_seconds",
            "Time to answer an HTTP request in this process, by method and route template",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.state = StateCollector(self)
        self.registry.register(self.state)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


class StateCollector(Collector):
    """Reads the shared state from the database at each scrape, within ``timeout_s``.

    The read runs on one thread of its own: a scrape waits for it at most ``timeout_s``, and a
    read still stuck from an earlier scrape (a database that hangs) is not joined by another,
    so a dead database never piles up threads or connections.
    """

    def __init__(self, metrics: NodeMetrics) -> None:
        self.metrics = metrics
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sarhad-metrics")
        self._pending: Future[list[Metric]] | None = None
        self._lock = threading.Lock()

    def describe(self) -> list[Metric]:
        """Nothing up front: the registry must not run a database read when this is added."""
        return []

    def collect(self) -> Iterator[Metric]:
        """``sarhad_up``, this process's loops, and the state gauges when the database answered."""
        started = time.perf_counter()
        families, error = self._read()
        up = GaugeMetricFamily(
            "sarhad_up",
            "1 when this process read the node's state from its database at this scrape, else 0",
        )
        up.add_metric([], 0.0 if families is None else 1.0)
        yield up
        took = GaugeMetricFamily(
            "sarhad_state_scrape_duration_seconds", "Time this scrape spent reading the database"
        )
        took.add_metric([], time.perf_counter() - started)
        yield took
        loops = GaugeMetricFamily(
            "sarhad_background_loop_running",
            "1 for each background loop this process runs (courier, escalation, sync)",
            labels=["loop"],
        )
        for name, running in sorted(self.metrics.loops().items()):
            loops.add_metric([name], 1.0 if running else 0.0)
        yield loops
        held = GaugeMetricFamily(
            "sarhad_lease_held",
            "1 for each lease this process holds (sync:<partner>: that partner's sync runs here)",
            labels=["lease"],
        )
        for name in self.metrics.leases():
            held.add_metric([name], 1.0)
        yield held
        if families is None:
            log.warning("metrics: the node's state was not read: %s", error)
            return
        yield from families

    def _read(self) -> tuple[list[Metric] | None, str]:
        with self._lock:
            if self._pending is None or self._pending.done():
                self._pending = self._pool.submit(self._families)
            pending = self._pending
        try:
            return pending.result(timeout=self.metrics.timeout_s), ""
        except FutureTimeout:
            return None, f"the database did not answer within {self.metrics.timeout_s:g} s"
        except Exception as exc:  # a database that is down: say so in the log, answer anyway
            return None, f"{type(exc).__name__}: {exc}"

    def _families(self) -> list[Metric]:
        db = self.metrics.db
        out: list[Metric] = []
        with db.session() as session:
            statement_timeout(session, self.metrics.timeout_s)
            for gauge in self.metrics.gauges:
                family = GaugeMetricFamily(gauge.name, gauge.help, labels=list(gauge.labels))
                for labels, value in gauge.read(session):
                    family.add_metric(list(labels), value)
                out.append(family)
        return out


def statement_timeout(session: Session, seconds: float) -> None:
    """Bound each statement of this transaction (PostgreSQL; SQLite readers never wait in WAL)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL statement_timeout = {max(1, int(seconds * 1000))}"))


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (a client address as the server saw it) is this machine."""
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
