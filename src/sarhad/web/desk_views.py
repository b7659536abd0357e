"""What the desk pages show, gathered from the rooms' service functions (no HTML here).

The crossings, patrols and sharing pages read the same services as the API; this module
only shapes their results for the templates (one dict or dataclass per table).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.analysis.crossings.figures import CrossingsReport, ReportParams
from sarhad.analysis.crossings.report import month_report
from sarhad.border import BorderProfile
from sarhad.core.config import Settings
from sarhad.core.i18n import DEFAULT, from_json
from sarhad.core.journal import AuditLog
from sarhad.crossings import export as crossing_export
from sarhad.crossings.board import board
from sarhad.crossings.declarations import declaration_out, list_declarations
from sarhad.crossings.hours import get_hours, hours_out
from sarhad.crossings.places import place, zone_label
from sarhad.crossings.schemas import BoardRow, DeclarationOut, HoursOut
from sarhad.federation import service as federation
from sarhad.patrols.models import PatrolPlan
from sarhad.sharing import keys as signing_keys
from sarhad.sharing import service as sharing
from sarhad.sharing.preview import preview
from sarhad.sharing.schemas import KnownKeyOut, OwnKeysOut

#: How far back the sharing page adds up what was sent and received.
EXCHANGE_DAYS = 30
#: At most this many audit entries are read per partner and direction.
EXCHANGE_ROWS = 5000
#: Incidents run through each partner's terms to show what is withheld.
PREVIEW_LIMIT = 20
#: Refused inbound objects listed per partner.
QUARANTINE_LIMIT = 50


# --- crossings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CrossingDetail:
    """One crossing or market: both sides now, their hours, the last 30 days' declarations."""

    row: BoardRow
    hours: list[HoursOut]
    declarations: list[DeclarationOut]
    zones: dict[str, str]


def crossing_detail(
    session: Session,
    *,
    profile: BorderProfile,
    side: str,
    crossing_id: str,
    at: datetime,
    lang: str,
) -> CrossingDetail:
    """The crossing page (an unknown id raises InvalidInput naming ``crossing``)."""
    place(profile, crossing_id)
    row = board(session, profile=profile, side=side, at=at, lang=lang, crossing_ids=[crossing_id])[
        0
    ]
    hours = [
        hours_out(h, profile)
        for s in profile.sides
        if (h := get_hours(session, crossing_id=crossing_id, side=s)) is not None
    ]
    recent = list_declarations(
        session,
        crossing_id=crossing_id,
        start=at - crossing_export.RECENT,
        include_withdrawn=True,
    )
    return CrossingDetail(
        row=row,
        hours=hours,
        declarations=[declaration_out(d) for d in recent],
        zones={s: zone_label(profile, s) for s in profile.sides},
    )


def month_figures(
    session: Session, *, profile: BorderProfile, settings: Settings, month: str, now: datetime
) -> CrossingsReport:
    """The month's report (the same as GET /api/v1/crossings/report)."""
    return month_report(
        session,
        profile=profile,
        params=ReportParams.from_settings(settings),
        month=month,
        node_side=settings.node_side,
        now=now,
    )


# --- patrols -------------------------------------------------------------------------------


def plan_sectors(plan: PatrolPlan) -> list[dict[str, Any]]:
    """Per sector: risk and level when planned, the partner's level, coverage per shift."""
    return [
        {
            "sector_id": s["sector_id"],
            "risk": s["risk"],
            "level": s["level"],
            "partner_level": s.get("partner_level"),
            "coverage": list(s["coverage"]),
            "daily": sum(s["coverage"]),
        }
        for s in plan.sectors
    ]


def plan_patrols(plan: PatrolPlan) -> list[dict[str, Any]]:
    """The day's patrols, each with the deconfliction warnings that concern it."""
    warnings: dict[int, list[str]] = {}
    for c in plan.conflicts or []:
        warnings.setdefault(int(c["patrol"]), []).append(str(c["message"]))
    return [
        {
            "number": p.position + 1,
            "shift": p.shift,
            "starts_at": p.starts_at,
            "ends_at": p.ends_at,
            "kind": p.kind,
            "team": p.team,
            "partner_team": p.partner_team,
            "first_sector": p.sectors[0],
            "last_sector": p.sectors[-1],
            "km_from": p.km_from,
            "km_to": p.km_to,
            "warnings": warnings.get(p.position, []),
        }
        for p in plan.patrols
    ]


def plan_conflicts(plan: PatrolPlan, lang: str) -> list[dict[str, Any]]:
    """Deconfliction warnings in ``lang``, with the patrol numbered as in the table (from 1)."""
    return [
        {
            "patrol": int(c["patrol"]) + 1,
            "notice": c["notice"],
            "distance_km": c["distance_km"],
            # A plan stored before the warnings were coded keeps its English text.
            "message": t.in_(lang) if (t := from_json(c.get("message_code"))) else c["message"],
            "coded": t is not None,
        }
        for c in plan.conflicts or []
    ]


