"""The crossings report as CSV, GeoJSON and a PNG chart (days closed, daily throughput)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta
from typing import Any

from sarhad.analysis.crossings.figures import Closure, CrossingsReport, SideMonth
from sarhad.border import BorderProfile
from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import message
from sarhad.crossings.places import place
from sarhad.crossings.taxonomy import Reason

REASONS = tuple(r.value for r in Reason)
SIDE_COLUMNS = (
    "crossing", "kind", "side", "ours", "month", "hours_closed_total",
    *(f"hours_closed_{r}" for r in REASONS), "hours_restricted_total", "open_hours_lost",
    "days_closed_total", "days_any_closure", "scheduled_days", "days_opened", "opened_share",
    "closures", "closures_after_incident", "lag_median_h", "throughput_days",
    "vehicles_per_day", "trucks_per_day", "pedestrians_per_day", "fuel_litres_per_day",
)  # fmt: skip
FLOW_FIELDS = ("days_with_data", "vehicles", "trucks", "pedestrians", "fuel_litres")
CLOSURE_COLUMNS = (
    "crossing", "side", "declaration_id", "reason", "starts_at", "ends_at", "hours_in_month",
    "incident_id", "incident_km", "lag_hours",
    *(f"before_{f}" for f in FLOW_FIELDS), *(f"after_{f}" for f in FLOW_FIELDS),
    "before_goods_value", "after_goods_value",
)  # fmt: skip
CSV_ROWS = ("sides", "closures")

#: Throughput panels in the chart at most (ours first); the rest are in the tables.
MAX_PANELS = 4
#: One colour per reason, stable between charts (matplotlib's tab10 palette).
REASON_COLOURS = dict(
    zip(
        REASONS,
        ("#d62728", "#ff7f0e", "#9467bd", "#2ca02c", "#1f77b4", "#8c564b", "#7f7f7f"),
        strict=True,
    )
)


def summary(item: SideMonth, month: str) -> dict[str, Any]:
    """One side's month as flat values (a CSV row; GeoJSON properties with a side prefix)."""
    t = item.throughput
    return {
        "crossing": item.crossing,
        "kind": item.kind,
        "side": item.side,
        "ours": item.ours,
        "month": month,
        "hours_closed_total": item.hours_closed_total,
        **{f"hours_closed_{r}": item.hours_closed.get(r, 0.0) for r in REASONS},
        "hours_restricted_total": item.hours_restricted_total,
        "open_hours_lost": item.open_hours_lost,
        "days_closed_total": item.days_closed_total,
        "days_any_closure": item.days_any_closure,
        "scheduled_days": item.scheduled_days,
        "days_opened": item.days_opened,
        "opened_share": item.opened_share,
        "closures": len(item.closures),
        "closures_after_incident": item.closures_after_incident,
        "lag_median_h": item.lags.median_h,
        "throughput_days": t.days_with_data,
        "vehicles_per_day": t.vehicles,
        "trucks_per_day": t.trucks,
        "pedestrians_per_day": t.pedestrians,
        "fuel_litres_per_day": t.fuel_litres,
    }


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.4f}".rstrip("0").rstrip(".")
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, dict):
        return " ".join(f"{k}={_cell(x)}" for k, x in v.items())
    return str(v)


def _closure_row(item: SideMonth, c: Closure) -> dict[str, Any]:
    inc = c.incident
    return {
        "crossing": item.crossing,
        "side": item.side,
        "declaration_id": c.declaration_id,
        "reason": c.reason,
        "starts_at": c.starts_at,
        "ends_at": c.ends_at,
        "hours_in_month": c.hours_in_month,
        "incident_id": inc.incident_id if inc else None,
        "incident_km": inc.distance_km if inc else None,
        "lag_hours": inc.lag_hours if inc else None,
        **{f"before_{f}": getattr(c.before, f) for f in FLOW_FIELDS},
        **{f"after_{f}": getattr(c.after, f) for f in FLOW_FIELDS},
        "before_goods_value": c.before.goods_value,
        "after_goods_value": c.after.goods_value,
    }


def report_csv(report: CrossingsReport, *, rows: str = "sides") -> str:
    """One line per crossing and side (``rows="sides"``) or per closure (``"closures"``)."""
    if rows not in CSV_ROWS:
        raise InvalidInput(
            FieldError.of(
                "rows", message("analysis.rows", "{rows}: use sides or closures", rows=repr(rows))
            )
        )
    if rows == "sides":
        columns, lines = SIDE_COLUMNS, [summary(i, report.month) for i in report.items]
    else:
        columns = CLOSURE_COLUMNS
        lines = [_closure_row(i, c) for i in report.items for c in i.closures]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for line in lines:
        writer.writerow({k: _cell(v) for k, v in line.items()})
    return buf.getvalue()


