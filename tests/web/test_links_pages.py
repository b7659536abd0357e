"""The links panel of an incident page: best candidate, confirm, undo, link by hand."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from html import unescape
from typing import Any

import pytest

from sarhad.border import load_profile
from sarhad.core.auth import CONSOLE, Role
from sarhad.core.db import lock_writes
from sarhad.incidents import links, service
from sarhad.incidents.models import IncidentLink
from sarhad.incidents.schemas import IncidentIn
from support import LiveNode
from web.helpers import csrf_of

from .conftest import screenshot
from .test_browser import sign_in

# The panel reads pages: once, on SQLite (the service below it runs on both databases).
pytestmark = pytest.mark.once_on("sqlite")

PROFILE = load_profile()
DATA: dict[str, Any] = {
    "title": "Opium seized at Taftan",
    "category": "smuggling_narcotics",
    "occurred_at": "2026-11-20T10:00:00Z",
    "location": {"lon": 61.595, "lat": 28.96, "precision": "exact"},
    "reporting_side": "PK",
    "seizures": [{"commodity": "opium", "quantity": 40, "unit": "kg"}],
}


def _records(node: LiveNode) -> tuple[str, str]:
    with node.db.session() as s:
        ours = service.create_incident(
            s, data=IncidentIn.model_validate(DATA), actor=CONSOLE, profile=PROFILE
        ).id
    theirs = str(uuid.uuid4())
    with node.db.session() as s:
        lock_writes(s)
        service.store_received(
            s,
            record_id=theirs,
            data=IncidentIn.model_validate(
                {**DATA, "title": "Narcotics (IR)", "reporting_side": "IR"}
            ),
            version=1,
            status="validated",
            remote_modified=service.utcnow(),
            origin_node_id=str(uuid.UUID(int=7)),
            origin="partner:ir-node",
            withheld=[],
            revoked=False,
            profile=PROFILE,
        )
        links.propose(s, incident_ids=[theirs])
    return ours, theirs


def _post(client: Any, page: str, action: str, **fields: str) -> Any:
    token = csrf_of(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **fields})


def test_an_officer_confirms_the_best_candidate_undoes_it_and_links_by_hand(
    web: LiveNode, browser: Any
) -> None:
    ours, _theirs = _records(web)
    page = f"/incidents/{ours}"
    liaison = browser(Role.LIAISON)
    html = liaison.get(page).text
    best = re.search(r'data-link="([0-9a-f-]{36})" data-status="suggested" data-kind="best"', html)
    assert best and "Narcotics (IR)" in html
    done = _post(liaison, page, f"/incidents/{ours}/links/{best.group(1)}/confirm")
    assert done.status_code == 303
    html = liaison.get(page).text
    assert 'data-status="confirmed" data-kind="confirmed"' in html
    assert 'data-action="undo"' in html
    _post(liaison, page, f"/incidents/{ours}/links/{best.group(1)}/undo")
    assert 'data-kind="best"' in liaison.get(page).text
    # By hand: a wrong id comes back as a notice, not a 500.
    bad = _post(liaison, page, f"/incidents/{ours}/links", other_id=ours)
    assert bad.status_code == 303
    shown = liaison.get(bad.headers["location"]).text
    assert "cannot be linked" in shown
    urdu = liaison.get(bad.headers["location"].split("#")[0] + "&lang=ur").text
    assert "جوڑے نہیں جا سکتے" in urdu
    # A duty officer sees the panel but no forms.
    duty = browser(Role.DUTY_OFFICER)
    html = duty.get(page).text
    assert 'id="links"' in html and "data-action=" not in html


REASONS = re.compile(r'<span class="muted link-reasons">((?:<span[^>]*>[^<]*</span>)*)</span>')
ONE = re.compile(r"<span([^>]*)>([^<]*)</span>")
LATIN = re.compile("[A-Za-z]")


def _reasons(html: str) -> list[tuple[str, str]]:
    """Each reason shown on the page: (its span's attributes, its text)."""
    found = REASONS.search(html)
    assert found, "no reasons on the page"
    return [(attrs, unescape(text)) for attrs, text in ONE.findall(found.group(1))]


def _row_words(html: str) -> str:
    """The text of the page's first link row, less the other record's title (its own text)."""
    row = re.search(r'<li class="link".*?</li>', html, re.S)
    assert row, "no link on the page"
    return unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<a .*?</a>", "", row.group(0), flags=re.S)))


def test_a_links_reasons_are_shown_in_the_readers_language(web: LiveNode, browser: Any) -> None:
    ours, _theirs = _records(web)
    page = f"/incidents/{ours}"
    liaison = browser(Role.LIAISON)
    for lang in ("ur", "fa"):  # a link's row says nothing in English (but a record's title)
        words = _row_words(liaison.get(f"{page}?lang={lang}").text)
        assert not LATIN.search(words), (lang, words)
    english = [text for _, text in _reasons(liaison.get(f"{page}?lang=en").text)]
    assert english[:3] == ["same category smuggling_narcotics", "0.0 h apart", "0.0 km apart"]
    assert "seizures agree 1.00" in english
    for lang in ("ur", "fa"):
        html = liaison.get(f"{page}?lang={lang}").text
        shown = _reasons(html)
        assert len(shown) == len(english)
        # Worded in the reader's language, in the page's direction: no English, no forced ltr.
        assert not [text for _, text in shown if LATIN.search(text)], (lang, shown)
        assert not [attrs for attrs, _ in shown if "ltr" in attrs or 'lang="en"' in attrs]
        assert 'class="muted ltr"' not in html
    persian = [text for _, text in _reasons(liaison.get(f"{page}?lang=fa").text)]
    assert persian[:3] == ["دستهٔ یکسان: قاچاق: مواد مخدر", "۰٫۰ ساعت فاصله", "۰٫۰ کیلومتر فاصله"]

    # The API words them in the request's language and gives their codes beside them.
    with web.client(Role.LIAISON) as api:
        (link,) = api.get("/api/v1/links", headers={"Accept-Language": "fa"}).json()
        assert link["reasons"] == persian
        assert link["reason_codes"][1] == {
            "code": "links.reason.hours_apart",
            "params": {"hours": 0.0},
        }
        mine = api.get(f"/api/v1/incidents/{ours}/links", headers={"Accept-Language": "ur"})
        assert mine.json()["best"]["reasons"][0] == "ایک ہی زمرہ: اسمگلنگ: منشیات"
        assert api.get("/api/v1/links").json()[0]["reasons"] == english

    # A link stored before the reasons were coded: its English strings, marked as English.
    with web.db.session() as s:
        row = s.get(IncidentLink, link["id"])
        assert row is not None
        row.reasons = ["same category smuggling_narcotics", "0.0 h apart"]
    shown = _reasons(liaison.get(f"{page}?lang=ur").text)
    assert shown == [
        (' lang="en" dir="ltr"', "same category smuggling_narcotics"),
        (' lang="en" dir="ltr"', "0.0 h apart"),
    ]


#: For each reason shown: its text, its direction and what CSS puts before it (the separator).
SHOWN = """() => [...document.querySelectorAll("#links .link-reasons > span")].map((e) => ({
  text: e.textContent, direction: getComputedStyle(e).direction,
  before: getComputedStyle(e, "::before").content}))"""


def test_the_reasons_read_right_to_left_in_chromium(
    web: LiveNode, new_page: Callable[..., Any]
) -> None:
    ours, _theirs = _records(web)
    for lang in ("en", "ur", "fa"):
        page = new_page()
        sign_in(page, web, Role.LIAISON)
        page.goto(f"{web.url}/incidents/{ours}?lang={lang}")
        shown = page.evaluate(SHOWN)
        assert len(shown) >= 4, shown
        # Separated by the language's semicolon, none before the first; in the page's direction.
        separator = '"; "' if lang == "en" else '"؛ "'
        assert [r["before"] for r in shown] == ["none"] + [separator] * (len(shown) - 1)
        assert {r["direction"] for r in shown} == {"ltr" if lang == "en" else "rtl"}
        if lang != "en":
            assert not [r["text"] for r in shown if LATIN.search(r["text"])]
        page.locator("#links").scroll_into_view_if_needed()
        screenshot(page, f"links/{lang}/incident")
