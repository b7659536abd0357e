"""Routes under /api/v1/news: add an article, the review queue, accept or reject a candidate.

Reading the queue needs ``incidents:read``; adding articles ``incidents:import`` or
``incidents:write``; deciding ``incidents:write`` (an accepted candidate is a draft incident).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from sarhad.border.api import node
from sarhad.core.api import require, responses
from sarhad.core.auth import Permission, Principal
from sarhad.core.params import StrictBody, stripped
from sarhad.core.text import FreeText, Inbound, Line
from sarhad.crossings.ports import CrossingPorts
from sarhad.crossings.schemas import DeclarationIn
from sarhad.incidents.schemas import IncidentIn
from sarhad.intake import service

router = APIRouter(prefix="/news", tags=["news"])

Reader = Annotated[Principal, Depends(require(Permission.INCIDENTS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.INCIDENTS_WRITE))]


class ArticleIn(Inbound):
    """An article pasted or posted: its text is kept as the evidence of what is read from it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # The schema says what stripping leaves (stripped()), so a blank title is invalid on paper.
    title: Line = Field(min_length=1, max_length=300, json_schema_extra=stripped())
    outlet: Line = Field(min_length=1, max_length=120, json_schema_extra=stripped())
    published: date
    url: str | None = Field(
        default=None, max_length=1000, pattern=r"^https?://[^\s\x00-\x1f\x7f-\x9f]+$"
    )
    text: FreeText = Field(min_length=20, max_length=100_000, json_schema_extra=stripped(20))


class AddedOut(BaseModel):
    """What adding the article did."""

    article_id: str
    duplicate: bool
    created: list[str]
    joined: list[str]


class RejectIn(Inbound):
    """Why the candidate is not an event to record."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: FreeText = Field(min_length=3, max_length=500, json_schema_extra=stripped(3))


class AcceptIn(BaseModel):
    """Accept as read, or with the analyst's edits: the incident (an incident candidate) or our
    side's declaration (a crossing candidate)."""

    model_config = ConfigDict(extra="forbid")

    incident: IncidentIn | None = None
    declaration: DeclarationIn | None = None


@router.post("/articles", status_code=201, response_model=AddedOut, responses=responses(400, 422))
def add(request: Request, data: StrictBody[ArticleIn], actor: Reader) -> AddedOut:
    """Keep an article and propose a candidate for each event it reports.

    Needs ``incidents:import`` (analysts) or ``incidents:write`` (duty officers): checked by the
    service, which takes either.
    """
    with node(request).db.session() as session:
        added = service.add_article(
            session,
            title=data.title,
            outlet=data.outlet,
            published=data.published,
            url=data.url,
            text=data.text,
            via="api",
            actor=actor,
        )
        return AddedOut(**added.__dict__)


@router.get("/candidates", responses=responses(422))
def queue(
    request: Request,
    _actor: Reader,
    status: Literal["pending", "accepted", "rejected"] = "pending",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """The review queue (oldest first), or the decided candidates."""
    with node(request).db.session() as session:
        rows = service.list_candidates(session, status=status, limit=limit)
        return [service.view(session, r) for r in rows]


@router.get("/candidates/{candidate_id}", responses=responses(404))
def show(request: Request, candidate_id: str, _actor: Reader) -> dict[str, Any]:
    """One candidate with its articles' supporting sentences and incidents it may match."""
    with node(request).db.session() as session:
        return service.view(session, service.get_candidate(session, candidate_id=candidate_id))


@router.get("/articles/{article_id}", responses=responses(404))
def article(request: Request, article_id: str, _actor: Reader) -> dict[str, Any]:
    """An article as it was read (this node only: articles are never shared)."""
    with node(request).db.session() as session:
        a = service.get_article(session, article_id=article_id)
        return {
            "id": a.id,
            "title": a.title,
            "outlet": a.outlet,
            "published": a.published.isoformat(),
            "url": a.url,
            "text": a.text,
        }


@router.post("/candidates/{candidate_id}/accept", responses=responses(400, 404, 409, 422))
def accept(
    request: Request, candidate_id: str, actor: Writer, data: AcceptIn | None = None
) -> dict[str, Any]:
    """Accept: a draft incident with the articles as its sources; a crossing candidate becomes
    our side's declaration (needs ``crossings:declare`` too; partners are alerted as usual)."""
    n = node(request)
    with n.db.session() as session:
        row = service.accept(
            session,
            candidate_id=candidate_id,
            actor=actor,
            profile=n.profile,
            node_side=n.settings.node_side,
            data=data.incident if data else None,
            declared=data.declaration if data else None,
            ports=n.port(CrossingPorts),
        )
        out = service.view(session, row)
    n.wake()
    return out


@router.post("/candidates/{candidate_id}/reject", responses=responses(400, 404, 409, 422))
def reject(
    request: Request, candidate_id: str, data: StrictBody[RejectIn], actor: Writer
) -> dict[str, Any]:
    """Reject with a reason."""
    with node(request).db.session() as session:
        row = service.reject(session, candidate_id=candidate_id, reason=data.reason, actor=actor)
        return service.view(session, row)
