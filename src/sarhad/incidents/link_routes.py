"""Routes under /api/v1/links: links between a partner's record and ours of one event."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from sarhad.core.api import node, request_language, require, responses
from sarhad.core.auth import Permission, Principal
from sarhad.core.i18n import DEFAULT
from sarhad.incidents import links
from sarhad.incidents.models import IncidentLink

router = APIRouter(prefix="/links", tags=["incidents"])
# One record's links live under the record, so no path under /links/ is both an incident and a
# link: every /links/{id}/{decision} then answers 401/403 before it looks at the id.
record_router = APIRouter(prefix="/incidents", tags=["incidents"])

Reader = Annotated[Principal, Depends(require(Permission.INCIDENTS_READ))]
Decider = Annotated[Principal, Depends(require(Permission.LINKS_DECIDE))]


class LinkIn(BaseModel):
    """A link made by hand: our record and the partner's (either order)."""

    model_config = ConfigDict(extra="forbid")

    local_id: str = Field(min_length=1, max_length=36)
    remote_id: str = Field(min_length=1, max_length=36)


def link_json(link: IncidentLink, lang: str = DEFAULT) -> dict[str, Any]:
    """The API form of a link: its ``reasons`` worded in ``lang`` (the request's language),
    ``reason_codes`` beside them (``{"code", "params"}``; ``error.plain`` for the English
    reasons of a link stored before they were coded)."""
    return {
        "id": link.id,
        "local_id": link.local_id,
        "remote_id": link.remote_id,
        "remote_node_id": link.remote_node_id,
        "score": link.score,
        "reasons": link.reasons_in(lang),
        "reason_codes": link.reason_codes(),
        "status": link.status,
        "manual": link.manual,
        "decided_by": link.decided_by,
        "decided_at": link.decided_at,
        "partner_status": link.partner_status,
        "partner_decided_at": link.partner_decided_at,
        "agreement": link.agreement,
    }


@router.get("", responses=responses(422))
def list_(
    request: Request,
    _actor: Reader,
    status: Literal["suggested", "confirmed", "rejected"] | None = None,
    incident: str | None = None,
) -> list[dict[str, Any]]:
    """Links, best first; filter by status or by one incident."""
    lang = request_language(request)
    with node(request).db.session() as session:
        return [
            link_json(x, lang)
            for x in links.list_links(session, status=status, incident_id=incident)
        ]


@record_router.get("/{incident_id}/links", responses=responses(404, 422))
def of_incident(request: Request, incident_id: str, _actor: Reader) -> dict[str, Any]:
    """One record's links as the officer decides them: twin, best candidate, alternatives."""
    lang = request_language(request)
    with node(request).db.session() as session:
        found = links.candidates_of(session, incident_id=incident_id)
        return {
            "confirmed": [link_json(x, lang) for x in found.confirmed],
            "best": None if found.best is None else link_json(found.best, lang),
            "alternatives": [link_json(x, lang) for x in found.alternatives],
            "rejected": [link_json(x, lang) for x in found.rejected],
        }


@router.post("", status_code=201, responses=responses(400, 404, 409, 422))
def create(request: Request, body: LinkIn, actor: Decider) -> dict[str, Any]:
    """Link our record and a partner's by hand as one event (confirmed at once)."""
    lang = request_language(request)
    with node(request).db.session() as session:
        return link_json(
            links.link_by_hand(
                session, local_id=body.local_id, remote_id=body.remote_id, actor=actor
            ),
            lang,
        )


# The id is checked as a UUID after the role (422), not by the path: a path converter would
# answer 404 to a caller without a token before the token rule.
@router.post("/{link_id}/{decision}", responses=responses(404, 409, 422))
def decide(
    request: Request,
    link_id: uuid.UUID,
    decision: Literal["confirm", "reject", "undo", "accept", "contest"],
    actor: Decider,
) -> dict[str, Any]:
    """Confirm or reject a suggested link, undo a decision, or accept or contest the
    partner's decision on it."""
    lang = request_language(request)
    with node(request).db.session() as session:
        if decision == "undo":
            return link_json(links.undo_decision(session, link_id=str(link_id), actor=actor), lang)
        if decision in ("accept", "contest"):
            return link_json(
                links.answer_partner(
                    session, link_id=str(link_id), accept=decision == "accept", actor=actor
                ),
                lang,
            )
        return link_json(
            links.decide_link(
                session, link_id=str(link_id), confirm=decision == "confirm", actor=actor
            ),
            lang,
        )
