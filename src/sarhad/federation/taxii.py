"""TAXII 2.1 server routes: discovery, API root, collections, objects, manifest, versions, status.

A partner's token sees only its own two collections. Paging is keyset over the collection's
``seq`` (``next`` is a seq), so the same ``next`` always gives the same page and survives
restarts; ``date_added`` is unique per collection, so ``added_after`` never skips an object.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from sarhad.border.api import BorderNode, node
from sarhad.core.auth import Permission, authenticate
from sarhad.core.db import get_node_id, utcnow
from sarhad.core.errors import SarhadError
from sarhad.core.journal import audit
from sarhad.core.pagination import decode_cursor, encode_cursor
from sarhad.crossings.places import zone_label
from sarhad.federation.identity import LocalNode
from sarhad.federation.inbox import ingest
from sarhad.federation.models import Collection, CollectionObject, TaxiiStatus
from sarhad.federation.publish import publish_partner
from sarhad.federation.store import ensure_collections
from sarhad.sharing import service as sharing
from sarhad.sharing.models import Partner

MEDIA = "application/taxii+json;version=2.1"
MAX_PAGE = 1000
MAX_CONTENT = 10 * 1024 * 1024


class TaxiiError(Exception):
    """An error answered as TAXII error JSON."""

    def __init__(self, status: int, title: str, description: str = "") -> None:
        super().__init__(title)
        self.status, self.title, self.description = status, title, description


def taxii_response(
    body: dict[str, Any] | str, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A response with the TAXII media type."""
    content = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return Response(content, status_code=status, media_type=MEDIA, headers=headers)


def error_response(status: int, title: str, description: str = "") -> Response:
    """TAXII error JSON (title, description, http_status) with the TAXII media type."""
    body = {"title": title, "description": description or title, "http_status": str(status)}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return taxii_response(body, status, headers)


class TaxiiRoute(APIRoute):
    """Routes whose every failure is TAXII error JSON with the TAXII media type."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def wrapped(request: Request) -> Response:
            accept = request.headers.get("accept", "*/*")
            if not any(t in accept for t in ("application/taxii+json", "*/*", "application/*")):
                return error_response(406, "Not Acceptable", f"this server answers with {MEDIA}")
            try:
                return await handler(request)
            except TaxiiError as exc:
                return error_response(exc.status, exc.title, exc.description)
            except SarhadError as exc:
                return error_response(exc.status_code, type(exc).__name__, exc.message)
            except RequestValidationError as exc:
                fields = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()
                )
                return error_response(400, "Bad Request", fields)

        return wrapped


class TaxiiJSON(JSONResponse):
    """TAXII JSON, for the OpenAPI document (the routes build their bodies themselves)."""

    media_type = MEDIA


#: Every TAXII failure is a TAXII error message (status 400 for a bad parameter, as TAXII says).
TAXII_ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "description": "A TAXII error message (title, description, http_status)",
        "content": {
            MEDIA: {
                "schema": {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string"},
                        "description": {"type": "string"},
                        "http_status": {"type": "string"},
                    },
                    "required": ["title"],
                }
            }
        },
    }
}

router = APIRouter(
    prefix="/taxii2",
    tags=["taxii"],
    route_class=TaxiiRoute,
    default_response_class=TaxiiJSON,
    responses=TAXII_ERRORS,
)


def partner_of(request: Request) -> Partner:
    """The partner whose token made this request (TAXII routes are for partner accounts)."""
    n = node(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    with n.db.session() as session:
        principal = authenticate(session, token.strip() if scheme.lower() == "bearer" else None)
        principal.require(Permission.TAXII_READ)
        partner = sharing.partner_for_account(session, username=principal.username)
        if not partner.active:
            raise TaxiiError(403, "Forbidden", "this partner is not active on this node")
        session.expunge(partner)
    return partner


Caller = Annotated[Partner, Depends(partner_of)]


def local_node(session: Session, n: BorderNode) -> LocalNode:
    """Our identity as partners see it."""
    return LocalNode(
        node_id=get_node_id(session),
        name=n.settings.node_name,
        country=n.settings.node_side,
        time_zone=zone_label(n.profile, n.settings.node_side),
        data_dir=n.settings.data_dir,
    )


def _collection_json(c: Collection) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": c.title,
        "description": "Read with GET objects"
        if c.kind == "outbound"
        else "Write with POST objects",
        "can_read": c.kind == "outbound",
        "can_write": c.kind == "inbox",
        "media_types": [MEDIA],
    }


def _collection(session: Session, partner: Partner, collection_id: str) -> Collection:
    c = session.get(Collection, collection_id)
    if (
        c is None or c.partner_id != partner.id
    ):  # another partner's collection does not exist for you
        raise TaxiiError(404, "Collection not found", f"no collection {collection_id} for you")
    return c


@router.get("/")
def discovery(request: Request, partner: Caller) -> Response:
    """TAXII server discovery."""
    n = node(request)
    base = str(request.base_url).rstrip("/")
    return taxii_response(
        {
            "title": f"Sarhad node {n.settings.node_name}",
            "description": f"Border incidents shared by {n.settings.node_name} "
            f"({n.settings.node_side})",
            "default": f"{base}/taxii2/api/",
            "api_roots": [f"{base}/taxii2/api/"],
        }
    )


@router.get("/api/")
def api_root(request: Request, partner: Caller) -> Response:
    """The one API root."""
    return taxii_response(
        {
            "title": f"Sarhad {node(request).settings.node_name}",
            "versions": [MEDIA],
            "max_content_length": MAX_CONTENT,
        }
    )


@router.get("/api/collections/")
def collections(request: Request, partner: Caller) -> Response:
    """The caller's collections: outbound (read) and inbox (write)."""
    n = node(request)
    with n.db.session() as session:
        out, inbox = ensure_collections(session, partner)
        return taxii_response({"collections": [_collection_json(out), _collection_json(inbox)]})


