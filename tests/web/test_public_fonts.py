"""The public crossing page brings its own Urdu and Persian fonts, cut to what it shows.

It showed empty boxes in Urdu on a phone without a Nastaliq font: its policy blocked the
console's fonts. Now the node serves subsets (sarhad.web.public_fonts, cut by
scripts/build-frontend.sh), and Chromium draws every letter of the page from them.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fontTools.ttLib import TTFont

from sarhad.border import load_profile
from sarhad.core.auth import Principal, Role
from sarhad.crossings.publication import set_published
from sarhad.web import public_fonts
from support import LiveNode

ADMIN = Principal("admin-desk", Role.ADMIN)
BUILD_HINT = "the public fonts are not cut: run scripts/build-frontend.sh"
#: A phone on a slow link: the fonts a page in one language loads stay under this.
BUDGET = {"ur": 120 * 1024, "fa": 40 * 1024}


def served(node: LiveNode, name: str) -> TTFont:
    r = httpx.get(f"{node.url}/public/fonts/{name}.woff2", timeout=30)
    assert r.status_code == 200, BUILD_HINT
    assert r.headers["content-type"] == "font/woff2"
    return TTFont(io.BytesIO(r.content))


@pytest.mark.parametrize(("lang", "faces"), [("ur", ["urdu-400"]), ("fa", ["persian-400"])])
def test_every_character_of_the_page_is_in_the_served_font(
    live: LiveNode, lang: str, faces: list[str]
) -> None:
    page = httpx.get(f"{live.url}/public/crossings?lang={lang}", timeout=30)
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "font-src 'self'" in policy
    css = httpx.get(f"{live.url}/public/style.css", timeout=30).text
    assert 'url("fonts/urdu-400.woff2")' in css and 'url("fonts/persian-400.woff2")' in css
    cmap: set[int] = set()
    for face in [*faces, "latin-400"]:
        cmap |= set(served(live, face).getBestCmap())
    # Everything the page can say in this language, and the text it says now.
    wanted = public_fonts.page_text(lang, load_profile()) + public_fonts.COMMON
    drawn = {c for c in wanted if not c.isspace() and unicodedata.category(c) != "Cf"}
    missing = sorted(c for c in drawn if ord(c) not in cmap)  # (bidi marks are not drawn)
    assert not missing, missing
    sizes = {f: len(public_fonts.font(f) or b"") for f in [*faces, "latin-400", "latin-700"]}
    assert sum(sizes.values()) < BUDGET[lang], sizes


@pytest.mark.once_on("sqlite")
@pytest.mark.parametrize("lang", ["ur", "fa"])
def test_chromium_draws_every_letter_from_the_served_fonts(
    live: LiveNode, new_page: Callable[..., Any], lang: str
) -> None:
    profile = load_profile()
    with live.db.session() as s:
        for place in [*profile.crossings, *profile.markets]:
            set_published(s, crossing_id=place.id, published=True, actor=ADMIN, profile=profile)
    page = new_page(width=412, height=900)  # a phone
    page.goto(f"{live.url}/public/crossings?lang={lang}")
    page.evaluate("document.fonts.ready")
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]
    # The fonts' own names (their name tables; the CSS calls them Sarhad Urdu/Persian/Latin).
    family = {"ur": "Noto Nastaliq Urdu", "fa": "Vazirmatn"}[lang]
    used: dict[str, int] = {}
    system: list[str] = []
    checked = 0
    for selector in ("h1", "header p", "h2", ".kind", ".status strong", "dt", "dd", "footer p"):
        for node_id in cdp.send(
            "DOM.querySelectorAll", {"nodeId": root["nodeId"], "selector": selector}
        )["nodeIds"]:
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node_id})["fonts"]
            checked += 1
            for f in fonts:
                used[f["familyName"]] = used.get(f["familyName"], 0) + f["glyphCount"]
                if not f["isCustomFont"]:
                    system.append(f["familyName"])
    assert checked > 10
    # Only the node's own fonts drew the page: no fallback to a font of the machine.
    # (a web font: the page loads fonts only from this node), none a font of the machine.
    assert not system, (system, used)
    assert set(used) <= {family, "Vazirmatn"}, used
    assert used.get(family, 0) > 50, used
