"""Setting up a node: data folder, schema migrations, node identity."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sarhad.alerts import service as alerts
from sarhad.alerts.ports import AlertPorts
from sarhad.core.auth import Permission
from sarhad.core.config import Settings
from sarhad.core.db import Database, NodeMeta, get_node_id, utcnow
from sarhad.core.feed import FeedSource
from sarhad.incidents import service as incidents
from sarhad.migrations import upgrade
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


def feed_sources() -> dict[str, FeedSource]:
    """What the live feed streams: incidents and alerts, each under its read permission."""
    return {
        "incident": FeedSource(Permission.INCIDENTS_READ, incidents.describe),
        "alert": FeedSource(Permission.ALERTS_READ, alerts.describe),
    }
