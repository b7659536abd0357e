"""What the monthly report needs from the web room above it (wired by ``sarhad.node``).

Why a port: the report's words live in the console's message catalogue and its fonts in the
console's font build (both in ``sarhad.web``, above analysis). Analysis may not import web,
so the wiring hands them down; the report then renders the PDF itself, in one place.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from sarhad.core.markings import TLP

#: (partner, incident id, when it was put in the partner's collection).
Shared = tuple[str, str, datetime]


#: (session, partner, month, scopes, withheld families, marking, actor) → whether a new
#: version was made: federation keeps our figures for the partner and publishes them.
SendFigures = Callable[
    [Session, str, str, Mapping[str, Mapping[str, float]], Sequence[str], TLP, str], bool
]


def _nothing_shared(_session: Session, _start: datetime, _end: datetime) -> list[Shared]:
    return []


def _nothing_held(_session: Session, _partner: str, _ids: Sequence[str]) -> set[str]:
    return set()


def _nothing_received(_session: Session, _month: str) -> dict[str, dict[str, Any]]:
    return {}


def _cannot_send(
    _session: Session, partner: str, _month: str, _scopes: Mapping[str, Mapping[str, float]],
    _withheld: Sequence[str], _tlp: TLP, _actor: str,
) -> bool:  # fmt: skip
    raise RuntimeError(f"no federation wired: figures for {partner} cannot be sent")


@dataclass(frozen=True)
class ReportPorts:
    """The console's catalogue (per language), its code labels, its font files, and what
    federation shared."""

    catalog: Callable[[str], gettext.NullTranslations]
    labels: Mapping[str, Mapping[str, str]]
    fonts: Path  # the folder of the console's .woff2 files
    fonts_css: Path  # the console's @font-face rules (file names and unicode ranges)
    #: Our incidents first shared with each partner in [start, end) (federation, same floor
    #: as analysis: handed in, not imported).
    shared: Callable[[Session, datetime, datetime], list[Shared]] = field(default=_nothing_shared)
    #: Which of our incident ids a partner holds (its collection's latest, not withdrawn).
    held: Callable[[Session, str, Sequence[str]], set[str]] = field(default=_nothing_held)
    #: Keep our month's figures for a partner, to be published to it (joint report).
    send_figures: SendFigures = field(default=_cannot_send)
    #: Partner → the figures it sent for a month (``scopes``, ``withheld``, ``modified``,
    #: ``version``).
    received: Callable[[Session, str], dict[str, dict[str, Any]]] = field(default=_nothing_received)
