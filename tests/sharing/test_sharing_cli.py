"""``sarhad partners …`` and ``sarhad agreements …`` as a liaison officer uses them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sarhad.cli import app
from sarhad.core.auth import Role, authenticate
from sarhad.core.config import Settings
from sarhad.core.db import Database

ED25519_PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
    "-----END PUBLIC KEY-----\n"
)


def said(result) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


@pytest.fixture
def run(settings: Settings, db: Database):
    env = {
        "SARHAD_DATA_DIR": str(settings.data_dir),
        "SARHAD_DATABASE_URL": settings.database_url,
        "SARHAD_NODE_SIDE": "PK",
    }

    def invoke(*args: str):
        return CliRunner().invoke(app, list(args), env=env)

    return invoke


def test_partners_add_prints_the_token_once_and_it_works(run, db: Database, tmp_path: Path) -> None:
    key = tmp_path / "ir.pem"
    key.write_text(ED25519_PEM)
    r = run(
        "partners",
        "add",
        "ir-node",
        "--country",
        "IR",
        "--url",
        "https://ir.example/taxii2/api/",
        "--token",
        "their-secret",
        "--public-key",
        str(key),
        "--json",
    )
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert body["partner"]["remote_token_set"] is True and "their-secret" not in r.output
    assert body["agreement"]["withheld_fields"] == ["sources"]
    with db.session() as s:
        assert authenticate(s, body["token"]).role is Role.PARTNER
    plain = run("partners", "add", "af-node", "--country", "AF")
    assert plain.exit_code == 0 and "shown once" in plain.output and "srh_" in plain.output

    listed = run("partners", "list")
    assert listed.exit_code == 0 and "ir-node" in listed.output and "af-node" in listed.output
    shown = run("partners", "show", "ir-node")
    assert "https://ir.example/taxii2/api/" in shown.output and "their-secret" not in shown.output
    node = "7d3c1a52-5a43-4b8e-9a53-6a2f0c1d9e11"
    r = run("partners", "set", "ir-node", "--node-id", node, "--inactive", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["node_id"] == node and json.loads(r.output)["active"] is False


def test_partner_errors_name_the_field_and_exit_as_documented(run) -> None:
    bad = run("partners", "add", "IR node", "--country", "IR")
    assert bad.exit_code == 2 and "name" in bad.output
    url = run("partners", "add", "ir-node", "--country", "IR", "--url", "ftp://x")
    assert url.exit_code == 2 and "taxii_url" in url.output
    missing = run("partners", "show", "nobody")
    assert missing.exit_code == 3 and "no partner 'nobody'" in said(missing)
    assert run("partners", "set", "nobody", "--url", "https://x.example/").exit_code == 3


def test_agreements_set_show_and_preview(run) -> None:
    assert run("partners", "add", "ir-node", "--country", "IR").exit_code == 0
    r = run(
        "agreements",
        "set",
        "ir-node",
        "--categories",
        "smuggling_fuel,armed_clash",
        "--sectors",
        "PKIR-001,PKIR-002",
        "--statuses",
        "validated",
        "--max-tlp",
        "GREEN",
        "--withhold",
        "sources",
        "--withhold",
        "narrative",
        "--release-delay-hours",
        "6",
        "--expires",
        "2027-01-01",
        "--forward-third-party",
        "--json",
    )
    assert r.exit_code == 0, r.output
    terms = json.loads(r.output)
    assert terms["version"] == 2 and terms["max_tlp"] == "green"
    assert terms["categories"] == ["armed_clash", "smuggling_fuel"]
    assert terms["withheld_fields"] == ["narrative", "sources"]
    assert terms["expires_at"].startswith("2027-01-01T00:00:00")
    assert terms["forward_third_party"] is True and terms["release_delay_hours"] == 6

    r = run("agreements", "set", "ir-node", "--categories", "all", "--withhold", "none")
    assert r.exit_code == 0, r.output
    r = run("agreements", "set", "ir-node", "--expires", "never", "--no-forward-third-party")
    assert r.exit_code == 0, r.output
    shown = run("agreements", "show", "ir-node", "--json")
    terms = json.loads(shown.output)
    assert terms["version"] == 4 and terms["categories"] == [] and terms["withheld_fields"] == []
    assert terms["expires_at"] is None and terms["forward_third_party"] is False
    table = run("agreements", "show", "ir-node")
    assert "TLP:GREEN" in table.output and "nothing" in table.output

    preview = run("agreements", "preview", "ir-node")
    assert preview.exit_code == 0 and "0 would go" in preview.output
    assert json.loads(run("agreements", "preview", "ir-node", "--json").output)["items"] == []


def test_agreement_errors(run) -> None:
    assert run("partners", "add", "ir-node", "--country", "IR").exit_code == 0
    red = run("agreements", "set", "ir-node", "--max-tlp", "red")
    assert red.exit_code == 2 and "TLP:RED never leaves the node" in said(red)
    cas = run("agreements", "set", "ir-node", "--withhold", "casualties")
    assert cas.exit_code == 2 and "civilian harm is always reported" in said(cas)
    cat = run("agreements", "set", "ir-node", "--categories", "piracy")
    assert cat.exit_code == 2 and "categories" in said(cat)
    sec = run("agreements", "set", "ir-node", "--sectors", "PKIR-999")
    assert sec.exit_code == 2 and "sectors.0" in said(sec)
    when = run("agreements", "set", "ir-node", "--expires", "next year")
    assert when.exit_code == 2 and "--expires: 'next year' is not a date" in said(when)
    when = run("agreements", "set", "ir-node", "--expires", "2027-02-30")
    assert when.exit_code == 2 and "February 2027 has 28 days; day 30 does not exist" in said(when)
    assert run("agreements", "show", "nobody").exit_code == 3
