"""The change log (ordered feed of every write) and the hash-chained, append-only audit log.

Both are written by ``record`` (``record_many`` of one) inside the caller's transaction, after
``lock_writes``: a record, its change-log row and its audit entry commit together or not at
all. ``audit`` writes an entry that has no change (a sign-in, a sync). Every entry's hash is
made by ``link`` from the entry before it, and ``verify_audit`` checks it with ``link`` too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, ForeignKey, Integer, String, Table, func, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from sarhad.core.db import Base, BigKey, UTCDateTime, utcnow

GENESIS = "0" * 64


class ChangeLog(Base):
    """One row per write, in commit order; federation and live feeds read it by ``seq``."""

    __tablename__ = "change_log"

    seq: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    entity: Mapped[str] = mapped_column(String(40), index=True)
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    op: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(80))


class AuditLog(Base):
    """Append-only (database triggers refuse UPDATE and DELETE) and hash-chained."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    change_seq: Mapped[int | None] = mapped_column(
        BigKey, ForeignKey("change_log.seq"), nullable=True, index=True
    )
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


#: The tables themselves: their insert() is a plain executemany, where the mapped classes'
#: would run the ORM's bulk path (bookkeeping per row) for the same statement.
_AUDIT = cast(Table, AuditLog.__table__)
_CHANGES = cast(Table, ChangeLog.__table__)


#: json.dumps with these options, the encoder built once (json.dumps builds one per call,
#: and every received record's audit entry is encoded twice).
_SORTED_COMPACT = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def _canonical(row: dict[str, Any]) -> bytes:
    return _SORTED_COMPACT(row).encode()


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    version: int | None,
    change_seq: int | None,
    detail: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 over the canonical JSON of an audit entry, chained to the previous hash."""
    body = {
        "seq": seq,
        # Microsecond ISO form: both backends keep microseconds, so the hash survives a reload.
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "version": version,
        "change_seq": change_seq,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(_canonical(body)).hexdigest()


@dataclass(frozen=True)
class Entry:
    """What one audit entry says, before it has its place in the chain."""

    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    version: int | None
    change_seq: int | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class Link:
    """An entry's place in the chain: its number, the hash before it and its own hash."""

    seq: int
    prev_hash: str
    hash: str


def link(entry: Entry, *, seq: int, prev_hash: str) -> Link:
    """Chain ``entry`` as number ``seq`` after ``prev_hash``: the one place a hash is made.

    Writing (``audit``, ``record``, ``record_many``) and checking (``verify_audit``) both come
    here, so a stored entry verifies exactly when it was written by this function.
    """
    digest = entry_hash(
        seq=seq,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        entity=entry.entity,
        entity_id=entry.entity_id,
        version=entry.version,
        change_seq=entry.change_seq,
        detail=entry.detail,
        prev_hash=prev_hash,
    )
    return Link(seq=seq, prev_hash=prev_hash, hash=digest)


def _head(session: Session) -> tuple[int, str]:
    """The newest entry's (seq, hash), or (0, GENESIS) for an empty log."""
    last = session.execute(
        select(AuditLog.seq, AuditLog.hash).order_by(AuditLog.seq.desc()).limit(1)
    ).first()
    return (last[0], last[1]) if last else (0, GENESIS)


def head(session: Session) -> tuple[int, str]:
    """The newest entry's (seq, hash), or (0, GENESIS) for an empty log: what partners anchor."""
    return _head(session)


def chain_hashes(session: Session, *, after: int, limit: int) -> list[tuple[int, str]]:
    """The (seq, hash) of the entries after ``after``, in order, at most ``limit`` of them.

    What a node sends its partners to hold (``federation.anchors``): the hashes alone say
    nothing of the entries, yet let a partner later name the first one that changed.
    """
    rows = session.execute(
        select(AuditLog.seq, AuditLog.hash)
        .where(AuditLog.seq > after)
        .order_by(AuditLog.seq)
        .limit(limit)
    ).all()
    return [(r[0], r[1]) for r in rows]


def _append(session: Session, entries: Sequence[Entry]) -> list[Link]:
    """Chain ``entries`` after the head and insert them. The caller holds the write lock."""
    seq, prev = _head(session)
    links: list[Link] = []
    for entry in entries:
        seq += 1
        links.append(link(entry, seq=seq, prev_hash=prev))
        prev = links[-1].hash
    if links:
        session.execute(
            insert(_AUDIT),  # Core executemany: no ORM bookkeeping
            [
                {**_columns(e), "seq": k.seq, "prev_hash": k.prev_hash, "hash": k.hash}
                for e, k in zip(entries, links, strict=True)
            ],
        )
    return links


def _columns(entry: Entry) -> dict[str, Any]:
    return {
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "version": entry.version,
        "change_seq": entry.change_seq,
        "detail": entry.detail,
    }


