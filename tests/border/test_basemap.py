"""The offline basemap: each side's polygon in the profile GeoJSON, small enough to draw."""

from __future__ import annotations

import json

from shapely.geometry import Point, shape

from sarhad.border import BorderProfile


def test_countries_come_first_and_hold_their_towns(profile: BorderProfile) -> None:
    plain = profile.to_geojson()
    fc = profile.to_geojson(countries=True)
    countries = [f for f in fc["features"] if f["properties"]["kind"] == "country"]
    assert [c["properties"]["side"] for c in countries] == list(profile.sides)
    assert fc["features"][len(countries) :] == plain["features"]  # the rest is unchanged
    polygons = {c["properties"]["side"]: shape(c["geometry"]) for c in countries}
    assert polygons["PK"].contains(Point(66.99, 30.18))  # Quetta
    assert polygons["IR"].contains(Point(60.86, 29.50))  # Zahedan
    assert not polygons["PK"].contains(Point(60.86, 29.50))
    # Simplified for drawing: the two polygons stay well under 100 KB of JSON.
    assert len(json.dumps(countries)) < 100_000
