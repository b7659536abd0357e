"""Incident service functions: keyword-only, given a session; routes and commands stay thin."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, tuple_
from sqlalchemy.orm import Session

from sarhad.border import BorderProfile
from sarhad.border import Location as Located
from sarhad.core.auth import Permission, Principal, allowed
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.errors import Conflict, FieldError, InvalidInput, NotFound
from sarhad.core.feed import in_batches
from sarhad.core.i18n import Text, Word, message
from sarhad.core.journal import record
from sarhad.core.labels import word
from sarhad.core.pagination import MAX_LIMIT, check_limit, decode_cursor, encode_cursor
from sarhad.incidents import links
from sarhad.incidents.models import Incident, IncidentVersion, SeizureRow
from sarhad.incidents.schemas import (
    Casualties,
    CasualtyCounts,
    Enrichment,
    Grading,
    IncidentIn,
    IncidentOut,
    IncidentPatch,
    Location,
    NearestCrossing,
    Seizure,
    Transition,
    VersionOut,
)
from sarhad.incidents.taxonomy import TRANSITIONS, Status

ENTITY = "incident"
_GROUPS = {"security_forces": "sf", "civilians": "civ", "assailants": "asl"}
_KINDS = ("killed", "injured", "detained")
# Fields a version diff ignores: they change on every write by construction.
_BOOKKEEPING = {"version", "updated_at"}


def to_out(row: Incident) -> IncidentOut:
    """The API form of a stored incident."""
    return IncidentOut(
        id=row.id,
        version=row.version,
        status=Status(row.status),
        title=row.title,
        category=row.category,
        occurred_at=row.occurred_at,
        date_precision=row.date_precision,
        location=Location(
            lon=row.lon, lat=row.lat, precision=row.location_precision, place=row.place
        ),
        reporting_side=row.reporting_side,
        casualties=Casualties(
            **{
                group: CasualtyCounts(**{k: getattr(row, f"{prefix}_{k}") for k in _KINDS})
                for group, prefix in _GROUPS.items()
            }
        ),
        seizures=[
            Seizure(commodity=s.commodity, quantity=s.quantity, unit=s.unit) for s in row.seizures
        ],
        grading=Grading(
            source_reliability=row.source_reliability,
            information_credibility=row.information_credibility,
        ),
        tlp=row.tlp,
        narrative=row.narrative,
        sources=list(row.sources),
        far_from_line=bool(row.far_from_line),
        enrichment=Enrichment(
            profile=row.profile_id,
            side=row.side,
            distance_m=row.distance_m,
            sector=row.sector_id,
            km=row.km,
            nearest_crossing=NearestCrossing(
                id=row.nearest_crossing_id, distance_m=row.nearest_crossing_distance_m
            ),
        ),
        origin=row.origin,
        origin_node_id=row.origin_node_id,
        withheld_fields=list(row.withheld_fields or []),
        revoked=bool(row.revoked),
        external_ref=row.external_ref,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _check_side(side: str, profile: BorderProfile, field_name: str = "reporting_side") -> None:
    if side not in profile.sides:
        raise InvalidInput(
            FieldError(
                field_name,
                message(
                    "error.not_a_side",
                    "{side} is not a side of this border; use {sides}",
                    side=repr(side),
                    sides=" / ".join(profile.sides),
                ),
            )
        )


def _enrich(row: Incident, profile: BorderProfile) -> None:
    """Place the row on the border, under the rule of plausible places (one path for all)."""
    loc, on_line = profile.locate_record(row.lon, row.lat, far_from_line=bool(row.far_from_line))
    _place(row, loc, on_line=on_line, profile=profile)


def _place(row: Incident, loc: Located, *, on_line: bool, profile: BorderProfile) -> None:
    """Store where ``loc`` puts the row; off the line (``on_line`` False) no sector or km."""
    row.profile_id = profile.id
    row.side = loc.side
    row.distance_m = round(loc.distance_m, 3)
    row.sector_id = loc.sector if on_line else None
    row.km = round(loc.km, 4) if on_line else None
    row.nearest_crossing_id = loc.nearest_crossing
    row.nearest_crossing_distance_m = round(loc.nearest_crossing_distance_m, 3)


def _apply(
    row: Incident,
    data: IncidentIn | IncidentPatch,
    *,
    every: bool = False,
    seizure: Callable[..., Any] = SeizureRow,
) -> None:
    """Copy the given fields of ``data`` (all of them with ``every``) onto the flat row.

    ``seizure`` makes each seizure of the row: an ORM ``SeizureRow``, or for the plain rows
    of the set-based path (``incidents.received``) anything with the same attributes (an
    ORM instance costs more than the rest of the row).
    """
    given = set(type(data).model_fields) if every else data.model_fields_set
    for name in (
        "title",
        "category",
        "occurred_at",
        "date_precision",
        "reporting_side",
        "narrative",
    ):
        if name in given and getattr(data, name) is not None:
            value = getattr(data, name)
            setattr(row, name, value.value if hasattr(value, "value") else value)
    if "far_from_line" in given and data.far_from_line is not None:
        row.far_from_line = data.far_from_line
    if "tlp" in given and data.tlp is not None:
        row.tlp = data.tlp.value
    if "sources" in given and data.sources is not None:
        row.sources = list(data.sources)
    if "location" in given and data.location is not None:
        loc = data.location
        row.lon, row.lat = loc.lon, loc.lat
        row.location_precision, row.place = loc.precision.value, loc.place
    if "casualties" in given and data.casualties is not None:
        for group, prefix in _GROUPS.items():
            counts: CasualtyCounts = getattr(data.casualties, group)
            for kind in _KINDS:
                setattr(row, f"{prefix}_{kind}", getattr(counts, kind))
    if "grading" in given and data.grading is not None:
        row.source_reliability = data.grading.source_reliability
        row.information_credibility = data.grading.information_credibility
    if "seizures" in given and data.seizures is not None:
        row.seizures = [
            seizure(position=i, commodity=s.commodity.value, quantity=s.quantity, unit=s.unit.value)
            for i, s in enumerate(data.seizures)
        ]


def _snapshot(session: Session, row: Incident, *, op: str, actor: str, changed: list[str]) -> int:
    session.flush()
    session.refresh(row, ["seizures"])
    snap = to_out(row).model_dump(mode="json")
    seq = record(
        session,
        actor=actor,
        op=op,
        entity=ENTITY,
        entity_id=row.id,
        version=row.version,
        detail={"changed": changed, "status": row.status},
    )
    session.add(
        IncidentVersion(
            incident_id=row.id,
            version=row.version,
            at=row.updated_at,
            actor=actor,
            op=op,
            changed=changed,
            snapshot=snap,
            change_seq=seq,
        )
    )
    session.flush()
    return seq


def create_incident(
    session: Session,
    *,
    data: IncidentIn,
    actor: Principal,
    profile: BorderProfile,
    origin: str = "local",
    external_ref: str | None = None,
) -> Incident:
    """Store a new draft incident, placed on the border by ``profile.locate``."""
    actor.require(Permission.INCIDENTS_WRITE if origin == "local" else Permission.INCIDENTS_IMPORT)
    _check_side(data.reporting_side, profile)
    lock_writes(session)
    if external_ref and session.scalar(
        select(Incident.id).where(Incident.external_ref == external_ref)
    ):
        raise Conflict(
            message(
                "incidents.external_ref_exists",
                "an incident with external_ref {ref} exists already",
                ref=repr(external_ref),
            )
        )
    now = utcnow()
    row = Incident(
        id=str(uuid.uuid4()),
        version=1,
        status=Status.DRAFT.value,
        origin=origin,
        external_ref=external_ref,
        created_at=now,
        updated_at=now,
        created_by=actor.username,
        updated_by=actor.username,
    )
    _apply(row, data, every=True)
    _enrich(row, profile)
    session.add(row)
    _snapshot(session, row, op="create", actor=actor.username, changed=[])
    if origin == "local":
        # Bulk imports (ACLED, UCDP, CSV) are history, not a desk's report: they are linked
        # when edited, not each on arrival (a query per row would slow an import down).
        links.propose(session, incident_ids=[row.id])
    return row


def get_incident(session: Session, *, incident_id: str) -> Incident:
    """The incident with ``incident_id``, or ``NotFound``."""
    row = session.get(Incident, incident_id)
    if row is None:
        raise NotFound(
            message("incidents.not_found", "no incident {id}", id=incident_id),
            hint=message("incidents.not_found.hint", "list incidents to find its id"),
        )
    return row


def _locked(session: Session, incident_id: str, expected_version: int) -> Incident:
    lock_writes(session)
    row = get_incident(session, incident_id=incident_id)
    session.refresh(row)  # read after the lock: the version we compare is the committed one
    _local_only(row)
    if row.version != expected_version:
        raise Conflict(
            message(
                "incidents.stale_version",
                "incident {id} is at version {version}, not {expected}",
                id=incident_id,
                version=row.version,
                expected=expected_version,
            ),
            hint=message(
                "incidents.stale_version.hint",
                "reload it, re-apply your change and send the new version",
            ),
        )
    return row


def _diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(k for k in after if k not in _BOOKKEEPING and before.get(k) != after.get(k))


def update_incident(
    session: Session,
    *,
    incident_id: str,
    patch: IncidentPatch,
    actor: Principal,
    profile: BorderProfile,
) -> Incident:
    """Edit an incident, making a new version. A closed incident cannot be edited; editing a
    validated one sends it back to ``submitted`` for re-validation."""
    actor.require(Permission.INCIDENTS_WRITE)
    if patch.reporting_side is not None:
        _check_side(patch.reporting_side, profile)
    row = _locked(session, incident_id, patch.expected_version)
    if row.status == Status.CLOSED:
        raise Conflict(
            message(
                "incidents.closed",
                "incident {id} is closed and can no longer be edited",
                id=incident_id,
            )
        )
    before = to_out(row).model_dump(mode="json")
    _apply(row, patch)
    if patch.location is not None or patch.far_from_line is not None:
        _enrich(row, profile)
    session.flush()
    session.refresh(row, ["seizures"])
    changed = _diff(before, to_out(row).model_dump(mode="json"))
    if not changed:
        return row  # nothing changed: no new version, no log noise
    if row.status == Status.VALIDATED:
        row.status = Status.SUBMITTED.value
        changed.append("status")
    row.version += 1
    row.updated_at, row.updated_by = utcnow(), actor.username
    _snapshot(session, row, op="update", actor=actor.username, changed=changed)
    links.propose(session, incident_ids=[row.id])
    return row


_STEP_PERMISSION = {
    Status.SUBMITTED: Permission.INCIDENTS_SUBMIT,
    Status.DRAFT: Permission.INCIDENTS_SUBMIT,
    Status.VALIDATED: Permission.INCIDENTS_VALIDATE,
    Status.CLOSED: Permission.INCIDENTS_CLOSE,
}


def _next_steps(current: Status) -> Text | Word:
    """The statuses ``current`` may go to, named in the reader's words."""
    nexts = [word("incident_status", s) for s in sorted(s.value for s in TRANSITIONS[current])]
    if not nexts:
        return message("incidents.transition.final", "none (final)")
    listed: Text | Word = nexts[0]
    for more in nexts[1:]:
        listed = message("incidents.transition.two", "{first}, {second}", first=listed, second=more)
    return listed


