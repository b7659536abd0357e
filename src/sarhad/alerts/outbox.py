"""The transactional outbox: what must reach a partner, written with the alert or step itself.

``enqueue`` runs inside ``lifecycle.add_step``, so an alert and the row that carries it commit
together or not at all. Any process of the node then ``claim``s due rows for a while (on
PostgreSQL ``FOR UPDATE SKIP LOCKED``: two processes never take the same row; on SQLite the
write lock serialises them), sends them, and marks them ``delivered`` in a new transaction.
A claimer that dies or freezes loses its rows when the claim expires; a partner that is down
is retried with exponential backoff and jitter. Nothing is dropped: a row leaves the queue
only when the partner took it. Delivery is therefore at least once; the partner's receipt
is idempotent (it stores an alert once and counts the copies).
"""

from __future__ import annotations

import os
import random
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from sarhad.alerts.models import Alert, OutboxItem
from sarhad.alerts.taxonomy import SHARED_STEPS, Direction, Step
from sarhad.core.db import utcnow

ALERT = "alert"
ALERT_STEP = "alert_step"
#: Backoff for a partner that is down: base x 2^(attempts-1), capped, times a jitter in [0.5, 1].
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 30.0
#: Delivered rows are kept this long (what went out when), then pruned.
KEEP_DELIVERED = timedelta(days=7)

#: Who claims, in the rows: host, process and a per-process nonce (a pid may be reused).
CLAIMER = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Claimed:
    """One claimed row, as the courier needs it."""

    id: int
    partner_id: str
    kind: str
    alert_id: str
    ref: str
    attempts: int


def carries(alert: Alert, step: Step, source: str) -> bool:
    """Whether this step goes to the partner: our outbound alert, or a shared step we took."""
    if source != "local":
        return False
    if step is Step.RAISED:
        return alert.direction == Direction.OUTBOUND
    return step in SHARED_STEPS


def enqueue(session: Session, alert: Alert, step: Step, *, at: datetime | None = None) -> None:
    """Add the row that carries ``step`` of ``alert`` (in the caller's transaction)."""
    now = at or utcnow()
    session.add(
        OutboxItem(
            partner_id=alert.partner_id,
            kind=ALERT if step is Step.RAISED else ALERT_STEP,
            alert_id=alert.id,
            ref=step.value,
            created_at=now,
            attempts=0,
            next_attempt_at=now,
        )
    )


def claim(
    session: Session,
    *,
    claim_s: float,
    limit: int = 200,
    claimer: str = CLAIMER,
    partner_ids: Iterable[str] | None = None,
    now: datetime | None = None,
) -> list[Claimed]:
    """Claim due rows for ``claim_s`` seconds (oldest first); commit the caller's transaction
    right after, so the row locks are held only for the claim itself."""
    now = now or utcnow()
    # A partner's rows leave in the order they were written: none goes while an older row
    # for the same partner waits out its backoff (each row's wait has its own jitter and
    # count, so a younger row would otherwise overtake an older one after an outage).
    older = aliased(OutboxItem)
    waits_behind = (
        select(older.id)
        .where(
            older.partner_id == OutboxItem.partner_id,
            older.id < OutboxItem.id,
            older.delivered_at.is_(None),
            older.next_attempt_at > now,
        )
        .exists()
    )
    query = (
        select(OutboxItem)
        .where(
            OutboxItem.delivered_at.is_(None),
            OutboxItem.next_attempt_at <= now,
            or_(OutboxItem.claim_expires_at.is_(None), OutboxItem.claim_expires_at < now),
            ~waits_behind,
        )
        .order_by(OutboxItem.id)
        .limit(limit)
    )
    if partner_ids is not None:
        query = query.where(OutboxItem.partner_id.in_(list(partner_ids)))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    until = now + timedelta(seconds=claim_s)
    for row in rows:
        row.claimed_by, row.claim_expires_at = claimer, until
        row.attempts += 1
    session.flush()
    return [Claimed(r.id, r.partner_id, r.kind, r.alert_id, r.ref, r.attempts) for r in rows]


