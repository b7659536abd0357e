"""Federation commands: ``sync``, ``federation``, ``quarantine``, ``bundle``, ``keys``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from sarhad.border import profile_from_settings
from sarhad.core import console
from sarhad.core.console import err, guarded, out, print_json
from sarhad.federation import bundle as bundles
from sarhad.federation import service

federation_app = typer.Typer(help="Federation with partner nodes: status.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Inbound objects refused, with reasons.", no_args_is_help=True)
bundle_app = typer.Typer(help="Signed bundle files for air-gapped partners.", no_args_is_help=True)
keys_app = typer.Typer(
    help="This node's keys: the bundle signing key and the node key sealing partner tokens.",
    no_args_is_help=True,
)


@guarded
def sync(
    partner: Annotated[str | None, typer.Option(help="Only this partner (default: all)")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Pull new objects from partners and push ours; resumes where the last run stopped."""
    s = console.settings()
    db = console.open_db(s)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed} objects"),
        console=err,
        disable=json_,
    )
    with progress:
        tasks: dict[str, int] = {}

        def tick(kind: str, n: int) -> None:
            if kind not in tasks:
                tasks[kind] = progress.add_task(f"{kind}ing", total=None)
            progress.advance(tasks[kind], n)

        reports = service.sync_all(
            db, settings=s, profile=profile_from_settings(s), partner=partner, progress=tick
        )
    rows = [
        {
            "partner": r.partner,
            "pulled": len(r.pulled.accepted),
            "duplicates": len(r.pulled.duplicates),
            "quarantined": len(r.pulled.rejected),
            "pushed": r.pushed,
            "refused_by_partner": len(r.push_failures),
            "waiting": r.waiting,
            "error": r.error,
        }
        for r in reports
    ]
    if json_:
        print_json(rows)
    else:
        if not rows:
            out.print("no partner with a TAXII URL: add one with 'sarhad partners add'")
        table = Table("partner", "pulled", "duplicates", "quarantined", "pushed", "waiting", "ok")
        for r in rows:
            table.add_row(
                r["partner"],
                str(r["pulled"]),
                str(r["duplicates"]),
                str(r["quarantined"]),
                str(r["pushed"]),
                str(r["waiting"]),
                "no" if r["error"] else "yes",
            )
        out.print(table)
        for r in rows:
            if r["error"]:
                err.print(f"[bold red]{r['partner']}:[/] {r['error']}", highlight=False)
                if r["waiting"]:
                    err.print(f"  {r['waiting']} object(s) wait and go, in order, when it is back")
    if any(r["error"] for r in rows):
        raise typer.Exit(1)


@federation_app.command("status")
@guarded
def status(json_: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Per partner: last sync, last error, objects waiting, objects quarantined."""
    db = console.open_db(console.settings())
    with db.session() as s:
        rows = service.status(s)
    if json_:
        print_json(rows)
        return
    table = Table("partner", "country", "last success", "waiting", "quarantined", "last error")
    for r in rows:
        ok = r["last_success_at"].isoformat(timespec="seconds") if r["last_success_at"] else "never"
        table.add_row(
            r["partner"],
            r["country"],
            ok,
            str(r["waiting"]),
            str(r["quarantined"]),
            r["last_error"] or "",
        )
    out.print(table)


@quarantine_app.command("list")
@guarded
def quarantine_list(
    partner: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Refused inbound objects with their reasons."""
    db = console.open_db(console.settings())
    with db.session() as s:
        rows = [
            {
                "id": q.id,
                "via": q.via,
                "stix_id": q.stix_id,
                "reason": q.reason,
                "received_at": q.received_at.isoformat(timespec="seconds"),
            }
            for q in service.list_quarantine(s, partner=partner, limit=limit)
        ]
    if json_:
        print_json(rows)
        return
    table = Table("id", "received", "via", "object", "reason")
    for r in rows:
        table.add_row(str(r["id"]), r["received_at"], r["via"], r["stix_id"] or "?", r["reason"])
    out.print(table)


@bundle_app.command("export")
@guarded
def bundle_export(
    partner: Annotated[str, typer.Option(help="Recipient partner")],
    out_file: Annotated[Path, typer.Option("--out", help="File to write")],
) -> None:
    """Write a signed bundle of everything the agreement lets this partner have."""
    s = console.settings()
    db = console.open_db(s)
    n = service.export_bundle_file(db, settings=s, partner=partner, path=out_file)
    out.print(f"wrote {n} objects for {partner} to {out_file} (signed)")


@bundle_app.command("import")
@guarded
def bundle_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    partner: Annotated[str, typer.Option(help="The partner who sent it")],
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Verify a partner's signed bundle and ingest it like a sync."""
    s = console.settings()
    db = console.open_db(s)
    report = service.import_bundle_file(
        db, settings=s, profile=profile_from_settings(s), partner=partner, path=file
    )
    result = {
        "accepted": len(report.accepted),
        "duplicates": len(report.duplicates),
        "quarantined": [{"id": i, "reason": r} for i, r in report.rejected],
    }
    if json_:
        print_json(result)
    else:
        out.print(
            f"accepted {result['accepted']}, duplicates {result['duplicates']}, "
            f"quarantined {len(report.rejected)}"
        )
        for i, r in report.rejected[:50]:
            out.print(f"  {i or '?'}: {r}", highlight=False)


@keys_app.command("show")
@guarded
def keys_show() -> None:
    """Print this node's public key (give it to partners for bundle verification)."""
    s = console.settings()
    out.print(bundles.public_pem(bundles.node_key(s.data_dir)), highlight=False)
