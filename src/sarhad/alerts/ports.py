"""What the alerts room needs from rooms above it, passed in as plain data and callables.

Alerts sit below sharing and federation (import-linter layers), so the partner's terms and
the courier that carries alerts are handed in by the app or CLI that wires the rooms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from sarhad.alerts.schemas import DeadlineTerms
from sarhad.core.markings import TLP


@dataclass(frozen=True)
class Counterpart:
    """A partner as the alerts room sees it: who, and the agreed response deadlines."""

    partner_id: str
    name: str
    country: str
    deadlines: dict[str, DeadlineTerms]  # by priority value
    max_tlp: TLP
    active: bool = True


@dataclass
class AlertPorts:
    """Callables that wire alerts to the partner directory, incidents and the courier."""

    #: The partner by name (``None``: the only active partner); raises NotFound/InvalidInput.
    counterpart: Callable[[Session, str | None], Counterpart]
    #: Which of these incident ids this node holds.
    known_incidents: Callable[[Session, Iterable[str]], set[str]]
    #: Tell the courier there is something to deliver (called after the commit).
    wake: Callable[[], None] = field(default=lambda: None)
