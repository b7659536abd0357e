"""``sarhad incidents …`` and ``sarhad import``: thin commands over the incident service."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Column, Table

from sarhad.border import profile_from_settings
from sarhad.core import console
from sarhad.core.auth import CONSOLE
from sarhad.core.console import err, guarded, out, print_json
from sarhad.core.errors import FieldError, InvalidInput, from_validation
from sarhad.core.i18n import RTL, message
from sarhad.core.times import parse_datetime
from sarhad.incidents import links, service
from sarhad.incidents.importers import FORMATS, count_records, parse_file
from sarhad.incidents.schemas import IncidentIn, Transition
from sarhad.incidents.taxonomy import Category, DatePrecision, LocationPrecision, Status

app = typer.Typer(help="Record and read incidents.", no_args_is_help=True)

# Negative longitudes ("-5.0") must be accepted as values, not taken for options.
NUMBERS_OK = {"ignore_unknown_options": True}


def _parse_seizure(text: str) -> dict[str, object]:
    parts = text.split(":")
    if len(parts) != 3:
        raise InvalidInput(
            FieldError.of(
                "seizure",
                message(
                    "incidents.seizure_format",
                    "{text}: write COMMODITY:QUANTITY:UNIT, e.g. hashish:120:kg",
                    text=repr(text),
                ),
            )
        )
    return {"commodity": parts[0], "quantity": parts[1], "unit": parts[2]}


@app.command("add", context_settings=NUMBERS_OK)
@guarded
def add(
    title: Annotated[str, typer.Option(help="Short title, e.g. 'Hashish seized near Taftan'")],
    category: Annotated[Category, typer.Option(help="What happened")],
    lon: Annotated[float, typer.Option(help="Longitude (WGS84)")],
    lat: Annotated[float, typer.Option(help="Latitude (WGS84)")],
    at: Annotated[str | None, typer.Option(help="When (ISO 8601 with zone; default now)")] = None,
    date_precision: Annotated[DatePrecision, typer.Option()] = DatePrecision.EXACT,
    location_precision: Annotated[LocationPrecision, typer.Option()] = LocationPrecision.EXACT,
    place: Annotated[str | None, typer.Option(help="Place name")] = None,
    side: Annotated[str | None, typer.Option(help="Reporting side (default: this node's)")] = None,
    sf_killed: int = 0,
    sf_injured: int = 0,
    sf_detained: int = 0,
    civ_killed: int = 0,
    civ_injured: int = 0,
    civ_detained: int = 0,
    asl_killed: int = 0,
    asl_injured: int = 0,
    asl_detained: int = 0,
    seizure: Annotated[
        list[str] | None, typer.Option(help="COMMODITY:QUANTITY:UNIT (repeat)")
    ] = None,
    reliability: Annotated[str, typer.Option(help="Admiralty source reliability A-F")] = "F",
    credibility: Annotated[str, typer.Option(help="Admiralty information credibility 1-6")] = "6",
    tlp: Annotated[str, typer.Option(help="clear, green, amber, amber+strict or red")] = "amber",
    narrative: str = "",
    source: Annotated[list[str] | None, typer.Option(help="A source reference (repeat)")] = None,
    far_from_line: Annotated[
        bool,
        typer.Option(
            "--far-from-line",
            help="The point truly lies beyond the node's distance limit from the line: "
            "keep it, without a sector",
        ),
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the stored record as JSON")] = False,
) -> None:
    """Record an incident (as a draft); it is placed on the border and its enrichment shown."""
    s = console.settings()
    raw = {
        "title": title,
        "category": category,
        # Parsed here so that an impossible day names the option (--at), not the field.
        "occurred_at": parse_datetime(at, "--at") if at else datetime.now(UTC),
        "date_precision": date_precision,
        "location": {"lon": lon, "lat": lat, "precision": location_precision, "place": place},
        "reporting_side": side or s.node_side,
        "casualties": {
            "security_forces": {
                "killed": sf_killed,
                "injured": sf_injured,
                "detained": sf_detained,
            },
            "civilians": {"killed": civ_killed, "injured": civ_injured, "detained": civ_detained},
            "assailants": {"killed": asl_killed, "injured": asl_injured, "detained": asl_detained},
        },
        "seizures": [_parse_seizure(x) for x in seizure or []],
        "grading": {"source_reliability": reliability, "information_credibility": credibility},
        "tlp": tlp,
        "narrative": narrative,
        "sources": source or [],
        "far_from_line": far_from_line,
    }
    try:
        data = IncidentIn.model_validate(raw)
    except ValidationError as exc:
        raise as_options(from_validation(exc)) from None
    db = console.open_db(s)
    with db.session() as session:
        row = service.create_incident(
            session, data=data, actor=CONSOLE, profile=profile_from_settings(s)
        )
        result = service.to_out(row)
    if json_:
        print_json(result.model_dump(mode="json"))
        return
    e = result.enrichment
    out.print(f"recorded [bold]{result.id}[/] (draft, version 1)")
    placed = (
        f"sector {e.sector}, km {e.km:.1f}" if e.km is not None else "far from the line: no sector"
    )
    out.print(
        f"  side {e.side}, {e.distance_m / 1000:.1f} km from the line, {placed}, "
        f"nearest crossing {e.nearest_crossing.id} "
        f"({e.nearest_crossing.distance_m / 1000:.1f} km)"
    )


#: The model's field paths that the options of ``add`` spell differently.
_OPTION_OF = {
    "casualties.security_forces": "--sf",
    "casualties.civilians": "--civ",
    "casualties.assailants": "--asl",
    "grading.source_reliability": "--reliability",
    "grading.information_credibility": "--credibility",
    "location.lon": "--lon",
    "location.lat": "--lat",
    "location.place": "--place",
    "location.precision": "--location-precision",
    "occurred_at": "--at",
    "reporting_side": "--side",
    "seizures": "--seizure",
    "sources": "--source",
}


def as_options(exc: InvalidInput) -> InvalidInput:
    """The same problems, each named by the option that gives the field (``--sf-killed``)."""

    def option(field: str) -> str:
        for path, name in _OPTION_OF.items():
            if field == path or field.startswith(path + "."):
                rest = field[len(path) + 1 :]
                if path.startswith("casualties.") and rest:
                    return f"{name}-{rest.replace('_', '-')}"
                return f"{name} ({field})" if rest else name
        return "--" + field.replace("_", "-")

    return InvalidInput(
        [FieldError(option(e.field), e.message, e.text) for e in exc.errors], hint=exc.hint_text
    )


@app.command("list")
@guarded
def list_(
    category: Annotated[list[Category] | None, typer.Option(help="Filter (repeat)")] = None,
    side: Annotated[str | None, typer.Option(help="Side of the line: PK, IR or outside")] = None,
    sector: Annotated[str | None, typer.Option(help="Sector id")] = None,
    status: Annotated[Status | None, typer.Option()] = None,
    since: Annotated[str | None, typer.Option(help="From (ISO date/time, UTC if no zone)")] = None,
    until: Annotated[str | None, typer.Option(help="Until (exclusive)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List incidents, newest first."""
    s = console.settings()
    filters = service.IncidentFilter(
        since=_when(since, "since"),
        until=_when(until, "until"),
        categories=[c.value for c in category or []],
        sides=[side] if side else [],
        sectors=[sector] if sector else [],
        statuses=[status.value] if status else [],
    )
    db = console.open_db(s)
    with db.session() as session:
        rows, _ = service.list_incidents(session, filters=filters, limit=limit)
        items = service.summarize(rows)
    if json_:
        print_json(items)
        return
    cells = {
        "occurred (UTC)": [i["occurred_at"][:16].replace("T", " ") for i in items],
        "category": [i["category"] for i in items],
        "status": [i["status"] for i in items],
        "side": [i["side"] or "—" for i in items],
        "sector": [i["sector"] or "—" for i in items],
        "km": ["—" if i["km"] is None else f"{i['km']:.1f}" for i in items],
        "title": [i["title"] for i in items],
        "id": [i["id"][:8] for i in items],
    }
    shown, widths = fit_columns(cells, out.width)
    table = Table(*(Column(n, width=widths[n], no_wrap=True, overflow="ellipsis") for n in shown))
    for row in zip(*(cells[n] for n in shown), strict=True):
        table.add_row(*row)
    out.print(table)
    left = [n for n in cells if n not in shown]
    note = f" ({', '.join(left)} left out at this width: widen the terminal or use --json)"
    out.print(f"{len(items)} incident(s)" + (note if left else ""), highlight=False)


