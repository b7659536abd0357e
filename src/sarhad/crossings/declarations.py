"""Each side's status declarations: declare, end, withdraw, list; closure alerts via ``notify``.

A declaration is stored with its change-log row and audit entry in the caller's transaction;
``periods`` hands them to the pure ``timeline``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.border import BorderProfile
from sarhad.core.auth import Permission, Principal
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.errors import Conflict, FieldError, InvalidInput, NotFound
from sarhad.core.feed import in_batches
from sarhad.core.i18n import message
from sarhad.core.journal import record
from sarhad.core.labels import word
from sarhad.crossings import notify
from sarhad.crossings.models import Declaration
from sarhad.crossings.places import place
from sarhad.crossings.ports import CrossingPorts
from sarhad.crossings.schemas import DeclarationIn, DeclarationOut
from sarhad.crossings.taxonomy import LOCAL, Reason, Status
from sarhad.crossings.timeline import Period
from sarhad.incidents import service as incidents

DECLARATION = "crossing_declaration"


def declaration_out(row: Declaration) -> DeclarationOut:
    """The API shape of a declaration."""
    return DeclarationOut(
        id=row.id,
        crossing=row.crossing_id,
        side=row.side,
        status=row.status,
        reason=row.reason,
        note=row.note,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        planned=row.planned,
        incident_ids=list(row.incident_ids or []),
        tlp=row.tlp,
        withdrawn=row.withdrawn,
        origin=row.origin,
        version=row.version,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
    )


def record_declaration(session: Session, row: Declaration, *, op: str, actor: str) -> None:
    """Write the change-log row and audit entry of a declaration change."""
    record(
        session,
        actor=actor,
        op=op,
        entity=DECLARATION,
        entity_id=row.id,
        version=row.version,
        detail={
            "crossing": row.crossing_id,
            "side": row.side,
            "status": row.status,
            "reason": row.reason,
            "starts_at": row.starts_at.isoformat(),
            "ends_at": row.ends_at.isoformat() if row.ends_at else None,
            "withdrawn": row.withdrawn,
            "origin": row.origin,
        },
    )


def _span(start: datetime, end: datetime | None) -> str:
    return f"{start:%Y-%m-%d %H:%M}Z to {f'{end:%Y-%m-%d %H:%M}Z' if end else 'further notice'}"


def _overlaps(a0: datetime, a1: datetime | None, b0: datetime, b1: datetime | None) -> bool:
    return (a1 is None or b0 < a1) and (b1 is None or a0 < b1)


def declarations_of(
    session: Session, *, crossing_id: str, side: str, include_withdrawn: bool = False
) -> list[Declaration]:
    """One side's declarations for one crossing, oldest first."""
    q = select(Declaration).where(Declaration.crossing_id == crossing_id, Declaration.side == side)
    if not include_withdrawn:
        q = q.where(Declaration.withdrawn.is_(False))
    return list(session.scalars(q.order_by(Declaration.starts_at, Declaration.created_at)))


