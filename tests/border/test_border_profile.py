"""The profile as data: the shipped PK–IR profile, the made-up one, sectors and places."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import shapely
from pyproj import Geod

from sarhad.border import BorderProfile, load_profile, profile_from_settings
from sarhad.core.config import Settings
from sarhad.core.errors import InvalidInput, NotFound

GEOD = Geod(ellps="WGS84")
MINI_DIR = Path(__file__).parent / "fixtures" / "mini"
TRIPOINT = (60.8444, 29.8582)
GWADAR_BAY = (61.5882, 25.2021)


def geodesic_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2] / 1000.0


# -- the shipped Pakistan–Iran profile ---------------------------------------------------


def test_pkir_line_is_one_piece_from_tripoint_to_gwadar_bay(pkir: BorderProfile):
    assert pkir.id == "pk-ir" and pkir.code == "PKIR" and pkir.sides == ("PK", "IR")
    assert pkir.line.geom_type == "LineString"
    assert geodesic_km(pkir.line.coords[0], TRIPOINT) < 0.1
    assert geodesic_km(pkir.line.coords[-1], GWADAR_BAY) < 0.1
    # Natural Earth 10m is generalised: ~817 km against the official ~959 km.
    assert 815.0 < pkir.length_km < 818.0
    assert pkir.length_km == pytest.approx(GEOD.geometry_length(pkir.line) / 1000.0, rel=1e-9)


def test_pkir_names_in_three_languages(pkir: BorderProfile):
    for place in pkir.crossings + pkir.markets:
        assert set(place.names) >= {"en", "ur", "fa"}
    assert pkir.place("taftan-mirjaveh").name("ur") == "تفتان–میرجاوہ"
    assert pkir.place("mand-pishin").name("fa") == "پیشین–مند"
    assert pkir.name("fa") != pkir.name("en")


def test_pkir_places(pkir: BorderProfile):
    assert [c.id for c in pkir.crossings] == ["taftan-mirjaveh", "gabd-rimdan", "mand-pishin"]
    market = pkir.place("mand-pishin-market")
    assert market.kind == "market" and market.extra["crossing"] == "mand-pishin"
    assert pkir.posts == []  # no public list of posts: the format is exercised by "mini"
    for place in pkir.places:
        assert "source" in place.extra, place.id


@pytest.mark.parametrize("crossing_id", ["taftan-mirjaveh", "gabd-rimdan", "mand-pishin"])
def test_crossing_points_sit_on_the_line_between_their_twin_towns(
    pkir: BorderProfile, crossing_id: str
):
    crossing = pkir.place(crossing_id)
    assert pkir.locate(crossing.lon, crossing.lat).distance_m < 1000.0
    for side in pkir.sides:
        town = crossing.extra[f"{side.lower()}_town"]
        assert isinstance(town, dict) and set(town) >= {"en", "ur", "fa", "lon", "lat"}
        loc = pkir.locate(town["lon"], town["lat"])
        assert loc.side == side, (crossing_id, town["en"])
        # Twin towns are near the border, and the crossing is nearest to them.
        assert loc.distance_m < 25_000 and loc.nearest_crossing == crossing_id


def test_crossing_ir_town_is_the_right_pishin(pkir: BorderProfile):
    pishin = pkir.place("mand-pishin").extra["ir_town"]
    assert isinstance(pishin, dict)
    assert (pishin["lon"], pishin["lat"]) == pytest.approx((61.75403, 26.07937))


# -- sectors ------------------------------------------------------------------------------


def check_sectors(profile: BorderProfile) -> None:
    sectors = profile.sectors
    assert sectors[0].start_km == 0.0 and sectors[-1].end_km == profile.length_km
    for n, s in enumerate(sectors, start=1):
        assert s.number == n and s.id == f"{profile.code}-{n:03d}"
    for a, b in itertools.pairwise(sectors):
        assert a.end_km == b.start_km
        assert a.length_km == pytest.approx(profile.sector_length_km)
    assert 0 < sectors[-1].length_km <= profile.sector_length_km
    for s in sectors:
        # Each piece of line is as long as its km range says (geodesic).
        assert GEOD.geometry_length(s.geometry) / 1000 == pytest.approx(s.length_km, abs=0.002)
        assert profile.sector(s.id) is s
    assert geodesic_km(sectors[0].geometry.coords[0], profile.line.coords[0]) < 1e-6


def test_pkir_sectors(pkir: BorderProfile):
    check_sectors(pkir)
    assert len(pkir.sectors) == math.ceil(pkir.length_km / 10.0) == 82
    assert pkir.sectors[-1].id == "PKIR-082"


def test_sector_length_is_configurable(pkir: BorderProfile):
    p25 = load_profile(sector_length_km=25.0)
    check_sectors(p25)
    assert len(p25.sectors) == math.ceil(pkir.length_km / 25.0) == 33
    # The same point moves to the sector that now holds its km marker.
    loc = p25.locate(61.58661, 28.94687)
    assert loc.km == pytest.approx(pkir.locate(61.58661, 28.94687).km)
    assert loc.sector == f"PKIR-{int(loc.km // 25) + 1:03d}"


def test_sector_at_km_boundaries(pkir: BorderProfile):
    assert pkir.sector_at_km(0.0).id == "PKIR-001"
    assert pkir.sector_at_km(9.999).id == "PKIR-001"
    assert pkir.sector_at_km(10.0).id == "PKIR-002"  # a boundary belongs to the next sector
    assert pkir.sector_at_km(pkir.length_km).id == "PKIR-082"  # the very end: last sector
    assert pkir.sector_at_km(815.0).id == "PKIR-082"
    for bad in (-1.0, pkir.length_km + 1, float("nan")):
        with pytest.raises(InvalidInput) as exc:
            pkir.sector_at_km(bad)
        assert exc.value.errors[0].field == "km"


def test_unknown_ids_raise_not_found(pkir: BorderProfile):
    with pytest.raises(NotFound):
        pkir.sector("PKIR-999")
    with pytest.raises(NotFound):
        pkir.place("wagah")


def test_profile_from_settings_uses_and_caches_the_settings():
    a = profile_from_settings(Settings())
    assert a.id == "pk-ir" and a is profile_from_settings(Settings())
    b = profile_from_settings(Settings(sector_length_km=20.0))
    assert b is not a and len(b.sectors) == 41


def test_profile_from_settings_profile_dir(mini: BorderProfile):
    p = profile_from_settings(Settings(profile_dir=MINI_DIR))
    assert p.id == "mini" and len(p.sectors) == len(mini.sectors)


# -- the made-up profile: proof that profiles are data -------------------------------------


def test_mini_profile_loads_from_data(mini: BorderProfile):
    assert mini.id == "mini" and mini.code == "MINI" and mini.sides == ("AA", "BB")
    # Stored in two parts with the southern end first: merged and turned round.
    assert mini.line.coords[0] == (20.0, 45.25) and mini.line.coords[-1] == (20.05, 44.80)
    assert 45 < mini.length_km < 55
    assert mini.sector_length_km == 5.0 and len(mini.sectors) == 11
    check_sectors(mini)
    assert mini.sectors[0].id == "MINI-001"


def test_mini_places_and_posts(mini: BorderProfile):
    assert [c.id for c in mini.crossings] == ["north-gate", "south-gate"]
    assert mini.place("south-gate").kind == "crossing"  # kind taken from the list
    assert [m.id for m in mini.markets] == ["south-market"]
    posts = {p.id: p for p in mini.posts}
    assert set(posts) == {"post-a1", "post-b1"}
    for post in posts.values():
        assert post.kind == "post"
        assert mini.locate(post.lon, post.lat).side == post.extra["side"]
    assert posts["post-a1"].name("fa") == "پاسگاه آ۱"
    assert posts["post-b1"].name("ur") == "Post B1"  # falls back to English
    assert mini.name("fa") == mini.name("en")


def test_mini_locate(mini: BorderProfile):
    west, east = mini.locate(19.7, 45.0), mini.locate(20.3, 45.0)
    assert (west.side, east.side) == ("AA", "BB")
    assert mini.locate(20.0, 46.0).side == "outside"
    near = mini.locate(20.0, 45.1)
    assert near.nearest_crossing == "north-gate" and near.distance_m < 5.0
    assert mini.sector(near.sector).start_km <= near.km < mini.sector(near.sector).end_km


def test_place_is_hashable_and_frozen(mini: BorderProfile):
    place = mini.place("north-gate")
    assert place in {place}
    with pytest.raises(AttributeError):
        place.lon = 0.0  # type: ignore[misc]
    assert shapely.Point(place.lon, place.lat).distance(mini.line) < 1e-4
