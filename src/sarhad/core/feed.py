"""The live feed: new and changed records read from the change log, as server-sent events.

Each event's ``id`` is the change-log sequence number, so a client that reconnects with
``Last-Event-ID`` (browsers do it by themselves) resumes exactly after the last event it
saw: nothing skipped, nothing twice. Rooms describe their own records (``Describer``), so
core knows no room.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from sarhad.core.api import caller, media, node, responses
from sarhad.core.auth import Permission, Principal
from sarhad.core.errors import FieldError, Forbidden, InvalidInput
from sarhad.core.i18n import message
from sarhad.core.journal import ChangeLog
from sarhad.core.labels import word

#: Summaries of many records of one kind at once: ids → {id: summary} (missing: no summary).
Describer = Callable[[Session, list[str]], dict[str, dict[str, Any]]]
POLL_S = 0.25
HEARTBEAT_S = 15.0
SCAN = 500
BATCH = 500


def closing_event(app: Any) -> threading.Event:
    """Set when the app's server begins to stop (``core.serving.NodeServer``): open streams
    end then, so their requests finish within the grace period instead of being cancelled."""
    event: threading.Event | None = getattr(app.state, "closing", None)
    if event is None:
        event = threading.Event()
        app.state.closing = event
    return event


@dataclass(frozen=True)
class FeedSource:
    """One kind of record in the feed: who may see it and how to summarise it."""

    permission: Permission
    describe: Describer


class FeedSources(dict[str, FeedSource]):
    """The node's feed port: what the live feed streams, by change-log entity."""


@dataclass
class FeedEvent:
    """One change of one record."""

    seq: int
    at: datetime
    entity: str
    entity_id: str
    op: str
    version: int
    summary: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "entity": self.entity,
            "id": self.entity_id,
            "op": self.op,
            "version": self.version,
            "summary": self.summary,
        }

    def sse(self) -> str:
        """The event in text/event-stream form."""
        data = json.dumps(self.as_dict(), ensure_ascii=False, separators=(",", ":"))
        return f"id: {self.seq}\nevent: {self.entity}\ndata: {data}\n\n"


def in_batches(ids: Sequence[str], size: int = BATCH) -> Iterator[list[str]]:
    """``ids`` in slices short enough for the IN list of any backend: a describer is handed
    every id of one read of the change log (up to ``SCAN``), of any kind mix."""
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def head(session: Session) -> int:
    """The newest change-log sequence number (0 on an empty node)."""
    return session.scalar(select(func.max(ChangeLog.seq))) or 0


def fetch(
    session: Session,
    *,
    after: int,
    sources: dict[str, FeedSource],
    limit: int = SCAN,
) -> tuple[list[FeedEvent], int]:
    """Events after ``after`` for the entities in ``sources``; (events, position scanned to).

    The position can pass the last event (changes of other entities are skipped), so a
    caller keeps it to avoid scanning the same unrelated rows again.
    """
    rows = list(
        session.scalars(
            select(ChangeLog).where(ChangeLog.seq > after).order_by(ChangeLog.seq).limit(limit)
        )
    )
    if not rows:
        return [], after
    wanted = [r for r in rows if r.entity in sources]
    summaries: dict[str, dict[str, dict[str, Any]]] = {}
    for entity, source in sources.items():
        ids = list(dict.fromkeys(r.entity_id for r in wanted if r.entity == entity))
        if ids:
            summaries[entity] = source.describe(session, ids)
    events = [
        FeedEvent(
            seq=r.seq,
            at=r.at,
            entity=r.entity,
            entity_id=r.entity_id,
            op=r.op,
            version=r.version,
            summary=summaries.get(r.entity, {}).get(r.entity_id),
        )
        for r in wanted
    ]
    return events, rows[-1].seq


def visible_sources(sources: dict[str, FeedSource], principal: Principal) -> dict[str, FeedSource]:
    """The kinds of records this caller may see."""
    return {k: v for k, v in sources.items() if principal.can(v.permission)}


router = APIRouter(tags=["feed"])


def _start(raw: str | None, field: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise InvalidInput(
            FieldError.of(
                field, message("feed.bad_start", "must be a change number this node sent as an id")
            )
        )
    return int(raw)


@router.get(
    "/feed",
    response_class=StreamingResponse,
    responses={
        **media("text/event-stream", description="Server-sent events, until the client leaves"),
        **responses(422),
    },
)
async def feed(
    request: Request,
    principal: Annotated[Principal, Depends(caller)],
    after: Annotated[
        str | None,
        Query(description="Start after this change number (default: from now on; 0: all)"),
    ] = None,
    entities: Annotated[
        str | None, Query(description="Comma-separated kinds, e.g. alert,incident (default all)")
    ] = None,
) -> StreamingResponse:
    """Server-sent events of new and changed incidents and alerts, resumable by Last-Event-ID."""
    n = node(request)
    every = n.ports.find(FeedSources) or FeedSources()
    sources = visible_sources(every, principal)
    if entities:
        asked = {e.strip() for e in entities.split(",") if e.strip()}
        unknown = asked - set(every)
        if unknown:
            raise InvalidInput(
                FieldError.of(
                    "entities",
                    message("feed.unknown", "unknown: {names}", names=", ".join(sorted(unknown))),
                ),
                hint=message("feed.choose", "choose from {names}", names=", ".join(sorted(every))),
            )
        sources = {k: v for k, v in sources.items() if k in asked}
    if not sources:
        raise Forbidden(
            message(
                "feed.forbidden",
                "role {role} may not read any record of the live feed",
                role=word("role", principal.role),
            )
        )
    start = _start(request.headers.get("last-event-id"), "Last-Event-ID")
    if start is None:
        start = _start(after, "after")
    if start is None:
        with n.db.session() as session:
            start = head(session)

    closing = closing_event(request.app)

    async def stream() -> AsyncIterator[str]:
        position, beat = start, time.monotonic()
        yield "retry: 2000\n\n"
        # Until the client leaves or the server stops (the client reconnects to another).
        while not closing.is_set() and not await request.is_disconnected():

            def read(position: int = position) -> tuple[list[FeedEvent], int]:
                with n.db.session() as session:
                    return fetch(session, after=position, sources=sources)

            events, position = await run_in_threadpool(read)
            for event in events:
                yield event.sse()
            if events:
                beat = time.monotonic()
                continue
            if time.monotonic() - beat > HEARTBEAT_S:
                yield ": keep-alive\n\n"
                beat = time.monotonic()
            await asyncio.sleep(POLL_S)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