def latest_of_day(plans: list[PatrolPlan], day: date) -> PatrolPlan | None:
    """The newest plan of ``day`` among ``plans`` (newest first)."""
    return next((p for p in plans if p.day == day), None)


# --- sharing -------------------------------------------------------------------------------


@dataclass
class Exchange:
    """What went to or came from one partner over the window, from the audit log."""

    entries: int = 0
    last_at: datetime | None = None
    incidents: int = 0  # incident versions shared (sent) or accepted (received)
    withdrawn: int = 0
    alerts: int = 0
    crossings: int = 0
    duplicates: int = 0
    rejected: int = 0
    recent: list[dict[str, Any]] = field(default_factory=list)


def _entries(session: Session, action: str, partner_id: str, since: datetime) -> list[AuditLog]:
    return list(
        session.scalars(
            select(AuditLog)
            .where(
                AuditLog.action == action,
                AuditLog.entity_id == partner_id,
                AuditLog.at >= since,
            )
            .order_by(AuditLog.seq.desc())
            .limit(EXCHANGE_ROWS)
        )
    )


def _count(value: Any) -> int:
    """Audit details hold a list of ids or a number."""
    return len(value) if isinstance(value, list) else int(value or 0)


def sent(session: Session, *, partner_id: str, since: datetime) -> Exchange:
    """Publish passes for the partner (audit ``share.publish``)."""
    out = Exchange()
    for e in _entries(session, "share.publish", partner_id, since):
        d = e.detail or {}
        row = {
            "at": e.at,
            "incidents": _count(d.get("shared")),
            "withdrawn": _count(d.get("withdrawn")),
            "alerts": _count(d.get("alert_objects")),
            "crossings": _count(d.get("crossing_objects")),
        }
        out.entries += 1
        out.last_at = out.last_at or e.at
        out.incidents += row["incidents"]
        out.withdrawn += row["withdrawn"]
        out.alerts += row["alerts"]
        out.crossings += row["crossings"]
        if len(out.recent) < 10:
            out.recent.append(row)
    return out


def received(session: Session, *, partner_id: str, since: datetime) -> Exchange:
    """Batches from the partner (audit ``share.receive``): accepted and refused objects."""
    out = Exchange()
    for e in _entries(session, "share.receive", partner_id, since):
        d = e.detail or {}
        row = {
            "at": e.at,
            "via": d.get("via"),
            "incidents": _count(d.get("accepted")),
            "duplicates": _count(d.get("duplicates")),
            "rejected": _count(d.get("rejected")),
        }
        out.entries += 1
        out.last_at = out.last_at or e.at
        out.incidents += row["incidents"]
        out.duplicates += row["duplicates"]
        out.rejected += row["rejected"]
        if len(out.recent) < 10:
            out.recent.append(row)
    return out


def partner_views(session: Session, *, now: datetime, lang: str = DEFAULT) -> list[dict[str, Any]]:
    """Per partner: the agreement, sync state (its last error in ``lang``), sent, received,
    withheld and quarantined."""
    since = now - timedelta(days=EXCHANGE_DAYS)
    sync = {s["partner"]: s for s in federation.status(session, lang=lang)}
    views = []
    for partner in sharing.list_partners(session):
        agreement = sharing.get_agreement(session, partner=partner)
        shown = preview(session, partner=partner, limit=PREVIEW_LIMIT, now=now)
        views.append(
            {
                "id": partner.id,
                "name": partner.name,
                "country": partner.country,
                "active": partner.active,
                "max_tlp": agreement.max_tlp,
                "statuses": list(agreement.statuses or []),
                "withheld": list(agreement.withheld_fields or []),
                "release_delay_hours": agreement.release_delay_hours,
                "share_crossings": agreement.share_crossings,
                "share_throughput": agreement.share_throughput,
                "sync": sync.get(partner.name, {}),
                "sent": sent(session, partner_id=partner.id, since=since),
                "received": received(session, partner_id=partner.id, since=since),
                "preview": shown,
                # Not going at all, going later, or going with fields removed.
                "held_back": [i for i in shown.items if not i.share or i.withheld_fields],
                "quarantine": federation.list_quarantine(
                    session, partner=partner.name, limit=QUARANTINE_LIMIT
                ),
                # Their fingerprints, for liaison officers to confirm by phone.
                "keys": signing_keys.partner_keys_out(session, partner, now=now),
            }
        )
    return views


@dataclass(frozen=True)
class KeyViews:
    """This node's signing keys, and the keys of third nodes whose records partners forward."""

    own: OwnKeysOut
    third: list[KnownKeyOut]


def key_views(session: Session, *, data_dir: Path) -> KeyViews:
    """The keys the sharing page shows besides each partner's."""
    return KeyViews(
        own=signing_keys.own_keys_out(session, data_dir),
        third=[k for k in signing_keys.list_keys(session) if k.partner is None],
    )
