"""Exact nearest-segment search for many points at once: a grid of candidate segments.

Why a grid: shapely's ``STRtree.query_nearest`` costs a few microseconds per point and a
brute-force numpy scan measures every segment for every point. Instead, each square cell of
the local plane keeps the few segments that *can* be nearest to some point of the cell; a query
measures only those (about three per point on the PK–IR line).

The candidate rule is exact. Let ``c`` be the cell centre, ``h`` its half diagonal and ``d_c``
the distance from ``c`` to the nearest segment. Any point ``p`` of the cell is at most
``d_c + h`` from the line, so a segment nearest to ``p`` is within ``d_c + 2h`` of ``c``; every
segment within that bound is kept. The grid is built coarse-to-fine: a child cell's candidates
are a subset of its parent's, so each level only measures the parent's short list.
Points outside the grid are scanned in full, with the same arithmetic and tie-break.
"""

from __future__ import annotations

import math

import numpy as np

from sarhad.border.geo import FloatArray, Polyline

_SCAN_CHUNK = 2048  # points per block in the full scan (bounds memory to ~4 MB per array)
_BUILD_BLOCK = 65536  # (cell, segment) pairs measured at once while building


class SegmentGrid:
    """Candidate segments per cell (CSR layout) over the line's bounding box plus a margin.

    Cell ``k`` (row-major, ``k = iy * nx + ix``) has candidates
    ``cand[start[k]:start[k] + count[k]]``, in ascending segment order.
    """

    def __init__(
        self,
        line: Polyline,
        *,
        cell_m: float = 1000.0,
        margin_m: float = 200_000.0,
        levels: int = 5,
    ) -> None:
        self.line = line
        x, y = line.x, line.y
        self._sx, self._sy = x[:-1], y[:-1]
        self._dx, self._dy = np.diff(x), np.diff(y)
        len2 = self._dx**2 + self._dy**2
        # 1/len² with 0 for zero-length segments: their foot is then the start vertex.
        self._inv_len2 = np.divide(1.0, len2, out=np.zeros_like(len2), where=len2 > 0)

        coarse = cell_m * 2**levels
        self.cell_m = float(cell_m)
        self.ox = float(x.min() - margin_m)
        self.oy = float(y.min() - margin_m)
        nx0 = max(1, math.ceil((x.max() + margin_m - self.ox) / coarse))
        ny0 = max(1, math.ceil((y.max() + margin_m - self.oy) / coarse))
        count, cand = self._coarse(nx0, ny0, coarse)
        nx, ny = nx0, ny0
        for _ in range(levels):
            count, cand = self._refine(nx, ny, count, cand, coarse / 2 ** (_ + 1))
            nx, ny = 2 * nx, 2 * ny
        self.nx, self.ny = nx, ny
        self.count = count
        self.start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
        self.cand = cand
        self.max_count = int(count.max())

    # -- building ---------------------------------------------------------------------------

    def _centres(self, nx: int, ny: int, size: float) -> tuple[FloatArray, FloatArray]:
        k = np.arange(nx * ny)
        return self.ox + (k % nx + 0.5) * size, self.oy + (k // nx + 0.5) * size

    @staticmethod
    def _keep(d2: FloatArray, owner: np.ndarray, n: int, size: float) -> np.ndarray:
        """Mask of (cell, segment) pairs within d_c + 2h; ``owner`` is sorted by cell.

        Works on squared distances (both sides are non-negative, so the order is kept).
        """
        starts = np.concatenate([[0], np.flatnonzero(np.diff(owner)) + 1])
        d_min = np.full(n, np.inf)
        d_min[owner[starts]] = np.sqrt(np.minimum.reduceat(d2, starts))
        bound = d_min + size * math.sqrt(2.0)  # 2h = the cell diagonal
        # A little slack so rounding can never drop the true nearest segment.
        bound = bound * (1 + 1e-9) + 1e-6
        return d2 <= (bound * bound)[owner]

    def _coarse(self, nx: int, ny: int, size: float) -> tuple[np.ndarray, np.ndarray]:
        cx, cy = self._centres(nx, ny, size)
        n_seg = len(self._sx)
        owner = np.repeat(np.arange(nx * ny), n_seg)
        seg = np.tile(np.arange(n_seg), nx * ny)
        keep = self._keep(self._dist2(cx[owner], cy[owner], seg), owner, nx * ny, size)
        return np.bincount(owner[keep], minlength=nx * ny), seg[keep].astype(np.int32)

    def _refine(
        self, nx: int, ny: int, count: np.ndarray, cand: np.ndarray, size: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Split every cell in four; each child measures its parent's candidates only."""
        cnx, cny = 2 * nx, 2 * ny
        child = np.arange(cnx * cny)
        parent = (child // cnx // 2) * nx + (child % cnx) // 2
        start = np.concatenate([[0], np.cumsum(count)[:-1]])
        n_pairs = count[parent]
        owner = np.repeat(child, n_pairs)
        first = np.concatenate([[0], np.cumsum(n_pairs)[:-1]])
        offset = np.arange(len(owner)) - first[owner]
        seg = cand[start[parent[owner]] + offset]
        cx, cy = self._centres(cnx, cny, size)
        cxo, cyo = cx[owner], cy[owner]
        keep = self._keep(self._dist2_blocks(cxo, cyo, seg), owner, cnx * cny, size)
        return np.bincount(owner[keep], minlength=cnx * cny), seg[keep]

    # -- queries ----------------------------------------------------------------------------

    def _dist2_blocks(self, px: FloatArray, py: FloatArray, seg: np.ndarray) -> FloatArray:
        """``_dist2`` in cache-sized blocks (the build measures millions of pairs)."""
        out = np.empty(len(seg))
        for s in range(0, len(seg), _BUILD_BLOCK):
            b = slice(s, s + _BUILD_BLOCK)
            out[b] = self._dist2(px[b], py[b], seg[b])
        return out

    def _dist2(self, px: FloatArray, py: FloatArray, seg: np.ndarray) -> FloatArray:
        """Squared distance, the one formula used by every query path (same tie-breaks)."""
        ex = px - self._sx[seg]
        ey = py - self._sy[seg]
        dx, dy = self._dx[seg], self._dy[seg]
        t = np.clip((ex * dx + ey * dy) * self._inv_len2[seg], 0.0, 1.0)
        ex -= t * dx
        ey -= t * dy
        return ex * ex + ey * ey

    def _scan(self, px: FloatArray, py: FloatArray) -> np.ndarray:
        """Nearest segment by measuring all of them (points outside the grid)."""
        out = np.empty(len(px), dtype=np.int64)
        all_seg = np.arange(len(self._sx))[None, :]
        for s in range(0, len(px), _SCAN_CHUNK):
            bx, by = px[s : s + _SCAN_CHUNK, None], py[s : s + _SCAN_CHUNK, None]
            out[s : s + _SCAN_CHUNK] = np.argmin(self._dist2(bx, by, all_seg), axis=1)
        return out

    def _grid(self, px: FloatArray, py: FloatArray, cell: np.ndarray) -> np.ndarray:
        """Nearest segment among each cell's candidates, one candidate rank per round.

        Points are sorted by candidate count (descending) so that the points still in play
        at round k are a prefix: slices instead of fancy indexing.
        """
        cnt = self.count[cell]
        order = np.argsort(-cnt, kind="stable")
        cnt, px, py = cnt[order], px[order], py[order]
        st = self.start[cell[order]]
        best = self.cand[st].astype(np.int64)
        # n_active[k] = how many points have more than k candidates.
        n_active = np.searchsorted(-cnt, -np.arange(1, int(cnt[0]) if len(cnt) else 1), "left")
        m = int(n_active[0]) if len(n_active) else 0
        best_d2 = self._dist2(px[:m], py[:m], best[:m])
        for k, m in enumerate(n_active.tolist(), start=1):
            seg = self.cand[st[:m] + k]
            d2 = self._dist2(px[:m], py[:m], seg)
            # Strictly smaller: on a tie the lower segment index (earlier rank) stays.
            better = d2 < best_d2[:m]
            best[:m] = np.where(better, seg, best[:m])
            best_d2[:m] = np.where(better, d2, best_d2[:m])
        out = np.empty_like(best)
        out[order] = best
        return out

    def nearest(self, px: FloatArray, py: FloatArray) -> tuple[np.ndarray, FloatArray]:
        """(segment index, fraction along it) of the nearest point of the line, per point."""
        ix = np.floor((px - self.ox) / self.cell_m)
        iy = np.floor((py - self.oy) / self.cell_m)
        inside = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        seg = np.empty(len(px), dtype=np.int64)
        if inside.all():
            seg[:] = self._grid(px, py, (iy * self.nx + ix).astype(np.int64))
        else:
            g = np.flatnonzero(inside)
            seg[g] = self._grid(px[g], py[g], (iy[g] * self.nx + ix[g]).astype(np.int64))
            o = np.flatnonzero(~inside)
            seg[o] = self._scan(px[o], py[o])
        return seg, self.line.point_segment_fraction(seg, px, py)
