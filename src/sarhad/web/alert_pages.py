"""Alert pages: inbox and outbox with live deadlines, the live feed, acknowledge and answer.

The page is rendered from the alerts room's service functions; ``static/js/alerts.js`` then
follows the live feed (``/api/v1/feed?entities=alert``, from the change number the page was
rendered at, so nothing between the two is lost) and acknowledges and answers through the
JSON API. The strings the script needs are handed over in the page's ``#i18n`` block.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from sarhad.alerts import service as alerts
from sarhad.alerts.schemas import AlertOut
from sarhad.alerts.taxonomy import Answer, Direction
from sarhad.core.api import Node, node
from sarhad.core.auth import Permission
from sarhad.core.db import utcnow
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


@router.get("/alerts", response_class=HTMLResponse)
def alert_lists(
    request: Request, user: Annotated[auth.WebUser, Depends(page_user("/alerts"))]
) -> HTMLResponse:
    """Inbox and outbox, newest first, with deadlines for the live countdown."""
    n: Node = node(request)
    lang, _ = i18n.choose(request)
    now = utcnow()
    with n.db.session() as session:
        # Read the feed position first: a change after it reaches the page by the feed.
        seq = head(session)
        inbox, _more = alerts.list_alerts(
            session, direction=Direction.INBOUND, limit=PAGE_SIZE, now=now
        )
        outbox, _more = alerts.list_alerts(
            session, direction=Direction.OUTBOUND, limit=PAGE_SIZE, now=now
        )
        boxes = {
            "inbox": [alerts.to_out(a, now=now) for a in inbox],
            "outbox": [alerts.to_out(a, now=now) for a in outbox],
        }
    can_respond = user.principal.can(Permission.ALERTS_RESPOND)
    places = places_of(n)
    strings = _strings(lang, places)
    return render(
        request,
        "alerts.html",
        user=user,
        boxes=boxes,
        places=places,
        can_respond=can_respond,
        actions=lambda a: actions(a, can_respond=can_respond),
        answers=[(a.value, label, a in NEEDS_TEXT) for a, label in ANSWERS.items()],
        strings=strings,
        feed_url=f"/api/v1/feed?entities=alert&after={seq}",
        i18n_json=json.dumps(strings, ensure_ascii=False).replace("<", "\\u003c"),
    )
