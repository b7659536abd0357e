"""Federation commands: ``sync``, ``federation``, ``quarantine``, ``bundle``, ``keys``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypedDict

import typer
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn
from rich.table import Table

from sarhad.border import profile_from_settings
from sarhad.core import console
from sarhad.core.auth import CONSOLE
from sarhad.core.console import err, guarded, out, print_json
from sarhad.core.errors import FieldError, InvalidInput, NotFound
from sarhad.core.i18n import message
from sarhad.core.signing import Revocation
from sarhad.core.times import parse_datetime
from sarhad.federation import service
from sarhad.sharing import keys
from sarhad.sharing import service as sharing
from sarhad.sharing.schemas import KnownKeyOut

federation_app = typer.Typer(help="Federation with partner nodes: status.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Inbound objects refused, with reasons.", no_args_is_help=True)
bundle_app = typer.Typer(help="Signed bundle files for air-gapped partners.", no_args_is_help=True)
keys_app = typer.Typer(
    help="Signing keys: this node's (show, rotate, revoke), other nodes' (list, trust, "
    "revoke); and the node key sealing partner tokens (rotate-node-key).",
    no_args_is_help=True,
)


class _SyncRow(TypedDict):
    """One partner's line of ``sarhad sync`` (and of its ``--json``)."""

    partner: str
    pulled: int
    duplicates: int
    quarantined: int
    pushed: int
    refused_by_partner: int
    waiting: int
    error: str | None  # in the CLI's language, with its code and params beside it
    error_code: str | None
    error_params: dict[str, Any] | None


