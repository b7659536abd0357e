"""``sarhad report monthly``: the monthly (joint) report as a PDF, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from sarhad.analysis.report.ports import ReportPorts
from sarhad.border import profile_from_settings
from sarhad.core import console
from sarhad.core.auth import CONSOLE
from sarhad.core.console import guarded, out
from sarhad.core.db import Database
from sarhad.core.ports import CourierPort

app = typer.Typer(help="Reports: the monthly (joint) border report as PDF.", no_args_is_help=True)

STAGES = ("figures", "partner figures", "pdf")


@app.command("monthly")
@guarded
def monthly(
    month: Annotated[str, typer.Option(help="The month, YYYY-MM")],
    out_file: Annotated[Path, typer.Option("--out", help="Write the PDF here")],
    lang: Annotated[str, typer.Option(help="en, ur or fa")] = "en",
    joint: Annotated[
        bool, typer.Option("--joint", help="Add the partners' figures side by side with ours")
    ] = False,
) -> None:
    """The month's report: map, trends, hot spots, cooperation, methods (docs/analysis.md).

    With ``--joint`` our figures of the month go to every partner first (as ``report
    share`` does), so that its joint report can show them beside its own.
    """
    # Imported here: the report's statistics, charts and PDF stack (esda, matplotlib,
    # WeasyPrint) take seconds to import, which every other command would pay at start.
    from sarhad.analysis.report.service import check_lang, monthly_pdf

    check_lang(lang)
    s = console.settings()
    profile = profile_from_settings(s)
    db = console.open_db(s)
    ports = console.provided(ReportPorts, db)
    if joint:
        _share(db, ports, month)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
        console=console.err, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task(f"report {month} ({lang})", total=len(STAGES))

        def step(stage: str) -> None:
            done = STAGES.index(stage) if stage in STAGES else 0
            progress.update(task, completed=done, description=f"{month} ({lang}): {stage}")

        with db.session() as session:
            pdf = monthly_pdf(
                session, profile=profile, settings=s, ports=ports, month=month, lang=lang,
                joint=joint, step=step,
            )  # fmt: skip
        progress.update(task, completed=len(STAGES))
    try:
        out_file.write_bytes(pdf)
    except OSError as exc:
        raise console.cannot_write("out", out_file, exc) from None
    out.print(f"wrote the {month} report ({lang}) to {out_file}", soft_wrap=True, highlight=False)


def _share(db: Database, ports: ReportPorts, month: str) -> None:
    """Send our figures of ``month`` to every partner and say what happened to each."""
    from sarhad.analysis.report.joint import share_month  # lazily, as in ``monthly``

    with db.session() as session:
        done = share_month(session, month=month, ports=ports, actor=CONSOLE.username)
    for d in done:
        if d.reason:
            why = d.reason.in_(console.language())
            out.print(f"{d.partner}: not sent ({why})", soft_wrap=True, highlight=False)
        else:
            what = "figures sent" if d.sent else "unchanged since last sent"
            out.print(f"{d.partner}: {month} {what}", soft_wrap=True, highlight=False)
    # Deliver at once rather than at the next sync round (one way to wake the courier).
    console.provided(CourierPort, db).wake()


@app.command("share")
@guarded
def share(month: Annotated[str, typer.Option(help="The month, YYYY-MM")]) -> None:
    """Send our figures of the month on the shared records to every partner (joint report).

    Under each agreement like everything shared; the same figures again make no new version,
    changed ones replace the month's report at the partner.
    """
    s = console.settings()
    db = console.open_db(s)
    _share(db, console.provided(ReportPorts, db), month)
