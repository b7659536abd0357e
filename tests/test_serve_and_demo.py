"""End to end: ``sarhad serve`` as a real process, and the demo's two nodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from sarhad.cli import app
from sarhad.core.config import Settings
from support import free_port

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
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
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


def test_demo_sets_up_two_seeded_nodes_and_says_where_to_look(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    args = ["demo", "--no-serve", "--data-dir", str(data), "--base-port", "18701"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    for needle in (
        "http://127.0.0.1:18701",
        "http://127.0.0.1:18702",
        "admin token",
        "srh_",
        "sarhad incidents list",
    ):
        assert needle in first.output
    assert (data / "WHERE-TO-LOOK.txt").read_text().startswith("Sarhad demo")
    env = {"SARHAD_DATA_DIR": str(data / "pk"), "SARHAD_DATABASE_URL": ""}
    listed = CliRunner().invoke(app, ["incidents", "list", "--json"], env=env)
    items = json.loads(listed.output)
    assert len(items) == 6 and all(i["side"] == "PK" for i in items)
    ir = json.loads(
        CliRunner()
        .invoke(app, ["incidents", "list", "--json"], env={"SARHAD_DATA_DIR": str(data / "ir")})
        .output
    )
    assert len(ir) == 5 and all(i["side"] == "IR" for i in ir)
    again = CliRunner().invoke(app, args)  # re-running reuses the nodes and seeds nothing twice
    assert again.exit_code == 0
    assert (
        len(json.loads(CliRunner().invoke(app, ["incidents", "list", "--json"], env=env).output))
        == 6
    )
