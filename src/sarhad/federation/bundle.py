"""Air-gap transfer: a signed file of what the agreement allows, verified before it is ingested.

The file is JSON: a header (format, sender, recipient, time, SHA-256 of the objects) signed
with the sending node's Ed25519 key, and a STIX bundle. The recipient checks the signature
against the key it registered for that partner (``sarhad partners set NAME --public-key``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.core.db import utcnow
from sarhad.core.errors import ConfigError, FieldError, InvalidInput
from sarhad.core.json_depth import loads
from sarhad.core.sealing import write_private
from sarhad.federation.identity import LocalNode
from sarhad.federation.models import CollectionObject
from sarhad.federation.publish import publish_partner
from sarhad.federation.store import canonical, collection_id
from sarhad.sharing.models import Partner

FORMAT = "sarhad-bundle/1"
KEY_FILE = "keys/node-ed25519.pem"


def node_key(data_dir: Path) -> Ed25519PrivateKey:
    """This node's signing key, made on first use and kept in the data folder (mode 600)."""
    path = data_dir / KEY_FILE
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"{path} is not an Ed25519 key")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private(path, pem)  # folder 700, file 600 from its first byte, written atomically
    return key


def public_pem(key: Ed25519PrivateKey) -> str:
    """The public half, as PEM text to hand to partners."""
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def load_public_key(pem: str, *, field: str = "public_key") -> Ed25519PublicKey:
    """Parse a partner's public key; a bad one is an input error naming ``field``."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise InvalidInput(FieldError(field, "not a PEM public key")) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput(FieldError(field, "must be an Ed25519 public key"))
    return key


def _digest(objects: list[Any]) -> str:
    return hashlib.sha256(
        json.dumps(objects, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


def export_bundle(
    session: Session, *, partner: Partner, node: LocalNode, key: Ed25519PrivateKey
) -> dict[str, Any]:
    """Every object version the partner may have, as a signed bundle document."""
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
    signature = key.sign(canonical(header).encode())
    return {
        "header": header,
        "signature": base64.b64encode(signature).decode(),
        "bundle": {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects},
    }


@dataclass
class VerifiedBundle:
    """A bundle whose signature and digest checked out."""

    sender_node_id: str
    sender_name: str
    objects: list[Any]


def verify_bundle(document: Any, *, partner: Partner) -> VerifiedBundle:
    """Check format, signature (with the partner's registered key) and digest."""

    def bad(msg: str) -> InvalidInput:
        return InvalidInput(FieldError("bundle", msg), hint="ask the sender for a new export")

    if not isinstance(document, dict) or not isinstance(document.get("header"), dict):
        raise bad("not a Sarhad bundle file")
    header, sig = document["header"], document.get("signature")
    if header.get("format") != FORMAT:
        raise bad(f"format {header.get('format')!r} is not {FORMAT}")
    if not partner.public_key:
        raise InvalidInput(
            FieldError("public_key", f"no public key registered for {partner.name}"),
            hint=f"sarhad partners set {partner.name} --public-key FILE",
        )
    try:
        load_public_key(partner.public_key).verify(
            base64.b64decode(sig or "", validate=True), canonical(header).encode()
        )
    except (InvalidSignature, ValueError) as exc:
        raise bad(f"the signature does not match {partner.name}'s key: refused") from exc
    objects = (document.get("bundle") or {}).get("objects")
    if not isinstance(objects, list) or _digest(objects) != header.get("objects_sha256"):
        raise bad("the objects do not match the signed digest (altered in transit): refused")
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
        raise InvalidInput(FieldError("file", f"{path}: not a readable bundle ({exc})")) from exc
