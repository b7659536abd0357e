"""``sarhad patrols``: plan a day, list and show plans, export them, show bases and shifts."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from sarhad.border import BorderProfile, profile_from_settings
from sarhad.core import console
from sarhad.core.auth import CONSOLE
from sarhad.core.console import IMPACT_STYLE, guarded, out, print_json
from sarhad.core.db import Database
from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import message
from sarhad.core.times import parse_day
from sarhad.patrols import service
from sarhad.patrols.models import PatrolPlan
from sarhad.patrols.ports import PatrolPorts
from sarhad.patrols.runner import PlanRunner

app = typer.Typer(help="Risk-based, unpredictable patrol plans.", no_args_is_help=True)

FORMATS = ("table", "json", "csv", "geojson")


def _ports(db: Database) -> PatrolPorts:
    return console.provided(PatrolPorts, db)


def _day(text: str) -> date:
    return parse_day(text, "--date")


def _emit(row: PatrolPlan, fmt: str, out_file: Path | None, profile: BorderProfile) -> None:
    if fmt not in FORMATS:
        raise InvalidInput(
            FieldError.of(
                "format", message("patrols.format", "one of {names}", names=", ".join(FORMATS))
            )
        )
    if fmt == "table":
        _print(row)
        text = None
    elif fmt == "csv":
        text = service.plan_csv(row)
    elif fmt == "geojson":
        text = json.dumps(service.plan_geojson(row, profile), ensure_ascii=False)
    else:
        text = json.dumps(service.plan_dict(row), ensure_ascii=False, indent=2)
    if text is None:
        return
    if out_file:
        out_file.write_text(text, encoding="utf-8")
        out.print(f"wrote {fmt} to {out_file}")
    elif fmt == "json":
        print_json(service.plan_dict(row))
    else:
        out.out(text, end="" if text.endswith("\n") else "\n", highlight=False)


def _print(row: PatrolPlan) -> None:
    s = row.summary
    sides = f"{row.side} + {row.partner_side}" if row.coordinated else row.side
    title = f"patrol plan {row.id[:8]} for {row.day} ({sides})"
    table = Table(title=title)
    for col in ("shift", "start UTC", "team", "partner team", "sectors", "km", "warning"):
        table.add_column(col)
    warned = {int(c["patrol"]) for c in row.conflicts}
    for p in row.patrols:
        style = "bold cyan" if p.kind == "coordinated" else ""
        sectors = p.sectors[0] if len(p.sectors) == 1 else f"{p.sectors[0]}…{p.sectors[-1]}"
        table.add_row(
            p.shift,
            f"{p.starts_at:%H:%M}",
            p.team or "",
            p.partner_team or "",
            sectors,
            f"{p.km_from:.0f}–{p.km_to:.0f}",
            "[bold red]deconflict[/]" if p.position in warned else "",
            style=style,
        )
    out.print(table)
    top = sorted(row.sectors, key=lambda r: -r["risk"])[:8]
    cov = Table(title="highest-risk sectors: risk and coverage (share of shifts patrolled)")
    for col in ("sector", "risk", "level", "partner level", *s["shifts"], "per day"):
        cov.add_column(col)
    for r in top:
        lvl = r["level"]
        cov.add_row(
            r["sector_id"],
            f"{r['risk']:.2f}",
            f"[{IMPACT_STYLE.get(lvl, '')}]{lvl}[/]",
            r["partner_level"] or "",
            *[f"{v:.0%}" for v in r["coverage"]],
            f"{sum(r['coverage']):.2f}",
        )
    out.print(cov)
    out.print(
        f"seed {row.seed} · plan entropy {s['entropy_bits']:.1f} bits · every sector patrolled "
        f"at least {s['floor']:.0%} of days · a watching adversary would pick "
        f"{s['target']['sector']} ({s['target']['shift']}) · teams per shift: "
        + ", ".join(f"{k} {v}" for k, v in row.teams.items())
    )
    if row.coordinated:
        joint = s["joint_sectors"]
        out.print(
            f"coordinated patrols possible on {len(joint)} sectors both sides rate high: "
            + (", ".join(joint) if joint else "none")
        )
    for note in service.plan_notes(s, console.language()):
        out.print(f"[yellow]note:[/] {note}")
    for c in row.conflicts:
        out.print(f"[bold red]deconfliction:[/] {c['message']}")


@app.command("plan")
@guarded
def plan_cmd(
    date_: Annotated[str, typer.Option("--date", help="Day to plan (YYYY-MM-DD)")],
    teams: Annotated[
        int | None, typer.Option("--teams", help="Our teams on duty per shift (split over bases)")
    ] = None,
    coordinated: Annotated[
        bool, typer.Option("--coordinated", help="Plan with the partner's teams: mirrored patrols")
    ] = False,
    partner_teams: Annotated[
        int | None, typer.Option("--partner-teams", help="Partner teams per shift")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: from the date)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json, csv or geojson")] = "table",
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the export here")] = None,
) -> None:
    """Solve the patrol security game for a day and store a sampled, unpredictable plan."""
    day = _day(date_)
    s = console.settings()
    db = console.closing(console.open_db(s))
    profile = profile_from_settings(s)
    ports = _ports(db)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console.err,
        transient=True,
    ) as progress:
        task = progress.add_task("planning", total=None)

        def step(msg: str) -> None:
            progress.update(task, description=msg)

        with db.session() as session:
            row = service.make_plan(
                session,
                profile=profile,
                settings=s,
                ports=ports,
                day=day,
                actor=CONSOLE,
                teams=teams,
                coordinated=coordinated,
                partner_teams=partner_teams,
                seed=seed,
                step=step,
                solver=PlanRunner.from_settings(s),
            )
            plan_id = row.id
    with db.session() as session:
        _emit(service.get_plan(session, plan_id=plan_id), fmt, out_file, profile)
        if fmt == "table" and out_file is None:
            out.print(f"stored as plan [bold]{plan_id}[/]")


@app.command("list")
@guarded
def list_cmd(
    date_: Annotated[str | None, typer.Option("--date", help="Only plans of this day")] = None,
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Stored plans, newest first."""
    s = console.settings()
    db = console.closing(console.open_db(s))
    with db.session() as session:
        rows = service.list_plans(session, day=_day(date_) if date_ else None)
        if json_:
            print_json([service.plan_dict(r) for r in rows])
            return
        table = Table(title="patrol plans")
        for col in ("id", "day", "coordinated", "patrols", "warnings", "seed", "made by"):
            table.add_column(col)
        for r in rows:
            table.add_row(
                r.id[:8],
                r.day.isoformat(),
                "yes" if r.coordinated else "",
                str(len(r.patrols)),
                str(len(r.conflicts)),
                str(r.seed),
                r.created_by,
            )
        out.print(table)


