"""End to end: ``sarhad serve`` as a real process, and the demo's two nodes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from sarhad.cli import app
from sarhad.core.config import Settings
from sarhad.demo import _start, setup_demo
from support import free_port, wait_healthy

SARHAD = [sys.executable, "-m", "sarhad"]


def test_serve_runs_a_node_that_answers_with_tokens(settings: Settings, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SARHAD_DATA_DIR": str(settings.data_dir),
        "SARHAD_DATABASE_URL": settings.database_url or "",
        "SARHAD_NODE_NAME": "taftan-bcc",
    }
    init = subprocess.run(
        [*SARHAD, "init", "--admin", "hq"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    token = next(w for w in init.stdout.split() if w.startswith("srh_"))
    port = free_port()
    log = tmp_path / "serve.log"
    log_file = log.open("w")
    proc = subprocess.Popen(
        [*SARHAD, "serve", "--port", str(port)],
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc, lambda: log.read_text())
        me = httpx.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me == {
            "username": "hq",
            "role": "admin",
            "node": {"name": "taftan-bcc", "side": "PK"},
        }
        assert httpx.get(f"{url}/api/v1/me").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log_file.close()


@pytest.mark.once_on("sqlite")  # a real server process, stopped by a signal
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_serve_stops_quietly_with_a_live_feed_open(
    settings: Settings, tmp_path: Path, stop: signal.Signals
) -> None:
    """A live feed never ends by itself: stopping the server ends it, rather than the grace
    running out and the request being cancelled with a traceback ("Exception in ASGI
    application … timeout graceful shutdown exceeded")."""
    env = {
        **os.environ,
        "SARHAD_DATA_DIR": str(settings.data_dir),
        "SARHAD_DATABASE_URL": settings.database_url or "",
        "SARHAD_SHUTDOWN_GRACE_S": "5",
    }
    init = subprocess.run(
        [*SARHAD, "init", "--admin", "hq"], env=env, capture_output=True, text=True, timeout=120
    )
    token = next(w for w in init.stdout.split() if w.startswith("srh_"))
    port = free_port()
    proc = subprocess.Popen(
        [*SARHAD, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, lambda: proc.communicate())
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.stream("GET", f"{url}/api/v1/feed?after=0", headers=headers, timeout=30) as r:
            assert r.status_code == 200
            lines = r.iter_lines()
            assert next(lines).startswith("retry:")
            proc.send_signal(stop)
            for _ in lines:  # the server ends the stream: the loop finishes, no timeout
                pass
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    # uvicorn passes SIGTERM on as the exit status once it has stopped cleanly.
    assert proc.returncode in (0, -stop), err
    assert "Traceback" not in err and "Exception in ASGI application" not in err, err
    assert "Application shutdown complete" in err


@pytest.mark.once_on("sqlite")  # two live nodes, a joint patrol plan: minutes, not a DB test
def test_demo_federates_two_nodes_and_says_what_crossed(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    port = free_port(2)
    args = ["demo", "--no-serve", "--data-dir", str(data), "--base-port", str(port)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    for needle in (
        "admin token",
        "srh_",
        "sarhad incidents list",
        "What crossed the border",
        "fields withheld: sources",
        "TLP:RED never leaves the node",
        "by the 72 h release delay",
        "pk-node now holds 59 record(s) from ir-node",
        "ir-node now holds 59 record(s) from pk-node",
    ):
        assert needle in first.output, needle
    where = (data / "WHERE-TO-LOOK.txt").read_text()
    assert where.startswith("Sarhad demo")
    # The summary is written down as well as shown: what crossed, the levels, the plans.
    for needle in ("What crossed the border", "TLP:RED never leaves the node",
                   "Sector risk now", "Today's patrol plans", "partner token"):  # fmt: skip
        assert needle in where, needle
    # Every impact level on each node (the invented history, not a changed rule).
    levels = [line for line in first.output.splitlines() if " low, " in line]
    assert len(levels) == 2, first.output
    for line in levels:
        counts = dict(
            (level, int(n))
            for n, level in re.findall(r"(\d+) (low|medium|high|critical)", line.split(";")[0])
        )
        assert all(counts[level] > 0 for level in ("low", "medium", "high", "critical")), line
    # A coordinated plan for today on both sides, solved within the node's own time limit,
    # with mirrored patrols where both sides rate the risk high.
    plans = [line for line in first.output.splitlines() if re.match(r"(pk|ir)-node: plan ", line)]
    assert len(plans) == 2, first.output
    for line in plans:
        assert "(coordinated with the partner)" in line, line
    # (How many joint patrols today's draw holds varies with the date's seed; where they may
    # go does not.)
    shared = re.findall(
        r"^  joint patrols where both sides rate the risk high: PKIR-", first.output, re.M
    )
    assert len(shared) == 2, first.output
    assert "our side's alone" not in first.output
    # The alert's steps in time order.
    steps = re.findall(r"^  (PK|IR) \S+ +\+ *(\d+) ms$", first.output, re.M)
    assert len(steps) == 5 and [int(ms) for _, ms in steps] == sorted(int(ms) for _, ms in steps)
    assert "got a crossing_closure alert" in first.output

    def listed(side: str) -> list[dict]:
        env = {"SARHAD_DATA_DIR": str(data / side), "SARHAD_DATABASE_URL": ""}
        out = CliRunner().invoke(app, ["incidents", "list", "--json", "--limit", "1000"], env=env)
        return json.loads(out.output)

    pk, ir = listed("pk"), listed("ir")
    again = CliRunner().invoke(app, args)  # reuses nodes, nothing twice
    assert again.exit_code == 0, again.output
    assert "did not answer" not in again.output
    assert len(listed("pk")) == len(pk) and len(listed("ir")) == len(ir)
    # The gate is still closed: no new alert, and the old one is not claimed as new.
    assert "got a crossing_closure alert" not in again.output
    assert "no new closure alert" in again.output

    # The printed partner token works with taxii2-client against a running demo node.
    [command] = [line.split() for line in again.output.splitlines()
                 if "read-partner-collection.py" in line]  # fmt: skip
    nodes = setup_demo(base_port=port, data_dir=data)
    running = _start(nodes)
    try:
        read = subprocess.run(command, capture_output=True, text=True, timeout=120)
    finally:
        for server, thread in running:
            server.should_exit = True
            thread.join(timeout=10)
    assert read.returncode == 0, read.stderr
    assert "server: Sarhad node pk-node" in read.stdout
    assert "incident: DEMO: IED strike on patrol vehicle, Kech" in read.stdout
    assert "weapons cache" not in read.stdout  # withheld (TLP:AMBER+STRICT) stays withheld
