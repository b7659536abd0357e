"""Profile → GeoJSON (RFC 7946) and the summary shown by ``sarhad border info``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import shapely
import shapely.geometry
from shapely import LineString

from sarhad.border.model import Place

if TYPE_CHECKING:
    from sarhad.border.profile import BorderProfile

# RFC 7946 §11.2: six decimals (~0.1 m) is more than the line's own precision.
DECIMALS = 6


def _line(geom: LineString) -> dict[str, object]:
    return {
        "type": "LineString",
        "coordinates": [[round(x, DECIMALS), round(y, DECIMALS)] for x, y in geom.coords],
    }


def _place_feature(place: Place, lang: str) -> dict[str, object]:
    return {
        "type": "Feature",
        "id": place.id,
        "geometry": {
            "type": "Point",
            "coordinates": [round(place.lon, DECIMALS), round(place.lat, DECIMALS)],
        },
        "properties": {
            "id": place.id,
            "kind": place.kind,
            "name": place.name(lang),
            "names": dict(place.names),
        },
    }


#: Tolerance (degrees, ~500 m) of the country polygons drawn as a basemap.
BASEMAP_TOLERANCE = 0.005


def _countries(profile: BorderProfile) -> list[dict[str, object]]:
    """Each side's polygon, simplified for drawing (the offline basemap of the console)."""
    out: list[dict[str, object]] = []
    for side, polygon in profile.polygons.items():
        simple = shapely.set_precision(
            polygon.simplify(BASEMAP_TOLERANCE, preserve_topology=True), 10**-DECIMALS
        )
        out.append(
            {
                "type": "Feature",
                "id": f"country-{side}",
                "geometry": shapely.geometry.mapping(simple),
                "properties": {"id": side, "kind": "country", "side": side},
            }
        )
    return out


def profile_geojson(
    profile: BorderProfile, lang: str = "en", *, countries: bool = False
) -> dict[str, object]:
    """FeatureCollection (lon/lat, WGS84): the line, its sectors, crossings, markets, posts.

    With ``countries``, each side's polygon (simplified) comes first: a basemap that needs no
    tile server.
    """
    minx, miny, maxx, maxy = profile.line.bounds
    features: list[dict[str, object]] = _countries(profile) if countries else []
    features += [
        {
            "type": "Feature",
            "id": profile.id,
            "geometry": _line(profile.line),
            "properties": {
                "id": profile.id,
                "kind": "line",
                "name": profile.name(lang),
                "names": dict(profile.names),
                "length_km": round(profile.length_km, 3),
            },
        }
    ]
    for s in profile.sectors:
        features.append(
            {
                "type": "Feature",
                "id": s.id,
                "geometry": _line(s.geometry),
                "properties": {
                    "id": s.id,
                    "kind": "sector",
                    "number": s.number,
                    "start_km": round(s.start_km, 3),
                    "end_km": round(s.end_km, 3),
                },
            }
        )
    features.extend(_place_feature(p, lang) for p in profile.places)
    return {
        "type": "FeatureCollection",
        "bbox": [round(v, DECIMALS) for v in (minx, miny, maxx, maxy)],
        "features": features,
    }


def _place_row(place: Place, lang: str) -> dict[str, object]:
    return {"id": place.id, "name": place.name(lang), "lon": place.lon, "lat": place.lat}


def profile_info(profile: BorderProfile, lang: str = "en") -> dict[str, object]:
    """Summary: length, sectors, crossings, markets and posts."""
    return {
        "id": profile.id,
        "code": profile.code,
        "name": profile.name(lang),
        "sides": list(profile.sides),
        "length_km": round(profile.length_km, 3),
        "sector_length_km": profile.sector_length_km,
        "sectors": len(profile.sectors),
        "crossings": [_place_row(p, lang) for p in profile.crossings],
        "markets": [_place_row(p, lang) for p in profile.markets],
        "posts": [_place_row(p, lang) for p in profile.posts],
    }
