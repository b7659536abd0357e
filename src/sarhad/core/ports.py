"""Typed wiring: what the top of the application hands to rooms that may not import each other.

Rooms import downwards only, so a room that needs something from a room above it (the alerts
room needs the partner directory of sharing) defines a small class of callables, its *ports*,
in its own ``ports.py``, and the wiring (``sarhad.app`` for the server, ``sarhad.cli`` for
commands) builds one and puts it here. A room fetches its ports by their class, so what it gets
is typed, and a port nobody wired is a clear error instead of a ``KeyError``.

>>> from dataclasses import dataclass
>>> @dataclass
... class Greeting:
...     text: str
>>> ports = Ports(Greeting("salaam"))
>>> ports.get(Greeting).text
'salaam'
>>> ports.find(CourierPort) is None
True
>>> ports.get(CourierPort)
Traceback (most recent call last):
...
sarhad.core.ports.MissingPort: this node was not wired with CourierPort
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sarhad.core.errors import ConfigError

T = TypeVar("T")


def _nothing() -> None:
    return None


class MissingPort(ConfigError):
    """A room asked for a port that the application did not wire (a programming error)."""

    def __init__(self, kind: type[object]) -> None:
        super().__init__(
            f"this node was not wired with {kind.__qualname__}",
            hint="ports are wired in sarhad.app.create_app (server) and sarhad.cli (commands)",
        )


class Ports:
    """One object per port class; ``get(AlertPorts)`` returns the ``AlertPorts`` given."""

    def __init__(self, *ports: object) -> None:
        self._by_kind: dict[type[object], object] = {}
        for port in ports:
            self.add(port)

    def add(self, port: object) -> None:
        """Wire ``port`` under its own class (one of each: a second is a wiring mistake)."""
        kind = type(port)
        if kind in self._by_kind:
            raise ValueError(f"{kind.__qualname__} is wired twice")
        self._by_kind[kind] = port

    def find(self, kind: type[T]) -> T | None:
        """The port of class ``kind``, or None when none was wired."""
        port = self._by_kind.get(kind)
        return port if isinstance(port, kind) else None

    def get(self, kind: type[T]) -> T:
        """The port of class ``kind``; ``MissingPort`` when none was wired."""
        port = self.find(kind)
        if port is None:
            raise MissingPort(kind)
        return port

    def __contains__(self, kind: type[object]) -> bool:
        return kind in self._by_kind


@dataclass(frozen=True)
class CourierPort:
    """The one way to tell the courier that something waits to go to a partner.

    On the server ``wake`` ends the courier's wait (it sends within moments); on the console it
    delivers at once, in the command's own process. Called after the commit.
    """

    wake: Callable[[], None] = _nothing


__all__ = ["CourierPort", "MissingPort", "Ports"]
