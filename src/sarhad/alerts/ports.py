"""What the alerts room needs from rooms above it, passed in as plain data and callables.

Alerts sit below sharing and federation (import-linter layers), so the partner's terms and
incidents are handed in by the app or CLI that wires the rooms (``core.ports``). The courier
that carries alerts is woken through the node (``Node.wake``) or the console's ``Courier``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

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
    """Callables that wire alerts to the partner directory and to incidents."""

    #: The partner by name (``None``: the only active partner); raises NotFound/InvalidInput.
    counterpart: Callable[[Session, str | None], Counterpart]
    #: Which of these incident ids this node holds.
    known_incidents: Callable[[Session, Iterable[str]], set[str]]
