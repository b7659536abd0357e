"""Inbound objects from a partner: validate each, store the good, quarantine the bad.

Never trust the partner's bytes: one bad object never stops the good ones, never crashes the
caller, and never leaves half a record. The batch is split by STIX type among the object
types of the registry (``federation.types``), which check, admit and store theirs in registry
order; standard objects no type reads (identities, markings, notes, ...) are checked by the
envelope and kept as receipts. Every object gets exactly one verdict.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from sarhad.border import BorderProfile
from sarhad.core.collector import held_off
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.journal import audit
from sarhad.federation.identity import LocalNode
from sarhad.federation.models import Receipt
from sarhad.federation.stix.core import StixObject
from sarhad.federation.stix.envelope import CONTEXT_TYPES, check_all
from sarhad.federation.types import REGISTRY
from sarhad.federation.types.base import Inbound, IngestReport, payload_of
from sarhad.incidents.models import Incident
from sarhad.sharing import keys as known_keys
from sarhad.sharing.models import KnownKey, Partner

__all__ = ["IngestReport", "ingest", "signature_of"]


# What a batch allocates lives until it is stored and is then freed by reference counting:
# the cyclic collector's walks over it found nothing and cost about a fifth of the ingest's
# CPU time at 100,000 objects (core.collector).
@held_off()
def ingest(
    session: Session,
    *,
    partner: Partner,
    objects: object,
    via: str,
    node: LocalNode,
    profile: BorderProfile,
) -> IngestReport:
    """Validate and store a batch of STIX objects from ``partner``; every receipt is audited."""
    lock_writes(session)
    inn = Inbound(session, partner=partner, via=via, node=node, profile=profile)
    if not isinstance(objects, list):
        inn.refuse(None, "expected a list of STIX objects", "")
        return inn.report
    inn.number(objects)
    claims = REGISTRY.claims()
    mine: dict[str, list[StixObject]] = {t.name: [] for t in REGISTRY}
    rest: list[object] = []
    for obj in objects:
        kind = obj.get("type") if isinstance(obj, dict) else None
        owner = claims.get(kind) if isinstance(kind, str) else None
        if owner is None:
            rest.append(obj)
        else:
            mine[owner.name].append(obj)
    _context(inn, rest)
    # In registry order: a type's objects may name records of the types before it (an alert
    # cites an incident of the same batch).
    for t in REGISTRY:
        if mine[t.name]:
            t.ingest(inn, mine[t.name])
    _write_receipts(inn)
    report = inn.report
    if report.accepted or report.rejected:
        audit(
            session,
            actor=f"partner:{partner.name}",
            action="share.receive",
            entity="partner",
            entity_id=partner.id,
            detail={
                "partner": partner.name,
                "via": via,
                "accepted": [
                    list(k)
                    for k in report.accepted
                    if not k[0].startswith(("location--", "relationship--"))
                ],
                "duplicates": len(report.duplicates),
                "rejected": [[i, r] for i, r in report.rejected],
            },
        )
    return report


def _context(inn: Inbound, objects: list[object]) -> None:
    """Objects no type reads: standard STIX beside the records, or refused with the reason."""
    if not objects:
        return
    checked, rejected = check_all(
        objects, accepted=CONTEXT_TYPES, positions=[inn.position(o) for o in objects]
    )
    for bad in rejected:
        inn.refuse(bad.stix_id, bad.reason, payload_of(objects, bad.stix_id))
    inn.take_as_is([c.obj for c in checked])


def _write_receipts(inn: Inbound) -> None:
    """One receipt per object version taken: the next copy of it is a duplicate."""
    if not inn.receipts:
        return
    at = utcnow()
    inn.session.execute(
        insert(cast(Table, Receipt.__table__)),  # Core executemany: no ORM bookkeeping
        [
            {
                "stix_id": key[0],
                "modified": key[1],
                "partner_id": inn.partner.id,
                "via": inn.via,
                "received_at": at,
                "original": original,
                "signed_key_id": inn.signed.get(key),
            }
            for key, original in inn.receipts.items()
        ],
    )


def signature_of(session: Session, incident_id: str) -> dict[str, Any] | None:
    """Whether the latest version we received of a record came signed, by which node and key.

    ``{"signed": true, "node_id", "node", "key_id", "fingerprint"}`` or ``{"signed": false,
    "node_id", "node"}``; None for a record of our own (or none at all). ``node`` is the
    originator's partner name where it is our partner, else its node id.
    """
    row = session.get(Incident, incident_id)
    if row is None or row.origin_node_id is None:
        return None
    key_id = session.scalar(
        select(Receipt.signed_key_id)
        .where(Receipt.stix_id == f"incident--{incident_id}")
        .order_by(Receipt.modified.desc())
        .limit(1)
    )
    name = session.scalar(select(Partner.name).where(Partner.node_id == row.origin_node_id))
    found: dict[str, Any] = {
        "signed": key_id is not None,
        "node_id": row.origin_node_id,
        "node": name or row.origin_node_id,
    }
    if key_id is not None:
        key = session.get(KnownKey, key_id)
        found["key_id"] = key_id
        found["fingerprint"] = None if key is None else known_keys.trusted(key).fingerprint
    return found
