"""Crossing status: declarations, regular hours, publication and the board of both sides."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.border import BorderProfile
from sarhad.border.model import Place
from sarhad.core.auth import Permission, Principal
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.errors import Conflict, FieldError, InvalidInput, NotFound
from sarhad.core.feed import in_batches
from sarhad.core.journal import record
from sarhad.crossings import notify
from sarhad.crossings.models import Declaration, Hours, Publication
from sarhad.crossings.ports import CrossingPorts
from sarhad.crossings.schemas import (
    BoardRow,
    DeclarationIn,
    DeclarationOut,
    HoursIn,
    HoursOut,
    SideView,
)
from sarhad.crossings.taxonomy import WEEKDAYS, Reason, Status
from sarhad.crossings.timeline import Period, Schedule, combine, next_opening, state_at
from sarhad.incidents import service as incidents

DECLARATION = "crossing_declaration"
HOURS = "crossing_hours"
LOCAL = "local"


# --- places --------------------------------------------------------------------------------


def places(profile: BorderProfile) -> list[Place]:
    """Every crossing point and market of the border profile."""
    return [*profile.crossings, *profile.markets]


def place(profile: BorderProfile, crossing_id: str, *, field: str = "crossing") -> Place:
    """The crossing or market ``crossing_id``; an error naming ``field`` otherwise."""
    for p in places(profile):
        if p.id == crossing_id:
            return p
    known = ", ".join(p.id for p in places(profile))
    raise InvalidInput(
        FieldError(field, f"no crossing or market {crossing_id!r} on this border"),
        hint=f"known: {known} ('sarhad crossings status' lists them)",
    )


def zone_label(profile: BorderProfile, side: str) -> str:
    """``PKT (UTC+05:00)``: the side's local time as staff read it."""
    tz = profile.local_time(side)
    offset = tz.utcoffset(None) or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hh, mm = divmod(abs(minutes), 60)
    return f"{tz.tzname(None)} (UTC{sign}{hh:02d}:{mm:02d})"


def local(at: datetime, tz: tzinfo) -> str:
    """``2026-11-23 06:00 PKT``."""
    t = at.astimezone(tz)
    return f"{t:%Y-%m-%d %H:%M} {t.tzname()}"


# --- declarations --------------------------------------------------------------------------


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
            FieldError("ends_at", f"must be after starts_at ({_span(start, None)[:17]})")
        )
    known = incidents.existing_ids(session, data.incident_ids) if data.incident_ids else set()
    missing = [i for i in data.incident_ids if i not in known]
    if missing:
        problems.append(FieldError("incident_ids", f"no such incident here: {', '.join(missing)}"))
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
            f"starts_at: overlaps our {other.status} declaration {other.id[:8]} "
            f"({_span(other.starts_at, other.ends_at)})",
            hint="end it ('sarhad crossings end') or withdraw it first, or change the times",
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
            f"no declaration {declaration_id!r}", hint="'sarhad crossings history' lists them"
        )
    return row


def _own(row: Declaration) -> None:
    """Refuse (409) to change a declaration the partner made or one already withdrawn."""
    if row.origin != LOCAL:
        raise Conflict(
            f"declaration {row.id[:8]} was declared by {row.origin}: only its own side changes it"
        )
    if row.withdrawn:
        raise Conflict(f"declaration {row.id[:8]} was withdrawn")


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
            f"at: must be after the declaration's start ({_span(row.starts_at, None)[:17]})",
            hint="withdraw it instead if it was entered by mistake",
        )
    if row.ends_at is not None and row.ends_at <= now:
        raise Conflict(f"declaration {row.id[:8]} already ended at {row.ends_at:%Y-%m-%d %H:%M}Z")
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


