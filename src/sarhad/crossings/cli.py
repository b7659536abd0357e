"""``sarhad crossings``: status board, declarations, hours, throughput, publication."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich import box
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from sarhad.border import BorderProfile, profile_from_settings
from sarhad.core import console
from sarhad.core.auth import CONSOLE
from sarhad.core.config import Settings
from sarhad.core.console import guarded, out, print_json
from sarhad.core.db import Database, utcnow
from sarhad.core.errors import FieldError, InvalidInput, from_validation
from sarhad.core.i18n import message
from sarhad.core.ports import CourierPort
from sarhad.core.times import parse_datetime, parse_day
from sarhad.crossings import export, flows
from sarhad.crossings.board import board
from sarhad.crossings.declarations import (
    declaration_out,
    end_declaration,
    list_declarations,
    withdraw_declaration,
)
from sarhad.crossings.declarations import declare as declare_status
from sarhad.crossings.hours import get_hours, hours_out, set_hours
from sarhad.crossings.places import local, place
from sarhad.crossings.ports import CrossingPorts
from sarhad.crossings.publication import set_published
from sarhad.crossings.schemas import DeclarationIn, HoursIn, SideView, ThroughputIn

app = typer.Typer(help="Crossing points and border markets.", no_args_is_help=True)
throughput_app = typer.Typer(help="Daily throughput: enter, import, list.", no_args_is_help=True)
app.add_typer(throughput_app, name="throughput")

STATUS_STYLE = {"open": "green", "restricted": "yellow", "closed": "bold red"}


def _open() -> tuple[Settings, Database, BorderProfile]:
    s = console.settings()
    return s, console.open_db(s), profile_from_settings(s)


def _ports(db: Database) -> CrossingPorts:
    return console.provided(CrossingPorts, db)


def _when(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = parse_datetime(text, f"--{name}")
    except InvalidInput as exc:
        exc.hint = "e.g. 2026-11-24T06:00+05:00 (give the offset; PKT is +05:00, IRST +03:30)"
        raise
    if value.tzinfo is None:
        raise InvalidInput(
            FieldError.of(
                f"--{name}", message("crossings.give_offset", "give the time zone offset")
            ),
            hint=message(
                "crossings.give_offset.hint",
                "e.g. 2026-11-24T06:00+05:00 for PKT, +03:30 for IRST, Z for UTC",
            ),
        )
    return value


def _day(text: str, name: str = "date") -> date:
    return parse_day(text, f"--{name}")


def _styled(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, '')}]{status}[/]"


def _view(v: SideView | None, profile: BorderProfile, tz_side: str) -> str:
    if v is None or not v.known:
        return "[dim]nothing received[/]"
    tz = profile.local_time(tz_side)
    text = _styled(v.status)
    if v.reason:
        text += f" ({v.reason.replace('_', ' ')})"
    if v.since:
        text += f"\nsince {local(v.since, tz)}"
    if v.until:
        text += f"\nuntil {local(v.until, tz)}"
    elif v.status != "open" and v.declared:
        text += "\nuntil further notice"
    return text


@app.command("status")
@guarded
def status(
    at: Annotated[str | None, typer.Option(help="A moment (ISO with offset); default now")] = None,
    lang: Annotated[str, typer.Option(help="Place names in en, ur or fa")] = "en",
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Every crossing and market now: our side, the partner's, combined, mismatches."""
    s, db, profile = _open()
    moment = _when(at, "at") or utcnow()
    with db.session() as session:
        rows = board(session, profile=profile, side=s.node_side, at=moment, lang=lang)
    if json_:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    other = next((x for x in profile.sides if x != s.node_side), "partner")
    table = Table(
        Column("crossing / market", overflow="fold"),
        f"ours ({s.node_side})",
        f"theirs ({other})",
        "combined",
        Column("mismatch", overflow="fold"),
        "public",
        title=f"Crossings at {local(moment, profile.local_time(s.node_side))}",
        box=box.SIMPLE_HEAD,
    )
    for r in rows:
        table.add_row(
            f"{r.name}\n[dim]{r.crossing} ({r.kind})[/]",
            _view(r.ours, profile, s.node_side),
            _view(r.theirs, profile, s.node_side),
            _styled(r.combined),
            f"[bold red]{r.mismatch}[/]" if r.mismatch else "",
            "yes" if r.published else "no",
        )
    out.print(table)
    flagged = [r for r in rows if r.mismatch]
    if flagged:
        out.print(
            f"[bold red]{len(flagged)} mismatch(es)[/]: raise it with the partner's liaison "
            "office ('sarhad alerts raise --kind crossing_closure ...')"
        )


