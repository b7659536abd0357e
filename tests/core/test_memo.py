"""Results reused while the change log stands still (core.memo)."""

from __future__ import annotations

import time
from collections.abc import Callable

from sarhad.core.config import Settings
from sarhad.core.db import Database
from sarhad.core.journal import record
from sarhad.core.memo import HeadMemo, change_head
from sarhad.node import init_node


def _write(db: Database, n: int) -> None:
    with db.session() as s:
        record(s, actor="test", op="create", entity="incident", entity_id=f"i-{n}", version=1)


def test_computed_once_per_change_log_head_and_again_after_a_write(db: Database) -> None:
    memo: HeadMemo[int] = HeadMemo()
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    with db.session() as s:
        assert memo.get(s, "k", compute) == 1
        assert memo.get(s, "k", compute) == 1  # reused
        assert memo.get(s, "other", compute) == 2  # another key is another result
    _write(db, 1)
    with db.session() as s:
        assert change_head(s) >= 1
        assert memo.get(s, "k", compute) == 3  # the records changed: computed again


def test_each_database_has_its_own_results(
    new_db_url: Callable[[], str], settings: Settings
) -> None:
    a = init_node(settings.model_copy(update={"database_url": new_db_url()}))
    b = init_node(settings.model_copy(update={"database_url": new_db_url()}))
    memo: HeadMemo[str] = HeadMemo()
    with a.session() as s:
        assert memo.get(s, "k", lambda: "from a") == "from a"
    with b.session() as s:  # same key, same head: still not a's result
        assert memo.get(s, "k", lambda: "from b") == "from b"
    a.dispose()
    b.dispose()


def test_results_older_than_max_age_are_computed_again(db: Database) -> None:
    memo: HeadMemo[float] = HeadMemo(max_age_s=0.05)
    with db.session() as s:
        first = memo.get(s, "k", time.monotonic)
        assert memo.get(s, "k", time.monotonic) == first
        time.sleep(0.06)
        assert memo.get(s, "k", time.monotonic) > first


def test_only_the_most_recent_entries_are_kept(db: Database) -> None:
    memo: HeadMemo[str] = HeadMemo(size=2)
    calls: list[str] = []

    def make(key: str) -> Callable[[], str]:
        def compute() -> str:
            calls.append(key)
            return key

        return compute

    with db.session() as s:
        for key in ("x", "y", "z", "x"):
            memo.get(s, key, make(key))
    assert calls == ["x", "y", "z", "x"]  # x was pushed out by z


def test_results_of_an_older_head_are_dropped_once_a_newer_one_is_computed(db: Database) -> None:
    memo: HeadMemo[str] = HeadMemo(size=8)
    with db.session() as s:
        memo.get(s, "a", lambda: "a")
        memo.get(s, "b", lambda: "b")
    _write(db, 1)
    with db.session() as s:
        memo.get(s, "a", lambda: "a again")
    kept = next(iter(memo._entries.values()))
    assert [key for key, _head in kept] == ["a"]  # "b" of the old head went with it
