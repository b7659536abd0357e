"""Solve plans in a child process that can be stopped: at its time limit, when the client who
asked goes away, and when the server stops.

A thread cannot be killed, and HiGHS does not look up from a large LP until it is done, so the
pure part of planning (:meth:`sarhad.patrols.planner.PlanJob.run`) runs in a process of its
own: the caller reads risk and notices from the database first, hands the job over, and stores
the result itself when the child answers, so a child that is killed has written nothing.

The child is bounded three ways: HiGHS' own ``time_limit`` (the cleanest answer, a
SolverFailed from inside), the parent's wall clock (the limit plus ``GRACE_S``: it kills the
child), and kernel limits set in the child (address space: what it has at start plus
``patrol_memory_mb``; CPU time: a backstop that ends a child whose parent died without
killing it). Children come from a fork server that has the planner's modules loaded, so a
plan starts in milliseconds rather than the second a fresh interpreter needs for numpy and
scipy.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import resource
import signal
import threading
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

from starlette.concurrency import run_in_threadpool

from sarhad.core.config import Settings
from sarhad.core.errors import FieldError, InvalidInput, SarhadError
from sarhad.core.i18n import Number, Text, message
from sarhad.patrols.game import SolverFailed, out_of_time, try_smaller
from sarhad.patrols.planner import PlanJob, PlanResult

log = logging.getLogger("sarhad.patrols")

#: The parent kills a child this long after the time limit (HiGHS' own limit comes first).
GRACE_S = 5.0
#: How often the parent looks at the child and at the client.
POLL_S = 0.1


class PlannerBusy(SarhadError):
    """No plan can start now (as many as allowed are being solved, or the node is stopping)."""

    status_code = 503


class PlanCancelled(SarhadError):
    """The client went away while its plan was solved: the child was stopped, nothing stored.

    499 (as proxies log a client that closed the connection); nobody is left to read it.
    """

    status_code = 499


@dataclass(frozen=True)
class Limits:
    """What one plan's child may use."""

    time_s: float
    memory_mb: int


async def _never() -> bool:
    return False


def _step_nowhere(_msg: str) -> None:
    return None


@functools.cache
def _context() -> BaseContext:
    """The fork server (with this module and the program preloaded), or fresh interpreters
    where there is none."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["__main__", __name__])
        return ctx
    return multiprocessing.get_context("spawn")


def _lower_limit(kind: int, value: int) -> None:
    """Set a kernel resource limit to ``value`` unless it is already lower."""
    _soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, hard if hard != resource.RLIM_INFINITY else value))


def _limit_resources(limits: Limits) -> None:
    """Kernel limits for this (child) process."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            mapped = int(f.read().split()[0]) * resource.getpagesize()
    except OSError:  # no /proc: the time limits still hold
        mapped = None
    if mapped is not None:
        # What the loaded libraries already map, plus the budget: thread pools and arenas make
        # the address space of a numpy process far larger than what it uses.
        _lower_limit(resource.RLIMIT_AS, mapped + limits.memory_mb * 2**20)
    # CPU seconds: a backstop for a child nobody kills (its server died with SIGKILL); the
    # wall clock of a live parent always ends it first. The kernel sends SIGXCPU, then SIGKILL.
    _lower_limit(resource.RLIMIT_CPU, int(2 * limits.time_s + 30))


def _text(value: Any) -> Text:
    """A message that crossed the pipe: coded as it left, or worded as written."""
    return value if isinstance(value, Text) else Text("error.plain", {"text": str(value)})


def _maybe(value: Any) -> Text | None:
    return None if value is None else _text(value)


def _hint(exc: SarhadError) -> Text | str | None:
    return exc.hint_text if exc.hint_text is not None else exc.hint


def _child(conn: Connection, job: PlanJob, limits: Limits) -> None:
    """The child process: solve, send the steps and then the result (or the error) back."""
    try:
        _limit_resources(limits)
        result = job.run(step=lambda msg: conn.send(("step", msg)))
        conn.send(("done", result))
    except InvalidInput as exc:
        # Texts cross the pipe whole (code and params), to be worded in the reader's language.
        conn.send(("invalid", [(e.field, e.text or e.message) for e in exc.errors], _hint(exc)))
    except SarhadError as exc:  # SolverFailed and the like: (message, *, hint)
        conn.send(("error", type(exc), exc.text, _hint(exc), getattr(exc, "timed_out", False)))
    except MemoryError:
        conn.send(("memory",))
    except Exception:  # a bug: the parent logs it and answers 500
        conn.send(("crash", traceback.format_exc()))
    finally:
        conn.close()


@dataclass
class _Run:
    """One child at work."""

    process: BaseProcess
    conn: Connection
    deadline: float


