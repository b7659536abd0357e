"""Background threads that run one function every few seconds, or at once when woken.

``Periodic`` runs in every process that runs background work; ``LeasedPeriodic`` runs its
work only where this process holds the work's lease (``core.leases``); ``WorkerGate`` says
whether this process runs background work at all.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

from sarhad.core.leases import Lease, LeaseKeeper, LeaseLost

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


class LeasedPeriodic(Periodic):
    """A loop whose work is split by lease: ``fn(lease)`` runs only where the lease is held.

    Every ``poll_s`` it lists the leases the work needs (``names()``, e.g. one per partner),
    takes those nobody holds (or whose holder let them expire) and runs ``fn(lease)`` for
    each one it holds that is due (every ``interval_s``, at once when newly taken or woken).
    Leases held by other processes are skipped. ``fn`` fences its writes with the lease; a
    refused write (``LeaseLost``) makes the loop stop acting on that lease. The keeper renews
    held leases from its own thread, so a long round keeps its lease.
    """

    def __init__(
        self,
        name: str,
        interval_s: float,
        *,
        keeper: LeaseKeeper,
        names: Callable[[], list[str]],
        fn: Callable[[Lease], object],
        poll_s: float,
    ) -> None:
        super().__init__(name, interval_s, lambda: None)
        self.keeper, self.names, self.work, self.poll_s = keeper, names, fn, poll_s
        self._due: dict[str, float] = {}

    def _run(self) -> None:
        woken = False
        while not self._stop.is_set():
            try:
                self._round(woken)
            except Exception:  # the loop must outlive any one failure; details go to the log
                log.exception("%s round failed", self.name)
            woken = self._wake.wait(self.poll_s)
            self._wake.clear()

    def _round(self, woken: bool) -> None:
        wanted = self.names()
        for gone in set(self.keeper.held()) - set(wanted):
            if gone.startswith(f"{self.name}:"):
                self.keeper.drop(gone)
                self._due.pop(gone, None)
        for lease_name in wanted:
            if self._stop.is_set():
                return
            had = lease_name in self.keeper.held()
            lease = self.keeper.get(lease_name)
            if lease is None:
                self._due.pop(lease_name, None)
                continue
            now = time.monotonic()
            if had and not woken and now < self._due.get(lease_name, 0.0):
                continue
            self._due[lease_name] = now + self.interval_s
            try:
                self.work(lease)
            except LeaseLost:
                self.keeper.lost(lease, "a write was refused (fenced): another process holds it")
            except Exception:
                log.exception("%s round for %s failed", self.name, lease_name)


class WorkerGate:
    """Whether this process runs background work, and why not.

    Off when asked (``--no-workers``). On SQLite, background work runs in one process per
    database file: the first process takes an OS lock (``flock``) on a file beside the
    database and holds it while it runs; another process on the same file serves requests
    only. PostgreSQL needs no such lock: leases and the outbox coordinate any number of
    processes.
    """

    def __init__(self, *, enabled: bool, database_url: str) -> None:
        self.enabled, self.database_url = enabled, database_url
        self.state = "not started"
        self._file: IO[bytes] | None = None

    @property
    def lock_path(self) -> Path | None:
        """The lock file beside an SQLite database file (None for PostgreSQL or in memory)."""
        url = make_url(self.database_url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        db_file = Path(url.database or "")
        return db_file.with_name(db_file.name + ".workers.lock")

    def open(self) -> bool:
        """Take the right to run background work; False (with ``state`` saying why) if not."""
        if not self.enabled:
            self.state = "off: started with --no-workers (serves requests only)"
            return False
        path = self.lock_path
        if path is not None:
            handle = open(path, "ab")  # noqa: SIM115  (held open for as long as the process runs)
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                self.state = (
                    f"off: another process runs the background work on this SQLite database "
                    f"(it holds {path}); this one serves requests only"
                )
                log.warning("background work NOT started: %s", self.state)
                return False
            self._file = handle
        self.state = "on"
        return True

    def close(self) -> None:
        """Give the right up (the lock file stays; only the lock is released)."""
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
