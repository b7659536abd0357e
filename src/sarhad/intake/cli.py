"""``sarhad news``: add articles, work the review queue (show, accept, reject)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Column, Table
from rich.text import Text

from sarhad.border import profile_from_settings
from sarhad.core import console
from sarhad.core.auth import CONSOLE
from sarhad.core.console import guarded, out, print_json
from sarhad.core.times import parse_day
from sarhad.crossings.ports import CrossingPorts
from sarhad.intake import service
from sarhad.intake.readers import file_articles

app = typer.Typer(help="News intake: articles → candidate events for review.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON")]


@app.command("add")
@guarded
def add(
    file: Annotated[Path, typer.Argument(help="Plain text (first line: title), HTML or RSS/Atom")],
    outlet: Annotated[str | None, typer.Option(help="The outlet (feeds: the feed's title)")] = None,
    published: Annotated[
        str | None, typer.Option(help="Publication date YYYY-MM-DD (feeds: each entry's)")
    ] = None,
    title: Annotated[
        str | None, typer.Option(help="Title (plain text: else its first line)")
    ] = None,
    url: Annotated[str | None, typer.Option(help="The article's address")] = None,
    json_: JsonOpt = False,
) -> None:
    """Add the articles of a file; each event they report becomes a candidate for review."""
    day = parse_day(published, "--published") if published else None
    articles = file_articles(file, title=title, outlet=outlet, published=day, url=url)
    s = console.settings()
    db = console.open_db(s)
    results: list[dict[str, Any]] = []
    for a in articles:
        with db.session() as session:
            added = service.add_article(
                session,
                title=a.title,
                outlet=a.outlet,
                published=a.published,
                text=a.text,
                url=a.url,
                via="file",
                actor=CONSOLE,
            )
        results.append({"title": a.title, **added.__dict__})
    if json_:
        print_json(results)
        return
    for r in results:
        if r["duplicate"]:
            out.print(f"{r['title']}: read before (article {r['article_id'][:8]})")
        else:
            out.print(
                f"{r['title']}: {len(r['created'])} new candidate(s), "
                f"{len(r['joined'])} already proposed from another article"
            )


def _summary(v: dict[str, Any]) -> str:
    what = v["category"] or (v["fields"].get("action") or {}).get("value") or "?"
    counts = ", ".join(f"{c['party']} {c['kind']} {c['best']}" for c in v["counts"])
    return "; ".join(
        x for x in (what, v["date"] or "no date", v["district"] or "no place", counts) if x
    )


@app.command("queue")
@guarded
def queue(
    status: Annotated[str, typer.Option(help="pending, accepted or rejected")] = "pending",
    limit: Annotated[int, typer.Option(help="At most this many")] = 100,
    json_: JsonOpt = False,
) -> None:
    """The candidates waiting for review, oldest first."""
    db = console.open_db(console.settings())
    with db.session() as session:
        views = [
            service.view(session, r)
            for r in service.list_candidates(session, status=status, limit=limit)
        ]
    if json_:
        print_json(views)
        return
    table = Table(
        Column("id"), Column("kind"), Column("candidate", overflow="fold"), Column("sources")
    )
    for v in views:
        table.add_row(v["id"][:8], v["kind"], _summary(v), str(len(v["sources"])))
    out.print(table)


def _full_id(session: Any, prefix: str) -> str:
    """A candidate id from its first characters (as the queue prints them)."""
    from sqlalchemy import select

    from sarhad.intake.models import NewsCandidate

    ids = list(session.scalars(select(NewsCandidate.id).where(NewsCandidate.id.startswith(prefix))))
    return ids[0] if len(ids) == 1 else prefix


@app.command("show")
@guarded
def show(
    candidate: Annotated[str, typer.Argument(help="Candidate id (or its first 8 characters)")],
    json_: JsonOpt = False,
) -> None:
    """A candidate beside its articles, the supporting sentences highlighted."""
    db = console.open_db(console.settings())
    with db.session() as session:
        row = service.get_candidate(session, candidate_id=_full_id(session, candidate))
        v = service.view(session, row)
        texts = {a.id: a.text for a, _ in service.sources_of(session, row.id)}
    if json_:
        print_json(v)
        return
    out.print(f"[bold]{v['id']}[/] {v['kind']} ({v['status']}): {_summary(v)}")
    for src in v["sources"]:
        out.print(f"\n[bold]{src['outlet']}[/], {src['published']}: {src['title']}")
        text = Text(texts[src["article_id"]])
        for start, end in src["sentences"]:
            text.stylize("reverse", start, end)
        out.print(text)
    for link in v["links"]:
        out.print(f"\nmay be incident {link['incident_id']}: {link['title']}")


@app.command("accept")
@guarded
def accept(
    candidate: Annotated[str, typer.Argument(help="Candidate id (or its first 8 characters)")],
) -> None:
    """Accept: a draft incident with the articles as its sources (a crossing candidate: our
    side's declaration)."""
    s = console.settings()
    db = console.open_db(s)
    with db.session() as session:
        row = service.accept(
            session,
            candidate_id=_full_id(session, candidate),
            actor=CONSOLE,
            profile=profile_from_settings(s),
            node_side=s.node_side,
            ports=console.provided(CrossingPorts, db),
        )
        if row.kind == "crossing":
            out.print(f"accepted: declaration {row.fields['declaration_id']}")
        else:
            out.print(f"accepted: draft incident {row.incident_id}")


@app.command("reject")
@guarded
def reject(
    candidate: Annotated[str, typer.Argument(help="Candidate id (or its first 8 characters)")],
    reason: Annotated[str, typer.Option(help="Why this is not an event to record")],
) -> None:
    """Reject with a reason."""
    db = console.open_db(console.settings())
    with db.session() as session:
        service.reject(
            session, candidate_id=_full_id(session, candidate), reason=reason, actor=CONSOLE
        )
    out.print("rejected")
