"""The border profile: the line, its sectors, crossings, markets and posts, and ``locate``.

>>> profile = load_profile()  # the shipped Pakistan–Iran profile
>>> loc = profile.locate(61.58661, 28.94687)  # Taftan town
>>> loc.side, loc.nearest_crossing
('PK', 'taftan-mirjaveh')
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, timedelta, timezone, tzinfo
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from shapely import LineString
from shapely.geometry.base import BaseGeometry

from sarhad.border.geo import Polyline
from sarhad.border.loader import read_profile
from sarhad.border.locate import LocatedArrays, Location, Locator, check_range
from sarhad.border.model import Place, Sector, sector_id
from sarhad.core.errors import ConfigError, FieldError, InvalidInput, NotFound
from sarhad.core.i18n import Number, Text, message

if TYPE_CHECKING:
    from sarhad.core.config import Settings

DEFAULT_PROFILE = "pk-ir"
#: A profile that names no limit: how far from the line a record may lie (km).
DEFAULT_MAX_KM_FROM_LINE = 150.0
# A crossing farther than this from the line is almost surely a typo (e.g. lon/lat swapped).
MAX_CROSSING_OFFSET_KM = 10.0


class BorderProfile:
    """One border: the oriented line, sectors, places and the locate engine.

    Build it with :func:`load_profile`; the constructor takes already-checked data.
    """

    def __init__(
        self,
        *,
        id: str,
        code: str,
        names: dict[str, str],
        sides: dict[str, BaseGeometry],
        line: LineString,
        sector_length_km: float,
        crossings: list[Place],
        markets: list[Place] | None = None,
        posts: list[Place] | None = None,
        folder: Path | None = None,
        time_zones: dict[str, tzinfo] | None = None,
        max_km_from_line: float = DEFAULT_MAX_KM_FROM_LINE,
    ) -> None:
        self.id = id
        self.code = code
        self.names = dict(names)
        self.sides: tuple[str, str] = tuple(sides)  # type: ignore[assignment]
        self.polygons = dict(sides)
        self.line = line
        self.polyline = Polyline.from_line(line)
        self.length_km = self.polyline.length_km
        self.sector_length_km = float(sector_length_km)
        self.crossings = list(crossings)
        self.markets = list(markets or [])
        self.posts = list(posts or [])
        self.folder = folder
        self.time_zones = dict(time_zones or {})
        self.max_km_from_line = float(max_km_from_line)
        self.sectors = self._cut_sectors()
        self._sector_by_id = {s.id: s for s in self.sectors}
        self._place_by_id = {p.id: p for p in self.places}
        self._locator = Locator(
            self.polyline,
            list(self.polygons.items()),
            [(c.lon, c.lat) for c in self.crossings],
            sector_length_km=self.sector_length_km,
            n_sectors=len(self.sectors),
        )

    def __repr__(self) -> str:
        return (
            f"BorderProfile(id={self.id!r}, length_km={self.length_km:.1f}, "
            f"sectors={len(self.sectors)}, crossings={len(self.crossings)})"
        )

    def name(self, lang: str = "en") -> str:
        """The border's name in ``lang`` (English if missing)."""
        return self.names.get(lang) or self.names["en"]

    @property
    def places(self) -> list[Place]:
        """Crossings, markets and posts, in that order."""
        return [*self.crossings, *self.markets, *self.posts]

    # -- sectors -----------------------------------------------------------------------

    def _cut_sectors(self) -> list[Sector]:
        step = self.sector_length_km
        # A remainder under a millionth of a sector is rounding, not a sector of its own.
        n = max(1, math.ceil(self.length_km / step - 1e-6))
        sectors = []
        for i in range(n):
            start = i * step
            end = self.length_km if i == n - 1 else (i + 1) * step
            number = i + 1
            sectors.append(
                Sector(
                    sector_id(self.code, number),
                    number,
                    start,
                    end,
                    self.polyline.piece(start, end),
                )
            )
        return sectors

    def local_time(self, side: str) -> tzinfo:
        """The legal local time of ``side`` (e.g. PKT, UTC+5), or UTC when the profile has none."""
        return self.time_zones.get(side, UTC)

    def sector(self, sector_id: str) -> Sector:
        """The sector with this id (e.g. ``"PKIR-007"``); raises ``NotFound``."""
        try:
            return self._sector_by_id[sector_id]
        except KeyError:
            raise NotFound(
                message(
                    "border.no_sector",
                    "no sector {id} on the {border} border",
                    id=repr(sector_id),
                    border=self.id,
                ),
                hint=message(
                    "border.no_sector.hint",
                    "ids run from {first} to {last}",
                    first=self.sectors[0].id,
                    last=self.sectors[-1].id,
                ),
            ) from None

    def sector_at_km(self, km: float) -> Sector:
        """The sector holding km marker ``km`` (a boundary belongs to the next sector)."""
        if not math.isfinite(km) or not -1e-9 <= km <= self.length_km + 1e-9:
            raise InvalidInput(
                FieldError.of(
                    "km",
                    message(
                        "border.km_range",
                        "must be between {least} and {most}, got {km}",
                        least=0,
                        most=Number(f"{self.length_km:.3f}"),
                        km=km,
                    ),
                )
            )
        return self.sectors[int(self._locator.sector_index(km))]

    # -- places ------------------------------------------------------------------------

    def place(self, place_id: str) -> Place:
        """The crossing, market or post with this id; raises ``NotFound``."""
        try:
            return self._place_by_id[place_id]
        except KeyError:
            raise NotFound(
                message(
                    "border.no_place",
                    "no crossing, market or post {id} on the {border} border",
                    id=repr(place_id),
                    border=self.id,
                )
            ) from None

    # -- locate ------------------------------------------------------------------------

    def locate(self, lon: float, lat: float) -> Location:
        """Where one point is: side, distance to the line, sector, km, nearest crossing.

        Raises ``InvalidInput`` naming ``lon`` or ``lat`` when out of range or not a number.
        """
        errors = []
        for field, value, limit in (("lon", lon, 180.0), ("lat", lat, 90.0)):
            try:
                problem = check_range(float(value), limit)
            except (TypeError, ValueError):
                problem = message(
                    "border.not_a_number", "must be a number, got {value}", value=repr(value)
                )
            if problem:
                errors.append(FieldError(field, problem))
        if errors:
            raise InvalidInput(errors)
        raw = self._locator.locate_one(float(lon), float(lat))
        return Location(
            side=str(self._locator.labels[raw.side_index]),
            distance_m=raw.distance_m,
            sector=self.sectors[raw.sector_index].id,
            km=raw.km,
            nearest_crossing=self.crossings[raw.crossing_index].id,
            nearest_crossing_distance_m=raw.crossing_distance_m,
        )

    def swapped_reading(self, lon: float, lat: float) -> tuple[float, float] | None:
        """(lon, lat) read the other way round, when only that reading makes sense here.

        It does when the given latitude is impossible (|lat| > 90) but the swapped one is a
        point, or when the given point is beyond the distance limit and the swapped one
        within it (28.95, 61.59 for Taftan's 61.59, 28.95).
        """
        if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lon) > 90:
            return None  # swapped, lon would be an impossible latitude
        if abs(lat) > 90:
            return lat, lon
        if self._off_km(lon, lat) > self.max_km_from_line >= self._off_km(lat, lon):
            return lat, lon
        return None

    def _off_km(self, lon: float, lat: float) -> float:
        return self._locator.locate_one(float(lon), float(lat)).distance_m / 1000.0

    def swap_hint(self, lon: float, lat: float) -> Text | None:
        """ "did you swap longitude and latitude?" with the swapped reading, when it applies."""
        swapped = self.swapped_reading(lon, lat)
        if swapped is None:
            return None
        s_lon, s_lat = swapped
        off_km = self._off_km(s_lon, s_lat)
        where = (
            message("border.swap.near", "is near the line")
            if off_km <= self.max_km_from_line
            else message("border.swap.far", "is {km} km from the line", km=Number(f"{off_km:,.0f}"))
        )
        return message(
            "border.swap",
            "did you swap longitude and latitude? lon {lon}, lat {lat} {where}",
            lon=Number(f"{s_lon:g}"),
            lat=Number(f"{s_lat:g}"),
            where=where,
        )

    def locate_record(
        self, lon: float, lat: float, *, far_from_line: bool = False, field: str = "location"
    ) -> tuple[Location, bool]:
        """Locate a record's point under the rule of plausible places: (where, on the line).

        A point within ``max_km_from_line`` of the line is on the line: it gets its sector
        and km marker. A point beyond is refused (``InvalidInput`` naming ``field``, with the
        distance) unless the record is marked ``far_from_line``; then it is kept, off the
        line: its sector and km marker mean nothing there and must not be stored.
        """
        loc = self.locate(lon, lat)
        off_km = loc.distance_m / 1000.0
        if off_km <= self.max_km_from_line:
            return loc, True
        if far_from_line:
            return loc, False
        hint = self.swap_hint(lon, lat) or message(
            "border.far.hint",
            "check the coordinates; if the record truly lies that far away, mark it "
            "far_from_line (it is then kept without a sector)",
        )
        raise InvalidInput(
            FieldError.of(
                field,
                message(
                    "border.far",
                    "lon {lon}, lat {lat} is {km} km from the border line, farther "
                    "than the {most} km this node accepts",
                    lon=Number(f"{lon:g}"),
                    lat=Number(f"{lat:g}"),
                    km=Number(f"{off_km:,.1f}"),
                    most=Number(f"{self.max_km_from_line:g}"),
                ),
            ),
            hint=hint,
        )

    def beyond_limit(self, located: LocatedArrays) -> np.ndarray:
        """Which points of a bulk result lie farther from the line than the limit (bool)."""
        return np.asarray(located.distance_m) > self.max_km_from_line * 1000.0

    def locate_many(self, lon: np.ndarray, lat: np.ndarray) -> LocatedArrays:
        """Vectorised :meth:`locate` for arrays of points (same answers, ~1M points/s)."""
        arrays = []
        for field, values, limit in (("lon", lon, 180.0), ("lat", lat, 90.0)):
            try:
                arr = np.ascontiguousarray(values, dtype=np.float64).ravel()
            except (TypeError, ValueError) as exc:
                raise InvalidInput(
                    FieldError.of(
                        field, message("border.not_numbers", "must be numbers: {why}", why=exc)
                    )
                ) from None
            bad = ~(np.abs(arr) <= limit)  # also catches NaN
            if bad.any():
                i = int(np.argmax(bad))
                problem = check_range(float(arr[i]), limit)
                raise InvalidInput(
                    FieldError.of(
                        field,
                        message(
                            "border.at_index", "value at index {i} {problem}", i=i, problem=problem
                        ),
                    )
                )
            arrays.append(arr)
        if len(arrays[0]) != len(arrays[1]):
            raise InvalidInput(
                FieldError.of(
                    "lat",
                    message(
                        "border.lengths",
                        "has {count} values but lon has {lon_count}",
                        count=len(arrays[1]),
                        lon_count=len(arrays[0]),
                    ),
                )
            )
        return self._locator.locate_arrays(arrays[0], arrays[1])

    def prepare_bulk(self) -> None:
        """Build the bulk path's grids now (≈1 s) rather than in the first ``locate_many``."""
        self._locator.indexes()

    def is_beyond_limit(self, loc: Location) -> bool:
        """Whether ``loc`` lies farther from the line than ``max_km_from_line``."""
        return loc.distance_m / 1000.0 > self.max_km_from_line

    def location_dict(self, loc: Location, lang: str = "en") -> dict[str, object]:
        """``loc`` as JSON-ready dict with the crossing's name in ``lang``.

        Beyond ``max_km_from_line`` the sector and km marker are null and
        ``beyond_km_from_line`` gives the limit: that far off they would only mislead.
        """
        data = loc.as_dict(self.place(loc.nearest_crossing).name(lang))
        if self.is_beyond_limit(loc):
            data |= {"sector": None, "km": None, "beyond_km_from_line": self.max_km_from_line}
        return data

    # -- export ------------------------------------------------------------------------

    def to_geojson(self, lang: str = "en", *, countries: bool = False) -> dict[str, object]:
        """RFC 7946 FeatureCollection: the line, each sector and every place (and the sides)."""
        from sarhad.border.export import profile_geojson

        return profile_geojson(self, lang, countries=countries)

    def info(self, lang: str = "en") -> dict[str, object]:
        """Summary for ``sarhad border info``."""
        from sarhad.border.export import profile_info

        return profile_info(self, lang)


