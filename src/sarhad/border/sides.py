"""Which side polygon a point falls in, for many points: a lon/lat grid with exact fallback.

A point-in-polygon test on the detailed Natural Earth polygons costs ~0.1 µs per point and
polygon. Most of the border region is far from any polygon edge, so the grid stores the answer
for every cell that no polygon boundary touches; only points in cells that a boundary crosses
(about 2 % of the region) and points outside the grid are tested exactly. The answers are the
same as ``shapely.intersects_xy`` on the polygons, tested in the given order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from sarhad.border.geo import FloatArray

MIXED = -1  # a boundary crosses the cell: test each point exactly


def classify_exact(
    polygons: Sequence[BaseGeometry], lon: FloatArray, lat: FloatArray
) -> np.ndarray:
    """Index of the first polygon covering each point, or ``len(polygons)`` (outside)."""
    side = np.full(len(lon), len(polygons), dtype=np.int64)
    todo = np.arange(len(lon))
    for k, poly in enumerate(polygons):
        # Sides do not overlap, so each later polygon only tests the undecided points.
        hit = shapely.intersects_xy(poly, lon[todo], lat[todo])
        side[todo[hit]] = k
        todo = todo[~hit]
    return side


class SideGrid:
    """Side index per cell of a lon/lat grid, or ``MIXED`` where a boundary crosses the cell."""

    def __init__(
        self,
        polygons: Sequence[BaseGeometry],
        bounds: tuple[float, float, float, float],
        *,
        cell_deg: float = 0.02,
        margin_deg: float = 2.5,
    ) -> None:
        self.polygons = list(polygons)
        self.cell = float(cell_deg)
        self.ox = bounds[0] - margin_deg
        self.oy = bounds[1] - margin_deg
        self.nx = math.ceil((bounds[2] + margin_deg - self.ox) / cell_deg)
        self.ny = math.ceil((bounds[3] + margin_deg - self.oy) / cell_deg)
        k = np.arange(self.nx * self.ny)
        x0 = self.ox + (k % self.nx) * cell_deg
        y0 = self.oy + (k // self.nx) * cell_deg
        # Centres decide cells that no boundary touches: such a cell lies wholly on one side.
        table = classify_exact(self.polygons, x0 + cell_deg / 2, y0 + cell_deg / 2)
        # Slightly enlarged boxes, so a point rounded into a neighbouring cell stays exact.
        eps = cell_deg * 1e-6
        boxes = shapely.box(x0 - eps, y0 - eps, x0 + cell_deg + eps, y0 + cell_deg + eps)
        # One cell of slack around the grid: no boundary piece is lost at the clip edge.
        region = (
            self.ox - cell_deg,
            self.oy - cell_deg,
            self.ox + (self.nx + 1) * cell_deg,
            self.oy + (self.ny + 1) * cell_deg,
        )
        segments = _boundary_segments(self.polygons, region)
        if len(segments):
            _, cells = shapely.STRtree(boxes).query(segments, predicate="intersects")
            table[cells] = MIXED
        self.table = table.astype(np.int8)

    def classify(self, lon: FloatArray, lat: FloatArray) -> np.ndarray:
        """Side index per point (``len(polygons)`` = outside), exact for every point."""
        ix = np.floor((lon - self.ox) / self.cell)
        iy = np.floor((lat - self.oy) / self.cell)
        inside = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        cell = np.where(inside, iy * self.nx + ix, 0).astype(np.int64)
        side = np.where(inside, self.table[cell], MIXED).astype(np.int64)
        todo = np.flatnonzero(side == MIXED)
        if len(todo):
            side[todo] = classify_exact(self.polygons, lon[todo], lat[todo])
        return side


def _boundary_segments(
    polygons: Sequence[BaseGeometry], region: tuple[float, float, float, float]
) -> np.ndarray:
    """Every boundary segment of the polygons inside ``region``, as two-point LineStrings."""
    parts = []
    for poly in polygons:
        clipped = shapely.clip_by_rect(shapely.boundary(poly), *region)
        parts.extend(shapely.get_parts(clipped))
    if not parts:
        return np.array([], dtype=object)
    coords, index = shapely.get_coordinates(np.array(parts, dtype=object), return_index=True)
    same = index[:-1] == index[1:]
    pairs = np.stack([coords[:-1][same], coords[1:][same]], axis=1)
    return shapely.linestrings(pairs)