@router.get("/api/collections/{collection_id}/")
def collection(request: Request, collection_id: str, partner: Caller) -> Response:
    """One collection."""
    with node(request).db.session() as session:
        return taxii_response(_collection_json(_collection(session, partner, collection_id)))


def _parse_ts(value: str, name: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise TaxiiError(400, "Bad Request", f"{name}: {value!r} is not a timestamp") from exc


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Filters:
    """The paging and ``match[...]`` parameters shared by the read endpoints."""

    added_after: str | None = None
    limit: int = 100
    next: str | None = None
    ids: str | None = None
    types: str | None = None
    version: str | None = None
    spec_version: str | None = None


def filters(
    added_after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    next: str | None = None,
    match_id: Annotated[str | None, Query(alias="match[id]")] = None,
    match_type: Annotated[str | None, Query(alias="match[type]")] = None,
    match_version: Annotated[str | None, Query(alias="match[version]")] = None,
    match_spec_version: Annotated[str | None, Query(alias="match[spec_version]")] = None,
) -> Filters:
    """Read the query parameters of a TAXII read request."""
    return Filters(
        added_after, limit, next, match_id, match_type, match_version, match_spec_version
    )


Params = Annotated[Filters, Depends(filters)]


def _page(
    session: Session,
    c: Collection,
    f: Filters,
    *,
    stix_id: str | None = None,
    all_versions: bool = False,
) -> tuple[list[CollectionObject], bool]:
    q = select(CollectionObject).where(CollectionObject.collection_id == c.id)
    if stix_id:
        q = q.where(CollectionObject.stix_id == stix_id)
    if f.added_after:
        q = q.where(CollectionObject.date_added > _parse_ts(f.added_after, "added_after"))
    if f.ids:
        q = q.where(CollectionObject.stix_id.in_([i.strip() for i in f.ids.split(",")]))
    if f.types:
        q = q.where(CollectionObject.stix_type.in_([t.strip() for t in f.types.split(",")]))
    if f.spec_version and "2.1" not in f.spec_version.split(","):
        return [], False
    versions = ["all"] if all_versions else [v.strip() for v in (f.version or "last").split(",")]
    if "all" not in versions:
        conds = []
        if "last" in versions:
            conds.append(CollectionObject.is_latest.is_(True))
        if "first" in versions:
            conds.append(CollectionObject.is_first.is_(True))
        stamps = [v for v in versions if v not in ("last", "first")]
        if stamps:
            conds.append(
                CollectionObject.modified.in_([_ts(_parse_ts(v, "match[version]")) for v in stamps])
            )
        q = q.where(or_(*conds))
    if f.next:
        (after_seq,) = decode_cursor(f.next, arity=1, field="next")
        if not isinstance(after_seq, int):
            raise TaxiiError(400, "Bad Request", "next: not a token this server issued")
        q = q.where(CollectionObject.seq > after_seq)
    rows = list(session.scalars(q.order_by(CollectionObject.seq).limit(f.limit + 1)))
    return rows[: f.limit], len(rows) > f.limit


#: Changes published per TAXII request at most: a partner's GET never waits on a backlog.
PUBLISH_PER_REQUEST = 2000


def _catch_up(session: Session, n: BorderNode, partner: Partner) -> None:
    publish_partner(
        session,
        node=local_node(session, n),
        partner=session.merge(partner),
        max_changes=PUBLISH_PER_REQUEST,
    )


def _readable(session: Session, partner: Partner, collection_id: str) -> Collection:
    c = _collection(session, partner, collection_id)
    if c.kind != "outbound":
        raise TaxiiError(403, "Forbidden", "this collection can be written, not read")
    return c


def _objects_envelope(rows: list[CollectionObject], more: bool) -> str:
    """The envelope, joined from the stored JSON (objects are never parsed again to serve)."""
    head = f'{{"more":{"true" if more else "false"}'
    if more:
        head += f',"next":"{encode_cursor([rows[-1].seq])}"'
    return head + ',"objects":[' + ",".join(r.payload for r in rows) + "]}"


def _paging(body: dict[str, Any], rows: list[CollectionObject], more: bool) -> dict[str, Any]:
    if more:
        body["next"] = encode_cursor([rows[-1].seq])
    return body


def _headers(rows: list[CollectionObject]) -> dict[str, str]:
    if not rows:
        return {}
    return {
        "X-TAXII-Date-Added-First": _ts(rows[0].date_added),
        "X-TAXII-Date-Added-Last": _ts(rows[-1].date_added),
    }


def _served(
    session: Session, partner: Partner, c: Collection, rows: list[CollectionObject]
) -> None:
    if rows:
        audit(
            session,
            actor=f"partner:{partner.name}",
            action="share.serve",
            entity="partner",
            entity_id=partner.id,
            detail={
                "partner": partner.name,
                "collection": c.id,
                "agreement_version": sharing.get_agreement(session, partner=partner).version,
                "objects": [[r.stix_id, r.modified] for r in rows],
            },
        )


@router.get("/api/collections/{collection_id}/objects/")
def get_objects(request: Request, collection_id: str, partner: Caller, f: Params) -> Response:
    """Objects in the collection, oldest first, ``limit`` at a time (follow ``next``)."""
    n = node(request)
    with n.db.session() as session:
        c = _readable(session, partner, collection_id)
        _catch_up(session, n, partner)
        rows, more = _page(session, c, f)
        _served(session, partner, c, rows)
        return taxii_response(_objects_envelope(rows, more), headers=_headers(rows))


@router.get("/api/collections/{collection_id}/manifest/")
def manifest(request: Request, collection_id: str, partner: Caller, f: Params) -> Response:
    """Manifest entries (id, date_added, version, media_type) of the collection."""
    n = node(request)
    with n.db.session() as session:
        c = _readable(session, partner, collection_id)
        _catch_up(session, n, partner)
        rows, more = _page(session, c, f)
        entries = [
            {
                "id": r.stix_id,
                "date_added": _ts(r.date_added),
                "version": r.modified,
                "media_type": "application/stix+json;version=2.1",
            }
            for r in rows
        ]
        body = _paging({"more": more, "objects": entries}, rows, more)
        return taxii_response(body, headers=_headers(rows))


@router.get("/api/collections/{collection_id}/objects/{object_id}/")
def get_object(
    request: Request, collection_id: str, object_id: str, partner: Caller, f: Params
) -> Response:
    """One object (its last version unless ``match[version]`` says otherwise)."""
    with node(request).db.session() as session:
        c = _readable(session, partner, collection_id)
        rows, more = _page(session, c, f, stix_id=object_id)
        if not rows and not f.next:
            raise TaxiiError(404, "Object not found", f"no object {object_id} in this collection")
        _served(session, partner, c, rows)
        return taxii_response(_objects_envelope(rows, more), headers=_headers(rows))


@router.get("/api/collections/{collection_id}/objects/{object_id}/versions/")
def versions(
    request: Request, collection_id: str, object_id: str, partner: Caller, f: Params
) -> Response:
    """Every version of one object."""
    with node(request).db.session() as session:
        c = _readable(session, partner, collection_id)
        rows, more = _page(session, c, f, stix_id=object_id, all_versions=True)
        if not rows and not f.next:
            raise TaxiiError(404, "Object not found", f"no object {object_id} in this collection")
        body = _paging({"more": more, "versions": [r.modified for r in rows]}, rows, more)
        return taxii_response(body, headers=_headers(rows))


@router.post(
    "/api/collections/{collection_id}/objects/",
    status_code=202,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                MEDIA: {
                    "schema": {
                        "type": "object",
                        "required": ["objects"],
                        "properties": {"objects": {"type": "array", "items": {"type": "object"}}},
                    }
                }
            },
        }
    },
)
async def add_objects(request: Request, collection_id: str, partner: Caller) -> Response:
    """Receive objects: each is validated; the good are stored, the bad quarantined."""
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("application/taxii+json"):
        raise TaxiiError(415, "Unsupported Media Type", f"send {MEDIA}")
    length = request.headers.get("content-length")
    if length is None:
        raise TaxiiError(411, "Length Required", "send a Content-Length header")
    if not length.isdigit() or int(length) > MAX_CONTENT:
        raise TaxiiError(
            413, "Request Entity Too Large", f"at most {MAX_CONTENT} bytes per request"
        )
    raw = await request.body()
    if len(raw) > MAX_CONTENT:
        raise TaxiiError(
            413, "Request Entity Too Large", f"at most {MAX_CONTENT} bytes per request"
        )
    try:
        envelope = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # depth: see JsonDepthLimit
        raise TaxiiError(400, "Bad Request", f"the body is not JSON: {exc}") from exc
    if not isinstance(envelope, dict) or not isinstance(envelope.get("objects"), list):
        raise TaxiiError(422, "Unprocessable Entity", 'send an envelope: {"objects": [...]}')
    # The database work runs in the thread pool: other requests go on meanwhile.
    return await run_in_threadpool(
        _store_post, request, collection_id, partner, envelope["objects"]
    )