#: The list's columns: (least width, priority). When the terminal is narrow the lowest
#: priorities are left out first; the id (to `show` a record), its time, place and title stay.
LIST_COLUMNS: dict[str, tuple[int, int]] = {
    "occurred (UTC)": (16, 9),
    "title": (16, 10),
    "id": (8, 8),
    "sector": (8, 7),
    "category": (12, 6),
    "side": (7, 5),
    "status": (9, 4),
    "km": (5, 3),
}


def fit_columns(cells: dict[str, list[str]], width: int) -> tuple[list[str], dict[str, int]]:
    """Which columns fit ``width`` and how wide each is: none is cut below its least width
    (no "PKIR-0…" sectors), none wraps; the title, then the category take what is left.

    Rich's own shrinking cuts every column a little and wraps long ones over many lines,
    which is what this replaces.
    """

    def natural(name: str) -> int:
        return max([len(name), *(len(v) for v in cells[name])])

    def least(name: str) -> int:
        return min(natural(name), max(LIST_COLUMNS[name][0], len(name)))

    def overhead(n: int) -> int:  # a border before each column and at the end, padding 1+1
        return 3 * n + 1

    shown = list(cells)
    while len(shown) > 1 and sum(map(least, shown)) + overhead(len(shown)) > width:
        shown.remove(min(shown, key=lambda n: LIST_COLUMNS[n][1]))
    widths = {n: least(n) for n in shown}
    spare = width - sum(widths.values()) - overhead(len(shown))
    for name in ("title", "category", *shown):
        if name in widths and spare > 0:
            grow = min(spare, natural(name) - widths[name])
            widths[name] += grow
            spare -= grow
    return shown, widths


