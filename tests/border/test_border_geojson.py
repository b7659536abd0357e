"""to_geojson is RFC 7946 (FeatureCollection, WGS84 lon/lat) and info() summarises the profile."""

from __future__ import annotations

import json

import pytest
from shapely.geometry import shape

from sarhad.border import BorderProfile


def check_rfc7946(fc: dict) -> None:
    """The parts of RFC 7946 a consumer relies on."""
    assert fc["type"] == "FeatureCollection" and "crs" not in fc  # §4: no crs member
    minx, miny, maxx, maxy = fc["bbox"]
    assert minx <= maxx and miny <= maxy
    for f in fc["features"]:
        assert f["type"] == "Feature" and isinstance(f["properties"], dict)
        geom = f["geometry"]
        assert geom["type"] in {"Point", "LineString"}
        positions = [geom["coordinates"]] if geom["type"] == "Point" else geom["coordinates"]
        if geom["type"] == "LineString":
            assert len(positions) >= 2
        for lon, lat in positions:  # §3.1.1: longitude first, then latitude, in degrees
            assert -180 <= lon <= 180 and -90 <= lat <= 90
            assert minx - 1e-9 <= lon <= maxx + 1e-9 or geom["type"] == "Point"
        assert shape(geom).is_valid
    json.dumps(fc)  # serialisable as is


def test_pkir_geojson(pkir: BorderProfile):
    fc = pkir.to_geojson()
    check_rfc7946(fc)
    kinds = [f["properties"]["kind"] for f in fc["features"]]
    assert kinds.count("line") == 1 and kinds.count("sector") == len(pkir.sectors)
    assert kinds.count("crossing") == 3 and kinds.count("market") == 1
    line = fc["features"][0]
    assert line["geometry"]["coordinates"][0] == pytest.approx([60.844379, 29.858179])
    sector = next(f for f in fc["features"] if f["properties"]["kind"] == "sector")
    assert sector["properties"] == {
        "id": "PKIR-001",
        "kind": "sector",
        "number": 1,
        "start_km": 0.0,
        "end_km": 10.0,
    }
    taftan = next(f for f in fc["features"] if f["id"] == "taftan-mirjaveh")
    lon, lat = taftan["geometry"]["coordinates"]
    assert 61 < lon < 62 and 28 < lat < 30  # lon/lat order, not lat/lon
    assert set(taftan["properties"]) == {"id", "kind", "name", "names"}


def test_geojson_names_follow_the_language(pkir: BorderProfile):
    fc = pkir.to_geojson(lang="ur")
    gabd = next(f for f in fc["features"] if f["id"] == "gabd-rimdan")
    assert gabd["properties"]["name"] == "گبد–ریمدان"
    assert gabd["properties"]["names"]["fa"] == "ریمدان–گبد"


def test_mini_geojson_has_posts(mini: BorderProfile):
    fc = mini.to_geojson(lang="fa")
    check_rfc7946(fc)
    posts = [f for f in fc["features"] if f["properties"]["kind"] == "post"]
    assert [p["properties"]["name"] for p in posts] == ["پاسگاه آ۱", "Post B1"]


def test_info(pkir: BorderProfile):
    info = pkir.info()
    assert info["id"] == "pk-ir" and info["name"] == "Pakistan–Iran border"
    assert info["length_km"] == pytest.approx(816.59, abs=0.01)
    assert info["sectors"] == 82 and info["sector_length_km"] == 10.0
    assert [c["id"] for c in info["crossings"]] == ["taftan-mirjaveh", "gabd-rimdan", "mand-pishin"]
    assert set(info["crossings"][0]) == {"id", "name", "lon", "lat"}
    assert info["markets"][0]["id"] == "mand-pishin-market" and info["posts"] == []