@app.command("show")
@guarded
def show_cmd(
    plan_id: Annotated[str, typer.Argument(help="Plan id (or its first characters)")],
    fmt: Annotated[str, typer.Option("--format", help="table, json, csv or geojson")] = "table",
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the export here")] = None,
) -> None:
    """One plan, printed or exported."""
    s = console.settings()
    db = console.closing(console.open_db(s))
    with db.session() as session:
        _emit(service.get_plan(session, plan_id=plan_id), fmt, out_file, profile_from_settings(s))


@app.command("config")
@guarded
def config_cmd(json_: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The bases, shifts and limits the planner uses on this node."""
    s = console.settings()
    profile = profile_from_settings(s)
    cfg = service.patrol_config(s, profile)
    limits = service.bounds_dict(service.plan_bounds(s, profile, config=cfg))
    data: dict[str, Any] = {
        "source": cfg.source,
        "limits": limits,
        "max_stretch": cfg.max_stretch,
        "shifts": [(x.name, x.start.strftime("%H:%M"), x.hours, x.weight) for x in cfg.shifts],
        "bases": [(b.name, b.side, b.first_km, b.last_km, b.teams) for b in cfg.bases],
    }
    if json_:
        print_json(data)
        return
    out.print(f"patrol configuration: {cfg.source}; at most {cfg.max_stretch} sectors per patrol")
    teams, partner = limits["teams"], limits["partner_teams"]
    out.print(
        f"plans: days {limits['first_day']} to {limits['last_day']}; our teams per shift "
        f"{teams['least']}–{teams['most']} (default {teams['default']})"
        + (
            f"; partner's {partner['least']}–{partner['most']} (default {partner['default']})"
            if partner
            else ""
        )
        + f"; solved within {limits['time_limit_s']:g} s"
    )
    t = Table(title="bases (teams on duty per shift)")
    for col in ("base", "side", "km from", "km to", "teams"):
        t.add_column(col)
    for b in cfg.bases:
        t.add_row(b.name, b.side, f"{b.first_km:g}", f"{b.last_km:g}", str(b.teams))
    out.print(t)
    t = Table(title="shifts (local time of the planning side)")
    for col in ("shift", "start", "hours", "weight"):
        t.add_column(col)
    for x in cfg.shifts:
        t.add_row(x.name, x.start.strftime("%H:%M"), f"{x.hours:g}", f"{x.weight:g}")
    out.print(t)
