"""Incident routes under /api/v1/incidents: parse, call the service, return a schema."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic_core import to_json

from sarhad.border.api import node
from sarhad.core.api import media, require, responses
from sarhad.core.auth import Permission, Principal
from sarhad.core.idempotency import Idempotent
from sarhad.core.memo import HeadMemo
from sarhad.core.pagination import MAX_LIMIT
from sarhad.core.params import (
    QueryBBox,
    QueryDateTime,
    QuerySectors,
    QuerySide,
    QuerySides,
    StrictBody,
)
from sarhad.incidents import service
from sarhad.incidents.ports import SignaturePort
from sarhad.incidents.schemas import IncidentIn, IncidentOut, IncidentPatch, Transition, VersionOut
from sarhad.incidents.taxonomy import Category, Status

router = APIRouter(prefix="/incidents", tags=["incidents"])

Reader = Annotated[Principal, Depends(require(Permission.INCIDENTS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.INCIDENTS_WRITE))]


#: The list formats that read only some columns (json and geojson: service.RECORD_COLUMNS).
COLUMNS = {"map": service.MAP_COLUMNS, "points": service.POINTS_COLUMNS}
#: The most incidents a page holds, by format.
PAGE_MOST = {
    "json": MAX_LIMIT,
    "geojson": MAX_LIMIT,
    "map": service.MAP_LIMIT,
    "points": service.POINTS_LIMIT,
}


def feature(out: IncidentOut) -> dict[str, Any]:
    """An incident as an RFC 7946 Feature (a Point in lon/lat)."""
    return record_feature(out.model_dump(mode="json"))


def record_feature(rec: dict[str, Any]) -> dict[str, Any]:
    """A record in its API form (``service.api_record``) as an RFC 7946 Feature."""
    loc = rec["location"]
    return {
        "type": "Feature",
        "id": rec["id"],
        "geometry": {"type": "Point", "coordinates": [loc["lon"], loc["lat"]]},
        "properties": rec,
    }


def map_point(row: Any) -> dict[str, Any]:
    """A compact Feature for the situation map (the popup's facts, nothing else)."""
    return {
        "type": "Feature",
        "id": row.id,
        "geometry": {"type": "Point", "coordinates": [row.lon, row.lat]},
        "properties": {
            "id": row.id,
            "title": row.title,
            "category": row.category,
            "status": row.status,
            "occurred_at": row.occurred_at.isoformat(),
            "enrichment": {
                "side": row.side,
                "sector": row.sector_id,
                "km": None if row.km is None else round(row.km, 2),
            },
            "tlp": row.tlp,
            "origin": row.origin,
            "origin_node_id": row.origin_node_id,
        },
    }


def points_page(rows: list[Any], next_cursor: str | None) -> dict[str, Any]:
    """Bare points in columns: ids, coordinates and whether each came from the partner."""
    # One transpose of the rows (id, lon, lat, partner): 50,000 rows a page.
    ids, lons, lats, partner = (list(c) for c in zip(*rows, strict=True)) if rows else ([],) * 4
    return {
        "type": "points",
        "id": ids,
        "lon": lons,
        "lat": lats,
        "partner": [int(bool(p)) for p in partner],
        "next_cursor": next_cursor,
    }


#: Encoded points pages by filters, reused while no record changes: every officer who opens
#: the situation map asks for the same 50,000 points.
_points_memo: HeadMemo[tuple[bytes, str | None, str]] = HeadMemo(size=4)


def _next_link(request: Request, next_cursor: str | None) -> dict[str, str]:
    if not next_cursor:
        return {}
    url = request.url.include_query_params(cursor=next_cursor)
    return {"Link": f'<{url}>; rel="next"'}


def _points(
    request: Request, filters: service.IncidentFilter, limit: int, cursor: str | None
) -> Response:
    """A points page, encoded once per change of the records, with an ETag: a browser that
    has it already gets 304 and keeps its copy (3.7 MB for 50,000 points on a slow link)."""
    with node(request).db.session() as session:

        def compute() -> tuple[bytes, str | None, str]:
            rows, nxt = service.list_incidents(
                session, filters=filters, limit=limit, cursor=cursor, columns=COLUMNS["points"]
            )
            body = json.dumps(points_page(rows, nxt), separators=(",", ":")).encode()
            return body, nxt, f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'

        body, next_cursor, etag = _points_memo.get(
            session, ("points", repr(filters), limit, cursor), compute
        )
    # no-cache: the browser asks every time (the records may have changed) but may keep it.
    headers = {
        **_next_link(request, next_cursor),
        "ETag": etag,
        "Cache-Control": "private, no-cache",
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.post("", status_code=201, response_model=IncidentOut, responses=responses(400, 422))
def create(
    request: Request, data: StrictBody[IncidentIn], actor: Writer, idem: Idempotent
) -> IncidentOut:
    """Record a new incident (a draft). It is placed on the border before it is stored."""
    n = node(request)
    with n.db.session() as session:
        row = service.create_incident(session, data=data, actor=actor, profile=n.profile)
        out = service.to_out(row)
        idem.keep(session, out)
        return out


@router.get(
    "",
    response_model=None,
    responses={
        200: {
            "description": "A page of incidents: JSON, GeoJSON (geojson, map) or points",
            "content": {"application/json": {}, "application/geo+json": {}},
        },
        304: {"description": "format=points: the page is unchanged since the ETag sent"},
        **responses(422),
    },
)
def list_(
    request: Request,
    actor: Reader,
    since: QueryDateTime = None,
    until: QueryDateTime = None,
    category: Annotated[list[Category] | None, Query()] = None,
    side: Annotated[QuerySides, Query(description="side of the line the incident lies on")] = None,
    reporting_side: QuerySide = None,
    sector: QuerySectors = None,
    status: Annotated[list[Status] | None, Query()] = None,
    bbox: QueryBBox = None,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=service.POINTS_LIMIT,
            description="At most this many a page; json and geojson pages hold up to 1,000, "
            "map up to 10,000, points up to 50,000 (follow next_cursor for the rest)",
        ),
    ] = 100,
    cursor: str | None = None,
    format: Literal["json", "geojson", "map", "points"] = "json",
) -> Response:
    """List incidents, newest first, with filters and keyset paging (follow ``next_cursor``).

    ``format=map``: GeoJSON points with only what a map shows (title, category, status, time,
    side, sector, km, TLP, origin), up to 10,000 a page; ``json`` and ``geojson`` up to 1,000.
    ``format=points``: columns ``id``, ``lon``, ``lat``, ``partner`` (1 if received from a
    partner node), up to 50,000 a page, for a map that reads each record when it is opened.
    """
    filters = service.IncidentFilter(
        since=since,
        until=until,
        categories=[c.value for c in category or []],
        sides=side or [],
        reporting_side=reporting_side,
        sectors=sector or [],
        statuses=[s.value for s in status or []],
        bbox=bbox,
    )
    # A page never holds more than its format allows; a larger limit gets that many (and the
    # next cursor), as the document says, rather than an error the schema could not foretell.
    limit = min(limit, PAGE_MOST[format])
    if format == "points":
        return _points(request, filters, limit, cursor)
    if format == "map":
        with node(request).db.session() as session:
            rows, next_cursor = service.list_incidents(
                session, filters=filters, limit=limit, cursor=cursor, columns=COLUMNS[format]
            )
        body = {
            "type": "FeatureCollection",
            "features": [map_point(r) for r in rows],
            "next_cursor": next_cursor,
        }
        return JSONResponse(body, headers=_next_link(request, next_cursor), media_type=GEOJSON)
    with node(request).db.session() as session:
        content, next_cursor = _records_memo.get(
            session,
            (format, repr(filters), limit, cursor),
            lambda: _records_page(session, format, filters, limit, cursor),
        )
    return Response(
        content,
        headers=_next_link(request, next_cursor),
        media_type=GEOJSON if format == "geojson" else "application/json",
    )


