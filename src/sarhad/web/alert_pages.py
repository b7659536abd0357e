"""Alert pages: inbox and outbox with live deadlines, the live feed, acknowledge, answer and
withdraw; and the form that raises an alert to a partner.

The page is rendered from the alerts room's service functions; ``static/js/alerts.js`` then
follows the live feed (``/api/v1/feed?entities=alert``, from the change number the page was
rendered at, so nothing between the two is lost) and acknowledges, answers and withdraws
through the JSON API. The strings the script needs are handed over in the page's ``#i18n``
block. The raise form (``/alerts/new``) is plain HTML and works without the script.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from sarhad.alerts import reading as alerts
from sarhad.alerts import sender
from sarhad.alerts.models import Alert
from sarhad.alerts.ports import AlertPorts
from sarhad.alerts.schemas import AlertOut
from sarhad.alerts.taxonomy import Answer, Direction, Kind, Priority
from sarhad.border.api import BorderNode, node
from sarhad.core.auth import Permission
from sarhad.core.db import utcnow
from sarhad.core.errors import Conflict, InvalidInput, NotFound
from sarhad.core.feed import head
from sarhad.core.i18n import Text
from sarhad.core.markings import TLP, offerable
from sarhad.crossings.notify import closure_text
from sarhad.sharing import service as sharing
from sarhad.web import alert_forms, auth, i18n, incident_forms
from sarhad.web.i18n import N_
from sarhad.web.incident_pages import form_values
from sarhad.web.labels import LABELS
from sarhad.web.pages import PAGE_SIZE, PageForbidden, check_csrf, page_user, places_of, render

router = APIRouter(include_in_schema=False)

#: Answers the API refuses without a text (AnswerIn): the form marks the text as required.
NEEDS_TEXT = frozenset({Answer.DECLINED, Answer.INFORMATION_PROVIDED})

ANSWERS = {
    Answer.ACCEPTED: N_("Accepted"),
    Answer.DECLINED: N_("Declined"),
    Answer.INFORMATION_PROVIDED: N_("Information provided"),
}

#: Strings of alerts.js (and of app.js's countdowns), by key; English is the fallback there.
SCRIPT_STRINGS = {
    "unit_d": N_("d"),
    "unit_h": N_("h"),
    "unit_min": N_("min"),
    "unit_s": N_("s"),
    "overdue_by": N_("overdue by {time}"),
    "time_left": N_("{time} left"),
    "overdue": N_("Overdue"),
    "level": N_("Level {level}"),
    "not_escalated": N_("Not escalated"),
    "next_escalation": N_("next"),
    "acknowledge": N_("Acknowledge"),
    "answer": N_("Answer"),
    "withdraw": N_("Withdraw"),
    "flash_from": N_("Flash alert from {partner}: {text}"),
    "live_open": N_("Live: new alerts and answers appear here."),
    "live_lost": N_("Live feed interrupted; reconnecting…"),
    "failed": N_("Could not save: {error}"),
}


def _strings(lang: str, places: dict[str, Any]) -> dict[str, str]:
    """The translated strings alerts.js needs to draw a row like the server does."""
    tr = i18n.gettext_for(lang)
    strings = {key: tr(text) for key, text in SCRIPT_STRINGS.items()}
    for group, prefix in (
        ("priority", "priority_"),
        ("alert_kind", "kind_"),
        ("alert_status", "status_"),
    ):
        strings.update({prefix + k: tr(v) for k, v in LABELS[group].items()})
    strings.update({f"answer_{a.value}": tr(label) for a, label in ANSWERS.items()})
    strings.update({f"place_{pid}": place.name(lang) for pid, place in places.items()})
    return strings


def actions(alert: AlertOut, *, can_respond: bool, can_raise: bool = False) -> dict[str, bool]:
    """Which buttons a row offers (the API decides again on the click): acknowledge and answer
    a partner's alert; withdraw one of ours."""
    open_ = can_respond and alert.direction == Direction.INBOUND and not alert.withdrawn_at
    return {
        "acknowledge": open_ and alert.acknowledged_at is None,
        "answer": open_ and alert.answered_at is None,
        "withdraw": (
            can_raise and alert.direction == Direction.OUTBOUND and alert.withdrawn_at is None
        ),
    }


