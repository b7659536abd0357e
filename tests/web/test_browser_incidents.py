"""Incidents in a real browser: create one by clicking the map, then find it in the list and on
the situation map. Screenshots of the form and the record page in each language."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from sarhad.core.auth import Role
from support import LiveNode

from .conftest import screenshot
from .helpers import PASSWORD, username

# The browser reads pages, not the database: run once, on the embedded default.
pytestmark = pytest.mark.once_on("sqlite")

# A point on the Pakistani side, about 5 km east of the Taftan–Mirjaveh gate.
TAFTAN_PK = (61.57, 28.98)


def sign_in(page: Any, node: LiveNode, role: Role) -> None:
    page.goto(f"{node.url}/signin")
    page.fill("#username", username(role))
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(f"{node.url}/")


def pixel_of(page: Any, lon: float, lat: float) -> dict[str, float]:
    """Where (lon, lat) is inside #pick-map, asked of Leaflet through the devtools protocol."""
    return page.evaluate(
        "([lon, lat]) => { const p = window.sarhad.pickMap.latLngToContainerPoint([lat, lon]);"
        " return {x: p.x, y: p.y}; }",
        [lon, lat],
    )


def open_form(page: Any, node: LiveNode, lang: str = "en") -> None:
    page.goto(f"{node.url}/incidents/new?lang={lang}")
    page.wait_for_selector('#pick-map[data-ready="true"]', timeout=15000)


def test_create_an_incident_by_clicking_the_map_and_find_it_in_the_list_and_on_the_map(
    web: LiveNode, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, web, Role.DUTY_OFFICER)
    page.goto(f"{web.url}/incidents")
    page.click("text=New incident")
    page.wait_for_selector('#pick-map[data-ready="true"]', timeout=15000)

    # Click the map near Taftan: the inputs are filled from the click.
    page.locator("#pick-map").click(position=pixel_of(page, *TAFTAN_PK))
    lon, lat = float(page.input_value("#lon")), float(page.input_value("#lat"))
    assert abs(lon - TAFTAN_PK[0]) < 0.02 and abs(lat - TAFTAN_PK[1]) < 0.02
    # Before saving, the preview says what locate says about that point.
    preview = page.locator("#locate-preview")
    expect(preview).to_have_attribute("data-side", "PK", timeout=10000)
    assert re.fullmatch(r"PKIR-\d{3}", preview.get_attribute("data-sector") or "")
    assert page.locator("#locate-side").inner_text() == "Pakistan"
    assert "Taftan" in page.locator("#locate-crossing").inner_text()
    assert "km" in page.locator("#locate-distance").inner_text()
    sector = preview.get_attribute("data-sector")

    # Typing a point on the other side updates the preview too (keyboard use) ...
    page.fill("#lon", "61.45")
    expect(preview).to_have_attribute("data-side", "IR", timeout=10000)
    # ... and back to the clicked point.
    page.fill("#lon", f"{lon:.5f}")
    expect(preview).to_have_attribute("data-side", "PK", timeout=10000)

    when = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    page.fill("#title", "Browser test: fuel carriers near Taftan")
    page.select_option("#category", "smuggling_fuel")
    page.fill("#occurred_at", when)
    page.select_option("#zone", "UTC")
    page.select_option("#seizures-0-commodity", "diesel")
    page.fill("#seizures-0-quantity", "800")
    page.select_option("#seizures-0-unit", "l")
    page.fill("#narrative", "Stopped at a checkpoint east of the gate.")
    page.click("button[type=submit].button-primary")

    # The record page: saved, placed as the preview said.
    page.wait_for_url(re.compile(r".*/incidents/[0-9a-f-]{36}\?saved=1$"))
    assert page.locator("h1").inner_text() == "Browser test: fuel carriers near Taftan"
    assert page.locator("#enrichment [data-side='PK']").count() == 1
    assert sector in page.locator("#enrichment").inner_text()
    record = page.url.split("?")[0]

    # In the list, linked to the record.
    page.goto(f"{web.url}/incidents")
    link = page.get_by_role("link", name="Browser test: fuel carriers near Taftan")
    assert link.get_attribute("href") == record.removeprefix(web.url)

    # On the situation map.
    page.goto(f"{web.url}/")
    page.wait_for_selector("#map[data-incidents-loaded]", timeout=15000)
    assert int(page.locator("#map").get_attribute("data-incidents-loaded")) >= 1
    assert errors == []


@pytest.mark.parametrize("lang", ["en", "ur", "fa"])
def test_the_form_and_the_record_in_each_language(
    web: LiveNode, new_page: Callable[..., Any], lang: str
) -> None:
    page = new_page()
    sign_in(page, web, Role.DUTY_OFFICER)
    open_form(page, web, lang)
    assert page.locator("html").get_attribute("dir") == ("ltr" if lang == "en" else "rtl")
    page.locator("#pick-map").click(position=pixel_of(page, *TAFTAN_PK))
    expect(page.locator("#locate-preview")).to_have_attribute("data-side", "PK", timeout=10000)
    if lang != "en":
        assert page.locator("#locate-side").inner_text() != "Pakistan"
    screenshot(page, f"{lang}/incident-form")
    # Saved without a title: the error is shown next to it, in the page's language.
    page.click("button[type=submit].button-primary")
    expect(page.locator("#title-error")).to_be_visible()
    assert page.locator("#title").get_attribute("aria-invalid") == "true"
    screenshot(page, f"{lang}/incident-form-errors")
    page.fill("#title", "Armed men seen near the line")
    page.select_option("#category", "armed_clash")
    page.fill("#occurred_at", "2026-11-02T09:30")
    page.click("button[type=submit].button-primary")
    page.wait_for_url(re.compile(r".*/incidents/[0-9a-f-]{36}\?saved=1$"))
    # The lifecycle step a duty officer may take.
    assert page.locator("[data-step]").count() == 1
    page.click("[data-step=submitted]")
    page.wait_for_url(re.compile(r".*/incidents/[0-9a-f-]{36}$"))
    assert page.locator("#history tr[data-version]").count() == 2
    screenshot(page, f"{lang}/incident")
