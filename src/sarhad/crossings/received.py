"""Crossing data a partner declared and sent us: checked, then stored beside ours.

The federation room parses the STIX objects into the plain values below; these functions
check them against the border profile and the partner's side and store them idempotently
(an older or equal version changes nothing). Errors are ``InvalidInput`` (quarantined).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.border import BorderProfile
from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import message
from sarhad.core.labels import word
from sarhad.core.times import require_plausible
from sarhad.crossings.declarations import DECLARATION, record_declaration
from sarhad.crossings.flows import store_day
from sarhad.crossings.hours import get_hours, store_hours
from sarhad.crossings.models import Declaration, Throughput
from sarhad.crossings.places import place


@dataclass(frozen=True)
class InboundDeclaration:
    """A partner's declaration as the federation room parsed it."""

    id: str
    crossing_id: str
    side: str
    status: str
    reason: str
    note: str | None
    starts_at: datetime
    ends_at: datetime | None
    planned: bool
    incident_ids: tuple[str, ...]
    tlp: str
    withdrawn: bool
    version: int
    created_at: datetime
    modified: datetime


def _check(profile: BorderProfile, crossing_id: str, side: str, partner_side: str) -> str:
    where = place(profile, crossing_id)
    if side != partner_side:
        raise InvalidInput(
            FieldError.of(
                "side",
                message(
                    "crossings.wrong_side",
                    "{side} declared by a partner that speaks for {partner_side}",
                    side=word("side", side),
                    partner_side=word("side", partner_side),
                ),
            )
        )
    return where.id


def receive_declaration(
    session: Session,
    *,
    data: InboundDeclaration,
    partner_name: str,
    partner_node_id: str | None,
    partner_side: str,
    profile: BorderProfile,
) -> bool:
    """Store a partner's declaration (or a newer version of it); False if we had it already."""
    crossing_id = _check(profile, data.crossing_id, data.side, partner_side)
    require_plausible(planned={"starts_at": data.starts_at, "ends_at": data.ends_at})
    if data.ends_at is not None and data.ends_at <= data.starts_at:
        raise InvalidInput(
            FieldError.of(
                "ends_at", message("crossings.ends_after_starts", "must be after starts_at")
            )
        )
    origin = f"partner:{partner_name}"
    row = session.get(Declaration, data.id)
    if row is not None:
        if row.origin != origin:
            raise InvalidInput(
                FieldError.of(
                    "id",
                    message(
                        "crossings.not_partners", "names a declaration this partner did not make"
                    ),
                )
            )
        if row.version >= data.version:
            return False
    else:
        row = Declaration(id=data.id, created_at=data.created_at, created_by=origin)
        session.add(row)
    row.crossing_id, row.side, row.status, row.reason = (
        crossing_id,
        data.side,
        data.status,
        data.reason,
    )
    row.note, row.starts_at, row.ends_at, row.planned = (
        data.note,
        data.starts_at,
        data.ends_at,
        data.planned,
    )
    row.incident_ids, row.tlp, row.withdrawn = list(data.incident_ids), data.tlp, data.withdrawn
    row.origin, row.origin_node_id = origin, partner_node_id
    row.version, row.updated_at = data.version, data.modified
    session.flush()
    record_declaration(session, row, op="receive", actor=origin)
    return True


def receive_hours(
    session: Session,
    *,
    crossing_id: str,
    side: str,
    days: list[int],
    opens: str,
    closes: str,
    partner_name: str,
    partner_side: str,
    profile: BorderProfile,
    modified: datetime,
) -> bool:
    """Store a partner's regular hours; False when they were already so."""
    crossing_id = _check(profile, crossing_id, side, partner_side)
    origin = f"partner:{partner_name}"
    held = get_hours(session, crossing_id=crossing_id, side=side)
    if held is not None and held.origin == origin and held.updated_at >= modified:
        return False  # an older version arriving late (e.g. from an old bundle)
    row = store_hours(
        session, crossing_id=crossing_id, side=side, days=days, opens=opens, closes=closes,
        origin=origin, actor=origin, now=modified,
    )  # fmt: skip
    return row is not None


def receive_throughput(
    session: Session,
    *,
    crossing_id: str,
    side: str,
    day: date,
    values: dict[str, Any],
    partner_name: str,
    partner_node_id: str | None,
    partner_side: str,
    profile: BorderProfile,
    modified: datetime,
) -> bool:
    """Store a partner's day of throughput (``values`` already checked by ``ThroughputIn``)."""
    crossing_id = _check(profile, crossing_id, side, partner_side)
    origin = f"partner:{partner_name}"
    held = session.scalar(
        select(Throughput).where(
            Throughput.crossing_id == crossing_id, Throughput.side == side, Throughput.day == day
        )
    )
    if held is not None and held.origin == origin and held.updated_at >= modified:
        return False  # an older version arriving late (e.g. from an old bundle)
    _row, outcome = store_day(
        session, crossing_id=crossing_id, side=side, day=day, values=values, origin=origin,
        origin_node_id=partner_node_id, actor=origin, now=modified,
    )  # fmt: skip
    return outcome != "unchanged"


__all__ = [
    "DECLARATION",
    "InboundDeclaration",
    "receive_declaration",
    "receive_hours",
    "receive_throughput",
]