# --- hours ---------------------------------------------------------------------------------


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def schedule_of(row: Hours, tz: tzinfo) -> Schedule:
    """A stored hours row as a ``Schedule``."""
    opens = _minutes(row.opens)
    return Schedule(
        days=frozenset(row.days),
        opens=time(opens // 60, opens % 60),
        closes_min=_minutes(row.closes),
        tz=tz,
    )


def get_hours(session: Session, *, crossing_id: str, side: str) -> Hours | None:
    """One side's regular hours of one crossing, if set."""
    return session.scalar(select(Hours).where(Hours.crossing_id == crossing_id, Hours.side == side))


def schedule(
    session: Session, profile: BorderProfile, crossing_id: str, side: str
) -> Schedule | None:
    """One side's regular hours as a ``Schedule`` (None: not set, open all day)."""
    row = get_hours(session, crossing_id=crossing_id, side=side)
    return schedule_of(row, profile.local_time(side)) if row is not None else None


def hours_out(row: Hours, profile: BorderProfile) -> HoursOut:
    """The API shape of regular hours."""
    return HoursOut(
        crossing=row.crossing_id,
        side=row.side,
        days=[WEEKDAYS[d] for d in sorted(row.days)],
        opens=row.opens,
        closes=row.closes,
        time_zone=zone_label(profile, row.side),
        origin=row.origin,
        updated_at=row.updated_at,
    )


def store_hours(
    session: Session,
    *,
    crossing_id: str,
    side: str,
    days: list[int],
    opens: str,
    closes: str,
    origin: str,
    actor: str,
    now: datetime,
) -> Hours | None:
    """Insert or update one side's hours; None when nothing changed."""
    row = get_hours(session, crossing_id=crossing_id, side=side)
    if row is None:
        row = Hours(id=str(uuid.uuid4()), crossing_id=crossing_id, side=side, version=0)
        session.add(row)
    elif (sorted(row.days), row.opens, row.closes) == (sorted(days), opens, closes):
        return None
    row.days, row.opens, row.closes = sorted(days), opens, closes
    row.origin, row.version, row.updated_at, row.updated_by = origin, row.version + 1, now, actor
    session.flush()
    record(
        session,
        actor=actor,
        op="set",
        entity=HOURS,
        entity_id=row.id,
        version=row.version,
        detail={"crossing": crossing_id, "side": side, "days": row.days, "opens": opens,
                "closes": closes, "origin": origin},
    )  # fmt: skip
    return row


def set_hours(
    session: Session,
    *,
    crossing_id: str,
    data: HoursIn,
    side: str,
    actor: Principal,
    profile: BorderProfile,
    now: datetime | None = None,
) -> Hours:
    """Set our side's regular hours (and market days) of a crossing or market."""
    actor.require(Permission.CROSSINGS_DECLARE)
    where = place(profile, crossing_id)
    lock_writes(session)
    days = [WEEKDAYS.index(d) for d in data.days]
    store_hours(
        session, crossing_id=where.id, side=side, days=days, opens=data.opens,
        closes=data.closes, origin=LOCAL, actor=actor.username, now=now or utcnow(),
    )  # fmt: skip
    row = get_hours(session, crossing_id=where.id, side=side)
    assert row is not None
    return row


# --- publication ---------------------------------------------------------------------------


def set_published(
    session: Session,
    *,
    crossing_id: str,
    published: bool,
    actor: Principal,
    profile: BorderProfile,
) -> Publication:
    """Switch a crossing's public status on or off (admins only)."""
    actor.require(Permission.CROSSINGS_PUBLISH)
    where = place(profile, crossing_id)
    lock_writes(session)
    row = session.get(Publication, where.id)
    if row is None:
        row = Publication(crossing_id=where.id)
        session.add(row)
    row.published, row.updated_at, row.updated_by = published, utcnow(), actor.username
    session.flush()
    record(
        session,
        actor=actor.username,
        op="publish" if published else "unpublish",
        entity="crossing_publication",
        entity_id=where.id,
        version=1,
        detail={"published": published},
    )
    return row


def published_ids(session: Session) -> set[str]:
    """Crossings and markets an admin has put on the public page."""
    return set(
        session.scalars(select(Publication.crossing_id).where(Publication.published.is_(True)))
    )


# --- the board -----------------------------------------------------------------------------


def _has_data(session: Session, crossing_id: str, side: str) -> bool:
    return (
        get_hours(session, crossing_id=crossing_id, side=side) is not None
        or session.scalar(
            select(Declaration.id)
            .where(Declaration.crossing_id == crossing_id, Declaration.side == side)
            .limit(1)
        )
        is not None
    )


def side_view(
    session: Session, *, profile: BorderProfile, crossing_id: str, side: str, at: datetime
) -> SideView:
    """One side's state of one crossing at ``at``, with its next opening."""
    ps = periods(session, crossing_id=crossing_id, side=side)
    sched = schedule(session, profile, crossing_id, side)
    s = state_at(ps, sched, at)
    return SideView(
        side=side,
        status=s.status,
        reason=s.reason,
        since=s.since,
        until=s.until,
        declared=s.declared,
        declaration_id=s.declaration_id,
        known=_has_data(session, crossing_id, side),
        next_opening=next_opening(ps, sched, at),
    )


def mismatch(ours: SideView, theirs: SideView | None, tz: tzinfo) -> str | None:
    """ "we say open, they say closed since 06:00 PKT" when the sides disagree.

    Flagged only when at least one side has *declared* its state: regular hours that
    differ (each side opens at 08:00 its own time) are shown, not flagged.
    """
    if theirs is None or not theirs.known or ours.status == theirs.status:
        return None
    if not (ours.declared or theirs.declared):
        return None

    def since(v: SideView) -> str:
        return f" since {local(v.since, tz)}" if v.since else ""

    return f"we say {ours.status}{since(ours)}, they say {theirs.status}{since(theirs)}"


def board(
    session: Session,
    *,
    profile: BorderProfile,
    side: str,
    at: datetime | None = None,
    lang: str = "en",
    crossing_ids: Iterable[str] | None = None,
) -> list[BoardRow]:
    """Every crossing and market at ``at``: our view, the partner's, combined, mismatch."""
    at = at or utcnow()
    other = next((s for s in profile.sides if s != side), None)
    wanted = set(crossing_ids) if crossing_ids is not None else None
    shown = published_ids(session)
    rows = []
    for p in places(profile):
        if wanted is not None and p.id not in wanted:
            continue
        ours = side_view(session, profile=profile, crossing_id=p.id, side=side, at=at)
        ours.known = True  # our own side is known even when we set nothing (open all day)
        theirs = (
            side_view(session, profile=profile, crossing_id=p.id, side=other, at=at)
            if other
            else None
        )
        statuses = [ours.status] + ([theirs.status] if theirs and theirs.known else [])
        rows.append(
            BoardRow(
                crossing=p.id,
                kind=p.kind,
                name=p.name(lang),
                ours=ours,
                theirs=theirs,
                combined=combine(statuses),
                mismatch=mismatch(ours, theirs, profile.local_time(side)),
                published=p.id in shown,
                lon=p.lon,
                lat=p.lat,
            )
        )
    return rows


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
