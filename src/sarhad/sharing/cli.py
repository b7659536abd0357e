"""``sarhad partners …`` and ``sarhad agreements …``: thin commands over the sharing service."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from sarhad.border import profile_from_settings
from sarhad.core import console
from sarhad.core.auth import CONSOLE
from sarhad.core.console import guarded, out, print_json
from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import message
from sarhad.core.times import parse_datetime
from sarhad.sharing import service
from sarhad.sharing.preview import preview as build_preview
from sarhad.sharing.schemas import AgreementIn, AgreementOut, PartnerOut, PartnerUpdate

partners_app = typer.Typer(help="Partner nodes we share with.", no_args_is_help=True)
agreements_app = typer.Typer(
    help="What may go to each partner (one agreement per partner).", no_args_is_help=True
)

#: Words that mean "no restriction" (categories, sectors) or "nothing" (withheld fields).
ALL, NONE, NEVER = "all", "none", "never"


def _read_key(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(
            FieldError.of(
                "public_key",
                message("keys.unreadable", "cannot read {path}: {why}", path=path, why=exc),
            )
        ) from None


def _print_partner(p: PartnerOut) -> None:
    table = Table(show_header=False)
    table.add_row("name", p.name)
    table.add_row("country", p.country)
    table.add_row("active", "yes" if p.active else "no")
    table.add_row("node id", p.node_id or "-")
    table.add_row("TAXII URL", p.taxii_url or "-")
    table.add_row("our token for them", "set" if p.remote_token_set else "not set")
    table.add_row("their account here", p.account)
    table.add_row("signing keys", str(len(p.public_keys)) if p.public_keys else "none")
    out.print(table)
    # Below the table, one line each: a fingerprint read over the phone is never wrapped.
    for k in p.public_keys:
        out.print(f"key {k.key_id} ({k.state}): {k.fingerprint}", highlight=False, soft_wrap=True)
    if not p.public_keys:
        out.print(f"add their key: sarhad keys trust --partner {p.name} --public-key FILE")


def _print_agreement(a: AgreementOut) -> None:
    table = Table(show_header=False)
    table.add_row("partner", a.partner)
    table.add_row("version", str(a.version))
    table.add_row("categories", ", ".join(a.categories) or "all")
    table.add_row("sectors", ", ".join(a.sectors) or "all")
    table.add_row("statuses", ", ".join(a.statuses))
    table.add_row("highest TLP", a.max_tlp.label)
    table.add_row("withheld", ", ".join(a.withheld_fields) or "nothing")
    table.add_row("release delay", f"{a.release_delay_hours:g} h")
    table.add_row("expires", a.expires_at.isoformat(timespec="minutes") if a.expires_at else NEVER)
    table.add_row("forward third-party records", "yes" if a.forward_third_party else "no")
    table.add_row("crossing status and hours", "shared" if a.share_crossings else "not shared")
    table.add_row("crossing throughput", "shared" if a.share_throughput else "not shared")
    table.add_row(
        "alert deadlines (ack / answer)",
        ", ".join(
            f"{p} {t.acknowledge_minutes:g}/{t.answer_minutes:g} min"
            for p, t in a.alert_deadlines.items()
        ),
    )
    out.print(table)


@partners_app.command("add")
@guarded
def partners_add(
    name: Annotated[str, typer.Argument(help="Short name of the partner node, e.g. ir-node")],
    country: Annotated[str, typer.Option(help="ISO 3166 alpha-2 of the partner agency, e.g. IR")],
    url: Annotated[str | None, typer.Option(help="Their TAXII API root")] = None,
    token: Annotated[str | None, typer.Option(help="The token they gave us to call them")] = None,
    public_key: Annotated[
        Path | None, typer.Option(help="File with their Ed25519 public key (PEM)")
    ] = None,
    node_id: Annotated[str | None, typer.Option(help="Their node UUID")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Register a partner node and print the token it must use to call us (shown once)."""
    db = console.open_db(console.settings())
    with db.session() as session:
        partner, issued = service.add_partner(
            session,
            name=name,
            country=country,
            taxii_url=url,
            remote_token=token,
            public_key_pem=_read_key(public_key),
            node_id=node_id,
            actor=CONSOLE,
        )
        shown = service.partner_out(session, partner)
        agreement = service.agreement_out(service.get_agreement(session, partner=partner), partner)
    if json_:
        print_json(
            {
                "partner": shown.model_dump(mode="json"),
                "token": issued,
                "agreement": agreement.model_dump(mode="json"),
            }
        )
        return
    out.print(f"added partner [bold]{shown.name}[/] ({shown.country}), account {shown.account}")
    out.print("token the partner must use to call this node (shown once):")
    out.print(issued, highlight=False)
    out.print(
        f"default agreement: {', '.join(agreement.statuses)} records up to "
        f"{agreement.max_tlp.label}, withholding {', '.join(agreement.withheld_fields)}"
    )


