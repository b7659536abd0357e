"""Sync with a partner: pull their objects from a durable cursor, push ours from another.

Each page is ingested and its cursor moved in one transaction, so a node killed mid-sync
resumes where it stopped: nothing lost (the cursor never passes an uncommitted page) and
nothing duplicated (every version is stored once, by (id, modified)).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sarhad.border import BorderProfile
from sarhad.core.collector import held_off
from sarhad.core.db import Database, lock_writes, utcnow
from sarhad.core.errors import SarhadError
from sarhad.core.i18n import Text, message
from sarhad.core.journal import audit
from sarhad.federation.client import PartnerProtocolError, TaxiiClient
from sarhad.federation.groups import MAX_CARRY, split_incomplete
from sarhad.federation.identity import LocalNode
from sarhad.federation.inbox import IngestReport, ingest
from sarhad.federation.models import CollectionObject, SyncCursor
from sarhad.federation.outbox import deliver_outbox
from sarhad.federation.publish import publish_partner
from sarhad.federation.store import collection_id
from sarhad.federation.types import REGISTRY
from sarhad.federation.types.alert import ALERT_TYPES
from sarhad.sharing import keys as known_keys
from sarhad.sharing import service as sharing
from sarhad.sharing.models import Partner

# Resume a little before the last date_added seen: servers that give one date_added to many
# objects (medallion does, per POST) would otherwise make "added_after" skip the rest of a tie.
REWIND = timedelta(milliseconds=1)
PUSH_BATCH = 500
#: Objects asked for per page: the most our TAXII server answers (``taxii.MAX_PAGE``). A
#: page is one transaction here; fewer, larger pages cost less per object on both sides.
PAGE_SIZE = 1000
log = logging.getLogger("sarhad.sync")

Progress = Callable[[str, int], None]
#: One answer to GET objects: (objects, more, next, the last date_added of the page).
Page = tuple[list[Any], bool, str | None, str | None]
#: Run first in each transaction that writes for a lease (``core.leases.fence``): raises when
#: the lease is no longer this process's, so a holder that froze and woke writes nothing.
Fence = Callable[[Session], None]


def _unfenced(_session: Session) -> None:
    """The fence of work that holds no lease (``sarhad sync`` by hand)."""


_push_locks: dict[str, threading.Lock] = {}
_push_locks_guard = threading.Lock()


def push_lock(partner_id: str) -> threading.Lock:
    """One pusher per partner in this process (the courier and the sync loop share it).

    Why: two pushes of the same objects are harmless (the partner's receipts drop the second)
    but would double the traffic on a slow link.
    """
    with _push_locks_guard:
        return _push_locks.setdefault(partner_id, threading.Lock())


@dataclass
class SyncReport:
    """What one sync with one partner did."""

    partner: str
    pulled: IngestReport = field(default_factory=IngestReport)
    pages: int = 0
    pushed: int = 0
    push_failures: list[str] = field(default_factory=list)
    waiting: int = 0  # our objects not yet delivered
    #: What went wrong, coded (a ``Text`` is its English wording too; ``error.in_(lang)``).
    error: Text | None = None
    anchors: str | None = None  # what the audit anchor exchange did (federation.anchors)


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _fmt(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def pick_collection(cols: list[dict[str, Any]], flag: str, remembered: str | None) -> str | None:
    """The collection with ``flag`` (can_read/can_write): the one used before if offered."""
    ids = [c["id"] for c in cols if c.get(flag) is True]
    if remembered in ids:
        return remembered
    return ids[0] if ids else None


def open_token(db: Database, partner: Partner) -> str | None:
    """The token we present to ``partner``, opened with the node key (it is stored sealed)."""
    with db.session() as s:
        return sharing.remote_token(s, partner)


def sync_partner(
    db: Database,
    *,
    partner_name: str,
    node: LocalNode,
    profile: BorderProfile,
    page_size: int = PAGE_SIZE,
    progress: Progress | None = None,
    client_factory: Callable[[Partner], TaxiiClient] | None = None,
    fence: Fence = _unfenced,
    claim_s: float = 30.0,
) -> SyncReport:
    """Pull then push for one partner (the alerts outbox too, its rows claimed for
    ``claim_s``); a partner that is down is reported, not raised.

    ``fence`` runs first in each transaction that writes (the sync loop passes its lease's):
    ``LeaseLost`` is not reported like a partner's error but raised, to the loop. The
    outbox needs no fence: its rows are claimed, and the partner stores each copy once.
    """
    report = SyncReport(partner=partner_name)
    with db.session() as s:
        fence(s)
        partner = sharing.get_partner(s, name=partner_name)
        publish_partner(s, node=node, partner=partner)
        cursor = s.get(SyncCursor, partner.id) or SyncCursor(partner_id=partner.id, pushed_seq=0)
        s.add(cursor)
        cursor.last_attempt_at = utcnow()
        s.flush()
        s.expunge_all()
    if not partner.taxii_url:
        report.error = message(
            "federation.no_taxii_url",
            "no TAXII URL for this partner (air-gapped: use 'sarhad bundle')",
        )
        return report
    make = client_factory or (lambda p: TaxiiClient(p.taxii_url or "", open_token(db, p)))
    try:
        with make(partner) as client:
            cols = client.collections()
            read_id = pick_collection(cols, "can_read", cursor.remote_collection_id)
            write_id = pick_collection(cols, "can_write", None)
            take_announcement(db, client, partner, fence)  # before pulling: new keys sign pages
            if read_id:
                _pull(
                    db, client, partner, read_id, node, profile, page_size, report, progress, fence
                )
            if write_id:
                with push_lock(partner.id):
                    push_pending(db, client, partner, write_id, report, progress, fence)
                sent = deliver_outbox(
                    db,
                    node=node,
                    partner=partner,
                    client=client,
                    write_id=write_id,
                    claim_s=claim_s,
                )
                report.pushed += sent.delivered
                failed: Text | None = sent.error  # coded where the outbox caught it
                if failed is not None:
                    raise SarhadError(failed)
        error = None
    except SarhadError as exc:
        error = exc.text
        report.error = error
    with db.session() as s:
        fence(s)
        cur = s.get(SyncCursor, partner.id)
        if cur is not None:
            cur.last_attempt_at = utcnow()
            cur.set_error(error)
            if error is None:
                cur.last_success_at = utcnow()
        report.waiting = waiting_count(s, partner)
    return report


def take_announcement(
    db: Database, client: TaxiiClient, partner: Partner, fence: Fence = _unfenced
) -> None:
    """Fetch the partner's newest key announcement and take what it changed (a rotation, a
    revocation): checked against the keys we trust for it, so a rotation reaches us without
    an operator. A partner without one (404), or no Sarhad node, changes nothing."""
    base = (partner.taxii_url or "").split("/taxii2/", 1)[0].rstrip("/")
    try:
        r = client.http.get(f"{base}/api/v1/keys/announcement")
        doc = json.loads(r.content) if r.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        doc = None
    if not isinstance(doc, dict):
        return
    with db.session() as s:
        fence(s)
        p = s.get(Partner, partner.id)
        if p is not None:
            learned = known_keys.apply_announcement(
                s, doc, partner=p, actor=f"partner:{partner.name}"
            )
            if learned.refused:
                log.warning("key announcement of %s not taken: %s", partner.name, learned.refused)


def _pull(
    db: Database,
    client: TaxiiClient,
    partner: Partner,
    read_id: str,
    node: LocalNode,
    profile: BorderProfile,
    page_size: int,
    report: SyncReport,
    progress: Progress | None,
    fence: Fence = _unfenced,
) -> None:
    """Pull every page past the cursor; each page is stored while the next one is fetched.

    Why the one-page prefetch: the partner's node serves the next page (and our client
    decodes it) while this node validates and stores the current one, instead of each side
    waiting for the other. The pages are still stored one after the other, in order, each
    with its cursor in one transaction: a page fetched ahead is only read, never stored
    before the one before it committed.
    """
    with db.session() as s:
        fence(s)
        cur = s.get(SyncCursor, partner.id)
        assert cur is not None
        cur.remote_collection_id = read_id
        start = cur.pulled_until
    added_after = _fmt(_ts(start) - REWIND) if start else None
    carry: list[Any] = []  # objects of incidents split by the page boundary, for the next page

    def fetch(after: str | None, token: str | None) -> Page:
        return client.get_objects(read_id, added_after=after, next_=token, limit=page_size)

    # No cyclic collection while the pages are pulled and stored (core.collector): pages
    # decoded ahead, checked and stored are freed by reference counting; the collector's walks
    # over them (a full one every few pages) found nothing. It runs again after the pull.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sarhad-pull") as pool, held_off():
        asked: str | None = None  # the `next` token of the request in flight
        pending = pool.submit(fetch, added_after, asked)
        while True:
            try:
                objects, more, next_token, last = pending.result()
            except PartnerProtocolError:
                if asked is None:
                    raise
                # A server that forgets its `next` tokens (medallion: 30 s, single use): go
                # on from the last committed page with added_after; dedup absorbs the overlap.
                carry = []
                with db.session() as s:
                    cur = s.get(SyncCursor, partner.id)
                    start = cur.pulled_until if cur else None
                added_after = _fmt(_ts(start) - REWIND) if start else None
                asked = None
                pending = pool.submit(fetch, added_after, asked)
                continue
            # Ask for the next page now (its parameters are known), store this one meanwhile.
            follows = bool(more and objects)
            lost = follows and next_token is None and not last
            if follows and not lost:
                if next_token is None:
                    assert last is not None  # else `lost`
                    added_after = _fmt(_ts(last) - REWIND)
                asked = next_token
                pending = pool.submit(fetch, added_after, asked)
            batch = carry + objects
            if more and objects and len(batch) < MAX_CARRY:
                batch, carry = split_incomplete(batch)
            else:
                carry = []
            with db.session() as s:
                fence(s)
                p = s.merge(partner)
                page = ingest(s, partner=p, objects=batch, via="pull", node=node, profile=profile)
                cur = s.get(SyncCursor, partner.id)
                assert cur is not None
                # Move the cursor only past pages whose objects are all stored: held-back
                # parts of a split incident are read again after a crash, never skipped.
                if (
                    not carry
                    and last
                    and (cur.pulled_until is None or _ts(last) > _ts(cur.pulled_until))
                ):
                    cur.pulled_until = last
            report.pulled.merge(page)
            report.pages += 1
            if progress:
                progress("pull", len(objects))
            if lost:
                raise PartnerProtocolError(
                    message(
                        "partner.more_without_next",
                        "the partner said 'more' but gave neither next nor dates",
                    )
                )
            if not follows:
                break


def push_pending(
    db: Database,
    client: TaxiiClient,
    partner: Partner,
    write_id: str,
    report: SyncReport,
    progress: Progress | None,
    fence: Fence = _unfenced,
) -> None:
    outbound = collection_id(partner.id, "outbound")
    while True:
        with db.session() as s:
            cur = s.get(SyncCursor, partner.id)
            assert cur is not None
            rows = list(
                s.execute(
                    select(CollectionObject.seq, CollectionObject.payload)
                    .where(
                        CollectionObject.collection_id == outbound,
                        CollectionObject.seq > cur.pushed_seq,
                    )
                    .order_by(CollectionObject.seq)
                    .limit(PUSH_BATCH)
                ).all()
            )
            objects = [json.loads(r.payload) for r in rows]
            # Never end a POST between an incident and its location: take the rest of the group.
            while len(rows) >= PUSH_BATCH and split_incomplete(objects)[1]:
                more = s.execute(
                    select(CollectionObject.seq, CollectionObject.payload)
                    .where(
                        CollectionObject.collection_id == outbound,
                        CollectionObject.seq > rows[-1].seq,
                    )
                    .order_by(CollectionObject.seq)
                    .limit(3)
                ).all()
                if not more:
                    break
                rows += more
                objects += [json.loads(r.payload) for r in more]
        if not rows:
            return
        # Alerts and their steps leave through the outbox (federation.outbox), which knows
        # what the partner took; here they would only go twice.
        objects = [o for o in objects if o.get("type") not in ALERT_TYPES]
        if partner.node_id is None:
            # Not known as a Sarhad node (e.g. a medallion hub): leave out our
            # extension-definition, which makes medallion answer 500 to every reader of the
            # collection. Sarhad partners know the definition already.
            objects = [o for o in objects if o.get("type") != "extension-definition"]
        status = client.add_objects(write_id, objects) if objects else {}
        failures = status.get("failures") or []
        report.push_failures += [
            f"{f.get('id', '?')}: {f.get('message', '')}" for f in failures if isinstance(f, dict)
        ]
        with db.session() as s:
            fence(s)  # before the write lock, always (core.leases.fence)
            lock_writes(s)
            cur = s.get(SyncCursor, partner.id)
            assert cur is not None
            # Delivered (or refused by them, with a reason). max(): never move back.
            cur.pushed_seq = max(cur.pushed_seq, rows[-1].seq)
            refused = {f.get("id") for f in failures if isinstance(f, dict)}
            taken = [o for o in objects if o["id"] not in refused]
            at = utcnow()
            for t in REGISTRY:
                t.delivered(s, [o for o in taken if o.get("type") in t.stix_types], at)
            if objects:  # nothing but alerts past the cursor: the outbox sent those
                audit(
                    s,
                    actor="federation",
                    action="share.push",
                    entity="partner",
                    entity_id=partner.id,
                    detail={
                        "partner": partner.name,
                        "agreement_version": sharing.get_agreement(s, partner=partner).version,
                        "objects": [[o.get("id"), o.get("modified")] for o in objects],
                        "refused_by_partner": len(failures),
                    },
                )
        report.pushed += len(objects)
        if progress:
            progress("push", len(rows))


def waiting_count(session: Session, partner: Partner) -> int:
    """Objects past the push cursor, alerts left out (the outbox carries and counts them)."""
    cur = session.get(SyncCursor, partner.id)
    pushed = cur.pushed_seq if cur else 0
    return (
        session.scalar(
            select(func.count())
            .select_from(CollectionObject)
            .where(
                CollectionObject.collection_id == collection_id(partner.id, "outbound"),
                CollectionObject.seq > pushed,
                CollectionObject.stix_type.not_in(ALERT_TYPES),
            )
        )
        or 0
    )
