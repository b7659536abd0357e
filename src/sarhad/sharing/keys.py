"""Signing keys: the public keys of other nodes we trust, and this node's own key ring.

Other nodes' keys live in ``known_keys`` (``KnownKey``): a partner's, registered when the
agreement is made (``sarhad keys trust --partner``, or ``--public-key`` on ``partners add``),
and third nodes' whose records partners forward to us (``sarhad keys trust NODE_ID``), each
after its fingerprint was confirmed by another channel. Later keys of a node arrive in its
key announcements, signed by a key we trust already (``apply_announcement``). A key is never
deleted, only revoked: ``superseded`` keeps what it signed before, ``compromised`` keeps
nothing (``sarhad.core.signing``).

This node's own keys are the ring file in the data folder (``core.signing.SigningKeys``);
``rotate_own`` and ``revoke_own`` change it and put the change in the audit log.

Every change takes the write lock and writes an audit entry (entity ``known_key`` or
``node``), so who trusted which key, and on whose word, is on record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sarhad.core.auth import Permission, Principal
from sarhad.core.db import get_node_id, lock_writes, utcnow
from sarhad.core.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    from_validation,
    reason_of,
)
from sarhad.core.i18n import message
from sarhad.core.journal import audit
from sarhad.core.labels import word
from sarhad.core.signing import (
    DEFAULT_OVERLAP,
    Announced,
    KeyRing,
    Refused,
    Revocation,
    TrustedKey,
    fingerprint_of,
    key_id_of,
    load_public_pem,
    signing_keys,
    verify_announcement,
)
from sarhad.core.times import CLOCK_SKEW
from sarhad.sharing.models import KnownKey, Partner
from sarhad.sharing.schemas import (
    KeyIn,
    KeyRevoke,
    KnownKeyOut,
    OwnKeyOut,
    OwnKeysOut,
    TrustIn,
)

REGISTERED, ANNOUNCEMENT, UPGRADE = "registered", "announcement", "upgrade"
M = TypeVar("M", bound=BaseModel)


# -- reading ------------------------------------------------------------------------------------


def trusted(row: KnownKey) -> TrustedKey:
    """A stored key as ``core.signing`` checks signatures with it."""
    return TrustedKey(
        key_id=row.key_id,
        key=load_public_pem(row.public_key),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        revoked_at=row.revoked_at,
        revocation=None if row.revocation is None else Revocation(row.revocation),
    )


def key_out(row: KnownKey, *, partner: str | None, now: datetime) -> KnownKeyOut:
    """The API form of a stored key, with its fingerprint and its state at ``now``."""
    key = trusted(row)
    return KnownKeyOut(
        key_id=row.key_id,
        fingerprint=key.fingerprint,
        public_key_pem=row.public_key,
        node_id=row.node_id,
        partner=partner,
        label=row.label,
        state=key.state(now),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        revoked_at=row.revoked_at,
        revocation=key.revocation,
        revoked_by=row.revoked_by,
        source=row.source,
        added_by=row.added_by,
        added_at=row.added_at,
    )


def shown(session: Session, row: KnownKey) -> KnownKeyOut:
    """The API form of one stored key, with the name of the partner it belongs to."""
    name = None
    if row.partner_id is not None:
        name = session.scalar(select(Partner.name).where(Partner.id == row.partner_id))
    return key_out(row, partner=name, now=utcnow())


def _partner_keys(partner: Partner) -> Any:
    clause = KnownKey.partner_id == partner.id
    return or_(clause, KnownKey.node_id == partner.node_id) if partner.node_id else clause


def partner_key_rows(session: Session, partner: Partner) -> list[KnownKey]:
    """The keys of ``partner``: those registered for it, and those of its node id."""
    return list(
        session.scalars(select(KnownKey).where(_partner_keys(partner)).order_by(KnownKey.added_at))
    )


def keys_for_partner(session: Session, partner: Partner) -> list[TrustedKey]:
    """The keys that prove something came from ``partner`` (bundles; its own records)."""
    return [trusted(r) for r in partner_key_rows(session, partner)]


def keys_for_node(session: Session, node_id: str) -> list[TrustedKey]:
    """The keys of the node ``node_id``: a record it originated is checked with these,
    whichever partner forwarded it."""
    partners = select(Partner.id).where(Partner.node_id == node_id)
    rows = session.scalars(
        select(KnownKey).where(or_(KnownKey.node_id == node_id, KnownKey.partner_id.in_(partners)))
    )
    return [trusted(r) for r in rows]


def partner_keys_out(session: Session, partner: Partner, *, now: datetime) -> list[KnownKeyOut]:
    """The API form of a partner's keys, oldest first."""
    return [key_out(r, partner=partner.name, now=now) for r in partner_key_rows(session, partner)]


