"""locate: point → side, distance to the line, sector, km marker, nearest crossing.

Definitions (shared by the one-point and the bulk path, which are separate implementations
tested against each other):

* side: the first side polygon that covers the point (a point exactly on the shared boundary
  goes to the first side of the profile), else ``"outside"``;
* nearest point of the line: nearest in the local transverse-Mercator plane centred on the
  border (segments are straight in that plane); far-away points (> 30° from the centre) use an
  azimuthal equidistant plane centred on the point itself instead;
* ``distance_m``: WGS84 geodesic distance from the point to that nearest point;
* ``km``: geodesic km along the line from its start to that nearest point;
* nearest crossing: nearest in the plane, then its WGS84 geodesic distance.
"""

from __future__ import annotations

import bisect
import math
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely
from shapely import LineString, Point
from shapely.geometry.base import BaseGeometry

from sarhad.border.geo import FloatArray, Polyline, geodesic_m, geodesic_one, nearest_far
from sarhad.border.index import SegmentGrid
from sarhad.border.sides import SideGrid
from sarhad.core.i18n import Number, Text, message

if TYPE_CHECKING:
    from sarhad.border.profile import BorderProfile

OUTSIDE = "outside"
CHUNK = 65_536  # points per work unit: keeps temporaries to a few MB and feeds both cores


@dataclass(frozen=True)
class Location:
    """Where a point is relative to the border."""

    side: str  # side code of the polygon the point falls in ("PK" / "IR"), or "outside"
    distance_m: float  # WGS84 geodesic distance to the line
    sector: str  # id of the sector holding the nearest point of the line
    km: float  # km marker of that nearest point, from the start of the line
    nearest_crossing: str  # crossing id
    nearest_crossing_distance_m: float

    def as_dict(self, crossing_name: str | None = None) -> dict[str, object]:
        """JSON-ready dict (distances rounded to 0.1 m, km to 1 m).

        ``BorderProfile.location_dict`` fills in the crossing's name in a chosen language.
        """
        return {
            "side": self.side,
            "distance_m": round(self.distance_m, 1),
            "sector": self.sector,
            "km": round(self.km, 3),
            "nearest_crossing": {
                "id": self.nearest_crossing,
                "name": crossing_name,
                "distance_m": round(self.nearest_crossing_distance_m, 1),
            },
        }


@dataclass
class LocatedArrays:
    """Bulk result: one entry per input point, in input order."""

    side: np.ndarray  # "<U7" strings: a side code or "outside"
    distance_m: np.ndarray  # float64
    km: np.ndarray  # float64
    sector_index: np.ndarray  # int64, index into profile.sectors
    nearest_crossing_index: np.ndarray  # int64, index into profile.crossings
    nearest_crossing_distance_m: np.ndarray  # float64

    def __len__(self) -> int:
        return len(self.km)

    def location(self, i: int, profile: BorderProfile) -> Location:
        """Row ``i`` as a :class:`Location` (ids looked up in ``profile``)."""
        return Location(
            side=str(self.side[i]),
            distance_m=float(self.distance_m[i]),
            sector=profile.sectors[int(self.sector_index[i])].id,
            km=float(self.km[i]),
            nearest_crossing=profile.crossings[int(self.nearest_crossing_index[i])].id,
            nearest_crossing_distance_m=float(self.nearest_crossing_distance_m[i]),
        )


@dataclass(frozen=True)
class RawLocation:
    """One point's answer with indices instead of ids (what the profile turns into ids)."""

    side_index: int  # index into the side codes; len(codes) means outside
    distance_m: float
    km: float
    sector_index: int
    crossing_index: int
    crossing_distance_m: float


