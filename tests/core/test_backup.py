"""`sarhad backup` and `sarhad restore` on real nodes, on the backend under test.

The story: Pakistan's node runs with a partner (Iran) and holds incidents and alerts. It is
backed up while it runs, with work still waiting for Iran; Iran then takes that work and sends
more; Pakistan's node dies. A new, empty node is restored from the archive, audit verify
passes, it comes back at the old address and syncs: in the end both sides hold every record
and every alert step once, whatever was sent twice.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from federation.helpers import record, sync
from sarhad.alerts.models import Alert, AlertStep
from sarhad.alerts.taxonomy import SHARED_STEPS
from sarhad.app import create_app
from sarhad.core.auth import Role
from sarhad.core.config import Settings
from sarhad.core.db import Database, get_node_id
from sarhad.core.journal import verify_audit
from sarhad.federation.gauges import waiting
from sarhad.federation.models import Receipt
from sarhad.incidents.models import Incident
from sarhad.node import init_node
from support import FAST, LiveNode, introduce, start_server, wait_for

BACKEND = os.environ.get("SARHAD_TEST_DB", "sqlite")
PG_URL = os.environ.get("SARHAD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
ALERT = {
    "priority": "immediate",
    "kind": "smuggling_movement",
    "text": "Convoy of six pickups heading south towards the line near Taftan",
    "location": {"lon": 61.6, "lat": 28.95},
}


@pytest.fixture
def empty_db_url(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Fresh databases with no schema at all (a restore target), dropped afterwards."""
    made: list[str] = []
    admin = (
        create_engine(
            "postgresql+psycopg://" + PG_URL.removeprefix("postgresql://"),
            isolation_level="AUTOCOMMIT",
        )
        if BACKEND == "postgresql"
        else None
    )

    def make() -> str:
        if admin is None:
            return f"sqlite:///{tmp_path / f'restored-{len(made)}' / 'sarhad.db'}"
        name = f"sarhad_r_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        made.append(name)
        return f"{PG_URL.rpartition('/')[0]}/{name}"

    yield make
    if admin is not None:
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``sarhad ARGS`` in its own process for the node of ``settings``."""
    env = {
        **os.environ,
        "SARHAD_DATA_DIR": str(settings.data_dir),
        "SARHAD_DATABASE_URL": settings.effective_database_url,
        "SARHAD_NODE_NAME": settings.node_name,
        "SARHAD_NODE_SIDE": settings.node_side,
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "sarhad", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def raise_alert(node: LiveNode) -> str:
    with node.client(Role.DUTY_OFFICER) as c:
        r = c.post("/api/v1/alerts", json=ALERT)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def alert(node: LiveNode, alert_id: str) -> dict[str, Any]:
    with node.client(Role.LIAISON) as c:
        r = c.get(f"/api/v1/alerts/{alert_id}")
    return r.json() if r.status_code == 200 else {}


def holdings(node: LiveNode) -> dict[str, Any]:
    """What a node holds: incidents by reporting side, alerts, shared steps per alert."""
    with node.db.session() as s:
        incidents = dict(
            s.execute(
                select(Incident.reporting_side, func.count()).group_by(Incident.reporting_side)
            ).all()
        )
        alerts = sorted(s.scalars(select(Alert.id)))
        steps = sorted(
            (a, st, lv)
            for a, st, lv in s.execute(select(AlertStep.alert_id, AlertStep.step, AlertStep.level))
            if st in SHARED_STEPS
        )
        receipts = s.scalar(select(func.count()).select_from(Receipt))
    return {"incidents": incidents, "alerts": alerts, "steps": steps, "receipts": receipts}


def test_a_node_restored_from_backup_catches_up_with_its_partner_nothing_lost_or_doubled(
    spawn: Callable[..., LiveNode], empty_db_url: Callable[[], str], tmp_path: Path
) -> None:
    pk = spawn("pk-node", "PK", workers=True, **FAST)
    ir = spawn("ir-node", "IR", workers=True, **FAST)
    introduce(pk, ir)
    for _ in range(3):
        record(pk)
    record(ir, reporting_side="IR")
    first = raise_alert(pk)
    wait_for(lambda: alert(ir, first), what="the first alert at Iran")
    sync(pk), sync(ir)

    # Iran is down for a while: Pakistan's new records and alert wait in its outbox...
    ir.stop()
    for _ in range(2):
        record(pk)
    second = raise_alert(pk)
    with pk.db.session() as s:
        pk_id = get_node_id(s)
    # ...when the backup is taken, with the node serving.
    archive = tmp_path / "pk-backup.tar.gz"
    done = cli(pk.settings, "backup", "--out", str(archive))
    assert done.returncode == 0, done.stdout + done.stderr
    assert archive.stat().st_mode & 0o777 == 0o600
    assert "encrypt" in done.stderr

    # Iran comes back and takes the waiting work; it answers and sends more; then Pakistan's
    # node dies. The backup knows nothing of this.
    ir.start()
    wait_for(lambda: alert(ir, second), timeout=30, what="the second alert at Iran")
    with ir.client(Role.DUTY_OFFICER) as c:
        assert c.post(f"/api/v1/alerts/{first}/acknowledge").status_code == 200
    wait_for(lambda: alert(pk, first).get("status") == "acknowledged", what="the ack at PK")
    from_ir = raise_alert(ir)
    wait_for(lambda: alert(pk, from_ir), what="Iran's alert at PK")
    pk.stop()
    pk.db.dispose()
    record(ir, reporting_side="IR")
    with ir.client(Role.DUTY_OFFICER) as c:
        assert c.post(f"/api/v1/alerts/{second}/acknowledge").status_code == 200
    late = raise_alert(ir)  # waits at Iran while Pakistan is down

    # A new, empty node (new folder, new empty database) restored from the archive.
    restored = Settings(
        data_dir=tmp_path / "restored",
        database_url=empty_db_url(),
        node_name="pk-node",
        node_side="PK",
        **FAST,
        sync_interval_s=0,
    )
    done = cli(restored, "restore", str(archive))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "audit log intact" in done.stdout
    verified = cli(restored, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert (restored.data_dir / "node.key").stat().st_mode & 0o777 == 0o600

    # It comes back at the old address, with its partner token, node id and keys.
    db = init_node(restored)
    with db.session() as s:
        assert get_node_id(s) == pk_id
        # Its push cursor is from before Iran took the waiting work: it will send it again.
        assert waiting(s).get("ir-node", 0) >= 3
    port = int(pk.url.rsplit(":", 1)[1])
    server, thread, url = start_server(create_app(restored, db=db), port=port, workers=True)
    back = LiveNode(url=url, db=db, settings=restored, tokens=pk.tokens)
    try:
        report = sync(back)
        assert report.error is None, report.error
        sync(ir)
        for a in (first, second, from_ir, late):
            wait_for(lambda a=a: alert(back, a), timeout=30, what=f"alert {a} at the restored node")
        wait_for(
            lambda: alert(back, second).get("status") == "acknowledged",
            timeout=30,
            what="Iran's acknowledgement, sent while Pakistan was down",
        )
        wait_for(
            lambda: all(alert(back, a).get("delivered_at") for a in (first, second)),
            what="the restored node's alerts marked delivered",
        )
        sync(back), sync(ir)  # settle: both cursors at the end
        pk_has, ir_has = holdings(back), holdings(ir)
        # Nothing lost: each side holds the other's records and every alert.
        assert pk_has["incidents"] == {"PK": 5, "IR": 2}
        assert ir_has["incidents"] == {"PK": 5, "IR": 2}
        assert pk_has["alerts"] == ir_has["alerts"] == sorted([first, second, from_ir, late])
        # Nothing doubled: every shared step once on each side, the same on both.
        assert pk_has["steps"] == ir_has["steps"]
        assert len(set(pk_has["steps"])) == len(pk_has["steps"])
        for node in (back, ir):
            with node.db.session() as s:
                assert verify_audit(s).ok
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        db.dispose()


def test_restore_refuses_a_node_that_is_not_empty_and_writes_nothing(
    live: LiveNode, tmp_path: Path
) -> None:
    archive = tmp_path / "b.tar.gz"
    assert cli(live.settings, "backup", "--out", str(archive)).returncode == 0
    again = cli(live.settings, "backup", "--out", str(archive))
    assert again.returncode == 3 and "exists already" in again.stderr  # never overwrites
    with live.db.session() as s:
        before = verify_audit(s).entries
    done = cli(live.settings, "restore", str(archive))
    assert done.returncode == 3
    assert "a restore goes into an empty node only" in done.stderr
    assert "node.key exists" in done.stderr and "table(s)" in done.stderr
    with live.db.session() as s:
        assert verify_audit(s).entries == before


def _rewrite(archive: Path, out: Path, change: Callable[[str, bytes], bytes]) -> None:
    with tarfile.open(archive, "r:gz") as src, tarfile.open(out, "w:gz") as dst:
        for info in src:
            data = src.extractfile(info).read()  # type: ignore[union-attr]
            data = change(info.name, data)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))


def test_restore_refuses_a_newer_schema_and_a_damaged_archive(
    live: LiveNode, tmp_path: Path, empty_db_url: Callable[[], str]
) -> None:
    archive = tmp_path / "b.tar.gz"
    assert cli(live.settings, "backup", "--out", str(archive)).returncode == 0
    target = Settings(data_dir=tmp_path / "new", database_url=empty_db_url(), node_side="PK")

    def newer(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        doc = json.loads(data)
        doc["schema_revision"] = "9999"
        return json.dumps(doc).encode()

    _rewrite(archive, tmp_path / "newer.tar.gz", newer)
    done = cli(target, "restore", str(tmp_path / "newer.tar.gz"))
    assert done.returncode == 3 and "schema 9999 is newer" in done.stderr

    def damaged(name: str, data: bytes) -> bytes:
        return data[:-3] + b"xx\n" if name == "files/node.key" else data

    _rewrite(archive, tmp_path / "damaged.tar.gz", damaged)
    done = cli(target, "restore", str(tmp_path / "damaged.tar.gz"))
    assert done.returncode == 2 and "does not match its checksum" in done.stderr
    # nothing of either attempt was left behind: the target is still a restore target
    assert not (target.data_dir / "node.key").exists()
    done = cli(target, "restore", str(archive))
    assert done.returncode == 0, done.stdout + done.stderr
    db = Database(target.effective_database_url)
    try:
        with db.session() as s:
            assert verify_audit(s).ok
    finally:
        db.dispose()
