"""Federation service functions used by the CLI and the API: sync, status, quarantine, bundles."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sarhad.border import BorderProfile, profile_from_settings
from sarhad.core import i18n
from sarhad.core.config import Settings
from sarhad.core.db import Database, get_node_id, lock_writes
from sarhad.core.errors import NotFound
from sarhad.core.i18n import Text, message
from sarhad.core.journal import audit
from sarhad.core.leases import Lease, fence
from sarhad.crossings.places import zone_label
from sarhad.federation import anchors
from sarhad.federation import bundle as bundles
from sarhad.federation.groups import split_incomplete
from sarhad.federation.identity import LocalNode
from sarhad.federation.inbox import IngestReport, ingest
from sarhad.federation.models import Quarantined, Receipt, SyncCursor
from sarhad.federation.sync import Progress, SyncReport, sync_partner, waiting_count
from sarhad.sharing import keys as known_keys
from sarhad.sharing import service as sharing
from sarhad.sharing.models import Partner

INGEST_PAGE = 1000
#: The lease a partner's sync (publish, pull, push, anchors) is held by: ``sync:<partner>``.
SYNC_LEASE = "sync:"
log = logging.getLogger("sarhad.sync")


def local_node(session: Session, settings: Settings) -> LocalNode:
    """Our identity as partners see it."""
    return LocalNode(
        node_id=get_node_id(session),
        name=settings.node_name,
        country=settings.node_side,
        time_zone=zone_label(profile_from_settings(settings), settings.node_side),
        data_dir=settings.data_dir,
    )


def sync_all(
    db: Database,
    *,
    settings: Settings,
    profile: BorderProfile,
    partner: str | None = None,
    progress: Progress | None = None,
) -> list[SyncReport]:
    """Sync with one partner or with every active partner that has a TAXII URL."""
    with db.session() as s:
        node = local_node(s, settings)
        names = (
            [sharing.get_partner(s, name=partner).name]
            if partner
            else [p.name for p in sharing.list_partners(s) if p.active and p.taxii_url]
        )
    reports = []
    for n in names:
        report = sync_partner(db, partner_name=n, node=node, profile=profile, progress=progress)
        # Every round also anchors the audit logs of both sides at each other.
        report.anchors = anchors.exchange(db, settings=settings, partner_name=n)
        reports.append(report)
    return reports


def error_fields(error: Text | None, lang: str) -> dict[str, Any]:
    """A sync round's error for its reader: ``error`` in ``lang``, ``error_code`` and
    ``error_params`` beside it (all None when the round went well)."""
    return {
        "error": None if error is None else error.in_(lang),
        "error_code": None if error is None else error.code,
        "error_params": None if error is None else error.as_json()["params"],
    }


def status(session: Session, *, lang: str = i18n.DEFAULT) -> list[dict[str, Any]]:
    """Per partner: last sync, errors, objects waiting to be delivered, quarantined objects.

    ``last_error`` is worded in ``lang``, with its ``last_error_code`` and
    ``last_error_params`` beside it (None for an error kept before they were: English).
    """
    rows = []
    for p in sharing.list_partners(session):
        cur = session.get(SyncCursor, p.id)
        coded = cur.error_text if cur else None
        rows.append(
            {
                "partner": p.name,
                "country": p.country,
                "active": p.active,
                "taxii_url": p.taxii_url,
                "last_attempt_at": cur.last_attempt_at if cur else None,
                "last_success_at": cur.last_success_at if cur else None,
                "last_error": cur.error_in(lang) if cur else None,
                "last_error_code": coded.code if coded else None,
                "last_error_params": coded.as_json()["params"] if coded else None,
                "pulled_until": cur.pulled_until if cur else None,
                "waiting": waiting_count(session, p),
                "quarantined": session.scalar(
                    select(func.count())
                    .select_from(Quarantined)
                    .where(Quarantined.partner_id == p.id)
                ),
            }
        )
    return rows


def list_quarantine(
    session: Session, *, partner: str | None = None, limit: int = 100
) -> list[Quarantined]:
    """Refused inbound objects, newest first."""
    q = select(Quarantined)
    if partner:
        q = q.where(Quarantined.partner_id == sharing.get_partner(session, name=partner).id)
    return list(session.scalars(q.order_by(Quarantined.id.desc()).limit(limit)))


def originals(session: Session, *, incident_id: str) -> list[dict[str, Any]]:
    """The objects of a record mapped from plain STIX, as received: one entry per version.

    Raises NotFound when the node holds no such record received from plain STIX.
    """
    rows = session.execute(
        select(Receipt, Partner.name)
        .join(Partner, Partner.id == Receipt.partner_id)
        .where(Receipt.stix_id == f"incident--{incident_id}", Receipt.original.is_not(None))
        .order_by(Receipt.received_at, Receipt.modified)
    ).all()
    if not rows:
        raise NotFound(
            message(
                "federation.no_plain",
                "no record {id} received as plain STIX",
                id=incident_id,
            ),
            hint=message(
                "federation.no_plain.hint",
                "only records a partner sent without the Sarhad extension keep their original",
            ),
        )
    return [
        {
            "modified": r.modified,
            "partner": name,
            "via": r.via,
            "received_at": r.received_at,
            "objects": json.loads(r.original or "[]"),
        }
        for r, name in rows
    ]


def export_bundle_file(db: Database, *, settings: Settings, partner: str, path: Path) -> int:
    """Write a signed bundle of what ``partner`` may have; returns the number of objects."""
    ring = known_keys.own_ring(settings.data_dir)
    with db.session() as s:
        p = sharing.get_partner(s, name=partner)
        doc = bundles.export_bundle(s, partner=p, node=local_node(s, settings), ring=ring)
        audit(
            s,
            actor="console",
            action="share.bundle_export",
            entity="partner",
            entity_id=p.id,
            detail={
                "partner": p.name,
                "count": doc["header"]["count"],
                "objects_sha256": doc["header"]["objects_sha256"],
                "file": path.name,
            },
        )
    bundles.write_bundle(doc, path)
    return int(doc["header"]["count"])


def import_bundle_file(
    db: Database,
    *,
    settings: Settings,
    profile: BorderProfile,
    partner: str,
    path: Path,
    progress: Progress | None = None,
) -> IngestReport:
    """Verify a partner's bundle file and ingest it like a sync (page by page).

    The key announcements it carries are taken first (each checked against keys already
    trusted for the partner), in the same transaction as the check of the header: a file
    refused leaves nothing behind, not even a key it taught.
    """
    document = bundles.read_bundle(path)
    with db.session() as s:
        p = sharing.get_partner(s, name=partner)
        for said in bundles.announcements(document):
            learned = known_keys.apply_announcement(s, said, partner=p, actor="console")
            if learned.refused:
                log.info("bundle from %s: key announcement not taken: %s", p.name, learned.refused)
        verified = bundles.verify_bundle(
            document, partner=p, keys=known_keys.keys_for_partner(s, p)
        )
        node = local_node(s, settings)
        s.expunge(p)
    report = IngestReport()
    objects = verified.objects
    carry: list[Any] = []
    for start in range(0, len(objects), INGEST_PAGE):
        chunk = carry + objects[start : start + INGEST_PAGE]
        last = start + INGEST_PAGE >= len(objects)
        chunk, carry = (chunk, []) if last else split_incomplete(chunk)
        with db.session() as s:
            lock_writes(s)
            report.merge(
                ingest(
                    s, partner=s.merge(p), objects=chunk, via="bundle", node=node, profile=profile
                )
            )
        if progress:
            progress("bundle", len(chunk))
    return report


def sync_leases(db: Database) -> list[str]:
    """The leases the sync loop needs: one per active partner with a TAXII URL."""
    with db.session() as s:
        return [
            f"{SYNC_LEASE}{p.name}" for p in sharing.list_partners(s) if p.active and p.taxii_url
        ]


def sync_leased(db: Database, lease: Lease, *, settings: Settings, profile: BorderProfile) -> None:
    """One partner's round of the sync loop, in the one process holding its lease.

    Publishing for the partner, each pulled page with its cursor, each pushed batch with its
    cursor: every transaction is fenced by ``lease``, so a holder that froze past the lease's
    expiry and woke up writes nothing (``LeaseLost`` goes up to the loop). The audit anchor
    exchange comes first, after a fence check: a holder frozen while waiting for the
    partner at any point of the round meets a fenced write next.
    """
    name = lease.name.removeprefix(SYNC_LEASE)
    with db.session() as s:
        fence(s, lease)
        node = local_node(s, settings)
    anchors.exchange(db, settings=settings, partner_name=name)
    r = sync_partner(
        db, partner_name=name, node=node, profile=profile, fence=lambda s: fence(s, lease)
    )
    if r.error:
        log.warning("sync with %s: %s (%d waiting)", r.partner, r.error, r.waiting)
