"""``sarhad alerts``: raise, list, acknowledge, answer, withdraw, watch live, metrics."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Annotated, Any

import httpx
import typer
from pydantic import ValidationError
from rich.table import Column, Table

from sarhad.alerts import deadlines, metrics, reading, receiver, sender
from sarhad.alerts.ports import AlertPorts
from sarhad.alerts.schemas import AlertIn, AlertOut, AnswerIn, WithdrawIn
from sarhad.alerts.taxonomy import Direction
from sarhad.border import profile_from_settings
from sarhad.core import console
from sarhad.core.auth import CONSOLE
from sarhad.core.console import guarded, out, print_json
from sarhad.core.db import Database, utcnow
from sarhad.core.errors import FieldError, InvalidInput, SarhadError, validation_text
from sarhad.core.feed import FeedSources, fetch, head
from sarhad.core.i18n import message
from sarhad.core.ports import CourierPort
from sarhad.core.times import PLAN_HORIZON

app = typer.Typer(help="Liaison alerts to and from partners.", no_args_is_help=True)

PRIORITY_STYLE = {
    "flash": "bold white on red",
    "immediate": "bold red",
    "priority": "yellow",
    "routine": "cyan",
}


def _ports(db: Database) -> AlertPorts:
    return console.provided(AlertPorts, db)


def _wake(db: Database) -> None:
    """Deliver what waits for partners: on the console, at once and in this process."""
    console.provided(CourierPort, db).wake()


def _invalid(exc: ValidationError) -> InvalidInput:
    return InvalidInput(
        [
            FieldError(
                ".".join(str(p) for p in e["loc"]) or "alert",
                e["msg"].removeprefix("Value error, "),
                validation_text(e),
            )
            for e in exc.errors()
        ]
    )


def _print(a: AlertOut) -> None:
    table = Table(show_header=False, title=f"alert {a.id}")
    table.add_row("priority", f"[{PRIORITY_STYLE.get(a.priority, '')}]{a.priority}[/]")
    table.add_row("kind", a.kind)
    table.add_row("direction", f"{a.direction} ({a.from_side} → {a.to_side}, {a.partner})")
    table.add_row("status", a.status + (" [bold red]OVERDUE[/]" if a.overdue else ""))
    table.add_row(
        "where", f"{a.place.sector or '?'}" + (f" km {a.place.km:.1f}" if a.place.km else "")
    )
    table.add_row("valid", f"{a.valid_from:%Y-%m-%d %H:%M} – {a.valid_until:%Y-%m-%d %H:%M} UTC")
    table.add_row("acknowledge by", f"{a.ack_by:%Y-%m-%d %H:%M:%S} UTC")
    table.add_row("answer by", f"{a.answer_by:%Y-%m-%d %H:%M:%S} UTC")
    if a.answer:
        table.add_row("answer", f"{a.answer}: {a.answer_text or ''}")
    if a.escalation_level:
        table.add_row("escalation", f"level {a.escalation_level}")
    table.add_row("text", a.text)
    out.print(table)
    for s in a.steps or []:
        extra = f" {s.detail}" if s.detail else ""
        out.print(f"  {s.at:%Y-%m-%d %H:%M:%S} {s.side} {s.step}{extra}")


def _session_db() -> tuple[Any, Database]:
    s = console.settings()
    return s, console.open_db(s)


@app.command("raise")
@guarded
def raise_(
    text: Annotated[str, typer.Option(help="What is happening and what you ask")],
    priority: Annotated[str, typer.Option(help="flash, immediate, priority or routine")],
    kind: Annotated[
        str,
        typer.Option(
            help="armed_group_movement, smuggling_movement, hot_pursuit_request, "
            "request_for_information, crossing_closure, deconfliction_notice, other"
        ),
    ],
    partner: Annotated[
        str | None, typer.Option(help="Partner name (default: the only one)")
    ] = None,
    sector: Annotated[str | None, typer.Option(help="Sector id, e.g. PKIR-012")] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude of the place")] = None,
    lat: Annotated[float | None, typer.Option(help="Latitude of the place")] = None,
    valid_hours: Annotated[float, typer.Option(help="Valid for this many hours from now")] = 24.0,
    incident: Annotated[
        list[str] | None, typer.Option(help="Linked incident id (repeat for more)")
    ] = None,
    tlp: Annotated[str, typer.Option(help="clear, green, amber or amber+strict")] = "amber",
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Raise an alert to a partner and deliver it now (or queue it if the partner is down)."""
    now = utcnow()
    if not 0 < valid_hours <= PLAN_HORIZON / timedelta(hours=1):  # also NaN; inf would overflow
        raise InvalidInput(
            FieldError.of(
                "--valid-hours",
                message(
                    "alerts.valid_hours",
                    "must be more than 0 and at most two years, got {hours}",
                    hours=f"{valid_hours:g}",
                ),
            )
        )
    raw: dict[str, Any] = {
        "partner": partner,
        "priority": priority.lower(),
        "kind": kind.lower(),
        "text": text,
        "sector": sector,
        "valid_from": now,
        "valid_until": now + timedelta(hours=valid_hours),
        "incident_ids": incident or [],
        "tlp": tlp.lower(),
    }
    if lon is not None or lat is not None:
        raw["location"] = {"lon": lon, "lat": lat}
    try:
        data = AlertIn.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(exc) from None
    s, db = _session_db()
    ports = _ports(db)
    with db.session() as session:
        row = sender.raise_alert(
            session,
            data=data,
            counterpart=ports.counterpart(session, data.partner),
            known_incidents=ports.known_incidents,
            actor=CONSOLE,
            profile=profile_from_settings(s),
            from_side=s.node_side,
            now=now,
        )
        alert_id = row.id
    _wake(db)
    with db.session() as session:
        shown = reading.to_out(reading.get_alert(session, alert_id=alert_id))
    if json_:
        print_json(shown.model_dump(mode="json"))
        return
    _print(shown)
    if shown.delivered_at:
        out.print(f"[green]delivered[/] to {shown.partner} at {shown.delivered_at:%H:%M:%S} UTC")
    else:
        out.print(
            f"[yellow]queued[/]: {shown.partner} did not take it yet; the node's courier "
            "keeps trying ('sarhad federation status' shows the link)"
        )


