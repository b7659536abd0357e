"""Plain values of the border room: places (crossings, markets, posts) and sectors."""

from __future__ import annotations

from dataclasses import dataclass, field

from shapely import LineString

LANGUAGES = ("en", "ur", "fa")
PLACE_KINDS = ("crossing", "market", "post")


@dataclass(frozen=True)
class Place:
    """A crossing point, border market or post from the profile.

    >>> p = Place("a-b", "crossing", {"en": "A–B", "ur": "اے–بی"}, 61.0, 28.0, {})
    >>> p.name("ur"), p.name("fa")
    ('اے–بی', 'A–B')
    """

    id: str
    kind: str  # "crossing" | "market" | "post"
    names: dict[str, str] = field(hash=False)
    lon: float
    lat: float
    # Every other key of the profile entry (twin towns, source, linked crossing...).
    extra: dict[str, object] = field(default_factory=dict, hash=False)

    def name(self, lang: str = "en") -> str:
        """The name in ``lang``, falling back to English."""
        return self.names.get(lang) or self.names["en"]


@dataclass(frozen=True)
class Sector:
    """A numbered piece of the line; ``start_km``/``end_km`` are geodesic km from the start.

    A point at exactly ``end_km`` belongs to the next sector (except at the end of the line).
    """

    id: str
    number: int
    start_km: float
    end_km: float
    geometry: LineString = field(compare=False)

    @property
    def length_km(self) -> float:
        return self.end_km - self.start_km


def sector_id(code: str, number: int) -> str:
    """Stable sector id, e.g. ``sector_id("PKIR", 7) == "PKIR-007"``."""
    return f"{code}-{number:03d}"