def alert_text(alert: Any, *, lang: str, places: dict[str, Any]) -> tuple[str, str] | None:
    """A closure alert written by a node (ours or the partner's) in ``lang``, with its place's
    name in ``lang``, and the declaration's note as written; None for a text someone typed."""
    if alert.kind != "crossing_closure":
        return None
    found = closure_text(alert.text)
    if found is None:
        return None
    text, note = found
    place = places.get(str(text.params.get("place_id")))
    if place is not None:
        text = Text(text.code, {**text.params, "place": place.name(lang)})
    return text.in_(lang), note


BOXES = {"inbox": Direction.INBOUND, "outbox": Direction.OUTBOUND}


@router.get("/alerts/{alert_id}/words")
def alert_words(
    request: Request,
    user: Annotated[auth.WebUser, Depends(page_user("/alerts"))],
    alert_id: str,
) -> JSONResponse:
    """The text of a closure alert a node wrote, in the page's language, for a row alerts.js
    draws live (the same wording as the page: ``alert_text``); ``text`` is null for a text
    someone typed, which is shown as written."""
    n: BorderNode = node(request)
    lang, _ = i18n.choose(request)
    with n.db.session() as session:
        row = alerts.get_alert(session, alert_id=alert_id)
        worded = alert_text(row, lang=lang, places=places_of(n))
    text, note = worded if worded is not None else (None, None)
    return JSONResponse({"text": text, "note": note or None})


def _box_page(
    session: Session, direction: Direction, cursor: str | None, *, open_only: bool, now: datetime
) -> tuple[list[Alert], str | None, bool]:
    """One page of a box: (alerts, next cursor, whether the cursor was honoured)."""
    try:
        rows, nxt = alerts.list_alerts(
            session, direction=direction, open_only=open_only, limit=PAGE_SIZE,
            cursor=cursor, now=now,
        )  # fmt: skip
        return rows, nxt, cursor is not None
    except InvalidInput:
        # A stale or edited link: show the newest page rather than an error page.
        rows, nxt = alerts.list_alerts(
            session, direction=direction, open_only=open_only, limit=PAGE_SIZE, now=now
        )
        return rows, nxt, False


@router.get("/alerts", response_class=HTMLResponse)
def alert_lists(
    request: Request,
    user: Annotated[auth.WebUser, Depends(page_user("/alerts"))],
    open_only: Annotated[bool, Query(alias="open")] = False,
    inbox: str | None = None,
    outbox: str | None = None,
    raised: str | None = None,
) -> HTMLResponse:
    """Inbox and outbox, newest first, a page each (``inbox``/``outbox``: a box's cursor),
    with deadlines for the live countdown; ``open``: only alerts not yet acknowledged;
    ``raised``: the alert the raise form just stored (a notice names its partner)."""
    n: BorderNode = node(request)
    lang, _ = i18n.choose(request)
    now = utcnow()
    cursors = {"inbox": inbox, "outbox": outbox}
    boxes: dict[str, list[AlertOut]] = {}
    older: dict[str, str | None] = {}
    paged: dict[str, bool] = {}
    with n.db.session() as session:
        # Read the feed position first: a change after it reaches the page by the feed.
        seq = head(session)
        for box, direction in BOXES.items():
            rows, nxt, paged[box] = _box_page(
                session, direction, cursors[box], open_only=open_only, now=now
            )
            boxes[box] = [alerts.to_out(a, now=now) for a in rows]
            # The other box keeps its page; this one moves on.
            keep = [("open", "1")] if open_only else []
            keep += [(b, c) for b, c in cursors.items() if b != box and c]
            older[box] = f"/alerts?{urlencode([*keep, (box, nxt)])}" if nxt else None
        just_raised = _raised(session, raised)
    newest = {
        box: "/alerts?" + urlencode([("open", "1")] if open_only else []) if paged[box] else None
        for box in BOXES
    }
    can_respond = user.principal.can(Permission.ALERTS_RESPOND)
    can_raise = user.principal.can(Permission.ALERTS_RAISE)
    places = places_of(n)
    strings = _strings(lang, places)
    return render(
        request,
        "alerts.html",
        user=user,
        boxes=boxes,
        older=older,
        newest=newest,
        paged=paged,
        open_only=open_only,
        places=places,
        alert_text=functools.partial(alert_text, lang=lang, places=places),
        can_respond=can_respond,
        can_raise=can_raise,
        raised=just_raised,
        actions=lambda a: actions(a, can_respond=can_respond, can_raise=can_raise),
        answers=[(a.value, label, a in NEEDS_TEXT) for a, label in ANSWERS.items()],
        strings=strings,
        feed_url=f"/api/v1/feed?entities=alert&after={seq}",
        i18n_json=json.dumps(strings, ensure_ascii=False).replace("<", "\\u003c"),
    )


