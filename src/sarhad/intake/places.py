"""The border region's gazetteer (data/gazetteer.csv) and place resolution in article text.

Generic NER mislabels local places (Saravan as a nationality, Turbat as a person), so places
are matched against a curated list first; no model is involved.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data") / "gazetteer.csv"

#: Words that put an ambiguous name on the Iranian side (Pishin at the Mand–Pishin crossing).
_IR_CONTEXT = re.compile(
    r"\b(iran\w*|sistan|baluchestan|saravan|rask|sarbaz|chabahar|zahedan|mand|irgc|"
    r"border guards?|tasnim|irna|mehr|press tv|tehran|rials?)\b",
    re.IGNORECASE,
)
_PK_CONTEXT = re.compile(
    r"\b(quetta|khanozai|huramzai|saranan|killa abdullah|qila abdullah|chaman|levies|"
    r"northern balochistan|pishin district)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Place:
    """One gazetteer row."""

    name: str
    kind: str  # district | town | crossing | province
    district: str | None
    province: str
    side: str
    lat: float
    lon: float


@dataclass(frozen=True)
class PlaceHit:
    """A place named in the text at [start, end)."""

    place: Place
    start: int
    end: int


@cache
def gazetteer() -> tuple[tuple[str, tuple[Place, ...]], ...]:
    """(spelling, places it may mean), longest spelling first so that "Sib and Suran" wins."""
    by_name: dict[str, list[Place]] = {}
    with DATA.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            place = Place(
                name=row["name"],
                kind=row["kind"],
                district=row["district"] or None,
                province=row["province"],
                side=row["side"],
                lat=float(row["lat"]),
                lon=float(row["lon"]),
            )
            for spelling in {row["name"], *filter(None, row["aliases"].split("|"))}:
                by_name.setdefault(spelling, []).append(place)
                if spelling.isascii():  # datelines write towns in capitals: "PANJGUR:"
                    by_name.setdefault(spelling.upper(), []).append(place)
    return tuple(
        (k, tuple(v)) for k, v in sorted(by_name.items(), key=lambda kv: (-len(kv[0]), kv[0]))
    )


@cache
def _pattern() -> re.Pattern[str]:
    names = [re.escape(k) for k, _ in gazetteer()]
    # \b does not work next to Arabic-script letters the same way; lookarounds on letters do.
    return re.compile(r"(?<![\w])(" + "|".join(names) + r")(?![\w])")


def _choose(options: tuple[Place, ...], text: str) -> Place:
    """One reading of a name that exists on both sides, from the article's context."""
    if len(options) == 1:
        return options[0]
    ir = len(_IR_CONTEXT.findall(text))
    pk = len(_PK_CONTEXT.findall(text))
    side = "IR" if ir > pk else "PK"
    return next((p for p in options if p.side == side), options[0])


def find_places(text: str, *, context: str | None = None) -> list[PlaceHit]:
    """Every gazetteer place named in ``text``, in order; ``context`` decides ambiguous names."""
    index = dict(gazetteer())
    return [
        PlaceHit(_choose(index[m.group(1)], context or text), m.start(1), m.end(1))
        for m in _pattern().finditer(text)
    ]
