"""Partner and agreement routes under /api/v1/partners: for liaison officers, never partners.

Reads need ``sharing:read`` (liaison, analyst, admin); writes need ``sharing:manage`` (liaison,
admin). A partner node's own token has neither: it reaches the TAXII routes only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from sarhad.border.api import node
from sarhad.core.api import require, responses
from sarhad.core.auth import Permission, Principal
from sarhad.core.idempotency import Idempotent
from sarhad.core.params import StrictBody
from sarhad.sharing import service
from sarhad.sharing.preview import preview as build_preview
from sarhad.sharing.schemas import (
    AgreementIn,
    AgreementOut,
    PartnerCreated,
    PartnerIn,
    PartnerOut,
    PartnerUpdate,
    PreviewOut,
)

router = APIRouter(prefix="/partners", tags=["sharing"])

Reader = Annotated[Principal, Depends(require(Permission.SHARING_READ))]
Manager = Annotated[Principal, Depends(require(Permission.SHARING_MANAGE))]


@router.get("", response_model=list[PartnerOut])
def list_(request: Request, actor: Reader) -> list[PartnerOut]:
    """Every partner node, by name."""
    with node(request).db.session() as session:
        return [service.partner_out(session, p) for p in service.list_partners(session)]


@router.post("", status_code=201, response_model=PartnerCreated, responses=responses(400, 409, 422))
def create(
    request: Request, data: StrictBody[PartnerIn], actor: Manager, idem: Idempotent
) -> PartnerCreated:
    """Register a partner node with a default agreement; returns its token, shown this once.

    With an ``Idempotency-Key``, a retry gets the same token again: the stored reply is
    sealed with the node key, as it holds a secret.
    """
    with node(request).db.session() as session:
        partner, token = service.add_partner(session, **data.model_dump(), actor=actor)
        agreement = service.get_agreement(session, partner=partner)
        out = PartnerCreated(
            partner=service.partner_out(session, partner),
            token=token,
            agreement=service.agreement_out(agreement, partner),
        )
        idem.keep(session, out, secret=True)
        return out


@router.get("/{name}", response_model=PartnerOut, responses=responses(404))
def read(request: Request, name: str, actor: Reader) -> PartnerOut:
    """One partner (whether we hold a token for it is shown, the token never)."""
    with node(request).db.session() as session:
        return service.partner_out(session, service.get_partner(session, name=name))


@router.patch("/{name}", response_model=PartnerOut, responses=responses(400, 404, 422))
def update(
    request: Request, name: str, changes: StrictBody[PartnerUpdate], actor: Manager
) -> PartnerOut:
    """Change a partner's URL, our token for it, its key, node id or active flag."""
    with node(request).db.session() as session:
        partner = service.update_partner(session, name=name, changes=changes, actor=actor)
        return service.partner_out(session, partner)


@router.get("/{name}/agreement", response_model=AgreementOut, responses=responses(404))
def read_agreement(request: Request, name: str, actor: Reader) -> AgreementOut:
    """The current agreement with a partner."""
    with node(request).db.session() as session:
        partner = service.get_partner(session, name=name)
        return service.agreement_out(service.get_agreement(session, partner=partner), partner)


@router.put("/{name}/agreement", response_model=AgreementOut, responses=responses(400, 404, 422))
def set_agreement(
    request: Request, name: str, changes: StrictBody[AgreementIn], actor: Manager
) -> AgreementOut:
    """Change the agreement: fields left out stay as they are; each change bumps the version."""
    n = node(request)
    with n.db.session() as session:
        partner = service.get_partner(session, name=name)
        agreement = service.set_agreement(
            session, partner=partner, changes=changes, actor=actor, profile=n.profile
        )
        return service.agreement_out(agreement, partner)


@router.get("/{name}/preview", response_model=PreviewOut, responses=responses(404, 422))
def preview(
    request: Request,
    name: str,
    actor: Reader,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> PreviewOut:
    """The newest incidents as this partner would receive them, what is withheld and why."""
    with node(request).db.session() as session:
        return build_preview(session, partner=name, limit=limit)
