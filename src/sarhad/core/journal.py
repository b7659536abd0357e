"""The change log (ordered feed of every write) and the hash-chained, append-only audit log.

Both are written by ``record`` inside the caller's transaction, after ``lock_writes``: a
record, its change-log row and its audit entry commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, func, insert, select
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


def _canonical(row: dict[str, Any]) -> bytes:
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


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
) -> AuditLog:
    """Append one audit entry. The caller holds the write lock (``lock_writes``)."""
    last = session.execute(
        select(AuditLog.seq, AuditLog.hash).order_by(AuditLog.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = utcnow()
    detail = json.loads(_canonical(detail or {}))  # normalise to what the JSON column returns
    row = AuditLog(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        version=version,
        change_seq=change_seq,
        detail=detail,
        prev_hash=prev,
        hash=entry_hash(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            version=version,
            change_seq=change_seq,
            detail=detail,
            prev_hash=prev,
        ),
    )
    session.add(row)
    session.flush()
    return row


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
    seq = (session.execute(select(func.max(ChangeLog.seq))).scalar() or 0) + 1
    session.add(
        ChangeLog(
            seq=seq,
            at=utcnow(),
            entity=entity,
            entity_id=entity_id,
            version=version,
            op=op,
            actor=actor,
        )
    )
    session.flush()
    audit(
        session,
        actor=actor,
        action=f"{entity}.{op}",
        entity=entity,
        entity_id=entity_id,
        version=version,
        detail=detail,
        change_seq=seq,
    )
    return seq


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
            recomputed = entry_hash(
                seq=row.seq,
                at=row.at,
                actor=row.actor,
                action=row.action,
                entity=row.entity,
                entity_id=row.entity_id,
                version=row.version,
                change_seq=row.change_seq,
                detail=row.detail,
                prev_hash=row.prev_hash,
            )
            if recomputed != row.hash:
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
    detail: dict[str, Any]


def record_many(session: Session, changes: list[Change]) -> list[int]:
    """``record`` for a batch: one change-log row and one chained audit entry per change.

    Why: a page of received objects would otherwise cost two look-ups and two flushes per
    record; here the sequence numbers and hashes are computed in one pass.
    """
    if not changes:
        return []
    seq = session.execute(select(func.max(ChangeLog.seq))).scalar() or 0
    last = session.execute(
        select(AuditLog.seq, AuditLog.hash).order_by(AuditLog.seq.desc()).limit(1)
    ).first()
    aseq, prev = (last[0], last[1]) if last else (0, GENESIS)
    at = utcnow()
    seqs, logs, audits = [], [], []
    for c in changes:
        seq += 1
        aseq += 1
        detail = json.loads(_canonical(c.detail))
        action = f"{c.entity}.{c.op}"
        digest = entry_hash(
            seq=aseq,
            at=at,
            actor=c.actor,
            action=action,
            entity=c.entity,
            entity_id=c.entity_id,
            version=c.version,
            change_seq=seq,
            detail=detail,
            prev_hash=prev,
        )
        logs.append(
            {
                "seq": seq,
                "at": at,
                "entity": c.entity,
                "entity_id": c.entity_id,
                "version": c.version,
                "op": c.op,
                "actor": c.actor,
            }
        )
        audits.append(
            {
                "seq": aseq,
                "at": at,
                "actor": c.actor,
                "action": action,
                "entity": c.entity,
                "entity_id": c.entity_id,
                "version": c.version,
                "change_seq": seq,
                "detail": detail,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
        seqs.append(seq)
    session.flush()  # pending ORM rows first: the Core inserts below must follow them
    session.execute(insert(ChangeLog.__table__), logs)
    session.execute(insert(AuditLog.__table__), audits)
    return seqs
