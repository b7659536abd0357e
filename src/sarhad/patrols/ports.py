"""What the patrols room needs from rooms above it (risk from analysis, notices from alerts).

Patrols sit beside incidents and alerts and below analysis (import-linter layers), so the app
or CLI hands these callables in; the room itself takes plain data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from sarhad.patrols.planner import Notice


@dataclass(frozen=True)
class RiskView:
    """Sector risk as the planner needs it: score and impact level by sector id."""

    scores: dict[str, float]
    levels: dict[str, str]


@dataclass
class PatrolPorts:
    """Callables that wire the planner to sector risk and to the partner's notices."""

    #: Risk at a moment from incidents of an origin: None all, "local" ours, "partner" theirs.
    risk: Callable[[Session, datetime, str | None], RiskView]
    #: Deconfliction notices from partners valid at some time in [start, end).
    notices: Callable[[Session, datetime, datetime], list[Notice]]
