"""Direction and layout in each language: the hidden skip link stays hidden (Chromium), and a
record's own text is isolated from the page's direction (HTML)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sarhad.core.auth import Role
from support import LiveNode

from .helpers import PASSWORD, username

TITLE = "Fuel smugglers seen near the line."


@pytest.mark.once_on("sqlite")
@pytest.mark.parametrize("lang", ["en", "ur", "fa"])
def test_the_skip_link_is_off_screen_until_focused_then_at_the_line_start(
    web: LiveNode, new_page: Callable[..., Any], lang: str
) -> None:
    page = new_page(width=1024, height=700)
    page.goto(f"{web.url}/signin?lang={lang}")
    page.evaluate("document.fonts.ready")
    link = page.locator(".skip-link")
    hidden = link.bounding_box()
    assert hidden is not None
    # Wholly above the viewport (it showed at the top right on Urdu pages: its Nastaliq line
    # was taller than the fixed offset that hid it).
    assert hidden["y"] + hidden["height"] <= 0, hidden
    link.focus()  # as the first Tab on a page without autofocus (sign-in focuses its field)
    assert page.evaluate("document.activeElement.className") == "skip-link"
    shown = link.bounding_box()
    assert shown is not None and shown["y"] >= 0 and shown["y"] + shown["height"] <= 700
    # At the start of the line: the left in English, the right in Urdu and Persian.
    if lang == "en":
        assert shown["x"] < 100, shown
    else:
        assert shown["x"] + shown["width"] > 1024 - 100, shown


def test_a_records_own_text_is_isolated_wherever_it_is_shown(web: LiveNode, browser) -> None:
    with web.client(Role.DUTY_OFFICER) as c:
        r = c.post(
            "/api/v1/incidents",
            json={
                "title": TITLE,
                "narrative": "Two pickups. Seen by a patrol.",
                "category": "smuggling_fuel",
                "occurred_at": "2026-03-01T22:00:00Z",
                "location": {"lon": 61.45, "lat": 29.02, "precision": "near"},
                "reporting_side": "PK",
            },
        )
        assert r.status_code == 201, r.text
        record = r.json()["id"]
    client = browser(Role.DUTY_OFFICER)
    listing = client.get("/incidents?lang=ur").text
    assert f"<bdi>{TITLE}</bdi>" in listing
    page = client.get(f"/incidents/{record}?lang=ur").text
    assert f"<bdi>{TITLE}</bdi>" in page
    assert '<p class="narrative" dir="auto">Two pickups. Seen by a patrol.</p>' in page
    assert PASSWORD and username(Role.DUTY_OFFICER)  # the client signed in as a person
