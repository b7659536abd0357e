"""Turn the change log into what each partner may receive: decide, redact, serialise, append.

Runs from stored state only (a durable cursor per partner), so it can run anywhere and any
number of times: before serving a TAXII page, in ``sarhad sync``, in the server's loop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sarhad.alerts.lifecycle import ENTITY as ALERT_ENTITY
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.journal import AuditLog, ChangeLog, audit
from sarhad.federation import stix
from sarhad.federation.alert_publish import alert_objects
from sarhad.federation.crossing_publish import CROSSING_ENTITIES, crossing_objects
from sarhad.federation.models import PendingRelease, PublishCursor
from sarhad.federation.stix_crossings import CROSSING_EXTENSION_ID
from sarhad.federation.store import Appender, ensure_collections
from sarhad.incidents import service as incidents
from sarhad.incidents.models import Incident
from sarhad.sharing import service as sharing
from sarhad.sharing.models import Agreement, Partner
from sarhad.sharing.policy import SharableRecord, decide, redact

BATCH = 2000
#: Change-log entities that become objects for partners (alerts only for their addressee;
#: crossing status, hours and throughput as the agreement's crossing flags allow).
PUBLISHED = ("incident", ALERT_ENTITY, *CROSSING_ENTITIES)


@dataclass(frozen=True)
class LocalNode:
    """Who we are, as partners see us."""

    node_id: str
    name: str
    country: str
    #: Our side's local time as staff read it, e.g. "PKT (UTC+05:00)" (crossing hours).
    time_zone: str | None = None

    @property
    def identity_id(self) -> str:
        return f"identity--{self.node_id}"


@dataclass
class PublishReport:
    """What one publish pass did for one partner."""

    partner: str
    shared: list[str] = field(default_factory=list)  # incident ids given a new version
    withdrawn: list[str] = field(default_factory=list)
    held: int = 0  # waiting for their release delay
    withheld: dict[str, list[str]] = field(default_factory=dict)  # id -> reasons not shared
    alerts: int = 0  # alert and alert-step objects added for this partner
    crossings: int = 0  # crossing status, hours and throughput objects added


#: The project's own identity: the author of the extension-definition, the same on every
#: node (the extension-definition has a fixed id and version, so it must be one object).
PROJECT_IDENTITY = {
    "type": "identity",
    "spec_version": "2.1",
    "id": "identity--0b6c1a52-5f0e-4f59-9a8e-3f6f2a1c7d10",
    "created": "2026-11-23T00:00:00.000Z",
    "modified": "2026-11-23T00:00:00.000Z",
    "name": "Sarhad project",
    "identity_class": "organization",
    "description": "Maintainers of the Sarhad border-incident STIX extension",
}


def _static_objects(node: LocalNode, created: datetime) -> list[dict]:
    identity = stix.node_identity(
        node_id=node.node_id, name=node.name, country=node.country, created=created
    )
    return [
        identity,
        *stix.tlp_marking_definitions(),
        PROJECT_IDENTITY,
        stix.extension_definition(created_by_ref=PROJECT_IDENTITY["id"]),
    ]


def _stix_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def publish(
    session: Session, *, node: LocalNode, now: datetime | None = None
) -> list[PublishReport]:
    """Bring every active partner's outbound collection up to date with the change log."""
    lock_writes(session)
    now = now or utcnow()
    reports = []
    for partner in sharing.list_partners(session):
        if partner.active:
            reports.append(_publish_partner(session, node=node, partner=partner, now=now))
    return reports


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
    waits for a large backlog; ``sync`` and the serve loop publish the rest).
    """
    lock_writes(session)
    return _publish_partner(
        session, node=node, partner=partner, now=now or utcnow(), max_changes=max_changes
    )


def _publish_partner(
    session: Session,
    *,
    node: LocalNode,
    partner: Partner,
    now: datetime,
    max_changes: int | None = None,
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
    due = list(
        session.scalars(
            select(PendingRelease.incident_id).where(
                PendingRelease.partner_id == partner.id, PendingRelease.release_at <= now
            )
        )
    )
    done = 0
    while max_changes is None or done < max_changes:
        changes = session.execute(
            select(ChangeLog.seq, ChangeLog.entity, ChangeLog.entity_id, ChangeLog.op)
            .where(ChangeLog.seq > cursor.change_seq, ChangeLog.entity.in_(PUBLISHED))
            .order_by(ChangeLog.seq)
            .limit(BATCH if max_changes is None else min(BATCH, max_changes - done))
        ).all()
        done += len(changes)
        ids = list(dict.fromkeys([*due, *(c.entity_id for c in changes if c.entity == "incident")]))
        due = []
        _publish_batch(
            session,
            appender=appender,
            node=node,
            partner=partner,
            terms=terms,
            agreement=agreement,
            ids=ids,
            now=now,
            report=report,
        )
        # Crossings before alerts: a closure alert's reader finds the board already updated.
        added = appender.append_many(
            crossing_objects(
                session,
                appender=appender,
                terms=terms,
                identity_id=node.identity_id,
                extension_author=PROJECT_IDENTITY["id"],
                time_zone=node.time_zone,
                changes=[(c.entity, c.entity_id) for c in changes],
                now=now,
            )
        )
        report.crossings += len(added - {CROSSING_EXTENSION_ID})
        alert_changes = [(c.entity_id, c.op) for c in changes if c.entity == ALERT_ENTITY]
        report.alerts += len(
            appender.append_many(
                alert_objects(
                    session,
                    appender=appender,
                    partner_id=partner.id,
                    identity_id=node.identity_id,
                    extension_author=PROJECT_IDENTITY["id"],
                    changes=alert_changes,
                )
            )
        )
        if not changes:
            break
        cursor.change_seq = changes[-1].seq
    if report.shared or report.withdrawn or report.alerts or report.crossings:
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
                "alert_objects": report.alerts,
                "crossing_objects": report.crossings,
            },
        )
    session.flush()
    return report


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


def _publish_batch(
    session: Session,
    *,
    appender: Appender,
    node: LocalNode,
    partner: Partner,
    terms: object,
    agreement: Agreement | None,
    ids: list[str],
    now: datetime,
    report: PublishReport,
) -> None:
    """Decide, redact and serialise a batch of changed incidents; append them in one go."""
    if not ids:
        return
    rows = {r.id: r for r in session.scalars(select(Incident).where(Incident.id.in_(ids)))}
    session.execute(
        delete(PendingRelease).where(
            PendingRelease.partner_id == partner.id, PendingRelease.incident_id.in_(ids)
        )
    )
    staged: list[tuple[str, list[dict]]] = []
    for incident_id in ids:
        row = rows.get(incident_id)
        if row is None:
            continue
        out = incidents.to_out(row)
        decision = decide(SharableRecord.from_incident(out, row.origin_node_id), terms, now=now)  # type: ignore[arg-type]
        if decision.share and not row.revoked:
            modified = row.updated_at
            if agreement is not None and agreement.updated_at > modified:
                # New terms can change what a version contains: give it a newer modified.
                modified = agreement.updated_at
            body = redact(out.model_dump(mode="json"), decision)
            body["updated_at"] = _stix_time(modified)
            staged.append(
                (
                    row.id,
                    stix.incident_to_stix(
                        body,
                        identity_id=node.identity_id,
                        withheld=decision.withheld_fields,
                        origin_node_id=row.origin_node_id or node.node_id,
                    ),
                )
            )
        elif decision.release_at is not None:
            session.add(
                PendingRelease(
                    partner_id=partner.id, incident_id=row.id, release_at=decision.release_at
                )
            )
            report.held += 1
        else:
            report.withheld[row.id] = list(decision.reasons) or ["withdrawn by its originator"]
            _withdraw(appender, f"incident--{row.id}", now, report, row.id)
    added = appender.append_many([obj for _, objs in staged for obj in objs])
    report.shared += [iid for iid, objs in staged if objs[0]["id"] in added]


def _withdraw(
    appender: Appender, stix_id: str, now: datetime, report: PublishReport, incident_id: str
) -> None:
    previous = appender.latest(stix_id)
    if previous is not None and not json.loads(previous.payload).get("revoked"):
        # It was shared before and may no longer be: tell the partner it is withdrawn, with
        # the content it already had (never the new content).
        old = json.loads(previous.payload)
        last = datetime.fromisoformat(old["modified"].replace("Z", "+00:00"))
        old["modified"] = _stix_time(max(now, last + timedelta(milliseconds=1)))
        old["revoked"] = True
        appender.append(old)
        report.withdrawn.append(incident_id)
