"""Crossing routes under /api/v1/crossings: parse, call the service, return a schema."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from sarhad.border.api import BorderNode, node
from sarhad.core.api import media, require, responses
from sarhad.core.auth import Permission, Principal
from sarhad.core.db import utcnow
from sarhad.core.errors import FieldError, InvalidInput, NotFound
from sarhad.core.i18n import message
from sarhad.core.idempotency import Idempotent
from sarhad.core.params import QueryCrossing, QueryDate, QueryDateTime, QuerySide, StrictBody
from sarhad.crossings import export, flows
from sarhad.crossings.board import board as board_rows
from sarhad.crossings.declarations import (
    declaration_out,
    end_declaration,
    list_declarations,
    withdraw_declaration,
)
from sarhad.crossings.declarations import declare as declare_status
from sarhad.crossings.hours import get_hours as hours_of
from sarhad.crossings.hours import hours_out
from sarhad.crossings.hours import set_hours as change_hours
from sarhad.crossings.places import place
from sarhad.crossings.ports import CrossingPorts
from sarhad.crossings.publication import set_published
from sarhad.crossings.schemas import (
    BoardRow,
    DeclarationIn,
    DeclarationOut,
    EndIn,
    HoursIn,
    HoursOut,
    PublishIn,
    ThroughputIn,
    ThroughputOut,
)

router = APIRouter(prefix="/crossings", tags=["crossings"])

Reader = Annotated[Principal, Depends(require(Permission.CROSSINGS_READ))]
Declarer = Annotated[Principal, Depends(require(Permission.CROSSINGS_DECLARE))]
Recorder = Annotated[Principal, Depends(require(Permission.CROSSINGS_RECORD))]
Publisher = Annotated[Principal, Depends(require(Permission.CROSSINGS_PUBLISH))]
Lang = Literal["en", "ur", "fa"]
Format = Literal["json", "csv"]
MAX_CSV_BYTES = 20 * 1024 * 1024


def _path_place(n: BorderNode, crossing: str) -> str:
    """A crossing named in the path: 404 when the border has no such place."""
    try:
        return place(n.profile, crossing).id
    except InvalidInput as exc:
        raise NotFound(exc.errors[0].text or exc.text, hint=exc.hint_text) from None


@router.get("", response_model=list[BoardRow], responses=responses(422))
def board(
    request: Request, _actor: Reader, at: QueryDateTime = None, lang: Lang = "en"
) -> list[BoardRow]:
    """Every crossing and market now (or ``at``): our view, the partner's, any mismatch."""
    n = node(request)
    with n.db.session() as session:
        return board_rows(session, profile=n.profile, side=n.settings.node_side, at=at, lang=lang)


@router.get(
    ".geojson",
    response_class=Response,
    responses={**media("application/geo+json", description="GeoJSON"), **responses(422)},
)
def board_geojson(
    request: Request, _actor: Reader, at: QueryDateTime = None, lang: Lang = "en"
) -> JSONResponse:
    """The board as GeoJSON points (RFC 7946), for a map."""
    rows = board(request, _actor, at, lang)
    return JSONResponse(export.board_geojson(rows), media_type="application/geo+json")


@router.post(
    "/declarations", status_code=201, response_model=DeclarationOut,
    responses=responses(400, 409, 422),
)  # fmt: skip
def declare(
    request: Request, data: StrictBody[DeclarationIn], actor: Declarer, idem: Idempotent
) -> DeclarationOut:
    """Declare our side's status of a crossing; a closure or reopening alerts the partner."""
    n = node(request)
    ports = n.port(CrossingPorts)
    with n.db.session() as session:
        row = declare_status(
            session, data=data, side=n.settings.node_side, actor=actor, profile=n.profile,
            ports=ports,
        )  # fmt: skip
        out = declaration_out(row)
        idem.keep(session, out)
    n.wake()
    return out


@router.get(
    "/declarations",
    response_model=list[DeclarationOut],
    responses={**media("application/json", "text/csv"), **responses(422)},
)
def declarations(
    request: Request,
    _actor: Reader,
    crossing: QueryCrossing = None,
    side: QuerySide = None,
    start: QueryDateTime = None,
    end: QueryDateTime = None,
    include_withdrawn: bool = False,
    format: Format = "json",
) -> Any:
    """Both sides' declarations meeting [start, end), newest first (JSON or CSV)."""
    n = node(request)
    with n.db.session() as session:
        if crossing:
            place(n.profile, crossing)
        rows = [
            declaration_out(r)
            for r in list_declarations(
                session, crossing_id=crossing, side=side, start=start, end=end,
                include_withdrawn=include_withdrawn,
            )
        ]  # fmt: skip
    if format == "csv":
        return PlainTextResponse(export.declarations_csv(rows), media_type="text/csv")
    return rows


@router.post(
    "/declarations/{declaration_id}/end", response_model=DeclarationOut,
    responses=responses(400, 404, 409, 422),
)  # fmt: skip
def end(
    request: Request,
    declaration_id: str,
    data: StrictBody[EndIn],
    actor: Declarer,
    idem: Idempotent,
) -> DeclarationOut:
    """End one of our declarations (a reopening, for a closure); the partner is alerted."""
    n = node(request)
    ports = n.port(CrossingPorts)
    with n.db.session() as session:
        row = end_declaration(
            session, declaration_id=declaration_id, at=data.at, actor=actor, profile=n.profile,
            ports=ports,
        )  # fmt: skip
        out = declaration_out(row)
        idem.keep(session, out)
    n.wake()
    return out


