"""The federation commands as a liaison officer runs them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sarhad.cli import app
from support import LiveNode

from .conftest import Pair
from .helpers import record


def run(node: LiveNode, *args: str):
    env = {
        "SARHAD_DATA_DIR": str(node.settings.data_dir),
        "SARHAD_DATABASE_URL": node.settings.database_url or "",
        "SARHAD_NODE_NAME": node.settings.node_name,
        "SARHAD_NODE_SIDE": node.settings.node_side,
    }
    return CliRunner().invoke(app, list(args), env=env)


def test_sync_status_and_links(pair: Pair) -> None:
    ours = record(pair.ir, reporting_side="IR", location={"lon": 61.6, "lat": 28.95})
    theirs = record(pair.pk, occurred_at="2026-11-20T12:00:00Z")  # same event, two reports
    r = run(pair.ir, "sync", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert rows[0]["partner"] == "pk-node" and rows[0]["pulled"] >= 1 and rows[0]["error"] is None
    status = json.loads(run(pair.ir, "federation", "status", "--json").output)
    assert status[0]["waiting"] == 0 and status[0]["last_error"] is None
    links = json.loads(run(pair.ir, "links", "list", "--json").output)
    assert [(x["local_id"], x["remote_id"]) for x in links] == [(ours.id, theirs.id)]
    # The reasons in the CLI's language, their codes beside them.
    assert links[0]["reasons"][0] == "same category smuggling_narcotics"
    persian = json.loads(run(pair.ir, "--lang", "fa", "links", "list", "--json").output)
    assert persian[0]["reasons"][0] == "دستهٔ یکسان: قاچاق: مواد مخدر"
    assert persian[0]["reason_codes"] == links[0]["reason_codes"]
    assert persian[0]["reason_codes"][0]["code"] == "links.reason.same_category"
    table = run(pair.ir, "--lang", "ur", "links", "list").output
    assert "apart" not in table and "same category" not in table and "؛" in table
    assert run(pair.ir, "links", "confirm", links[0]["id"][:8]).exit_code == 0
    assert json.loads(run(pair.ir, "links", "list", "--status", "confirmed", "--json").output)
    again = run(pair.ir, "links", "reject", links[0]["id"])
    assert again.exit_code == 3 and "already confirmed" in again.output


def test_sync_reports_an_unreachable_partner(pair: Pair) -> None:
    assert (
        run(
            pair.ir, "partners", "set", "pk-node", "--url", "http://127.0.0.1:9/taxii2/api/"
        ).exit_code
        == 0
    )
    record(pair.ir, reporting_side="IR")
    r = run(pair.ir, "sync")
    assert r.exit_code == 1 and "did not answer" in r.output and "Traceback" not in r.output


def test_bundle_commands(pair: Pair, tmp_path: Path) -> None:
    row = record(pair.pk)
    key = run(pair.pk, "keys", "show", "--pem")
    assert key.exit_code == 0 and key.output.startswith("-----BEGIN PUBLIC KEY-----")
    (tmp_path / "pk.pem").write_text(key.output)
    assert (
        run(
            pair.ir, "partners", "set", "pk-node", "--public-key", str(tmp_path / "pk.pem")
        ).exit_code
        == 0
    )
    out = tmp_path / "for-ir.json"
    exported = run(pair.pk, "bundle", "export", "--partner", "ir-node", "--out", str(out))
    assert exported.exit_code == 0 and out.exists(), exported.output
    imported = run(pair.ir, "bundle", "import", str(out), "--partner", "pk-node", "--json")
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.output)["quarantined"] == []
    shown = json.loads(run(pair.ir, "incidents", "show", row.id, "--json").output)
    assert shown["origin"] == "partner:pk-node" and shown["sources"] == []
    out.write_text(out.read_text().replace("Hashish", "Opium"))
    refused = run(pair.ir, "bundle", "import", str(out), "--partner", "pk-node")
    assert refused.exit_code == 2 and "refused" in refused.output


def test_quarantine_is_listed(pair: Pair) -> None:
    import httpx

    from sarhad.core.auth import CONSOLE, issue_token

    with pair.pk.db.session() as s:
        token = issue_token(s, username="partner-ir-node", actor=CONSOLE.username)
    media = "application/taxii+json;version=2.1"
    with httpx.Client(
        base_url=f"{pair.pk.url}/taxii2",
        headers={"Authorization": f"Bearer {token}", "Accept": media},
    ) as c:
        inbox = next(
            x["id"] for x in c.get("/api/collections/").json()["collections"] if x["can_write"]
        )
        c.post(
            f"/api/collections/{inbox}/objects/",
            headers={"Content-Type": media},
            content=json.dumps(
                {
                    "objects": [
                        {"type": "malware", "id": "malware--6f1d2a3e-1111-4aaa-8bbb-123456789abc"}
                    ]
                }
            ),
        )
    listed = json.loads(run(pair.pk, "quarantine", "list", "--json").output)
    assert len(listed) == 1 and "malware" in listed[0]["reason"]
