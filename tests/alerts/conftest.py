"""Two real nodes on loopback with their courier and escalation loops running."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from support import LiveNode, introduce

FAST = {"courier_poll_s": 0.2, "escalation_check_s": 0.2}


@dataclass
class Desks:
    pk: LiveNode
    ir: LiveNode


@pytest.fixture
def desks(spawn: Callable[..., LiveNode]) -> Desks:
    """Pakistan's and Iran's nodes, partners of each other, serving with their workers."""
    pk = spawn("pk-node", "PK", workers=True, **FAST)
    ir = spawn("ir-node", "IR", workers=True, **FAST)
    introduce(pk, ir)
    return Desks(pk=pk, ir=ir)


def wait_for(check: Callable[[], Any], *, timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy (real nodes take real time)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


ALERT = {
    "priority": "immediate",
    "kind": "smuggling_movement",
    "text": "Convoy of six pickups heading south towards the line near Taftan",
    "location": {"lon": 61.6, "lat": 28.95},
}