def transition_incident(
    session: Session, *, incident_id: str, step: Transition, actor: Principal
) -> Incident:
    """Move an incident along its lifecycle, if the role and the current status allow it."""
    actor.require(_STEP_PERMISSION[step.to])
    row = _locked(session, incident_id, step.expected_version)
    current = Status(row.status)
    if step.to not in TRANSITIONS[current]:
        raise Conflict(
            message(
                "incidents.transition",
                "cannot go from {current} to {to}; allowed next: {allowed}",
                current=word("incident_status", current),
                to=word("incident_status", step.to),
                allowed=_next_steps(current),
            )
        )
    row.status = step.to.value
    row.version += 1
    row.updated_at, row.updated_by = utcnow(), actor.username
    _snapshot(session, row, op=f"status:{step.to.value}", actor=actor.username, changed=["status"])
    links.propose(session, incident_ids=[row.id])
    return row


def allowed_steps(row: Incident, actor: Principal) -> list[Status]:
    """The lifecycle steps ``actor`` may take on ``row`` now (for UIs)."""
    if row.origin_node_id is not None:
        return []  # a partner's record moves only when its originator sends a new version
    return sorted(
        (s for s in TRANSITIONS[Status(row.status)] if allowed(actor.role, _STEP_PERMISSION[s])),
        key=list(Status).index,
    )


