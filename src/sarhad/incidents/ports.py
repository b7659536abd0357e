"""Ports of the incidents room: what rooms above it tell about an incident (``core.ports``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class SignaturePort:
    """Whether a record received from a partner came signed by its originator, by which node
    and key: ``of(session, incident_id)`` answers a dict (``federation.inbox.signature_of``)
    or None for a record of our own."""

    of: Callable[[Session, str], dict[str, Any] | None]
