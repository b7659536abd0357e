"""Partner, agreement and key routes under /api/v1/partners and /api/v1/keys: for liaison
officers, never partners.

Reads need ``sharing:read`` (liaison, analyst, admin); writes need ``sharing:manage`` (liaison,
admin). A partner node's own token has neither: it reaches the TAXII routes only. This node's
own keys are rotated and revoked on its host (``sarhad keys rotate|revoke``), not over HTTP.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from sarhad.border.api import node
from sarhad.core.api import caller, require, responses
from sarhad.core.auth import Permission, Principal, allowed
from sarhad.core.db import utcnow
from sarhad.core.errors import NotFound
from sarhad.core.i18n import message
from sarhad.core.idempotency import Idempotent
from sarhad.core.params import StrictBody
from sarhad.sharing import keys, service
from sarhad.sharing.preview import preview as build_preview
from sarhad.sharing.schemas import (
    AgreementIn,
    AgreementOut,
    KeyIn,
    KeyRevoke,
    KnownKeyOut,
    OwnKeysOut,
    PartnerCreated,
    PartnerIn,
    PartnerOut,
    PartnerUpdate,
    PreviewOut,
    TrustIn,
)

router = APIRouter(prefix="/partners", tags=["sharing"])
keys_router = APIRouter(prefix="/keys", tags=["sharing"])
#: Registering a key again for the same node changes nothing and answers 200.
ALREADY = {"model": KnownKeyOut, "description": "The key was trusted already: nothing changed"}

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


@router.patch("/{name}", response_model=PartnerOut, responses=responses(400, 404, 409, 422))
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


# -- signing keys -------------------------------------------------------------------------------


@router.get("/{name}/keys", response_model=list[KnownKeyOut], responses=responses(404))
def partner_keys(request: Request, name: str, actor: Reader) -> list[KnownKeyOut]:
    """The partner's signing keys with their fingerprints, oldest first."""
    with node(request).db.session() as session:
        partner = service.get_partner(session, name=name)
        return keys.partner_keys_out(session, partner, now=utcnow())


@router.post(
    "/{name}/keys",
    status_code=201,
    response_model=KnownKeyOut,
    responses={**responses(400, 404, 409, 422), 200: ALREADY},
)
def add_partner_key(
    request: Request, name: str, data: StrictBody[KeyIn], actor: Manager, response: Response
) -> KnownKeyOut:
    """Trust a signing key of the partner, once its fingerprint was confirmed by phone.

    201 when it is new; 200 when it was registered for this partner already.
    """
    with node(request).db.session() as session:
        partner = service.get_partner(session, name=name)
        row, added = keys.trust_key(session, partner=partner, actor=actor, **data.model_dump())
        if not added:
            response.status_code = 200
        return keys.shown(session, row)


@router.post(
    "/{name}/keys/{key_id}/revoke",
    response_model=KnownKeyOut,
    responses=responses(400, 404, 409, 422),
)
def revoke_partner_key(
    request: Request, name: str, key_id: str, data: StrictBody[KeyRevoke], actor: Manager
) -> KnownKeyOut:
    """Stop trusting one of the partner's keys: superseded (what it signed before stays
    valid) or compromised (nothing it signed is trusted)."""
    with node(request).db.session() as session:
        partner = service.get_partner(session, name=name)
        row = keys.revoke_key(
            session, key_id=key_id, reason=data.reason, at=data.at, partner=partner, actor=actor
        )
        return keys.shown(session, row)


@keys_router.get("", response_model=OwnKeysOut)
def own_keys(request: Request, actor: Reader) -> OwnKeysOut:
    """This node's signing keys: the active one signs; give partners its PEM and fingerprint."""
    n = node(request)
    with n.db.session() as session:
        return keys.own_keys_out(session, n.settings.data_dir)


def _announcement_reader(principal: Annotated[Principal, Depends(caller)]) -> Principal:
    """Staff who read sharing, or a partner node's machine account (TAXII): partners fetch
    the announcement at each sync round, so that a rotation reaches them without an
    operator. It holds public keys only, signed."""
    if not allowed(principal.role, Permission.TAXII_READ):
        principal.require(Permission.SHARING_READ)
    return principal


@keys_router.get("/announcement", responses=responses(404))
def own_announcement(
    request: Request, actor: Annotated[Principal, Depends(_announcement_reader)]
) -> dict[str, Any]:
    """The newest key announcement of this node (made at each rotation or revocation)."""
    ring = keys.own_ring(node(request).settings.data_dir)
    if not ring.announcements:
        raise NotFound(
            message(
                "keys.nothing_to_announce",
                "this node's keys were never rotated or revoked: nothing to announce",
            )
        )
    return ring.announcements[-1]


@keys_router.get("/known", response_model=list[KnownKeyOut], responses=responses(422))
def known_keys(
    request: Request,
    actor: Reader,
    node_id: Annotated[str | None, Query(max_length=36)] = None,
) -> list[KnownKeyOut]:
    """Every signing key of other nodes this node trusts (or has revoked), oldest first."""
    with node(request).db.session() as session:
        return keys.list_keys(session, node_id=node_id)


@keys_router.post(
    "/known",
    status_code=201,
    response_model=KnownKeyOut,
    responses={**responses(400, 409, 422), 200: ALREADY},
)
def trust_node_key(
    request: Request, data: StrictBody[TrustIn], actor: Manager, response: Response
) -> KnownKeyOut:
    """Trust a third node's key (records partners forward from it are checked with it), once
    its fingerprint was confirmed by another channel. 200 when it was trusted already."""
    with node(request).db.session() as session:
        row, added = keys.trust_key(session, actor=actor, **data.model_dump())
        if not added:
            response.status_code = 200
        return keys.shown(session, row)


@keys_router.post(
    "/known/{key_id}/revoke",
    response_model=KnownKeyOut,
    responses=responses(400, 404, 409, 422),
)
def revoke_known_key(
    request: Request, key_id: str, data: StrictBody[KeyRevoke], actor: Manager
) -> KnownKeyOut:
    """Stop trusting a key of another node (see ``KeyRevoke``)."""
    with node(request).db.session() as session:
        row = keys.revoke_key(session, key_id=key_id, reason=data.reason, at=data.at, actor=actor)
        return keys.shown(session, row)
