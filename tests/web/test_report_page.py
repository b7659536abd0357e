"""The reports page: a staff member picks a month and a language and downloads the monthly
report PDF; a bad month shows the form again naming the field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import httpx
import pytest

from sarhad.core.auth import Role
from support import LiveNode
from web.helpers import csrf_of

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


def test_an_admin_sends_our_figures_from_the_page_and_reads_what_happened_in_persian(
    web: LiveNode, browser: Callable[..., httpx.Client]
) -> None:
    # A partner known by name only (never synced: no node id) cannot receive figures.
    with web.client(Role.LIAISON) as api:
        assert api.post("/api/v1/partners", json={"name": "ir-node", "country": "IR"}).is_success
    admin = browser(Role.ADMIN)
    page = admin.get("/reports", params={"lang": "fa"})
    assert 'id="share-form"' in page.text
    sent = admin.post(
        "/reports/share", data={"csrf_token": csrf_of(page.text), "month": last_month()}
    )
    assert sent.status_code == 200, sent.text[:500]
    item = sent.text[sent.text.index('data-partner="ir-node"') :].split("</li>")[0]
    assert "فرستاده نشد: گرهٔ سرحد نیست (شناسهٔ گره ندارد)" in item
    # Without the form's token nothing is sent; a bad month is named by its field.
    assert admin.post("/reports/share", data={"month": last_month()}).status_code == 403
    bad = admin.post("/reports/share", data={"csrf_token": csrf_of(page.text), "month": "2026-13"})
    assert bad.status_code == 422 and 'id="share_month-error"' in bad.text


def test_an_analyst_sees_no_send_form_and_may_not_send(
    browser: Callable[..., httpx.Client],
) -> None:
    analyst = browser(Role.ANALYST)
    page = analyst.get("/reports")
    assert 'id="share-form"' not in page.text
    refused = analyst.post(
        "/reports/share", data={"csrf_token": csrf_of(page.text), "month": last_month()}
    )
    assert refused.status_code == 403