def list_versions(session: Session, *, incident_id: str) -> list[VersionOut]:
    """Every version of an incident, oldest first, with what changed in each."""
    get_incident(session, incident_id=incident_id)
    rows = session.scalars(
        select(IncidentVersion)
        .where(IncidentVersion.incident_id == incident_id)
        .order_by(IncidentVersion.version)
    )
    return [
        VersionOut(
            version=v.version,
            at=v.at,
            actor=v.actor,
            op=v.op,
            changed=v.changed,
            record=IncidentOut.model_validate(v.snapshot),
        )
        for v in rows
    ]


@dataclass
class IncidentFilter:
    """Filters of the incident list. ``bbox`` is (min_lon, min_lat, max_lon, max_lat)."""

    since: datetime | None = None
    until: datetime | None = None
    categories: list[str] = field(default_factory=list)
    sides: list[str] = field(default_factory=list)
    reporting_side: str | None = None
    sectors: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    bbox: tuple[float, float, float, float] | None = None
    origin: str | None = None  # "local", "received", or an exact origin such as "partner:ir-node"
    include_revoked: bool = False


#: Largest page of map points (``map_points``): a point is ~200 bytes, a full record ~2 KB.
MAP_LIMIT = 10_000

MAP_COLUMNS = (
    Incident.id, Incident.title, Incident.category, Incident.status, Incident.occurred_at,
    Incident.lon, Incident.lat, Incident.side, Incident.sector_id, Incident.km, Incident.tlp,
    Incident.origin, Incident.origin_node_id,
)  # fmt: skip