def _zone(name: str, offset: str) -> timezone:
    sign = -1 if offset[0] == "-" else 1
    hh, mm = offset[1:].split(":")
    return timezone(sign * timedelta(hours=int(hh), minutes=int(mm)), name)


def _default_folder() -> Path:
    return Path(str(resources.files("sarhad.border") / "profiles" / DEFAULT_PROFILE))


def load_profile(
    path: Path | None = None,
    *,
    sector_length_km: float | None = None,
    max_km_from_line: float | None = None,
) -> BorderProfile:
    """Load the profile folder at ``path`` (None: the shipped Pakistan–Iran profile).

    ``sector_length_km`` and ``max_km_from_line`` override the profile's own. Raises
    ``ConfigError`` naming the file.
    """
    folder = Path(path) if path is not None else _default_folder()
    data = read_profile(folder)
    if sector_length_km is not None and not (
        math.isfinite(sector_length_km) and sector_length_km > 0
    ):
        raise ConfigError(
            message(
                "border.sector_length",
                "sector length must be a positive number of km, got {km}",
                km=sector_length_km,
            )
        )
    spec = data.spec
    profile = BorderProfile(
        id=spec.id,
        code=spec.code,
        names=spec.names,
        sides=data.polygons,
        line=data.line,
        sector_length_km=sector_length_km or spec.sector_length_km,
        crossings=data.crossings,
        markets=data.markets,
        posts=data.posts,
        folder=folder,
        time_zones={side: _zone(z.name, z.utc_offset) for side, z in spec.time_zones.items()},
        max_km_from_line=max_km_from_line or spec.max_km_from_line,
    )
    for crossing in profile.crossings:
        off_km = profile.locate(crossing.lon, crossing.lat).distance_m / 1000.0
        if off_km > MAX_CROSSING_OFFSET_KM:
            raise ConfigError(
                message(
                    "border.crossing_far",
                    "{path}: crossing {id} is {km} km from the line (more than {most} km); "
                    "check its lon/lat",
                    path=folder / "profile.toml",
                    id=repr(crossing.id),
                    km=Number(f"{off_km:.1f}"),
                    most=Number(f"{MAX_CROSSING_OFFSET_KM:g}"),
                )
            )
    return profile


@functools.lru_cache(maxsize=8)
def _cached(
    path: str | None, sector_length_km: float | None, max_km_from_line: float | None
) -> BorderProfile:
    return load_profile(
        Path(path) if path else None,
        sector_length_km=sector_length_km,
        max_km_from_line=max_km_from_line,
    )


def cached_profile(
    path: Path | None = None,
    *,
    sector_length_km: float | None = None,
    max_km_from_line: float | None = None,
) -> BorderProfile:
    """:func:`load_profile`, loaded once per (folder, sector length, limit) in this process."""
    return _cached(str(Path(path).resolve()) if path else None, sector_length_km, max_km_from_line)


def profile_from_settings(settings: Settings) -> BorderProfile:
    """The profile named by the settings (``profile_dir``, ``sector_length_km``,
    ``max_km_from_line``), cached."""
    return cached_profile(
        settings.profile_dir,
        sector_length_km=settings.sector_length_km,
        max_km_from_line=settings.max_km_from_line,
    )