def _when(text: str | None, field: str) -> datetime | None:
    if text is None:
        return None
    value = parse_datetime(text, f"--{field}", example="2026-11-24 or 2026-11-24T06:00+05:00")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@app.command("show")
@guarded
def show(
    incident_id: str,
    history: Annotated[bool, typer.Option("--history", help="Also list every version")] = False,
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one incident (and its version history)."""
    db = console.open_db(console.settings())
    with db.session() as session:
        row = service.get_incident(session, incident_id=incident_id)
        result = service.to_out(row).model_dump(mode="json")
        versions = service.list_versions(session, incident_id=incident_id) if history else []
    if json_:
        if history:
            result["versions"] = [v.model_dump(mode="json", exclude={"record"}) for v in versions]
        print_json(result)
        return
    table = Table(show_header=False)
    for key in (
        "id",
        "version",
        "status",
        "title",
        "category",
        "occurred_at",
        "reporting_side",
        "tlp",
    ):
        table.add_row(key, str(result[key]))
    loc, e = result["location"], result["enrichment"]
    table.add_row("location", f"{loc['lon']:.5f}, {loc['lat']:.5f} ({loc['precision']})")
    placed = f"sector {e['sector']}, km {e['km']:.1f}" if e["km"] is not None else "no sector"
    far = " (marked far from the line)" if result["far_from_line"] else ""
    table.add_row(
        "on the border", f"{e['side']}, {e['distance_m'] / 1000:.2f} km from line, {placed}{far}"
    )
    table.add_row("casualties", str(result["casualties"]))
    table.add_row(
        "seizures",
        ", ".join(f"{x['quantity']:g} {x['unit']} {x['commodity']}" for x in result["seizures"])
        or "-",
    )
    table.add_row(
        "grading",
        f"{result['grading']['source_reliability']}{result['grading']['information_credibility']}",
    )
    table.add_row("narrative", result["narrative"] or "-")
    out.print(table)
    for v in versions:
        out.print(f"  v{v.version} {v.at:%Y-%m-%d %H:%M} {v.actor} {v.op} {', '.join(v.changed)}")


def _step(incident_id: str, to: Status, comment: str) -> None:
    db = console.open_db(console.settings())
    with db.session() as session:
        current = service.get_incident(session, incident_id=incident_id).version
        row = service.transition_incident(
            session,
            incident_id=incident_id,
            step=Transition(to=to, expected_version=current, comment=comment),
            actor=CONSOLE,
        )
        out.print(f"{row.id}: now {row.status} (version {row.version})")


@app.command("submit")
@guarded
def submit(incident_id: str, comment: str = "") -> None:
    """Submit a draft for validation."""
    _step(incident_id, Status.SUBMITTED, comment)


@app.command("validate")
@guarded
def validate(incident_id: str, comment: str = "") -> None:
    """Validate a submitted incident."""
    _step(incident_id, Status.VALIDATED, comment)


@app.command("close")
@guarded
def close(incident_id: str, comment: str = "") -> None:
    """Close a validated incident (it becomes read-only)."""
    _step(incident_id, Status.CLOSED, comment)


@guarded
def import_file(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, help="CSV, JSON, UCDP GED or ACLED CSV"),
    ],
    format: Annotated[str, typer.Option("--format", help="csv, json, ucdp or acled")] = "csv",
    json_: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    far_from_line: Annotated[
        bool,
        typer.Option(
            "--far-from-line",
            help="Keep rows whose point lies beyond the node's distance limit from the line "
            "(stored without a sector) instead of refusing them; a row's own far_from_line "
            "column or key wins",
        ),
    ] = False,
) -> None:
    """Import incidents from CSV, JSON, UCDP GED or ACLED CSV (no bad row is half-written).

    Rows failing validation are listed with their row number and reason; the rest are stored.
    Re-importing the same file adds nothing twice.
    """
    if format not in FORMATS:
        raise InvalidInput(
            FieldError.of(
                "format",
                message(
                    "incidents.format",
                    "{format}: use {formats}",
                    format=repr(format),
                    formats=", ".join(FORMATS),
                ),
            )
        )
    s = console.settings()
    profile = profile_from_settings(s)
    db = console.open_db(s)
    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:16]
    total = count_records(file, format)  # type: ignore[arg-type]
    report = service.ImportReport()
    progress = Progress(
        TextColumn("importing {task.fields[name]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=json_,
    )
    with progress:
        task = progress.add_task("import", total=total, name=file.name)
        rows = parse_file(
            file,
            format,  # type: ignore[arg-type]
            default_side=s.node_side,
            far_from_line=far_from_line,
        )
        batch: list = []
        for parsed in rows:
            batch.append(parsed)
            if len(batch) >= 200:
                _store_batch(db, batch, report, format, digest, profile)
                progress.advance(task, len(batch))
                batch = []
        if batch:
            _store_batch(db, batch, report, format, digest, profile)
            progress.advance(task, len(batch))
    if json_:
        print_json(
            {
                "imported": report.imported,
                "already_present": report.already_present,
                "rejected": [
                    {"row": r, "errors": [{"field": e.field, "message": e.message} for e in es]}
                    for r, es in report.rejected
                ],
            }
        )
    else:
        out.print(
            f"imported {report.imported}, already present {report.already_present}, "
            f"rejected {len(report.rejected)}"
        )
        for r, es in report.rejected[:100]:
            out.print(
                f"  row {r}: " + "; ".join(f"{e.field}: {e.message}" for e in es), highlight=False
            )
        if len(report.rejected) > 100:
            out.print(f"  … and {len(report.rejected) - 100} more (use --json for all)")
    if report.rejected:
        raise typer.Exit(1)


def _store_batch(db, batch, report, fmt, digest, profile) -> None:  # noqa: ANN001
    """Store a batch in one transaction; each row in its own savepoint."""
    origin = f"import:{fmt}"
    with db.session() as session:
        for parsed in batch:
            if parsed.incident is None:
                report.rejected.append((parsed.row, parsed.errors))
                continue
            ref = parsed.external_ref or f"file:{digest}:{parsed.row}"
            try:
                stored = service.import_incident(
                    session,
                    data=parsed.incident,
                    external_ref=ref,
                    origin=origin,
                    actor=CONSOLE,
                    profile=profile,
                )
            except InvalidInput as exc:
                report.rejected.append((parsed.row, exc.errors))
                continue
            if stored:
                report.imported += 1
            else:
                report.already_present += 1


links_app = typer.Typer(help="Links between partners' records and ours.", no_args_is_help=True)


@links_app.command("list")
@guarded
def links_list(
    status: Annotated[
        str | None, typer.Option(help="suggested, confirmed or rejected")
    ] = "suggested",
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Suggested (or decided) links, best first (their reasons in the CLI's language)."""
    lang = console.language()
    db = console.open_db(console.settings())
    with db.session() as session:
        rows = [
            {
                "id": x.id,
                "local_id": x.local_id,
                "remote_id": x.remote_id,
                "score": x.score,
                "status": x.status,
                "reasons": x.reasons_in(lang),
                "reason_codes": x.reason_codes(),
            }
            for x in links.list_links(session, status=status)
        ]
    if json_:
        print_json(rows)
        return
    table = Table("id", "score", "ours", "partner's", "why", "status")
    for r in rows:
        table.add_row(
            r["id"][:8],
            f"{r['score']:.2f}",
            r["local_id"][:8],
            r["remote_id"][:8],
            ("؛ " if lang in RTL else "; ").join(r["reasons"]),
            r["status"],
        )
    out.print(table)


def _decide(link_id: str, confirm: bool | None, *, answer: bool = False) -> None:
    db = console.open_db(console.settings())
    with db.session() as session:
        matches = [x.id for x in links.list_links(session) if x.id.startswith(link_id)]
        if len(matches) != 1:
            raise InvalidInput(
                FieldError.of(
                    "link_id",
                    message(
                        "links.ambiguous",
                        "{link} matches {count} links",
                        link=repr(link_id),
                        count=len(matches),
                    ),
                )
            )
        if answer:
            link = links.answer_partner(
                session, link_id=matches[0], accept=bool(confirm), actor=CONSOLE
            )
        elif confirm is None:
            link = links.undo_decision(session, link_id=matches[0], actor=CONSOLE)
        else:
            link = links.decide_link(session, link_id=matches[0], confirm=confirm, actor=CONSOLE)
        out.print(f"link {link.id}: {link.status}")


@links_app.command("confirm")
@guarded
def links_confirm(
    link_id: Annotated[str, typer.Argument(help="Link id (or its first characters)")],
) -> None:
    """Confirm that both records describe the same event."""
    _decide(link_id, True)


@links_app.command("reject")
@guarded
def links_reject(
    link_id: Annotated[str, typer.Argument(help="Link id (or its first characters)")],
) -> None:
    """Reject a suggested link (it will not be suggested again)."""
    _decide(link_id, False)


@links_app.command("undo")
@guarded
def links_undo(
    link_id: Annotated[str, typer.Argument(help="Link id (or its first characters)")],
) -> None:
    """Take back a confirmation or rejection: the link is a suggestion again."""
    _decide(link_id, None)


@links_app.command("add")
@guarded
def links_add(
    local_id: Annotated[str, typer.Argument(help="Our incident's id")],
    remote_id: Annotated[str, typer.Argument(help="The partner's incident's id")],
) -> None:
    """Link our record and a partner's by hand, as one event (confirmed at once)."""
    db = console.open_db(console.settings())
    with db.session() as session:
        link = links.link_by_hand(session, local_id=local_id, remote_id=remote_id, actor=CONSOLE)
        out.print(f"link {link.id}: {link.status}")


@links_app.command("accept")
@guarded
def links_accept(
    link_id: Annotated[str, typer.Argument(help="Link id (or its first characters)")],
) -> None:
    """Accept the partner's decision on a link: decide alike."""
    _decide(link_id, True, answer=True)


@links_app.command("contest")
@guarded
def links_contest(
    link_id: Annotated[str, typer.Argument(help="Link id (or its first characters)")],
) -> None:
    """Contest the partner's decision on a link: decide the opposite."""
    _decide(link_id, False, answer=True)
