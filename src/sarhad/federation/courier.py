"""The courier: push what waits for each partner as soon as it is there.

Alerts cannot wait for the next periodic sync. Whenever something is written that a partner
should get (an alert, a step, a receipt), the route wakes the courier. Alerts and their steps
leave through the transactional outbox (``alerts.outbox``, carried by ``federation.outbox``):
rows claimed with an expiry by whichever process comes first, retried with backoff and jitter
kept in the rows. Everything else is published and pushed in order from the durable push
cursor, retried with back-off kept here. Nothing is lost: what waits is the outbox rows and
the collection past the cursor.

Crossing status rides the same path, with no code of its own here: ``deliver`` publishes
what every type of ``types.REGISTRY`` publishes (crossing declarations, hours and throughput
among them), and the declare and end routes wake the courier after writing (they also raise the
closure alert). So a closure reaches the partner in the same push as its alert, right after
the commit, from the durable change log; anything not woken for (a withdrawal, new hours, a
day's figures) goes at the courier's next tick (``courier_poll_s``).
"""

from __future__ import annotations

import logging
import random
import time

from sarhad.alerts import outbox as alert_outbox
from sarhad.border import BorderProfile
from sarhad.core.config import Settings
from sarhad.core.db import Database, utcnow
from sarhad.core.errors import SarhadError
from sarhad.core.i18n import message
from sarhad.federation.client import TaxiiClient
from sarhad.federation.identity import LocalNode
from sarhad.federation.models import SyncCursor
from sarhad.federation.outbox import OutboxReport, deliver_outbox
from sarhad.federation.publish import publish_partner
from sarhad.federation.service import local_node
from sarhad.federation.sync import (
    SyncReport,
    open_token,
    pick_collection,
    push_lock,
    push_pending,
    waiting_count,
)
from sarhad.sharing import service as sharing
from sarhad.sharing.models import Partner

log = logging.getLogger("sarhad.courier")
MAX_BACKOFF_S = 10.0
#: Share of rounds that also prune old delivered outbox rows.
PRUNE_CHANCE = 0.01


def deliver(
    db: Database,
    *,
    node: LocalNode,
    partner_name: str,
    timeout: float = 10.0,
    write_ids: dict[str, str] | None = None,
    clients: dict[str, TaxiiClient] | None = None,
) -> SyncReport:
    """Publish and push what waits for one partner (no pull); errors are reported, not raised.

    ``clients`` keeps one open client per partner between calls (the courier passes it):
    making an HTTP client costs ~18 ms (a fresh SSL context), about half of a delivery.
    """
    report = SyncReport(partner=partner_name)
    with db.session() as s:
        partner = sharing.get_partner(s, name=partner_name)
        publish_partner(s, node=node, partner=partner)
        if s.get(SyncCursor, partner.id) is None:
            s.add(SyncCursor(partner_id=partner.id, pushed_seq=0))
            s.flush()
        report.waiting = waiting_count(s, partner)
        s.expunge(partner)
    if not report.waiting or not partner.taxii_url:
        return report
    cache = write_ids if write_ids is not None else {}
    key = f"{partner.id} {partner.taxii_url} {partner.remote_token}"  # new URL/token: new client
    kept = clients if clients is not None else {}
    client = kept.get(key)
    try:
        if client is None:  # the stored token is sealed: open it with the node key
            client = TaxiiClient(partner.taxii_url, open_token(db, partner), timeout=timeout)
        write_id = cache.get(partner.id)
        if write_id is None:
            write_id = pick_collection(client.collections(), "can_write", None)
            if write_id is None:
                report.error = message(
                    "partner.no_collection",
                    "{partner} offers no collection we may write to",
                    partner=partner.name,
                )
                return report
            cache[partner.id] = write_id
        with push_lock(partner.id):
            push_pending(db, client, partner, write_id, report, None)
    except SarhadError as exc:
        report.error = exc.text
        cache.pop(partner.id, None)  # their collections may have changed
    finally:
        if client is None:
            pass
        elif clients is None or report.error:
            client.close()
            kept.pop(key, None)
        else:
            kept[key] = client
    with db.session() as s:
        cur = s.get(SyncCursor, partner.id)
        if cur is not None and report.error:
            cur.last_attempt_at = utcnow()
            cur.set_error(report.error)
        report.waiting = waiting_count(s, partner)
    return report