def _raised(session: Session, alert_id: str | None) -> AlertOut | None:
    """The alert a ``?raised=`` link names, if it is one of ours (else no notice)."""
    if not alert_id:
        return None
    try:
        row = alerts.get_alert(session, alert_id=alert_id)
    except NotFound:
        return None
    return alerts.to_out(row) if row.direction == Direction.OUTBOUND else None


# --- raising an alert ----------------------------------------------------------------------


def _raiser(user: auth.WebUser) -> auth.WebUser:
    if not user.principal.can(Permission.ALERTS_RAISE):
        raise PageForbidden(user, N_("Your role may not raise or withdraw alerts."))
    return user


def _partners(n: BorderNode) -> list[dict[str, Any]]:
    """The active partners an alert may go to, each with the highest TLP its agreement allows."""
    with n.db.session() as session:
        return [
            {
                "name": p.name,
                "country": p.country,
                "max_tlp": TLP(sharing.get_agreement(session, partner=p).max_tlp),
            }
            for p in sharing.list_partners(session)
            if p.active
        ]


def _tlps(partners: list[dict[str, Any]]) -> list[str]:
    """The TLP levels to offer: what may go under the most permissive agreement (never RED)."""
    top = max((p["max_tlp"] for p in partners), key=lambda t: t.rank, default=None)
    return [t.value for t in offerable(top)]


def _raise_page(
    request: Request,
    user: auth.WebUser,
    *,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    n: BorderNode = node(request)
    partners = _partners(n)
    tlps = _tlps(partners)
    if values.get("tlp") not in tlps:
        # AMBER unless no agreement allows it. A level not offered (RED, sent by hand) keeps
        # its error but is not shown as the list's first, least restrictive, entry.
        values["tlp"] = "amber" if "amber" in tlps else tlps[-1]
    if len(partners) == 1:
        values.setdefault("partner", partners[0]["name"])
    return render(
        request,
        "alert_form.html",
        user=user,
        status_code=status_code,
        values=values,
        errors=errors or {},
        error=error,
        partners=partners,
        priorities=[p.value for p in Priority],
        kinds=[k.value for k in Kind],
        sectors=n.profile.sectors,
        zones=list(incident_forms.zones(n.profile)),
        zone_names=incident_forms.zone_names(n.profile),
        tlps=tlps,
    )


@router.get("/alerts/new", response_class=HTMLResponse)
def new_alert_form(
    request: Request,
    user: Annotated[auth.WebUser, Depends(page_user("/alerts"))],
    incident: str | None = None,
) -> HTMLResponse:
    """An empty form (``incident``: the record it is about, from its page's link)."""
    _raiser(user)
    n: BorderNode = node(request)
    side = n.settings.node_side
    values = {
        # The time is read as the officer's clock shows it unless another zone is chosen.
        "zone": side if side in n.profile.sides else "UTC",
        "incident_ids": incident or "",
    }
    return _raise_page(request, user, values=values)


@router.post("/alerts/new", response_class=HTMLResponse)
def raise_alert(
    request: Request,
    user: Annotated[auth.WebUser, Depends(page_user("/alerts"))],
    values: Annotated[dict[str, str], Depends(form_values)],
) -> Response:
    """Store the alert and push it to the partner at once, as the API does; then show the
    alerts page with a notice. Or the form again, its values kept, with errors by field."""
    check_csrf(request, user, values.get("csrf_token"))
    _raiser(user)
    n: BorderNode = node(request)
    data, errors = alert_forms.parse(values, n.profile)
    error = None
    if data is not None:
        p = n.port(AlertPorts)
        try:
            with n.db.session() as session:
                row = sender.raise_alert(
                    session,
                    data=data,
                    counterpart=p.counterpart(session, data.partner),
                    known_incidents=p.known_incidents,
                    actor=user.principal,
                    profile=n.profile,
                    from_side=n.settings.node_side,
                )
                alert_id = row.id
        except InvalidInput as exc:
            errors = alert_forms.service_errors(exc)
        except Conflict as exc:  # e.g. the partner was made inactive meanwhile
            error = exc.message
        else:
            n.wake()  # after the commit: the courier sends it now, not at its next poll
            return RedirectResponse(f"/alerts?{urlencode({'raised': alert_id})}", status_code=303)
    return _raise_page(request, user, values=values, errors=errors, error=error, status_code=422)
