"""The ``sarhad`` command: a thin shell over the rooms' service functions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from typer.core import TyperOption

from sarhad import __version__
from sarhad.alerts.cli import app as alerts_app
from sarhad.alerts.ports import AlertPorts
from sarhad.analysis.cli import risk
from sarhad.analysis.crossings.cli import report as crossings_report
from sarhad.analysis.report.cli import app as report_app
from sarhad.analysis.report.ports import ReportPorts
from sarhad.border import profile_from_settings
from sarhad.border.cli import app as border_app
from sarhad.core import console
from sarhad.core.auth import (
    CONSOLE,
    Role,
    add_user,
    issue_token,
    list_users,
    revoke_tokens,
    set_password,
)
from sarhad.core.console import err, guarded, out, print_json
from sarhad.core.db import Database
from sarhad.core.feed import FeedSources
from sarhad.core.journal import verify_audit
from sarhad.core.ports import CourierPort
from sarhad.crossings.cli import app as crossings_app
from sarhad.crossings.ports import CrossingPorts
from sarhad.federation.anchors import PartnersReport, check_partners
from sarhad.federation.cli import bundle_app, federation_app, keys_app, quarantine_app, sync
from sarhad.federation.courier import Courier
from sarhad.incidents.cli import app as incidents_app
from sarhad.incidents.cli import import_file, links_app
from sarhad.intake.cli import app as news_app
from sarhad.node import (
    alert_ports,
    crossing_ports,
    feed_sources,
    patrol_ports,
    report_ports,
)
from sarhad.patrols.cli import app as patrols_app
from sarhad.patrols.ports import PatrolPorts
from sarhad.sharing.cli import agreements_app, partners_app

# The original method, kept once: importing this module again (importlib mode, runpy) must not
# wrap the replacement in itself (it recursed without end).
_type_of_option = getattr(
    TyperOption.display_type_rich, "typer_original", TyperOption.display_type_rich
)


def _no_type_for_flags(self: TyperOption, ctx: click.Context) -> str | None:
    """An on/off flag takes no value: show no type beside it.

    Typer (0.29) writes ``<bool>`` beside every flag in its rich help (``--help <bool>``,
    ``--version <bool>``), as if the flag took a value; no Typer release lacks this yet and no
    option of the public API turns it off, so the help renderer's one method is replaced here.
    """
    return None if self.is_flag else _type_of_option(self, ctx)


_no_type_for_flags.typer_original = _type_of_option  # type: ignore[attr-defined]
TyperOption.display_type_rich = _no_type_for_flags  # type: ignore[method-assign]

app = typer.Typer(
    help="Sarhad: record, place, share and plan on a shared border.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
users_app = typer.Typer(help="Staff accounts and API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(border_app, name="border")
app.add_typer(incidents_app, name="incidents")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(partners_app, name="partners")
app.add_typer(agreements_app, name="agreements")
app.add_typer(federation_app, name="federation")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(bundle_app, name="bundle")
app.add_typer(keys_app, name="keys")
app.add_typer(links_app, name="links")
app.add_typer(alerts_app, name="alerts")
app.add_typer(patrols_app, name="patrols")
app.add_typer(crossings_app, name="crossings")
app.add_typer(news_app, name="news")
app.add_typer(report_app, name="report")
crossings_app.command("report")(crossings_report)
app.command("import")(import_file)
app.command("sync")(sync)
app.command("risk")(risk)


def _deliver_now(db: Database) -> CourierPort:
    """On the console, "wake the courier" means: deliver now, in this process."""
    s = console.settings()

    def deliver_now() -> None:
        carrier = Courier(db, settings=s, profile=profile_from_settings(s))
        try:
            carrier.round()
        finally:
            carrier.close()

    return CourierPort(wake=deliver_now)


def _patrol_ports(_db: Database) -> PatrolPorts:
    s = console.settings()
    return patrol_ports(s, profile_from_settings(s))


console.provide(AlertPorts, lambda _db: alert_ports())
console.provide(CrossingPorts, lambda _db: crossing_ports(alert_ports()))
console.provide(FeedSources, lambda _db: feed_sources())
console.provide(PatrolPorts, _patrol_ports)
console.provide(CourierPort, _deliver_now)
console.provide(ReportPorts, lambda _db: report_ports())


def _version(value: bool) -> None:
    if value:
        out.print(f"sarhad {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML settings file (or SARHAD_CONFIG)")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version")
    ] = False,
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="Language of messages: en, ur or fa (or SARHAD_LANG, locale)"),
    ] = None,
) -> None:
    """Settings come from SARHAD_* environment variables or --config."""
    console.set_config_file(config)
    console.set_language(lang)
    ctx.call_on_close(console.dispose_all)


@app.command()
@guarded
def init(
    admin: Annotated[
        str | None, typer.Option(help="Also create this admin account and print its token")
    ] = None,
) -> None:
    """Create the data folder and database schema (safe to run again: it upgrades)."""
    from sarhad.node import init_node, node_id

    s = console.settings()
    db = console.closing(init_node(s))
    out.print(f"node [bold]{s.node_name}[/] ({s.node_side}) id {node_id(db)}")
    out.print(f"database: {db.url}")
    if admin:
        with db.session() as session:
            add_user(session, username=admin, role=Role.ADMIN, actor=CONSOLE.username)
            token = issue_token(session, username=admin, actor=CONSOLE.username)
        out.print(f"admin [bold]{admin}[/] token (shown once): [bold green]{token}[/]")


@app.command()
@guarded
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings)")] = None,
    workers: Annotated[
        bool | None,
        typer.Option(
            "--workers/--no-workers",
            help="Run background work here (courier, escalation, partner sync) or serve "
            "requests only (default: the setting 'workers', on)",
        ),
    ] = None,
) -> None:
    """Run the node's API server (migrates the database to the current schema first).

    Any number of processes may serve one PostgreSQL database (docs/operations.md, "Running
    on many processes"); on SQLite only the first runs background work."""
    import uvicorn

    from sarhad.app import create_app
    from sarhad.core.clients import server_options
    from sarhad.core.serving import serve as serve_node
    from sarhad.node import init_node

    s = console.settings()
    if workers is not None:
        s = s.model_copy(update={"workers": workers})
    os.umask(0o077)  # whatever the node writes while it runs is the node account's alone
    db = init_node(s)
    app_ = create_app(s, db=db)
    h, p = host or s.host, port or s.port
    out.print(f"Sarhad node {s.node_name} on http://{h}:{p}  (API docs: http://{h}:{p}/docs)")
    if not s.workers:
        out.print("serving requests only: no background work in this process (--no-workers)")
    elif s.sync_interval_s > 0:
        out.print(
            f"syncing with partners every {s.sync_interval_s:g} s (each partner by the one "
            f"process holding its lease, {s.lease_ttl_s:g} s)"
        )
    # On SIGTERM (or Ctrl-C) requests get shutdown_grace_s to finish, then are cancelled
    # (a plan being solved is killed with its request), and the lifespan stops the rest:
    # the courier, escalation and partner sync loops run with the application, not here.
    # Forwarded headers only from SARHAD_TRUSTED_PROXIES (uvicorn trusts 127.0.0.1 alone).
    # Open live feeds end as soon as the server begins to stop (core.serving).
    serve_node(
        uvicorn.Config(
            app_,
            host=h,
            port=p,
            log_level="info",
            timeout_graceful_shutdown=s.shutdown_grace_s,
            **server_options(s),
        )
    )


@app.command()
@guarded
def demo(
    base_port: Annotated[int, typer.Option(help="First of the ports the demo nodes use")] = 8701,
    data_dir: Annotated[Path, typer.Option(help="Where the demo nodes keep their data")] = Path(
        "demo-data"
    ),
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Set up and seed, then exit")
    ] = False,
) -> None:
    """Set up two demo nodes (Pakistan and Iran) on SQLite with sample incidents and serve them."""
    from sarhad.demo import run_demo

    run_demo(base_port=base_port, data_dir=data_dir, serve=not no_serve)