def list_keys(
    session: Session, *, partner: Partner | None = None, node_id: str | None = None
) -> list[KnownKeyOut]:
    """Every known key (or a partner's, or a node's), oldest first."""
    query = select(KnownKey, Partner.name).outerjoin(Partner, Partner.id == KnownKey.partner_id)
    if partner is not None:
        query = query.where(_partner_keys(partner))
    if node_id is not None:
        query = query.where(KnownKey.node_id == node_id)
    now = utcnow()
    rows = session.execute(query.order_by(KnownKey.added_at, KnownKey.key_id)).all()
    return [key_out(row, partner=name, now=now) for row, name in rows]


# -- trusting and revoking ----------------------------------------------------------------------


def _owner(row: KnownKey, partner_name: str | None) -> str:
    if partner_name:
        return f"partner {partner_name}"
    return f"node {row.node_id}" + (f" ({row.label})" if row.label else "")


def _check(model: type[M], data: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc) from None


def trust_key(
    session: Session,
    *,
    public_key_pem: str,
    partner: Partner | None = None,
    node_id: str | None = None,
    label: str | None = None,
    fingerprint: str | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    actor: Principal,
) -> tuple[KnownKey, bool]:
    """Trust a signing key of ``partner`` or of the third node ``node_id``.

    With ``fingerprint`` (as read over the phone), a key whose fingerprint differs is refused.
    Returns the row and whether it is new: registering the same key for the same node again
    changes nothing. A key registered for another node, or revoked, is a ``Conflict``.
    """
    actor.require(Permission.SHARING_MANAGE)
    given = {
        "public_key_pem": public_key_pem,
        "fingerprint": fingerprint,
        "valid_from": valid_from,
        "valid_until": valid_until,
    }
    data: KeyIn
    if partner is None:
        if node_id is None:
            raise InvalidInput(
                FieldError.of("node_id", message("keys.name_owner", "name the partner or the node"))
            )
        third = _check(TrustIn, {**given, "node_id": node_id, "label": label})
        data, node_id, label = third, third.node_id, third.label
    else:
        data = _check(KeyIn, given)
        node_id = partner.node_id
    if data.valid_from and data.valid_until and data.valid_until <= data.valid_from:
        raise InvalidInput(
            FieldError.of(
                "valid_until", message("keys.until_after_from", "must be later than valid_from")
            )
        )
    try:
        key = load_public_pem(data.public_key_pem)
    except ValueError as exc:
        raise InvalidInput(FieldError.of("public_key_pem", reason_of(exc))) from None
    kid = key_id_of(key)
    read_out = None if data.fingerprint is None else "".join(data.fingerprint.split())
    if read_out is not None and read_out != fingerprint_of(key).replace(" ", ""):
        raise InvalidInput(
            FieldError.of(
                "fingerprint",
                message(
                    "keys.wrong_fingerprint",
                    "the key's fingerprint is {fingerprint}, not the one given: "
                    "this is not the key they read out",
                    fingerprint=fingerprint_of(key),
                ),
            ),
            hint=message(
                "keys.wrong_fingerprint.hint",
                "do not trust this key; ask for the key file again by another channel",
            ),
        )
    lock_writes(session)
    row = session.get(KnownKey, kid)
    if row is not None:
        name = session.scalar(select(Partner.name).where(Partner.id == row.partner_id))
        same = (partner is not None and row.partner_id == partner.id) or (
            node_id is not None and row.node_id == node_id
        )
        if not same:
            raise Conflict(
                message(
                    "keys.registered",
                    "key {id} is registered already for {owner}",
                    id=kid,
                    owner=_owner(row, name),
                ),
                hint=message(
                    "keys.registered.hint", "a key belongs to one node: ask for this node's own key"
                ),
            )
        if row.revocation is not None:
            raise Conflict(
                message(
                    "keys.revoked_untrusted",
                    "key {id} was revoked ({revocation}) and is not trusted again",
                    id=kid,
                    revocation=word("revocation", row.revocation),
                ),
                hint=message(
                    "keys.revoked_untrusted.hint",
                    "ask the node for its new key and confirm its fingerprint",
                ),
            )
        return row, False
    row = KnownKey(
        key_id=kid,
        node_id=node_id,
        partner_id=partner.id if partner else None,
        label=label,
        public_key=data.public_key_pem,
        valid_from=_utc(data.valid_from),
        valid_until=_utc(data.valid_until),
        source=REGISTERED,
        added_by=actor.username,
        added_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit(
        session,
        actor=actor.username,
        action="known_key.trust",
        entity="known_key",
        entity_id=kid,
        detail={
            "owner": _owner(row, partner.name if partner else None),
            "node_id": node_id,
            "fingerprint": fingerprint_of(key),
            "source": REGISTERED,
        },
    )
    return row, True


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else at.astimezone(UTC)


def _revocation(reason: Revocation | str, at: datetime | None) -> KeyRevoke:
    data = _check(KeyRevoke, {"reason": reason, "at": at})
    if data.at is not None and data.at > utcnow() + CLOCK_SKEW:
        raise InvalidInput(
            FieldError.of(
                "at", message("keys.revoke_future", "a revocation takes effect now or earlier")
            )
        )
    return data


def revoke_key(
    session: Session,
    *,
    key_id: str,
    reason: Revocation | str,
    at: datetime | None = None,
    partner: Partner | None = None,
    actor: Principal,
) -> KnownKey:
    """Stop trusting a known key from ``at`` (default now); see ``KeyRevoke``.

    With ``partner``, the key must be one of that partner's (the API route under a partner).
    A superseded key may later be revoked as compromised; nothing is revoked twice.
    """
    actor.require(Permission.SHARING_MANAGE)
    data = _revocation(reason, at)
    now = utcnow()
    when = _utc(data.at) or now
    lock_writes(session)
    row = session.get(KnownKey, key_id)
    if row is None or (partner is not None and row not in partner_key_rows(session, partner)):
        raise NotFound(
            message(
                "keys.unknown_of", "no known key {id} of {partner}", id=key_id, partner=partner.name
            )
            if partner
            else message("keys.unknown", "no known key {id}", id=key_id),
            hint=message("keys.list_hint", "'sarhad keys list' shows them"),
        )
    if row.revocation == Revocation.COMPROMISED or row.revocation == data.reason:
        raise Conflict(
            message(
                "keys.revoked_already",
                "key {id} is revoked already ({revocation})",
                id=key_id,
                revocation=word("revocation", row.revocation),
            )
        )
    row.revoked_at = when if row.revoked_at is None else min(when, row.revoked_at)
    row.revocation = data.reason.value
    row.revoked_by = actor.username
    session.flush()
    audit(
        session,
        actor=actor.username,
        action="known_key.revoke",
        entity="known_key",
        entity_id=key_id,
        detail={"reason": data.reason.value, "at": row.revoked_at.isoformat()},
    )
    return row


# -- announcements ------------------------------------------------------------------------------


@dataclass
class Learned:
    """What a node's key announcement changed here (or why it was refused)."""

    added: list[str] = field(default_factory=list)  # key ids now trusted
    revoked: list[str] = field(default_factory=list)
    narrowed: list[str] = field(default_factory=list)  # validity windows shortened
    skipped: list[str] = field(default_factory=list)  # why some keys were not taken
    refused: str | None = None  # the whole announcement was not taken, and why

    @property
    def changed(self) -> bool:
        """Whether anything was stored."""
        return bool(self.added or self.revoked or self.narrowed)


def apply_announcement(
    session: Session,
    doc: Any,
    *,
    partner: Partner | None = None,
    node_id: str | None = None,
    actor: str,
    now: datetime | None = None,
) -> Learned:
    """Take a node's key announcement, checked against keys we trust for that node already.

    The trust comes from the signature, not from the caller (a bundle import, later sync):
    revocations and shortened windows of the node's own keys are always taken, since they
    only take trust away; its new active key (which signed the announcement too) is taken
    unless the announcement declares its own signing key compromised (then the new key is
    confirmed by fingerprint, by another channel). Nothing widens a window or lifts a
    revocation, and nothing changes a key of another node.
    """
    claimed = doc.get("node_id") if isinstance(doc, Mapping) else None
    owner = (partner.node_id if partner else None) or node_id or claimed
    if not isinstance(owner, str):
        return Learned(refused="the announcement names no node")
    keys = keys_for_partner(session, partner) if partner else keys_for_node(session, owner)
    checked = verify_announcement(doc, keys, node_id=owner, now=now)
    if isinstance(checked, Refused):
        return Learned(refused=str(checked))
    lock_writes(session)
    learned = _take(session, checked, partner=partner, actor=actor)
    if learned.changed:
        audit(
            session,
            actor=actor,
            action="known_key.announcement",
            entity="known_key",
            entity_id=checked.signer.key_id,
            detail={
                "node_id": owner,
                "issued_at": checked.issued_at.isoformat(),
                "added": learned.added,
                "revoked": learned.revoked,
                "narrowed": learned.narrowed,
                "skipped": learned.skipped,
            },
        )
    return learned


def _take(session: Session, said: Announced, *, partner: Partner | None, actor: str) -> Learned:
    learned = Learned()
    for key in said.keys:
        row = session.get(KnownKey, key.key_id)
        if row is None:
            if said.signer_compromised:
                learned.skipped.append(f"{key.key_id}: announced by a compromised key")
                continue
            if key.key_id != said.active_key_id:  # only the active key signed it (the proof)
                learned.skipped.append(f"{key.key_id}: comes with its own announcement")
                continue
            session.add(
                KnownKey(
                    key_id=key.key_id,
                    node_id=said.node_id,
                    partner_id=partner.id if partner else None,
                    public_key=key.pem,
                    valid_from=key.valid_from,
                    valid_until=key.valid_until,
                    revoked_at=key.revoked_at,
                    revocation=None if key.revocation is None else key.revocation.value,
                    revoked_by=None if key.revocation is None else f"node {said.node_id}",
                    source=ANNOUNCEMENT,
                    added_by=f"{actor}, announcement signed by {said.signer.key_id}",
                    added_at=utcnow(),
                )
            )
            learned.added.append(key.key_id)
            continue
        # A node speaks for its own keys only: listing another node's key (to revoke it, say)
        # changes nothing.
        if row.node_id != said.node_id and (partner is None or row.partner_id != partner.id):
            learned.skipped.append(f"{key.key_id}: registered here for another node")
            continue
        if key.valid_until is not None and (
            row.valid_until is None or key.valid_until < row.valid_until
        ):
            row.valid_until = key.valid_until
            learned.narrowed.append(key.key_id)
        if key.revocation is not None and (
            row.revocation is None
            or (
                row.revocation == Revocation.SUPERSEDED and key.revocation is Revocation.COMPROMISED
            )
        ):
            assert key.revoked_at is not None
            row.revoked_at = (
                key.revoked_at if row.revoked_at is None else min(key.revoked_at, row.revoked_at)
            )
            row.revocation = key.revocation.value
            row.revoked_by = f"node {said.node_id}, announcement"
            learned.revoked.append(key.key_id)
    session.flush()
    return learned


# -- this node's own keys -----------------------------------------------------------------------


def own_ring(data_dir: Path) -> KeyRing:
    """This node's key ring (made on first use)."""
    return signing_keys(data_dir).ring()


def own_keys_out(session: Session, data_dir: Path) -> OwnKeysOut:
    """This node's keys as the API, the CLI and the console show them."""
    ring = own_ring(data_dir)
    now = utcnow()
    active = ring.active.public.key_id
    return OwnKeysOut(
        node_id=get_node_id(session),
        active_key_id=active,
        keys=[
            OwnKeyOut(
                key_id=k.key_id,
                fingerprint=k.fingerprint,
                public_key_pem=k.pem,
                active=k.key_id == active,
                state=k.state(now),
                valid_from=k.valid_from,
                valid_until=k.valid_until,
                revoked_at=k.revoked_at,
                revocation=k.revocation,
            )
            for k in ring.keys
        ],
    )


def rotate_own(
    session: Session,
    *,
    data_dir: Path,
    overlap: timedelta = DEFAULT_OVERLAP,
    actor: Principal,
) -> KeyRing:
    """Put a new signing key in place (``core.signing.rotate``) and log who did it."""
    actor.require(Permission.SHARING_MANAGE)
    if not timedelta(0) <= overlap <= timedelta(days=30):
        raise InvalidInput(
            FieldError.of(
                "overlap",
                message(
                    "keys.overlap",
                    "between {least} and {days} days ({hours} hours)",
                    least=0,
                    days=30,
                    hours=720,
                ),
            )
        )
    lock_writes(session)
    before = own_ring(data_dir).active.public
    ring = signing_keys(data_dir).rotate(node_id=get_node_id(session), overlap=overlap)
    audit(
        session,
        actor=actor.username,
        action="node.signing_key.rotate",
        entity="node",
        entity_id=ring.active.public.key_id,
        detail={
            "retired": before.key_id,
            "active": ring.active.public.key_id,
            "fingerprint": ring.active.public.fingerprint,
            "overlap_hours": overlap.total_seconds() / 3600,
        },
    )
    return ring


def revoke_own(
    session: Session,
    *,
    data_dir: Path,
    key_id: str,
    reason: Revocation | str,
    at: datetime | None = None,
    actor: Principal,
) -> KeyRing:
    """Revoke one of this node's keys (the active one is replaced first) and log it."""
    actor.require(Permission.SHARING_MANAGE)
    data = _revocation(reason, at)
    lock_writes(session)
    keys = signing_keys(data_dir)
    if keys.ring().key(key_id) is None:
        raise NotFound(
            message("keys.not_ours", "key {id} is not one of this node's keys", id=key_id)
        )
    try:
        ring = keys.revoke(
            key_id, reason=data.reason, node_id=get_node_id(session), at=_utc(data.at)
        )
    except ValueError as exc:
        raise Conflict(reason_of(exc)) from None
    audit(
        session,
        actor=actor.username,
        action="node.signing_key.revoke",
        entity="node",
        entity_id=key_id,
        detail={"reason": data.reason.value, "active": ring.active.public.key_id},
    )
    return ring


def is_own_key(data_dir: Path, key_id: str) -> bool:
    """Whether ``key_id`` names one of this node's keys."""
    return own_ring(data_dir).key(key_id) is not None
