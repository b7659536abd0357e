"""Turn the change log into what each partner may receive: decide, redact, serialise, append.

Each object type of the registry (``federation.types``) turns its rows of the change log into
the objects this partner may have; this module reads the log from the partner's cursor, hands
each batch to the types in registry order and appends what they built to the partner's
outbound collection. Runs from stored state only (a durable cursor per partner), so it can run
anywhere and any number of times: before serving a TAXII page, in ``sarhad sync``, in the
server's loops.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.core.collector import held_off
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.journal import AuditLog, ChangeLog, audit
from sarhad.core.signing import KeyRing, covers_of, sign_object, signing_keys
from sarhad.federation.identity import EXTENSION_AUTHOR, PROJECT_IDENTITY, LocalNode
from sarhad.federation.models import PublishCursor
from sarhad.federation.stix.core import StixObject, node_identity, tlp_marking_definitions
from sarhad.federation.store import Appender, ensure_collections
from sarhad.federation.types import REGISTRY
from sarhad.federation.types.base import Changed, ObjectType, Outbound, PublishReport
from sarhad.sharing import service as sharing
from sarhad.sharing.models import Agreement, Partner

__all__ = ["PublishReport", "publish", "publish_partner", "sign_all", "sign_records"]

BATCH = 2000


def _static_objects(node: LocalNode, created: datetime) -> list[StixObject]:
    """What a partner gets when it is introduced: who we are, the markings, our extensions'
    author and the definitions of the types that announce theirs up front."""
    identity = node_identity(
        node_id=node.node_id, name=node.name, country=node.country, created=created
    )
    definitions = [t.definition(EXTENSION_AUTHOR) for t in REGISTRY if t.definition_at_introduction]
    return [
        identity,
        *tlp_marking_definitions(),
        PROJECT_IDENTITY,
        *(d for d in definitions if d is not None),
    ]


def publish(
    session: Session, *, node: LocalNode, now: datetime | None = None
) -> list[PublishReport]:
    """Bring every active partner's outbound collection up to date with the change log."""
    lock_writes(session)
    now = now or utcnow()
    ring = _ring(node)  # once per pass: every partner's objects are signed by the same key
    reports = []
    for partner in sharing.list_partners(session):
        if partner.active:
            reports.append(
                _publish_partner(session, node=node, partner=partner, now=now, ring=ring)
            )
    return reports


def _ring(node: LocalNode) -> KeyRing | None:
    """Our signing key ring (None: a node without a data folder publishes unsigned)."""
    return None if node.data_dir is None else signing_keys(node.data_dir).ring()


def publish_partner(
    session: Session,
    *,
    node: LocalNode,
    partner: Partner,
    now: datetime | None = None,
    max_changes: int | None = None,
) -> PublishReport:
    """Bring one partner's outbound collection up to date (takes the write lock).

    ``max_changes`` bounds the work (the TAXII routes pass it, so a partner's request never
    waits for a large backlog; ``sync`` and the sync loop publish the rest).
    """
    lock_writes(session)
    return _publish_partner(
        session,
        node=node,
        partner=partner,
        now=now or utcnow(),
        max_changes=max_changes,
        ring=_ring(node),
    )


def _publish_partner(
    session: Session,
    *,
    node: LocalNode,
    partner: Partner,
    now: datetime,
    max_changes: int | None = None,
    ring: KeyRing | None = None,
) -> PublishReport:
    report = PublishReport(partner=partner.name)
    outbound, _inbox = ensure_collections(session, partner)
    appender = Appender(session, outbound.id)
    cursor = session.get(PublishCursor, partner.id)
    if cursor is None:
        cursor = PublishCursor(partner_id=partner.id, change_seq=0, agreement_version=0)
        session.add(cursor)
        for obj in _static_objects(node, now):
            appender.append(obj)
    terms = sharing.terms_for(session, partner=partner)
    agreement = session.scalar(select(Agreement).where(Agreement.partner_id == partner.id))
    if cursor.agreement_version != terms.version:
        # A changed agreement may open or close records already passed: look at all again,
        # unless only terms that no shared record depends on changed.
        if _needs_rescan(session, agreement, since=cursor.agreement_version):
            cursor.change_seq = 0
        cursor.agreement_version = terms.version
    out = Outbound(
        session=session,
        node=node,
        partner=partner,
        terms=terms,
        agreement=agreement,
        appender=appender,
        now=now,
        report=report,
        ring=ring,
    )
    entities = REGISTRY.entities()
    done = 0
    while max_changes is None or done < max_changes:
        changes = [
            Changed(*row)
            for row in session.execute(
                select(ChangeLog.seq, ChangeLog.entity, ChangeLog.entity_id, ChangeLog.op)
                .where(ChangeLog.seq > cursor.change_seq, ChangeLog.entity.in_(entities))
                .order_by(ChangeLog.seq)
                .limit(BATCH if max_changes is None else min(BATCH, max_changes - done))
            )
        ]
        done += len(changes)
        # What a batch reads and builds is freed with it: no collector walks over it
        # (core.collector; after a sync's pull, this pass reads every record taken in).
        with held_off():
            # In registry order: a type's objects may cite records of the types before it.
            for t in REGISTRY:
                mine = [c for c in changes if c.entity in t.entities]
                _append(out, t, t.publish(out, mine))
        if not changes:
            break
        cursor.change_seq = changes[-1].seq
    if report.shared or report.withdrawn or any(report.objects.values()):
        audit(
            session,
            actor="federation",
            action="share.publish",
            entity="partner",
            entity_id=partner.id,
            detail={
                "partner": partner.name,
                "agreement_version": terms.version,
                "shared": report.shared,
                "withdrawn": report.withdrawn,
                **{f"{t.name}_objects": report.objects.get(t.name, 0) for t in REGISTRY},
            },
        )
    session.flush()
    return report