def _stored(detail: dict[str, Any] | None) -> dict[str, Any]:
    """``detail`` as the JSON column gives it back (so its hash survives a reload)."""
    stored: dict[str, Any] = json.loads(_canonical(detail or {}))
    return stored


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    version: int | None = None,
    detail: dict[str, Any] | None = None,
    change_seq: int | None = None,
) -> Link:
    """Append one audit entry; return its place in the chain. The caller holds the write lock."""
    session.flush()  # pending ORM rows first: the insert below must follow them
    entry = Entry(
        at=utcnow(),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        version=version,
        change_seq=change_seq,
        detail=_stored(detail),
    )
    return _append(session, [entry])[0]


def record(
    session: Session,
    *,
    actor: str,
    op: str,
    entity: str,
    entity_id: str,
    version: int,
    detail: dict[str, Any] | None = None,
) -> int:
    """Write a change-log row and its audit entry; return the change sequence number."""
    change = Change(
        actor=actor, op=op, entity=entity, entity_id=entity_id, version=version, detail=detail
    )
    return record_many(session, [change])[0]


def changes_since(session: Session, after_seq: int, *, limit: int = 500) -> list[ChangeLog]:
    """Change-log rows with ``seq > after_seq`` in order: the resumable cursor of every feed."""
    return list(
        session.scalars(
            select(ChangeLog).where(ChangeLog.seq > after_seq).order_by(ChangeLog.seq).limit(limit)
        )
    )


@dataclass
class AuditProblem:
    """One finding of ``verify_audit``."""

    seq: int
    problem: str


@dataclass
class AuditReport:
    """What ``verify_audit`` found; ``ok`` when the chain is intact."""

    entries: int
    head: str
    problems: list[AuditProblem]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_audit(session: Session, *, batch: int = 5000) -> AuditReport:
    """Walk the chain and find edited, inserted, reordered or deleted entries.

    A deleted entry breaks the sequence or the chain; deleting the newest entries is caught
    because every change-log row must have its audit entry.
    """
    problems: list[AuditProblem] = []
    prev_hash, expected_seq, count, after = GENESIS, 1, 0, 0
    while True:
        rows = session.scalars(
            select(AuditLog).where(AuditLog.seq > after).order_by(AuditLog.seq).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            count += 1
            if row.seq != expected_seq:
                problems.append(
                    AuditProblem(row.seq, f"entries {expected_seq}..{row.seq - 1} are missing")
                )
            if row.prev_hash != prev_hash:
                problems.append(AuditProblem(row.seq, "prev_hash does not match the entry before"))
            stored = Entry(
                at=row.at,
                actor=row.actor,
                action=row.action,
                entity=row.entity,
                entity_id=row.entity_id,
                version=row.version,
                change_seq=row.change_seq,
                detail=row.detail,
            )
            if link(stored, seq=row.seq, prev_hash=row.prev_hash).hash != row.hash:
                problems.append(AuditProblem(row.seq, "content was changed after it was written"))
            prev_hash, expected_seq = row.hash, row.seq + 1
        after = rows[-1].seq
    unaudited = session.scalars(
        select(ChangeLog.seq)
        .outerjoin(AuditLog, AuditLog.change_seq == ChangeLog.seq)
        .where(AuditLog.seq.is_(None))
        .order_by(ChangeLog.seq)
        .limit(20)
    ).all()
    problems.extend(
        AuditProblem(s, f"change {s} has no audit entry (audit entries deleted)") for s in unaudited
    )
    return AuditReport(entries=count, head=prev_hash, problems=problems)


@dataclass
class Change:
    """One write for ``record_many``."""

    actor: str
    op: str
    entity: str
    entity_id: str
    version: int
    detail: dict[str, Any] | None = None


def record_many(session: Session, changes: Sequence[Change]) -> list[int]:
    """Write a change-log row and its chained audit entry for each change, in order.

    ``record`` is this for one change. Why a batch: a page of received objects would
    otherwise cost two look-ups and two flushes per record; here the sequence numbers and
    hashes are computed in one pass and each table gets one insert.
    """
    if not changes:
        return []
    session.flush()  # pending ORM rows first: the inserts below must follow them
    last = session.execute(select(func.max(ChangeLog.seq))).scalar() or 0
    seqs = list(range(last + 1, last + 1 + len(changes)))
    at = utcnow()
    session.execute(
        insert(_CHANGES),  # Core executemany: no ORM bookkeeping
        [
            {
                "seq": seq,
                "at": at,
                "entity": c.entity,
                "entity_id": c.entity_id,
                "version": c.version,
                "op": c.op,
                "actor": c.actor,
            }
            for seq, c in zip(seqs, changes, strict=True)
        ],
    )
    _append(
        session,
        [
            Entry(
                at=at,
                actor=c.actor,
                action=f"{c.entity}.{c.op}",
                entity=c.entity,
                entity_id=c.entity_id,
                version=c.version,
                change_seq=seq,
                detail=_stored(c.detail),
            )
            for seq, c in zip(seqs, changes, strict=True)
        ],
    )
    return seqs