GEOJSON = "application/geo+json"

#: Encoded json and geojson pages by format, filters and cursor, reused while no record
#: changes: the desks and the partner read the same newest pages over and over. A page of
#: 100 full records is ~130 KB, so 64 of them hold at most ~8 MB a process.
_records_memo: HeadMemo[tuple[bytes, str | None]] = HeadMemo(size=64)


def _records_page(
    session: Any,
    format: str,
    filters: service.IncidentFilter,
    limit: int,
    cursor: str | None,
) -> tuple[bytes, str | None]:
    """A page of full records, encoded, and the next cursor."""
    rows, next_cursor = service.list_incidents(
        session, filters=filters, limit=limit, cursor=cursor, columns=service.RECORD_COLUMNS
    )
    recs = service.api_records(session, rows)
    # pydantic-core's encoder (Rust) writes the page, date-times as pydantic does: several
    # times faster than json.dumps (docs/benchmarks.md, "Incident reads").
    if format == "geojson":
        body: dict[str, Any] = {
            "type": "FeatureCollection",
            "features": [record_feature(r) for r in recs],
            "next_cursor": next_cursor,
        }
    else:
        body = {"items": recs, "next_cursor": next_cursor}
    return to_json(body), next_cursor


@router.get(
    "/{incident_id}",
    response_model=None,
    responses={**media("application/json", "application/geo+json"), **responses(404, 422)},
)
def read(
    request: Request, incident_id: str, actor: Reader, format: Literal["json", "geojson"] = "json"
) -> dict[str, Any] | JSONResponse:
    """One incident, with its enrichment and the steps the caller's role may take next."""
    n = node(request)
    signatures = n.ports.find(SignaturePort)
    with n.db.session() as session:
        row = service.get_incident(session, incident_id=incident_id)
        out = service.to_out(row)
        steps = [s.value for s in service.allowed_steps(row, actor)]
        # A received record: signed by its originator (which node, which key), or unsigned.
        signature = signatures.of(session, row.id) if signatures and row.origin_node_id else None
    if format == "geojson":
        return JSONResponse(feature(out), media_type="application/geo+json")
    return {**out.model_dump(mode="json"), "allowed_steps": steps, "signature": signature}


@router.patch("/{incident_id}", response_model=IncidentOut, responses=responses(400, 404, 409, 422))
def update(
    request: Request, incident_id: str, patch: StrictBody[IncidentPatch], actor: Writer
) -> IncidentOut:
    """Edit an incident; send the version you edited as ``expected_version`` (409 if stale)."""
    n = node(request)
    with n.db.session() as session:
        row = service.update_incident(
            session, incident_id=incident_id, patch=patch, actor=actor, profile=n.profile
        )
        return service.to_out(row)


@router.post(
    "/{incident_id}/transitions",
    response_model=IncidentOut,
    responses=responses(400, 404, 409, 422),
)
def transition(
    request: Request, incident_id: str, step: StrictBody[Transition], actor: Reader
) -> IncidentOut:
    """Move along the lifecycle (draft → submitted → validated → closed) as the role allows."""
    with node(request).db.session() as session:
        row = service.transition_incident(session, incident_id=incident_id, step=step, actor=actor)
        return service.to_out(row)


@router.get("/{incident_id}/versions", response_model=list[VersionOut], responses=responses(404))
def versions(request: Request, incident_id: str, actor: Reader) -> list[VersionOut]:
    """Every version, oldest first, with the fields each one changed."""
    with node(request).db.session() as session:
        return service.list_versions(session, incident_id=incident_id)
