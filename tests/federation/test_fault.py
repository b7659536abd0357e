"""A node killed in the middle of a sync resumes where it stopped: nothing lost, nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from sqlalchemy import func, select

from sarhad.core.db import get_node_id
from sarhad.core.journal import verify_audit
from sarhad.federation.identity import LocalNode
from sarhad.federation.models import Quarantined, Receipt
from sarhad.federation.publish import publish_partner, sign_all
from sarhad.federation.store import Appender, collection_id
from sarhad.federation.types.incident import incident_to_stix
from sarhad.incidents.models import Incident, IncidentVersion
from sarhad.sharing import service as sharing
from sarhad.sharing.keys import own_ring
from support import LiveNode

from .conftest import introduce
from .fixtures.stix_records import make_record

INCIDENTS = 3_334  # three objects each: 10,002 objects, plus the node's static objects


def load_outbound(pk: LiveNode, partner: str, count: int) -> int:
    """Put ``count`` shared incidents straight into the partner's collection (fast loading)."""
    with pk.db.session() as s:
        node = LocalNode(node_id=get_node_id(s), name=pk.settings.node_name, country="PK")
        p = sharing.get_partner(s, name=partner)
        publish_partner(s, node=node, partner=p)  # static objects first, as a real node does
        appender = Appender(s, collection_id(p.id, "outbound"))
        ring = own_ring(pk.settings.data_dir)
        n = 0
        for i in range(count):
            record = make_record(
                i, status="validated", tlp="green", reporting_side="PK", title=f"Fuel seizure {i}"
            )
            objects = incident_to_stix(
                record,
                identity_id=node.identity_id,
                withheld=["sources"],
                origin_node_id=node.node_id,
            )
            for obj in sign_all(objects, ring, node_id=node.node_id):  # as publish signs
                appender.append(obj)
                n += 1
    return n


def count(node: LiveNode, model: type) -> int:
    with node.db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_sigkill_mid_sync_then_resume(spawn: Callable[..., LiveNode]) -> None:
    pk, ir = spawn("pk-node", "PK"), spawn("ir-node", "IR")
    introduce(pk, ir)
    loaded = load_outbound(pk, "ir-node", INCIDENTS)
    assert loaded >= 10_000
    env = {
        **os.environ,
        "SARHAD_DATA_DIR": str(ir.settings.data_dir),
        "SARHAD_DATABASE_URL": ir.settings.database_url or "",
        "SARHAD_NODE_NAME": "ir-node",
        "SARHAD_NODE_SIDE": "IR",
    }
    cmd = [sys.executable, "-m", "sarhad", "sync", "--partner", "pk-node", "--json"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while count(ir, Incident) < 600:  # well into the sync, far from its end
            assert proc.poll() is None, "sync ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    partial = count(ir, Incident)
    assert 600 <= partial < INCIDENTS
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert count(ir, Incident) == INCIDENTS  # nothing lost
    assert count(ir, IncidentVersion) == INCIDENTS  # nothing stored twice
    assert count(ir, Quarantined) == 0
    with ir.db.session() as s:
        receipts = s.scalar(select(func.count(func.distinct(Receipt.stix_id))))
        assert receipts == s.scalar(select(func.count()).select_from(Receipt))
        assert verify_audit(s).ok
    assert receipts >= loaded