@partners_app.command("list")
@guarded
def partners_list(
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List partner nodes."""
    db = console.open_db(console.settings())
    with db.session() as session:
        rows = [service.partner_out(session, p) for p in service.list_partners(session)]
    if json_:
        print_json([p.model_dump(mode="json") for p in rows])
        return
    table = Table("name", "country", "active", "TAXII URL", "our token", "node id")
    for p in rows:
        table.add_row(
            p.name,
            p.country,
            "yes" if p.active else "no",
            p.taxii_url or "-",
            "set" if p.remote_token_set else "-",
            p.node_id or "-",
        )
    out.print(table)
    out.print(f"{len(rows)} partner(s)")


@partners_app.command("show")
@guarded
def partners_show(
    name: str, json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False
) -> None:
    """Show one partner node."""
    db = console.open_db(console.settings())
    with db.session() as session:
        shown = service.partner_out(session, service.get_partner(session, name=name))
    if json_:
        print_json(shown.model_dump(mode="json"))
    else:
        _print_partner(shown)


@partners_app.command("set")
@guarded
def partners_set(
    name: str,
    url: Annotated[str | None, typer.Option(help="Their TAXII API root")] = None,
    token: Annotated[str | None, typer.Option(help="The token they gave us")] = None,
    public_key: Annotated[Path | None, typer.Option(help="Their Ed25519 public key (PEM)")] = None,
    node_id: Annotated[str | None, typer.Option(help="Their node UUID")] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Stop or resume the partnership")
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Change a partner's URL, our token for it, its key, node id or active flag."""
    raw: dict[str, Any] = {
        "taxii_url": url,
        "remote_token": token,
        "public_key_pem": _read_key(public_key),
        "node_id": node_id,
        "active": active,
    }
    try:
        changes = PartnerUpdate.model_validate({k: v for k, v in raw.items() if v is not None})
    except ValidationError as exc:
        raise service.invalid(exc) from None
    db = console.open_db(console.settings())
    with db.session() as session:
        partner = service.update_partner(session, name=name, changes=changes, actor=CONSOLE)
        shown = service.partner_out(session, partner)
    if json_:
        print_json(shown.model_dump(mode="json"))
    else:
        _print_partner(shown)


@agreements_app.command("show")
@guarded
def agreements_show(
    name: Annotated[str, typer.Argument(help="Partner name")],
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Show the agreement with a partner."""
    db = console.open_db(console.settings())
    with db.session() as session:
        partner = service.get_partner(session, name=name)
        shown = service.agreement_out(service.get_agreement(session, partner=partner), partner)
    if json_:
        print_json(shown.model_dump(mode="json"))
    else:
        _print_agreement(shown)


def _csv(text: str | None, *, empty_word: str) -> list[str] | None:
    if text is None:
        return None
    if text.strip().lower() == empty_word:
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


def _expiry(text: str | None) -> tuple[bool, datetime | None]:
    """(given, value): ``never`` removes the expiry; a date means midnight UTC of that day."""
    if text is None:
        return False, None
    if text.strip().lower() == NEVER:
        return True, None
    try:
        value = parse_datetime(text, "--expires", example="2027-01-01, or 'never'")
    except InvalidInput as exc:
        exc.hint = "write a date such as 2027-01-01, or 'never' to remove the expiry"
        raise
    return True, value if value.tzinfo else value.replace(tzinfo=UTC)


def _deadlines(items: list[str]) -> dict[str, dict[str, str]]:
    """``flash=5/30`` → {"flash": {"acknowledge_minutes": "5", "answer_minutes": "30"}}."""
    out = {}
    for item in items:
        priority, _, minutes = item.partition("=")
        ack, _, answer = minutes.partition("/")
        if not priority or not ack or not answer:
            raise InvalidInput(
                FieldError.of(
                    "alert_deadline",
                    message(
                        "sharing.deadline_format",
                        "{item}: write PRIORITY=ACK/ANSWER, e.g. flash=5/30",
                        item=repr(item),
                    ),
                )
            )
        out[priority.strip().lower()] = {"acknowledge_minutes": ack, "answer_minutes": answer}
    return out


@agreements_app.command("set")
@guarded
def agreements_set(
    name: Annotated[str, typer.Argument(help="Partner name")],
    categories: Annotated[
        str | None, typer.Option(help="Comma-separated categories, or 'all'")
    ] = None,
    sectors: Annotated[
        str | None, typer.Option(help="Comma-separated sector ids (PKIR-001,…), or 'all'")
    ] = None,
    statuses: Annotated[
        str | None, typer.Option(help="Comma-separated statuses, e.g. validated,closed")
    ] = None,
    max_tlp: Annotated[
        str | None, typer.Option(help="Highest TLP that may go: clear, green, amber, amber+strict")
    ] = None,
    withhold: Annotated[
        list[str] | None,
        typer.Option(help="Field always withheld (repeat): sources, narrative, grading, …; 'none'"),
    ] = None,
    release_delay_hours: Annotated[
        float | None, typer.Option(help="Share only records older than this many hours")
    ] = None,
    expires: Annotated[str | None, typer.Option(help="Expiry date (ISO, UTC), or 'never'")] = None,
    forward_third_party: Annotated[
        bool | None,
        typer.Option(
            "--forward-third-party/--no-forward-third-party",
            help="Whether records received from other nodes may go to this partner",
        ),
    ] = None,
    share_crossings: Annotated[
        bool | None,
        typer.Option(
            "--share-crossings/--no-share-crossings",
            help="Whether crossing and market status declarations and hours go to this partner",
        ),
    ] = None,
    share_throughput: Annotated[
        bool | None,
        typer.Option(
            "--share-throughput/--no-share-throughput",
            help="Whether daily crossing throughput (counts, goods, values) goes to this partner",
        ),
    ] = None,
    alert_deadline: Annotated[
        list[str] | None,
        typer.Option(
            help="Alert deadlines PRIORITY=ACK/ANSWER in minutes (repeat), e.g. flash=5/30"
        ),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Change the agreement with a partner; options left out stay as they are."""
    withheld = None
    if withhold is not None:
        withheld = [] if [w.lower() for w in withhold] == [NONE] else withhold
    raw: dict[str, Any] = {
        "categories": _csv(categories, empty_word=ALL),
        "sectors": _csv(sectors, empty_word=ALL),
        "statuses": _csv(statuses, empty_word=""),
        "max_tlp": max_tlp.lower() if max_tlp else None,
        "withheld_fields": withheld,
        "release_delay_hours": release_delay_hours,
        "forward_third_party": forward_third_party,
        "share_crossings": share_crossings,
        "share_throughput": share_throughput,
    }
    data = {k: v for k, v in raw.items() if v is not None}
    if alert_deadline:
        data["alert_deadlines"] = _deadlines(alert_deadline)
    given, expiry = _expiry(expires)
    if given:
        data["expires_at"] = expiry
    try:
        changes = AgreementIn.model_validate(data)
    except ValidationError as exc:
        raise service.invalid(exc) from None
    s = console.settings()
    db = console.open_db(s)
    with db.session() as session:
        partner = service.get_partner(session, name=name)
        agreement = service.set_agreement(
            session,
            partner=partner,
            changes=changes,
            actor=CONSOLE,
            profile=profile_from_settings(s),
        )
        shown = service.agreement_out(agreement, partner)
    if json_:
        print_json(shown.model_dump(mode="json"))
    else:
        _print_agreement(shown)


@agreements_app.command("preview")
@guarded
def agreements_preview(
    name: Annotated[str, typer.Argument(help="Partner name")],
    limit: Annotated[int, typer.Option(min=1, max=200, help="How many newest incidents")] = 20,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """What the partner would receive of the newest incidents, what is withheld and why."""
    db = console.open_db(console.settings())
    with db.session() as session:
        result = build_preview(session, partner=name, limit=limit)
    if json_:
        print_json(result.model_dump(mode="json"))
        return
    table = Table("occurred (UTC)", "category", "status", "TLP", "goes?", "why not / withheld")
    for i in result.items:
        if i.share:
            verdict, why = "[green]yes[/]", "withheld: " + (", ".join(i.withheld_fields) or "-")
        elif i.release_at is not None:
            verdict, why = "[yellow]later[/]", "; ".join(i.reasons)
        else:
            verdict, why = "[red]no[/]", "; ".join(i.reasons)
        table.add_row(
            i.occurred_at.isoformat(timespec="minutes")[:16],
            i.category,
            i.status,
            i.tlp.label,
            verdict,
            why,
        )
    out.print(table)
    out.print(
        f"agreement v{result.agreement_version} with {result.partner}: {result.shared} would go, "
        f"{result.held} held by the release delay, {result.refused} would not go"
    )
