"""Benchmark: the monthly report (en, ur, fa) with 50,000 incidents in the database.

    .venv/bin/python bench/report.py [--size 50000] [--profile]

Baseline in the same run: the same month's counts (per category × provenance × month over 13
months) and casualty sums by a plain pandas group-by over the same rows read with one query.
The report does more (joint events, tests, Gi*, the space-time scan with 999 permutations,
cooperation, the map and charts, the PDF), so the ratio says what all of that costs on top of
reading and counting. Goal: under 10 s per language (figures + one rendering; the figures are
timed twice: first in the process, with its imports, and again). ``--profile`` prints where
time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from rich.console import Console
from rich.table import Table

from benchkit import cpu_model

MONTH = "2024-12"
CATEGORIES = ("armed_attack", "armed_clash", "smuggling_narcotics", "smuggling_fuel",
              "illegal_crossing", "cross_border_fire")  # fmt: skip


def build(size: int, root: Path, console: Console) -> tuple[Any, Any, Any]:
    """A migrated SQLite node with ``size`` incidents over the 13 months ending in MONTH."""
    from sqlalchemy import insert, select

    from analysis.report_data import december
    from sarhad.border import load_profile
    from sarhad.core.auth import Principal, Role
    from sarhad.core.config import Settings
    from sarhad.incidents.models import Incident
    from sarhad.node import init_node

    settings = Settings(data_dir=root, database_url=f"sqlite:///{root / 'sarhad.db'}",
                        node_name="pk-node", node_side="PK")  # fmt: skip
    db = init_node(settings)
    profile = load_profile()
    december(db, profile, Principal("bench", Role.DUTY_OFFICER))
    with db.session() as s:
        template = dict(s.execute(select(Incident.__table__)).first()._mapping)  # type: ignore[union-attr]
    rng = np.random.default_rng(19)
    n = size - 14
    kms = rng.uniform(0, profile.length_km - 0.01, n)
    lon, lat = profile.polyline.lonlat_at_km(kms)
    start = datetime(2023, 12, 1, tzinfo=UTC)
    span = (datetime(2025, 1, 1, tzinfo=UTC) - start).total_seconds()
    secs = rng.uniform(0, span, n)
    partner = rng.random(n) < 0.3
    cats = rng.choice(CATEGORIES, n)
    killed = rng.poisson(0.3, n)
    rows = []
    for i in range(n):
        km = float(kms[i])
        rows.append({
            **template, "id": str(uuid.uuid4()), "category": str(cats[i]),
            "occurred_at": start + timedelta(seconds=float(secs[i])), "km": km,
            "lon": float(lon[i]), "lat": float(lat[i]),
            "sector_id": profile.sector_at_km(km).id, "side": "PK" if i % 2 else "IR",
            "sf_killed": int(killed[i]), "external_ref": None,
            "origin_node_id": str(uuid.UUID(int=7)) if partner[i] else None,
            "status": "validated" if partner[i] else "submitted",
        })  # fmt: skip
    t0 = time.perf_counter()
    for k in range(0, n, 5000):
        with db.session() as s:
            s.execute(insert(Incident.__table__), rows[k : k + 5000])
            s.commit()
    console.print(f"loaded {size:,} incidents in {time.perf_counter() - t0:.1f} s")
    return settings, db, profile


def pandas_baseline(db: Any) -> float:
    """The same counts and sums by a plain pandas group-by; seconds."""
    import pandas as pd

    t0 = time.perf_counter()
    with db.engine.connect() as conn:
        df = pd.read_sql(
            "SELECT id, occurred_at, category, side, sector_id, origin_node_id, sf_killed, "
            "sf_injured, civ_killed, civ_injured FROM incidents WHERE revoked = 0 AND "
            "status != 'draft' AND occurred_at >= '2023-12-01' AND occurred_at < '2025-01-01'",
            conn,
        )
    df["month"] = df["occurred_at"].astype(str).str[:7]
    df["provenance"] = np.where(df["origin_node_id"].isna(), "ours", "partner")
    for dim in ("category", "side", "sector_id"):
        df.groupby([dim, "provenance", "month"]).size()
    df[df["month"] == MONTH].groupby("provenance")[
        ["sf_killed", "sf_injured", "civ_killed", "civ_injured"]
    ].sum()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=50_000)
    ap.add_argument("--profile", action="store_true", help="print where the time goes")
    args = ap.parse_args()
    console = Console()
    from sarhad.analysis.crossings.figures import ReportParams
    from sarhad.analysis.report.service import monthly_data, render_pdf
    from sarhad.analysis.risk import RiskParams
    from sarhad.node import report_ports

    with tempfile.TemporaryDirectory() as tmp:
        _settings, db, profile = build(args.size, Path(tmp), console)
        ports = report_ports()
        base = min(pandas_baseline(db) for _ in range(3))
        prof = cProfile.Profile() if args.profile else None
        if prof:
            prof.enable()

        def figures() -> tuple[Any, float, float]:
            t0, c0 = time.perf_counter(), time.process_time()
            with db.session() as s:
                data = monthly_data(
                    s, profile=profile, month=MONTH, node_side="PK", risk_params=RiskParams(),
                    crossing_params=ReportParams(), shared=ports.shared,
                )  # fmt: skip
            return data, time.perf_counter() - t0, time.process_time() - c0

        # First in this process (the command line: it imports esda, libpysal, scipy.stats
        # on the way), then again (a running node, or the next language).
        _data, cold_s, cold_cpu = figures()
        data, figures_s, figures_cpu = figures()
        per_lang = {}
        for lang in ("en", "ur", "fa"):
            t1, c1 = time.perf_counter(), time.process_time()
            pdf = render_pdf(data, lang=lang, profile=profile, ports=ports)
            per_lang[lang] = (time.perf_counter() - t1, time.process_time() - c1, len(pdf))
        if prof:
            prof.disable()
        db.dispose()
    # CPU seconds beside the wall-clock ones: on a shared machine the wall clock counts the
    # other work too, the CPU time of this process does not (it is what to compare runs by).
    table = Table(title=f"Monthly report, {args.size:,} incidents, month {MONTH}")
    for col in ("step", "seconds", "CPU seconds", "ratio to pandas", "goal < 10 s / language"):
        table.add_column(col)
    table.add_row("pandas group-by (baseline)", f"{base:.2f}", "", "1.0", "")
    table.add_row(
        "figures + statistics, first in a process", f"{cold_s:.2f}", f"{cold_cpu:.2f}",
        f"{cold_s / base:.1f}", "",
    )  # fmt: skip
    table.add_row(
        "figures + statistics, again", f"{figures_s:.2f}", f"{figures_cpu:.2f}",
        f"{figures_s / base:.1f}", "",
    )  # fmt: skip
    for lang, (sec, cpu, size) in per_lang.items():
        total = figures_s + sec
        table.add_row(
            f"render {lang} ({size // 1024} KiB); figures again + render; first in a process",
            f"{sec:.2f}; {total:.2f}; {cold_s + sec:.2f}",
            f"{cpu:.2f}; {figures_cpu + cpu:.2f}; {cold_cpu + cpu:.2f}",
            f"{total / base:.1f}", "met" if total < 10 else "MISSED",
        )  # fmt: skip
    console.print(table)
    console.print(f"machine: {cpu_model()}, 2 cores shared with parallel work")
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
