"""Routes under /api/v1/links: suggested links between a partner's record and ours."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request

from sarhad.core.api import node, require, responses
from sarhad.core.auth import Permission, Principal
from sarhad.incidents import links
from sarhad.incidents.models import IncidentLink

router = APIRouter(prefix="/links", tags=["incidents"])

Reader = Annotated[Principal, Depends(require(Permission.INCIDENTS_READ))]
Decider = Annotated[Principal, Depends(require(Permission.LINKS_DECIDE))]


def _json(link: IncidentLink) -> dict[str, Any]:
    return {
        "id": link.id,
        "local_id": link.local_id,
        "remote_id": link.remote_id,
        "score": link.score,
        "reasons": link.reasons,
        "status": link.status,
        "decided_by": link.decided_by,
        "decided_at": link.decided_at,
    }


@router.get("", responses=responses(422))
def list_(
    request: Request,
    _actor: Reader,
    status: Literal["suggested", "confirmed", "rejected"] | None = None,
    incident: str | None = None,
) -> list[dict[str, Any]]:
    """Links, best first; filter by status or by one incident."""
    with node(request).db.session() as session:
        return [_json(x) for x in links.list_links(session, status=status, incident_id=incident)]


@router.post("/{link_id}/{decision}", responses=responses(404, 409, 422))
def decide(
    request: Request, link_id: str, decision: Literal["confirm", "reject"], actor: Decider
) -> dict[str, Any]:
    """Confirm or reject a suggested link."""
    with node(request).db.session() as session:
        return _json(
            links.decide_link(session, link_id=link_id, confirm=decision == "confirm", actor=actor)
        )
