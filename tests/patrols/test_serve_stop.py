"""`sarhad serve` stops within seconds on SIGTERM, even while a long plan is being solved,
and leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select

from sarhad.core.auth import CONSOLE, Role, add_user, issue_token
from sarhad.patrols.models import PatrolPlan
from support import free_port, wait_for

#: Minutes of solving (coordinated, 20 + 20 teams along the whole line).
HEAVY = {
    "day": datetime.now(UTC).date().isoformat(),
    "coordinated": True,
    "teams": 20,
    "partner_teams": 20,
}


def parents() -> dict[int, int]:
    """Every process id → its parent's, from /proc."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # ended meanwhile
                continue
            out[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return out


def descendants(pid: int) -> dict[int, int]:
    """The processes under ``pid``, each with its depth (1: a child)."""
    of = parents()
    found: dict[int, int] = {}
    frontier, depth = [pid], 1
    while frontier:
        frontier = [p for p, parent in of.items() if parent in frontier and p not in found]
        found.update({p: depth for p in frontier})
        depth += 1
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody has reaped yet does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sigterm_stops_the_node_within_seconds_while_a_plan_is_solved(settings, db, tmp_path):
    with db.session() as s:
        add_user(s, username="commander-1", role=Role.COMMANDER, actor=CONSOLE.username)
        token = issue_token(s, username="commander-1", actor=CONSOLE.username)
    port = free_port()
    env = {
        **os.environ,
        "SARHAD_DATA_DIR": str(settings.data_dir),
        "SARHAD_DATABASE_URL": settings.database_url or "",
        "SARHAD_NODE_SIDE": "PK",
        "SARHAD_PORT": str(port),
        "SARHAD_SYNC_INTERVAL_S": "0",
        "SARHAD_PATROL_TIME_LIMIT_S": "600",
    }
    log_path = tmp_path / "serve.log"
    sarhad = Path(sys.executable).with_name("sarhad")  # the installed command, as operators run it
    with log_path.open("w") as log:
        serve = subprocess.Popen(
            [str(sarhad), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path
        )
    url = f"http://127.0.0.1:{port}"
    answered: list[object] = []

    def plan() -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            try:
                answered.append(
                    c.post(
                        "/api/v1/patrols/plans",
                        json=HEAVY,
                        headers={"Authorization": f"Bearer {token}"},
                    )
                )
            except httpx.HTTPError as exc:  # the connection closed by the stopping server
                answered.append(exc)

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    client = threading.Thread(target=plan)
    try:
        wait_for(up, timeout=60, what="sarhad serve to answer")
        client.start()
        # The plan's process is a grandchild: the fork server, a child of serve, forks it.
        wait_for(
            lambda: 2 in descendants(serve.pid).values(), timeout=60, what="the plan's process"
        )
        under = descendants(serve.pid)
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=10)  # TimeoutExpired fails the test: the node did not stop
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        print(log_path.read_text())  # shown when the test fails
    left = lambda: [p for p in under if running(p)]  # noqa: E731
    wait_for(lambda: not left(), timeout=5, what=f"processes {left()} to end")
    client.join(timeout=10)
    assert not client.is_alive() and answered, "the client got no answer"
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PatrolPlan)) == 0
