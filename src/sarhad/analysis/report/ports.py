"""What the monthly report needs from the web room above it (wired by ``sarhad.node``).

Why a port: the report's words live in the console's message catalogue and its fonts in the
console's font build (both in ``sarhad.web``, above analysis). Analysis may not import web,
so the wiring hands them down; the report then renders the PDF itself, in one place.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

#: (partner, incident id, when it was put in the partner's collection).
Shared = tuple[str, str, datetime]


def _nothing_shared(_session: Session, _start: datetime, _end: datetime) -> list[Shared]:
    return []


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
