"""Read a border profile folder: ``profile.toml``, the line and the side polygons.

Every problem becomes a ``ConfigError`` that names the file and what is wrong, because the
person reading it is an operator replacing a profile, not a developer.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from shapely import LineString, MultiLineString
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from sarhad.border.geo import geodesic_m
from sarhad.border.model import PLACE_KINDS, Place
from sarhad.core.errors import ConfigError
from sarhad.core.i18n import Number, Text, message

PROFILE_FILE = "profile.toml"
# How far (km) the declared start/end may be from the ends of the line file.
END_TOLERANCE_KM = 5.0

Lon = Annotated[float, Field(ge=-180.0, le=180.0, allow_inf_nan=False)]
Lat = Annotated[float, Field(ge=-90.0, le=90.0, allow_inf_nan=False)]
Names = dict[str, str]


def _need_en(names: Names) -> Names:
    if not names.get("en"):
        raise ValueError("needs at least an English name (key 'en')")
    return names


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EndPoint(_Strict):
    lon: Lon
    lat: Lat
    name: str = ""


class LineSpec(_Strict):
    file: str
    start: EndPoint  # the line is oriented to start here (km 0, sector 1)
    end: EndPoint | None = None


class FileSpec(_Strict):
    file: str


class SidesSpec(_Strict):
    property: str = "ISO_A2"  # feature property in the countries file holding the code
    codes: Annotated[list[str], Field(min_length=2, max_length=2)]


class TimeZoneSpec(_Strict):
    """A side's legal local time: a fixed offset (neither PK nor IR keeps summer time)."""

    name: Annotated[str, Field(min_length=2, max_length=8)]  # e.g. "PKT"
    utc_offset: Annotated[str, Field(pattern=r"^[+-](0\d|1[0-4]):[0-5]\d$")]  # "+05:00"


class PlaceSpec(BaseModel):
    """One ``[[crossings]]``, ``[[markets]]`` or ``[[posts]]`` entry; other keys go to extra."""

    model_config = ConfigDict(extra="allow")

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    kind: str | None = None
    names: Names
    lon: Lon
    lat: Lat

    _names = field_validator("names")(_need_en)


class ProfileSpec(_Strict):
    id: str
    code: Annotated[str, Field(pattern=r"^[A-Z0-9]+$")]
    names: Names
    sides: SidesSpec
    sector_length_km: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    #: Farthest a record may lie from the line unless marked far_from_line (km).
    max_km_from_line: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 150.0
    line: LineSpec
    countries: FileSpec
    crossings: Annotated[list[PlaceSpec], Field(min_length=1)]
    markets: list[PlaceSpec] = []
    posts: list[PlaceSpec] = []
    #: Local time of each side (side code → zone); sides left out keep UTC.
    time_zones: dict[str, TimeZoneSpec] = {}

    _names = field_validator("names")(_need_en)


@dataclass(frozen=True)
class ProfileData:
    """Everything read from a profile folder, checked, ready for ``BorderProfile``."""

    spec: ProfileSpec
    line: LineString  # lon/lat, oriented from spec.line.start
    polygons: dict[str, BaseGeometry]  # side code → polygon(s)
    crossings: list[Place]
    markets: list[Place]
    posts: list[Place]
    folder: Path


def _missing(path: Path) -> Text:
    return message("profile.missing", "{path}: file is missing", path=path)


def _at(path: Path, problems: str) -> Text:
    return message("profile.problems", "{path}: {problems}", path=path, problems=problems)


def read_profile(folder: Path) -> ProfileData:
    """Read and check the profile in ``folder``."""
    toml_path = folder / PROFILE_FILE
    if not folder.is_dir():
        raise ConfigError(
            message("profile.no_folder", "border profile folder {path} does not exist", path=folder)
        )
    try:
        raw = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(_missing(toml_path)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            message("profile.bad_toml", "{path}: not valid TOML: {why}", path=toml_path, why=exc)
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            message("profile.unreadable", "{path}: cannot read: {why}", path=toml_path, why=exc)
        ) from exc
    try:
        spec = ProfileSpec.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(_at(toml_path, problems)) from exc

    places = {kind: _places(toml_path, spec, kind) for kind in PLACE_KINDS}
    _unique_ids(toml_path, [p for group in places.values() for p in group])
    line = _read_line(folder / spec.line.file, spec.line)
    polygons = _read_sides(folder / spec.countries.file, spec.sides)
    return ProfileData(
        spec=spec,
        line=line,
        polygons=polygons,
        crossings=places["crossing"],
        markets=places["market"],
        posts=places["post"],
        folder=folder,
    )


def _places(toml_path: Path, spec: ProfileSpec, kind: str) -> list[Place]:
    entries: list[PlaceSpec] = getattr(spec, f"{kind}s")
    out = []
    for i, entry in enumerate(entries):
        if entry.kind not in (None, kind):
            raise ConfigError(
                message(
                    "profile.wrong_kind",
                    "{path}: {kind}s.{i} ({id}): kind is {found} but the entry "
                    "is listed under [[{kind}s]]",
                    path=toml_path,
                    kind=kind,
                    i=str(i),
                    id=entry.id,
                    found=repr(entry.kind),
                )
            )
        extra = dict(entry.model_extra or {})
        out.append(Place(entry.id, kind, dict(entry.names), entry.lon, entry.lat, extra))
    return out