class Courier:
    """Delivers to every active partner with a TAXII URL: first the alerts outbox (claimed
    rows, backoff kept in the rows), then the rest of the collection from the push cursor
    (back-off kept here, per process)."""

    def __init__(self, db: Database, *, settings: Settings, profile: BorderProfile) -> None:
        self.db, self.settings, self.profile = db, settings, profile
        self._write_ids: dict[str, str] = {}
        self._clients: dict[str, TaxiiClient] = {}
        self._retry_at: dict[str, tuple[float, float]] = {}  # name -> (monotonic time, delay)

    def round(self) -> list[SyncReport]:
        """One pass over the partners (skipping those still backing off)."""
        with self.db.session() as s:
            node = local_node(s, self.settings)
            partners = [p for p in sharing.list_partners(s) if p.active and p.taxii_url]
            s.expunge_all()
        reports = []
        for partner in partners:
            name = partner.name
            now = time.monotonic()
            retry_at, delay = self._retry_at.get(name, (0.0, 0.0))
            if retry_at > now:  # the cursor push backs off; the outbox keeps its own pace
                self.outbox(node, partner, published=False)
                continue
            # Publish and push what is not an alert, then the outbox (on what was published).
            r = deliver(
                self.db,
                node=node,
                partner_name=name,
                write_ids=self._write_ids,
                clients=self._clients,
            )
            self.outbox(node, partner, published=True)
            if r.error:
                delay = min(max(0.5, delay * 2), MAX_BACKOFF_S)
                self._retry_at[name] = (now + delay, delay)
                log.warning(
                    "courier to %s: %s (%d waiting; retry in %.1f s)",
                    name,
                    r.error,
                    r.waiting,
                    delay,
                )
            else:
                self._retry_at.pop(name, None)
            reports.append(r)
        if random.random() < PRUNE_CHANCE:  # now and then: keep a week of delivered rows
            with self.db.session() as s:
                alert_outbox.prune(s)
        return reports

    def outbox(self, node: LocalNode, partner: Partner, *, published: bool) -> OutboxReport:
        """Carry this partner's due outbox rows (none due: no request is made)."""
        with self.db.session() as s:
            due = alert_outbox.due(s, partner_id=partner.id)
        if not due:
            return OutboxReport(partner=partner.name)
        key = f"{partner.id} {partner.taxii_url} {partner.remote_token}"
        try:
            client = self._clients.get(key)
            if client is None:
                client = TaxiiClient(partner.taxii_url or "", open_token(self.db, partner))
                self._clients[key] = client
            write_id = self._write_ids.get(partner.id)
            if write_id is None:
                write_id = pick_collection(client.collections(), "can_write", None)
                if write_id is None:
                    raise SarhadError(
                        message(
                            "partner.no_collection",
                            "{partner} offers no collection we may write to",
                            partner=partner.name,
                        )
                    )
                self._write_ids[partner.id] = write_id
        except SarhadError as exc:
            # Unreachable: the due rows take their next backoff step, as if each was tried.
            with self.db.session() as s:
                rows = alert_outbox.claim(
                    s, claim_s=self.settings.outbox_claim_s, partner_ids=[partner.id]
                )
                alert_outbox.failed(
                    s, rows, error=exc.message, max_s=self.settings.outbox_backoff_max_s
                )
            log.warning("outbox to %s: %s (%d waiting)", partner.name, exc.message, len(rows))
            return OutboxReport(partner=partner.name, error=exc.text)
        report = deliver_outbox(
            self.db,
            node=node,
            partner=partner,
            client=client,
            write_id=write_id,
            claim_s=self.settings.outbox_claim_s,
            backoff_max_s=self.settings.outbox_backoff_max_s,
            published=published,
        )
        if report.error:
            self._write_ids.pop(partner.id, None)  # their collections may have changed
            stale = self._clients.pop(key, None)
            if stale is not None:
                stale.close()
            log.warning("outbox to %s: %s", partner.name, report.error)
        return report

    def close(self) -> None:
        """Close the kept HTTP clients."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()
