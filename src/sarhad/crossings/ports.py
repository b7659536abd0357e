"""What the crossings room needs from rooms above it (the partner directory), handed in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sarhad.alerts.ports import AlertPorts


@dataclass
class CrossingPorts:
    """Wiring for closure and reopening alerts."""

    alerts: AlertPorts
    #: Names of the active partners whose agreement shares crossing status.
    partners: Callable[[Session], list[str]]
