"""Leases: work that must run in one place at a time, held by one process that renews it.

A lease is a row (``leases``): its holder (``host:pid:random``, one per process), an epoch
incremented each time a new holder takes it, and when it expires. Its holder renews it every
``ttl/3``; a holder that dies stops renewing and another process takes the lease once it
expires; a holder that freezes (SIGSTOP, a long pause, a stalled connection) loses it the same
way, and when it wakes its late writes are refused by **fencing**: each transaction that acts
for a lease first runs ``fence(session, lease)``, an UPDATE of the lease row that matches only
while (holder, epoch) are still ours and the lease has not expired. On PostgreSQL the UPDATE
also locks the row until the transaction ends, so no other process can take the lease between
the check and the commit of the writes it guards.

Why not an advisory lock alone: a frozen process keeps it for as long as its connection lives
(measured: docs/operations.md, "Running on many processes").

Time: on PostgreSQL every comparison with ``expires_at`` and every new expiry uses the
database's clock (``clock_timestamp()``), so the hosts' clocks never matter. On SQLite (one
process on one host) the process's own UTC clock is used.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, String, case, func, insert, literal, select, text, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from sarhad.core.db import Base, Database, UTCDateTime, utcnow

log = logging.getLogger("sarhad.leases")


class LeaseRow(Base):
    """Who holds a lease, since which epoch, and until when."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    epoch: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LeaseLost(Exception):
    """A write for a lease this process no longer holds: the transaction is rolled back.

    Not a ``SarhadError`` on purpose: code that reports a partner's errors and goes on must
    let this one through, up to the loop, which stops acting on the lease.
    """

    def __init__(self, lease: Lease) -> None:
        super().__init__(f"lease {lease.name} (epoch {lease.epoch}) is no longer ours")
        self.lease = lease


@dataclass(frozen=True)
class Lease:
    """A lease as this process took it: fencing checks ``holder`` and ``epoch``."""

    name: str
    holder: str
    epoch: int
    ttl_s: float


def process_holder() -> str:
    """This process's holder id: ``host:pid:random`` (the random part tells a reused pid)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _now(session: Session) -> ColumnElement[Any]:
    """The time leases are compared with: the database's clock on PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.clock_timestamp()
    return literal(utcnow(), UTCDateTime())


def _until(session: Session, ttl_s: float) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return func.clock_timestamp() + text(f"interval '{float(ttl_s)} seconds'")
    return literal(utcnow() + timedelta(seconds=ttl_s), UTCDateTime())