@app.command("list")
@guarded
def list_(
    direction: Annotated[str | None, typer.Option(help="inbound or outbound")] = None,
    open_: Annotated[bool, typer.Option("--open", help="Only not yet acknowledged")] = False,
    overdue: Annotated[bool, typer.Option(help="Only past their acknowledge deadline")] = False,
    limit: Annotated[int, typer.Option(help="How many (newest first)")] = 50,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Alerts, newest first."""
    try:
        d = Direction(direction) if direction else None
    except ValueError:
        raise InvalidInput(
            FieldError.of("direction", message("alerts.direction", "use inbound or outbound"))
        ) from None
    _s, db = _session_db()
    with db.session() as session:
        rows, _ = reading.list_alerts(
            session, direction=d, open_only=open_, overdue=overdue, limit=limit
        )
        items = [reading.to_out(r) for r in rows]
    if json_:
        print_json([i.model_dump(mode="json") for i in items])
        return
    table = Table("raised (UTC)", "dir", "priority", "kind", "sector", "status", "ack by")
    table.columns.insert(0, Column("id", no_wrap=True, min_width=8))
    for a in items:
        table.add_row(
            a.id[:8],
            f"{a.created_at:%m-%d %H:%M}",
            "→" if a.direction == Direction.OUTBOUND else "←",
            f"[{PRIORITY_STYLE.get(a.priority, '')}]{a.priority}[/]",
            a.kind,
            a.place.sector or "",
            a.status + (" [bold red]overdue[/]" if a.overdue else ""),
            f"{a.ack_by:%H:%M:%S}",
        )
    out.print(table)


def _full_id(db: Database, prefix: str) -> str:
    """Accept the 8-character prefix the list shows."""
    if len(prefix) == 36:
        return prefix
    with db.session() as session:
        return reading.resolve_id(session, prefix=prefix)


@app.command("show")
@guarded
def show(
    alert_id: Annotated[str, typer.Argument(help="Alert id (or its first 8 characters)")],
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """One alert with every step of its life."""
    _s, db = _session_db()
    aid = _full_id(db, alert_id)
    with db.session() as session:
        shown = reading.to_out(
            reading.get_alert(session, alert_id=aid), steps=reading.steps_of(session, alert_id=aid)
        )
    if json_:
        print_json(shown.model_dump(mode="json"))
    else:
        _print(shown)


def _respond(alert_id: str, act: Callable[[Any, str], Any]) -> None:
    _s, db = _session_db()
    aid = _full_id(db, alert_id)
    with db.session() as session:
        act(session, aid)
    _wake(db)
    with db.session() as session:
        _print(reading.to_out(reading.get_alert(session, alert_id=aid)))


@app.command("ack")
@guarded
def ack(alert_id: Annotated[str, typer.Argument(help="Alert id (or prefix)")]) -> None:
    """Acknowledge a partner's alert (the sender is told at once)."""
    _respond(alert_id, lambda s, a: receiver.acknowledge(s, alert_id=a, actor=CONSOLE))


@app.command("answer")
@guarded
def answer(
    alert_id: Annotated[str, typer.Argument(help="Alert id (or prefix)")],
    answer_: Annotated[
        str, typer.Option("--answer", help="accepted, declined or information_provided")
    ],
    text: Annotated[str | None, typer.Option(help="Reason or information")] = None,
) -> None:
    """Answer a partner's alert."""
    try:
        data = AnswerIn.model_validate({"answer": answer_.lower(), "text": text})
    except ValidationError as exc:
        raise _invalid(exc) from None
    _respond(alert_id, lambda s, a: receiver.answer(s, alert_id=a, data=data, actor=CONSOLE))


@app.command("withdraw")
@guarded
def withdraw(
    alert_id: Annotated[str, typer.Argument(help="Alert id (or prefix)")],
    reason: Annotated[str, typer.Option(help="Why it no longer holds")],
) -> None:
    """Withdraw one of our alerts."""
    try:
        data = WithdrawIn(reason=reason)
    except ValidationError as exc:
        raise _invalid(exc) from None
    _respond(alert_id, lambda s, a: sender.withdraw(s, alert_id=a, data=data, actor=CONSOLE))


@app.command("escalate")
@guarded
def escalate() -> None:
    """Escalate overdue alerts now (``serve`` does this by itself every few seconds)."""
    _s, db = _session_db()
    ids = deadlines.run_escalation(db)
    out.print(
        f"{len(ids)} alert(s) escalated" + (": " + ", ".join(i[:8] for i in ids) if ids else "")
    )


@app.command("stats")
@guarded
def stats(
    month: Annotated[str | None, typer.Option(help="YYYY-MM (default: every month)")] = None,
    side: Annotated[str | None, typer.Option(help="Sending side, e.g. PK")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    csv_: Annotated[bool, typer.Option("--csv", help="Print CSV")] = False,
) -> None:
    """Per month and sending side: sent, time to acknowledge and to answer, share in time."""
    _s, db = _session_db()
    with db.session() as session:
        rows = metrics.alert_stats(session, month=month, side=side)
    if json_:
        print_json(metrics.stats_rows(rows))
        return
    if csv_:
        typer.echo(metrics.stats_csv(rows), nl=False)
        return
    table = Table(
        "month",
        "side",
        "sent",
        "ack p50",
        "ack p90",
        "answer p50",
        "answer p90",
        "in time",
        "pending",
        title="Alerts by month and sending side (minutes)",
        caption="in time: share answered by the deadline; pending alerts (unanswered, "
        "deadline still ahead) are left out of it and counted apart",
    )
    for r in metrics.stats_rows(rows):
        share = r["in_time_share"]
        table.add_row(
            str(r["month"]),
            str(r["side"]),
            str(r["sent"]),
            *(
                _minutes(r[k])
                for k in ("ack_p50_min", "ack_p90_min", "answer_p50_min", "answer_p90_min")
            ),
            "–" if share is None else f"{float(share):.0%}",  # type: ignore[arg-type]
            str(r["pending"]),
        )
    out.print(table)


def _minutes(value: object) -> str:
    return "–" if value is None else f"{value}"


# --- watch -----------------------------------------------------------------------------


def _line(event: dict[str, Any]) -> str:
    s = event.get("summary") or {}
    at = str(event.get("at", ""))[11:19]
    if event.get("entity") == "alert":
        style = PRIORITY_STYLE.get(str(s.get("priority")), "")
        arrow = "→" if s.get("direction") == Direction.OUTBOUND else "←"
        return (
            f"{at} [{style}]{str(s.get('priority', '?')).upper():9}[/] alert {arrow} "
            f"{s.get('partner', '?')} [bold]{event.get('op')}[/] {s.get('kind', '')} "
            f"{s.get('sector') or ''} ({s.get('status', '')}) {s.get('text', '')[:80]}"
        )
    return (
        f"{at} incident  [bold]{event.get('op')}[/] {s.get('category', '')} "
        f"{s.get('sector') or ''} {s.get('status', '')} {s.get('title', '')[:80]}"
    )


def _local_events(db: Database, after: int | None, poll_s: float) -> Iterator[dict[str, Any]]:
    sources = console.provided(FeedSources, db)
    with db.session() as session:
        position = head(session) if after is None else after
    while True:
        with db.session() as session:
            events, position = fetch(session, after=position, sources=sources)
        yield from (e.as_dict() for e in events)
        if not events:
            time.sleep(poll_s)
            yield {}  # a tick, so the caller can stop between polls


def _remote_events(
    url: str, token: str, after: int | None, entities: str | None
) -> Iterator[dict[str, Any]]:
    """Read the node's SSE feed; reconnect with Last-Event-ID after a drop."""
    last = after
    delay = 1.0
    while True:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last is not None:
            headers["Last-Event-ID"] = str(last)
        params = {"entities": entities} if entities else {}
        try:
            with httpx.stream(
                "GET",
                url.rstrip("/") + "/api/v1/feed",
                headers=headers,
                params=params,
                timeout=httpx.Timeout(10.0, read=30.0),
            ) as r:
                if r.status_code >= 400:
                    r.read()
                    raise SarhadError(
                        message(
                            "alerts.node_answered",
                            "the node answered {status}: {body}",
                            status=r.status_code,
                            body=r.text[:200],
                        ),
                        hint=message(
                            "alerts.node_answered.hint",
                            "check --url and --token (a token with alerts:read)",
                        ),
                    )
                delay = 1.0
                data: list[str] = []
                for line in r.iter_lines():
                    if line.startswith("data:"):
                        data.append(line[5:].strip())
                    elif line.startswith("id:"):
                        last = int(line[3:].strip())
                    elif line == "" and data:
                        yield json.loads("\n".join(data))
                        data = []
                    elif line.startswith(":"):
                        yield {}
        except httpx.TransportError as exc:
            out.print(f"[yellow]feed lost ({type(exc).__name__}); reconnecting in {delay:g} s[/]")
            yield {}
            time.sleep(delay)
            delay = min(delay * 2, 30.0)


@app.command("watch")
@guarded
def watch(
    url: Annotated[
        str | None, typer.Option(help="A node's base URL (default: read this node's database)")
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="SARHAD_TOKEN", help="API token for --url")
    ] = None,
    after: Annotated[
        int | None, typer.Option(help="Start after this change number (default: from now)")
    ] = None,
    entities: Annotated[str | None, typer.Option(help="alert, incident or both")] = None,
    max_events: Annotated[
        int | None, typer.Option(help="Stop after this many events (default: run until Ctrl-C)")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: never)")
    ] = None,
) -> None:
    """Show new and changed alerts and incidents live, as they happen (Ctrl-C to stop)."""
    if url:
        if not token:
            raise InvalidInput(
                FieldError.of(
                    "token", message("alerts.give_token", "give --token or set SARHAD_TOKEN")
                )
            )
        stream = _remote_events(url, token, after, entities)
        where = url
    else:
        _s, db = _session_db()
        stream = _local_events(db, after, 0.5)
        where = "this node"
    wanted = {e.strip() for e in entities.split(",")} if entities else None
    out.print(f"[dim]watching {where} (Ctrl-C to stop)[/]")
    seen, started = 0, time.monotonic()
    try:
        for event in stream:
            if timeout is not None and time.monotonic() - started > timeout:
                break
            if not event or (wanted and event.get("entity") not in wanted):
                continue
            if (event.get("summary") or {}).get("priority") == "flash":
                out.bell()  # the audible cue the desk expects for flash traffic
            out.print(_line(event), highlight=False)
            seen += 1
            if max_events is not None and seen >= max_events:
                break
    except KeyboardInterrupt:
        pass
