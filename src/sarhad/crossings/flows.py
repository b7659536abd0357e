"""Daily throughput at a crossing: staff entry, CSV import (all or nothing), seizures.

Seizures are never typed here: they come from the incident log (incidents whose nearest
crossing is this one, within ``crossing_seizure_km``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from sarhad.border import BorderProfile
from sarhad.core.auth import Permission, Principal
from sarhad.core.csvfile import read_table
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.errors import FieldError, InvalidInput, from_validation
from sarhad.core.i18n import message
from sarhad.core.journal import record
from sarhad.crossings.models import Throughput
from sarhad.crossings.places import place
from sarhad.crossings.schemas import ThroughputIn, ThroughputOut
from sarhad.crossings.taxonomy import LOCAL
from sarhad.incidents.models import Incident

THROUGHPUT = "crossing_throughput"
COUNTS = ("vehicles", "trucks", "pedestrians", "fuel_litres")
GOODS = ("commodity", "quantity", "unit", "value", "currency")
CSV_COLUMNS = ("crossing", "date", *COUNTS, *GOODS, "tlp")
CSV_REQUIRED = ("crossing", "date")


def throughput_out(row: Throughput) -> ThroughputOut:
    """The API shape of one day's throughput."""
    return ThroughputOut(
        id=row.id,
        crossing=row.crossing_id,
        side=row.side,
        day=row.day,
        vehicles=row.vehicles,
        trucks=row.trucks,
        pedestrians=row.pedestrians,
        fuel_litres=row.fuel_litres,
        goods=list(row.goods or []),
        tlp=row.tlp,
        origin=row.origin,
        version=row.version,
        updated_at=row.updated_at,
    )


def _values(data: ThroughputIn) -> dict[str, Any]:
    return {
        "vehicles": data.vehicles,
        "trucks": data.trucks,
        "pedestrians": data.pedestrians,
        "fuel_litres": float(data.fuel_litres),
        "goods": [g.model_dump(mode="json", exclude_none=True) for g in data.goods],
        "tlp": data.tlp.value,
    }


def store_day(
    session: Session,
    *,
    crossing_id: str,
    side: str,
    day: date,
    values: dict[str, Any],
    origin: str,
    origin_node_id: str | None,
    actor: str,
    now: datetime,
) -> tuple[Throughput, str]:
    """Insert or replace one side's day; returns (row, "created" | "updated" | "unchanged")."""
    row = session.scalar(
        select(Throughput).where(
            Throughput.crossing_id == crossing_id, Throughput.side == side, Throughput.day == day
        )
    )
    if row is None:
        row = Throughput(
            id=str(uuid.uuid4()), crossing_id=crossing_id, side=side, day=day, version=0
        )
        session.add(row)
        outcome = "created"
    elif all(getattr(row, k) == v for k, v in values.items()):
        return row, "unchanged"
    else:
        outcome = "updated"
    for key, value in values.items():
        setattr(row, key, value)
    row.origin, row.origin_node_id = origin, origin_node_id
    row.version, row.updated_at, row.updated_by = row.version + 1, now, actor
    session.flush()
    record(
        session,
        actor=actor,
        op=outcome.removesuffix("d"),
        entity=THROUGHPUT,
        entity_id=row.id,
        version=row.version,
        detail={"crossing": crossing_id, "side": side, "day": day.isoformat(), "origin": origin},
    )
    return row, outcome


def record_throughput(
    session: Session,
    *,
    data: ThroughputIn,
    side: str,
    actor: Principal,
    profile: BorderProfile,
    now: datetime | None = None,
) -> tuple[Throughput, str]:
    """Enter (or correct) our side's figures for one day."""
    actor.require(Permission.CROSSINGS_RECORD)
    where = place(profile, data.crossing)
    now = now or utcnow()
    if data.day > (now + timedelta(hours=14)).date():  # the earliest time zone's today
        raise InvalidInput(
            FieldError.of(
                "day", message("crossings.future_day", "{day} is in the future", day=str(data.day))
            )
        )
    lock_writes(session)
    return store_day(
        session, crossing_id=where.id, side=side, day=data.day, values=_values(data),
        origin=LOCAL, origin_node_id=None, actor=actor.username, now=now,
    )  # fmt: skip