def _rows(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def try_acquire(db: Database, name: str, *, holder: str, ttl_s: float) -> Lease | None:
    """Take ``name`` when nobody holds it or its holder let it expire (epoch + 1).

    Already ours and unexpired: renewed, same epoch. Held by another, unexpired: None.
    """
    try:
        with db.session() as s:
            row = s.execute(
                update(LeaseRow)
                .where(
                    LeaseRow.name == name,
                    (LeaseRow.expires_at <= _now(s)) | (LeaseRow.holder == holder),
                )
                .values(
                    holder=holder,
                    # A new holder starts a new epoch; our own lease keeps its epoch (nobody
                    # else acted for it in between, whether or not it had expired).
                    epoch=LeaseRow.epoch
                    + case((LeaseRow.holder == holder, 0), else_=1).cast(BigInteger),
                    expires_at=_until(s, ttl_s),
                    renewed_at=_now(s),
                )
                .returning(LeaseRow.epoch)
            ).first()
            if row is not None:
                return Lease(name, holder, int(row[0]), ttl_s)
            if s.get(LeaseRow, name) is not None:
                return None  # held by another process, not expired
            s.execute(
                insert(LeaseRow).values(
                    name=name,
                    holder=holder,
                    epoch=1,
                    expires_at=_until(s, ttl_s),
                    renewed_at=_now(s),
                )
            )
            return Lease(name, holder, 1, ttl_s)
    except IntegrityError:
        return None  # another process inserted it first: theirs


def renew(db: Database, lease: Lease) -> bool:
    """Push the expiry ``ttl`` ahead if ``lease`` is still ours (holder and epoch); else False.

    An expired lease nobody took since is renewed: its epoch is unchanged, so nobody else
    acted for it in between (its writes in the gap were refused by the fence's expiry check).
    """
    with db.session() as s:
        done = s.execute(
            update(LeaseRow)
            .where(
                LeaseRow.name == lease.name,
                LeaseRow.holder == lease.holder,
                LeaseRow.epoch == lease.epoch,
            )
            .values(expires_at=_until(s, lease.ttl_s), renewed_at=_now(s))
        )
        return _rows(done) == 1


def release(db: Database, lease: Lease) -> None:
    """Give ``lease`` up now (expire it) so another process takes it at its next poll."""
    with db.session() as s:
        s.execute(
            update(LeaseRow)
            .where(
                LeaseRow.name == lease.name,
                LeaseRow.holder == lease.holder,
                LeaseRow.epoch == lease.epoch,
            )
            .values(expires_at=_now(s))
        )


def fence(session: Session, lease: Lease) -> None:
    """Refuse this transaction's writes unless ``lease`` is still ours and unexpired.

    Call first in every transaction that writes for the lease (before ``lock_writes``: the
    lease row is always locked before the write lock, never after, so two such transactions
    cannot deadlock). Raises ``LeaseLost``, which rolls the transaction back.
    """
    done = session.execute(
        update(LeaseRow)
        .where(
            LeaseRow.name == lease.name,
            LeaseRow.holder == lease.holder,
            LeaseRow.epoch == lease.epoch,
            LeaseRow.expires_at > _now(session),
        )
        .values(renewed_at=LeaseRow.renewed_at)  # a no-op write: it takes the row lock
    )
    if _rows(done) != 1:
        raise LeaseLost(lease)


def holders(session: Session) -> list[LeaseRow]:
    """Every lease row (for operators: who holds what, until when)."""
    return list(session.scalars(select(LeaseRow).order_by(LeaseRow.name)))


class LeaseKeeper:
    """This process's leases: taken on demand, renewed every ``renew_s`` by a thread.

    A renewal that finds the lease taken (or the database unreachable for longer than the
    lease lasts) drops it: the loops stop acting on it and try to take it again later.
    """

    def __init__(
        self, db: Database, *, ttl_s: float, renew_s: float, holder: str | None = None
    ) -> None:
        self.db, self.ttl_s, self.renew_s = db, ttl_s, renew_s
        self.holder = holder or process_holder()
        self._held: dict[str, Lease] = {}
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sarhad-leases", daemon=True)

    def start(self) -> None:
        """Start renewing."""
        if not self._thread.is_alive():
            self._thread.start()

    def held(self) -> list[str]:
        """The names of the leases this process holds now."""
        with self._guard:
            return sorted(self._held)

    def get(self, name: str) -> Lease | None:
        """The lease ``name`` if this process holds it, else take it if free; None if not."""
        with self._guard:
            lease = self._held.get(name)
        if lease is not None:
            return lease
        try:
            lease = try_acquire(self.db, name, holder=self.holder, ttl_s=self.ttl_s)
        except SQLAlchemyError as exc:
            log.warning("lease %s not taken: database error: %s", name, exc)
            return None
        if lease is not None:
            log.info("lease %s taken by %s (epoch %d)", name, self.holder, lease.epoch)
            with self._guard:
                self._held[name] = lease
        return lease

    def lost(self, lease: Lease, why: str) -> None:
        """Stop acting on ``lease`` (a fence refused a write, or a renewal failed)."""
        with self._guard:
            if self._held.get(lease.name) == lease:
                del self._held[lease.name]
        log.warning("lease %s (epoch %d) lost by %s: %s", lease.name, lease.epoch, self.holder, why)

    def drop(self, name: str) -> None:
        """Release ``name`` if held (the work it guarded is gone, or this process stops)."""
        with self._guard:
            lease = self._held.pop(name, None)
        if lease is not None:
            try:
                release(self.db, lease)
            except SQLAlchemyError as exc:
                log.warning("lease %s not released (it will expire): %s", name, exc)

    def renew_all(self) -> None:
        """One renewal of every held lease."""
        with self._guard:
            leases = list(self._held.values())
        for lease in leases:
            try:
                ok = renew(self.db, lease)
            except SQLAlchemyError as exc:
                # Not dropped yet: the database may be back before the lease expires; the
                # fence refuses any write after expiry anyway.
                log.warning("lease %s not renewed: database error: %s", lease.name, exc)
                continue
            if not ok:
                self.lost(lease, "taken by another process while this one did not renew it")

    def stop(self) -> None:
        """Stop renewing and release every lease (another process takes them at once)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.renew_s + 5)
        for name in self.held():
            self.drop(name)

    def _run(self) -> None:
        while not self._stop.wait(self.renew_s):
            try:
                self.renew_all()
            except Exception:  # the renewer must outlive any one failure
                log.exception("lease renewal failed")


def fenced(lease: Lease) -> Callable[[Session], None]:
    """``fence`` bound to ``lease``: what lease-held work passes to the code that writes."""

    def check(session: Session) -> None:
        fence(session, lease)

    return check
