"""``Idempotency-Key``: a client that lost the reply to a create can retry without a duplicate.

A route that creates records takes the ``Idempotent`` dependency and, in the transaction that
writes the record, calls ``idem.keep(session, reply)``. That stores the reply under (caller,
key) with a fingerprint of the request (method, path, query, body), in the same commit as
the record: either both are there or neither is.

- A retry with the same key and the same request gets the stored reply (same status, same
  record id) and the header ``Idempotent-Replayed: true``; nothing is written again.
- The same key with a different request is refused (422 naming the header).
- Two requests with one key at once: the write lock serialises them; the second finds the
  first's reply in ``keep``, so its own transaction is rolled back and it answers with the
  first's reply. One record.
- A request that fails stores nothing: the client may retry it with the same key.
- Keys are kept 24 hours (``TTL``), then forgotten.

A reply that holds a secret (a new partner's token) is stored sealed with the node key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from sqlalchemy import Integer, String, Text, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from sarhad.core.api import Replay, caller, node
from sarhad.core.auth import Principal
from sarhad.core.db import Base, BigKey, UTCDateTime, lock_writes, utcnow
from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import message
from sarhad.core.sealing import is_sealed, seal, unseal

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"  # printable ASCII without spaces, as UUIDs and ULIDs are

DESCRIPTION = (
    "A unique value per intended request (a UUID is good), to retry safely: a retry with "
    "the same key and the same request within 24 hours returns the first reply (same status "
    "and record, header `Idempotent-Replayed: true`) instead of creating a second record. "
    "The same key with a different request is refused (422). Keys are per account."
)


class StoredReply(Base):
    """The reply to a request made with an ``Idempotency-Key``, kept for retries."""

    __tablename__ = "idempotency_replies"
    __table_args__ = (UniqueConstraint("principal", "key"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    principal: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, path, body
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)  # JSON, or sealed JSON if it holds a secret
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def _mismatch() -> InvalidInput:
    return InvalidInput(
        FieldError.of(
            HEADER,
            message(
                "idempotency.reused",
                "was already used with a different request (method, path or body)",
            ),
        ),
        hint=message(
            "idempotency.reused.hint",
            "send a new key for a new request; reuse a key only to retry the same request",
        ),
    )


def _answer(session: Session, found: StoredReply, fingerprint: str) -> Replay:
    if found.fingerprint != fingerprint:
        raise _mismatch()
    body = unseal(session, found.body) if is_sealed(found.body) else found.body
    return Replay(found.status, json.loads(body or "null"))


def _live(session: Session, principal: str, key: str, now: datetime) -> StoredReply | None:
    return session.scalar(
        select(StoredReply).where(
            StoredReply.principal == principal,
            StoredReply.key == key,
            StoredReply.created_at > now - TTL,
        )
    )


@dataclass(frozen=True)
class Idempotency:
    """The request's key (None without the header), its caller, fingerprint and status."""

    key: str | None
    principal: str
    fingerprint: str
    status: int

    def keep(self, session: Session, reply: Any, *, secret: bool = False) -> None:
        """Store ``reply`` in this transaction; raise ``Replay`` if the key is taken.

        Call it in the transaction that writes the record, after the record is made. If a
        request with the same key committed meanwhile, ``Replay`` rolls this one back and
        answers with that request's reply. ``secret``: the reply is stored sealed.
        """
        if self.key is None:
            return
        lock_writes(session)  # every keep is serialised: the look-up below cannot race
        now = utcnow()
        session.execute(delete(StoredReply).where(StoredReply.created_at <= now - TTL))
        found = _live(session, self.principal, self.key, now)
        if found is not None:
            raise _answer(session, found, self.fingerprint)
        body = json.dumps(jsonable_encoder(reply), ensure_ascii=False, separators=(",", ":"))
        session.add(
            StoredReply(
                principal=self.principal,
                key=self.key,
                fingerprint=self.fingerprint,
                status=self.status,
                body=seal(session, body) if secret else body,
                created_at=now,
            )
        )
        session.flush()


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """SHA-256 of what makes two requests the same one.

    A JSON body counts by its content (keys sorted, spacing ignored), so a client that
    serialises the same object again on retry is still recognised.
    """
    try:
        content = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        content = body
    h = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode()):
        h.update(part + b"\n")
    h.update(content)
    return h.hexdigest()


async def _fingerprint(request: Request) -> str:
    # Async only to read the body (Starlette keeps it, so the route still gets it).
    body = await request.body()
    return fingerprint(request.method, request.url.path, request.url.query, body)


def idempotency(
    request: Request,
    principal: Annotated[Principal, Depends(caller)],
    print_: Annotated[str, Depends(_fingerprint)],
    key: Annotated[
        str | None,
        Header(alias=HEADER, description=DESCRIPTION, pattern=KEY_PATTERN, max_length=255),
    ] = None,
) -> Idempotency:
    """The ``Idempotent`` dependency: replays a stored reply before the route runs at all."""
    route = request.scope.get("route")
    status = getattr(route, "status_code", None) or 200
    idem = Idempotency(key=key, principal=principal.username, fingerprint=print_, status=status)
    if key is not None:
        with node(request).db.session() as session:
            found = _live(session, principal.username, key, utcnow())
            if found is not None:
                raise _answer(session, found, print_)
    return idem


#: Add ``idem: Idempotent`` to a create route and call ``idem.keep(session, reply)``.
Idempotent = Annotated[Idempotency, Depends(idempotency)]
