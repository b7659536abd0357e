"""Core routes: who am I, and the audit chain check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from sarhad.core.api import node, require
from sarhad.core.auth import Permission, Principal
from sarhad.core.journal import verify_audit

router = APIRouter(tags=["node"])


@router.get("/me")
def me(
    request: Request, actor: Annotated[Principal, Depends(require(Permission.BORDER_READ))]
) -> dict[str, Any]:
    """The caller's account and role, and this node's name and side."""
    settings = node(request).settings
    return {
        "username": actor.username,
        "role": actor.role.value,
        "node": {"name": settings.node_name, "side": settings.node_side},
    }


@router.get("/audit/verify")
def audit_verify(
    request: Request, _actor: Annotated[Principal, Depends(require(Permission.AUDIT_READ))]
) -> dict[str, Any]:
    """Walk the hash chain; ``ok`` is false with the first problems if anything was tampered."""
    with node(request).db.session() as session:
        report = verify_audit(session)
    return {
        "ok": report.ok,
        "entries": report.entries,
        "head": report.head,
        "problems": [{"seq": p.seq, "problem": p.problem} for p in report.problems[:100]],
    }
