"""Python's cyclic garbage collector held off while a batch is built, then back as it was.

Why: storing a page of a partner's objects allocates hundreds of thousands of containers
(parsed objects, checked models, rows, SQL parameters) that live until the page is stored.
The collector counts them as they are made and, every few hundred, walks the young ones;
those that outlive two walks are promoted and, once enough are, trigger a walk of *every*
object the process holds. At 100,000 objects an ingest spent about a fifth of its CPU time
there (docs/benchmarks.md, TAXII), finding almost nothing: what a page allocates is freed by
reference counting when the page is done. Holding the collector off for the page and letting
it run as usual afterwards keeps its work to about one young walk per page. Cyclic garbage
made meanwhile is not lost: the collector finds it at its next run, after the page.

Re-entrant and thread-safe: the collector comes back when the last holder lets go, and only
if it was on when the first one began (``gc.disable()`` by someone else is respected).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["held_off"]

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def held_off() -> Iterator[None]:
    """No automatic cyclic collection while the block runs (reference counting still frees).

    >>> import gc
    >>> with held_off():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
