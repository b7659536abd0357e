"""Alert tests: the sample alert (the ``desks`` fixture is in tests/conftest.py)."""

from __future__ import annotations

from support import Desks, wait_for

__all__ = ["ALERT", "Desks", "wait_for"]  # the alert tests import these from here

ALERT = {
    "priority": "immediate",
    "kind": "smuggling_movement",
    "text": "Convoy of six pickups heading south towards the line near Taftan",
    "location": {"lon": 61.6, "lat": 28.95},
}
