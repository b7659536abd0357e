"""Every console page and the public page, in English, Urdu and Persian, in Chromium: one walk
that saves a screenshot of each (artifacts/screenshots/walk/LANG/NAME.png, kept by the test
run for people to look at) and checks what a reader sees on the way: the casualty numbers
under their own headers, the map's legend, town names and a count line that follows the
layer switches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sarhad.core.auth import Role
from support import LiveNode

from . import test_desk_pages as desk
from .conftest import screenshot
from .test_browser import sign_in
from .test_desk_pages import PLAN_DAY
from .test_incident_pages import FORM, created_id, post_form

# The browser reads pages, not the database: run once, on the embedded default.
pytestmark = pytest.mark.once_on("sqlite")

stored_plan = desk.stored_plan

#: Per party, (killed, injured, detained): all different, so a number under the wrong header
#: shows.
COUNTS = {"security_forces": (1, 2, 3), "civilians": (4, 5, 6), "assailants": (7, 8, 9)}

# For each column of the casualties table: do the header's text and each number's text
# overlap across the page (left to right)? A number pushed to the far edge of a wide column
# sits visibly under the next header.
ALIGNED = """() => {
  const box = (el) => { const r = document.createRange(); r.selectNodeContents(el);
                        return r.getBoundingClientRect(); };
  const table = document.getElementById("casualties");
  const heads = [...table.tHead.rows[0].cells];
  const out = [];
  for (const row of table.tBodies[0].rows) {
    [...row.cells].forEach((cell, i) => {
      if (i === 0) return;
      const h = box(heads[i]), c = box(cell);
      out.push({head: heads[i].textContent.trim(), value: cell.textContent.trim(),
                overlap: Math.min(h.right, c.right) - Math.max(h.left, c.left)});
    });
  }
  return out;
}"""


def _incident(client: Any) -> str:
    form = dict(FORM)
    del form["casualties.civilians.injured"]
    for group, numbers in COUNTS.items():
        for kind, n in zip(("killed", "injured", "detained"), numbers, strict=True):
            form[f"casualties.{group}.{kind}"] = str(n)
    return created_id(post_form(client, "/incidents/new", form))


def test_walk_every_page_in_every_language_with_screenshots(
    web: LiveNode, browser: Any, new_page: Callable[..., Any], stored_plan: str
) -> None:
    admin = browser(Role.ADMIN)
    incident = _incident(admin)
    second = dict(FORM, title="Second record near Taftan", lon="61.62", lat="28.90")
    created_id(post_form(admin, "/incidents/new", second))
    pages = (
        ("/", '#map[data-ready="true"][data-incidents-loaded]', "map"),
        ("/incidents", "main h1", "incidents"),
        (f"/incidents/{incident}", "#casualties", "incident"),
        ("/incidents/new", "form", "incident-new"),
        (f"/incidents/{incident}/edit", "form", "incident-edit"),
        ("/alerts", "main h1", "alerts"),
        ("/alerts/new", "form", "alert-new"),
        ("/crossings", "main h1", "crossings"),
        ("/crossings/taftan-mirjaveh", "main h1", "crossing"),
        (f"/patrols?day={PLAN_DAY.isoformat()}", '#patrol-map[data-ready="true"]', "patrols"),
        (f"/patrols/{stored_plan}", '#patrol-map[data-ready="true"]', "patrol-plan"),
        ("/sharing", "main h1", "sharing"),
        ("/crossings/nowhere", "main h1", "not-found"),
        ("/public/crossings", "h1", "public-crossings"),
    )
    for lang in ("en", "ur", "fa"):
        page = new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        page.goto(f"{web.url}/signin?lang={lang}")
        screenshot(page, f"walk/{lang}/signin")
        sign_in(page, web)
        for path, ready, name in pages:
            page.goto(f"{web.url}{path}{'&' if '?' in path else '?'}lang={lang}")
            page.wait_for_selector(ready, timeout=20000)
            html = page.locator("html")
            assert html.get_attribute("lang") == lang, path
            assert html.get_attribute("dir") == ("rtl" if lang in ("ur", "fa") else "ltr"), path
            if name == "map":
                page.wait_for_timeout(600)  # the zoom to the border settles
                _check_map(page, lang)
            if name == "incident":
                for cell in page.evaluate(ALIGNED):
                    assert cell["overlap"] > 0, (lang, cell)
            screenshot(page, f"walk/{lang}/{name}")
        assert errors == [], (lang, errors)


def _check_map(page: Any, lang: str) -> None:
    """The legend, the towns' names and the count line, in the page's language."""
    legend = page.locator("#map .map-key")
    assert legend.count() == 1
    assert legend.locator("li").count() >= 12  # markers, crossings, levels, land, line
    labels = page.locator("#map .place-label").all_text_contents()
    assert ("Taftan" in labels) if lang == "en" else ("تفتان" in labels), labels
    el = page.locator("#map")
    assert el.get_attribute("data-shown-count") == "2"
    line = page.locator("#map-summary").inner_text()
    digits = {"en": ("2",), "ur": ("2", "۲"), "fa": ("۲",)}[lang]  # Urdu: either digits
    assert any(d in line for d in digits) and "{" not in line, line
    if lang != "en":
        assert "incident" not in line, line  # no English left in the count line
    # Switching our incidents off takes them out of the count; back on, they return.
    page.evaluate("() => { sarhad.map.map.removeLayer(sarhad.map.layers.incidents); }")
    assert el.get_attribute("data-shown-count") == "0"
    page.evaluate("() => { sarhad.map.map.addLayer(sarhad.map.layers.incidents); }")
    assert el.get_attribute("data-shown-count") == "2"