#: Largest page of bare points (``POINTS_COLUMNS``): ~60 bytes a point, so the situation map
#: fetches 50,000 in one request and asks for a record's facts only when it is clicked.
POINTS_LIMIT = 50_000

POINTS_COLUMNS = (
    # No occurred_at: parsing it 50,000 times costs more than the query (see list_incidents).
    Incident.id, Incident.lon, Incident.lat,
    # Received from a partner node, as the map tells them apart (file imports are ours).
    or_(Incident.origin_node_id.is_not(None), Incident.origin.startswith("partner:")).label(
        "partner"
    ),
)  # fmt: skip


#: The columns of a full record, read as plain rows for ``api_records``: a page of 100 ORM
#: objects each validated into an ``IncidentOut`` and dumped again spent ~30 ms in the ORM and
#: pydantic, ten times the query (docs/benchmarks.md, "Incident reads"). ``api_record``
#: unpacks them in this order.
RECORD_COLUMNS = (
    Incident.id, Incident.version, Incident.status, Incident.title, Incident.category,
    Incident.occurred_at, Incident.date_precision, Incident.lon, Incident.lat,
    Incident.location_precision, Incident.place, Incident.reporting_side,
    Incident.sf_killed, Incident.sf_injured, Incident.sf_detained,
    Incident.civ_killed, Incident.civ_injured, Incident.civ_detained,
    Incident.asl_killed, Incident.asl_injured, Incident.asl_detained,
    Incident.source_reliability, Incident.information_credibility, Incident.tlp,
    Incident.narrative, Incident.sources, Incident.far_from_line, Incident.profile_id,
    Incident.side, Incident.distance_m, Incident.sector_id, Incident.km,
    Incident.nearest_crossing_id, Incident.nearest_crossing_distance_m, Incident.origin,
    Incident.origin_node_id, Incident.withheld_fields, Incident.revoked, Incident.external_ref,
    Incident.created_at, Incident.updated_at,
)  # fmt: skip


