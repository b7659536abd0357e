"""Air-gap transfer: a signed file of what the agreement allows, verified before it is ingested.

The file is JSON: a header (format, sender, recipient, time, SHA-256 of the RFC 8785 form of
the objects) signed with the sending node's active key (``core.signing``: the signature sits
in ``header.signature`` with its key id), the sender's key announcements, and a STIX bundle.
The recipient first takes the announcements (each checked against keys it already trusts for
that partner: so a bundle signed after a rotation verifies), then checks the header against
the partner's keys (``sarhad keys trust --partner NAME``) and the objects against the digest.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.core.db import utcnow
from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import Text, message
from sarhad.core.json_depth import loads
from sarhad.core.signing import (
    KeyRing,
    NotCanonical,
    Reason,
    Refused,
    TrustedKey,
    canonical,
    sign_object,
    verify_object,
)
from sarhad.federation.identity import LocalNode
from sarhad.federation.models import CollectionObject
from sarhad.federation.publish import publish_partner
from sarhad.federation.store import collection_id
from sarhad.sharing.models import Partner

FORMAT = "sarhad-bundle/2"


def _digest(objects: list[Any]) -> str:
    return hashlib.sha256(canonical(objects)).hexdigest()


def export_bundle(
    session: Session, *, partner: Partner, node: LocalNode, ring: KeyRing
) -> dict[str, Any]:
    """Every object version the partner may have, as a bundle document signed by ``ring``."""
    publish_partner(session, node=node, partner=partner)
    payloads = session.scalars(
        select(CollectionObject.payload)
        .where(CollectionObject.collection_id == collection_id(partner.id, "outbound"))
        .order_by(CollectionObject.seq)
    ).all()
    objects = [json.loads(p) for p in payloads]
    header = {
        "format": FORMAT,
        "from": {"node_id": node.node_id, "name": node.name, "country": node.country},
        "to": partner.name,
        "created": utcnow().isoformat(),
        "objects_sha256": _digest(objects),
        "count": len(objects),
    }
    return {
        "header": sign_object(header, ring),
        # Every rotation's announcement, oldest first: a partner that knows only an old key
        # learns each newer one from the one before.
        "key_announcements": list(ring.announcements),
        "bundle": {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects},
    }


@dataclass
class VerifiedBundle:
    """A bundle whose signature and digest checked out."""

    sender_node_id: str
    sender_name: str
    objects: list[Any]


def announcements(document: Any) -> list[Any]:
    """The key announcements a bundle document carries (unchecked: each is verified when it
    is taken, against keys already trusted)."""
    found = document.get("key_announcements") if isinstance(document, dict) else None
    return list(found) if isinstance(found, list) else []


def verify_bundle(document: Any, *, partner: Partner, keys: Iterable[TrustedKey]) -> VerifiedBundle:
    """Check format, the header's signature (with ``keys``, the partner's) and the digest."""

    def bad(msg: Text) -> InvalidInput:
        return InvalidInput(
            FieldError.of("bundle", msg),
            hint=message("bundle.bad.hint", "ask the sender for a new export"),
        )

    if not isinstance(document, dict) or not isinstance(document.get("header"), dict):
        raise bad(message("bundle.not_bundle", "not a Sarhad bundle file"))
    header = document["header"]
    if header.get("format") != FORMAT:
        raise bad(
            message(
                "bundle.format",
                "format {found} is not {format}: the sending node runs another version of Sarhad",
                found=repr(str(header.get("format"))[:40]),
                format=FORMAT,
            )
        )
    keys = list(keys)
    if not keys:
        raise InvalidInput(
            FieldError.of(
                "public_key",
                message(
                    "bundle.no_key", "no public key registered for {partner}", partner=partner.name
                ),
            ),
            hint=message(
                "bundle.no_key.hint",
                "sarhad keys trust --partner {partner} --public-key FILE",
                partner=partner.name,
            ),
        )
    checked = verify_object(header, keys)
    if isinstance(checked, Refused):
        if checked.reason is Reason.BAD_SIGNATURE:
            raise bad(
                message(
                    "bundle.signature_mismatch",
                    "the signature does not match {partner}'s key: refused",
                    partner=partner.name,
                )
            )
        if checked.reason is Reason.UNKNOWN_KEY:
            raise InvalidInput(
                FieldError.of(
                    "bundle",
                    message(
                        "bundle.other_key",
                        "signed with a key that is not {partner}'s ({why})",
                        partner=partner.name,
                        why=checked,
                    ),
                ),
                hint=message(
                    "bundle.other_key.hint",
                    "confirm the partner's new key by phone: sarhad keys trust --partner "
                    "{partner} --public-key FILE",
                    partner=partner.name,
                ),
            )
        raise bad(
            message("bundle.signature_invalid", "the signature is not valid: {why}", why=checked)
        )
    bundle = document.get("bundle")
    objects = bundle.get("objects") if isinstance(bundle, dict) else None
    try:
        digest = _digest(objects) if isinstance(objects, list) else None
    except NotCanonical:
        digest = None
    if not isinstance(objects, list) or digest != header.get("objects_sha256"):
        raise bad(
            message(
                "bundle.digest",
                "the objects do not match the signed digest (altered in transit): refused",
            )
        )
    sender = header.get("from") or {}
    return VerifiedBundle(
        sender_node_id=str(sender.get("node_id")),
        sender_name=str(sender.get("name")),
        objects=objects,
    )


def write_bundle(document: dict[str, Any], path: Path) -> None:
    """Write the bundle file."""
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")


def read_bundle(path: Path) -> Any:
    """Read a bundle file; unreadable files are input errors naming the file."""
    try:
        return loads(path.read_bytes())
    except (OSError, ValueError) as exc:  # ValueError: not JSON, not UTF-8, nested too deep
        raise InvalidInput(
            FieldError.of(
                "file",
                message(
                    "bundle.unreadable", "{path}: not a readable bundle ({why})", path=path, why=exc
                ),
            )
        ) from exc
