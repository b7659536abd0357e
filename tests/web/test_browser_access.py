"""Keyboard and screen sizes: labelled controls, a skip link, no sideways scrolling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sarhad.core.auth import Role
from support import LiveNode

from .conftest import screenshot
from .test_browser import PAGES, sign_in

# The browser reads pages, not the database: run once, on the embedded default.
pytestmark = pytest.mark.once_on("sqlite")

#: Controls a person cannot name: no label, no aria-label, no text (page.evaluate runs over
#: the DevTools protocol, which the page's CSP does not govern).
UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter(e => e.type !== 'hidden' && !e.closest('.leaflet-container'))
    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                 && !e.getAttribute('aria-labelledby') && !e.title
                 && !(e.textContent || e.value || '').trim())
    .map(e => `${e.tagName.toLowerCase()}#${e.id || e.name || '?'}`)"""
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (768, 1024)], ids=["laptop", "tablet"])
def test_pages_fit_the_screen_and_every_control_has_a_name(
    web: LiveNode, new_page: Callable[..., Any], width: int, height: int
) -> None:
    page = new_page(width=width, height=height)
    sign_in(page, web, Role.ADMIN)
    for path in PAGES:
        for lang in ("en", "ur"):
            page.goto(f"{web.url}{path}?lang={lang}")
            assert page.evaluate(UNLABELLED) == [], (path, lang)
            assert page.evaluate(OVERFLOW) <= 1, (path, lang, width)
        if width == 768:
            screenshot(page, f"tablet/{path.strip('/') or 'map'}")


def test_the_keyboard_reaches_the_content_first_and_the_navigation_next(
    web: LiveNode, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    sign_in(page, web, Role.DUTY_OFFICER)
    page.goto(f"{web.url}/incidents")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    # Tabbing on from the top goes through the main navigation, each link visible when focused.
    page.goto(f"{web.url}/incidents")
    names = []
    for _ in range(8):
        page.keyboard.press("Tab")
        names.append(page.evaluate("() => document.activeElement.getAttribute('href')"))
    assert {"/", "/incidents", "/alerts", "/crossings"} <= set(names)
