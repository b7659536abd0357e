"""The threads that run requests in one process, and those that wait on partners.

Why few request threads: a request's work here is Python (the query's rows, the records, the
JSON), and Python runs one thread at a time. With the server's default of 40 threads, twenty
requests at once take turns at the GIL, and each turn waits for the running thread's switch
interval: measured on a 2-core machine, distinct 100-feature GeoJSON pages under 20
connections went from ≈ 200–240 requests/s with 40 threads to ≈ 380–480/s with 2–4
(docs/benchmarks.md, "Request threads"). More throughput comes from more processes, not
threads.

Why a second set for long waits: a request that waits on a partner over a slow link (a sync
started by hand, the partners' audit anchors) would hold one of the few request threads for
as long as the link takes; those waits run on threads of their own (``run_long``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request

T = TypeVar("T")

#: Threads for waits on partners, per process.
LONG_WAIT_THREADS = 16


def request_threads(setting: int | None) -> int:
    """The request threads of a process: the setting, else one more than the CPU cores."""
    return setting or (os.cpu_count() or 1) + 1


def start(app: FastAPI, threads: int) -> None:
    """In the server's event loop (the app's lifespan): at most ``threads`` run requests and
    their dependencies; long waits get their own limiter."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads
    app.state.long_waits = anyio.CapacityLimiter(LONG_WAIT_THREADS)


async def run_long(request: Request, func: Callable[[], T]) -> T:
    """``func()`` on a thread for long waits (a partner over a slow link), not a request's."""
    limiter = getattr(request.app.state, "long_waits", None)
    return await anyio.to_thread.run_sync(func, limiter=limiter)
