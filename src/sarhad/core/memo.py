"""Results reused while the change log stands still.

Every write to the records goes through the change log (``core.journal``), so its highest
sequence number is a version of everything a read can see. A costly read that many people
make (the situation map's points, the risk map) is computed once per version and reused by
the next caller instead of being computed again for each officer who opens the map.

Entries belong to one database engine (held weakly: a closed node's entries go with it); a
memo keeps only its few most recent entries, and none of an older head once a newer one is
computed. ``max_age_s`` bounds how old a result may
be for reads that depend on the clock as well (risk decays with time).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from sarhad.core.journal import ChangeLog

T = TypeVar("T")
#: An entry's key: the caller's key and the change head it was computed at.
_Key = tuple[Hashable, int]


def change_head(session: Session) -> int:
    """The change log's highest sequence number (0 when empty)."""
    return int(session.execute(select(func.max(ChangeLog.seq))).scalar() or 0)


class HeadMemo(Generic[T]):
    """Up to ``size`` results per engine, each valid for one change-log head."""

    def __init__(self, *, size: int = 4, max_age_s: float | None = None) -> None:
        self.size = size
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._entries: weakref.WeakKeyDictionary[Engine, OrderedDict[_Key, tuple[float, T]]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, session: Session, key: Hashable, compute: Callable[[], T]) -> T:
        """The result for ``key`` at the current head, computed by ``compute`` when missing."""
        bind = session.get_bind()
        engine = bind if isinstance(bind, Engine) else bind.engine  # a session on a connection
        full: _Key = (key, change_head(session))
        with self._lock:
            entries = self._entries.setdefault(engine, OrderedDict())
            hit = entries.get(full)
        if hit is not None and (
            self.max_age_s is None or time.monotonic() - hit[0] < self.max_age_s
        ):
            with self._lock:
                if full in entries:  # another caller may have pushed it out meanwhile
                    entries.move_to_end(full)
            return hit[1]
        # Computed outside the lock: two callers may both compute; the result is the same.
        value = compute()
        with self._lock:
            # The head only grows: results of an older one can never be asked for again.
            for stale in [k for k in entries if k[1] < full[1]]:
                del entries[stale]
            entries[full] = (time.monotonic(), value)
            entries.move_to_end(full)
            while len(entries) > self.size:
                entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every entry (tests; a setting that changes results)."""
        with self._lock:
            self._entries.clear()
