"""Every console string in Urdu and Persian; right-to-left pages; place names by language."""

from __future__ import annotations

import json
import re
from http.cookies import SimpleCookie

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from sarhad.border import load_profile
from sarhad.core.auth import Role
from sarhad.web import i18n

METHODS = [("**.py", "python"), ("web/templates/**.html", "jinja2")]
OPTIONS = {"web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
#: gettext's keywords, and core.i18n's coded messages: message("code", "English {x}", x=...)
#: and define("code", "English") (the code is the msgctxt), as src/sarhad/babel.cfg says.
KEYWORDS = {**DEFAULT_KEYWORDS, "message": ((1, "c"), 2), "define": ((1, "c"), 2)}


def extracted() -> set[tuple[str | None, str]]:
    """Every (context, msgid) Babel finds in the package's Python and templates (as
    `pybabel extract`); the context is None but for the public page's strings ("public")
    and coded messages (their code)."""
    ids = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        str(i18n.HERE.parent), METHODS, OPTIONS, keywords=KEYWORDS
    ):
        ids.add((context, message if isinstance(message, str) else message[0]))
    return ids


def test_extraction_finds_strings_of_both_python_and_templates():
    ids = extracted()
    assert (None, "Wrong user name or password.") in ids  # pages.py, N_()
    assert (None, "Smuggling: fuel") in ids  # labels.py
    assert (None, "Skip to content") in ids  # base.html
    assert ("public", "Closed until further notice") in ids  # templates/public/crossings.html
    assert ("public", "Sunday") in ids  # public_pages.py, pgettext()
    assert ("incidents.not_found", "no incident {id}") in ids  # a service's coded error
    assert ("tlp.red", "TLP:RED never leaves the node") in ids  # core.markings, define()
    assert len(ids) > 100


@pytest.mark.parametrize("lang", ["ur", "fa"])
def test_every_string_has_a_translation(lang):
    translated: set[str] = set()
    for po in (i18n.TRANSLATIONS / lang / "LC_MESSAGES").glob("*.po"):
        with po.open("rb") as f:
            catalog = read_po(f)
        translated |= {
            # A plural entry's id is (singular, plural), its string one text per form.
            (m.context, m.id if isinstance(m.id, str) else m.id[0])
            for m in catalog
            if m.id and (m.string if isinstance(m.string, str) else all(m.string)) and not m.fuzzy
        }
    missing = sorted(extracted() - translated)
    assert not missing, f"{len(missing)} string(s) without a {lang} translation: {missing}"


@pytest.mark.parametrize(
    ("lang", "sign_in", "incidents"),
    [("ur", "سائن ان", "واقعات"), ("fa", "ورود", "رخدادها"), ("en", "Sign in", "Incidents")],
)
def test_pages_in_each_language_with_direction(browser, lang, sign_in, incidents):
    page = browser().get(f"/signin?lang={lang}")
    direction = "rtl" if lang in ("ur", "fa") else "ltr"
    assert f'<html lang="{lang}" dir="{direction}">' in page.text
    assert f"<h1>{sign_in}</h1>" in page.text
    client = browser(Role.DUTY_OFFICER)
    html = client.get(f"/incidents?lang={lang}").text
    assert f'dir="{direction}"' in html and f"<h1>{incidents}</h1>" in html


def test_language_choice_is_remembered_in_a_strict_cookie(browser):
    client = browser(Role.ANALYST)
    switched = client.get("/?lang=fa")
    jar = SimpleCookie()
    jar.load(switched.headers["set-cookie"])
    assert jar["sarhad_lang"].value == "fa"
    assert jar["sarhad_lang"]["samesite"].lower() == "strict"
    later = client.get("/crossings")  # no ?lang: the cookie decides
    assert '<html lang="fa" dir="rtl">' in later.text
    # the switch links keep the page and its filters
    assert 'href="/crossings?lang=ur"' in later.text


@pytest.mark.parametrize("lang", ["en", "ur", "fa"])
def test_place_names_come_in_the_chosen_language(browser, lang):
    profile = load_profile()
    html = browser(Role.DUTY_OFFICER).get(f"/crossings?lang={lang}").text
    for place in [*profile.crossings, *profile.markets]:
        row = re.search(
            rf'<tr [^>]*data-crossing="{place.id}"[^>]*>\s*<th scope="row">([^<]+)<', html
        )
        assert row, place.id
        assert row.group(1) == place.name(lang)
    if lang != "en":
        assert profile.crossings[0].name("en") not in html


def test_map_strings_for_the_script_are_translated(browser):
    html = browser(Role.DUTY_OFFICER).get("/?lang=ur").text
    block = re.search(r'<script type="application/json" id="i18n">(.*?)</script>', html, re.S)
    strings = json.loads(block.group(1))
    assert strings["layer_incidents"] == "ہمارے واقعات"
    assert strings["category_smuggling_fuel"] == "اسمگلنگ: ایندھن"
    # Every key map.js asks for is given (it fell back to English for keys it never got).
    script = (i18n.HERE / "static" / "js" / "map.js").read_text(encoding="utf-8")
    asked = set(re.findall(r'\bt\("([a-z_]+)"', script))
    asked |= {f"plural_{k}" for k in re.findall(r'\btn\("([a-z_]+)"', script)}
    assert asked and not asked - strings.keys(), sorted(asked - strings.keys())
    for prefix in re.findall(r"\bt\(`([a-z_]+)\$\{", script):  # t(`level_${code}`, ...)
        assert any(k.startswith(prefix) for k in strings), prefix
    # The count line in Urdu, with its plural forms and the numbers' places.
    assert strings["plural_summary_partner"] == {
        "one": "{shown} واقعہ دکھایا گیا، ان میں سے {partner} شراکت دار کا",
        "other": "{shown} واقعات دکھائے گئے، ان میں سے {partner} شراکت دار کے",
    }
