"""Inbound objects from a partner: validate each, store the good, quarantine the bad.

Never trust the partner's bytes: one bad object never stops the good ones, never crashes the
caller, and never leaves half a record (each object is stored in its own savepoint).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from sarhad.alerts import receiver as alerts
from sarhad.border import BorderProfile
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.errors import SarhadError
from sarhad.core.journal import audit
from sarhad.core.markings import TLP, may_forward
from sarhad.core.text import escape_controls
from sarhad.crossings import received as crossings
from sarhad.federation import stix_inbound as stix
from sarhad.federation.models import Quarantined, Receipt
from sarhad.federation.publish import LocalNode
from sarhad.federation.stix_alerts import (
    ALERT_TYPE,
    ALERT_TYPES,
    BadAlertObject,
    parse_alert,
    parse_step,
)
from sarhad.federation.stix_crossings import (
    CROSSING_TYPES,
    HOURS_TYPE,
    STATUS_TYPE,
    BadCrossingObject,
    parse_hours,
    parse_status,
    parse_throughput,
)
from sarhad.federation.store import canonical
from sarhad.incidents import links, received
from sarhad.incidents import service as incidents
from sarhad.incidents.models import Incident
from sarhad.incidents.received import Received
from sarhad.incidents.schemas import IncidentIn
from sarhad.sharing import service as sharing
from sarhad.sharing.models import Partner
from sarhad.sharing.policy import Terms

MAX_QUARANTINE_PAYLOAD = 256 * 1024
log = logging.getLogger("sarhad.inbox")


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
    """Keep a refused object with its reason for an admin.

    Refused text may hold what no column can (a NUL, a lone surrogate): stored escaped.
    """
    session.add(
        Quarantined(
            partner_id=partner.id,
            via=via,
            stix_id=(stix_id or None) and escape_controls(stix_id)[:200],
            reason=escape_controls(reason),
            payload=escape_controls(payload[:MAX_QUARANTINE_PAYLOAD]),
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
    alert_objs = [o for o in objects if isinstance(o, dict) and o.get("type") in ALERT_TYPES]
    crossing_objs = [o for o in objects if isinstance(o, dict) and o.get("type") in CROSSING_TYPES]
    if alert_objs or crossing_objs:
        own = ALERT_TYPES | CROSSING_TYPES
        objects = [o for o in objects if not (isinstance(o, dict) and o.get("type") in own)]
    parsed, rejected, others = stix.parse_inbound(objects, plain_side=partner.country)

    def refuse(stix_id: str | None, reason: str, payload: str) -> None:
        report.rejected.append((stix_id, reason))
        quarantine(
            session, partner=partner, via=via, stix_id=stix_id, reason=reason, payload=payload
        )

    for bad in rejected:
        refuse(bad.stix_id, bad.reason, _payload_of(objects, bad.stix_id))
    # Every object gets exactly one verdict: the status of a POST adds up (TAXII 2.1), and the
    # location and relationship of an incident share its fate.
    other_keys = [
        (o["id"], _stamp(o.get("modified") or o.get("created") or "static")) for o in others
    ]
    parsed_keys = [(inc.stix_id, _stamp(inc.modified)) for inc in parsed]
    owners: dict[int, tuple[dict[str, Any], set[str]]] = {}  # part -> the incidents it is of
    for owner in (*parsed, *rejected):
        for part in owner.parts:
            owners.setdefault(id(part), (part, set()))[1].add(str(owner.stix_id))
    part_keys = [
        (str(p["id"]), _stamp(p.get("modified") or p.get("created"))) for p, _ in owners.values()
    ]
    seen = _seen_many(session, other_keys + parsed_keys + part_keys)
    fresh_keys: list[tuple[str, str]] = []
    originals: dict[tuple[str, str], str] = {}  # plain records: the objects as received
    taken: set[str] = set()  # incidents of which we hold (or now stored) a version
    forwarding = _Forwarding(session, partner)
    pending: list[tuple[Received, tuple[str, str]]] = []
    for inc, key in zip(parsed, parsed_keys, strict=True):
        if inc.origin_node_id == node.node_id or key in seen:
            report.duplicates.append(key)  # our own record echoed back, or a version we have
            taken.add(key[0])
            continue
        origin = inc.origin_node_id or forwarding.sender
        why = forwarding.refusal(origin, inc.model.tlp if inc.model else None)
        if why is not None:
            refuse(inc.stix_id, f"{inc.stix_id}: {why}", _payload_of(objects, inc.stix_id))
            continue
        if inc.revoked and session.get(Incident, inc.record_id) is None:
            report.duplicates.append(key)  # withdrawn before we ever had it: nothing to do
            fresh_keys.append(key)
            taken.add(key[0])
            continue
        try:
            if inc.revoked:
                data = _keep(session, inc)
            else:
                data = inc.model or IncidentIn.model_validate(inc.data)
        except (ValueError, SarhadError) as exc:
            reason = getattr(exc, "message", None) or str(exc)[:300]
            refuse(inc.stix_id, reason, _payload_of(objects, inc.stix_id))
            continue
        pending.append(
            (
                Received(
                    record_id=inc.record_id,
                    data=data,
                    version=inc.version,
                    status=inc.status,
                    remote_modified=inc.modified,
                    origin_node_id=origin,
                    origin=f"partner:{partner.name}",
                    withheld=inc.withheld_fields,
                    revoked=inc.revoked,
                ),
                key,
            )
        )
        if inc.plain:
            originals[key] = canonical([inc.source, *inc.parts])
    # One version per record is stored: the newest of the batch (the first of equals); the
    # others were superseded within the batch itself.
    newest: dict[str, Received] = {}
    for item, _ in pending:
        have = newest.get(item.record_id)
        if have is None or item.remote_modified > have.remote_modified:
            newest[item.record_id] = item
    items = list(newest.values())
    outcomes = received.store_received_many(session, items=items, profile=profile) if items else {}
    stored = []
    for item, key in pending:
        superseded = newest[item.record_id] is not item
        outcome = "stale" if superseded else outcomes.get(item.record_id, "stale")
        if outcome.startswith(("collision: ", "refused: ")):
            refuse(key[0], outcome.split(": ", 1)[1], _payload_of(objects, key[0]))
            continue
        fresh_keys.append(key)
        taken.add(key[0])
        if outcome == "stale":
            report.duplicates.append(key)
        else:
            report.accepted.append(key)
            if not item.revoked:
                stored.append(item.record_id)
    # Locations and relationships share their incident's verdict. Those taken get receipts
    # too, so that a page re-read after a resume (without its incident) counts them as
    # duplicates.
    for (part, of), key in zip(owners.values(), part_keys, strict=True):
        lost = sorted(of - taken)
        if lost:
            reason = f"{key[0]}: part of {lost[0]}, which was refused"
            refuse(key[0], reason, json.dumps(part, ensure_ascii=False, default=str))
        elif key in seen:
            report.duplicates.append(key)
        else:
            fresh_keys.append(key)
            report.accepted.append(key)
    for key in other_keys:
        if key in seen:
            report.duplicates.append(key)
        else:
            fresh_keys.append(key)
            report.accepted.append(key)
    # Crossings and alerts after incidents: they may name an incident of the same batch.
    fresh_keys += _ingest_crossings(
        session,
        partner=partner,
        objects=crossing_objs,
        via=via,
        profile=profile,
        report=report,
    )
    fresh_keys += _ingest_alerts(
        session,
        partner=partner,
        objects=alert_objs,
        via=via,
        node=node,
        profile=profile,
        report=report,
    )
    at = utcnow()
    fresh = list(dict.fromkeys(fresh_keys))
    if fresh:
        session.execute(
            insert(Receipt.__table__),
            [
                {
                    "stix_id": k[0],
                    "modified": k[1],
                    "partner_id": partner.id,
                    "via": via,
                    "received_at": at,
                    "original": originals.get(k),
                }
                for k in fresh
            ],
        )
    if stored:
        links.suggest_for_many(session, incident_ids=stored)
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


def _receive_alert(
    session: Session,
    obj: dict[str, Any],
    *,
    partner: Partner,
    node: LocalNode,
    profile: BorderProfile,
) -> bool:
    """Check one alert or alert step and store it; False when we had it already."""
    author = f"identity--{partner.node_id}" if partner.node_id else None
    if obj.get("type") == ALERT_TYPE:
        data, to_side = parse_alert(obj, author=author)
        if to_side != node.country:
            raise BadAlertObject(f"addressed to {to_side}; this node speaks for {node.country}")
        _alert, stored = alerts.receive_alert(
            session,
            data=data,
            partner_id=partner.id,
            partner_name=partner.name,
            to_side=node.country,
            profile=profile,
        )
        return stored
    return alerts.receive_step(
        session, **parse_step(obj, author=author), partner_id=partner.id, partner_name=partner.name
    )


def _ingest_alerts(
    session: Session,
    *,
    partner: Partner,
    objects: list[dict[str, Any]],
    via: str,
    node: LocalNode,
    profile: BorderProfile,
    report: IngestReport,
) -> list[tuple[str, str]]:
    """Alerts and alert steps from ``partner``; returns the keys to write receipts for.

    Each object is stored in its own savepoint, as crossings are: one that fails while being
    stored leaves nothing behind and never stops the others.
    """
    if not objects:
        return []
    keys = [(str(o.get("id"))[:200], _stamp(o.get("modified"))) for o in objects]
    seen = _seen_many(session, keys)
    fresh: list[tuple[str, str]] = []
    for obj, key in zip(objects, keys, strict=True):
        if key in seen or key in fresh:
            report.duplicates.append(key)
            continue
        try:
            with session.begin_nested():
                stored = _receive_alert(session, obj, partner=partner, node=node, profile=profile)
        except (BadAlertObject, SarhadError) as exc:
            reason = f"{key[0]}: {getattr(exc, 'message', None) or exc}"
        except Exception as exc:  # last resort: one object must never stop the batch
            log.exception("storing %s from %s failed", key[0], partner.name)
            reason = f"{key[0]}: internal error while storing ({type(exc).__name__})"
        else:
            fresh.append(key)
            (report.accepted if stored else report.duplicates).append(key)
            continue
        report.rejected.append((key[0] if isinstance(obj.get("id"), str) else None, reason))
        quarantine(
            session,
            partner=partner,
            via=via,
            stix_id=key[0],
            reason=reason,
            payload=json.dumps(obj, ensure_ascii=False, default=str),
        )
    return fresh


def _receive_crossing(
    session: Session, obj: dict[str, Any], *, partner: Partner, profile: BorderProfile
) -> bool:
    """Check one crossing object and store it; False when we had that version already."""
    author = f"identity--{partner.node_id}" if partner.node_id else None
    name, side, node_id = partner.name, partner.country, partner.node_id
    if obj.get("type") == STATUS_TYPE:
        return crossings.receive_declaration(
            session, data=parse_status(obj, author=author), partner_name=name,
            partner_node_id=node_id, partner_side=side, profile=profile,
        )  # fmt: skip
    if obj.get("type") == HOURS_TYPE:
        h = parse_hours(obj, author=author)
        return crossings.receive_hours(
            session, crossing_id=h.crossing_id, side=h.side, days=h.days, opens=h.opens,
            closes=h.closes, partner_name=name, partner_side=side, profile=profile,
            modified=h.modified,
        )  # fmt: skip
    t = parse_throughput(obj, author=author)
    return crossings.receive_throughput(
        session, crossing_id=t.crossing_id, side=t.side, day=t.day, values=t.values,
        partner_name=name, partner_node_id=node_id, partner_side=side, profile=profile,
        modified=t.modified,
    )  # fmt: skip


def _ingest_crossings(
    session: Session,
    *,
    partner: Partner,
    objects: list[dict[str, Any]],
    via: str,
    profile: BorderProfile,
    report: IngestReport,
) -> list[tuple[str, str]]:
    """Crossing status, hours and throughput from ``partner``; returns the receipt keys.

    Each object is stored in its own savepoint: one that fails while being stored leaves
    nothing behind and never stops the others.
    """
    if not objects:
        return []
    keys = [(str(o.get("id"))[:200], _stamp(o.get("modified"))) for o in objects]
    seen = _seen_many(session, keys)
    fresh: list[tuple[str, str]] = []
    for obj, key in zip(objects, keys, strict=True):
        if key in seen or key in fresh:
            report.duplicates.append(key)
            continue
        try:
            with session.begin_nested():
                stored = _receive_crossing(session, obj, partner=partner, profile=profile)
        except (BadCrossingObject, SarhadError) as exc:
            reason = f"{key[0]}: {getattr(exc, 'message', None) or exc}"
        except Exception as exc:  # last resort: one object must never stop the batch
            log.exception("storing %s from %s failed", key[0], partner.name)
            reason = f"{key[0]}: internal error while storing ({type(exc).__name__})"
        else:
            fresh.append(key)
            (report.accepted if stored else report.duplicates).append(key)
            continue
        report.rejected.append((key[0] if isinstance(obj.get("id"), str) else None, reason))
        quarantine(
            session,
            partner=partner,
            via=via,
            stix_id=key[0],
            reason=reason,
            payload=json.dumps(obj, ensure_ascii=False, default=str),
        )
    return fresh


class _Forwarding:
    """Whether ``partner`` may hand us a record that names another node as its originator.

    Until records are signed by their originator, the sender's word is all we have, so we
    take a third node's record only where our agreement with the sender allows third-party
    records (``forward_third_party``, the flag that governs what we forward to it), the
    record's TLP may be passed on (CLEAR or GREEN), and the originator is not a partner of
    ours: those records come from their originator directly, never through another node.
    """

    def __init__(self, session: Session, partner: Partner) -> None:
        self.session, self.partner = session, partner
        self.sender = partner.node_id or partner.id
        self._terms: Terms | None = None
        self._direct: dict[str, str] | None = None

    def refusal(self, origin: str, tlp: TLP | None) -> str | None:
        """Why a record from ``origin`` may not come from this partner (None: it may)."""
        if origin == self.sender:
            return None
        if self._direct is None:
            self._direct = {
                p.node_id: p.name
                for p in sharing.list_partners(self.session)
                if p.node_id and p.id != self.partner.id
            }
        name = self.partner.name
        if origin in self._direct:
            other = self._direct[origin]
            return (
                f"names {other} as its originator: {other} is our partner, and its records "
                f"come from it directly, never through {name}"
            )
        if self.partner.node_id is None:
            return None  # the sender's own node id is unknown: its claims cannot be told apart
        if self._terms is None:
            self._terms = sharing.terms_for(self.session, partner=self.partner)
        if not self._terms.forward_third_party:
            return (
                f"names another node ({origin}) as its originator, and the agreement with "
                f"{name} does not allow third-party records (forward_third_party)"
            )
        if tlp is not None and not may_forward(tlp).ok:
            return f"a record of node {origin} forwarded under {tlp.label}, which forbids it"
        return None


def _seen_many(session: Session, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    ids = list({k[0] for k in keys})
    for start in range(0, len(ids), 500):  # keep IN lists within every backend's limits
        found.update(
            (a, b)
            for a, b in session.execute(
                select(Receipt.stix_id, Receipt.modified).where(
                    Receipt.stix_id.in_(ids[start : start + 500])
                )
            )
        )
    return found


def _seen(session: Session, key: tuple[str, str]) -> bool:
    return session.get(Receipt, key) is not None


def _keep(session: Session, inc: stix.InboundIncident) -> IncidentIn:
    """A revocation carries no new content: keep what we hold (or what it carries)."""
    row = session.get(Incident, inc.record_id)
    assert row is not None  # ingest skips revocations of records we never had
    out = incidents.to_out(row).model_dump(mode="json")
    keys = IncidentIn.model_fields.keys()
    return IncidentIn.model_validate({k: v for k, v in out.items() if k in keys})