def api_record(row: Any, seizures: list[dict[str, Any]]) -> dict[str, Any]:
    """The API form of a stored incident from a plain row of ``RECORD_COLUMNS``.

    Same keys, order and values as ``to_out(row).model_dump(mode="json")``, except that the
    date-times are still ``datetime`` objects: ``pydantic_core.to_json`` writes them as
    pydantic does. The rows were validated when they were stored, so nothing is checked again.
    """
    (
        id_, version, status, title, category, occurred_at, date_precision, lon, lat,
        location_precision, place, reporting_side,
        sf_killed, sf_injured, sf_detained, civ_killed, civ_injured, civ_detained,
        asl_killed, asl_injured, asl_detained,
        source_reliability, information_credibility, tlp, narrative, sources, far_from_line,
        profile_id, side, distance_m, sector_id, km, nearest_crossing_id,
        nearest_crossing_distance_m, origin, origin_node_id, withheld_fields, revoked,
        external_ref, created_at, updated_at,
    ) = row  # fmt: skip
    return {
        "id": id_,
        "version": version,
        "status": status,
        "title": title,
        "category": category,
        "occurred_at": occurred_at,
        "date_precision": date_precision,
        "location": {
            "lon": float(lon),
            "lat": float(lat),
            "precision": location_precision,
            "place": place,
        },
        "reporting_side": reporting_side,
        "casualties": {
            "security_forces": {
                "killed": sf_killed,
                "injured": sf_injured,
                "detained": sf_detained,
            },
            "civilians": {"killed": civ_killed, "injured": civ_injured, "detained": civ_detained},
            "assailants": {"killed": asl_killed, "injured": asl_injured, "detained": asl_detained},
        },
        "seizures": seizures,
        "grading": {
            "source_reliability": source_reliability,
            "information_credibility": information_credibility,
        },
        "tlp": tlp,
        "narrative": narrative,
        "sources": list(sources),
        "far_from_line": bool(far_from_line),
        "enrichment": {
            "profile": profile_id,
            "side": side,
            "distance_m": float(distance_m),
            "sector": sector_id,
            "km": None if km is None else float(km),
            "nearest_crossing": {
                "id": nearest_crossing_id,
                "distance_m": float(nearest_crossing_distance_m),
            },
        },
        "origin": origin,
        "origin_node_id": origin_node_id,
        "withheld_fields": list(withheld_fields or []),
        "revoked": bool(revoked),
        "external_ref": external_ref,
        "created_at": created_at,
        "updated_at": updated_at,
    }


def api_records(session: Session, rows: list[Any]) -> list[dict[str, Any]]:
    """``api_record`` of each plain row of ``RECORD_COLUMNS``, their seizures read in one query."""
    seized: dict[str, list[dict[str, Any]]] = {}
    if rows:
        q = (
            select(
                SeizureRow.incident_id, SeizureRow.commodity, SeizureRow.quantity, SeizureRow.unit
            )
            .where(SeizureRow.incident_id.in_([r[0] for r in rows]))
            .order_by(SeizureRow.incident_id, SeizureRow.position)
        )
        for incident_id, commodity, quantity, unit in session.execute(q):
            seized.setdefault(incident_id, []).append(
                {"commodity": commodity, "quantity": float(quantity), "unit": unit}
            )
    return [api_record(r, seized.get(r[0], [])) for r in rows]


