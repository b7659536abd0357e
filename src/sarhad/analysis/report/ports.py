"""What the monthly report needs from the web room above it (wired by ``sarhad.node``).

Why a port: the report's words live in the console's message catalogue and its fonts in the
console's font build (both in ``sarhad.web``, above analysis). Analysis may not import web,
so the wiring hands them down; the report then renders the PDF itself, in one place.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReportPorts:
    """The console's catalogue (per language), its code labels and its font files."""

    catalog: Callable[[str], gettext.NullTranslations]
    labels: Mapping[str, Mapping[str, str]]
    fonts: Path  # the folder of the console's .woff2 files
    fonts_css: Path  # the console's @font-face rules (file names and unicode ranges)
