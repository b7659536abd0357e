"""The links panel of an incident page: the twin, the best candidate and the alternatives,
the partner's decision, and the forms to confirm, reject, undo, accept, contest or link by hand.

Each form posts here and comes back to the incident page (post, redirect, get); a refused
step comes back with its reason as a notice in the page's language.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.border.api import node
from sarhad.core.auth import Permission, Principal
from sarhad.core.errors import SarhadError
from sarhad.core.i18n import Text
from sarhad.incidents import links
from sarhad.incidents.models import Incident, IncidentLink
from sarhad.web import auth
from sarhad.web.i18n import N_
from sarhad.web.incident_pages import form_values
from sarhad.web.pages import check_csrf, page_user

router = APIRouter(include_in_schema=False)

#: What each action is called on the page (shown translated).
ACTIONS = {
    "confirm": N_("Confirm: same event"),
    "reject": N_("Reject: different events"),
    "undo": N_("Undo the decision"),
    "accept": N_("Accept the partner's decision"),
    "contest": N_("Contest the partner's decision"),
}
STATUS = {
    "suggested": N_("Suggested"),
    "confirmed": N_("Confirmed"),
    "rejected": N_("Rejected"),
}
AGREEMENT = {"accepted": N_("Both sides agree"), "contested": N_("The sides disagree")}
NO_ID = N_("Give the id of the other record.")
CANNOT_LINK = N_(
    "These two records cannot be linked: one must be ours and one the partner's, neither "
    "already linked."
)
NO_ACTION = N_("Choose an action shown on the page.")
REFUSED = N_(
    "That decision was refused: the link changed meanwhile, or a record already has its twin."
)
#: Refusals sent back to the incident page: only these are shown there, never free text.
LINK_ERRORS = frozenset({NO_ID, CANNOT_LINK, NO_ACTION, REFUSED})


def _row(link: IncidentLink, incident_id: str, titles: dict[str, str]) -> dict[str, Any]:
    other = link.remote_id if link.local_id == incident_id else link.local_id
    actions = {
        "suggested": ["confirm", "reject"],
        "confirmed": ["undo"],
        "rejected": ["undo"],
    }[link.status]
    if link.partner_status is not None and link.status != link.partner_status:
        actions = [*actions, "accept"]
    if link.partner_status is not None and link.status in ("suggested", link.partner_status):
        actions = [*actions, "contest"]
    return {
        "id": link.id,
        "other": other,
        "other_title": titles.get(other, other),
        "score": link.score,
        # Each reason coded (worded by the template's ``say``), or, for a link stored before
        # the reasons were coded, its English string, shown as such (lang="en").
        "reasons": [{"text": r, "plain": not isinstance(r, Text)} for r in link.reason_texts()],
        "status": link.status,
        "partner_status": link.partner_status,
        "agreement": link.agreement,
        "manual": link.manual,
        "actions": list(dict.fromkeys(actions)),
    }


def link_panel(session: Session, *, incident_id: str, principal: Principal) -> dict[str, Any]:
    """What the incident page shows of the record's links (see incidents.links.candidates_of)."""
    found = links.candidates_of(session, incident_id=incident_id)
    every = [*found.confirmed, *([found.best] if found.best else []), *found.alternatives]
    every += found.rejected
    ids = {x.local_id for x in every} | {x.remote_id for x in every}
    found_titles = session.execute(select(Incident.id, Incident.title).where(Incident.id.in_(ids)))
    titles = {i: t for i, t in found_titles}
    return {
        "confirmed": [_row(x, incident_id, titles) for x in found.confirmed],
        "best": None if found.best is None else _row(found.best, incident_id, titles),
        "alternatives": [_row(x, incident_id, titles) for x in found.alternatives],
        "rejected": [_row(x, incident_id, titles) for x in found.rejected],
        "can_decide": principal.can(Permission.LINKS_DECIDE),
        "actions": ACTIONS,
        "status": STATUS,
        "agreement": AGREEMENT,
    }


def _back(incident_id: str, error: str | None = None) -> Response:
    url = f"/incidents/{quote(incident_id)}#links"
    if error:
        url = f"/incidents/{quote(incident_id)}?link_error={quote(error)}#links"
    return RedirectResponse(url, status_code=303)


@router.post("/incidents/{incident_id}/links")
def link_by_hand(
    request: Request,
    incident_id: str,
    user: Annotated[auth.WebUser, Depends(page_user("/incidents"))],
    values: Annotated[dict[str, str], Depends(form_values)],
) -> Response:
    """Link this record and another (ours and the partner's) by hand."""
    check_csrf(request, user, values.get("csrf_token"))
    other = values.get("other_id", "").strip()
    if not other:
        return _back(incident_id, NO_ID)
    try:
        with node(request).db.session() as session:
            links.link_by_hand(session, local_id=incident_id, remote_id=other, actor=user.principal)
    except SarhadError:
        return _back(incident_id, CANNOT_LINK)
    return _back(incident_id)


@router.post("/incidents/{incident_id}/links/{link_id}/{action}")
def decide(
    request: Request,
    incident_id: str,
    link_id: str,
    action: str,
    user: Annotated[auth.WebUser, Depends(page_user("/incidents"))],
    values: Annotated[dict[str, str], Depends(form_values)],
) -> Response:
    """One decision on a link, then back to the incident."""
    check_csrf(request, user, values.get("csrf_token"))
    if action not in ACTIONS:
        return _back(incident_id, NO_ACTION)
    try:
        with node(request).db.session() as session:
            if action == "undo":
                links.undo_decision(session, link_id=link_id, actor=user.principal)
            elif action in ("accept", "contest"):
                links.answer_partner(
                    session, link_id=link_id, accept=action == "accept", actor=user.principal
                )
            else:
                links.decide_link(
                    session, link_id=link_id, confirm=action == "confirm", actor=user.principal
                )
    except SarhadError:
        return _back(incident_id, REFUSED)
    return _back(incident_id)
