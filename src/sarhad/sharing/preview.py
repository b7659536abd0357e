"""What a partner would receive: the newest incidents run through the policy, for a liaison."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sarhad.core.db import utcnow
from sarhad.core.i18n import Text
from sarhad.incidents import service as incidents
from sarhad.sharing.models import Partner
from sarhad.sharing.policy import SharableRecord, decide, redact
from sarhad.sharing.schemas import PreviewItem, PreviewOut
from sarhad.sharing.service import resolve_partner, terms_for


def coded(reason: str) -> dict[str, Any]:
    """A reason as ``{"code", "params"}`` (one not yet coded: ``error.plain`` with its text)."""
    return (
        reason.as_json()
        if isinstance(reason, Text)
        else Text("error.plain", {"text": reason}).as_json()
    )


def preview(
    session: Session, *, partner: Partner | str, limit: int = 20, now: datetime | None = None
) -> PreviewOut:
    """The newest ``limit`` incidents as ``partner`` would receive them, and why not if not."""
    p = resolve_partner(session, partner)
    terms = terms_for(session, partner=p)
    at = now or utcnow()
    rows, _ = incidents.list_incidents(session, filters=incidents.IncidentFilter(), limit=limit)
    items: list[PreviewItem] = []
    for row in rows:
        out = incidents.to_out(row)
        decision = decide(SharableRecord.from_incident(out, row.origin_node_id), terms, now=at)
        goes = decision.share or decision.release_at is not None
        items.append(
            PreviewItem(
                id=out.id,
                title=out.title,
                occurred_at=out.occurred_at,
                category=out.category.value,
                sector=out.enrichment.sector,
                status=out.status.value,
                tlp=out.tlp,
                share=decision.share,
                reasons=list(decision.reasons),
                reason_codes=[coded(r) for r in decision.reasons],
                withheld_fields=list(decision.withheld_fields),
                release_at=decision.release_at,
                record=redact(out.model_dump(mode="json"), decision) if goes else None,
            )
        )
    shared = sum(i.share for i in items)
    held = sum(i.release_at is not None for i in items)
    return PreviewOut(
        partner=p.name,
        agreement_version=terms.version,
        at=at,
        shared=shared,
        held=held,
        refused=len(items) - shared - held,
        items=items,
    )
