"""A background thread that runs one function every few seconds, or at once when woken."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("sarhad.worker")


class Periodic:
    """Run ``fn`` every ``interval_s`` seconds and whenever ``wake()`` is called.

    A failure is logged and the loop goes on: the work it does keeps its state in the
    database, so the next round picks up whatever the failed one left.
    """

    def __init__(self, name: str, interval_s: float, fn: Callable[[], object]) -> None:
        self.name, self.interval_s, self.fn = name, interval_s, fn
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sarhad-{name}", daemon=True)

    def start(self) -> None:
        """Start the thread (no-op when the interval is 0: the worker is switched off)."""
        if self.interval_s > 0 and not self._thread.is_alive():
            self._thread.start()

    @property
    def running(self) -> bool:
        """Whether this process runs the loop now (started, not stopped)."""
        return self._thread.is_alive() and not self._stop.is_set()

    def wake(self) -> None:
        """Run a round now instead of at the next tick."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to end and wait for the current round (at most ``timeout`` s)."""
        stop_all([self], timeout=timeout)

    def _signal(self) -> None:
        self._stop.set()
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.fn()
            except Exception:  # the loop must outlive any one failure; details go to the log
                log.exception("%s round failed", self.name)


def stop_all(loops: list[Periodic], *, timeout: float) -> None:
    """Ask every loop to end at once, then wait at most ``timeout`` seconds for all of them.

    A round still running then is left to die with the process (the threads are daemons):
    its work is in a database transaction, which is rolled back, and the next start redoes it.
    """
    for loop in loops:
        loop._signal()
    deadline = time.monotonic() + timeout
    for loop in loops:
        if loop._thread.is_alive():
            loop._thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if loop._thread.is_alive():
            log.warning("%s round still running at stop; left to end with the process", loop.name)
