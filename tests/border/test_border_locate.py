"""locate: known places, edge cases, invalid input, and the scalar and bulk forms agreeing."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

import sarhad.border.locate as locate_module
from sarhad.border import BorderProfile, LocatedArrays, Location
from sarhad.core.errors import InvalidInput

GAZETTEER = Path(__file__).parent / "fixtures" / "geonames_near_border.csv"


def gazetteer_rows() -> list[dict[str, str]]:
    with GAZETTEER.open(encoding="utf-8") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


# -- known facts ---------------------------------------------------------------------------


def test_taftan_and_mirjaveh(pkir: BorderProfile):
    taftan = pkir.locate(61.58661, 28.94687)
    assert taftan.side == "PK" and taftan.distance_m < 10_000
    assert taftan.nearest_crossing == "taftan-mirjaveh"
    mirjaveh = pkir.locate(61.44959, 29.0148)
    assert mirjaveh.side == "IR" and mirjaveh.nearest_crossing == "taftan-mirjaveh"
    # The twin towns face each other: their km markers are within a few km.
    assert abs(taftan.km - mirjaveh.km) < 20


def test_zahedan_pishin_jiwani(pkir: BorderProfile):
    zahedan = pkir.locate(60.8629, 29.4963)
    assert zahedan.side == "IR" and zahedan.distance_m == pytest.approx(24_800, abs=1000)
    assert zahedan.sector in {"PKIR-003", "PKIR-004", "PKIR-005"}
    pishin = pkir.locate(61.75403, 26.07937)
    assert pishin.side == "IR" and pishin.distance_m == pytest.approx(4_200, abs=1000)
    assert pishin.nearest_crossing == "mand-pishin" and pishin.nearest_crossing_distance_m < 10_000
    jiwani = pkir.locate(61.74573, 25.04852)
    assert jiwani.side == "PK" and jiwani.sector == pkir.sectors[-1].id  # the short last one


@pytest.mark.parametrize("row", gazetteer_rows(), ids=lambda r: r["name"])
def test_gazetteer_places_within_50_km(pkir: BorderProfile, row: dict[str, str]):
    """GeoNames' own distance column (±1 km) is an independent oracle for distance and side."""
    loc = pkir.locate(float(row["longitude"]), float(row["latitude"]))
    assert loc.side == row["countrycode"]
    assert loc.distance_m / 1000 == pytest.approx(float(row["approx_km_to_ne10m_border"]), abs=1.0)


def test_far_away_places(pkir: BorderProfile):
    karachi = pkir.locate(67.0, 24.86)
    assert karachi.side == "PK" and karachi.distance_m > 400_000
    tehran = pkir.locate(51.389, 35.689)
    assert tehran.side == "IR" and tehran.km == 0.0 and tehran.sector == "PKIR-001"
    sea = pkir.locate(61.5, 24.5)  # Gulf of Oman, south of Gwadar Bay
    assert sea.side == "outside" and sea.sector == pkir.sectors[-1].id
    afghanistan = pkir.locate(61.2, 30.2)  # north-east of the tripoint
    assert afghanistan.side == "outside" and afghanistan.km == 0.0
    assert afghanistan.sector == "PKIR-001"
    madrid = pkir.locate(-3.70, 40.42)
    assert madrid.side == "outside" and 5_500_000 < madrid.distance_m < 6_200_000


# -- edge cases on the line --------------------------------------------------------------


def test_tripoint_and_gwadar_bay_ends(pkir: BorderProfile):
    start = pkir.locate(*pkir.line.coords[0])
    assert start.km == 0.0 and start.distance_m < 0.001 and start.sector == "PKIR-001"
    assert start.side in pkir.sides  # on the boundary: the first side that covers it
    end = pkir.locate(*pkir.line.coords[-1])
    assert end.km == pytest.approx(pkir.length_km, abs=1e-6) and end.distance_m < 0.001
    assert end.sector == "PKIR-082"


@pytest.mark.parametrize("km", [0.5, 10.0, 123.456, 409.0, 700.25, 816.0])
def test_points_on_the_line_give_their_km(pkir: BorderProfile, km: float):
    lon, lat = pkir.polyline.lonlat_at_km(np.array([km]))
    loc = pkir.locate(float(lon[0]), float(lat[0]))
    assert loc.distance_m < 0.01
    assert loc.km == pytest.approx(km, abs=0.001)
    bulk = pkir.locate_many(lon, lat)
    assert bulk.distance_m[0] < 0.01 and bulk.km[0] == pytest.approx(km, abs=0.001)


def test_km_grows_from_tripoint_to_the_sea(pkir: BorderProfile):
    kms = [pkir.locate(p.lon, p.lat).km for p in pkir.crossings]
    by_lat = sorted(zip((p.lat for p in pkir.crossings), kms, strict=True), reverse=True)
    assert [k for _, k in by_lat] == sorted(kms)  # north first = smaller km


# -- invalid input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lon", "lat", "field"),
    [
        (61.0, 91.0, "lat"),
        (float("nan"), 28.0, "lon"),
        (200.0, 28.0, "lon"),
        (61.0, -math.inf, "lat"),
        ("abc", 28.0, "lon"),
    ],
)
def test_invalid_coordinates_name_the_field(pkir: BorderProfile, lon, lat, field):
    with pytest.raises(InvalidInput) as exc:
        pkir.locate(lon, lat)
    assert [e.field for e in exc.value.errors] == [field]
    assert field in str(exc.value)