@app.command("declare")
@guarded
def declare(
    crossing: Annotated[str, typer.Argument(help="Crossing or market id, e.g. taftan-mirjaveh")],
    status_: Annotated[str, typer.Argument(metavar="STATUS", help="open, restricted or closed")],
    reason: Annotated[
        str | None,
        typer.Option(
            help="security_incident, protest, policy_decision, holiday, weather, maintenance, "
            "other (needed for closed and restricted)"
        ),
    ] = None,
    note: Annotated[str | None, typer.Option(help="Reason detail for staff (never public)")] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Start (ISO with offset); default now")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="End (ISO with offset); default until further notice")
    ] = None,
    incident: Annotated[
        list[str] | None, typer.Option(help="Linked incident id (repeat for more)")
    ] = None,
    tlp: Annotated[str, typer.Option(help="clear, green, amber, amber+strict or red")] = "green",
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Declare our side's status of a crossing; closures and reopenings alert the partner."""
    raw: dict[str, Any] = {
        "crossing": crossing,
        "status": status_.lower(),
        "reason": reason.lower() if reason else None,
        "note": note,
        "starts_at": _when(from_, "from"),
        "ends_at": _when(until, "until"),
        "incident_ids": incident or [],
        "tlp": tlp.lower(),
    }
    try:
        data = DeclarationIn.model_validate(raw)
    except ValidationError as exc:
        raise from_validation(exc) from None
    s, db, profile = _open()
    ports = _ports(db)
    with db.session() as session:
        row = declare_status(
            session, data=data, side=s.node_side, actor=CONSOLE, profile=profile, ports=ports
        )
        shown = declaration_out(row)
    console.provided(CourierPort, db).wake()  # on the console this delivers the alerts at once
    if json_:
        print_json(shown.model_dump(mode="json"))
        return
    tz = profile.local_time(s.node_side)
    until_text = local(shown.ends_at, tz) if shown.ends_at else "further notice"
    out.print(
        f"declared {shown.crossing} {_styled(shown.status)} ({shown.reason.replace('_', ' ')}) "
        f"from {local(shown.starts_at, tz)} until {until_text} "
        f"[dim]({shown.id})[/]"
    )


@app.command("end")
@guarded
def end(
    declaration: Annotated[str, typer.Argument(help="Declaration id (or its first 8 characters)")],
    at: Annotated[str | None, typer.Option(help="When it ends (ISO with offset); now")] = None,
) -> None:
    """End one of our declarations (reopen after a closure); the partner is alerted."""
    s, db, profile = _open()
    ports = _ports(db)
    with db.session() as session:
        row = end_declaration(
            session, declaration_id=declaration, at=_when(at, "at"), actor=CONSOLE,
            profile=profile, ports=ports,
        )  # fmt: skip
        assert row.ends_at is not None
        ends = local(row.ends_at, profile.local_time(s.node_side))
        text = f"{row.crossing_id}: {row.status} ends {ends}"
    console.provided(CourierPort, db).wake()
    out.print(text)


@app.command("withdraw")
@guarded
def withdraw(
    declaration: Annotated[str, typer.Argument(help="Declaration id (or its first 8 characters)")],
) -> None:
    """Withdraw one of our declarations entered by mistake (kept in the history, marked)."""
    _s, db, _profile = _open()
    with db.session() as session:
        row = withdraw_declaration(session, declaration_id=declaration, actor=CONSOLE)
        out.print(f"withdrew {row.id} ({row.crossing_id} {row.status})")