class PlanRunner:
    """Starts, watches and stops the children that solve plans (one per plan)."""

    def __init__(self, *, time_limit_s: float, memory_mb: int, parallel: int) -> None:
        self.limits = Limits(time_limit_s, memory_mb)
        self.parallel = parallel
        self._lock = threading.Lock()
        self._running: dict[int, BaseProcess] = {}
        self._closed = False

    @classmethod
    def from_settings(cls, settings: Settings) -> PlanRunner:
        return cls(
            time_limit_s=settings.patrol_time_limit_s,
            memory_mb=settings.patrol_memory_mb,
            parallel=settings.patrol_parallel,
        )

    def pids(self) -> list[int]:
        """Process ids of the children at work now."""
        with self._lock:
            return [p.pid for p in self._running.values() if p.pid is not None]

    def _start(self, job: PlanJob) -> _Run:
        with self._lock:
            if self._closed:
                raise PlannerBusy(
                    message("patrols.stopping", "the node is stopping"),
                    hint=message("patrols.stopping.hint", "plan again when it is back"),
                )
            if len(self._running) >= self.parallel:
                raise PlannerBusy(
                    message(
                        "patrols.busy",
                        "{count} plans are being solved on this node now (SARHAD_PATROL_PARALLEL)",
                        count=len(self._running),
                    ),
                    hint=message("patrols.busy.hint", "try again when one is done"),
                )
            ctx = _context()
            reader, writer = ctx.Pipe(duplex=False)
            process = ctx.Process(
                target=_child, args=(writer, job, self.limits), name="sarhad-plan", daemon=True
            )
            process.start()
            writer.close()  # the child's end: a child that dies is then an EOF here
            assert process.pid is not None
            self._running[process.pid] = process
        return _Run(process, reader, time.monotonic() + self.limits.time_s + GRACE_S)

    def _died(self, run: _Run) -> SolverFailed:
        run.process.join(timeout=2)
        code = run.process.exitcode
        why = {
            -signal.SIGKILL: message("patrols.died.killed", "it was killed (out of memory?)"),
            -signal.SIGXCPU: message("patrols.died.cpu", "it used up its CPU time"),
        }.get(code or 0) or message("patrols.died.exit", "exit code {code}", code=code)
        return SolverFailed(
            message(
                "patrols.died",
                "the planner stopped without an answer ({why}); each plan may use "
                "{memory} MB and {seconds} s",
                why=why,
                memory=self.limits.memory_mb,
                seconds=Number(f"{self.limits.time_s:g}"),
            ),
            hint=try_smaller(),
        )

    def _answer(self, reply: tuple[Any, ...]) -> PlanResult:
        kind = reply[0]
        if kind == "done":
            result: PlanResult = reply[1]
            return result
        if kind == "invalid":
            _, errors, hint = reply
            raise InvalidInput([FieldError(f, _text(m)) for f, m in errors], hint=_maybe(hint))
        if kind == "error":
            _, cls, text, hint, timed_out = reply
            exc = cls(_text(text), hint=_maybe(hint))
            if timed_out:  # the time limit, not numerical trouble (see game.SolverFailed)
                exc.timed_out = True
            raise exc
        if kind == "memory":
            raise SolverFailed(
                message(
                    "patrols.memory",
                    "the patrol plan needs more than the {memory} MB a plan may use",
                    memory=self.limits.memory_mb,
                ),
                hint=try_smaller(),
            )
        raise RuntimeError(f"the planner failed in its process:\n{reply[1]}")

    def _check(self, run: _Run, step: Callable[[str], None]) -> PlanResult | None:
        """The result when the child has given it; None while it works; raises on a failure
        or past the time limit."""
        while run.conn.poll():
            try:
                got = run.conn.recv()
            except EOFError:  # the child ended without a word
                raise self._died(run) from None
            if got[0] == "step":
                step(got[1])
                continue
            return self._answer(got)
        if time.monotonic() > run.deadline:
            raise out_of_time(self.limits.time_s)
        return None

    def _reap(self, run: _Run) -> None:
        """Kill the child if it still works, wait for it, forget it."""
        with contextlib.suppress(ValueError):  # already closed by shutdown
            if run.process.is_alive():
                run.process.kill()
            run.process.join(timeout=5)
        run.conn.close()
        with self._lock:
            self._running.pop(run.process.pid or 0, None)

    async def run(
        self,
        job: PlanJob,
        *,
        gone: Callable[[], Awaitable[bool]] = _never,
        step: Callable[[str], None] = _step_nowhere,
    ) -> PlanResult:
        """Solve ``job`` in a child; stop it (PlanCancelled) as soon as ``gone()`` says the
        client left, and whenever this task is cancelled (the server stopping)."""
        run = await run_in_threadpool(self._start, job)  # the first start forks the server
        try:
            while (result := self._check(run, step)) is None:
                if await gone():
                    raise PlanCancelled(
                        message(
                            "patrols.cancelled",
                            "the client went away: the plan was stopped and nothing stored",
                        )
                    )
                await asyncio.sleep(POLL_S)
            return result
        finally:
            self._reap(run)

    def run_sync(self, job: PlanJob, *, step: Callable[[str], None] = _step_nowhere) -> PlanResult:
        """Solve ``job`` in a child and wait (the CLI; Ctrl-C stops the child too)."""
        run = self._start(job)
        try:
            while (result := self._check(run, step)) is None:
                run.conn.poll(POLL_S)
            return result
        finally:
            self._reap(run)

    def shutdown(self) -> None:
        """Kill every child at work and refuse new plans (the server is stopping)."""
        with self._lock:
            self._closed = True
            running = list(self._running.values())
        for process in running:
            with contextlib.suppress(ValueError):
                if process.is_alive():
                    process.kill()
        for process in running:
            with contextlib.suppress(ValueError):
                process.join(timeout=2)
        if running:
            log.info("stopped %d patrol plan(s) being solved", len(running))
