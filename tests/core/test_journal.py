"""The change log and the hash-chained audit log: ordered, complete, tamper-evident."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError

from sarhad.core.db import Database, lock_writes
from sarhad.core.journal import (
    AuditLog,
    Change,
    ChangeLog,
    audit,
    changes_since,
    entry_hash,
    record,
    record_many,
    verify_audit,
)

#: An audit log written by the journal as it was before issue 15 (audit, record, record_many).
OLD_LOG = Path(__file__).resolve().parents[1] / "data" / "audit-log-before-issue15.json"


def _write(db: Database, n: int, actor: str = "tester") -> None:
    for i in range(n):
        with db.session() as s:
            lock_writes(s)
            record(
                s,
                actor=actor,
                op="create",
                entity="thing",
                entity_id=f"{actor}-{i}",
                version=1,
                detail={"i": i, "text": "تفتان"},
            )


def _tamper(db: Database, sql: str, **params: object) -> None:
    """What a database administrator could do: drop the append-only guard, then edit."""
    with db.engine.begin() as conn:
        if db.backend == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log"))
        conn.execute(text(sql), params)


def test_intact_chain_verifies(db: Database) -> None:
    _write(db, 5)
    with db.session() as s:
        report = verify_audit(s)
    assert report.ok, report.problems
    assert report.entries == 5
    assert len(report.head) == 64


def test_database_refuses_to_edit_or_delete_audit_entries(db: Database) -> None:
    _write(db, 2)
    for sql in ("UPDATE audit_log SET actor = 'someone-else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(sql))
    with db.session() as s:
        assert verify_audit(s).ok


def test_edited_entry_is_detected(db: Database) -> None:
    _write(db, 5)
    _tamper(db, "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3")
    with db.session() as s:
        report = verify_audit(s)
    assert not report.ok
    assert [(p.seq, p.problem) for p in report.problems] == [
        (3, "content was changed after it was written")
    ]


def test_edited_detail_with_recomputed_hash_breaks_the_chain(db: Database) -> None:
    """Rewriting an entry's hash to match its new content still breaks the next link."""
    _write(db, 4)
    with db.session() as s:
        row = s.get(AuditLog, 2)
        forged = entry_hash(
            seq=2,
            at=row.at,
            actor="forger",
            action=row.action,
            entity=row.entity,
            entity_id=row.entity_id,
            version=row.version,
            change_seq=row.change_seq,
            detail=row.detail,
            prev_hash=row.prev_hash,
        )
    _tamper(db, "UPDATE audit_log SET actor = 'forger', hash = :h WHERE seq = 2", h=forged)
    with db.session() as s:
        problems = verify_audit(s).problems
    assert (3, "prev_hash does not match the entry before") in [
        (p.seq, p.problem) for p in problems
    ]


def test_deleted_middle_entry_is_detected(db: Database) -> None:
    _write(db, 5)
    _tamper(db, "DELETE FROM audit_log WHERE seq = 2")
    with db.session() as s:
        problems = [(p.seq, p.problem) for p in verify_audit(s).problems]
    assert (3, "entries 2..2 are missing") in problems
    assert (2, "change 2 has no audit entry (audit entries deleted)") in problems


def test_deleted_newest_entries_are_detected(db: Database) -> None:
    _write(db, 5)
    _tamper(db, "DELETE FROM audit_log WHERE seq >= 4")
    with db.session() as s:
        problems = [p.seq for p in verify_audit(s).problems]
    assert problems == [4, 5]


def test_failed_transaction_leaves_no_change_and_no_audit(db: Database) -> None:
    _write(db, 1)
    with pytest.raises(RuntimeError), db.session() as s:
        lock_writes(s)
        record(s, actor="x", op="create", entity="thing", entity_id="doomed", version=1)
        raise RuntimeError("crash before commit")
    with db.session() as s:
        assert s.scalar(select(ChangeLog).where(ChangeLog.entity_id == "doomed")) is None
        assert verify_audit(s).entries == 1
    _write(db, 1, actor="after")
    with db.session() as s:
        assert [c.seq for c in changes_since(s, 0)] == [1, 2]


def test_concurrent_writers_get_gapless_ordered_sequence(db: Database) -> None:
    threads = [threading.Thread(target=_write, args=(db, 15, f"w{k}")) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.session() as s:
        seqs = [c.seq for c in changes_since(s, 0, limit=1000)]
        report = verify_audit(s)
        audited = s.scalars(select(AuditLog.change_seq).order_by(AuditLog.seq)).all()
    assert seqs == list(range(1, 46))
    assert report.ok, report.problems
    assert audited == seqs  # audit order follows change order


def test_changes_since_resumes_from_a_cursor(db: Database) -> None:
    _write(db, 7)
    with db.session() as s:
        first = changes_since(s, 0, limit=3)
        rest = changes_since(s, first[-1].seq, limit=100)
    assert [c.seq for c in first] == [1, 2, 3]
    assert [c.seq for c in rest] == [4, 5, 6, 7]


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "at": datetime.fromisoformat(r["at"])} for r in rows]


def test_an_audit_log_written_before_still_verifies_and_goes_on(db_url: str) -> None:
    """The hashes of stored entries are what the journal computes today: no entry of a
    running node turns into "content was changed" after an upgrade."""
    old = json.loads(OLD_LOG.read_text(encoding="utf-8"))
    db = Database(db_url)
    try:
        with db.engine.begin() as conn:
            conn.execute(insert(ChangeLog), _rows(old["change_log"]))
            conn.execute(insert(AuditLog), _rows(old["audit_log"]))
        with db.session() as s:
            report = verify_audit(s)
        assert report.ok, report.problems
        assert (report.entries, report.head) == (7, old["audit_log"][-1]["hash"])

        with db.session() as s:
            lock_writes(s)
            assert record(s, actor="a", op="create", entity="thing", entity_id="t", version=1) == 6
        with db.session() as s:
            report = verify_audit(s)
            newest = s.get(AuditLog, 8)
        assert report.ok, report.problems
        assert newest is not None and newest.prev_hash == old["audit_log"][-1]["hash"]
    finally:
        db.dispose()


def test_audit_record_and_batches_share_one_chain(db: Database) -> None:
    """Entries with and without a change, singly and in batches, in one transaction or many."""
    with db.session() as s:
        lock_writes(s)
        audit(s, actor="a", action="node.started", entity="node", entity_id="n")
        first = record(s, actor="a", op="create", entity="thing", entity_id="t1", version=1)
        batch = record_many(
            s,
            [
                Change(actor="b", op="receive", entity="thing", entity_id=f"r{i}", version=1)
                for i in range(3)
            ],
        )
        assert record_many(s, []) == []
    with db.session() as s:
        lock_writes(s)
        last = record(s, actor="a", op="update", entity="thing", entity_id="t1", version=2)
        audit(s, actor="a", action="web.signin", entity="user", entity_id="u", detail={"x": 1})
    assert [first, *batch, last] == [1, 2, 3, 4, 5]
    with db.session() as s:
        report = verify_audit(s)
        rows = s.scalars(select(AuditLog).order_by(AuditLog.seq)).all()
    assert report.ok, report.problems
    assert [r.change_seq for r in rows] == [None, 1, 2, 3, 4, 5, None]
    assert [r.action for r in rows[1:3]] == ["thing.create", "thing.receive"]
    assert all(r.prev_hash == p.hash for p, r in pairwise(rows))