class Locator:
    """The engine behind ``BorderProfile.locate`` and ``locate_many``."""

    def __init__(
        self,
        line: Polyline,
        sides: Sequence[tuple[str, BaseGeometry]],
        crossings: Sequence[tuple[float, float]],
        *,
        sector_length_km: float,
        n_sectors: int,
    ) -> None:
        if not crossings:
            raise ValueError("at least one crossing is needed")
        self.line = line
        self.codes = [code for code, _ in sides]
        self.labels = np.array([*self.codes, OUTSIDE])
        self.polygons = [geom for _, geom in sides]
        for geom in self.polygons:
            shapely.prepare(geom)
            # GEOS builds a prepared polygon's point index lazily on the first query, and that
            # first build is not thread-safe: do it now, before threads share the polygon.
            shapely.intersects_xy(geom, line.lon[0], line.lat[0])
        self.sector_length_km = sector_length_km
        self.n_sectors = n_sectors
        self.c_lon = np.array([c[0] for c in crossings], dtype=float)
        self.c_lat = np.array([c[1] for c in crossings], dtype=float)
        self.c_x, self.c_y = line.plane.forward(self.c_lon, self.c_lat)
        self.plane_line = LineString(np.column_stack([line.x, line.y]))
        self._cum_plane = line.cum_plane_m.tolist()
        self._indexes: tuple[SegmentGrid, SideGrid] | None = None
        self._lock = threading.Lock()

    def indexes(self) -> tuple[SegmentGrid, SideGrid]:
        """The bulk path's grids, built on first use (≈0.6 s for the PK–IR profile)."""
        with self._lock:
            if self._indexes is None:
                bounds = self.line_bounds
                self._indexes = (SegmentGrid(self.line), SideGrid(self.polygons, bounds))
            return self._indexes

    @property
    def line_bounds(self) -> tuple[float, float, float, float]:
        lon, lat = self.line.lon, self.line.lat
        return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())

    def sector_index(self, km: FloatArray) -> np.ndarray:
        """Sector index of km markers: sector n covers [start, end) and the last one its end."""
        idx = np.floor(np.asarray(km) / self.sector_length_km).astype(np.int64)
        return np.clip(idx, 0, self.n_sectors - 1)

    # -- one point: straightforward shapely ---------------------------------------------

    def locate_one(self, lon: float, lat: float) -> RawLocation:
        """Locate one valid point (the caller has checked the ranges); plain Python scalars."""
        side = next(
            (k for k, poly in enumerate(self.polygons) if shapely.intersects_xy(poly, lon, lat)),
            len(self.codes),
        )
        plane, line = self.line.plane, self.line
        if plane.in_zone_one(lon, lat):
            x, y = plane.forward_one(lon, lat)
            along = self.plane_line.project(Point(x, y))
            cum = self._cum_plane
            seg = min(max(bisect.bisect_right(cum, along) - 1, 0), len(cum) - 2)
            seg_len = cum[seg + 1] - cum[seg]
            t = min(max((along - cum[seg]) / seg_len, 0.0), 1.0) if seg_len > 0 else 0.0
            crossing = min(
                range(len(self.c_x)),
                key=lambda c: (self.c_x[c] - x) ** 2 + (self.c_y[c] - y) ** 2,
            )
        else:
            seg, t = nearest_far(line, lon, lat)
            crossing = int(np.argmin(geodesic_m(lon, lat, self.c_lon, self.c_lat)))
        x0, y0 = line.x[seg], line.y[seg]
        f_lon, f_lat = plane.inverse_one(
            float(x0 + t * (line.x[seg + 1] - x0)), float(y0 + t * (line.y[seg + 1] - y0))
        )
        km = float(line.cum_km[seg] + t * line.seg_km[seg])
        return RawLocation(
            side_index=side,
            distance_m=geodesic_one(lon, lat, f_lon, f_lat),
            km=km,
            sector_index=min(max(int(km // self.sector_length_km), 0), self.n_sectors - 1),
            crossing_index=crossing,
            crossing_distance_m=geodesic_one(
                lon, lat, float(self.c_lon[crossing]), float(self.c_lat[crossing])
            ),
        )

    # -- many points: vectorised, chunked, two threads ------------------------------------

    def locate_arrays(self, lon: FloatArray, lat: FloatArray) -> LocatedArrays:
        """Locate valid float64 arrays of equal length."""
        n = len(lon)
        out = LocatedArrays(
            side=np.empty(n, dtype=self.labels.dtype),
            distance_m=np.empty(n),
            km=np.empty(n),
            sector_index=np.empty(n, dtype=np.int64),
            nearest_crossing_index=np.empty(n, dtype=np.int64),
            nearest_crossing_distance_m=np.empty(n),
        )
        grids = self.indexes()  # build before the threads start
        slices = [slice(s, min(s + CHUNK, n)) for s in range(0, n, CHUNK)]

        def work(sl: slice) -> None:
            self._chunk(grids, lon[sl], lat[sl], out, sl)

        _run(work, slices)
        return out

    def _chunk(
        self,
        grids: tuple[SegmentGrid, SideGrid],
        lon: FloatArray,
        lat: FloatArray,
        out: LocatedArrays,
        sl: slice,
    ) -> None:
        grid, side_grid = grids
        n = len(lon)
        out.side[sl] = self.labels[side_grid.classify(lon, lat)]

        plane = self.line.plane
        zone = plane.in_zone(lon, lat)
        seg = np.empty(n, dtype=np.int64)
        t = np.empty(n)
        crossing = np.empty(n, dtype=np.int64)
        x = np.full(n, np.nan)  # far points keep NaN: the chord formula then refuses them
        y = np.full(n, np.nan)
        z = slice(None) if zone.all() else np.flatnonzero(zone)
        x[z], y[z] = plane.forward(lon[z], lat[z])
        seg[z], t[z] = grid.nearest(x[z], y[z])
        d2 = (x[z, None] - self.c_x[None, :]) ** 2 + (y[z, None] - self.c_y[None, :]) ** 2
        crossing[z] = np.argmin(d2, axis=1)
        for i in np.flatnonzero(~zone):  # rare: points far from the border region
            seg[i], t[i] = nearest_far(self.line, float(lon[i]), float(lat[i]))
            crossing[i] = np.argmin(geodesic_m(lon[i], lat[i], self.c_lon, self.c_lat))

        fx, fy = self.line.plane_point(seg, t)
        dist, ok = plane.chord_geodesic_m(x, y, fx, fy)
        if not ok.all():  # long or far pairs: measure on the ellipsoid
            bad = np.flatnonzero(~ok)
            f_lon, f_lat = plane.inverse(fx[bad], fy[bad])
            dist[bad] = geodesic_m(lon[bad], lat[bad], f_lon, f_lat)
        out.distance_m[sl] = dist
        km = self.line.km_at(seg, t)
        out.km[sl] = km
        out.sector_index[sl] = self.sector_index(km)
        out.nearest_crossing_index[sl] = crossing
        c_dist, ok = plane.chord_geodesic_m(x, y, self.c_x[crossing], self.c_y[crossing])
        if not ok.all():
            bad = np.flatnonzero(~ok)
            c = crossing[bad]
            c_dist[bad] = geodesic_m(lon[bad], lat[bad], self.c_lon[c], self.c_lat[c])
        out.nearest_crossing_distance_m[sl] = c_dist


def _cpus() -> int:
    """CPUs this process may use (affinity-aware where the OS tells)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _shared_pool(workers: int) -> ThreadPoolExecutor:
    """One pool for the process: its threads keep their PROJ objects (≈20 ms each to make)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sarhad-locate")
        return _pool


def _run(work: Callable[[slice], None], slices: list[slice]) -> None:
    """Run ``work`` over the slices, on as many threads as CPUs when there is enough to share.

    numpy, shapely and pyproj release the GIL in their array loops, so threads scale.
    """
    workers = min(_cpus(), len(slices))
    if workers <= 1:
        for sl in slices:
            work(sl)
        return
    for _ in _shared_pool(_cpus()).map(work, slices):
        pass


def check_range(value: float, limit: float) -> Text | None:
    """What is wrong with one coordinate (``|value| <= limit``), or None."""
    if not math.isfinite(value):
        return message(
            "border.not_finite", "must be a finite number, got {value}", value=str(value)
        )
    if not -limit <= value <= limit:
        return message(
            "border.out_of_range",
            "must be between {least} and {most}, got {value}",
            least=Number(f"{-limit:g}"),
            most=Number(f"{limit:g}"),
            value=Number(f"{value:g}"),
        )
    return None