def _progress() -> Progress:
    """Rich progress bars on stderr (stdout stays for what a script reads)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


@app.command("backup")
@guarded
def backup_command(
    out_file: Annotated[
        Path, typer.Option("--out", help="The archive to write (a new file, mode 600)")
    ],
) -> None:
    """Back up this node while it runs: its database and the data folder's keys, one archive.

    The archive holds the node's private keys: keep it encrypted at rest (docs/operations.md).
    """
    from sarhad.core.backup import backup

    s = console.settings()
    db = console.open_db(s)
    with _progress() as progress:
        manifest = backup(s, db, out_file, progress=progress)
    size = out_file.stat().st_size
    out.print(
        f"backed up node [bold]{manifest.node_name}[/] ({manifest.node_id}), schema "
        f"{manifest.schema_revision}, {manifest.backend}: {out_file} ({size:,} bytes, mode 600)",
        highlight=False,
    )
    for name, member in manifest.members.items():
        out.print(f"  {name}  sha256 {member['sha256']}", highlight=False)
    err.print("[yellow]the archive holds private keys: encrypt it before it leaves this machine[/]")


@app.command("restore")
@guarded
def restore_command(
    archive: Annotated[Path, typer.Argument(help="An archive made by 'sarhad backup'")],
) -> None:
    """Restore an archive into an EMPTY node (new data folder, new empty database), then
    migrate it to this version's schema. Never merges into or overwrites a node."""
    from sarhad.core.backup import restore
    from sarhad.core.db import open_database
    from sarhad.migrations import known
    from sarhad.node import init_node

    s = console.settings()
    os.umask(0o077)  # every file the restore writes is the node account's alone
    target = console.closing(open_database(s))
    with _progress() as progress:
        manifest = restore(s, target, archive, knows=known, progress=progress)
    target.dispose()
    db = console.closing(init_node(s))  # the schema to head, modes tightened, keys checked
    with db.session() as session:
        report = verify_audit(session)
    out.print(
        f"restored node [bold]{manifest.node_name}[/] ({manifest.node_id}) from "
        f"{manifest.created_at} (schema {manifest.schema_revision}, now at head)",
        highlight=False,
    )
    if not report.ok:
        err.print(f"[bold red]audit log damaged[/]: {len(report.problems)} problem(s)")
        raise typer.Exit(1)
    out.print(f"[green]audit log intact[/]: {report.entries} entries, head {report.head}")
    out.print(
        "[dim]start the node: partners resend what it missed, and it resends what they lack "
        "(each side stores each object once)[/]"
    )


