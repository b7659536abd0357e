"""``sarhad report monthly``: the monthly (joint) report as a PDF, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from sarhad.analysis.report.ports import ReportPorts
from sarhad.analysis.report.service import check_lang, monthly_pdf
from sarhad.border import profile_from_settings
from sarhad.core import console
from sarhad.core.console import guarded, out
from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import message

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
    """The month's report: map, trends, hot spots, cooperation, methods (docs/analysis.md)."""
    check_lang(lang)
    s = console.settings()
    profile = profile_from_settings(s)
    db = console.open_db(s)
    ports = console.provided(ReportPorts, db)
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
        raise InvalidInput(
            FieldError.of(
                "out",
                message(
                    "analysis.cannot_write",
                    "cannot write {path}: {why}",
                    path=out_file,
                    why=exc.strerror or exc,
                ),
            ),
            hint=message(
                "analysis.cannot_write.hint", "check that the folder exists and is writable"
            ),
        ) from None
    out.print(f"wrote the {month} report ({lang}) to {out_file}", soft_wrap=True, highlight=False)
