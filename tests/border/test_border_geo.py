"""The bulk path's shortcuts are exact (grids) or within their documented bound (chord)."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from sarhad.border import BorderProfile
from sarhad.border.geo import (
    CHORD_MAX_M,
    CHORD_MAX_X_M,
    CHORD_MAX_Y_M,
    geodesic_m,
    nearest_far,
)
from sarhad.border.index import SegmentGrid
from sarhad.border.sides import SideGrid, classify_exact

GEOD = Geod(ellps="WGS84")


def test_chord_distance_matches_wgs84_geodesics(pkir: BorderProfile):
    """The documented bound: relative error < 1e-6 (measured < 8e-7) inside the limits."""
    plane = pkir.polyline.plane
    rng = np.random.default_rng(11)
    n = 200_000
    x1 = rng.uniform(-CHORD_MAX_X_M, CHORD_MAX_X_M, n)
    y1 = rng.uniform(-CHORD_MAX_Y_M, CHORD_MAX_Y_M, n)
    angle = rng.uniform(0, 2 * np.pi, n)
    r = np.exp(rng.uniform(np.log(1.0), np.log(CHORD_MAX_M), n))
    x2, y2 = x1 + r * np.cos(angle), y1 + r * np.sin(angle)
    dist, usable = plane.chord_geodesic_m(x1, y1, x2, y2)
    assert usable.mean() > 0.5
    lon1, lat1 = plane.inverse(x1[usable], y1[usable])
    lon2, lat2 = plane.inverse(x2[usable], y2[usable])
    exact = GEOD.inv(lon1, lat1, lon2, lat2)[2]
    rel = np.abs(dist[usable] - exact) / exact
    assert rel.max() < 1e-6
    short = exact < 10_000
    assert np.abs(dist[usable][short] - exact[short]).max() < 0.001  # < 1 mm up to 10 km


def test_chord_refuses_pairs_outside_its_limits(pkir: BorderProfile):
    plane = pkir.polyline.plane
    _, usable = plane.chord_geodesic_m(
        np.array([0.0, 0.0, CHORD_MAX_X_M + 1, np.nan]),
        np.array([0.0, 0.0, 0.0, 0.0]),
        np.array([1000.0, CHORD_MAX_M + 1, 0.0, 0.0]),
        np.array([0.0, 0.0, 0.0, 0.0]),
    )
    assert usable.tolist() == [True, False, False, False]


def test_segment_grid_equals_full_scan(pkir: BorderProfile):
    grid = SegmentGrid(pkir.polyline, cell_m=4000.0, margin_m=50_000.0, levels=3)
    rng = np.random.default_rng(5)
    # Inside the grid, outside it, and right on vertices (ties between two segments).
    x = np.concatenate([rng.uniform(-250e3, 250e3, 20_000), pkir.polyline.x])
    y = np.concatenate([rng.uniform(-400e3, 400e3, 20_000), pkir.polyline.y])
    seg, t = grid.nearest(x, y)
    assert np.array_equal(seg, grid._scan(x, y))
    assert ((t >= 0) & (t <= 1)).all()


def test_segment_grid_on_a_tiny_line(mini: BorderProfile):
    grid = SegmentGrid(mini.polyline, cell_m=500.0, margin_m=20_000.0, levels=2)
    rng = np.random.default_rng(6)
    x, y = rng.uniform(-30e3, 30e3, 5000), rng.uniform(-40e3, 40e3, 5000)
    assert np.array_equal(grid.nearest(x, y)[0], grid._scan(x, y))


def test_side_grid_equals_exact_test(pkir: BorderProfile):
    polygons = list(pkir.polygons.values())
    grid = SideGrid(polygons, pkir.line.bounds, cell_deg=0.1, margin_deg=1.0)
    rng = np.random.default_rng(8)
    lon, lat = rng.uniform(58.0, 66.0, 50_000), rng.uniform(23.0, 32.0, 50_000)
    # Points on the line itself and on cell corners are the awkward ones.
    lon = np.concatenate([lon, pkir.polyline.lon, grid.ox + np.arange(40) * grid.cell])
    lat = np.concatenate([lat, pkir.polyline.lat, grid.oy + np.arange(40) * grid.cell])
    assert np.array_equal(grid.classify(lon, lat), classify_exact(polygons, lon, lat))
    assert (grid.table == -1).mean() < 0.2  # most cells answer without a polygon test


def test_nearest_far_matches_dense_sampling(pkir: BorderProfile):
    line = pkir.polyline
    km = np.linspace(0, line.length_km, 20_001)  # every ~40 m
    s_lon, s_lat = line.lonlat_at_km(km)
    for lon, lat in [(-3.7, 40.4), (151.2, -33.9), (-118.0, -28.0), (100.0, 80.0)]:
        seg, t = nearest_far(line, lon, lat)
        f_lon, f_lat = line.plane.inverse(*line.plane_point(np.array([seg]), np.array([t])))
        found = float(geodesic_m(lon, lat, f_lon[0], f_lat[0]))
        best = float(geodesic_m(lon, lat, s_lon, s_lat).min())
        assert found <= best + 0.01


def test_geodesic_helper_broadcasts():
    d = geodesic_m(61.0, 28.0, np.array([61.0, 62.0]), np.array([28.0, 28.0]))
    assert d[0] == 0.0 and d[1] == pytest.approx(GEOD.inv(61, 28, 62, 28)[2])
