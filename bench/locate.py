"""Benchmark: bulk ``locate_many`` against a plain per-point shapely loop.

    .venv/bin/python bench/locate.py [--points 1000000] [--baseline-points 20000] [--seed 0]

Random points, uniform in the bounding box of the PK–IR line ± 1°. The bulk path runs on all
of them (best of ``--repeat``); the baseline loop, and the one-point API, on the first
``--baseline-points``. Both must give the same answers there (side and sector equal, distance
and km within 1 m). Goal (issue): ≥ 500,000 points/s and ≥ 50× the baseline.
Exit code 1 if any answer differs or the goal is missed.
"""

from __future__ import annotations

import argparse
import bisect
import os
import platform
import sys

import numpy as np
import pyproj
import shapely
from pyproj import Geod, Transformer
from rich.console import Console
from rich.table import Table
from shapely.geometry import LineString, Point
from shapely.prepared import prep

from benchkit import cpu_model, timed
from sarhad.border import BorderProfile, load_profile

GOAL_POINTS_PER_S = 500_000
GOAL_RATIO = 50.0


def plain_loop(profile: BorderProfile, lon: np.ndarray, lat: np.ndarray) -> dict[str, list]:
    """What a developer would write: shapely and pyproj, one point at a time.

    Same definitions as the product: the nearest point in the profile's local transverse
    Mercator, WGS84 geodesic distance to it, km as geodesic length along the line.
    """
    geod = Geod(ellps="WGS84")
    crs = profile.polyline.plane.crs
    to_plane = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    polygons = [(code, prep(poly)) for code, poly in profile.polygons.items()]
    line_xy = LineString(
        [to_plane.transform(x, y) for x, y in profile.line.coords]
    )  # the line in metres
    # Along-line metres in the plane → geodesic km: cumulative tables per vertex.
    plane_cum, km_cum, seg_km = [0.0], [0.0], []
    for (x0, y0), (x1, y1), (lo0, la0), (lo1, la1) in zip(
        line_xy.coords[:-1],
        line_xy.coords[1:],
        profile.line.coords[:-1],
        profile.line.coords[1:],
        strict=True,
    ):
        plane_cum.append(plane_cum[-1] + ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5)
        seg_km.append(geod.inv(lo0, la0, lo1, la1)[2] / 1000)
        km_cum.append(km_cum[-1] + seg_km[-1])
    crossings = [(c.id, *to_plane.transform(c.lon, c.lat), c.lon, c.lat) for c in profile.crossings]
    step, n_sectors = profile.sector_length_km, len(profile.sectors)

    out: dict[str, list] = {k: [] for k in ("side", "distance_m", "km", "sector", "crossing")}
    for lo, la in zip(lon.tolist(), lat.tolist(), strict=True):
        point = Point(lo, la)
        side = next((code for code, poly in polygons if poly.contains(point)), "outside")
        x, y = to_plane.transform(lo, la)
        along = line_xy.project(Point(x, y))
        foot = line_xy.interpolate(along)
        foot_lon, foot_lat = to_lonlat.transform(foot.x, foot.y)
        distance = geod.inv(lo, la, foot_lon, foot_lat)[2]
        i = min(max(bisect.bisect_right(plane_cum, along) - 1, 0), len(seg_km) - 1)
        km = km_cum[i] + (along - plane_cum[i]) / (plane_cum[i + 1] - plane_cum[i]) * seg_km[i]
        sector = min(int(km // step), n_sectors - 1)
        cid, _, _, clon, clat = min(crossings, key=lambda c: (c[1] - x) ** 2 + (c[2] - y) ** 2)
        out["side"].append(side)
        out["distance_m"].append(distance)
        out["km"].append(km)
        out["sector"].append(sector)
        out["crossing"].append(cid)
        geod.inv(lo, la, clon, clat)  # the crossing distance, as the product reports it
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--baseline-points", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    console = Console()

    profile = load_profile()
    minx, miny, maxx, maxy = profile.line.bounds
    rng = np.random.default_rng(args.seed)
    lon = rng.uniform(minx - 1, maxx + 1, args.points)
    lat = rng.uniform(miny - 1, maxy + 1, args.points)
    n_base = min(args.baseline_points, args.points)
    b_lon, b_lat = lon[:n_base], lat[:n_base]

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    console.print(
        f"CPU: {cpu_model()} × {cpus} · Python {platform.python_version()} · numpy "
        f"{np.__version__} · shapely {shapely.__version__} · pyproj {pyproj.__version__}"
    )
    console.print(
        f"Profile {profile.id}: {profile.length_km:.1f} km, {len(profile.sectors)} sectors. "
        f"Points: {args.points:,} in lon {minx - 1:.2f}–{maxx + 1:.2f}, "
        f"lat {miny - 1:.2f}–{maxy + 1:.2f} (seed {args.seed})"
    )

    build_s, _ = timed(profile.prepare_bulk, 1)  # one-off per process, reported apart
    bulk_s, bulk = timed(lambda: profile.locate_many(lon, lat), args.repeat)
    base_s, base = timed(lambda: plain_loop(profile, b_lon, b_lat), 1)
    api_s, _ = timed(lambda: [profile.locate(a, b) for a, b in zip(b_lon, b_lat, strict=True)], 1)

    # Same answers on the baseline's points.
    sub = profile.locate_many(b_lon, b_lat)
    assert isinstance(base, dict)
    mismatches = {
        "side": int(np.sum(sub.side != np.array(base["side"]))),
        "sector": int(np.sum(sub.sector_index != np.array(base["sector"]))),
        "distance > 1 m": int(np.sum(np.abs(sub.distance_m - np.array(base["distance_m"])) > 1)),
        "km > 1 m": int(np.sum(np.abs(sub.km - np.array(base["km"])) > 0.001)),
        "crossing": int(
            np.sum(
                np.array([profile.crossings[i].id for i in sub.nearest_crossing_index])
                != np.array(base["crossing"])
            )
        ),
    }
    assert bulk is not None

    bulk_rate, base_rate, api_rate = args.points / bulk_s, n_base / base_s, n_base / api_s
    table = Table(title="locate: points in the border region")
    for col in ("method", "points", "seconds", "points/s", "× baseline"):
        table.add_column(col, justify="left" if col == "method" else "right")
    table.add_row(
        f"locate_many (bulk, best of {args.repeat})",
        f"{args.points:,}",
        f"{bulk_s:.3f}",
        f"{bulk_rate:,.0f}",
        f"{bulk_rate / base_rate:.1f}",
    )
    table.add_row(
        "locate() one point at a time",
        f"{n_base:,}",
        f"{api_s:.3f}",
        f"{api_rate:,.0f}",
        f"{api_rate / base_rate:.2f}",
    )
    table.add_row(
        "plain shapely loop (baseline)", f"{n_base:,}", f"{base_s:.3f}", f"{base_rate:,.0f}", "1.0"
    )
    console.print(table)
    console.print(f"One-off index build (first bulk call in a process): {build_s:.2f} s")
    console.print(
        "Mismatches vs baseline on its points: "
        + ", ".join(f"{k} {v}" for k, v in mismatches.items())
    )
    ratio = bulk_rate / base_rate
    ok_speed = bulk_rate >= GOAL_POINTS_PER_S and ratio >= GOAL_RATIO
    ok_same = not any(mismatches.values())
    console.print(
        f"Goal: ≥ {GOAL_POINTS_PER_S:,} points/s and ≥ {GOAL_RATIO:g}× baseline → "
        f"{bulk_rate:,.0f} points/s, {ratio:.1f}× → "
        + ("[green]PASS[/green]" if ok_speed else "[red]FAIL[/red]")
    )
    console.print("Same answers: " + ("[green]PASS[/green]" if ok_same else "[red]FAIL[/red]"))
    return 0 if ok_speed and ok_same else 1


if __name__ == "__main__":
    sys.exit(main())