@router.post(
    "/declarations/{declaration_id}/withdraw", response_model=DeclarationOut,
    responses=responses(404, 409),
)  # fmt: skip
def withdraw(
    request: Request, declaration_id: str, actor: Declarer, idem: Idempotent
) -> DeclarationOut:
    """Withdraw one of our declarations entered by mistake (kept in the history, marked)."""
    n = node(request)
    with n.db.session() as session:
        row = withdraw_declaration(session, declaration_id=declaration_id, actor=actor)
        out = declaration_out(row)
        idem.keep(session, out)
    n.wake()  # the partner learns of it on the courier's next push, not the next sync
    return out


@router.get(
    "/throughput",
    response_model=list[ThroughputOut],
    responses={**media("application/json", "text/csv"), **responses(422)},
)
def throughput(
    request: Request,
    _actor: Reader,
    crossing: QueryCrossing = None,
    side: QuerySide = None,
    first: QueryDate = None,
    last: QueryDate = None,
    format: Format = "json",
) -> Any:
    """Daily throughput of both sides (JSON or CSV, one row per goods line)."""
    n = node(request)
    with n.db.session() as session:
        if crossing:
            place(n.profile, crossing)
        rows = [
            flows.throughput_out(r)
            for r in flows.list_throughput(
                session, crossing_id=crossing, side=side, first=first, last=last
            )
        ]
    if format == "csv":
        return PlainTextResponse(export.throughput_csv(rows), media_type="text/csv")
    return rows


@router.post(
    "/throughput", status_code=201, response_model=ThroughputOut,
    responses=responses(400, 422),
)  # fmt: skip
def record_throughput(
    request: Request, data: StrictBody[ThroughputIn], actor: Recorder, idem: Idempotent
) -> ThroughputOut:
    """Enter (or correct) our side's figures for one day."""
    n = node(request)
    with n.db.session() as session:
        row, _ = flows.record_throughput(
            session, data=data, side=n.settings.node_side, actor=actor, profile=n.profile
        )
        out = flows.throughput_out(row)
        idem.keep(session, out)
    n.wake()
    return out


@router.post(
    "/throughput/import",
    responses=responses(422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "A throughput CSV (columns in docs/crossings.md), at most 20 MiB",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def import_throughput(request: Request, actor: Recorder) -> dict[str, int]:
    """Import a throughput CSV (the request body); any bad row and nothing is written."""
    n = node(request)
    body = await request.body()
    if len(body) > MAX_CSV_BYTES:
        raise InvalidInput(
            FieldError.of(
                "file",
                message("crossings.too_large", "larger than {mib} MiB", mib=MAX_CSV_BYTES // 2**20),
            )
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "throughput.csv"
        path.write_bytes(body)
        rows = flows.parse_csv(path, profile=n.profile)
    with n.db.session() as session:
        counts = flows.import_throughput(
            session, rows=rows, side=n.settings.node_side, actor=actor, profile=n.profile
        )
    n.wake()
    return counts


@router.get("/{crossing}", response_model=dict[str, Any], responses=responses(404, 422))
def crossing_detail(
    request: Request, crossing: str, _actor: Reader, at: QueryDateTime = None, lang: Lang = "en"
) -> dict[str, Any]:
    """One crossing: both sides' state, hours, and the declarations of the last 30 days."""
    n = node(request)
    at = at or utcnow()
    crossing_id = _path_place(n, crossing)
    with n.db.session() as session:
        row = board_rows(
            session, profile=n.profile, side=n.settings.node_side, at=at, lang=lang,
            crossing_ids=[crossing_id],
        )[0]  # fmt: skip
        hours = [
            hours_out(h, n.profile)
            for side in n.profile.sides
            if (h := hours_of(session, crossing_id=crossing_id, side=side)) is not None
        ]
        recent = [
            declaration_out(d)
            for d in list_declarations(
                session, crossing_id=crossing_id, start=at - export.RECENT, include_withdrawn=True
            )
        ]
    return {
        "board": row.model_dump(mode="json"),
        "hours": [h.model_dump(mode="json") for h in hours],
        "declarations": [d.model_dump(mode="json") for d in recent],
    }


@router.get("/{crossing}/hours", response_model=list[HoursOut], responses=responses(404))
def get_hours(request: Request, crossing: str, _actor: Reader) -> list[HoursOut]:
    """Both sides' regular hours of a crossing (sides not set are left out)."""
    n = node(request)
    crossing_id = _path_place(n, crossing)
    with n.db.session() as session:
        return [
            hours_out(h, n.profile)
            for side in n.profile.sides
            if (h := hours_of(session, crossing_id=crossing_id, side=side)) is not None
        ]


@router.put("/{crossing}/hours", response_model=HoursOut, responses=responses(400, 404, 422))
def set_hours(
    request: Request, crossing: str, data: StrictBody[HoursIn], actor: Declarer
) -> HoursOut:
    """Set our side's regular hours (local time of our side) and days of the week."""
    n = node(request)
    with n.db.session() as session:
        row = change_hours(
            session, crossing_id=_path_place(n, crossing), data=data,
            side=n.settings.node_side, actor=actor, profile=n.profile,
        )  # fmt: skip
        out = hours_out(row, n.profile)
    n.wake()
    return out


@router.put("/{crossing}/publication", responses=responses(400, 404, 422))
def set_publication(
    request: Request, crossing: str, data: StrictBody[PublishIn], actor: Publisher
) -> dict[str, Any]:
    """Put a crossing on the public status page, or take it off (admins)."""
    n = node(request)
    with n.db.session() as session:
        row = set_published(
            session, crossing_id=_path_place(n, crossing), published=data.published, actor=actor,
            profile=n.profile,
        )  # fmt: skip
        return {"crossing": row.crossing_id, "published": row.published}
