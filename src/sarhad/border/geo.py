"""Geometry helpers: WGS84 geodesics, a local plane centred on the border, the border polyline.

Real distances are geodesic on WGS84 (``GEOD``). The local plane (a transverse Mercator with
scale 1 on its central meridian) is used to *choose* the nearest point of the line and to cut
it. Every distance we report is a WGS84 geodesic: measured with ``GEOD``, or on the bulk path
from the plane with a scale correction that is good to < 8e-7 (``chord_geodesic_m``).

>>> plane = LocalPlane(61.8, 27.5)
>>> x, y = plane.forward(np.array([61.8]), np.array([27.5]))
>>> float(abs(x[0])) < 1e-6 and float(abs(y[0])) < 1e-6
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from pyproj import CRS, Geod, Transformer
from shapely import LineString

GEOD = Geod(ellps="WGS84")

# Beyond this many degrees from the plane's centre the transverse Mercator is no longer a
# good guide to "nearest"; such points take the slower, exact per-point path (``nearest_far``).
ZONE_HALF_WIDTH_DEG = 30.0

# Where the scale-corrected chord of the plane stands in for the WGS84 geodesic (bulk path):
# both ends within these offsets from the plane's centre and the chord at most this long.
# Measured against pyproj.Geod over a million random pairs (tests/border/test_border_geo.py):
# relative error < 8e-7 (< 0.25 mm up to 10 km, < 7 mm up to 100 km, < 0.31 m at 400 km).
CHORD_MAX_X_M = 450_000.0
CHORD_MAX_Y_M = 700_000.0
CHORD_MAX_M = 400_000.0

_A = 6378137.0  # WGS84 semi-major axis, m
_F = 1 / 298.257223563
_E2 = _F * (2 - _F)

FloatArray = np.ndarray


def wrap_lon(dlon: FloatArray) -> FloatArray:
    """Wrap longitude differences into [-180, 180)."""
    return (dlon + 180.0) % 360.0 - 180.0


class LocalPlane:
    """Transverse Mercator on WGS84 centred at (lon0, lat0); metres, x east, y north.

    pyproj transformers are safe to share between threads (each thread gets its own PROJ
    object on first use), so the bulk path can run chunks in parallel.
    """

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0 = float(lon0)
        self.lat0 = float(lat0)
        self.crs = CRS.from_proj4(
            f"+proj=tmerc +lat_0={self.lat0} +lon_0={self.lon0} +k=1 +x_0=0 +y_0=0 "
            "+ellps=WGS84 +units=m +no_defs +type=crs"
        )
        self._fwd = Transformer.from_crs(CRS.from_epsg(4326), self.crs, always_xy=True)
        self._inv = Transformer.from_crs(self.crs, CRS.from_epsg(4326), always_xy=True)
        phi0 = math.radians(self.lat0)
        # Meridian radius of curvature at lat0: turns a northing into a latitude offset.
        self._phi0 = phi0
        self._m0 = _A * (1 - _E2) / (1 - _E2 * math.sin(phi0) ** 2) ** 1.5

    def forward(self, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
        """lon/lat degrees → plane metres."""
        x, y = self._fwd.transform(lon, lat)
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def inverse(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Plane metres → lon/lat degrees."""
        lon, lat = self._inv.transform(x, y)
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)

    def forward_one(self, lon: float, lat: float) -> tuple[float, float]:
        """One point: lon/lat → plane metres (scalars skip numpy's overhead)."""
        x, y = self._fwd.transform(lon, lat)
        return float(x), float(y)

    def inverse_one(self, x: float, y: float) -> tuple[float, float]:
        """One point: plane metres → lon/lat."""
        lon, lat = self._inv.transform(x, y)
        return float(lon), float(lat)

    def in_zone_one(self, lon: float, lat: float) -> bool:
        """:meth:`in_zone` for one point."""
        dlon = (lon - self.lon0 + 180.0) % 360.0 - 180.0
        return abs(dlon) <= ZONE_HALF_WIDTH_DEG and abs(lat - self.lat0) <= ZONE_HALF_WIDTH_DEG

    def scale(self, x: FloatArray, y: FloatArray) -> FloatArray:
        """Point scale factor k of the transverse Mercator (k = 1 on the central meridian).

        k = 1 + q/2 + q²/24 with q = x² / (ρν) at the point's latitude (Redfearn's series).
        """
        phi = self._phi0 + y / self._m0
        s2 = np.sin(phi) ** 2
        q = x * x * (1 - _E2 * s2) ** 2 / (_A * _A * (1 - _E2))
        return 1 + q / 2 + q * q / 24

    def chord_geodesic_m(
        self, x1: FloatArray, y1: FloatArray, x2: FloatArray, y2: FloatArray
    ) -> tuple[FloatArray, np.ndarray]:
        """(distance, usable): the geodesic distance from plane coordinates, and where it holds.

        The chord length is divided by the mean scale factor along it (Simpson's rule), which
        matches WGS84 geodesics to < 8e-7 relative inside the CHORD_MAX_* limits. Where
        ``usable`` is False the caller must measure with :func:`geodesic_m` instead.
        """
        chord = np.hypot(x2 - x1, y2 - y1)
        inv_k = (
            1 / self.scale(x1, y1)
            + 4 / self.scale((x1 + x2) / 2, (y1 + y2) / 2)
            + 1 / self.scale(x2, y2)
        ) / 6
        usable = (
            (chord <= CHORD_MAX_M)
            & (np.abs(x1) <= CHORD_MAX_X_M)
            & (np.abs(x2) <= CHORD_MAX_X_M)
            & (np.abs(y1) <= CHORD_MAX_Y_M)
            & (np.abs(y2) <= CHORD_MAX_Y_M)
        )
        return chord * inv_k, usable

    def in_zone(self, lon: FloatArray, lat: FloatArray) -> np.ndarray:
        """True where the plane is a reliable guide (within ±30° of the centre)."""
        return (np.abs(wrap_lon(lon - self.lon0)) <= ZONE_HALF_WIDTH_DEG) & (
            np.abs(lat - self.lat0) <= ZONE_HALF_WIDTH_DEG
        )