@keys_app.command("rotate-node-key")
@guarded
def keys_rotate_node_key(
    forget_unreadable: Annotated[
        bool,
        typer.Option(
            "--forget-unreadable",
            help="The key is lost: clear the tokens it sealed (give them again afterwards)",
        ),
    ] = False,
) -> None:
    """Seal every partner token under a new node key and drop the old key (crash-safe).

    A running server picks up the new key by itself. Back up the new key file afterwards.
    """
    from sarhad.node import rotate_node_key

    s = console.settings()
    db = console.open_db(s)
    done = rotate_node_key(db, forget_unreadable=forget_unreadable)
    out.print(f"node key {s.node_key_path} rotated: {done.resealed} value(s) sealed anew")
    if done.forgotten:
        err.print(
            f"[bold yellow]{done.forgotten} value(s) no key opened were cleared:[/] give each "
            "partner's token again with 'sarhad partners set NAME --token'"
        )
    out.print("[dim]back up the new key file now (docs/operations.md)[/]")


@users_app.command("add")
@guarded
def users_add(
    username: Annotated[
        str, typer.Argument(help="Account name: name the desk, e.g. taftan-duty-1")
    ],
    role: Annotated[Role, typer.Option(help="What the account may do")],
    password: Annotated[
        bool, typer.Option("--password", help="Also set a web console password (asked twice)")
    ] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the web console password from stdin")
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Create an account and print its first API token (shown once, stored hashed)."""
    secret = _read_password(prompt=password, stdin=password_stdin)
    db = console.open_db(console.settings())
    with db.session() as session:
        add_user(session, username=username, role=role, actor=CONSOLE.username)
        if secret is not None:
            set_password(session, username=username, password=secret, actor=CONSOLE.username)
        token = issue_token(session, username=username, actor=CONSOLE.username)
    if json_:
        print_json({"username": username, "role": role.value, "token": token})
    else:
        out.print(f"created [bold]{username}[/] ({role.value}); token (shown once):")
        out.print(token, highlight=False)


def _read_password(*, prompt: bool, stdin: bool) -> str | None:
    """The password typed (hidden, twice) or piped in; None when neither was asked for."""
    if stdin:
        return typer.get_text_stream("stdin").readline().rstrip("\r\n")
    if prompt:
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return None


@users_app.command("password")
@guarded
def users_password(
    username: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin")
    ] = False,
) -> None:
    """Set or change an account's web console password (at least 12 characters)."""
    secret = _read_password(prompt=not password_stdin, stdin=password_stdin) or ""
    db = console.open_db(console.settings())
    with db.session() as session:
        set_password(session, username=username, password=secret, actor=CONSOLE.username)
    out.print(f"password of [bold]{username}[/] set")


@users_app.command("token")
@guarded
def users_token(
    username: str, name: Annotated[str, typer.Option(help="Label of the token")] = "default"
) -> None:
    """Issue another API token for an account."""
    db = console.open_db(console.settings())
    with db.session() as session:
        token = issue_token(session, username=username, name=name, actor=CONSOLE.username)
    out.print(token, highlight=False)


@users_app.command("revoke")
@guarded
def users_revoke(username: str) -> None:
    """Revoke every token of an account."""
    db = console.open_db(console.settings())
    with db.session() as session:
        n = revoke_tokens(session, username=username, actor=CONSOLE.username)
    out.print(f"revoked {n} token(s) of {username}")


@users_app.command("list")
@guarded
def users_list() -> None:
    """List accounts and roles."""
    from rich.table import Table

    db = console.open_db(console.settings())
    with db.session() as session:
        rows = list_users(session)
        table = Table("username", "role", "created", "disabled")
        for u in rows:
            table.add_row(
                u.username, u.role, u.created_at.isoformat(timespec="seconds"), str(u.disabled)
            )
    out.print(table)


@audit_app.command("verify")
@guarded
def audit_verify(
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    partners: Annotated[
        bool,
        typer.Option(
            "--partners",
            help="Also compare the chain with the hashes of it every partner holds: catches "
            "an entry edited with every later hash recomputed",
        ),
    ] = False,
) -> None:
    """Check the audit chain; exits 1 and names the entries if any was edited or deleted."""
    db = console.open_db(console.settings())
    with db.session() as session:
        report = verify_audit(session)
    anchored = _check_partners(db, quiet=json_) if partners else None
    if json_:
        body: dict[str, object] = {
            "ok": report.ok and (anchored is None or anchored.ok),
            "entries": report.entries,
            "head": report.head,
            "problems": [{"seq": p.seq, "problem": p.problem} for p in report.problems],
        }
        if anchored is not None:
            body["partners"] = anchored.to_json()
        print_json(body)
    else:
        if report.ok:
            out.print(f"[green]audit log intact[/]: {report.entries} entries, head {report.head}")
        else:
            out.print(f"[bold red]audit log damaged[/]: {len(report.problems)} problem(s)")
            for p in report.problems[:50]:
                out.print(f"  entry {p.seq}: {p.problem}")
        if anchored is not None:
            _print_partners(anchored)
    if not report.ok or (anchored is not None and not anchored.ok):
        raise typer.Exit(1)


def _check_partners(db: Database, *, quiet: bool) -> PartnersReport:
    """Every partner's anchors against the local chain, with a progress line per partner."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed} anchors compared"),
        console=err,
        disable=quiet,
    )
    with progress:
        tasks: dict[str, int] = {}

        def tick(partner: str, n: int) -> None:
            if partner not in tasks:
                tasks[partner] = progress.add_task(partner, total=None)
            progress.advance(tasks[partner], n)

        return PartnersReport(check_partners(db, progress=tick))


def _print_partners(report: PartnersReport) -> None:
    if not report.checks:
        out.print("[bold red]no Sarhad partner to hold anchors[/]: nothing was compared")
    for c in report.checks:
        if c.error is not None:
            out.print(f"[yellow]{c.partner}[/]: not checked: {c.error}")
        elif c.first is not None:
            m = c.first
            when = m.at.isoformat(timespec="seconds") if m.at else "?"
            out.print(
                f"[bold red]{c.partner}[/]: {c.matched} of {c.held} anchors match; the first "
                f"that no longer does is entry {m.seq} ({m.problem})"
            )
            if m.actor is not None:
                out.print(f"  entry {m.seq}: {when} {m.actor} {m.action} {m.entity}")
            out.print(
                "  The local log was rewritten from this entry on (or entries were deleted). "
                "Keep this database as evidence (copy it before anything else runs), tell "
                "the node's security officer, and compare with the partner's copy of what "
                "was exchanged."
            )
        elif c.held == 0:
            out.print(
                f"[yellow]{c.partner}[/]: holds no anchors of ours yet ('sarhad sync' sends them)"
            )
        else:
            out.print(f"[green]{c.partner}[/]: all {c.matched} anchors match")
    if report.checks and not any(c.checked for c in report.checks):
        out.print("[bold red]no partner could be checked[/]")


def main() -> None:
    """Console-script entry point."""
    app()
