"""Crossing exports: the board as GeoJSON, declarations and throughput as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sarhad.crossings.schemas import BoardRow, DeclarationOut, ThroughputOut

#: How far back "recent declarations" of a crossing's page reach.
RECENT = timedelta(days=30)

DECLARATION_COLUMNS = (
    "id", "crossing", "side", "status", "reason", "note", "starts_at", "ends_at", "planned",
    "incident_ids", "tlp", "withdrawn", "origin", "version", "created_at", "created_by",
)  # fmt: skip
THROUGHPUT_COLUMNS = (
    "crossing", "side", "date", "vehicles", "trucks", "pedestrians", "fuel_litres",
    "commodity", "quantity", "unit", "value", "currency", "tlp", "origin", "version",
)  # fmt: skip


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def _csv(columns: Iterable[str], rows: Iterable[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buf.getvalue()


def declarations_csv(rows: list[DeclarationOut]) -> str:
    """One line per declaration."""
    return _csv(
        DECLARATION_COLUMNS,
        ({c: getattr(r, c) for c in DECLARATION_COLUMNS} for r in rows),
    )


def throughput_csv(rows: list[ThroughputOut]) -> str:
    """One line per goods line (a day without goods has one line)."""

    def lines() -> Iterable[dict[str, Any]]:
        for r in rows:
            base = {
                "crossing": r.crossing, "side": r.side, "date": r.day.isoformat(),
                "vehicles": r.vehicles, "trucks": r.trucks, "pedestrians": r.pedestrians,
                "fuel_litres": r.fuel_litres, "tlp": r.tlp, "origin": r.origin,
                "version": r.version,
            }  # fmt: skip
            for g in r.goods or [{}]:
                yield base | {
                    k: g.get(k) for k in ("commodity", "quantity", "unit", "value", "currency")
                }

    return _csv(THROUGHPUT_COLUMNS, lines())


def board_geojson(rows: list[BoardRow]) -> dict[str, Any]:
    """The board as a FeatureCollection of points, one per crossing or market."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
                "properties": {
                    "id": r.crossing,
                    "kind": r.kind,
                    "name": r.name,
                    "combined": r.combined,
                    "ours": r.ours.model_dump(mode="json"),
                    "theirs": r.theirs.model_dump(mode="json") if r.theirs else None,
                    "mismatch": r.mismatch,
                },
            }
            for r in rows
        ],
    }
