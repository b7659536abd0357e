"""The running node as the rooms above border see it: its profile typed as a ``BorderProfile``.

Core's ``Node`` is generic in its profile because core imports no room; the app builds a
``Node[BorderProfile]``, and this is where that type is stated once for every route.
"""

from __future__ import annotations

from typing import TypeAlias

from fastapi import Request

from sarhad.border.profile import BorderProfile
from sarhad.core.api import Node

BorderNode: TypeAlias = Node[BorderProfile]


def node(request: Request) -> BorderNode:
    """The node serving this request."""
    found: BorderNode = request.app.state.node
    return found


__all__ = ["BorderNode", "node"]