def _store_post(
    request: Request, collection_id: str, partner: Partner, objects: list[Any]
) -> Response:
    n = node(request)
    with n.db.session() as session:
        c = _collection(session, partner, collection_id)
        if c.kind != "inbox":
            raise TaxiiError(403, "Forbidden", "this collection can be read, not written")
        report = ingest(
            session,
            partner=session.merge(partner),
            objects=objects,
            via="push",
            node=local_node(session, n),
            profile=n.profile,
        )
        # "Already have it" is a success: a retrying client must tell it from a refusal.
        successes = [{"id": i, "version": v} for i, v in report.accepted + report.duplicates]
        failures = [{"id": i or "", "message": r} for i, r in report.rejected]
        status = TaxiiStatus(
            id=str(uuid.uuid4()),
            partner_id=partner.id,
            created_at=utcnow(),
            total_count=len(objects),
            successes=successes,
            failures=failures,
        )
        session.add(status)
        session.flush()
        body = _status_json(status)
    if report.accepted:
        n.wake()  # receipts of alerts (and anything else new) go back at once
    return taxii_response(body, status=202)


def _status_json(s: TaxiiStatus) -> dict[str, Any]:
    return {
        "id": s.id,
        "status": "complete",
        "request_timestamp": _ts(s.created_at),
        "total_count": s.total_count,
        "success_count": len(s.successes),
        "successes": s.successes,
        "failure_count": len(s.failures),
        "failures": s.failures,
        "pending_count": 0,
        "pendings": [],
    }


@router.get("/api/status/{status_id}/")
def status(request: Request, status_id: str, partner: Caller) -> Response:
    """The status of an earlier POST."""
    with node(request).db.session() as session:
        s = session.get(TaxiiStatus, status_id)
        if s is None or s.partner_id != partner.id:
            raise TaxiiError(404, "Status not found", f"no status {status_id}")
        return taxii_response(_status_json(s))
