"""Federation routes under /api/v1/federation: status, sync now, quarantine (for liaison/admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from sarhad.border.api import node
from sarhad.core.api import request_language, require, responses
from sarhad.core.auth import Permission, Principal
from sarhad.core.journal import AuditReport, verify_audit
from sarhad.core.threads import run_long
from sarhad.federation import service
from sarhad.federation.anchors import PartnersReport, check_partners

router = APIRouter(prefix="/federation", tags=["federation"])

Reader = Annotated[Principal, Depends(require(Permission.SHARING_READ))]
Syncer = Annotated[Principal, Depends(require(Permission.FEDERATION_SYNC))]
Auditor = Annotated[Principal, Depends(require(Permission.AUDIT_READ))]


@router.get("/status")
def status(request: Request, _actor: Reader) -> list[dict[str, Any]]:
    """Per partner: last sync, last error (in the request's language, its code beside it),
    objects waiting, objects quarantined."""
    with node(request).db.session() as session:
        return service.status(session, lang=request_language(request))


@router.post("/sync", responses=responses(404, 422))
async def sync_now(
    request: Request, _actor: Syncer, partner: str | None = None
) -> list[dict[str, Any]]:
    """Sync now with one partner (or all); a partner that is down is reported, not an error."""
    n = node(request)
    reports = await run_long(
        request,
        lambda: service.sync_all(n.db, settings=n.settings, profile=n.profile, partner=partner),
    )
    lang = request_language(request)
    return [
        {
            "partner": r.partner,
            "pulled": len(r.pulled.accepted),
            "duplicates": len(r.pulled.duplicates),
            "rejected": len(r.pulled.rejected),
            "pushed": r.pushed,
            "push_failures": r.push_failures,
            "waiting": r.waiting,
            **service.error_fields(r.error, lang),
        }
        for r in reports
    ]


@router.get("/quarantine", responses=responses(404, 422))
def quarantine(
    request: Request,
    _actor: Reader,
    partner: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Inbound objects refused, with the reason, newest first."""
    with node(request).db.session() as session:
        return [
            {
                "id": q.id,
                "partner_id": q.partner_id,
                "via": q.via,
                "stix_id": q.stix_id,
                "reason": q.reason,
                "received_at": q.received_at,
                "payload": q.payload,
            }
            for q in service.list_quarantine(session, partner=partner, limit=limit)
        ]


@router.get("/originals/{incident_id}", responses=responses(404))
def originals(request: Request, incident_id: str, _actor: Reader) -> list[dict[str, Any]]:
    """A record received as plain STIX: the objects as the partner sent them, per version."""
    with node(request).db.session() as session:
        return service.originals(session, incident_id=incident_id)


@router.get("/audit/verify")
async def audit_verify_partners(request: Request, _actor: Auditor) -> dict[str, Any]:
    """``sarhad audit verify --partners``: the local chain, then every partner's anchors of it.

    ``ok`` is false when the chain is damaged, when a partner holds a hash that differs (the
    first such entry is named), or when no partner could be reached.
    """
    db = node(request).db

    def verify() -> AuditReport:
        with db.session() as session:
            return verify_audit(session)

    report = await run_in_threadpool(verify)
    anchored = PartnersReport(await run_long(request, lambda: check_partners(db)))
    return {
        "ok": report.ok and anchored.ok,
        "entries": report.entries,
        "head": report.head,
        "problems": [{"seq": p.seq, "problem": p.problem} for p in report.problems[:100]],
        "partners": anchored.to_json(),
    }