@app.command("history")
@guarded
def history(
    crossing: Annotated[str | None, typer.Option(help="Only this crossing or market")] = None,
    side: Annotated[str | None, typer.Option(help="Only this side (PK, IR)")] = None,
    days: Annotated[int, typer.Option(min=1, help="How many days back")] = 30,
    withdrawn: Annotated[bool, typer.Option(help="Include withdrawn declarations")] = False,
    format_: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
) -> None:
    """Both sides' declarations of the last days, newest first."""
    s, db, profile = _open()
    if crossing:
        place(profile, crossing)
    with db.session() as session:
        rows = [
            declaration_out(r)
            for r in list_declarations(
                session, crossing_id=crossing, side=side.upper() if side else None,
                start=utcnow() - timedelta(days=days), include_withdrawn=withdrawn,
            )
        ]  # fmt: skip
    if format_ == "csv":
        typer.echo(export.declarations_csv(rows), nl=False)
        return
    if format_ == "json":
        print_json([r.model_dump(mode="json") for r in rows])
        return
    tz = profile.local_time(s.node_side)
    table = Table("id", "crossing", "side", "status", "reason", "from", "until", "origin",
                  box=box.SIMPLE_HEAD)  # fmt: skip
    for r in rows:
        table.add_row(
            r.id[:8] + (" [dim](withdrawn)[/]" if r.withdrawn else ""),
            r.crossing,
            r.side,
            _styled(r.status),
            r.reason.replace("_", " "),
            local(r.starts_at, tz),
            local(r.ends_at, tz) if r.ends_at else "further notice",
            r.origin,
        )
    out.print(table)


@app.command("hours")
@guarded
def hours(
    crossing: Annotated[str, typer.Argument(help="Crossing or market id")],
    days: Annotated[
        str | None, typer.Option(help="Opening days, e.g. mon,tue,wed,thu,fri,sat")
    ] = None,
    opens: Annotated[str | None, typer.Option(help="Opening time HH:MM, our local time")] = None,
    closes: Annotated[str | None, typer.Option(help="Closing time HH:MM, our local time")] = None,
) -> None:
    """Show both sides' regular hours; with --days/--opens/--closes, set ours."""
    s, db, profile = _open()
    where = place(profile, crossing)
    with db.session() as session:
        if days or opens or closes:
            if not (days and opens and closes):
                raise InvalidInput(
                    FieldError.of(
                        "hours",
                        message(
                            "crossings.hours_together", "give --days, --opens and --closes together"
                        ),
                    )
                )
            try:
                data = HoursIn(days=days.split(","), opens=opens, closes=closes)
            except ValidationError as exc:
                raise from_validation(exc) from None
            set_hours(
                session, crossing_id=where.id, data=data, side=s.node_side, actor=CONSOLE,
                profile=profile,
            )  # fmt: skip
        for side in profile.sides:
            row = get_hours(session, crossing_id=where.id, side=side)
            if row is None:
                out.print(f"{side}: no regular hours set (open all day unless declared)")
                continue
            h = hours_out(row, profile)
            out.print(f"{side}: {','.join(h.days)} {h.opens}–{h.closes} {h.time_zone}")


@app.command("publish")
@guarded
def publish(
    crossing: Annotated[str, typer.Argument(help="Crossing or market id")],
    off: Annotated[bool, typer.Option("--off", help="Take it off the public page")] = False,
) -> None:
    """Put a crossing on the public status page (current status, next opening, hours only)."""
    _s, db, profile = _open()
    with db.session() as session:
        row = set_published(
            session, crossing_id=crossing, published=not off, actor=CONSOLE, profile=profile
        )
        state = "on" if row.published else "off"
    out.print(f"{crossing}: public status page {state} (/public/crossings)")


@app.command("export")
@guarded
def export_board(
    format_: Annotated[str, typer.Option("--format", help="geojson or json")] = "geojson",
    out_file: Annotated[Path | None, typer.Option("--out", help="Write to this file")] = None,
) -> None:
    """The board of all crossings as GeoJSON (for a map) or JSON."""
    s, db, profile = _open()
    with db.session() as session:
        rows = board(session, profile=profile, side=s.node_side)
    if format_ not in ("geojson", "json"):
        raise InvalidInput(
            FieldError.of("format", message("crossings.geojson_or_json", "geojson or json"))
        )
    data: Any = (
        export.board_geojson(rows)
        if format_ == "geojson"
        else [r.model_dump(mode="json") for r in rows]
    )
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if out_file:
        out_file.write_text(text, encoding="utf-8")
        out.print(f"wrote {format_} to {out_file}")
    else:
        typer.echo(text)


# --- throughput ----------------------------------------------------------------------------


