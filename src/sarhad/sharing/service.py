"""Partner and agreement service functions: keyword-only, given a session.

Every write takes the node's write lock first and goes to the change log and the audit log
(entities ``partner`` and ``agreement``), so who changed which sharing rule is on record.
"""

from __future__ import annotations

import uuid
from datetime import UTC
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sarhad.alerts.ports import Counterpart
from sarhad.alerts.schemas import DeadlineTerms, default_deadlines
from sarhad.border import BorderProfile
from sarhad.core.auth import Permission, Principal, Role, User, add_user, issue_token
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    from_validation,
    with_hint,
)
from sarhad.core.i18n import message
from sarhad.core.journal import ChangeLog, record
from sarhad.core.markings import TLP
from sarhad.core.sealing import seal, unseal
from sarhad.sharing import keys
from sarhad.sharing.models import Agreement, Partner
from sarhad.sharing.policy import DEFAULT_STATUSES, Terms
from sarhad.sharing.schemas import (
    AgreementIn,
    AgreementOut,
    PartnerIn,
    PartnerOut,
    PartnerUpdate,
)

ACCOUNT_PREFIX = "partner-"


def invalid(exc: ValidationError) -> InvalidInput:
    """Pydantic's errors as ``InvalidInput`` naming each field (e.g. ``categories.0``)."""
    return from_validation(exc)


def _next_version(session: Session, entity: str, entity_id: str) -> int:
    # Partners have no version column: the change log numbers their changes instead.
    last = session.scalar(
        select(func.max(ChangeLog.version)).where(
            ChangeLog.entity == entity, ChangeLog.entity_id == entity_id
        )
    )
    return (last or 0) + 1


# -- partners --------------------------------------------------------------------------------


def partner_out(session: Session, partner: Partner) -> PartnerOut:
    """The API form of a partner (the token we hold for them is reported as set or not)."""
    account = session.get(User, partner.account_id)
    return PartnerOut(
        id=partner.id,
        name=partner.name,
        country=partner.country,
        node_id=partner.node_id,
        taxii_url=partner.taxii_url,
        remote_token_set=partner.remote_token is not None,
        public_keys=keys.partner_keys_out(session, partner, now=utcnow()),
        account=account.username if account else "",
        active=partner.active,
        created_at=partner.created_at,
    )


def _partner_detail(partner: Partner) -> dict[str, Any]:
    # Never the remote token itself: the audit log is readable by auditors, the token is a secret.
    return {
        "name": partner.name,
        "country": partner.country,
        "node_id": partner.node_id,
        "taxii_url": partner.taxii_url,
        "remote_token_set": partner.remote_token is not None,
        "active": partner.active,
    }


def add_partner(
    session: Session,
    *,
    name: str,
    country: str,
    taxii_url: str | None = None,
    remote_token: str | None = None,
    public_key_pem: str | None = None,
    node_id: str | None = None,
    actor: Principal,
) -> tuple[Partner, str]:
    """Register a partner node, its local account and a default agreement.

    Returns the partner and the first token of its account: shown once, the partner's node
    presents it when it calls our TAXII server. The default agreement shares validated and
    closed records up to TLP:AMBER, withholds sources and forwards nothing from third nodes.
    ``public_key_pem``, when given, becomes the first of the partner's signing keys
    (``keys.trust_key``).
    """
    actor.require(Permission.SHARING_MANAGE)
    try:
        data = PartnerIn(
            name=name,
            country=country,
            taxii_url=taxii_url,
            remote_token=remote_token,
            public_key_pem=public_key_pem,
            node_id=node_id,
        )
    except ValidationError as exc:
        raise invalid(exc) from None
    lock_writes(session)
    if session.scalar(select(Partner.id).where(Partner.name == data.name)):
        raise Conflict(
            message(
                "sharing.partner_exists", "partner {name} exists already", name=repr(data.name)
            ),
            hint=message("sharing.partner_exists.hint", "use 'sarhad partners set'"),
        )
    username = ACCOUNT_PREFIX + data.name
    user = add_user(session, username=username, role=Role.PARTNER, actor=actor.username)
    token = issue_token(session, username=username, name="partner", actor=actor.username)
    now = utcnow()
    partner = Partner(
        id=str(uuid.uuid4()),
        name=data.name,
        country=data.country,
        node_id=data.node_id,
        taxii_url=data.taxii_url,
        remote_token=seal(session, data.remote_token),  # under the write lock: see sealing
        account_id=user.id,
        active=True,
        created_at=now,
    )
    session.add(partner)
    session.flush()
    record(
        session,
        actor=actor.username,
        op="create",
        entity="partner",
        entity_id=partner.id,
        version=1,
        detail={**_partner_detail(partner), "account": username},
    )
    agreement = Agreement(
        id=str(uuid.uuid4()),
        partner_id=partner.id,
        version=1,
        categories=[],
        sectors=[],
        statuses=sorted(DEFAULT_STATUSES),
        max_tlp=TLP.AMBER.value,
        withheld_fields=["sources"],
        release_delay_hours=0.0,
        expires_at=None,
        forward_third_party=False,
        share_crossings=True,
        share_throughput=False,
        created_at=now,
        updated_at=now,
    )
    session.add(agreement)
    session.flush()
    _record_agreement(session, agreement, partner, op="create", actor=actor, changed=[])
    if data.public_key_pem is not None:
        keys.trust_key(session, public_key_pem=data.public_key_pem, partner=partner, actor=actor)
    return partner, token