def parse_csv(path: Path, *, profile: BorderProfile) -> list[ThroughputIn]:
    """Read a throughput CSV; every problem is reported with its row, nothing is kept on error.

    One row per day and crossing, plus one more row per further commodity of that day (the
    counts given once, or repeated with the same values).
    """
    days: dict[tuple[str, str], dict[str, Any]] = {}
    first_row: dict[tuple[str, str], int] = {}
    errors: list[FieldError] = []
    for line, v, errs in read_table(path, CSV_REQUIRED, CSV_COLUMNS):
        errors += [FieldError(f"row {line}: {e.field}", e.message, e.text) for e in errs]
        key = (v.get("crossing", ""), v.get("date", ""))
        day = days.setdefault(key, {"crossing": key[0], "day": key[1], "goods": []})
        first_row.setdefault(key, line)
        for col in (*COUNTS, "tlp"):
            if col not in v:
                continue
            if col in day and day[col] != v[col]:
                errors.append(
                    FieldError.of(
                        f"row {line}: {col}",
                        message(
                            "crossings.differs",
                            "{value} differs from {first} given for the same day on row {row}",
                            value=repr(v[col]),
                            first=repr(day[col]),
                            row=first_row[key],
                        ),
                    )
                )
            day[col] = v[col]
        if any(c in v for c in GOODS):
            day["goods"].append({c: v[c] for c in GOODS if c in v} | {"_row": line})
    out: list[ThroughputIn] = []
    for key, raw in days.items():
        rows = [g.pop("_row") for g in raw["goods"]]
        try:
            place(profile, raw["crossing"])
        except InvalidInput as exc:
            errors.append(
                FieldError(
                    f"row {first_row[key]}: crossing", exc.errors[0].message, exc.errors[0].text
                )
            )
            continue
        try:
            out.append(ThroughputIn.model_validate(raw))
        except ValidationError as exc:
            for e in from_validation(exc).errors:
                head, _, rest = e.field.partition(".")
                if head == "goods":  # goods.2.unit → the row of that goods line
                    i, _, col = rest.partition(".")
                    errors.append(
                        FieldError(f"row {rows[int(i)]}: {col or 'goods'}", e.message, e.text)
                    )
                else:
                    col = "date" if head == "day" else head
                    errors.append(FieldError(f"row {first_row[key]}: {col}", e.message, e.text))
    if errors:
        raise InvalidInput(
            errors,
            hint=message(
                "crossings.nothing_imported",
                "nothing was imported; fix the rows named and try again",
            ),
        )
    return out


def import_throughput(
    session: Session,
    *,
    rows: list[ThroughputIn],
    side: str,
    actor: Principal,
    profile: BorderProfile,
    now: datetime | None = None,
) -> dict[str, int]:
    """Store parsed days in one transaction (the caller commits or nothing is written)."""
    actor.require(Permission.CROSSINGS_RECORD)
    now = now or utcnow()
    lock_writes(session)
    counts: dict[str, int] = defaultdict(int)
    for data in rows:
        _, outcome = store_day(
            session, crossing_id=place(profile, data.crossing).id, side=side, day=data.day,
            values=_values(data), origin=LOCAL, origin_node_id=None, actor=actor.username, now=now,
        )  # fmt: skip
        counts[outcome] += 1
    return {k: counts[k] for k in ("created", "updated", "unchanged")}


def list_throughput(
    session: Session,
    *,
    crossing_id: str | None = None,
    side: str | None = None,
    first: date | None = None,
    last: date | None = None,
) -> list[Throughput]:
    """Daily figures (both sides), oldest day first."""
    q = select(Throughput)
    if crossing_id:
        q = q.where(Throughput.crossing_id == crossing_id)
    if side:
        q = q.where(Throughput.side == side)
    if first:
        q = q.where(Throughput.day >= first)
    if last:
        q = q.where(Throughput.day <= last)
    return list(
        session.scalars(q.order_by(Throughput.day, Throughput.crossing_id, Throughput.side))
    )


def seizures_near(
    session: Session,
    *,
    profile: BorderProfile,
    crossing_id: str,
    start: datetime,
    end: datetime,
    within_km: float,
) -> list[dict[str, Any]]:
    """Seizures of incidents at or near a crossing (or a market's crossing), by commodity/unit."""
    where = place(profile, crossing_id)
    at = str(where.extra.get("crossing") or where.id)  # a market sits at its crossing
    rows = session.scalars(
        select(Incident)
        .options(selectinload(Incident.seizures))
        .where(
            Incident.nearest_crossing_id == at,
            Incident.nearest_crossing_distance_m <= within_km * 1000.0,
            Incident.occurred_at >= start,
            Incident.occurred_at < end,
            Incident.revoked.is_(False),
        )
    )
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for inc in rows:
        for s in inc.seizures:
            t = totals.setdefault(
                (s.commodity, s.unit),
                {"commodity": s.commodity, "unit": s.unit, "quantity": 0.0, "incidents": []},
            )
            t["quantity"] += s.quantity
            if inc.id not in t["incidents"]:
                t["incidents"].append(inc.id)
    return sorted(totals.values(), key=lambda t: (t["commodity"], t["unit"]))


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """A UTC day as [start, end)."""
    start = datetime.combine(day, time(0), UTC)
    return start, start + timedelta(days=1)
