"""The monthly report from the API and the command line: a PDF, and errors naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from sarhad.cli import app
from sarhad.core.auth import Role
from sarhad.core.config import Settings
from sarhad.core.db import Database
from support import LiveNode


@pytest.mark.once_on("sqlite")  # renders a PDF
def test_the_route_downloads_the_pdf_for_an_analyst(live: LiveNode) -> None:
    with live.client(Role.ANALYST) as c:
        # A PDF takes seconds, many on a loaded machine: more than the client's usual 30 s.
        r = c.get(
            "/api/v1/analysis/monthly-report",
            params={"month": "2024-12", "lang": "fa"},
            timeout=180,
        )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    assert 'filename="sarhad-report-2024-12-fa.pdf"' in r.headers["content-disposition"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"month": "2024-13"}, "month"), ({"month": "2024-12", "lang": "de"}, "lang")],
)
def test_bad_input_is_a_422_naming_the_field(
    live: LiveNode, params: dict[str, str], field: str
) -> None:
    with live.client(Role.ANALYST) as c:
        r = c.get("/api/v1/analysis/monthly-report", params=params)
    assert r.status_code == 422, r.text
    assert field in r.text


def _run(settings: Settings, *args: str) -> Result:
    env = {
        "SARHAD_DATA_DIR": str(settings.data_dir),
        "SARHAD_DATABASE_URL": settings.database_url,
        "SARHAD_NODE_SIDE": "PK",
    }
    return CliRunner().invoke(app, list(args), env=env)


@pytest.mark.once_on("sqlite")  # renders a PDF
def test_the_command_writes_the_pdf(settings: Settings, db: Database, tmp_path: Path) -> None:
    out = tmp_path / "r.pdf"
    r = _run(settings, "report", "monthly", "--month", "2024-12", "--lang", "en", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert out.read_bytes().startswith(b"%PDF-")
    assert "wrote the 2024-12 report (en)" in r.output


def test_the_command_refuses_an_unknown_language(settings: Settings, db: Database) -> None:
    r = _run(settings, "report", "monthly", "--month", "2024-12", "--lang", "de", "--out", "x.pdf")
    assert r.exit_code != 0
    assert "lang" in r.output


def test_sharing_the_figures_needs_a_liaison_and_a_month(live: LiveNode) -> None:
    with live.client(Role.ANALYST) as c:  # reads reports, does not share with partners
        r = c.post("/api/v1/analysis/monthly-report/share", params={"month": "2024-12"})
        assert r.status_code == 403
    with live.client(Role.LIAISON) as c:
        bad = c.post("/api/v1/analysis/monthly-report/share", params={"month": "2024-13"})
        assert bad.status_code == 422 and "month" in bad.text
        none = c.post("/api/v1/analysis/monthly-report/share", params={"month": "2024-12"})
        assert none.status_code == 200 and none.json() == []  # no partner yet


def test_the_share_command_names_a_bad_month(settings: Settings, db: Database) -> None:
    r = _run(settings, "report", "share", "--month", "2024-13")
    assert r.exit_code != 0 and "month" in r.output
    assert _run(settings, "report", "share", "--month", "2024-12").exit_code == 0
