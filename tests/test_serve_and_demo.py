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


def test_demo_federates_two_nodes_and_says_what_crossed(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    args = ["demo", "--no-serve", "--data-dir", str(data), "--base-port", str(free_port(2))]
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
        "pk-node now holds 4 record(s) from ir-node",
        "ir-node now holds 4 record(s) from pk-node",
    ):
        assert needle in first.output, needle
    assert (data / "WHERE-TO-LOOK.txt").read_text().startswith("Sarhad demo")

    def listed(side: str) -> list[dict]:
        env = {"SARHAD_DATA_DIR": str(data / side), "SARHAD_DATABASE_URL": ""}
        out = CliRunner().invoke(app, ["incidents", "list", "--json", "--limit", "100"], env=env)
        return json.loads(out.output)

    pk = listed("pk")
    assert len(pk) == 10 and sum(i["side"] == "PK" for i in pk) == 6
    assert len(listed("ir")) == 9
    again = CliRunner().invoke(app, [*args[:-1], str(free_port(2))])  # reuses nodes, nothing twice
    assert again.exit_code == 0, again.output
    assert "did not answer" not in again.output
    assert len(listed("pk")) == 10 and len(listed("ir")) == 9
