"""Carry the alerts outbox (``alerts.outbox``) to partners over TAXII.

Claimed rows are turned into the objects the partner's outbound collection holds for them
(published from the change log first, so the bytes are the ones a pull would give), POSTed to
the partner's inbox collection in row order, and marked delivered in a new transaction. Any
process may run it at any time: the claims keep two processes off the same rows, and an
alert's steps never overtake the alert (a row waits while an earlier one of its alert is
held by someone else).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import select

from sarhad.alerts import outbox
from sarhad.alerts.models import OutboxItem
from sarhad.alerts.sender import mark_delivered as alerts_delivered
from sarhad.core.db import Database, lock_writes, utcnow
from sarhad.core.errors import SarhadError
from sarhad.core.i18n import Text
from sarhad.federation.client import TaxiiClient
from sarhad.federation.identity import LocalNode
from sarhad.federation.publish import publish_partner
from sarhad.federation.store import Appender, collection_id
from sarhad.federation.types.alert import ALERT_TYPE, step_stix_id
from sarhad.sharing.models import Partner

log = logging.getLogger("sarhad.outbox")

#: Rows claimed per round per partner (a burst of alerts goes in a few POSTs).
CLAIM_BATCH = 200
#: After an outage (rows tried before), the first POST carries this many rows, and each
#: POST that succeeds doubles it up to CLAIM_BATCH: a partner just back, with a backlog,
#: answers small POSTs well within the claim (measured: 200 alerts took longer than an 8 s
#: claim on a loaded partner, so other processes sent them again).
RESTART_BATCH = 25
#: Batches per call at most (the next courier round takes the rest).
MAX_BATCHES = 10


@dataclass
class OutboxReport:
    """What one outbox round for one partner did."""

    partner: str
    claimed: int = 0
    delivered: int = 0
    refused: list[str] = field(default_factory=list)
    error: Text | None = None  # coded: the sync shows it in its reader's language


def stix_id_of(row: outbox.Claimed) -> str:
    """The id of the object that carries an outbox row."""
    if row.kind == outbox.ALERT:
        return f"{ALERT_TYPE}--{row.alert_id}"
    return step_stix_id(row.alert_id, row.ref)


def _in_order(rows: list[outbox.Claimed], undelivered: dict[str, list[int]]) -> set[int]:
    """The rows that may go now: every earlier undelivered row of their alert goes with them."""
    keep: set[int] = set()
    for r in sorted(rows, key=lambda r: r.id):
        if all(i in keep for i in undelivered.get(r.alert_id, []) if i < r.id):
            keep.add(r.id)
    return keep


def deliver_outbox(
    db: Database,
    *,
    node: LocalNode,
    partner: Partner,
    client: TaxiiClient,
    write_id: str,
    claim_s: float,
    backoff_max_s: float = outbox.BACKOFF_MAX_S,
    claimer: str = outbox.CLAIMER,
    published: bool = False,
) -> OutboxReport:
    """Claim, send and mark delivered this partner's due rows, batch after batch
    (``published``: the caller has just published for this partner; skip the first)."""
    report = OutboxReport(partner=partner.name)
    outbound = collection_id(partner.id, "outbound")
    size = CLAIM_BATCH
    for _batch in range(MAX_BATCHES):  # bounded: the rest of the round waits meanwhile
        # Publish first, in a transaction of its own: the claim then lasts only for the send.
        if _batch or not published:
            with db.session() as s:
                p = s.get(Partner, partner.id)
                assert p is not None
                publish_partner(s, node=node, partner=p)
        with db.session() as s:
            rows = outbox.claim(
                s, claim_s=claim_s, limit=CLAIM_BATCH, claimer=claimer, partner_ids=[partner.id]
            )
            if not rows:
                return report
            surplus: list[outbox.Claimed] = []
            if _batch == 0 and any(r.attempts > 1 for r in rows):
                size = RESTART_BATCH  # the partner failed us before: start small
            if len(rows) > size:
                rows, surplus = rows[:size], rows[size:]
            undelivered: dict[str, list[int]] = {}
            for alert_id, row_id in s.execute(
                select(OutboxItem.alert_id, OutboxItem.id).where(
                    OutboxItem.alert_id.in_({r.alert_id for r in rows}),
                    OutboxItem.delivered_at.is_(None),
                )
            ):
                undelivered.setdefault(alert_id, []).append(row_id)
            keep = _in_order(rows, undelivered)
            held = [r for r in rows if r.id not in keep]
            rows = [r for r in rows if r.id in keep]
            # Rows whose alert waits on someone else's claim, and those beyond this POST's
            # size: back to the queue at once.
            outbox.release(s, held + surplus, claimer=claimer)
            found = Appender(s, outbound).latest_many([stix_id_of(r) for r in rows])
        report.claimed += len(rows)
        if not rows:
            return report
        objects = [found[stix_id_of(r)] for r in rows if stix_id_of(r) in found]
        missing = [r for r in rows if stix_id_of(r) not in found]
        try:
            with _renewing(db, [r.id for r in rows], claim_s=claim_s, claimer=claimer):
                status = client.add_objects(write_id, objects) if objects else {}
        except SarhadError as exc:
            report.error = exc.text
            with db.session() as s:
                outbox.failed(s, rows, error=exc.message, claimer=claimer, max_s=backoff_max_s)
            return report
        failures = [f for f in status.get("failures") or [] if isinstance(f, dict)]
        refused = {str(f.get("id")): str(f.get("message", "")) for f in failures}
        report.refused += [f"{i}: {m}" for i, m in refused.items()]
        sent = [r for r in rows if r not in missing]
        at = utcnow()
        with db.session() as s:
            lock_writes(s)  # the delivered step below is a step of the alert
            report.delivered += outbox.mark_delivered(s, [r.id for r in sent], now=at)
            for r in sent:
                if stix_id_of(r) in refused:
                    outbox.note(s, r.id, f"refused by {partner.name}: {refused[stix_id_of(r)]}")
            alerts_delivered(
                s,
                alert_ids=[
                    r.alert_id
                    for r in sent
                    if r.kind == outbox.ALERT and stix_id_of(r) not in refused
                ],
                at=at,
            )
            if missing:  # committed after our publish: again at once, then with backoff
                outbox.failed(
                    s,
                    missing,
                    error="not in the partner's collection",
                    claimer=claimer,
                    max_s=backoff_max_s,
                    first_again=True,
                )
        if refused:
            log.warning("outbox to %s: refused %s", partner.name, "; ".join(report.refused))
        if not surplus and len(rows) + len(held) < CLAIM_BATCH and not missing:
            return report  # took all that was due: no second publish and claim
        size = min(CLAIM_BATCH, size * 2)
    return report


@contextmanager
def _renewing(db: Database, ids: list[int], *, claim_s: float, claimer: str) -> Iterator[None]:
    """Keep our claim on ``ids`` alive while the block runs (a slow POST), renewing it every
    third of the claim. A frozen process renews nothing (its thread is frozen too), so its
    rows still pass to another process when the claim expires; rows taken over meanwhile are
    not ours to renew (``outbox.renew`` checks the claimer)."""
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(claim_s / 3):
            try:
                with db.session() as s:
                    outbox.renew(s, ids, claim_s=claim_s, claimer=claimer)
            except Exception as exc:  # the database away: the claim lapses, as it should
                log.warning("outbox: could not renew a claim: %s", exc)

    thread = threading.Thread(target=renew, name="outbox-claim-renewal", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=claim_s)