def test_both_coordinates_bad(pkir: BorderProfile):
    with pytest.raises(InvalidInput) as exc:
        pkir.locate(181.0, 91.0)
    assert [e.field for e in exc.value.errors] == ["lon", "lat"]


def test_bulk_invalid_input(pkir: BorderProfile):
    with pytest.raises(InvalidInput, match=r"lat: value at index 2"):
        pkir.locate_many(np.array([61.0, 61.0, 61.0]), np.array([28.0, 28.0, np.nan]))
    with pytest.raises(InvalidInput, match="lon"):
        pkir.locate_many(np.array([61.0, -181.0]), np.array([28.0, 28.0]))
    with pytest.raises(InvalidInput, match="lat"):
        pkir.locate_many(np.array([61.0, 62.0]), np.array([28.0]))
    with pytest.raises(InvalidInput, match="lon"):
        pkir.locate_many(np.array(["x"]), np.array([28.0]))
    empty = pkir.locate_many(np.array([]), np.array([]))
    assert len(empty) == 0


# -- scalar and bulk agree -----------------------------------------------------------------


def assert_same(profile: BorderProfile, lon: np.ndarray, lat: np.ndarray) -> None:
    bulk = profile.locate_many(lon, lat)
    for i in range(len(lon)):
        one = profile.locate(float(lon[i]), float(lat[i]))
        row = bulk.location(i, profile)
        where = f"point {i}: ({lon[i]}, {lat[i]})"
        assert row.side == one.side, where
        assert row.sector == one.sector, where
        assert row.nearest_crossing == one.nearest_crossing, where
        # The scalar form measures with pyproj.Geod; the bulk form with the scale-corrected
        # plane where that is within 1e-6 (see geo.CHORD_MAX_*).
        assert abs(row.distance_m - one.distance_m) <= max(1e-3, 1e-6 * one.distance_m), where
        assert abs(row.nearest_crossing_distance_m - one.nearest_crossing_distance_m) <= max(
            1e-3, 1e-6 * one.nearest_crossing_distance_m
        ), where
        assert abs(row.km - one.km) <= 1e-3, where  # 1 m


def test_scalar_and_bulk_agree_on_random_points(pkir: BorderProfile, monkeypatch):
    monkeypatch.setattr(locate_module, "CHUNK", 700)  # several chunks: the threaded path
    rng = np.random.default_rng(20261123)
    lon = rng.uniform(58.0, 66.0, 3000)
    lat = rng.uniform(24.0, 32.0, 3000)
    assert_same(pkir, lon, lat)


def test_scalar_and_bulk_agree_near_the_line(pkir: BorderProfile):
    """Points within a few km of the line: where sides and sectors change."""
    rng = np.random.default_rng(7)
    km = rng.uniform(0, pkir.length_km, 1500)
    lon, lat = pkir.polyline.lonlat_at_km(km)
    lon = lon + rng.normal(0, 0.02, len(km))
    lat = lat + rng.normal(0, 0.02, len(km))
    assert_same(pkir, lon, lat)
    assert set(pkir.locate_many(lon, lat).side) >= {"PK", "IR"}


def test_scalar_and_bulk_agree_far_away(pkir: BorderProfile):
    lon = np.array([-3.70, 151.2, -118.0, 67.0, 51.389, 100.0, 0.0, 179.9, -180.0])
    lat = np.array([40.42, -33.9, -28.0, 24.86, 35.689, 80.0, -89.9, 0.0, 0.0])
    assert_same(pkir, lon, lat)


def test_scalar_and_bulk_agree_on_the_mini_profile(mini: BorderProfile):
    rng = np.random.default_rng(3)
    lon = rng.uniform(19.0, 21.0, 800)
    lat = rng.uniform(44.5, 45.5, 800)
    assert_same(mini, lon, lat)
    sides = set(mini.locate_many(lon, lat).side)
    assert sides == {"AA", "BB", "outside"}


def test_located_arrays_types(pkir: BorderProfile):
    res = pkir.locate_many([61.58661, 61.44959], [28.94687, 29.0148])  # lists work too
    assert isinstance(res, LocatedArrays) and len(res) == 2
    assert list(res.side) == ["PK", "IR"]
    assert res.distance_m.dtype == np.float64 and res.sector_index.dtype == np.int64
    assert isinstance(res.location(0, pkir), Location)


def test_location_dict_is_json_ready(pkir: BorderProfile):
    loc = pkir.locate(61.75403, 26.07937)
    d = pkir.location_dict(loc, lang="fa")
    assert list(d) == ["side", "distance_m", "sector", "km", "nearest_crossing"]
    assert d["nearest_crossing"] == {
        "id": "mand-pishin",
        "name": "پیشین–مند",
        "distance_m": round(loc.nearest_crossing_distance_m, 1),
    }
    assert d["distance_m"] == round(loc.distance_m, 1) and d["km"] == round(loc.km, 3)