def remote_token(session: Session, partner: Partner) -> str | None:
    """The token we present to ``partner``, opened (it is stored sealed with the node key)."""
    return unseal(session, partner.remote_token)


def get_partner(session: Session, *, name: str) -> Partner:
    """The partner called ``name``, or ``NotFound``."""
    partner = session.scalar(select(Partner).where(Partner.name == name))
    if partner is None:
        raise NotFound(
            message("sharing.no_partner", "no partner {name}", name=repr(name)),
            hint=message("sharing.no_partner.hint", "list partners with 'sarhad partners list'"),
        )
    return partner


def list_partners(session: Session) -> list[Partner]:
    """Every partner, by name."""
    return list(session.scalars(select(Partner).order_by(Partner.name)))


def partner_for_account(session: Session, *, username: str) -> Partner:
    """The partner whose local account is ``username`` (maps a TAXII caller to its partner)."""
    partner = session.scalar(
        select(Partner).join(User, User.id == Partner.account_id).where(User.username == username)
    )
    if partner is None:
        raise NotFound(
            message(
                "sharing.account_no_partner",
                "account {name} belongs to no partner",
                name=repr(username),
            )
        )
    return partner


def update_partner(
    session: Session, *, name: str, changes: PartnerUpdate, actor: Principal
) -> Partner:
    """Change a partner's URL, the token we present, its node id or active flag; add a key.

    Deactivating a partner also disables its account, so its tokens stop working at once.
    A public key given is added to the partner's keys (``keys.trust_key``): earlier keys stay,
    as what they signed must stay verifiable; a key no longer trusted is revoked instead.
    """
    actor.require(Permission.SHARING_MANAGE)
    lock_writes(session)
    partner = get_partner(session, name=name)
    given = changes.model_fields_set
    mapping = {
        "taxii_url": "taxii_url",
        "remote_token": "remote_token",
        "node_id": "node_id",
        "active": "active",
    }
    changed = []
    if changes.public_key_pem is not None:  # never None when given (PartnerUpdate)
        _, added = keys.trust_key(
            session, public_key_pem=changes.public_key_pem, partner=partner, actor=actor
        )
        if added:
            changed.append("public_key_pem")
    for field_name, column in mapping.items():
        if field_name not in given:
            continue
        new = getattr(changes, field_name)
        if column == "remote_token":
            if remote_token(session, partner) != new:
                partner.remote_token = seal(session, new)  # under the write lock
                changed.append(field_name)
        elif getattr(partner, column) != new:
            setattr(partner, column, new)
            changed.append(field_name)
    if not changed:
        return partner
    if "active" in changed:
        account = session.get(User, partner.account_id)
        if account is not None:
            account.disabled = not partner.active
    session.flush()
    record(
        session,
        actor=actor.username,
        op="update",
        entity="partner",
        entity_id=partner.id,
        version=_next_version(session, "partner", partner.id),
        detail={**_partner_detail(partner), "changed": sorted(changed)},
    )
    return partner


