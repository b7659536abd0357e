"""Benchmark: ``parse_inbound`` on a typical partner batch, fast checks against stix2.parse.

    .venv/bin/python bench/stix_inbound.py [--incidents 1000] [--repeat 5]

The batch is what a partner node running Sarhad sends: ``incident_to_stix`` of generated
``IncidentOut`` records (all categories, TLPs and withheld-field combinations), i.e. for each
incident its location and located-at relationship. The fast path (default) runs on it
``--repeat`` times, the reference path (``reference=True``: ``stix2.parse`` on every object,
jsonschema for the extension) fewer times; both must give the same result. Goal: ≤ 60 µs
per object (≥ 16,700 objects/s), so that validated ingest reaches ≥ 5,000 objects/s with the
database. Exit code 1 if the results differ or the goal is missed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from benchkit import cpu_model, timed
from federation.fixtures.stix_records import SUBSETS, make_record, to_stix
from sarhad.federation.types.incident import parse_inbound

GOAL_US_PER_OBJECT = 60.0
PACKAGES = ("stix2", "jsonschema", "pydantic")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reference-repeat", type=int, default=2)
    args = parser.parse_args()
    console = Console(width=110)

    objects: list[object] = [
        obj
        for n in range(args.incidents)
        for obj in to_stix(make_record(n), SUBSETS[n % len(SUBSETS)])
    ]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    console.print(
        f"CPU: {cpu_model()} × {cpus} · Python {platform.python_version()} · "
        + " · ".join(f"{p} {importlib.metadata.version(p)}" for p in PACKAGES)
    )
    console.print(
        f"Batch: {args.incidents:,} incidents = {len(objects):,} objects "
        "(incident + location + located-at relationship each)"
    )

    fast_s, fast = timed(lambda: parse_inbound(objects), args.repeat)
    ref_s, ref = timed(lambda: parse_inbound(objects, reference=True), args.reference_repeat)
    incidents, rejected, others = fast  # type: ignore[misc]
    same = fast == ref and len(incidents) == args.incidents and not rejected and not others

    table = Table(title="parse_inbound: typical partner batch")
    for col in ("path", "objects", "seconds", "µs/object", "objects/s", "× baseline"):
        table.add_column(col, justify="left" if col == "path" else "right")
    n = len(objects)
    for label, seconds, repeat in (
        ("fast checks (default)", fast_s, args.repeat),
        ("reference=True: stix2.parse, jsonschema (baseline)", ref_s, args.reference_repeat),
    ):
        table.add_row(
            f"{label}, best of {repeat}",
            f"{n:,}",
            f"{seconds:.3f}",
            f"{seconds / n * 1e6:.1f}",
            f"{n / seconds:,.0f}",
            f"{ref_s / seconds:.1f}",
        )
    console.print(table)

    us = fast_s / n * 1e6
    ok = same and us <= GOAL_US_PER_OBJECT
    console.print(
        f"Same result as the reference path: {'yes' if same else 'NO'} "
        f"({len(incidents):,} incidents, {len(rejected)} rejected, {len(others)} others)."
    )
    console.print(
        f"Goal ≤ {GOAL_US_PER_OBJECT:.0f} µs/object: {us:.1f} µs/object → "
        f"{'[green]PASS[/green]' if ok else '[red]FAIL[/red]'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