def _unique_ids(toml_path: Path, places: list[Place]) -> None:
    seen: set[str] = set()
    for p in places:
        if p.id in seen:
            raise ConfigError(
                message(
                    "profile.place_twice",
                    "{path}: place id {id} is used twice",
                    path=toml_path,
                    id=repr(p.id),
                )
            )
        seen.add(p.id)


def _read_geojson(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(_missing(path)) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            message("profile.bad_json", "{path}: not valid GeoJSON/JSON: {why}", path=path, why=exc)
        ) from exc
    if not isinstance(data, dict) or "type" not in data:
        raise ConfigError(
            message("profile.no_type", "{path}: not a GeoJSON object (no 'type')", path=path)
        )
    return data


def _features(path: Path, data: dict[str, Any]) -> list[dict[str, Any]]:
    if data["type"] == "FeatureCollection":
        return list(data.get("features") or [])
    if data["type"] == "Feature":
        return [data]
    return [{"type": "Feature", "properties": {}, "geometry": data}]


def _geometry(path: Path, feature: dict[str, Any]) -> BaseGeometry:
    try:
        return shape(feature["geometry"])
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as exc:
        raise ConfigError(
            message(
                "profile.bad_geometry",
                "{path}: a feature has no usable geometry: {why}",
                path=path,
                why=exc,
            )
        ) from exc


def _read_line(path: Path, spec: LineSpec) -> LineString:
    """Merge the line's parts into one LineString and orient it from ``spec.start``."""
    parts: list[LineString] = []
    for feature in _features(path, _read_geojson(path)):
        geom = _geometry(path, feature)
        if isinstance(geom, LineString):
            parts.append(geom)
        elif isinstance(geom, MultiLineString):
            parts.extend(geom.geoms)
        else:
            raise ConfigError(
                message(
                    "profile.not_line",
                    "{path}: expected LineString/MultiLineString, got {found}",
                    path=path,
                    found=geom.geom_type,
                )
            )
    if not parts:
        raise ConfigError(message("profile.no_line", "{path}: contains no line", path=path))
    merged = shapely.line_merge(MultiLineString(parts))
    if not isinstance(merged, LineString):
        raise ConfigError(
            message(
                "profile.not_continuous",
                "{path}: the line's {parts} parts do not join into one continuous line "
                "({pieces} pieces after merging); fix gaps or overlaps",
                path=path,
                parts=len(parts),
                pieces=len(merged.geoms),
            )
        )
    coords = np.asarray(merged.coords)[:, :2]
    keep = np.concatenate([[True], np.any(np.diff(coords, axis=0) != 0, axis=1)])
    coords = coords[keep]  # repeated vertices would make zero-length segments
    if len(coords) < 2:
        raise ConfigError(
            message(
                "profile.too_short",
                "{path}: the line has fewer than two distinct points",
                path=path,
            )
        )
    d_first, d_last = (
        geodesic_m(
            np.array([spec.start.lon] * 2),
            np.array([spec.start.lat] * 2),
            coords[[0, -1], 0],
            coords[[0, -1], 1],
        )
        / 1000.0
    )
    if d_last < d_first:
        coords = coords[::-1]
    if min(d_first, d_last) > END_TOLERANCE_KM:
        raise ConfigError(
            message(
                "profile.start_far",
                "{path}: neither end of the line is within {km} km of the "
                "declared start {name} ({lon}, {lat})",
                path=path,
                km=Number(f"{END_TOLERANCE_KM:g}"),
                name=spec.start.name or "",
                lon=Number(str(spec.start.lon)),
                lat=Number(str(spec.start.lat)),
            )
        )
    if spec.end is not None:
        d_end = geodesic_m(spec.end.lon, spec.end.lat, coords[-1, 0], coords[-1, 1]) / 1000.0
        if d_end > END_TOLERANCE_KM:
            raise ConfigError(
                message(
                    "profile.end_far",
                    "{path}: the line ends {km} km from the declared end {name} ({lon}, {lat})",
                    path=path,
                    km=Number(f"{d_end:.1f}"),
                    name=spec.end.name or "",
                    lon=Number(str(spec.end.lon)),
                    lat=Number(str(spec.end.lat)),
                )
            )
    return LineString(coords)


def _read_sides(path: Path, spec: SidesSpec) -> dict[str, BaseGeometry]:
    """One (multi)polygon per side code, from the feature property ``spec.property``."""
    found: dict[str, BaseGeometry] = {}
    for feature in _features(path, _read_geojson(path)):
        code = (feature.get("properties") or {}).get(spec.property)
        if code not in spec.codes:
            continue
        if code in found:
            raise ConfigError(
                message(
                    "profile.two_features",
                    "{path}: two features have {property} = {code}",
                    path=path,
                    property=spec.property,
                    code=repr(code),
                )
            )
        geom = _geometry(path, feature)
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise ConfigError(
                message(
                    "profile.not_polygon",
                    "{path}: side {code} is a {found}, expected a polygon",
                    path=path,
                    code=code,
                    found=geom.geom_type,
                )
            )
        if not geom.is_valid:
            raise ConfigError(
                message(
                    "profile.bad_polygon",
                    "{path}: side {code} polygon is invalid: {why}",
                    path=path,
                    code=code,
                    why=shapely.is_valid_reason(geom),
                )
            )
        found[code] = geom
    missing = [c for c in spec.codes if c not in found]
    if missing:
        raise ConfigError(
            message(
                "profile.no_feature",
                "{path}: no feature with {property} = {codes}",
                path=path,
                property=spec.property,
                codes=", ".join(map(repr, missing)),
            )
        )
    return {code: found[code] for code in spec.codes}
