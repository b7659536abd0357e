"""Setting up a node: data folder, schema migrations, node identity."""

from __future__ import annotations

import uuid

from sarhad.core.config import Settings
from sarhad.core.db import Database, NodeMeta, get_node_id, utcnow
from sarhad.migrations import upgrade


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