# -- agreements ------------------------------------------------------------------------------


def resolve_partner(session: Session, partner: Partner | str) -> Partner:
    """``partner`` itself, or the partner of that name."""
    return get_partner(session, name=partner) if isinstance(partner, str) else partner


def get_agreement(session: Session, *, partner: Partner | str) -> Agreement:
    """The current agreement with ``partner`` (a ``Partner`` or its name)."""
    p = resolve_partner(session, partner)
    agreement = session.scalar(select(Agreement).where(Agreement.partner_id == p.id))
    if agreement is None:  # add_partner always makes one; only hand-edited databases lack it
        raise NotFound(
            message("sharing.no_agreement", "partner {name} has no agreement", name=repr(p.name)),
            hint=message("sharing.no_agreement.hint", "run 'sarhad agreements set'"),
        )
    return agreement


def agreement_out(agreement: Agreement, partner: Partner) -> AgreementOut:
    """The API form of an agreement."""
    return AgreementOut(
        partner=partner.name,
        version=agreement.version,
        categories=list(agreement.categories),
        sectors=list(agreement.sectors),
        statuses=list(agreement.statuses),
        max_tlp=TLP(agreement.max_tlp),
        withheld_fields=list(agreement.withheld_fields),
        release_delay_hours=agreement.release_delay_hours,
        expires_at=agreement.expires_at,
        forward_third_party=agreement.forward_third_party,
        share_crossings=agreement.share_crossings,
        share_throughput=agreement.share_throughput,
        alert_deadlines=alert_deadlines(agreement),
        created_at=agreement.created_at,
        updated_at=agreement.updated_at,
    )


def _terms_detail(agreement: Agreement) -> dict[str, Any]:
    return {
        "categories": list(agreement.categories),
        "sectors": list(agreement.sectors),
        "statuses": list(agreement.statuses),
        "max_tlp": agreement.max_tlp,
        "withheld_fields": list(agreement.withheld_fields),
        "release_delay_hours": agreement.release_delay_hours,
        "expires_at": agreement.expires_at.isoformat() if agreement.expires_at else None,
        "forward_third_party": agreement.forward_third_party,
        "share_crossings": agreement.share_crossings,
        "share_throughput": agreement.share_throughput,
        "alert_deadlines": _deadlines_json(agreement),
    }


def _record_agreement(
    session: Session,
    agreement: Agreement,
    partner: Partner,
    *,
    op: str,
    actor: Principal,
    changed: list[str],
) -> None:
    record(
        session,
        actor=actor.username,
        op=op,
        entity="agreement",
        entity_id=agreement.id,
        version=agreement.version,
        detail={"partner": partner.name, "changed": changed, "terms": _terms_detail(agreement)},
    )


def check_sectors(sectors: list[str], profile: BorderProfile) -> None:
    """Every sector id must exist on the border profile; the error names ``sectors``."""
    errors = []
    for i, sector_id in enumerate(sectors):
        try:
            profile.sector(sector_id)
        except NotFound as exc:
            errors.append(FieldError.of(f"sectors.{i}", with_hint(exc)))
    if errors:
        raise InvalidInput(errors)