class _QuarantineRow(TypedDict):
    """One refused object in ``sarhad quarantine list`` (and its ``--json``)."""

    id: int
    via: str
    stix_id: str | None
    reason: str
    received_at: str


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
        tasks: dict[str, TaskID] = {}

        def tick(kind: str, n: int) -> None:
            if kind not in tasks:
                tasks[kind] = progress.add_task(f"{kind}ing", total=None)
            progress.advance(tasks[kind], n)

        reports = service.sync_all(
            db, settings=s, profile=profile_from_settings(s), partner=partner, progress=tick
        )
    lang = console.language()
    rows: list[_SyncRow] = [
        {
            "partner": r.partner,
            "pulled": len(r.pulled.accepted),
            "duplicates": len(r.pulled.duplicates),
            "quarantined": len(r.pulled.rejected),
            "pushed": r.pushed,
            "refused_by_partner": len(r.push_failures),
            "waiting": r.waiting,
            "error": r.error.in_(lang) if r.error else None,
            "error_code": r.error.code if r.error else None,
            "error_params": r.error.as_json()["params"] if r.error else None,
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
        rows = service.status(s, lang=console.language())
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
        rows: list[_QuarantineRow] = [
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


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="minutes").replace("+00:00", "Z") if value else "-"


def _time(text: str | None, field: str) -> datetime | None:
    if text is None:
        return None
    value = parse_datetime(text, field, example="2026-11-24T06:00Z")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _read_pem(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            FieldError.of(
                "public_key",
                message("keys.unreadable", "cannot read {path}: {why}", path=path, why=exc),
            )
        ) from None


@keys_app.command("show")
@guarded
def keys_show(
    pem: Annotated[
        bool, typer.Option("--pem", help="Print only the active public key (PEM) for partners")
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """This node's signing keys and fingerprints; read the active one out to partners."""
    s = console.settings()
    db = console.open_db(s)
    with db.session() as session:
        shown = keys.own_keys_out(session, s.data_dir)
    active = next(k for k in shown.keys if k.active)
    if pem:
        out.print(active.public_key_pem, end="", highlight=False, soft_wrap=True)
        return
    if json_:
        print_json(shown.model_dump(mode="json"))
        return
    # One block a key, not a table: a fingerprint must never be cut or wrapped.
    for k in shown.keys:
        state = f"{k.state}, signs" if k.active else k.state
        _print_key(k.key_id, state, k.fingerprint, k.valid_from, k.valid_until)
        if k.revocation:
            out.print(f"  revoked       {_when(k.revoked_at)} ({k.revocation})")
    out.print(f"node id {shown.node_id}")
    out.print("fingerprint to read out to partners:")
    out.print(f"  [bold]{active.fingerprint}[/]", highlight=False, soft_wrap=True)
    out.print("[dim]their copy of the key: sarhad keys show --pem > FILE[/]")


@keys_app.command("rotate")
@guarded
def keys_rotate(
    overlap_hours: Annotated[
        float,
        typer.Option(
            min=0, max=720, help="How long the old key stays valid for what is still signed"
        ),
    ] = 24.0,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Put a new signing key in place. What the old key signed stays verifiable.

    Partners learn the new key from an announcement signed by the old one (air-gapped
    partners: it travels in every bundle). Back up the data folder's keys/ afterwards.
    """
    s = console.settings()
    db = console.open_db(s)
    with db.session() as session:
        ring = keys.rotate_own(
            session, data_dir=s.data_dir, overlap=timedelta(hours=overlap_hours), actor=CONSOLE
        )
    new = ring.active.public
    if json_:
        print_json({"active_key_id": new.key_id, "fingerprint": new.fingerprint})
        return
    out.print(f"new signing key {new.key_id}, fingerprint:")
    out.print(f"  [bold]{new.fingerprint}[/]", highlight=False, soft_wrap=True)
    out.print("[dim]back up keys/signing-keys.json now (docs/operations.md)[/]")


@keys_app.command("revoke")
@guarded
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (sarhad keys show / keys list)")],
    reason: Annotated[
        Revocation,
        typer.Option(
            help="superseded: what it signed before stays valid; compromised: nothing does"
        ),
    ],
    at: Annotated[
        str | None, typer.Option(help="From when (ISO, UTC if no offset); default now")
    ] = None,
) -> None:
    """Revoke a key: one of this node's (the active one is replaced), or another node's."""
    s = console.settings()
    when = _time(at, "at")
    db = console.open_db(s)
    with db.session() as session:
        if keys.is_own_key(s.data_dir, key_id):
            ring = keys.revoke_own(
                session, data_dir=s.data_dir, key_id=key_id, reason=reason, at=when, actor=CONSOLE
            )
            out.print(f"this node's key {key_id} revoked ({reason.value})")
            if ring.active.public.key_id != key_id:
                out.print(
                    f"active key: {ring.active.public.key_id}, fingerprint "
                    f"[bold]{ring.active.public.fingerprint}[/]"
                )
            if reason is Revocation.COMPROMISED:
                err.print(
                    "[bold yellow]compromised:[/] partners will not take the new key from an "
                    "announcement signed by the old one; read them the new fingerprint by phone"
                )
            return
        row = keys.revoke_key(session, key_id=key_id, reason=reason, at=when, actor=CONSOLE)
        shown = keys.shown(session, row)
    out.print(f"key {key_id} of {shown.partner or shown.node_id} revoked ({reason.value})")


def _print_key(
    key_id: str,
    state: str,
    fingerprint: str,
    valid_from: datetime | None,
    valid_until: datetime | None,
) -> None:
    out.print(f"key {key_id}  ({state})", highlight=False)
    out.print(f"  fingerprint   [bold]{fingerprint}[/]", highlight=False, soft_wrap=True)
    out.print(f"  valid         {_when(valid_from)} to {_when(valid_until)}", highlight=False)


def _print_keys(rows: list[KnownKeyOut]) -> None:
    for k in rows:
        of = k.partner or (f"{k.node_id} ({k.label})" if k.label else str(k.node_id))
        state = f"{k.state}, {k.revocation}" if k.revocation else k.state
        _print_key(k.key_id, state, k.fingerprint, k.valid_from, k.valid_until)
        out.print(f"  of            {of}", highlight=False)
        out.print(
            f"  added         {_when(k.added_at)} by {k.added_by} ({k.source})", highlight=False
        )


@keys_app.command("list")
@guarded
def keys_list(
    partner: Annotated[str | None, typer.Option(help="Only this partner's keys")] = None,
    node: Annotated[str | None, typer.Option(help="Only the keys of this node id")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Other nodes' signing keys this node trusts (or has revoked), with fingerprints."""
    db = console.open_db(console.settings())
    with db.session() as session:
        p = sharing.get_partner(session, name=partner) if partner else None
        rows = keys.list_keys(session, partner=p, node_id=node)
    if json_:
        print_json([k.model_dump(mode="json") for k in rows])
        return
    _print_keys(rows)
    out.print(f"{len(rows)} key(s)")


@keys_app.command("trust")
@guarded
def keys_trust(
    public_key: Annotated[Path, typer.Option(help="File with the node's Ed25519 key (PEM)")],
    node_id: Annotated[
        str | None, typer.Argument(help="A third node's id (records partners forward)")
    ] = None,
    partner: Annotated[str | None, typer.Option(help="Or: a partner's key")] = None,
    fingerprint: Annotated[
        str | None,
        typer.Option(help="The fingerprint they read out; the key is refused unless it matches"),
    ] = None,
    label: Annotated[
        str | None, typer.Option(help="Who the node is, e.g. 'af-node, Kabul'")
    ] = None,
    valid_from: Annotated[str | None, typer.Option(help="Signatures before fail (ISO)")] = None,
    valid_until: Annotated[str | None, typer.Option(help="Signatures after fail (ISO)")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Trust a partner's or a third node's signing key, after confirming its fingerprint by
    another channel (phone, meeting)."""
    if (node_id is None) == (partner is None):
        raise InvalidInput(
            FieldError.of(
                "node_id",
                message(
                    "keys.node_or_partner",
                    "give a node id or --partner NAME, not both or neither",
                ),
            )
        )
    args: dict[str, Any] = {
        "public_key_pem": _read_pem(public_key),
        "fingerprint": fingerprint,
        "label": label,
        "valid_from": _time(valid_from, "valid_from"),
        "valid_until": _time(valid_until, "valid_until"),
    }
    db = console.open_db(console.settings())
    with db.session() as session:
        p = sharing.get_partner(session, name=partner) if partner else None
        row, added = keys.trust_key(session, partner=p, node_id=node_id, actor=CONSOLE, **args)
        shown = keys.shown(session, row)
    if json_:
        print_json(shown.model_dump(mode="json"))
        return
    of = shown.partner or shown.node_id
    out.print(f"{'trusted' if added else 'already trusted'}: key {shown.key_id} of {of}")
    out.print(f"fingerprint [bold]{shown.fingerprint}[/]", highlight=False, soft_wrap=True)
    if fingerprint is None:
        err.print(
            "[yellow]check:[/] this must be the fingerprint their officer reads from "
            "'sarhad keys show'; if it is not, revoke it: sarhad keys revoke "
            f"{shown.key_id} --reason compromised"
        )


@keys_app.command("announcement")
@guarded
def keys_announcement(
    out_file: Annotated[Path | None, typer.Option("--out", help="Write it to this file")] = None,
) -> None:
    """This node's newest key announcement (signed; made at each rotation or revocation)."""
    ring = keys.own_ring(console.settings().data_dir)
    if not ring.announcements:
        raise NotFound(
            message(
                "keys.nothing_to_announce2",
                "nothing to announce: this node's keys were never rotated or revoked",
            ),
            hint=message(
                "keys.nothing_to_announce2.hint",
                "partners register the key itself: sarhad keys show --pem",
            ),
        )
    text = json.dumps(ring.announcements[-1], ensure_ascii=False, indent=2)
    if out_file is None:
        out.print(text, highlight=False, soft_wrap=True)
    else:
        out_file.write_text(text + "\n", encoding="utf-8")
        out.print(f"wrote the announcement to {out_file}")