def mark_delivered(session: Session, ids: Iterable[int], *, now: datetime | None = None) -> int:
    """The partner took these rows: they leave the queue (whoever claims them now)."""
    ids = list(ids)
    if not ids:
        return 0
    result = session.execute(
        update(OutboxItem)
        .where(OutboxItem.id.in_(ids), OutboxItem.delivered_at.is_(None))
        .values(delivered_at=now or utcnow(), claimed_by=None, claim_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def withhold(
    session: Session,
    *,
    partner_id: str,
    alert_id: str,
    refs: Iterable[str],
    reason: str,
    now: datetime | None = None,
) -> int:
    """Settle rows that may no longer go (the agreement now forbids them): they leave the
    queue as if delivered, with ``withheld: <reason>`` kept, instead of being retried forever."""
    refs = list(refs)
    if not refs:
        return 0
    result = session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.partner_id == partner_id,
            OutboxItem.alert_id == alert_id,
            OutboxItem.ref.in_(refs),
            OutboxItem.delivered_at.is_(None),
        )
        .values(
            delivered_at=now or utcnow(),
            claimed_by=None,
            claim_expires_at=None,
            last_error=f"withheld: {reason}"[:1000],
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def renew(
    session: Session,
    ids: Iterable[int],
    *,
    claim_s: float,
    claimer: str = CLAIMER,
    now: datetime | None = None,
) -> int:
    """Extend our claim on rows still ours and undelivered by ``claim_s`` from now (a POST
    that outlasts the claim would otherwise let another process send the same rows)."""
    ids = list(ids)
    if not ids:
        return 0
    until = (now or utcnow()) + timedelta(seconds=claim_s)
    result = session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.id.in_(ids),
            OutboxItem.claimed_by == claimer,  # taken over after an expiry: theirs now
            OutboxItem.delivered_at.is_(None),
        )
        .values(claim_expires_at=until)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def release(session: Session, rows: Iterable[Claimed], *, claimer: str = CLAIMER) -> None:
    """Give claimed rows back untried (they wait for an earlier row of their alert)."""
    ids = [r.id for r in rows]
    if ids:
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id.in_(ids), OutboxItem.claimed_by == claimer)
            .values(claimed_by=None, claim_expires_at=None, attempts=OutboxItem.attempts - 1)
            .execution_options(synchronize_session=False)
        )


def note(session: Session, row_id: int, error: str) -> None:
    """Keep what the partner said about a row it refused (it is delivered all the same)."""
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == row_id)
        .values(last_error=error[:1000])
        .execution_options(synchronize_session=False)
    )


def backoff_s(
    attempts: int, *, max_s: float = BACKOFF_MAX_S, rng: random.Random | None = None
) -> float:
    """Seconds until the next try after ``attempts`` failed ones (jitter: x [0.5, 1])."""
    base = min(max_s, BACKOFF_BASE_S * 2 ** min(max(0, attempts - 1), 30))
    return base * (0.5 + 0.5 * (rng or random).random())


def failed(
    session: Session,
    rows: Iterable[Claimed],
    *,
    error: str,
    claimer: str = CLAIMER,
    max_s: float = BACKOFF_MAX_S,
    now: datetime | None = None,
    first_again: bool = False,
) -> None:
    """Sending failed: release the rows with the error and a later next attempt
    (``first_again``: a row that failed its first try may go again at once)."""
    now = now or utcnow()
    for row in rows:
        wait = 0.0 if first_again and row.attempts <= 1 else backoff_s(row.attempts, max_s=max_s)
        session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.id == row.id,
                OutboxItem.delivered_at.is_(None),
                OutboxItem.claimed_by == claimer,  # someone else's claim since: theirs now
            )
            .values(
                claimed_by=None,
                claim_expires_at=None,
                last_error=error[:1000],
                next_attempt_at=now + timedelta(seconds=wait),
            )
            .execution_options(synchronize_session=False)
        )


def prune(session: Session, *, now: datetime | None = None, limit: int = 1000) -> int:
    """Forget delivered rows older than ``KEEP_DELIVERED`` (a bounded batch per call)."""
    cutoff = (now or utcnow()) - KEEP_DELIVERED
    ids = list(
        session.scalars(
            select(OutboxItem.id)
            .where(OutboxItem.delivered_at.is_not(None), OutboxItem.delivered_at < cutoff)
            .limit(limit)
        )
    )
    if ids:
        session.execute(delete(OutboxItem).where(OutboxItem.id.in_(ids)))
    return len(ids)


def due(session: Session, *, partner_id: str, now: datetime | None = None) -> bool:
    """Whether a row for this partner may be claimed now (a cheap check before connecting)."""
    now = now or utcnow()
    return (
        session.scalar(
            select(OutboxItem.id)
            .where(
                OutboxItem.partner_id == partner_id,
                OutboxItem.delivered_at.is_(None),
                OutboxItem.next_attempt_at <= now,
                or_(OutboxItem.claim_expires_at.is_(None), OutboxItem.claim_expires_at < now),
            )
            .limit(1)
        )
        is not None
    )


def pending(session: Session, *, partner_id: str | None = None) -> int:
    """Rows not yet delivered (to one partner, or to all)."""
    query = select(func.count()).select_from(OutboxItem).where(OutboxItem.delivered_at.is_(None))
    if partner_id is not None:
        query = query.where(OutboxItem.partner_id == partner_id)
    return int(session.scalar(query) or 0)