def list_incidents(
    session: Session,
    *,
    filters: IncidentFilter,
    limit: int = 100,
    cursor: str | None = None,
    columns: tuple[Any, ...] | None = None,
) -> tuple[list[Any], str | None]:
    """Newest first, keyset-paged by (occurred_at, id); returns the page and the next cursor.

    With ``columns`` (``MAP_COLUMNS``, ``POINTS_COLUMNS`` or ``RECORD_COLUMNS``) the page holds
    plain rows of just those columns (which must include ``id``; without ``occurred_at`` the
    next cursor reads it for the last row alone), up to ``MAP_LIMIT``, ``POINTS_LIMIT`` or
    ``MAX_LIMIT`` per page.
    """
    most = (
        POINTS_LIMIT
        if columns is POINTS_COLUMNS
        else MAP_LIMIT
        if columns is not None and columns is not RECORD_COLUMNS
        else MAX_LIMIT
    )
    check_limit(limit, most=most)
    q = select(*columns) if columns else select(Incident)
    f = filters
    if f.since:
        q = q.where(Incident.occurred_at >= f.since)
    if f.until:
        q = q.where(Incident.occurred_at < f.until)
    if f.categories:
        q = q.where(Incident.category.in_(f.categories))
    if f.sides:
        q = q.where(Incident.side.in_(f.sides))
    if f.reporting_side:
        q = q.where(Incident.reporting_side == f.reporting_side)
    if f.sectors:
        q = q.where(Incident.sector_id.in_(f.sectors))
    if f.statuses:
        q = q.where(Incident.status.in_(f.statuses))
    if not f.include_revoked:
        q = q.where(Incident.revoked.is_(False))
    if f.origin == "local":
        q = q.where(Incident.origin_node_id.is_(None))
    elif f.origin == "received":
        q = q.where(Incident.origin_node_id.is_not(None))
    elif f.origin:
        q = q.where(Incident.origin == f.origin)
    if f.bbox:
        w, s, e, n = f.bbox
        q = q.where(Incident.lon >= w, Incident.lon <= e, Incident.lat >= s, Incident.lat <= n)
    if cursor:
        at_s, last_id = decode_cursor(cursor, arity=2)
        try:
            at = datetime.fromisoformat(at_s)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(
                FieldError("cursor", message("error.bad_cursor", "not a cursor this node issued"))
            ) from exc
        # A row-value comparison, not (a < x OR (a = x AND b < y)): both backends seek the
        # index to it, where the OR form scanned every entry before the cursor (a page deep
        # in a list cost as much as all the pages before it).
        q = q.where(tuple_(Incident.occurred_at, Incident.id) < tuple_(at, last_id))
    q = q.order_by(Incident.occurred_at.desc(), Incident.id.desc()).limit(limit + 1)
    if columns:
        # Plain rows through the connection, not the ORM's result machinery (the same rows,
        # ~13 % less CPU a page of 100 records); flushed first as the ORM would autoflush.
        session.flush()
        rows: list[Any] = list(session.connection().execute(q))
    else:
        rows = list(session.scalars(q))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        at = (
            last.occurred_at
            if not columns or "occurred_at" in last._fields
            else session.scalar(select(Incident.occurred_at).where(Incident.id == last.id))
        )
        next_cursor = encode_cursor([at.isoformat(), last.id])
    return rows, next_cursor


@dataclass
class ImportReport:
    """What an import did: counts, and each rejected row with its reasons."""

    imported: int = 0
    already_present: int = 0
    rejected: list[tuple[int, list[FieldError]]] = field(default_factory=list)


def import_incident(
    session: Session,
    *,
    data: IncidentIn,
    external_ref: str,
    origin: str,
    actor: Principal,
    profile: BorderProfile,
) -> bool:
    """Store one imported row unless its ``external_ref`` is known; True if stored.

    Runs in a savepoint so a row that fails at store time leaves nothing behind.
    """
    if session.scalar(select(Incident.id).where(Incident.external_ref == external_ref)):
        return False
    with session.begin_nested():
        create_incident(
            session,
            data=data,
            actor=actor,
            profile=profile,
            origin=origin,
            external_ref=external_ref,
        )
    return True


def summarize(rows: Iterable[Incident]) -> list[dict[str, Any]]:
    """Short dicts for tables."""
    return [
        {
            "id": r.id,
            "occurred_at": r.occurred_at.isoformat(),
            "category": r.category,
            "status": r.status,
            "side": r.side,
            "sector": r.sector_id,  # None: far from the line
            "km": r.km,
            "title": r.title,
            "origin": r.origin,
        }
        for r in rows
    ]