def _goods(items: list[str]) -> list[dict[str, Any]]:
    """``dates:1200:kg:350000:PKR`` → a goods line (value and currency optional)."""
    lines = []
    for i, item in enumerate(items):
        parts = item.split(":")
        if len(parts) not in (3, 5):
            raise InvalidInput(
                FieldError.of(
                    f"goods.{i}",
                    message(
                        "crossings.goods_format",
                        "{item}: use COMMODITY:QUANTITY:UNIT[:VALUE:CURRENCY]",
                        item=repr(item),
                    ),
                ),
                hint=message("crossings.goods_format.hint", "e.g. dates:1200:kg:350000:PKR"),
            )
        line: dict[str, Any] = {"commodity": parts[0], "quantity": parts[1], "unit": parts[2]}
        if len(parts) == 5:
            line |= {"value": parts[3], "currency": parts[4].upper()}
        lines.append(line)
    return lines


@throughput_app.command("add")
@guarded
def throughput_add(
    crossing: Annotated[str, typer.Argument(help="Crossing or market id")],
    day: Annotated[str, typer.Option("--date", help="Local date YYYY-MM-DD")],
    vehicles: Annotated[int, typer.Option(help="Vehicles (not trucks)")] = 0,
    trucks: Annotated[int, typer.Option(help="Trucks")] = 0,
    pedestrians: Annotated[int, typer.Option(help="People crossing on foot")] = 0,
    fuel_litres: Annotated[float, typer.Option(help="Fuel volume in litres")] = 0.0,
    goods: Annotated[
        list[str] | None,
        typer.Option(help="COMMODITY:QUANTITY:UNIT[:VALUE:CURRENCY] (repeat)"),
    ] = None,
    tlp: Annotated[str, typer.Option(help="Marking of the figures")] = "amber",
) -> None:
    """Enter (or correct) our side's figures for one day."""
    raw = {
        "crossing": crossing, "day": _day(day), "vehicles": vehicles, "trucks": trucks,
        "pedestrians": pedestrians, "fuel_litres": fuel_litres, "goods": _goods(goods or []),
        "tlp": tlp.lower(),
    }  # fmt: skip
    try:
        data = ThroughputIn.model_validate(raw)
    except ValidationError as exc:
        raise from_validation(exc) from None
    s, db, profile = _open()
    with db.session() as session:
        row, outcome = flows.record_throughput(
            session, data=data, side=s.node_side, actor=CONSOLE, profile=profile
        )
        out.print(f"{outcome} {row.crossing_id} {row.day} ({len(row.goods)} goods line(s))")


@throughput_app.command("import")
@guarded
def throughput_import(
    file: Annotated[Path, typer.Argument(help="CSV: crossing,date,vehicles,trucks,...")],
) -> None:
    """Import daily figures from CSV: every row is checked first, and any error writes nothing."""
    s, db, profile = _open()
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=out, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task(f"checking {file.name}", total=None)
        rows = flows.parse_csv(file, profile=profile)
        progress.update(task, description=f"storing {len(rows)} day(s)")
        with db.session() as session:
            counts = flows.import_throughput(
                session, rows=rows, side=s.node_side, actor=CONSOLE, profile=profile
            )
    out.print(
        f"imported {file.name}: {counts['created']} new day(s), {counts['updated']} corrected, "
        f"{counts['unchanged']} unchanged"
    )


@throughput_app.command("list")
@guarded
def throughput_list(
    crossing: Annotated[str | None, typer.Option(help="Only this crossing or market")] = None,
    first: Annotated[str | None, typer.Option("--from", help="First date")] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last date")] = None,
    format_: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
) -> None:
    """Daily figures of both sides."""
    _s, db, profile = _open()
    if crossing:
        place(profile, crossing)
    with db.session() as session:
        rows = [
            flows.throughput_out(r)
            for r in flows.list_throughput(
                session, crossing_id=crossing, first=_day(first, "from") if first else None,
                last=_day(last, "to") if last else None,
            )
        ]  # fmt: skip
    if format_ == "csv":
        typer.echo(export.throughput_csv(rows), nl=False)
        return
    if format_ == "json":
        print_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table("date", "crossing", "side", "vehicles", "trucks", "pedestrians", "fuel l",
                  "goods", box=box.SIMPLE_HEAD)  # fmt: skip
    for r in rows:
        goods = "; ".join(
            f"{g['commodity']} {g['quantity']:g} {g['unit']}"
            + (f" ({g['value']:,.0f} {g['currency']})" if g.get("value") is not None else "")
            for g in r.goods
        )
        table.add_row(
            r.day.isoformat(), r.crossing, r.side, str(r.vehicles), str(r.trucks),
            str(r.pedestrians), f"{r.fuel_litres:,.0f}", goods,
        )  # fmt: skip
    out.print(table)
