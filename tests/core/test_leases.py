"""Leases with fencing, and the split of background work between `sarhad serve` processes.

Unit tests of acquire / renew / expiry / fencing run on both databases. The fault tests start
real `sarhad serve` processes on one PostgreSQL database with a real partner node on loopback,
kill or freeze the process holding a partner's sync lease, and measure the takeover.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from federation.fixtures.stix_records import make_record
from sarhad.core.config import Settings, load_settings
from sarhad.core.db import Database, NodeMeta, get_node_id
from sarhad.core.errors import ConfigError
from sarhad.core.journal import verify_audit
from sarhad.core.leases import (
    LeaseKeeper,
    LeaseLost,
    LeaseRow,
    fence,
    release,
    renew,
    try_acquire,
)
from sarhad.core.worker import WorkerGate
from sarhad.federation.identity import LocalNode
from sarhad.federation.models import Quarantined, Receipt, SyncCursor
from sarhad.federation.publish import publish_partner, sign_all
from sarhad.federation.store import Appender, collection_id
from sarhad.federation.types.incident import incident_to_stix
from sarhad.incidents.models import Incident, IncidentVersion
from sarhad.node import init_node
from sarhad.sharing import service as sharing
from sarhad.sharing.keys import own_ring
from support import LiveNode, free_port, introduce, wait_healthy

BACKEND = os.environ.get("SARHAD_TEST_DB", "sqlite")
SARHAD = [sys.executable, "-m", "sarhad"]
pg_only = pytest.mark.skipif(
    BACKEND != "postgresql",
    reason="several `sarhad serve` processes sharing one database is the PostgreSQL "
    "deployment; on SQLite one process runs the background work (tested below on SQLite)",
)
sqlite_only = pytest.mark.skipif(
    BACKEND != "sqlite", reason="the file lock is SQLite's one-process rule"
)

TTL_S = 2.0  # the fault tests' lease: short, so a takeover is seconds
POLL_S = 0.25
#: Scheduling slack on a loaded 2-core machine (Python threads, three processes, a server).
SLACK_S = 1.0
SYNC_LEASE = "sync:pk-node"


# --- acquire / renew / expiry / fencing, on both databases ---------------------------------


def _note(db: Database, lease: Any, key: str) -> None:
    """A write guarded by ``lease``: refused (rolled back) when the fence refuses."""
    with db.session() as s:
        s.add(NodeMeta(key=key, value="written"))
        s.flush()
        fence(s, lease)


def _noted(db: Database, key: str) -> bool:
    with db.session() as s:
        return s.get(NodeMeta, key) is not None


def test_one_holder_at_a_time_and_a_new_epoch_after_expiry(db: Database) -> None:
    a = try_acquire(db, "job", holder="host-a:1:aa", ttl_s=0.5)
    assert a is not None and a.epoch == 1
    assert try_acquire(db, "job", holder="host-b:2:bb", ttl_s=0.5) is None  # held, not expired
    again = try_acquire(db, "job", holder="host-a:1:aa", ttl_s=0.5)
    assert again is not None and again.epoch == 1  # its own: renewed, same epoch
    assert renew(db, a)
    _note(db, a, "first")
    assert _noted(db, "first")

    time.sleep(0.7)  # a froze: its lease expired, nobody renewed it
    with pytest.raises(LeaseLost):
        _note(db, a, "late-but-untaken")  # expired: refused even before anyone took it
    assert not _noted(db, "late-but-untaken")

    b = try_acquire(db, "job", holder="host-b:2:bb", ttl_s=5)
    assert b is not None and b.epoch == 2
    assert not renew(db, a)  # a wakes: its renewal finds the lease taken
    with pytest.raises(LeaseLost):
        _note(db, a, "late")  # ... and its late write is refused, the transaction rolled back
    assert not _noted(db, "late")
    _note(db, b, "new-holder")
    assert _noted(db, "new-holder")
    with db.session() as s:
        row = s.get(LeaseRow, "job")
        assert row is not None and (row.holder, row.epoch) == ("host-b:2:bb", 2)


def test_a_released_lease_is_taken_at_once(db: Database) -> None:
    a = try_acquire(db, "job", holder="a", ttl_s=60)
    assert a is not None
    assert try_acquire(db, "job", holder="b", ttl_s=60) is None
    release(db, a)
    b = try_acquire(db, "job", holder="b", ttl_s=60)
    assert b is not None and b.epoch == 2
    release(db, a)  # a stale release changes nothing
    assert try_acquire(db, "job", holder="c", ttl_s=60) is None


def test_the_keeper_renews_what_it_holds_and_drops_what_it_lost(db: Database) -> None:
    keeper = LeaseKeeper(db, ttl_s=0.6, renew_s=0.15, holder="keeper")
    keeper.start()
    try:
        lease = keeper.get("job")
        assert lease is not None
        time.sleep(1.2)  # twice the ttl: renewed meanwhile
        assert try_acquire(db, "job", holder="other", ttl_s=5) is None
        assert keeper.held() == ["job"]
        _note(db, lease, "renewed")
        with db.session() as s:  # another process took it (as if the keeper had frozen)
            row = s.get(LeaseRow, "job")
            assert row is not None
            row.holder, row.epoch = "other", row.epoch + 1
        deadline = time.monotonic() + 5
        while keeper.held():
            assert time.monotonic() < deadline, "the keeper kept a lease it lost"
            time.sleep(0.05)
    finally:
        keeper.stop()


def test_lease_settings_poll_within_the_ttl() -> None:
    assert Settings().lease_ttl_s == 15 and Settings().lease_poll_every_s == 5
    assert Settings(lease_ttl_s=3, lease_poll_s=0.5).lease_poll_every_s == 0.5
    with pytest.raises(ConfigError, match="lease_poll_s must be shorter than lease_ttl_s"):
        load_settings(lease_ttl_s=2, lease_poll_s=2)


@sqlite_only
def test_one_process_per_sqlite_file_runs_background_work(settings: Settings) -> None:
    first = WorkerGate(enabled=True, database_url=settings.effective_database_url)
    second = WorkerGate(enabled=True, database_url=settings.effective_database_url)
    assert first.open() and first.state == "on"
    try:
        assert not second.open()
        assert second.state.startswith("off: another process runs the background work")
        assert "workers.lock" in second.state
    finally:
        first.close()
    assert second.open()  # the first stopped: the next start may run it
    second.close()


# --- real processes ------------------------------------------------------------------------


@dataclass
class Proc:
    """A `sarhad serve` subprocess and its log."""

    popen: subprocess.Popen[bytes]
    url: str
    log: Path
    frozen: bool = False

    @property
    def pid(self) -> int:
        return self.popen.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def ready(self) -> dict[str, Any]:
        found: dict[str, Any] = httpx.get(f"{self.url}/readyz", timeout=5).json()
        return found


@dataclass
class Cluster:
    """Processes started by a test; all killed at its end."""

    tmp: Path
    procs: list[Proc] = field(default_factory=list)

    def serve(self, env: dict[str, str], *args: str, name: str, port: int = 0) -> Proc:
        port = port or free_port()
        log = self.tmp / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [*SARHAD, "serve", "--port", str(port), *args],
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        proc = Proc(popen, f"http://127.0.0.1:{port}", log)
        self.procs.append(proc)
        return proc

    def wait_up(self, *procs: Proc) -> None:
        deadline = time.monotonic() + 90
        for proc in procs:
            wait_healthy(proc.url, proc.popen, proc.text, within=deadline - time.monotonic())

    def stop(self) -> None:
        for proc in self.procs:
            if proc.popen.poll() is None:
                proc.popen.send_signal(signal.SIGCONT)
                proc.popen.kill()
            proc.popen.wait(timeout=20)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    made = Cluster(tmp_path)
    yield made
    made.stop()


def node_env(settings: Settings, **over: str) -> dict[str, str]:
    return {
        "SARHAD_DATA_DIR": str(settings.data_dir),
        "SARHAD_DATABASE_URL": settings.database_url or "",
        "SARHAD_NODE_NAME": settings.node_name,
        "SARHAD_NODE_SIDE": settings.node_side,
        "SARHAD_LEASE_TTL_S": str(TTL_S),
        "SARHAD_LEASE_POLL_S": str(POLL_S),
        "SARHAD_SYNC_INTERVAL_S": "0.5",
        "SARHAD_COURIER_POLL_S": "1",
        "SARHAD_ESCALATION_CHECK_S": "1",
        **over,
    }


@pytest.fixture
def ir(new_db_url: Callable[[], str], tmp_path: Path) -> Iterator[LiveNode]:
    """Iran's node: a database and data folder the test's processes share (none serves yet)."""
    settings = Settings(
        data_dir=tmp_path / "ir-node",
        database_url=new_db_url(),
        node_name="ir-node",
        node_side="IR",
    )
    db = init_node(settings)
    if BACKEND == "postgresql":
        # As docs/operations.md advises: a process frozen inside a transaction (its courier,
        # say) must not hold the node's write lock for longer than this.
        with db.engine.begin() as conn:
            name = db.engine.url.database
            conn.execute(
                text(f"ALTER DATABASE {name} SET idle_in_transaction_session_timeout = '3s'")
            )
    yield LiveNode(url="http://127.0.0.1:1", db=db, settings=settings, tokens={})
    db.dispose()


def lease_row(db: Database) -> tuple[int, int] | None:
    """(holder's pid, epoch) of the partner's sync lease, or None."""
    with db.session() as s:
        row = s.get(LeaseRow, SYNC_LEASE)
        return None if row is None else (int(row.holder.split(":")[1]), row.epoch)


def wait_for(what: Callable[[], Any], *, within: float, why: str) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = what()
        if found:
            return found
        assert time.monotonic() < deadline, why
        time.sleep(0.02)


def count(db: Database, model: type) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def assert_each_once(ir: LiveNode, expected: int) -> None:
    """Every partner incident stored once, none quarantined, the audit chain intact."""
    assert count(ir.db, Incident) == expected
    assert count(ir.db, IncidentVersion) == expected
    assert count(ir.db, Quarantined) == 0
    with ir.db.session() as s:
        receipts = s.scalar(select(func.count(func.distinct(Receipt.stix_id))))
        assert receipts == s.scalar(select(func.count()).select_from(Receipt))
        assert verify_audit(s).ok


def load_outbound(pk: LiveNode, first: int, stop: int) -> None:
    """Put shared incidents ``first``..``stop`` into the collection Iran pulls (fast loading)."""
    with pk.db.session() as s:
        node = LocalNode(node_id=get_node_id(s), name="pk-node", country="PK")
        p = sharing.get_partner(s, name="ir-node")
        publish_partner(s, node=node, partner=p)  # static objects first, as a real node does
        appender = Appender(s, collection_id(p.id, "outbound"))
        ring = own_ring(pk.settings.data_dir)
        for i in range(first, stop):
            record = make_record(i, status="validated", tlp="green", reporting_side="PK")
            objects = incident_to_stix(
                record,
                identity_id=node.identity_id,
                withheld=["sources"],
                origin_node_id=node.node_id,
            )
            for obj in sign_all(objects, ring, node_id=node.node_id):  # as publish signs
                appender.append(obj)


def metrics_leases(proc: Proc) -> list[str]:
    body = httpx.get(f"{proc.url}/metrics", timeout=10).text
    return re.findall(r'^sarhad_lease_held\{lease="([^"]+)"\} 1\.0$', body, re.M)


@pg_only
def test_sigkill_of_the_sync_holder_another_takes_over_within_ttl_and_a_poll(
    spawn: Callable[..., LiveNode],
    ir: LiveNode,
    cluster: Cluster,
) -> None:
    pk = spawn("pk-node", "PK")
    introduce(pk, ir)
    env = node_env(ir.settings)
    procs = [cluster.serve(env, name=f"ir-{i}") for i in range(3)]
    cluster.wait_up(*procs)
    by_pid = {p.pid: p for p in procs}
    holder_pid, epoch = wait_for(lambda: lease_row(ir.db), within=30, why="nobody took it")
    holder = by_pid[holder_pid]
    assert wait_for(lambda: holder.ready()["leases"] == [SYNC_LEASE], within=5, why="readyz")
    assert metrics_leases(holder) == [SYNC_LEASE]
    others = [p for p in procs if p is not holder]
    assert all(p.ready()["leases"] == [] and p.ready()["workers"] == "on" for p in others)

    load_outbound(pk, 0, 1000)  # three objects an incident, pulled in pages of 500
    wait_for(lambda: count(ir.db, Incident) > 0, within=30, why="the holder never pulled")
    holder.popen.send_signal(signal.SIGKILL)  # in the middle of its pull
    killed_at = time.monotonic()
    new_pid, new_epoch = wait_for(
        lambda: (row := lease_row(ir.db)) and row[0] != holder_pid and row,
        within=TTL_S + POLL_S + 10,
        why="nobody took over the lease",
    )
    took_s = time.monotonic() - killed_at
    print(f"\ntakeover after SIGKILL: {took_s:.2f} s (lease {TTL_S} s, poll {POLL_S} s)")
    assert took_s <= TTL_S + POLL_S + SLACK_S
    assert new_epoch == epoch + 1 and new_pid in {p.pid for p in others}
    heir = by_pid[new_pid]
    assert wait_for(lambda: heir.ready()["leases"] == [SYNC_LEASE], within=5, why="readyz")
    assert metrics_leases(heir) == [SYNC_LEASE]

    wait_for(lambda: count(ir.db, Incident) == 1000, within=120, why="the pull did not finish")
    assert_each_once(ir, 1000)

    heir.popen.terminate()  # a clean stop releases the lease: the last process takes it at once
    heir.popen.wait(timeout=30)
    ended_at = time.monotonic()
    last = next(p for p in others if p is not heir)
    wait_for(
        lambda: lease_row(ir.db) == (last.pid, new_epoch + 1),
        within=POLL_S + 10,
        why="the released lease was not taken",
    )
    assert time.monotonic() - ended_at <= POLL_S + SLACK_S


@pg_only
def test_sigstop_of_the_holder_past_its_lease_its_late_writes_are_refused(
    spawn: Callable[..., LiveNode],
    ir: LiveNode,
    cluster: Cluster,
) -> None:
    pk = spawn("pk-node", "PK")
    introduce(pk, ir)
    load_outbound(pk, 0, 300)
    # Pakistan's node in its own process, so that it can be frozen too: the holder is then
    # caught waiting for it in the middle of a round, with its writes still to come.
    pk_port = int(pk.url.rsplit(":", 1)[1])
    pk.stop()
    pk_env = node_env(pk.settings, SARHAD_SYNC_INTERVAL_S="0")
    partner = cluster.serve(pk_env, "--no-workers", name="pk", port=pk_port)
    env = node_env(ir.settings)
    procs = [cluster.serve(env, name=f"ir-{i}") for i in range(3)]
    cluster.wait_up(partner, *procs)
    assert partner.ready()["workers"].startswith("off: started with --no-workers")
    by_pid = {p.pid: p for p in procs}
    wait_for(lambda: count(ir.db, Incident) == 300, within=60, why="first sync")
    holder_pid, epoch = wait_for(lambda: lease_row(ir.db), within=10, why="no holder")
    holder = by_pid[holder_pid]

    load_outbound(pk, 300, 600)  # more to pull
    partner.popen.send_signal(signal.SIGSTOP)
    # Rounds start every 0.5 s and each begins with a call to the partner: after three of
    # them the holder waits for the frozen partner (30 s timeout), its round's writes to come.
    time.sleep(1.5)
    holder.popen.send_signal(signal.SIGSTOP)
    stopped_at = time.monotonic()
    _heir, new_epoch = wait_for(
        lambda: (row := lease_row(ir.db)) and row[0] != holder_pid and row,
        within=TTL_S + POLL_S + 10,
        why="nobody took the lease of the frozen holder",
    )
    took_s = time.monotonic() - stopped_at
    print(f"\ntakeover after SIGSTOP: {took_s:.2f} s (lease {TTL_S} s, poll {POLL_S} s)")
    assert took_s <= TTL_S + POLL_S + SLACK_S
    assert new_epoch == epoch + 1
    partner.popen.send_signal(signal.SIGCONT)  # the heir's round goes on
    wait_for(lambda: count(ir.db, Incident) == 600, within=60, why="the heir did not pull")
    with ir.db.session() as s:
        cursor = s.get(SyncCursor, pk_partner_id(ir))
        assert cursor is not None
        pulled_until = cursor.pulled_until

    holder.popen.send_signal(signal.SIGCONT)  # wakes in the middle of its round
    wait_for(
        lambda: "refused (fenced)" in holder.text(),
        within=45,
        why=f"the woken holder's late write was not refused: {holder.text()[-3000:]}",
    )
    assert wait_for(lambda: holder.ready()["leases"] == [], within=5, why="still listed")
    time.sleep(2 * POLL_S)
    # The woken holder does not take its lease back. (On a loaded machine the heir may miss a
    # 2 s renewal and a third process take over at a later epoch: the design at work.)
    row = lease_row(ir.db)
    assert row is not None
    pid_now, epoch_now = row
    assert pid_now != holder_pid and epoch_now >= new_epoch, (pid_now, epoch_now)
    assert_each_once(ir, 600)  # nothing doubled by the late holder
    with ir.db.session() as s:
        cursor = s.get(SyncCursor, pk_partner_id(ir))
        assert cursor is not None and cursor.pulled_until is not None
        assert pulled_until is None or cursor.pulled_until >= pulled_until  # never moved back


def pk_partner_id(ir: LiveNode) -> str:
    with ir.db.session() as s:
        return sharing.get_partner(s, name="pk-node").id


def test_a_process_without_workers_serves_but_takes_no_lease(
    spawn: Callable[..., LiveNode],
    ir: LiveNode,
    cluster: Cluster,
) -> None:
    pk = spawn("pk-node", "PK")
    introduce(pk, ir)
    proc = cluster.serve(node_env(ir.settings), "--no-workers", name="ir-api")
    cluster.wait_up(proc)
    found = proc.ready()
    assert found["workers"] == "off: started with --no-workers (serves requests only)"
    assert found["leases"] == [] and not any(loop["running"] for loop in found["loops"])
    time.sleep(4 * POLL_S)
    assert lease_row(ir.db) is None
    assert "serving requests only" in proc.text()


@sqlite_only
def test_a_second_process_on_one_sqlite_file_runs_no_background_work(
    spawn: Callable[..., LiveNode],
    ir: LiveNode,
    cluster: Cluster,
) -> None:
    pk = spawn("pk-node", "PK")
    introduce(pk, ir)
    env = node_env(ir.settings)
    first = cluster.serve(env, name="ir-first")
    cluster.wait_up(first)
    wait_for(lambda: first.ready()["leases"] == [SYNC_LEASE], within=10, why="first: no lease")
    second = cluster.serve(env, name="ir-second")
    cluster.wait_up(second)
    found = second.ready()
    assert found["status"] == "ready"  # it serves
    assert found["workers"].startswith("off: another process runs the background work")
    assert found["leases"] == [] and not any(loop["running"] for loop in found["loops"])
    assert "background work NOT started" in second.text()
    assert first.ready()["workers"] == "on"