def existing_ids(session: Session, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` are incidents this node holds."""
    wanted = list(dict.fromkeys(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(
            session.scalars(select(Incident.id).where(Incident.id.in_(wanted[start : start + 500])))
        )
    return found


def describe(session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Short summaries of incidents for the live feed."""
    out: dict[str, dict[str, Any]] = {}
    for batch in in_batches(ids):
        rows = session.scalars(select(Incident).where(Incident.id.in_(batch)))
        for row in summarize(rows):
            out[row.pop("id")] = row
    return out


@dataclass
class Received:
    """A partner's record, validated, ready to store."""

    record_id: str
    data: IncidentIn
    version: int
    status: str
    remote_modified: datetime
    origin_node_id: str
    origin: str
    withheld: list[str] = field(default_factory=list)
    revoked: bool = False


def received_row(
    row: Incident,
    item: Received,
    *,
    where: Located,
    on_line: bool,
    profile: BorderProfile,
    now: datetime,
    new: bool,
    seizure: Callable[..., Any] = SeizureRow,
) -> None:
    """Fill ``row`` from a partner's record: its fields, its place, the originator's version
    and status (one we do not know is read as validated), and our bookkeeping.

    The one row builder of received records: the single path (:func:`store_received`) and
    the set-based one (``incidents.received``) both call it. ``new``: also the fields a row
    gets once, when it is created. ``where`` and ``on_line`` are where the place rule put the
    record's point (``profile.locate_record``, or the same from ``locate_many``); ``seizure``
    as for ``_apply``.
    """
    if new:
        row.id = item.record_id
        row.created_at, row.created_by = now, item.origin
        row.origin, row.origin_node_id = item.origin, item.origin_node_id
    _apply(row, item.data, every=True, seizure=seizure)
    _place(row, where, on_line=on_line, profile=profile)
    row.version = item.version
    known = item.status in Status.__members__.values()
    row.status = item.status if known else Status.VALIDATED.value
    row.remote_modified = item.remote_modified
    row.withheld_fields = sorted(item.withheld)
    row.revoked = item.revoked
    row.updated_at, row.updated_by = now, item.origin


def store_received(
    session: Session,
    *,
    record_id: str,
    data: IncidentIn,
    version: int,
    status: str,
    remote_modified: datetime,
    origin_node_id: str,
    origin: str,
    withheld: list[str],
    revoked: bool,
    profile: BorderProfile,
) -> str:
    """Store a partner's record (read-only here); returns "created", "updated" or "stale".

    The caller holds the write lock. A version not newer than the one we hold is "stale".
    A point the place rule refuses raises ``InvalidInput`` before anything is written.
    """
    item = Received(
        record_id=record_id,
        data=data,
        version=version,
        status=status,
        remote_modified=remote_modified,
        origin_node_id=origin_node_id,
        origin=origin,
        withheld=withheld,
        revoked=revoked,
    )
    row = session.get(Incident, record_id)
    if row is not None and row.origin_node_id != origin_node_id:
        raise Conflict(
            message(
                "incidents.other_origin",
                "incident {id} exists here with another origin; refusing to overwrite it",
                id=record_id,
            )
        )
    if (
        row is not None
        and row.remote_modified is not None
        and remote_modified <= row.remote_modified
    ):
        return "stale"
    where, on_line = profile.locate_record(
        data.location.lon, data.location.lat, far_from_line=data.far_from_line
    )
    created = row is None
    before = {} if row is None else to_out(row).model_dump(mode="json")
    if row is None:
        row = Incident()
        session.add(row)
    received_row(
        row, item, where=where, on_line=on_line, profile=profile, now=utcnow(), new=created
    )
    changed = [] if created else _diff(before, to_out(row).model_dump(mode="json"))
    session.flush()
    # Versions are numbered by the originator; keep ours unique if it re-sends a number.
    existing = session.get(IncidentVersion, (row.id, row.version))
    if existing is not None:
        row.version = (
            session.scalar(
                select(IncidentVersion.version)
                .where(IncidentVersion.incident_id == row.id)
                .order_by(IncidentVersion.version.desc())
                .limit(1)
            )
            or 0
        ) + 1
    _snapshot(session, row, op="revoked" if revoked else "received", actor=origin, changed=changed)
    return "created" if created else "updated"


def _local_only(row: Incident) -> None:
    if row.origin_node_id is not None:
        raise Conflict(
            message(
                "incidents.read_only",
                "incident {id} was received from {origin}; it is read-only here",
                id=row.id,
                origin=row.origin,
            ),
            hint=message(
                "incidents.read_only.hint",
                "link it to a record of your own, or ask its originator to correct it",
            ),
        )
