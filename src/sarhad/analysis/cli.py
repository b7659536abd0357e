"""``sarhad risk``: sector risk as a coloured table, CSV, GeoJSON or JSON; or explain a sector."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Column, Table

from sarhad.analysis import service
from sarhad.analysis.risk import LEVELS, RiskParams, SectorRisk, level_counts
from sarhad.border import profile_from_settings
from sarhad.core import console
from sarhad.core.console import IMPACT_STYLE, guarded, out, print_json
from sarhad.core.db import utcnow
from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import message

FORMATS = ("table", "csv", "geojson", "json")
EXPLAIN_COLUMNS = (
    "incident_id",
    "category",
    "occurred_at",
    "km",
    "severity",
    "decay",
    "kernel_share",
    "value",
    "share_of_score",
)
_SUFFIX_FORMAT = {".csv": "csv", ".geojson": "geojson", ".json": "json"}


def _format(given: str | None, out_file: Path | None) -> str:
    """The output format: as given, else from the --out file's suffix, else a table."""
    if given is None:
        suffix = out_file.suffix.lower() if out_file else ""
        if out_file is not None and suffix not in _SUFFIX_FORMAT:
            raise InvalidInput(
                FieldError.of(
                    "format",
                    message(
                        "analysis.which_format",
                        "cannot tell the format from {name}",
                        name=repr(out_file.name),
                    ),
                ),
                hint=message(
                    "analysis.which_format.hint",
                    "give --format csv, geojson or json (or name the file .csv/.geojson/.json)",
                ),
            )
        return _SUFFIX_FORMAT.get(suffix, "table")
    fmt = given.lower()
    if fmt not in FORMATS:
        raise InvalidInput(
            FieldError.of(
                "format",
                message(
                    "analysis.format",
                    "{given}: use {formats}",
                    given=repr(given),
                    formats=", ".join(FORMATS),
                ),
            )
        )
    if fmt == "table" and out_file is not None:
        raise InvalidInput(
            FieldError.of("format", message("analysis.table_screen", "a table is for the screen")),
            hint=message(
                "analysis.table_screen.hint", "write a file with --format csv, geojson or json"
            ),
        )
    return fmt


def _emit(text: str, out_file: Path | None, what: str) -> None:
    if out_file is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    try:
        out_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise console.cannot_write("out", out_file, exc) from None
    out.print(f"wrote {what} to {out_file}", highlight=False)


def _level(level: str) -> str:
    return f"[{IMPACT_STYLE[level]}]{level}[/]"


def _summary(
    rows: list[SectorRisk],
    at: datetime,
    params: RiskParams,
    drafts: int,
    within_km: float,
    pairs: int = 0,
) -> None:
    counts = level_counts(rows)
    per_level = ", ".join(f"{counts[lv]} {_level(lv)}" for lv in LEVELS)
    out.print(
        f"{len(rows)} sectors at {at:%Y-%m-%d %H:%M} UTC: {per_level} "
        f"[dim](half-life {params.half_life_days:g} d, bandwidth {params.bandwidth_km:g} km, "
        f"thresholds {params.medium:g} / {params.high:g} / {params.critical:g}, "
        f"incidents within {within_km:g} km of the line)[/]"
    )
    if drafts:
        out.print(
            f"[yellow]{drafts} draft incident(s) not counted[/]: only submitted, validated and "
            "closed incidents count ('sarhad incidents submit ID'; imports arrive as drafts)"
        )
    if pairs:
        out.print(
            f"[yellow]{pairs} pair(s) of records only suggested as one event[/]: each counts "
            "twice until confirmed ('sarhad links list')"
        )


def _table(rows: list[SectorRisk]) -> Table:
    table = Table(
        Column("sector", no_wrap=True),
        Column("km", no_wrap=True),
        Column("score", justify="right"),
        "level",
        Column("incidents", justify="right"),
        Column("top incident", overflow="fold"),
        Column("share", justify="right"),
        title="Sector risk (severity-weighted incidents per 30 days)",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0),
    )
    for r in rows:
        top = r.contributions[0] if r.contributions else None
        table.add_row(
            r.sector_id,
            f"{r.start_km:.0f}–{r.end_km:.0f}",
            f"{r.score:.2f}",
            _level(r.level),
            str(len(service.material(r))),
            f"{top.incident_id[:8]} {top.category}" if top else "",
            f"{service.share_of_score(top, r.score):.0%}" if top else "",
        )
    return table


def _explain_csv(row: SectorRisk, top: int | None) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(EXPLAIN_COLUMNS)
    for c in row.contributions[:top]:
        d = service.contribution_dict(c, row.score)
        writer.writerow([d[k] for k in EXPLAIN_COLUMNS])
    return buf.getvalue()


