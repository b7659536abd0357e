"""The desk pages in Debian's Chromium: the month's charts and the patrol map draw without
console errors, and each page is saved as a screenshot in English, Urdu and Persian."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from sarhad.core.auth import Role
from support import LiveNode

from . import test_desk_pages as desk
from .conftest import screenshot
from .test_browser import sign_in
from .test_desk_pages import FORM_DAY, PLAN_DAY, declare_closure_against_partner_open

# The browser reads pages, not the database: run once, on the embedded default.
pytestmark = pytest.mark.once_on("sqlite")

# The same data as the page tests: a stored plan and a partner with a quarantined object.
stored_plan = desk.stored_plan
partner_exchange = desk.partner_exchange


def watch(page: Any) -> list[str]:
    """Collect uncaught errors and console errors of the page."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def test_crossing_charts_draw_for_the_month(
    web: LiveNode, browser: Any, new_page: Callable[..., Any]
) -> None:
    declare_closure_against_partner_open(web, browser(Role.LIAISON))
    page = new_page()
    errors = watch(page)
    sign_in(page, web)
    page.goto(f"{web.url}/crossings")
    page.wait_for_selector('#crossing-charts[data-ready="true"]', timeout=15000)
    assert page.locator("#chart-closed").bounding_box()["height"] > 100
    assert page.locator("#chart-throughput").bounding_box()["height"] > 100
    # Both sides of every crossing and market have data this month (the closure, the partner).
    assert int(page.locator("#crossing-charts").get_attribute("data-series")) >= 2
    # The measure switch redraws the throughput chart.
    page.select_option("#chart-measure", "trucks")
    assert page.locator("#chart-throughput").count() == 1
    assert errors == []


def test_patrol_map_draws_the_plan(
    web: LiveNode, new_page: Callable[..., Any], stored_plan: str
) -> None:
    page = new_page()
    errors = watch(page)
    sign_in(page, web)
    page.goto(f"{web.url}/patrols?day={PLAN_DAY.isoformat()}")
    page.wait_for_selector('#patrol-map[data-ready="true"]', timeout=15000)
    shown = int(page.locator("#patrol-map").get_attribute("data-patrols"))
    assert shown == page.locator("table.plan-patrols tbody tr").count() > 0
    assert int(page.locator("#patrol-map").get_attribute("data-coordinated")) > 0
    assert page.locator("#patrol-map canvas").count() >= 1
    # One shift only.
    first_shift = page.locator("#patrol-shift option").nth(1).get_attribute("value")
    page.select_option("#patrol-shift", first_shift)
    fewer = int(page.locator("#patrol-map").get_attribute("data-patrols"))
    assert 0 < fewer <= shown
    assert errors == []


def test_commander_plans_the_day_from_the_patrols_page(
    web: LiveNode, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    errors = watch(page)
    sign_in(page, web, Role.COMMANDER)
    page.goto(f"{web.url}/patrols?day={FORM_DAY.isoformat()}")
    assert page.input_value("#plan-day") == FORM_DAY.isoformat()
    page.fill("#plan-teams", "3")
    screenshot(page, "en/patrols-plan-form")
    # What the page shows once the form is sent is kept in sessionStorage (the next page of
    # this tab reads it): this listener runs after patrol-plan-form.js's own.
    page.evaluate(
        """() => document.getElementById("plan-form").addEventListener("submit", () => {
            sessionStorage.setItem("busy", JSON.stringify([
                document.getElementById("plan-form").getAttribute("aria-busy"),
                document.getElementById("plan-submit").disabled,
                document.getElementById("plan-status").textContent,
            ]));
        })"""
    )
    page.click("#plan-submit")
    page.wait_for_url(f"{web.url}/patrols/*?made=1", timeout=30000)
    page.wait_for_selector('#patrol-map[data-ready="true"]', timeout=15000)
    rows = page.locator("table.plan-patrols tbody tr").count()
    assert rows > 0 and int(page.locator("#patrol-map").get_attribute("data-patrols")) == rows
    assert page.locator("#plan-made").is_visible()
    busy = json.loads(page.evaluate("() => sessionStorage.getItem('busy')"))
    assert busy == ["true", True, "Planning… this can take up to a minute."]
    assert f"Plan made: {rows} patrols" in page.locator("#plan-made").text_content()
    assert errors == []


@pytest.mark.parametrize("lang", ["en", "ur", "fa"])
def test_desk_pages_in_each_language_have_screenshots(
    web: LiveNode,
    browser: Any,
    new_page: Callable[..., Any],
    stored_plan: str,
    partner_exchange: Any,
    lang: str,
) -> None:
    declare_closure_against_partner_open(web, browser(Role.LIAISON))
    page = new_page()
    errors = watch(page)
    sign_in(page, web)
    for path, ready, name in (
        ("/crossings", '#crossing-charts[data-ready="true"]', "crossings-month"),
        ("/crossings/taftan-mirjaveh", "main h1", "crossing"),
        (f"/patrols?day={PLAN_DAY.isoformat()}", '#patrol-map[data-ready="true"]', "patrols-day"),
        ("/sharing", "section.partner-exchange", "sharing-partner"),
    ):
        page.goto(f"{web.url}{path}{'&' if '?' in path else '?'}lang={lang}")
        page.wait_for_selector(ready, timeout=15000)
        html = page.locator("html")
        assert html.get_attribute("dir") == ("rtl" if lang in ("ur", "fa") else "ltr")
        screenshot(page, f"{lang}/{name}")
    assert errors == []
