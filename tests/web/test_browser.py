"""The console in a real browser (Debian's Chromium): sign in, the map, languages, CSRF.

Every page is saved as a screenshot per language (artifacts/screenshots/), and the host
guard of ``new_page`` fails a test whose page tried to reach anything but the node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from sarhad.core.auth import Role
from support import LiveNode

from .conftest import screenshot
from .helpers import PASSWORD, username

# The browser reads pages, not the database: run once, on the embedded default.
pytestmark = pytest.mark.once_on("sqlite")

PAGES = ("/", "/incidents", "/alerts", "/crossings", "/patrols", "/sharing")


def sign_in(page: Any, node: LiveNode, role: Role = Role.ADMIN) -> None:
    page.goto(f"{node.url}/signin")
    page.fill("#username", username(role))
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(f"{node.url}/")


def test_sign_in_and_the_situation_map_draws_the_border(
    web: LiveNode, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, web)
    # The map draws the profile's line, sectors and places from the node alone (canvas panes).
    page.wait_for_selector('#map[data-ready="true"]', timeout=15000)
    assert page.locator("#map canvas").count() >= 1
    assert page.locator("#map .leaflet-marker-icon, #map .leaflet-interactive").count() >= 4
    assert errors == []


@pytest.mark.parametrize("lang", ["en", "ur", "fa"])
def test_every_page_in_every_language_has_its_direction_and_a_screenshot(
    web: LiveNode, new_page: Callable[..., Any], lang: str
) -> None:
    page = new_page()
    sign_in(page, web)
    for path in PAGES:
        page.goto(f"{web.url}{path}?lang={lang}")
        if path == "/":
            page.wait_for_selector('#map[data-ready="true"]', timeout=15000)
            page.wait_for_timeout(600)  # let the zoom animation to the border finish
        html = page.locator("html")
        assert html.get_attribute("lang") == lang
        assert html.get_attribute("dir") == ("rtl" if lang in ("ur", "fa") else "ltr")
        name = path.strip("/") or "map"
        screenshot(page, f"{lang}/{name}")
    # The choice is remembered without ?lang=.
    page.goto(f"{web.url}/incidents")
    assert page.locator("html").get_attribute("lang") == lang


def test_a_forged_form_post_without_the_csrf_token_is_refused(
    web: LiveNode, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    sign_in(page, web)
    # A form built in the page (as a forged page would) posts sign-out without the token.
    status = page.evaluate(
        """async () => {
            const r = await fetch('/signout', {method: 'POST', body: new FormData()});
            return r.status;
        }"""
    )
    assert status == 403
    page.goto(f"{web.url}/incidents")
    assert page.url.endswith("/incidents")  # still signed in


def test_map_clusters_zoom_in_and_an_incident_opens_its_record(
    web: LiveNode, new_page: Callable[..., Any]
) -> None:
    from sarhad.border import load_profile
    from sarhad.core.auth import CONSOLE
    from sarhad.incidents import service
    from sarhad.incidents.schemas import IncidentIn

    profile = load_profile()
    # Close together mid-way along the line, away from any crossing's marker: one cluster.
    mid = profile.sector("PKIR-040").geometry.interpolate(0.5, normalized=True)
    with web.db.session() as s:
        for i in range(3):
            data = IncidentIn.model_validate({
                "title": f"Fuel carriers stopped {i}", "category": "smuggling_fuel",
                "occurred_at": "2026-11-20T08:00:00Z", "reporting_side": "PK",
                "location": {"lon": mid.x + 0.02 + i * 0.01, "lat": mid.y},
            })  # fmt: skip
            service.create_incident(s, data=data, actor=CONSOLE, profile=profile)
    page = new_page()
    sign_in(page, web)
    page.wait_for_selector("#map[data-incidents-loaded='3']", timeout=20000)
    page.wait_for_selector('#map[data-ready="true"]', timeout=15000)
    settled = "#map:not(.leaflet-zoom-anim)"  # Leaflet marks the map while it zooms
    cluster = page.locator("#map .marker-cluster").first
    cluster.wait_for(timeout=10000)
    assert "3" in cluster.inner_text()
    page.wait_for_selector(settled)
    screenshot(page, "en/map-cluster")
    cluster.click()  # zooms to where the cluster comes apart
    point = page.locator("#map .incident-marker").first
    point.wait_for(timeout=15000)
    page.wait_for_selector(settled)
    link = page.locator(".leaflet-popup-content a[href^='/incidents/']")
    # Why up to three tries: the popup pans the map into view as it opens, and a click that
    # lands while it moves can miss the link (seen once in three full runs on CI's machine);
    # the officer clicks again, and so does the test (three misses fail it).
    for attempt in range(3):
        point.click()
        link.wait_for(timeout=10000)
        page.wait_for_selector(settled)
        assert "Fuel carriers stopped" in page.locator(".leaflet-popup-content").inner_text()
        try:
            with page.expect_navigation(url=f"{web.url}/incidents/*", timeout=10000):
                link.click()
            break
        except PlaywrightTimeout:
            assert attempt < 2, "the popup's link never opened the record"
    assert "Fuel carriers stopped" in page.locator("main").inner_text()
