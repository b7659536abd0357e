"""The reports page: a staff member picks a month and a language and downloads the monthly
report PDF; a bad month shows the form again naming the field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import httpx
import pytest

from sarhad.core.auth import Role

#: Rendering a PDF takes seconds; the page is not about the database.
pytestmark = pytest.mark.once_on("sqlite")


def last_month() -> str:
    return (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def test_analyst_downloads_the_months_report_in_persian(
    browser: Callable[..., httpx.Client],
) -> None:
    client = browser(Role.ANALYST)
    page = client.get("/reports")
    assert page.status_code == 200
    assert 'href="/reports"' in page.text  # in the menu
    assert f'value="{last_month()}"' in page.text  # last month by default
    got = client.get(
        "/reports/monthly", params={"month": last_month(), "report_lang": "fa"}, timeout=120
    )
    assert got.status_code == 200, got.text[:500]
    assert got.headers["content-type"] == "application/pdf"
    assert f"sarhad-report-{last_month()}-fa.pdf" in got.headers["content-disposition"]
    assert got.content.startswith(b"%PDF")


def test_a_bad_month_shows_the_form_again_naming_the_field_in_the_readers_language(
    browser: Callable[..., httpx.Client],
) -> None:
    client = browser(Role.ANALYST)
    got = client.get(
        "/reports/monthly", params={"month": "2026-13", "report_lang": "en", "lang": "ur"}
    )
    assert got.status_code == 422
    assert 'id="month-error"' in got.text
    assert "مہینہ YYYY-MM کی صورت میں لکھیں" in got.text
    assert 'aria-invalid="true"' in got.text
    got = client.get("/reports/monthly", params={"month": "2026-11", "report_lang": "de"})
    assert got.status_code == 422 and 'id="report_lang-error"' in got.text


def test_a_signed_out_visitor_is_sent_to_sign_in(browser: Callable[..., httpx.Client]) -> None:
    got = browser().get("/reports/monthly", params={"month": "2026-11"}, follow_redirects=False)
    assert got.status_code in (303, 307) and got.headers["location"].startswith("/signin")
