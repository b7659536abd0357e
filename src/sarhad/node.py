"""Setting up a node: data folder, schema migrations, node identity."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from sarhad.alerts import service as alerts
from sarhad.alerts.ports import AlertPorts
from sarhad.analysis import service as analysis
from sarhad.analysis.risk import RiskParams
from sarhad.border import BorderProfile
from sarhad.core.auth import Permission
from sarhad.core.config import Settings
from sarhad.core.db import Database, NodeMeta, get_node_id, utcnow
from sarhad.core.feed import FeedSource
from sarhad.crossings import service as crossings
from sarhad.crossings.ports import CrossingPorts
from sarhad.incidents import service as incidents
from sarhad.migrations import upgrade
from sarhad.patrols import service as patrols
from sarhad.patrols.planner import Notice
from sarhad.patrols.ports import PatrolPorts, RiskView
from sarhad.sharing import service as sharing


def init_node(settings: Settings) -> Database:
    """Create the data folder, bring the schema to head and give the node its id (idempotent)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.effective_database_url)
    upgrade(db.engine)
    with db.session() as session:
        if session.get(NodeMeta, "node_id") is None:
            session.add(NodeMeta(key="node_id", value=str(uuid.uuid4())))
            session.add(NodeMeta(key="initialised_at", value=utcnow().isoformat()))
    return db


def node_id(db: Database) -> str:
    """This node's permanent id (a UUID made at ``init``)."""
    with db.session() as session:
        return get_node_id(session)


def alert_ports(wake: Callable[[], None] = lambda: None) -> AlertPorts:
    """Wire the alerts room to the partner directory (sharing) and to incidents."""
    return AlertPorts(
        counterpart=sharing.alert_counterpart,
        known_incidents=incidents.existing_ids,
        wake=wake,
    )


def crossing_ports(alerts_wiring: AlertPorts) -> CrossingPorts:
    """Wire closure alerts to the partners whose agreement shares crossing status."""

    def partners(session: Session) -> list[str]:
        return [
            p.name
            for p in sharing.list_partners(session)
            if p.active and sharing.get_agreement(session, partner=p).share_crossings
        ]

    return CrossingPorts(alerts=alerts_wiring, partners=partners)


def feed_sources() -> dict[str, FeedSource]:
    """What the live feed streams: incidents, alerts and plans, each under its read permission."""
    return {
        "incident": FeedSource(Permission.INCIDENTS_READ, incidents.describe),
        "alert": FeedSource(Permission.ALERTS_READ, alerts.describe),
        "patrol_plan": FeedSource(Permission.PATROLS_READ, patrols.describe),
        "crossing_declaration": FeedSource(Permission.CROSSINGS_READ, crossings.describe),
    }


def patrol_ports(settings: Settings, profile: BorderProfile) -> PatrolPorts:
    """Wire the planner to sector risk (analysis) and partners' deconfliction notices (alerts)."""
    params = RiskParams.from_settings(settings)

    def risk(session: Session, at: datetime, origin: str | None) -> RiskView:
        rows = analysis.sector_risk(session, profile=profile, params=params, at=at, origin=origin)
        return RiskView(
            scores={r.sector_id: r.score for r in rows}, levels={r.sector_id: r.level for r in rows}
        )

    def notices(session: Session, start: datetime, end: datetime) -> list[Notice]:
        out = []
        for a in alerts.active_notices(session, start=start, end=end):
            if a.km is not None:
                lo = hi = a.km
            elif a.sector_id is not None:
                sector = profile.sector(a.sector_id)
                lo, hi = sector.start_km, sector.end_km
            else:  # an alert always has a place; nothing to measure against otherwise
                continue
            out.append(Notice(a.id, lo, hi, a.valid_from, a.valid_until, a.text))
        return out

    return PatrolPorts(risk=risk, notices=notices)