def _explain_table(row: SectorRisk, top: int | None, params: RiskParams) -> None:
    out.print(
        f"sector [bold]{row.sector_id}[/] (km {row.start_km:.1f}–{row.end_km:.1f}): "
        f"score {row.score:.3f}, {_level(row.level)} "
        f"[dim](thresholds {params.medium:g} / {params.high:g} / {params.critical:g})[/]"
    )
    if not row.contributions:
        out.print("no incident contributes to this sector")
        return
    # Compact, so that it reads on an 80-column console; --format csv/json has full ids.
    table = Table(
        Column("incident", no_wrap=True, min_width=8),
        Column("category", overflow="fold"),
        Column("date", no_wrap=True, min_width=10),
        Column("km", justify="right"),
        Column("sev", justify="right"),
        Column("decay", justify="right"),
        Column("kernel", justify="right"),
        Column("value", justify="right"),
        Column("share", justify="right"),
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0),
    )
    for c in row.contributions[:top]:
        table.add_row(
            c.incident_id[:8],
            c.category,
            f"{c.occurred_at:%Y-%m-%d}",
            f"{c.km:.0f}",
            f"{c.severity:g}",
            f"{c.decay:.3f}",
            f"{c.kernel_share:.3f}",
            f"{c.value:.3f}",
            f"{service.share_of_score(c, row.score):.0%}",
        )
    out.print(table)
    shown = len(row.contributions[:top])
    if shown < len(row.contributions):
        out.print(f"[dim]{len(row.contributions) - shown} smaller contribution(s) not shown[/]")
    out.print(
        "[dim]sev: severity; kernel: the incident's share in this sector; value = sev × decay × "
        "kernel × 30·ln2/half-life; share: of the score. Full ids: --format csv or json[/]"
    )


@guarded
def risk(
    at: Annotated[
        str | None,
        typer.Option(help="As of this date or date-time (UTC if no zone; a date is 00:00)"),
    ] = None,
    origin: Annotated[
        str, typer.Option(help="all, local (this node's) or partner (received) incidents")
    ] = "all",
    format_: Annotated[
        str | None,
        typer.Option("--format", help="table, csv, geojson or json (default: table, or --out's)"),
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of printing")
    ] = None,
    explain: Annotated[
        str | None,
        typer.Option("--explain", help="Show which incidents make up this sector's score"),
    ] = None,
    top: Annotated[
        int | None,
        typer.Option(
            min=1, help="Only the N riskiest sectors (with --explain: the N largest parts)"
        ),
    ] = None,
    within_km: Annotated[
        float,
        typer.Option(min=0, help="Leave out incidents farther than this from the line (km)"),
    ] = service.DEFAULT_WITHIN_KM,
) -> None:
    """Risk per sector from incident history: time-decayed, severity-weighted, smoothed along
    the line, graded low / medium / high / critical (see docs/risk.md)."""
    if origin not in service.ORIGINS:
        raise InvalidInput(
            FieldError.of(
                "origin",
                message(
                    "analysis.origin", "{origin}: use all, local or partner", origin=repr(origin)
                ),
            )
        )
    fmt = _format(format_, out_file)
    if explain and fmt == "geojson":
        raise InvalidInput(
            FieldError.of(
                "format", message("analysis.geojson_line", "GeoJSON is for the whole line")
            ),
            hint=message(
                "analysis.geojson_line.hint",
                "drop --explain, or explain with --format table, json or csv",
            ),
        )
    when = service.parse_at(at) or utcnow()
    s = console.settings()
    params = RiskParams.from_settings(s)
    profile = profile_from_settings(s)
    db = console.open_db(s)
    with db.session() as session:
        if explain:
            row = service.explain(
                session,
                profile=profile,
                params=params,
                sector_id=explain,
                at=when,
                origin=origin,
                within_km=within_km,
            )
        else:
            rows = service.sector_risk(
                session, profile=profile, params=params, at=when, origin=origin, within_km=within_km
            )
            drafts = service.uncounted_drafts(
                session, profile=profile, at=when, origin=origin, within_km=within_km
            )
            pairs = service.suggested_pairs(
                session, profile=profile, at=when, origin=origin, within_km=within_km
            )
    if explain:
        _print_explanation(row, fmt, out_file, top, params, when, origin, within_km)
        return
    if top is not None:
        rows = sorted(rows, key=lambda r: (-r.score, r.number))[:top]
    if fmt == "table":
        out.print(_table(rows))
        _summary(rows, when, params, drafts, within_km, pairs)
    elif fmt == "csv":
        _emit(service.risk_csv(rows), out_file, f"{len(rows)} sectors as CSV")
    elif fmt == "geojson":
        text = json.dumps(service.risk_geojson(rows, profile), ensure_ascii=False, indent=2)
        _emit(text + "\n", out_file, f"{len(rows)} sectors as GeoJSON")
    else:
        # The top contributions per sector, as the API gives; --explain gives all of one.
        data = service.report(rows, at=when, origin=origin, params=params, within_km=within_km)
        _dump(data, out_file, f"{len(rows)} sectors as JSON")


def _dump(data: dict[str, Any], out_file: Path | None, what: str) -> None:
    if out_file is None:
        print_json(data)
    else:
        _emit(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n", out_file, what)


def _print_explanation(
    row: SectorRisk,
    fmt: str,
    out_file: Path | None,
    top: int | None,
    params: RiskParams,
    when: datetime,
    origin: str,
    within_km: float,
) -> None:
    if fmt == "table":
        _explain_table(row, top, params)
        return
    if fmt == "csv":
        _emit(_explain_csv(row, top), out_file, f"the explanation of {row.sector_id} as CSV")
        return
    data = {
        "at": when.isoformat(),
        "origin": origin,
        "within_km": within_km,
        "params": service.params_dict(params),
        **service.risk_dict(row, top=top),
    }
    _dump(data, out_file, f"the explanation of {row.sector_id} as JSON")