def report_geojson(report: CrossingsReport, profile: BorderProfile) -> dict[str, Any]:
    """One point per crossing or market; each side's figures prefixed ``pk_`` / ``ir_``."""
    features: dict[str, dict[str, Any]] = {}
    skip = {"crossing", "kind", "side", "month"}
    for item in report.items:
        where = place(profile, item.crossing)
        props = {"id": item.crossing, "kind": item.kind, "name": item.name, "month": report.month}
        f = features.setdefault(
            item.crossing,
            {
                "type": "Feature",
                "id": item.crossing,
                "geometry": {"type": "Point", "coordinates": [where.lon, where.lat]},
                "properties": props,
            },
        )
        prefix = item.side.lower()
        f["properties"].update(
            {f"{prefix}_{k}": v for k, v in summary(item, report.month).items() if k not in skip}
        )
    return {"type": "FeatureCollection", "features": list(features.values())}


# --- the chart -----------------------------------------------------------------------------


def _label(item: SideMonth) -> str:
    return f"{item.crossing} ({item.side}{', ours' if item.ours else ''})"


def report_png(report: CrossingsReport, *, dpi: int = 100) -> bytes:
    """A PNG: days closed per crossing and side, stacked by reason; then daily vehicles,
    trucks and pedestrians of the sides that recorded any, days with a closure shaded."""
    # Imported here: matplotlib takes a moment to load and only the chart needs it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import DateFormatter, DayLocator, date2num
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    # Sides nothing was recorded or received for would be empty rows: left out.
    items = [i for i in report.items if i.known] or report.items
    flowing = sorted(
        (i for i in items if i.throughput.days_with_data > 0), key=lambda i: not i.ours
    )[:MAX_PANELS]
    panels = max(1, len(flowing))
    fig = Figure(figsize=(10, 1.2 + 0.35 * len(items) + 2.6 * panels), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(1 + panels, 1, height_ratios=[0.5 + 0.3 * len(items)] + [2] * panels)
    ax = fig.add_subplot(grid[0])
    labels = [_label(i) for i in items]
    left = [0] * len(items)
    for reason in REASONS:
        counts = [i.days_closed.get(reason, 0) for i in items]
        if any(counts):
            ax.barh(labels, counts, left=left, color=REASON_COLOURS[reason], label=reason)
            left = [a + b for a, b in zip(left, counts, strict=True)]
    ax.set_yticks(range(len(items)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max([*left, 1]) + 1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("days closed (regular opening window wholly under a declared closure)")
    ax.set_title(f"Crossings, {report.month}: days closed by reason", loc="left")
    if any(left):
        ax.legend(fontsize=8, loc="lower right", frameon=False)
    for k, item in enumerate(flowing or [None]):
        tax = fig.add_subplot(grid[1 + k])
        if item is None:
            tax.text(0.5, 0.5, f"no throughput recorded in {report.month}", ha="center",
                     va="center", transform=tax.transAxes)  # fmt: skip
            tax.set_axis_off()
            break
        noon = [date2num(datetime.combine(d.day, time(12))) for d in item.days]
        for attr, colour in (("vehicles", "#1f77b4"), ("trucks", "#ff7f0e"),
                             ("pedestrians", "#2ca02c")):  # fmt: skip
            values = [getattr(d, attr) for d in item.days]
            tax.plot(noon, [float("nan") if v is None else v for v in values], marker=".",
                     color=colour, label=attr)  # fmt: skip
        for d in item.days:
            if d.closed_hours > 0:
                d0 = date2num(datetime.combine(d.day, time(0)))
                tax.axvspan(d0, d0 + 1, color="#d62728", alpha=0.15, lw=0)
        first = datetime.combine(item.days[0].day, time(0))
        tax.set_xlim(date2num(first), date2num(first + timedelta(days=len(item.days))))
        tax.xaxis.set_major_locator(DayLocator(interval=2))
        tax.xaxis.set_major_formatter(DateFormatter("%d"))
        top = max((getattr(d, a) or 0 for d in item.days for a in ("vehicles", "trucks",
                   "pedestrians")), default=0)  # fmt: skip
        tax.set_ylim(0, max(top, 1) * 1.3)  # headroom for the legend
        tax.set_xlabel(f"day of {report.month}")
        tax.set_title(f"{_label(item)}: daily throughput ({item.time_zone} days)", loc="left",
                      fontsize=10)  # fmt: skip
        handles, names = tax.get_legend_handles_labels()
        handles.append(Patch(color="#d62728", alpha=0.15, label="declared closure"))
        tax.legend(handles, [*names, "declared closure"], fontsize=8, loc="upper left",
                   ncols=4, frameon=False)  # fmt: skip
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