def _append(out: Outbound, t: ObjectType[Any], objects: list[StixObject]) -> None:
    """Append what type ``t`` built for the partner, its extension-definition first where
    the partner lacks this version of it, and let ``t`` note what was taken.

    The one place every object a node sends passes on its way into a partner's collection
    (after its type decided and redacted it): here the records we originate are signed.
    """
    if not objects:
        return
    if out.ring is not None:
        objects = _signed(out, t, objects, out.ring)
    definition = t.definition(EXTENSION_AUTHOR)
    held = None if definition is None else out.appender.latest(definition["id"])
    if definition is not None and (held is None or held.modified != definition["modified"]):
        # Partners introduced before the type existed have not seen its definition yet, and
        # those that have seen an older version of it get the new one with the new objects.
        objects = [definition, *objects]
    added = out.appender.append_many(objects)
    t.published(out, [o for o in objects if o["id"] in added and o is not definition])


def _signed(
    out: Outbound, t: ObjectType[Any], objects: list[StixObject], ring: KeyRing
) -> list[StixObject]:
    return sign_records(t, objects, ring, node_id=out.node.node_id, now=out.now)


def sign_records(
    t: ObjectType[Any],
    objects: list[StixObject],
    ring: KeyRing,
    *,
    node_id: str,
    now: datetime | None = None,
) -> list[StixObject]:
    """``objects`` of type ``t`` with a signature on each record node ``node_id`` originates,
    its parts covered by digest (a new list; the objects given are not changed).

    A record is an object carrying ``t``'s extension. Ours: its originator is this node, or
    it is a withdrawal (``revoked``), which the sender signs even for another node's record
    (it only takes something away, and its new ``modified`` breaks the original signature).
    Another node's record forwarded as it was received keeps its originator's signature.
    """
    at = t.signature_at()
    if at is None:
        return objects
    ext_id = at[1]
    parts = t.parts(objects)
    signed = list(objects)
    for n, obj in enumerate(objects):
        if ext_id not in (obj.get("extensions") or {}):
            continue
        if t.originator(obj) != node_id and not obj.get("revoked"):
            continue
        mine = parts.get(n, [])
        signed[n] = sign_object(obj, ring, at=at, now=now, covers=covers_of(mine) if mine else None)
    return signed


def sign_all(
    objects: list[StixObject], ring: KeyRing, *, node_id: str, now: datetime | None = None
) -> list[StixObject]:
    """Any list of objects signed as ``_append`` signs each type's (for bundles built by
    hand, tests and benchmarks); objects no type claims stay as they are, in place."""
    claims = REGISTRY.claims()
    by_type: dict[str, list[int]] = {}
    for n, obj in enumerate(objects):
        t = claims.get(str(obj.get("type")))
        if t is not None:
            by_type.setdefault(t.name, []).append(n)
    result = list(objects)
    for t in REGISTRY:
        where = by_type.get(t.name, [])
        mine = sign_records(t, [objects[n] for n in where], ring, node_id=node_id, now=now)
        for n, obj in zip(where, mine, strict=True):
            result[n] = obj
    return result


#: Agreement terms that decide nothing about incidents or crossing records: a change to
#: them alone (the alert deadlines are read when an alert is raised) resends nothing.
NO_RESCAN = frozenset({"alert_deadlines"})


def _needs_rescan(session: Session, agreement: Agreement | None, *, since: int) -> bool:
    """Whether the agreement's versions after ``since`` changed anything sharing depends on.

    Read from the audit log, where each agreement write names the fields it changed; a
    version without that record (or a new agreement) counts as a change of everything.
    """
    if agreement is None or since == 0:
        return True
    rows = session.scalars(
        select(AuditLog.detail).where(
            AuditLog.entity == "agreement",
            AuditLog.entity_id == agreement.id,
            AuditLog.version > since,
            AuditLog.version <= agreement.version,
        )
    ).all()
    if len(rows) < agreement.version - since:
        return True
    changed = set()
    for detail in rows:
        if not isinstance(detail, dict) or not isinstance(detail.get("changed"), list):
            return True
        changed.update(detail["changed"])
    return not changed <= NO_RESCAN