def geodesic_m(
    lon1: FloatArray, lat1: FloatArray, lon2: FloatArray, lat2: FloatArray
) -> FloatArray:
    """Vectorised WGS84 geodesic distance in metres (arguments broadcast like numpy's)."""
    args = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (lon1, lat1, lon2, lat2)))
    if args[0].ndim == 0:
        return np.asarray(GEOD.inv(*(float(a) for a in args), return_back_azimuth=False)[2])
    _, _, dist = GEOD.inv(*(np.ascontiguousarray(a) for a in args), return_back_azimuth=False)
    return np.asarray(dist, dtype=float)


def geodesic_one(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """WGS84 geodesic distance in metres between two points."""
    return float(GEOD.inv(lon1, lat1, lon2, lat2, return_back_azimuth=False)[2])


@dataclass(frozen=True, eq=False)
class Polyline:
    """The border line with its tables: plane coordinates and cumulative geodesic km.

    The line is a chain of segments that are straight in the local plane; a point at fraction
    ``t`` of segment ``i`` has km marker ``cum_km[i] + t * seg_km[i]``.
    """

    lon: FloatArray
    lat: FloatArray
    plane: LocalPlane
    x: FloatArray = field(init=False)
    y: FloatArray = field(init=False)
    seg_km: FloatArray = field(init=False)
    cum_km: FloatArray = field(init=False)
    cum_plane_m: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        x, y = self.plane.forward(self.lon, self.lat)
        seg_km = geodesic_m(self.lon[:-1], self.lat[:-1], self.lon[1:], self.lat[1:]) / 1000.0
        seg_plane = np.hypot(np.diff(x), np.diff(y))
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "seg_km", seg_km)
        object.__setattr__(self, "cum_km", np.concatenate([[0.0], np.cumsum(seg_km)]))
        object.__setattr__(self, "cum_plane_m", np.concatenate([[0.0], np.cumsum(seg_plane)]))

    @classmethod
    def from_line(cls, line: LineString) -> Polyline:
        """Build from a lon/lat LineString; the plane is centred on the line's bounding box."""
        coords = np.asarray(line.coords, dtype=float)[:, :2]
        minx, miny, maxx, maxy = line.bounds
        plane = LocalPlane((minx + maxx) / 2.0, (miny + maxy) / 2.0)
        return cls(coords[:, 0].copy(), coords[:, 1].copy(), plane)

    @property
    def length_km(self) -> float:
        """Geodesic length (sum of WGS84 segment lengths)."""
        return float(self.cum_km[-1])

    @property
    def n_segments(self) -> int:
        return len(self.seg_km)

    def km_at(self, seg: np.ndarray, t: FloatArray) -> FloatArray:
        """km marker of the point at fraction ``t`` of segment ``seg``."""
        return self.cum_km[seg] + t * self.seg_km[seg]

    def plane_point(self, seg: np.ndarray, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Plane coordinates of the point at fraction ``t`` of segment ``seg``."""
        x0, y0 = self.x[seg], self.y[seg]
        return x0 + t * (self.x[seg + 1] - x0), y0 + t * (self.y[seg + 1] - y0)

    def locate_km(self, km: FloatArray) -> tuple[np.ndarray, FloatArray]:
        """(segment, fraction) of the point at ``km`` along the line (clipped to the ends)."""
        km = np.clip(np.asarray(km, dtype=float), 0.0, self.length_km)
        seg = np.clip(np.searchsorted(self.cum_km, km, side="right") - 1, 0, self.n_segments - 1)
        seg_len = self.seg_km[seg]
        t = np.divide(km - self.cum_km[seg], seg_len, out=np.zeros_like(km), where=seg_len > 0)
        return seg, np.clip(t, 0.0, 1.0)

    def lonlat_at_km(self, km: FloatArray) -> tuple[FloatArray, FloatArray]:
        """lon/lat of the point at ``km`` along the line."""
        seg, t = self.locate_km(km)
        return self.plane.inverse(*self.plane_point(seg, t))

    def piece(self, start_km: float, end_km: float) -> LineString:
        """The part of the line between two km markers, as a lon/lat LineString."""
        ends_lon, ends_lat = self.lonlat_at_km(np.array([start_km, end_km]))
        inner = np.nonzero((self.cum_km > start_km) & (self.cum_km < end_km))[0]
        lon = np.concatenate([[ends_lon[0]], self.lon[inner], [ends_lon[1]]])
        lat = np.concatenate([[ends_lat[0]], self.lat[inner], [ends_lat[1]]])
        return LineString(np.column_stack([lon, lat]))

    def point_segment_fraction(self, seg: np.ndarray, px: FloatArray, py: FloatArray) -> FloatArray:
        """Fraction along ``seg`` of the foot of the perpendicular from (px, py), in [0, 1]."""
        x0, y0 = self.x[seg], self.y[seg]
        dx, dy = self.x[seg + 1] - x0, self.y[seg + 1] - y0
        len2 = dx * dx + dy * dy
        num = (px - x0) * dx + (py - y0) * dy
        t = np.divide(num, len2, out=np.zeros_like(num), where=len2 > 0)
        return np.clip(t, 0.0, 1.0)


def nearest_far(line: Polyline, lon: float, lat: float) -> tuple[int, float]:
    """(segment, fraction) of the point of the line geodesically nearest to a far-away point.

    Used outside the local plane's zone, where the plane no longer tells "nearest" right: the
    line is sampled (8 points per segment), the geodesically nearest sample is refined twice
    by 8× on a 17-point bracket. Thousands of kilometres away the remaining error in distance
    is far below a millimetre. Costs about a millisecond per point.
    """
    n_seg = line.n_segments
    u = np.arange(8 * n_seg + 1) / 8.0  # u = segment + fraction along the whole line
    step = 1.0 / 8.0
    for _ in range(3):
        seg = np.minimum(np.floor(u).astype(np.int64), n_seg - 1)
        t = u - seg
        s_lon, s_lat = line.plane.inverse(*line.plane_point(seg, t))
        best = float(u[int(np.argmin(geodesic_m(lon, lat, s_lon, s_lat)))])
        u = np.clip(np.linspace(best - step, best + step, 17), 0.0, float(n_seg))
        step /= 8.0
    seg_i = min(int(best), n_seg - 1)
    return seg_i, best - seg_i
