"""The news review flow in the console: paste, review beside the marked article, decide."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from sarhad.core.auth import Role
from sarhad.crossings.models import Declaration
from sarhad.incidents.models import Incident
from sarhad.intake.models import NewsCandidate
from support import LiveNode
from web.helpers import PASSWORD, csrf_of, username

DAWN = (
    "QUETTA: Two Levies personnel were martyred when gunmen ambushed a checkpost in Washuk "
    "district late on Sunday, officials said. The attackers fled towards the hills."
)
JIWANI = "Coast guards seized 4,000 litres of smuggled diesel near Jiwani on Monday."


def sign_in(page: Any, node: LiveNode, role: Role) -> None:
    page.goto(f"{node.url}/signin")
    page.fill("#username", username(role))
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(f"{node.url}/")


def paste(page: Any, node: LiveNode, title: str, text: str) -> None:
    page.goto(f"{node.url}/news")
    page.fill("#title", title)
    page.fill("#outlet", "Dawn")
    page.fill("#published", "2026-03-17")
    page.fill("#text", text)
    page.click("text=Read the article")
    page.wait_for_selector("#added-notice")


@pytest.mark.once_on("sqlite")  # the browser reads pages, not the database
def test_paste_review_with_marked_sentences_accept_edit_and_reject(
    web: LiveNode, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, web, Role.DUTY_OFFICER)
    paste(page, web, "Levies post attacked in Washuk", DAWN)
    paste(page, web, "Diesel seized near Jiwani", JIWANI)
    paste(page, web, "Second diesel report", JIWANI.replace("Coast guards", "The Coast Guard"))
    expect(page.locator("#news-queue tbody tr")).to_have_count(2)

    # accept as read: a draft incident
    page.click("text=Levies post attacked in Washuk")
    marks = page.locator(".news-text mark")
    expect(marks.first).to_contain_text("Two Levies personnel were martyred")
    expect(page.locator("#candidate-fields")).to_contain_text("Washuk")
    page.click("#accept")
    expect(page.locator("#candidate-status")).to_contain_text("Accepted")
    page.click("text=the draft incident")
    page.wait_for_url(re.compile(r"/incidents/[0-9a-f-]{36}"))

    # edit, then accept: the incident form comes prefilled
    page.goto(f"{web.url}/news")
    page.click("text=Diesel seized near Jiwani")
    expect(page.locator("#candidate-fields")).to_contain_text("diesel")
    page.click("#edit-accept")
    expect(page.locator("#title")).to_have_value("Diesel seized near Jiwani")
    expect(page.locator("#category")).to_have_value("smuggling_fuel")
    page.fill("#title", "Diesel seizure off Jiwani (edited)")
    page.locator("#incident-form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/incidents/[0-9a-f-]{36}\?saved=1"))
    with web.db.session() as s:
        titles = set(s.scalars(select(Incident.title)))
        assert titles == {"Levies post attacked in Washuk", "Diesel seizure off Jiwani (edited)"}
        statuses = set(s.scalars(select(NewsCandidate.status)))
    assert statuses == {"accepted"}
    assert not errors


def test_reject_needs_the_form_token_and_keeps_the_reason(web: LiveNode, browser) -> None:
    c = browser(Role.DUTY_OFFICER)
    page = c.get("/news")
    r = c.post(
        "/news",
        data={
            "csrf_token": csrf_of(page.text),
            "title": "Levies post attacked",
            "outlet": "Dawn",
            "published": "2026-03-17",
            "text": DAWN,
        },
    )
    assert r.status_code == 303
    form = {"csrf_token": csrf_of(page.text), "title": "x", "outlet": "y", "text": DAWN}
    bad = c.post("/news", data={**form, "published": "17/03"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text
    with web.db.session() as s:
        cid = s.scalars(select(NewsCandidate.id)).one()
    shown = c.get(f"/news/{cid}?lang=ur")
    assert shown.status_code == 200 and "<mark>" in shown.text and 'dir="rtl"' in shown.text
    assert c.post(f"/news/{cid}/reject", data={"reason": "no"}).status_code == 403  # no token
    r = c.post(
        f"/news/{cid}/reject", data={"csrf_token": csrf_of(shown.text), "reason": "old news"}
    )
    assert r.status_code == 303
    with web.db.session() as s:
        row = s.get(NewsCandidate, cid)
        assert row is not None and (row.status, row.reason) == ("rejected", "old news")
    analyst = browser(Role.ANALYST)
    assert analyst.get("/news").status_code == 200
    assert analyst.get(f"/news/{cid}/edit").status_code == 403


@pytest.mark.once_on("sqlite")  # pages, not the database
def test_accepting_a_crossing_candidate_in_the_console_declares_our_side(
    web: LiveNode, browser
) -> None:
    c = browser(Role.DUTY_OFFICER)
    page = c.get("/news")
    text = (
        "TAFTAN: The Pak-Iran border crossing at Taftan was reopened for trade on Monday, "
        "officials said."
    )
    form = {"csrf_token": csrf_of(page.text), "title": "Taftan reopens", "outlet": "Dawn",
            "published": "2026-03-17", "text": text}  # fmt: skip
    assert c.post("/news", data=form).status_code == 303
    with web.db.session() as s:
        cid = s.scalars(select(NewsCandidate.id)).one()
    shown = c.get(f"/news/{cid}")
    assert "crossing declaration" in shown.text and 'id="edit-accept"' not in shown.text
    r = c.post(f"/news/{cid}/accept", data={"csrf_token": csrf_of(shown.text)})
    assert r.status_code == 303
    with web.db.session() as s:
        row = s.get(NewsCandidate, cid)
        assert row is not None and row.status == "accepted"
        made = s.get(Declaration, row.fields["declaration_id"])
        assert made is not None
        assert (made.crossing_id, made.side, made.status) == ("taftan-mirjaveh", "PK", "open")
    assert "our crossing declaration" in c.get(f"/news/{cid}").text