def set_agreement(
    session: Session,
    *,
    partner: Partner | str,
    changes: AgreementIn,
    actor: Principal,
    profile: BorderProfile | None = None,
) -> Agreement:
    """Change the agreement with ``partner``; fields not given stay. Bumps the version.

    With ``profile``, sector ids are checked against the border (routes and CLI pass it).
    An edit that changes nothing makes no new version and no log entry.
    """
    actor.require(Permission.SHARING_MANAGE)
    if profile is not None and changes.sectors:
        check_sectors(changes.sectors, profile)
    lock_writes(session)
    p = resolve_partner(session, partner)
    agreement = get_agreement(session, partner=p)
    given = changes.model_fields_set
    new: dict[str, Any] = {}
    for name in ("categories", "sectors", "statuses", "withheld_fields"):
        value = getattr(changes, name)
        if name in given and value is not None:
            new[name] = [str(v) for v in value]
    if "max_tlp" in given and changes.max_tlp is not None:
        new["max_tlp"] = changes.max_tlp.value
    if "release_delay_hours" in given and changes.release_delay_hours is not None:
        new["release_delay_hours"] = float(changes.release_delay_hours)
    for flag in ("forward_third_party", "share_crossings", "share_throughput"):
        if flag in given and getattr(changes, flag) is not None:
            new[flag] = getattr(changes, flag)
    if "alert_deadlines" in given and changes.alert_deadlines:
        merged = _deadlines_json(agreement)
        merged.update({str(p.value): t.model_dump() for p, t in changes.alert_deadlines.items()})
        new["alert_deadlines"] = merged
    if "expires_at" in given:  # explicit null removes the expiry
        new["expires_at"] = changes.expires_at.astimezone(UTC) if changes.expires_at else None
    current = {k: getattr(agreement, k) for k in new}
    if "alert_deadlines" in new:  # compare effective deadlines (null means the defaults)
        current["alert_deadlines"] = _deadlines_json(agreement)
    changed = sorted(k for k, v in new.items() if current[k] != v)
    if not changed:
        return agreement
    for name in changed:
        setattr(agreement, name, new[name])
    agreement.version += 1
    agreement.updated_at = utcnow()
    session.flush()
    _record_agreement(session, agreement, p, op="update", actor=actor, changed=changed)
    return agreement


def terms_of(agreement: Agreement, partner: Partner) -> Terms:
    """The plain terms of a stored agreement, for ``policy.decide``."""
    return Terms(
        partner=partner.name,
        partner_node_id=partner.node_id,
        version=agreement.version,
        categories=frozenset(agreement.categories),
        sectors=frozenset(agreement.sectors),
        statuses=frozenset(agreement.statuses),
        max_tlp=TLP(agreement.max_tlp),
        withheld_fields=frozenset(agreement.withheld_fields),
        release_delay_hours=agreement.release_delay_hours,
        expires_at=agreement.expires_at,
        forward_third_party=agreement.forward_third_party,
        share_crossings=agreement.share_crossings,
        share_throughput=agreement.share_throughput,
    )


def terms_for(session: Session, *, partner: Partner | str) -> Terms:
    """The current terms with ``partner`` (a ``Partner`` or its name)."""
    p = resolve_partner(session, partner)
    return terms_of(get_agreement(session, partner=p), p)


def alert_deadlines(agreement: Agreement) -> dict[str, DeadlineTerms]:
    """The agreement's alert deadlines by priority, defaults filled in."""
    out = default_deadlines()
    for priority, terms in (agreement.alert_deadlines or {}).items():
        if priority in out and isinstance(terms, dict):
            out[priority] = DeadlineTerms.model_validate(terms)
    return out


def _deadlines_json(agreement: Agreement) -> dict[str, Any]:
    return {k: v.model_dump() for k, v in alert_deadlines(agreement).items()}


def alert_counterpart(session: Session, name: str | None) -> Counterpart:
    """A partner as the alerts room needs it; ``None`` names the only active partner."""
    if name is None:
        active = [p for p in list_partners(session) if p.active]
        if len(active) != 1:
            raise InvalidInput(
                FieldError(
                    "partner",
                    message("sharing.name_partner", "name the partner")
                    if active
                    else message("sharing.no_active_partner", "this node has no active partner"),
                ),
                hint=message("sharing.partners_list", "'sarhad partners list' shows them")
                if active
                else message("sharing.partners_add", "'sarhad partners add'"),
            )
        partner = active[0]
    else:
        try:
            partner = get_partner(session, name=name)
        except NotFound as exc:
            raise InvalidInput(FieldError.of("partner", exc.text), hint=exc.hint_text) from None
    agreement = get_agreement(session, partner=partner)
    return Counterpart(
        partner_id=partner.id,
        name=partner.name,
        country=partner.country,
        deadlines=alert_deadlines(agreement),
        max_tlp=TLP(agreement.max_tlp),
        active=partner.active,
    )
