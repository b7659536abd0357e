"""core.collector.held_off: re-entrant, thread-safe, and it leaves the collector as it found it."""

from __future__ import annotations

import gc
import threading

import pytest

from sarhad.core.collector import held_off


def test_nested_and_concurrent_holders_bring_it_back_once_the_last_lets_go() -> None:
    assert gc.isenabled()
    entered, release = threading.Event(), threading.Event()

    def other() -> None:
        with held_off():
            entered.set()
            release.wait(5)

    t = threading.Thread(target=other)
    with held_off():
        t.start()
        assert entered.wait(5)
        with held_off():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other thread still holds it off
    release.set()
    t.join(5)
    assert gc.isenabled()


def test_an_error_inside_still_brings_it_back() -> None:
    with pytest.raises(RuntimeError), held_off():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_switched_off_by_someone_else_stays_off() -> None:
    gc.disable()
    try:
        with held_off():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
