"""Alert pages: inbox and outbox with live deadlines, the live feed, acknowledge and answer.

The page is rendered from the alerts room's service functions; ``static/js/alerts.js`` then
follows the live feed (``/api/v1/feed?entities=alert``, from the change number the page was
rendered at, so nothing between the two is lost) and acknowledges and answers through the
JSON API. The strings the script needs are handed over in the page's ``#i18n`` block.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from sarhad.alerts import service as alerts
from sarhad.alerts.models import Alert
from sarhad.alerts.schemas import AlertOut
from sarhad.alerts.taxonomy import Answer, Direction
from sarhad.core.api import Node, node
from sarhad.core.auth import Permission
from sarhad.core.db import utcnow
from sarhad.core.errors import InvalidInput
from sarhad.core.feed import head
from sarhad.web import auth, i18n
from sarhad.web.i18n import N_
from sarhad.web.labels import LABELS
from sarhad.web.pages import PAGE_SIZE, page_user, places_of, render

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


def actions(alert: AlertOut, *, can_respond: bool) -> dict[str, bool]:
    """Which buttons an inbound alert's row offers (the API decides again on the click)."""
    open_ = can_respond and alert.direction == Direction.INBOUND and not alert.withdrawn_at
    return {
        "acknowledge": open_ and alert.acknowledged_at is None,
        "answer": open_ and alert.answered_at is None,
    }


BOXES = {"inbox": Direction.INBOUND, "outbox": Direction.OUTBOUND}


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
) -> HTMLResponse:
    """Inbox and outbox, newest first, a page each (``inbox``/``outbox``: a box's cursor),
    with deadlines for the live countdown; ``open``: only alerts not yet acknowledged."""
    n: Node = node(request)
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
    newest = {
        box: "/alerts?" + urlencode([("open", "1")] if open_only else []) if paged[box] else None
        for box in BOXES
    }
    can_respond = user.principal.can(Permission.ALERTS_RESPOND)
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
        can_respond=can_respond,
        actions=lambda a: actions(a, can_respond=can_respond),
        answers=[(a.value, label, a in NEEDS_TEXT) for a, label in ANSWERS.items()],
        strings=strings,
        feed_url=f"/api/v1/feed?entities=alert&after={seq}",
        i18n_json=json.dumps(strings, ensure_ascii=False).replace("<", "\\u003c"),
    )
