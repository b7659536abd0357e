"""``sarhad crossings report``: the month at every crossing as tables, CSV, GeoJSON or JSON,
plus a PNG chart of days closed and daily throughput."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from sarhad.analysis.cli import _emit, _format
from sarhad.analysis.crossings.export import CSV_ROWS, report_csv, report_geojson, report_png
from sarhad.analysis.crossings.figures import (
    CrossingsReport,
    LagStats,
    ReportParams,
    SideMonth,
    parse_month,
)
from sarhad.analysis.crossings.report import month_report
from sarhad.border import BorderProfile, profile_from_settings
from sarhad.core import console
from sarhad.core.console import guarded, out, print_json
from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import message


def _compact(**kw: object) -> dict[str, object]:
    # Compact, so that the tables read on an 80-column console; CSV and JSON have it all.
    return {"box": box.SIMPLE_HEAD, "show_edge": False, "padding": (0, 1, 0, 0), **kw}


def _side(i: SideMonth) -> str:
    return f"{i.side}{'*' if i.ours else ''}"


def _months_table(report: CrossingsReport) -> Table:
    table = Table(
        Column("crossing / market", no_wrap=True),
        "side",
        Column("closed h", justify="right"),
        Column("restr. h", justify="right"),
        Column("open h lost", justify="right"),
        Column("days closed", justify="right"),
        Column("days part closed", justify="right"),
        Column("opened days", justify="right", no_wrap=True),
        **_compact(title=f"Closures in {report.month} (each side's local days; * ours)"),
    )
    for i in report.items:
        if not i.known:
            continue
        share = f" {i.opened_share:.0%}" if i.opened_share is not None else ""
        table.add_row(
            i.crossing,
            _side(i),
            f"{i.hours_closed_total:g}",
            f"{i.hours_restricted_total:g}",
            f"{i.open_hours_lost:g}",
            str(i.days_closed_total),
            str(i.days_any_closure - i.days_closed_total),
            f"{i.days_opened}/{i.scheduled_days}{share}",
        )
    return table


def _reasons_table(report: CrossingsReport) -> Table:
    table = Table(
        Column("crossing / market", no_wrap=True),
        "side",
        Column("reason", no_wrap=True),
        Column("closed h", justify="right"),
        Column("days closed", justify="right"),
        Column("restricted h", justify="right"),
        **_compact(title="By reason"),
    )
    for i in report.items:
        for r in sorted({*i.hours_closed, *i.hours_restricted}):
            table.add_row(
                i.crossing,
                _side(i),
                r.replace("_", " "),
                f"{i.hours_closed.get(r, 0):g}",
                str(i.days_closed.get(r, 0)),
                f"{i.hours_restricted.get(r, 0):g}",
            )
    return table


def _mean(v: float | None) -> str:
    return "–" if v is None else f"{v:,.0f}"


def _closures_table(report: CrossingsReport, profile: BorderProfile) -> Table:
    n = report.window_days
    table = Table(
        Column("crossing, side / reason", no_wrap=True),
        Column("from / until", no_wrap=True),
        Column("incident", justify="right", no_wrap=True),
        Column("veh./day", justify="right", no_wrap=True),
        Column("trucks/day", justify="right", no_wrap=True),
        Column("days", justify="right", no_wrap=True),
        **_compact(title=f"Closures started in {report.month}: {n} days before → {n} after"),
    )
    for i in report.items:
        tz = profile.local_time(i.side)
        for c in i.closures:
            start = c.starts_at.astimezone(tz)
            until = f"{c.ends_at.astimezone(tz):%m-%d %H:%M}" if c.ends_at else "open-ended"
            inc = c.incident
            b, a = c.before, c.after
            table.add_row(
                f"{i.crossing} {_side(i)}\n{c.reason.replace('_', ' ')}",
                f"{start:%m-%d %H:%M}\n{until}",
                f"{inc.lag_hours:g} h\n{inc.distance_km:.1f} km" if inc else "",
                f"{_mean(b.vehicles)} → {_mean(a.vehicles)}",
                f"{_mean(b.trucks)} → {_mean(a.trucks)}",
                f"{b.days_with_data} · {a.days_with_data}",
            )
    return table


def _lags(report: CrossingsReport, stats: LagStats) -> None:
    total = sum(len(i.closures) for i in report.items)
    head = (
        f"{stats.count} of {total} closure(s) followed an incident within "
        f"{report.incident_km:g} km and {report.incident_hours:g} h"
    )
    if not stats.count:
        out.print(head)
        return
    out.print(
        f"{head}: lag median {stats.median_h:g} h (quartiles {stats.q1_h:g}–{stats.q3_h:g} h, "
        f"min {stats.min_h:g} h, max {stats.max_h:g} h)"
    )
    out.print(
        "[dim]lag histogram: "
        + ", ".join(f"{b.lo_h:g}–{b.hi_h:g} h: {b.count}" for b in stats.bins)
        + "[/]"
    )


def _seizures(items: list[SideMonth]) -> None:
    seen: set[str] = set()
    for i in items:
        if i.crossing in seen or not i.seizures:
            continue
        seen.add(i.crossing)
        parts = ", ".join(
            f"{s['commodity']} {s['quantity']:g} {s['unit']} ({len(s['incidents'])} incident(s))"
            for s in i.seizures
        )
        out.print(f"seizures near {i.crossing}: {parts}")


def _print_tables(report: CrossingsReport, profile: BorderProfile) -> None:
    if any(i.known for i in report.items):
        out.print(_months_table(report))
        out.print(_reasons_table(report))
    unknown = [f"{i.crossing} ({i.side})" for i in report.items if not i.known]
    if unknown:
        out.print(f"[dim]nothing recorded or received for: {', '.join(unknown)}[/]")
    if any(i.closures for i in report.items):
        out.print(_closures_table(report, profile))
        out.print(
            "[dim]incident: hours after the incident, and its distance; days: days with data "
            "before · after. Full ids, pedestrians, fuel, goods: --format csv --rows closures[/]"
        )
    _lags(report, report.lags)
    _seizures(report.items)


@guarded
def report(
    month: Annotated[str, typer.Option("--month", help="The month, YYYY-MM (each side's days)")],
    crossing: Annotated[str | None, typer.Option(help="Only this crossing or market")] = None,
    side: Annotated[str | None, typer.Option(help="Only this side (PK or IR)")] = None,
    format_: Annotated[
        str | None,
        typer.Option("--format", help="table, csv, geojson or json (default: table, or --out's)"),
    ] = None,
    rows: Annotated[
        str, typer.Option(help="CSV rows: sides (one per crossing and side) or closures")
    ] = "sides",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of printing")
    ] = None,
    chart: Annotated[
        Path | None,
        typer.Option(
            help="Write the chart (PNG) here; with tables by default "
            "DATA_DIR/reports/crossings-YYYY-MM.png (beside --out when given)"
        ),
    ] = None,
    no_chart: Annotated[bool, typer.Option("--no-chart", help="Do not write the chart")] = False,
) -> None:
    """The month at every crossing and market: hours and days closed by reason, closures
    after incidents, throughput before and after closures, scheduled days opened
    (see docs/crossings-report.md)."""
    year, mon = parse_month(month)
    fmt = _format(format_, out_file)
    if rows not in CSV_ROWS:
        raise InvalidInput(
            FieldError.of(
                "rows", message("analysis.rows", "{rows}: use sides or closures", rows=repr(rows))
            )
        )
    s = console.settings()
    if chart is None and fmt == "table" and not no_chart:
        # Not the current folder: a report run from anywhere must not litter it. The node's
        # data folder is where its other files live (or beside --out, where the user asked).
        folder = out_file.parent if out_file is not None else s.data_dir / "reports"
        chart = folder / f"crossings-{year:04d}-{mon:02d}.png"
        with contextlib.suppress(OSError):  # an unwritable folder is reported below
            folder.mkdir(parents=True, exist_ok=True)
    if no_chart:
        chart = None
    profile = profile_from_settings(s)
    db = console.open_db(s)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=console.err, transient=True,
    ) as progress:  # fmt: skip
        progress.add_task(f"computing {month}", total=None)
        with db.session() as session:
            data = month_report(
                session, profile=profile, params=ReportParams.from_settings(s), month=month,
                node_side=s.node_side, crossing=crossing, side=side,
            )  # fmt: skip
        png = report_png(data) if chart is not None else None
    if chart is not None and png is not None:
        # Written first, so that an unwritable --chart fails before anything is printed.
        try:
            chart.write_bytes(png)
        except OSError as exc:
            raise console.cannot_write("chart", chart, exc) from None
    if fmt == "table":
        _print_tables(data, profile)
    elif fmt == "csv":
        _emit(report_csv(data, rows=rows), out_file, f"the {month} report as CSV")
    elif fmt == "geojson":
        text = json.dumps(report_geojson(data, profile), ensure_ascii=False, indent=2, default=str)
        _emit(text + "\n", out_file, f"the {month} report as GeoJSON")
    elif out_file is None:
        print_json(data.model_dump(mode="json"))
    else:
        _emit(data.model_dump_json(indent=2) + "\n", out_file, f"the {month} report as JSON")
    if chart is not None:
        # On stderr when stdout carries data, so that a pipe gets clean CSV or JSON.
        (out if fmt == "table" else console.err).print(
            f"wrote the chart to {chart.resolve()}", soft_wrap=True, highlight=False
        )
