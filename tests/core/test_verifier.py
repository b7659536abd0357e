"""Signature checks on helper processes: the same answers as in this thread, whatever
happens to a helper, and no helper outlives the process that started it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from sarhad.core import verifier
from sarhad.core.signing import covers_of, from_b64url, new_ring, sign_object
from sarhad.federation.store import canonical

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
AT = ("signature",)


def _items(n: int) -> list[verifier.Item]:
    """``n`` records as the inbox hands them over: some good, one changed after signing,
    one whose part was changed, one that has no canonical form."""
    ring = new_ring(now=T0)
    key = ring.active.public
    items = []
    for i in range(n):
        part = {"type": "location", "id": f"location--{i}", "latitude": 28.9 + i / 1000}
        obj = sign_object(
            {"type": "incident", "id": f"incident--{i}", "name": f"Convoy {i}", "count": i},
            ring,
            at=AT,
            now=T0,
            covers=covers_of([part]),
        )
        if i == 5:
            obj["name"] = "Changed on the way"
        if i == 9:
            part["latitude"] = 30.0
        if i == 13:
            obj["count"] = float("nan")  # json writes NaN; RFC 8785 has no spelling for it
        value = obj["signature"]["value"]
        signature = from_b64url(value, size=64)
        items.append((key.raw, signature, AT, canonical(obj), (canonical(part),)))
    return items


def _checked(items: list[verifier.Item], **kw: Any) -> list[verifier.Answer]:
    checks = verifier.Checks(**kw)
    for item in items:
        checks.add(item)
    return checks.results()


def test_helpers_answer_as_this_thread_does_in_order() -> None:
    items = _items(3 * verifier.CHUNK + 7)  # several chunks, spread over the helpers
    here = verifier.check_chunk(items)
    assert _checked(items) == here
    codes = [code for code, _ in here]
    assert codes[5] == verifier.BAD and codes[13] == verifier.NOT_CANONICAL
    assert codes.count(verifier.HOLDS) == len(items) - 2
    # The part changed on the way has another digest than the one the signature covers.
    assert here[9][1] != here[8][1] and all(d is not None for _, ds in here for d in ds)


def test_a_helper_killed_mid_batch_changes_no_answer(caplog: pytest.LogCaptureFixture) -> None:
    items = _items(2 * verifier.CHUNK)
    checks = verifier.Checks()
    for item in items[: verifier.CHUNK]:
        checks.add(item)
    lanes = [lane for lane in checks._lanes if lane.helper is not None]
    assert lanes, "no helper process started"
    for lane in lanes:
        assert lane.helper is not None
        os.kill(lane.helper.proc.pid, signal.SIGKILL)
        lane.helper.proc.wait(timeout=10)
    for item in items[verifier.CHUNK :]:
        checks.add(item)
    assert checks.results() == verifier.check_chunk(items)
    assert "signature helper failed" in caplog.text
    # The dead ones are not handed out again: the next batch gets live helpers.
    assert _checked(items) == verifier.check_chunk(items)
    with verifier._lock:
        assert all(h.proc.poll() is None for h in verifier._free)


def test_a_helper_that_does_not_answer_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    items = _items(verifier.CHUNK + 1)
    monkeypatch.setattr(verifier, "ANSWER_S", 1.0)
    checks = verifier.Checks()
    stopped = [lane.helper.proc for lane in checks._lanes if lane.helper is not None]
    assert stopped
    for proc in stopped:
        os.kill(proc.pid, signal.SIGSTOP)
    try:
        for item in items:
            checks.add(item)
        assert checks.results() == verifier.check_chunk(items)
    finally:
        for proc in stopped:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
    for proc in stopped:
        assert proc.wait(timeout=10) is not None  # killed, not handed out again


def test_no_helper_checks_everything_here() -> None:
    items = _items(verifier.CHUNK + 3)
    checks = verifier.Checks(helper=False)
    assert checks._lanes == []
    for item in items:
        checks.add(item)
    assert checks.results() == verifier.check_chunk(items)


def test_helpers_end_with_the_process_that_started_them(tmp_path: Any) -> None:
    script = textwrap.dedent(
        """
        import json, sys, time
        from sarhad.core import verifier
        checks = verifier.Checks()
        print(json.dumps([lane.helper.proc.pid for lane in checks._lanes]), flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        pids = json.loads(parent.stdout.readline())
        assert pids and all(_alive(p) for p in pids)
    finally:
        parent.kill()  # SIGKILL: no atexit, no clean-up of its own
        parent.wait(timeout=10)
        if parent.stdout is not None:
            parent.stdout.close()
    deadline = time.monotonic() + 20
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids), "a helper outlived its process"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False