def declare(
    session: Session,
    *,
    data: DeclarationIn,
    side: str,
    actor: Principal,
    profile: BorderProfile,
    ports: CrossingPorts | None = None,
    now: datetime | None = None,
) -> Declaration:
    """Store our side's new status for a crossing; closures and reopenings alert partners.

    A declaration still running without an end is ended where the new one starts (so
    "closed from 06:00" followed by "restricted from 14:00" needs no separate step); any
    other overlap with our own declarations is refused, naming ``starts_at``.
    """
    actor.require(Permission.CROSSINGS_DECLARE)
    now = now or utcnow()
    problems: list[FieldError] = []
    try:
        where = place(profile, data.crossing)
    except InvalidInput as exc:
        problems += exc.errors
        where = None
    start = data.starts_at or now
    if data.ends_at is not None and data.ends_at <= start:
        problems.append(
            FieldError(
                "ends_at",
                message(
                    "crossings.ends_before_start",
                    "must be after starts_at ({start})",
                    start=_span(start, None)[:17],
                ),
            )
        )
    known = incidents.existing_ids(session, data.incident_ids) if data.incident_ids else set()
    missing = [i for i in data.incident_ids if i not in known]
    if missing:
        problems.append(
            FieldError(
                "incident_ids",
                message(
                    "error.no_such_incidents",
                    "no such incident here: {ids}",
                    ids=", ".join(missing),
                ),
            )
        )
    if problems:
        raise InvalidInput(problems)
    assert where is not None
    lock_writes(session)
    superseded = []
    for other in declarations_of(session, crossing_id=where.id, side=side):
        if not _overlaps(start, data.ends_at, other.starts_at, other.ends_at):
            continue
        if other.ends_at is None and other.starts_at < start:
            superseded.append(other)
            continue
        # A clash with what is stored (not a bad value in itself): 409, naming the field.
        raise Conflict(
            message(
                "crossings.overlap",
                "starts_at: overlaps our {status} declaration {id} ({span})",
                status=word("crossing_status", other.status),
                id=other.id[:8],
                span=_span(other.starts_at, other.ends_at),
            ),
            hint=message(
                "crossings.overlap.hint",
                "end it ('sarhad crossings end') or withdraw it first, or change the times",
            ),
        )
    # The declaration in force where the new one starts, if any, is the one it supersedes.
    before = superseded[-1].status if superseded else None
    for other in superseded:
        other.ends_at = start
        other.version += 1
        other.updated_at = now
        record_declaration(session, other, op="end", actor=actor.username)
    row = Declaration(
        id=str(uuid.uuid4()),
        crossing_id=where.id,
        side=side,
        status=data.status.value,
        reason=(data.reason or Reason.OTHER).value,
        note=data.note or None,
        starts_at=start,
        ends_at=data.ends_at,
        planned=start > now + notify.PLANNED_AHEAD,
        incident_ids=list(data.incident_ids),
        tlp=data.tlp.value,
        withdrawn=False,
        origin=LOCAL,
        origin_node_id=None,
        version=1,
        created_at=now,
        created_by=actor.username,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    record_declaration(session, row, op="declare", actor=actor.username)
    if ports is not None:
        notify.on_declared(
            session, row=row, place=where, before=before, ports=ports,
            actor=actor, profile=profile, now=now,
        )  # fmt: skip
    return row


def get_declaration(session: Session, *, declaration_id: str) -> Declaration:
    """A declaration by id or unique prefix (8+ characters)."""
    row = session.get(Declaration, declaration_id)
    if row is None and len(declaration_id) >= 8:
        found = list(
            session.scalars(
                select(Declaration).where(Declaration.id.startswith(declaration_id)).limit(2)
            )
        )
        row = found[0] if len(found) == 1 else None
    if row is None:
        raise NotFound(
            message("crossings.no_declaration", "no declaration {id}", id=repr(declaration_id)),
            hint=message("crossings.history_hint", "'sarhad crossings history' lists them"),
        )
    return row


def _own(row: Declaration) -> None:
    """Refuse (409) to change a declaration the partner made or one already withdrawn."""
    if row.origin != LOCAL:
        raise Conflict(
            message(
                "crossings.not_ours",
                "declaration {id} was declared by {origin}: only its own side changes it",
                id=row.id[:8],
                origin=row.origin,
            )
        )
    if row.withdrawn:
        raise Conflict(
            message("crossings.withdrawn", "declaration {id} was withdrawn", id=row.id[:8])
        )


def end_declaration(
    session: Session,
    *,
    declaration_id: str,
    at: datetime | None,
    actor: Principal,
    profile: BorderProfile,
    ports: CrossingPorts | None = None,
    now: datetime | None = None,
) -> Declaration:
    """End one of our declarations at ``at`` (default now): a reopening, for a closure."""
    actor.require(Permission.CROSSINGS_DECLARE)
    now = now or utcnow()
    lock_writes(session)
    row = get_declaration(session, declaration_id=declaration_id)
    _own(row)
    end = at or now
    if end <= row.starts_at:
        raise Conflict(
            message(
                "crossings.end_before_start",
                "at: must be after the declaration's start ({start})",
                start=_span(row.starts_at, None)[:17],
            ),
            hint=message(
                "crossings.end_before_start.hint",
                "withdraw it instead if it was entered by mistake",
            ),
        )
    if row.ends_at is not None and row.ends_at <= now:
        raise Conflict(
            message(
                "crossings.ended_already",
                "declaration {id} already ended at {end}",
                id=row.id[:8],
                end=f"{row.ends_at:%Y-%m-%d %H:%M}Z",
            )
        )
    row.ends_at = end
    row.version += 1
    row.updated_at = now
    session.flush()
    record_declaration(session, row, op="end", actor=actor.username)
    if ports is not None and row.status != Status.OPEN:
        notify.on_reopened(
            session, row=row, place=place(profile, row.crossing_id), ports=ports,
            actor=actor, profile=profile, now=now,
        )  # fmt: skip
    return row


def withdraw_declaration(
    session: Session, *, declaration_id: str, actor: Principal, now: datetime | None = None
) -> Declaration:
    """Withdraw one of our declarations entered by mistake (it stays in the history, marked)."""
    actor.require(Permission.CROSSINGS_DECLARE)
    now = now or utcnow()
    lock_writes(session)
    row = get_declaration(session, declaration_id=declaration_id)
    _own(row)
    row.withdrawn = True
    row.version += 1
    row.updated_at = now
    session.flush()
    record_declaration(session, row, op="withdraw", actor=actor.username)
    return row


def list_declarations(
    session: Session,
    *,
    crossing_id: str | None = None,
    side: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    include_withdrawn: bool = False,
) -> list[Declaration]:
    """Declarations (both sides) meeting [start, end), newest start first."""
    q = select(Declaration)
    if crossing_id:
        q = q.where(Declaration.crossing_id == crossing_id)
    if side:
        q = q.where(Declaration.side == side)
    if not include_withdrawn:
        q = q.where(Declaration.withdrawn.is_(False))
    if end is not None:
        q = q.where(Declaration.starts_at < end)
    if start is not None:
        q = q.where((Declaration.ends_at.is_(None)) | (Declaration.ends_at > start))
    return list(session.scalars(q.order_by(Declaration.starts_at.desc())))


def _period(row: Declaration) -> Period:
    return Period(row.id, row.status, row.reason, row.starts_at, row.ends_at)


def periods(session: Session, *, crossing_id: str, side: str) -> list[Period]:
    """One side's declarations in force (not withdrawn) as plain periods."""
    return [_period(d) for d in declarations_of(session, crossing_id=crossing_id, side=side)]


def describe(session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Short summaries of declarations for the live feed."""
    rows = [
        r
        for batch in in_batches(ids)
        for r in session.scalars(select(Declaration).where(Declaration.id.in_(batch)))
    ]
    return {
        r.id: {
            "crossing": r.crossing_id,
            "side": r.side,
            "status": r.status,
            "reason": r.reason,
            "starts_at": r.starts_at.isoformat(),
            "ends_at": r.ends_at.isoformat() if r.ends_at else None,
            "withdrawn": r.withdrawn,
        }
        for r in rows
    }
