"""Two (or three) real nodes on loopback that know each other as partners."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from support import LiveNode, introduce


@dataclass
class Pair:
    pk: LiveNode
    ir: LiveNode


@pytest.fixture
def pair(spawn: Callable[..., LiveNode]) -> Pair:
    pk, ir = spawn("pk-node", "PK"), spawn("ir-node", "IR")
    introduce(pk, ir)
    return Pair(pk=pk, ir=ir)
