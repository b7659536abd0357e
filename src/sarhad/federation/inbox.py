"""Inbound objects from a partner: validate each, store the good, quarantine the bad.

Never trust the partner's bytes: one bad object never stops the good ones, never crashes the
caller, and never leaves half a record (each object is stored in its own savepoint).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from sarhad.border import BorderProfile
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.errors import SarhadError
from sarhad.core.journal import audit
from sarhad.federation import stix_inbound as stix
from sarhad.federation.models import Quarantined, Receipt
from sarhad.federation.publish import LocalNode
from sarhad.incidents import links
from sarhad.incidents import service as incidents
from sarhad.incidents.models import Incident
from sarhad.incidents.schemas import IncidentIn
from sarhad.sharing.models import Partner

MAX_QUARANTINE_PAYLOAD = 256 * 1024


@dataclass
class IngestReport:
    """What happened to each object of one batch."""

    accepted: list[tuple[str, str]] = field(default_factory=list)  # (id, modified)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[tuple[str | None, str]] = field(default_factory=list)  # (id, reason)

    def merge(self, other: IngestReport) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected += other.rejected


def _stamp(value: Any) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if hasattr(value, "strftime") else str(value)


def _payload_of(objects: list[Any], stix_id: str | None) -> str:
    for obj in objects:
        if isinstance(obj, dict) and obj.get("id") == stix_id:
            text = json.dumps(obj, ensure_ascii=False, default=str)
            return text[:MAX_QUARANTINE_PAYLOAD]
    return ""


def quarantine(
    session: Session, *, partner: Partner, via: str, stix_id: str | None, reason: str, payload: str
) -> None:
    """Keep a refused object with its reason for an admin."""
    session.add(
        Quarantined(
            partner_id=partner.id,
            via=via,
            stix_id=(stix_id or None) and stix_id[:200],
            reason=reason,
            payload=payload[:MAX_QUARANTINE_PAYLOAD],
            received_at=utcnow(),
        )
    )


def ingest(
    session: Session,
    *,
    partner: Partner,
    objects: list[Any],
    via: str,
    node: LocalNode,
    profile: BorderProfile,
) -> IngestReport:
    """Validate and store a batch of STIX objects from ``partner``; every receipt is audited."""
    lock_writes(session)
    report = IngestReport()
    parsed, rejected, others = stix.parse_inbound(objects)
    for bad in rejected:
        report.rejected.append((bad.stix_id, bad.reason))
        quarantine(
            session,
            partner=partner,
            via=via,
            stix_id=bad.stix_id,
            reason=bad.reason,
            payload=_payload_of(objects, bad.stix_id),
        )
    for obj in others:
        key = (obj["id"], _stamp(obj.get("modified") or obj.get("created") or "static"))
        if _seen(session, key):
            report.duplicates.append(key)
            continue
        session.add(
            Receipt(
                stix_id=key[0],
                modified=key[1],
                partner_id=partner.id,
                via=via,
                received_at=utcnow(),
            )
        )
        report.accepted.append(key)
    for inc in parsed:
        key = (inc.stix_id, _stamp(inc.modified))
        if inc.origin_node_id == node.node_id or _seen(session, key):
            report.duplicates.append(key)  # our own record echoed back, or a version we have
            continue
        try:
            with session.begin_nested():
                outcome = incidents.store_received(
                    session,
                    record_id=inc.record_id,
                    data=IncidentIn.model_validate(inc.data)
                    if not inc.revoked
                    else _keep(session, inc),
                    version=inc.version,
                    status=inc.status,
                    remote_modified=inc.modified,
                    origin_node_id=inc.origin_node_id or partner.node_id or partner.id,
                    origin=f"partner:{partner.name}",
                    withheld=inc.withheld_fields,
                    revoked=inc.revoked,
                    profile=profile,
                )
                session.add(
                    Receipt(
                        stix_id=key[0],
                        modified=key[1],
                        partner_id=partner.id,
                        via=via,
                        received_at=utcnow(),
                    )
                )
                if outcome != "stale" and not inc.revoked:
                    links.suggest_for(session, incident_id=inc.record_id)
        except (SarhadError, ValueError) as exc:
            reason = getattr(exc, "message", None) or str(exc)
            report.rejected.append((inc.stix_id, reason))
            quarantine(
                session,
                partner=partner,
                via=via,
                stix_id=inc.stix_id,
                reason=reason,
                payload=_payload_of(objects, inc.stix_id),
            )
            continue
        (report.duplicates if outcome == "stale" else report.accepted).append(key)
    # Locations and relationships consumed with their incident get receipts too, so that a
    # page re-read after a resume (without its incident) counts them as duplicates.
    refused = {i for i, _ in report.rejected}
    for obj in objects:
        if isinstance(obj, dict) and obj.get("type") in ("location", "relationship"):
            key = (str(obj.get("id")), _stamp(obj.get("modified") or obj.get("created")))
            if key[0] in refused:
                continue
            if _seen(session, key):
                report.duplicates.append(key)
                continue
            session.add(Receipt(stix_id=key[0], modified=key[1], partner_id=partner.id,
                                via=via, received_at=utcnow()))
            session.flush()
            report.accepted.append(key)
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
                "accepted": [list(k) for k in report.accepted],
                "duplicates": len(report.duplicates),
                "rejected": [[i, r] for i, r in report.rejected],
            },
        )
    return report


def _seen(session: Session, key: tuple[str, str]) -> bool:
    return session.get(Receipt, key) is not None


def _keep(session: Session, inc: stix.InboundIncident) -> IncidentIn:
    """A revocation carries no new content: keep what we hold (or what it carries)."""
    row = session.get(Incident, inc.record_id)
    if row is None:
        return IncidentIn.model_validate(inc.data)
    out = incidents.to_out(row).model_dump(mode="json")
    keys = IncidentIn.model_fields.keys()
    return IncidentIn.model_validate({k: v for k, v in out.items() if k in keys})
